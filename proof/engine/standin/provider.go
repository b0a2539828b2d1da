package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// Account is the AWS account the stand-in's credentials belong to
// (getCallerIdentity); it is the placeholder prod's allowedAccountIds names.
const Account = "123456789012"

// standIn serves one package.
type standIn struct {
	pulumirpc.UnimplementedResourceProviderServer
	pkg, version string
	host         *provider.HostClient

	mu sync.Mutex
	// region is the aws provider's configured region.
	region string
}

func newProvider(pkg, version string, host *provider.HostClient) *standIn {
	return &standIn{pkg: pkg, version: version, host: host, region: "us-east-1"}
}

var keep = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true, KeepOutputValues: true}

func (p *standIn) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: p.version}, nil
}

// GetSchema answers with the package's name and version only: a preview
// of a Go program does not need the schema.
func (p *standIn) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	b, err := json.Marshal(map[string]string{"name": p.pkg, "version": p.version})
	if err != nil {
		return nil, fmt.Errorf("stand-in %s: schema: %w", p.pkg, err)
	}
	return &pulumirpc.GetSchemaResponse{Schema: string(b)}, nil
}

func (p *standIn) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *standIn) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return diff(req), nil
}

// Configure accepts the config. The aws stand-in keeps the region and, as
// the aws provider does, refuses credentials (here: Account) outside
// allowedAccountIds.
func (p *standIn) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	if p.pkg == "aws" {
		args, err := plugin.UnmarshalProperties(req.GetArgs(), keep)
		if err != nil {
			return nil, fmt.Errorf("stand-in aws: configure: %w", err)
		}
		p.mu.Lock()
		if r := args["region"]; r.IsString() && r.StringValue() != "" {
			p.region = r.StringValue()
		}
		p.mu.Unlock()
		if ids := args["allowedAccountIds"]; ids.IsArray() {
			var allowed []string
			for _, v := range ids.ArrayValue() {
				if v.IsString() {
					allowed = append(allowed, v.StringValue())
				}
			}
			if !slices.Contains(allowed, Account) {
				return nil, fmt.Errorf("AWS account ID not allowed: %s (allowedAccountIds %v)", Account, allowed)
			}
		}
	}
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, AcceptResources: true, AcceptOutputs: true}, nil
}

// Check returns the inputs as they came: no defaults, no autonames.
func (p *standIn) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

// Diff reports a change whenever the inputs differ from the old state.
func (p *standIn) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return diff(req), nil
}

func diff(req *pulumirpc.DiffRequest) *pulumirpc.DiffResponse {
	if proto.Equal(req.GetOlds(), req.GetNews()) {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}
	}
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_SOME}
}

// Create at preview returns the inputs and no ID: every attribute AWS
// computes (ID, ARN, endpoints) is missing, which the SDK resolves as
// unknown in a preview, as a new stack has them.
func (p *standIn) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if !req.GetPreview() {
		return nil, fmt.Errorf("stand-in %s only previews: it cannot create %s", p.pkg, req.GetUrn())
	}
	props := req.GetProperties()
	if props == nil {
		props = &structpb.Struct{}
	}
	return &pulumirpc.CreateResponse{Properties: props}, nil
}

func (p *standIn) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	if req.GetPreview() {
		return &pulumirpc.UpdateResponse{Properties: req.GetNews()}, nil
	}
	return nil, fmt.Errorf("stand-in %s only previews: it cannot update %s", p.pkg, req.GetUrn())
}

func (p *standIn) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return nil, fmt.Errorf("stand-in %s cannot read %s: there is no cloud behind it", p.pkg, req.GetUrn())
}

func (p *standIn) Delete(_ context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	return nil, fmt.Errorf("stand-in %s only previews: it cannot delete %s", p.pkg, req.GetUrn())
}

func (p *standIn) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (p *standIn) GetMapping(context.Context, *pulumirpc.GetMappingRequest) (*pulumirpc.GetMappingResponse, error) {
	return &pulumirpc.GetMappingResponse{}, nil
}

// Invoke answers the data sources the program and awsx call (invoke.go).
func (p *standIn) Invoke(_ context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	args, err := plugin.UnmarshalProperties(req.GetArgs(), keep)
	if err != nil {
		return nil, fmt.Errorf("stand-in %s: invoke %s: %w", p.pkg, req.GetTok(), err)
	}
	p.mu.Lock()
	region := p.region
	p.mu.Unlock()
	ret, err := answer(p.pkg, req.GetTok(), region, args)
	if err != nil {
		return nil, err
	}
	out, err := plugin.MarshalProperties(ret, plugin.MarshalOptions{KeepSecrets: true})
	if err != nil {
		return nil, fmt.Errorf("stand-in %s: invoke %s: %w", p.pkg, req.GetTok(), err)
	}
	return &pulumirpc.InvokeResponse{Return: out}, nil
}

// Construct builds awsx's components (awsx.go); no other package has any.
func (p *standIn) Construct(ctx context.Context, req *pulumirpc.ConstructRequest) (*pulumirpc.ConstructResponse, error) {
	if p.pkg != "awsx" {
		return nil, fmt.Errorf("stand-in %s has no component %s", p.pkg, req.GetType())
	}
	raw, err := plugin.UnmarshalProperties(req.GetInputs(), keep)
	if err != nil {
		return nil, fmt.Errorf("stand-in awsx: %s inputs: %w", req.GetType(), err)
	}
	return provider.Construct(ctx, req, p.host.EngineConn(), construct(raw))
}

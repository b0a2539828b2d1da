package offline

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// previewMonitor is a resource monitor and engine served over gRPC on a
// loopback port, for first-preview runs. The SDK's own mock monitor
// (pulumi.WithMocks) unmarshals inputs without KeepUnknowns, so an unknown
// input vanishes and an unknown inside a secret fails ("malformed RPC
// secret: missing value", sdk/go/common/resource/plugin/rpc.go); a real
// engine keeps both. This one keeps unknowns and secrets both ways and
// hands each registration to the same recording mocks.
type previewMonitor struct {
	pulumirpc.UnimplementedResourceMonitorServer
	mocks   *mocks
	project string
	stack   string
}

// previewEngine answers the engine calls a program makes (logging, the
// root resource).
type previewEngine struct {
	pulumirpc.UnimplementedEngineServer
	mu   sync.Mutex
	root string
}

var keep = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true}

func (m *previewMonitor) SupportsFeature(_ context.Context, in *pulumirpc.SupportsFeatureRequest) (*pulumirpc.SupportsFeatureResponse, error) {
	// As the SDK's mock monitor: everything but output values, so inputs
	// arrive as plain values, secrets and unknowns.
	return &pulumirpc.SupportsFeatureResponse{HasSupport: in.GetId() != "outputValues"}, nil
}

func (m *previewMonitor) GetDeploymentInfo(context.Context, *emptypb.Empty) (*pulumirpc.DeploymentInfo, error) {
	return &pulumirpc.DeploymentInfo{
		Project: m.project, Stack: m.stack,
		SupportedFeatures: []pulumirpc.ResourceMonitorFeature{
			pulumirpc.ResourceMonitorFeature_RESOURCE_MONITOR_FEATURE_SECRETS,
			pulumirpc.ResourceMonitorFeature_RESOURCE_MONITOR_FEATURE_RESOURCE_REFERENCES,
			pulumirpc.ResourceMonitorFeature_RESOURCE_MONITOR_FEATURE_ALIAS_SPECS,
			pulumirpc.ResourceMonitorFeature_RESOURCE_MONITOR_FEATURE_DELETED_WITH,
		},
	}, nil
}

func (m *previewMonitor) Invoke(_ context.Context, in *pulumirpc.ResourceInvokeRequest) (*pulumirpc.ResourceInvokeResponse, error) {
	args, err := plugin.UnmarshalProperties(in.GetArgs(), keep)
	if err != nil {
		return nil, err
	}
	ret, err := m.mocks.Call(pulumi.MockCallArgs{Token: in.GetTok(), Args: args, Provider: in.GetProvider()})
	if err != nil {
		return nil, err
	}
	out, err := plugin.MarshalProperties(ret, plugin.MarshalOptions{KeepSecrets: true, KeepResources: in.GetAcceptResources()})
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ResourceInvokeResponse{Return: out}, nil
}

func (m *previewMonitor) RegisterResource(_ context.Context, in *pulumirpc.RegisterResourceRequest) (*pulumirpc.RegisterResourceResponse, error) {
	if in.GetType() == string(resource.RootStackType) && in.GetParent() == "" {
		urn := resource.NewURN(tokens.QName(m.stack), tokens.PackageName(m.project), "", resource.RootStackType, in.GetName())
		return &pulumirpc.RegisterResourceResponse{Urn: string(urn)}, nil
	}
	inputs, err := plugin.UnmarshalProperties(in.GetObject(), keep)
	if err != nil {
		return nil, err
	}
	urn, id, state, err := m.mocks.register(pulumi.MockResourceArgs{
		TypeToken: in.GetType(), Name: in.GetName(), Inputs: inputs, Provider: in.GetProvider(),
		ID: in.GetImportId(), Custom: in.GetCustom(), RegisterRPC: in,
	})
	if err != nil {
		return nil, err
	}
	obj, err := plugin.MarshalProperties(state, keep)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.RegisterResourceResponse{Urn: urn, Id: id, Object: obj}, nil
}

func (m *previewMonitor) RegisterResourceOutputs(context.Context, *pulumirpc.RegisterResourceOutputsRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (m *previewMonitor) SignalAndWaitForShutdown(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (m *previewMonitor) RegisterPackage(context.Context, *pulumirpc.RegisterPackageRequest) (*pulumirpc.RegisterPackageResponse, error) {
	return &pulumirpc.RegisterPackageResponse{Ref: "mock-package"}, nil
}

func (e *previewEngine) Log(context.Context, *pulumirpc.LogRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (e *previewEngine) GetRootResource(context.Context, *pulumirpc.GetRootResourceRequest) (*pulumirpc.GetRootResourceResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return &pulumirpc.GetRootResourceResponse{Urn: e.root}, nil
}

func (e *previewEngine) SetRootResource(_ context.Context, in *pulumirpc.SetRootResourceRequest) (*pulumirpc.SetRootResourceResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.root = in.GetUrn()
	return &pulumirpc.SetRootResourceResponse{}, nil
}

// servePreview starts the preview monitor and engine on one loopback
// port and returns its address and a stop function.
func servePreview(project, stack string, m *mocks) (string, func(), error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("offline: listen for the preview monitor: %w", err)
	}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(400<<20), grpc.MaxSendMsgSize(400<<20))
	pulumirpc.RegisterResourceMonitorServer(srv, &previewMonitor{mocks: m, project: project, stack: stack})
	pulumirpc.RegisterEngineServer(srv, &previewEngine{})
	go func() { _ = srv.Serve(lis) }() // Serve returns when Stop closes the listener
	return lis.Addr().String(), srv.Stop, nil
}

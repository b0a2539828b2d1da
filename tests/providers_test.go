package tests

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-awsx/sdk/v2/go/awsx"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/network"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// explicitProvider reports whether a provider reference ("<urn>::<id>")
// names one of the program's own provider resources. An empty reference
// is what the SDK sends when no provider was given, so the engine would
// pick (or, with pulumi:disable-default-providers, refuse) the package's
// default provider, whose logical name is default or default_<version>
// (pulumi/pulumi#8829, "Allow disabling default providers").
func explicitProvider(rec *offline.Recording, ref string) bool {
	if ref == "" {
		return false
	}
	for _, r := range rec.Resources {
		if strings.HasPrefix(r.Type, "pulumi:providers:") && strings.HasPrefix(ref, r.URN+"::") {
			return !strings.HasPrefix(r.Name, "default")
		}
	}
	return false
}

// TestNoDefaultProviders holds every custom resource, every remote
// component (awsx) and every invoke of the recording to one of the
// program's explicit providers: the stack files disable default providers,
// so one that slipped through would fail the real preview.
func TestNoDefaultProviders(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		checked := 0
		for _, r := range rec.Resources {
			if strings.HasPrefix(r.Type, "pulumi:providers:") || strings.HasPrefix(r.Type, "trading:") {
				continue
			}
			checked++
			if !explicitProvider(rec, r.Provider) {
				t.Errorf("%s %s uses provider %q: a default provider", r.Type, r.Name, r.Provider)
			}
			if strings.HasPrefix(r.Type, "awsx:") && !explicitProvider(rec, r.Providers["aws"]) {
				t.Errorf("%s %s hands its children aws provider %q: a default provider", r.Type, r.Name, r.Providers["aws"])
			}
		}
		if checked == 0 || len(rec.Invokes) == 0 {
			t.Fatalf("checked %d resources and %d invokes; the recording is empty", checked, len(rec.Invokes))
		}
		for _, inv := range rec.Invokes {
			if !explicitProvider(rec, inv.Provider) {
				t.Errorf("invoke %s uses provider %q: a default provider", inv.Token, inv.Provider)
			}
		}
		// Every package the program uses has its provider resource.
		for _, pkg := range []string{"aws", "random", "tls", "awsx", "docker-build", "docker"} {
			if len(rec.ByType("pulumi:providers:"+pkg)) == 0 {
				t.Errorf("no explicit %s provider", pkg)
			}
		}
	})
}

// TestDefaultProvidersDisabled checks each stack file sets
// pulumi:disable-default-providers to ["*"], the list form the engine
// reads ("To disable all default providers, `*` can be used",
// pulumi/pulumi#8829; set with `pulumi config set --path
// 'pulumi:disable-default-providers[0]' '*'`).
func TestDefaultProvidersDisabled(t *testing.T) {
	for _, stack := range Stacks {
		raw, err := offline.StackOverrides("..", stack)
		if err != nil {
			t.Fatal(err)
		}
		if !disablesAll(raw["pulumi:disable-default-providers"]) {
			t.Errorf("Pulumi.%s.yaml: pulumi:disable-default-providers = %v, want [\"*\"]", stack, raw["pulumi:disable-default-providers"])
		}
	}
	if disablesAll([]any{"aws"}) || disablesAll(nil) || !disablesAll([]any{"*"}) {
		t.Error("disablesAll accepts a partial list or none")
	}
}

func disablesAll(v any) bool {
	list, ok := v.([]any)
	return ok && slices.Contains(list, any("*"))
}

// TestAllowedAccountIDs: the aws providers (home and drRegion) carry the
// stack's allowedAccountIds (pulumi-aws ProviderArgs.AllowedAccountIds),
// prod must name its accounts, and a caller outside them stops the program.
func TestAllowedAccountIDs(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		var want []string
		if v, ok := rec.Config["trading-ha:allowedAccountIds"]; ok {
			if err := json.Unmarshal([]byte(v), &want); err != nil {
				t.Fatal(err)
			}
		}
		if stack == "prod" && !slices.Equal(want, []string{acct}) {
			t.Errorf("prod allowedAccountIds %v, want the placeholder %s (the mocks' account)", want, acct)
		}
		for _, p := range rec.ByType("pulumi:providers:aws") {
			got, _ := p.Inputs["allowedAccountIds"].([]any)
			if len(want) == 0 {
				if got != nil {
					t.Errorf("provider %s allowedAccountIds %v, want none", p.Name, got)
				}
				continue
			}
			if len(got) != len(want) {
				t.Errorf("provider %s allowedAccountIds %v, want %v", p.Name, got, want)
				continue
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("provider %s allowedAccountIds %v, want %v", p.Name, got, want)
				}
			}
		}
	})
	t.Run("prod requires accounts", func(t *testing.T) {
		rejects(t, "prod", map[string]string{"trading-ha:allowedAccountIds": "[]"},
			[]string{"trading-ha:allowedAccountIds", `"[]"`, "deletionProtection is true"})
	})
	t.Run("twelve digits", func(t *testing.T) {
		rejects(t, "dev", map[string]string{"trading-ha:allowedAccountIds": `["12345678901"]`},
			[]string{"trading-ha:allowedAccountIds", `"12345678901"`, "exactly 12 digits"})
	})
	t.Run("another account stops the program", func(t *testing.T) {
		// The deploy role moves with the account (config holds it to
		// allowedAccountIds).
		rec, err := recordWith(t, "prod", map[string]string{"trading-ha:allowedAccountIds": `["210987654321"]`,
			"trading-ha:deployRoleArn": "arn:aws:iam::210987654321:role/trading-deploy-prod"})
		if err == nil || !strings.Contains(err.Error(), "trading-ha:allowedAccountIds") || !strings.Contains(err.Error(), acct) {
			t.Fatalf("want an error naming allowedAccountIds and the caller's account %s, got %v", acct, err)
		}
		for _, r := range rec.Resources {
			if !strings.HasPrefix(r.Type, "pulumi:providers:") {
				t.Errorf("%s %s registered in the wrong account", r.Type, r.Name)
			}
		}
	})
}

// TestAWSXChildGetsOnlyProviders builds the network on its own with
// options beyond the providers (a DependsOn): the awsx VPC is parented to
// the network component and receives the providers, and nothing else of
// the component's options. (A remote component inherits no provider from
// its parent: the Go SDK sends it only the Providers given to it, sdk/go
// pulumi/context.go getOpts.)
func TestAWSXChildGetsOnlyProviders(t *testing.T) {
	cfgMap, err := offline.LoadStack("..", "dev")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := offline.RunProgram("dev", cfgMap, func(ctx *pulumi.Context) error {
		cfg, err := config.Load(ctx)
		if err != nil {
			return err
		}
		p, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String(cfg.Region)})
		if err != nil {
			return err
		}
		x, err := awsx.NewProvider(ctx, "awsx", &awsx.ProviderArgs{})
		if err != nil {
			return err
		}
		marker, err := cloudwatch.NewLogGroup(ctx, "marker", &cloudwatch.LogGroupArgs{}, pulumi.Provider(p))
		if err != nil {
			return err
		}
		providers := []pulumi.ProviderResource{p, x}
		_, err = network.New(ctx, "network", network.Args{
			Names: naming.New("dev"), Shared: cfg.Shared, Network: cfg.Network, AccountID: acct,
			TelemetryKeyArn: pulumi.String("arn:aws:kms:us-east-1:" + acct + ":key/t"), Providers: providers,
		}, pulumi.Providers(providers...), pulumi.DependsOn([]pulumi.Resource{marker}))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	vpc := one(t, rec, "awsx:ec2:Vpc", "vpc")
	marker := one(t, rec, "aws:cloudwatch/logGroup:LogGroup", "marker")
	net := one(t, rec, "trading:network:Network", "network")
	if vpc.ParentURN != net.URN {
		t.Errorf("awsx VPC parent %s, want the network component", vpc.ParentURN)
	}
	if slices.Contains(vpc.DependsOn, marker.URN) {
		t.Error("the awsx VPC received the component's DependsOn: pass it only the providers")
	}
	if !explicitProvider(rec, vpc.Providers["aws"]) || !explicitProvider(rec, vpc.Provider) {
		t.Errorf("awsx VPC providers %v / %q, want the explicit aws and awsx providers", vpc.Providers, vpc.Provider)
	}
}

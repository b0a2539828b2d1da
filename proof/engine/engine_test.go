package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-awsx/sdk/v2/go/awsx"
	ecrx "github.com/pulumi/pulumi-awsx/sdk/v2/go/awsx/ecr"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra"
	"github.com/trading-ha/trading-ha/infra/service"
	"github.com/trading-ha/trading-ha/proof/engine"
)

// root is the repository root, two levels up from this package.
var root = func() string {
	abs, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		panic(err)
	}
	return abs
}()

// cli finds the Pulumi CLI built by scripts/engine/build-cli.sh:
// $TRADING_PULUMI_CLI, else the script's cache for the SDK's version. The
// tests skip without it unless TRADING_REQUIRE_INTEGRATION=1.
func cli(t *testing.T) string {
	t.Helper()
	path := os.Getenv("TRADING_PULUMI_CLI")
	if path == "" {
		cache := os.Getenv("TRADING_ENGINE_CACHE")
		if cache == "" {
			base := os.Getenv("XDG_CACHE_HOME")
			if base == "" {
				home, _ := os.UserHomeDir()
				base = filepath.Join(home, ".cache")
			}
			cache = filepath.Join(base, "trading-ha", "engine")
		}
		path = filepath.Join(cache, "pulumi-"+sdkVersion(t), "bin", "pulumi")
	}
	if _, err := os.Stat(path); err != nil {
		msg := "no Pulumi CLI at " + path + ": run scripts/engine/build-cli.sh (about 4 minutes, cached by version)"
		if os.Getenv("TRADING_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// sdkVersion is the pulumi SDK version of the module, the CLI's version.
func sdkVersion(t *testing.T) string {
	v, err := engine.SDKVersion(root)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// plugins are the provider packages the program links (engine.Plugins).
func plugins(t *testing.T) []engine.Plugin {
	p, err := engine.Plugins(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) < 4 {
		t.Fatalf("provider SDKs linked: %v, want aws, awsx, random and tls at least", p)
	}
	return p
}

// TestMain removes the stand-in's build directory after the run.
func TestMain(m *testing.M) {
	code := m.Run()
	if standIn.dir != "" {
		_ = os.RemoveAll(standIn.dir)
	}
	os.Exit(code)
}

var standIn struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// standInBinary builds proof/engine/standin once per test run.
func standInBinary(t *testing.T) string {
	t.Helper()
	standIn.once.Do(func() {
		dir, err := os.MkdirTemp("", "trading-ha-standin")
		if err != nil {
			standIn.err = err
			return
		}
		standIn.dir = dir
		standIn.bin, standIn.err = engine.BuildStandIn(root, dir)
	})
	if standIn.err != nil {
		t.Fatal(standIn.err)
	}
	return standIn.bin
}

// golden is the mock suite's URN list of a stack (tests/testdata): every
// URN the program registers, and the aliases it claims.
func golden(t *testing.T, stack string) map[string]bool {
	b, err := os.ReadFile(filepath.Join(root, "tests", "testdata", "urns-"+stack+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, u := range strings.Fields(string(b)) {
		out[u] = true
	}
	return out
}

// TestPreview runs `pulumi preview --policy-pack ./policy` of each stack
// through the real engine (see the package doc) and requires it to pass:
// no error, no mandatory policy violation, awsx's children registered, and
// every URN outside awsx's children one the mock suite's golden list
// holds.
func TestPreview(t *testing.T) {
	path := cli(t)
	bin := standInBinary(t)
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			// The Go language host runs a program in its project
			// directory; an inline program gets no root directory from
			// the Automation API, so the test stands where the host
			// would (the program builds the image from there).
			t.Chdir(root)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
			defer cancel()
			res, err := engine.Preview(ctx, engine.Options{
				CLI: path, Root: root, Stack: stack, Program: infra.Deploy,
				PolicyPack: filepath.Join(root, "policy"), StandIn: bin, Plugins: plugins(t), Scratch: t.TempDir(),
			})
			if res == nil {
				t.Fatal(err)
			}
			t.Logf("%s: preview took %s, %d resources, %d policy reports", stack, res.Took.Round(time.Second), len(res.URNs), len(res.Policy))
			if err != nil {
				t.Errorf("the engine refused the preview: %v", err)
				t.Logf("engine output:\n%s", tail(res.Output, 200))
			}
			for _, e := range res.Errors {
				t.Errorf("engine error: %s", e)
			}
			for _, p := range res.Policy {
				if strings.HasPrefix(p, "mandatory ") {
					t.Errorf("policy: %s", p)
				} else {
					t.Logf("policy: %s", p)
				}
			}
			if len(res.URNs) == 0 {
				return
			}
			// The URN checks hold even when a policy refused the preview:
			// the engine registered every resource first.
			gold := golden(t, stack)
			subnets := 0
			for _, u := range res.URNs {
				typ := urnType(u)
				if strings.HasSuffix(typ, "$aws:ec2/subnet:Subnet") {
					subnets++
				}
				if strings.Contains(typ, "awsx:") && !strings.HasSuffix(typ, "awsx:ec2:Vpc") && !strings.HasSuffix(typ, "awsx:ecr:Image") {
					continue // a child awsx registers: the mocks never see it
				}
				if typ == "pulumi:pulumi:Stack" || typ == "pulumi:providers:pulumi" {
					// The stack and the engine's builtin provider (it
					// serves the SDK's reads of the resource references
					// awsx returns): no program registers them.
					continue
				}
				if !gold[u] {
					t.Errorf("the engine registered %s, which tests/testdata/urns-%s.txt does not hold", u, stack)
				}
			}
			if subnets != 9 {
				t.Errorf("%d subnets under the awsx VPC, want 9 (3 zones x public, private, isolated)", subnets)
			}
		})
	}
}

// urnType is the qualified type of a URN (urn:pulumi:stack::project::type::name).
func urnType(urn string) string {
	parts := strings.SplitN(urn, "::", 4)
	if len(parts) < 4 {
		return ""
	}
	return parts[2]
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// imageProgram builds only an awsx ecr.Image on a known repository URL
// with explicit aws and awsx providers, and a docker-build provider when
// dockerBuild is set: once the URL is known awsx registers a
// docker-build:index:Image under the component, which inherits the
// component's providers.
func imageProgram(dockerBuild bool) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		a, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String("us-east-1")})
		if err != nil {
			return err
		}
		x, err := awsx.NewProvider(ctx, "awsx", &awsx.ProviderArgs{})
		if err != nil {
			return err
		}
		providers := []pulumi.ProviderResource{a, x}
		if dockerBuild {
			var db pulumi.ProviderResourceState
			if err := ctx.RegisterResource("pulumi:providers:docker-build", "docker-build", pulumi.Map{}, &db, pulumi.Version(dockerBuildVersion)); err != nil {
				return err
			}
			providers = append(providers, &db)
		}
		_, err = ecrx.NewImage(ctx, "app", &ecrx.ImageArgs{
			RepositoryUrl: pulumi.String("123456789012.dkr.ecr.us-east-1.amazonaws.com/ecr-dev"),
			Context:       pulumi.String(service.BuildContext), Dockerfile: pulumi.String(service.DockerfileLocation), Platform: pulumi.String("linux/arm64"),
		}, pulumi.Providers(providers...))
		return err
	}
}

// dockerBuildVersion is the docker-build SDK the program links (awsx's Go
// SDK depends on it).
var dockerBuildVersion string

// TestAWSXImageNeedsDockerBuildProvider: with default providers disabled,
// the docker-build image awsx registers needs an explicit docker-build
// provider among the ones handed to the Image; without one the engine
// refuses it. (At the first preview of a new stack the repository URL is
// unknown and awsx registers no image, so only pulumi up would say so.)
func TestAWSXImageNeedsDockerBuildProvider(t *testing.T) {
	path := cli(t)
	bin := standInBinary(t)
	all := plugins(t)
	for _, p := range all {
		if p.Name == "docker-build" {
			dockerBuildVersion = p.Version
		}
	}
	if dockerBuildVersion == "" {
		t.Fatalf("no docker-build SDK linked: %v", all)
	}
	stackFile := []byte("config:\n  pulumi:disable-default-providers: [\"*\"]\n  aws:region: us-east-1\n  trading-ha:environmentSuffix: dev\n")
	run := func(t *testing.T, dockerBuild bool) (*engine.Result, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		res, err := engine.Preview(ctx, engine.Options{
			CLI: path, Root: root, Stack: "image", Program: imageProgram(dockerBuild),
			StandIn: bin, Plugins: all, Scratch: t.TempDir(), StackFile: stackFile,
		})
		if res == nil {
			t.Fatal(err)
		}
		t.Logf("preview took %s", res.Took.Round(time.Second))
		return res, err
	}
	t.Run("without", func(t *testing.T) {
		res, err := run(t, false)
		if err == nil {
			t.Fatalf("the engine accepted a docker-build image with default providers disabled and no docker-build provider")
		}
		found := false
		for _, e := range res.Errors {
			t.Logf("engine error: %s", e)
			found = found || (strings.Contains(e, "docker-build") && strings.Contains(e, "disabled"))
		}
		if !found {
			t.Errorf("no engine error naming the disabled docker-build default provider:\n%s", tail(res.Output, 40))
		}
	})
	t.Run("with", func(t *testing.T) {
		res, err := run(t, true)
		if err != nil {
			t.Fatalf("%v\n%s", err, tail(res.Output, 60))
		}
		image := false
		for _, u := range res.URNs {
			image = image || strings.HasSuffix(urnType(u), "awsx:ecr:Image$docker-build:index:Image")
		}
		if !image {
			t.Errorf("no docker-build image under the awsx Image: %v", res.URNs)
		}
	})
}

// TestConfigSchemaRefusesBadValue: the engine holds the stack file to
// Pulumi.yaml's typed config schema before the program runs.
func TestConfigSchemaRefusesBadValue(t *testing.T) {
	path := cli(t)
	stackFile := []byte("config:\n  pulumi:disable-default-providers: [\"*\"]\n  aws:region: us-east-1\n  trading-ha:environmentSuffix: dev\n  trading-ha:maxCapacity: many\n")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	ran := false
	res, err := engine.Preview(ctx, engine.Options{
		CLI: path, Root: root, Stack: "badconfig", StandIn: standInBinary(t), Plugins: plugins(t), Scratch: t.TempDir(), StackFile: stackFile,
		Program: func(*pulumi.Context) error { ran = true; return nil },
	})
	if err == nil {
		t.Fatal("the engine accepted maxCapacity: many for an integer key")
	}
	if res != nil {
		t.Logf("engine output:\n%s", tail(res.Output, 20))
	}
	if !strings.Contains(err.Error(), "maxCapacity") {
		t.Errorf("the refusal does not name the key: %v", err)
	}
	if ran {
		t.Error("the program ran despite the bad config")
	}
}

// TestAWSProviderRefusesOtherAccount: the aws stand-in, like the aws
// provider, refuses to configure when the credentials' account is not in
// allowedAccountIds, and the engine fails the preview on it.
func TestAWSProviderRefusesOtherAccount(t *testing.T) {
	path := cli(t)
	stackFile := []byte("config:\n  pulumi:disable-default-providers: [\"*\"]\n  aws:region: us-east-1\n  trading-ha:environmentSuffix: dev\n")
	program := func(ctx *pulumi.Context) error {
		p, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{
			Region: pulumi.String("us-east-1"), AllowedAccountIds: pulumi.StringArray{pulumi.String("210987654321")},
		})
		if err != nil {
			return err
		}
		_, err = aws.GetCallerIdentity(ctx, &aws.GetCallerIdentityArgs{}, pulumi.Provider(p))
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	res, err := engine.Preview(ctx, engine.Options{
		CLI: path, Root: root, Stack: "account", Program: program,
		StandIn: standInBinary(t), Plugins: plugins(t), Scratch: t.TempDir(), StackFile: stackFile,
	})
	if err == nil {
		t.Fatal("the engine accepted an aws provider whose allowedAccountIds exclude the caller's account")
	}
	if res == nil || !strings.Contains(res.Output, "AWS account ID not allowed") {
		out := ""
		if res != nil {
			out = tail(res.Output, 30)
		}
		t.Errorf("no refusal naming the account: %v\n%s", err, out)
	}
}

package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trading-ha/trading-ha/infra"
	"github.com/trading-ha/trading-ha/internal/engine"
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

var standIn struct {
	once sync.Once
	bin  string
	err  error
}

// standInBinary builds internal/engine/standin once per test run.
func standInBinary(t *testing.T) string {
	t.Helper()
	standIn.once.Do(func() {
		dir, err := os.MkdirTemp("", "trading-ha-standin")
		if err != nil {
			standIn.err = err
			return
		}
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

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trading-ha/trading-ha/proof/engine"
)

// TestEnginePreview runs `pulumi preview` of the example's dev stack
// through the real Pulumi engine (proof/engine: the CLI that
// scripts/engine/build-cli.sh builds, stand-in provider plugins, the
// program inline). Unlike the mocks, the engine reads this example's own
// Pulumi.yaml and Pulumi.dev.yaml, refuses any default provider
// (pulumi:disable-default-providers), and runs awsx, whose children the
// mocks never see. Skipped without the CLI unless
// TRADING_REQUIRE_INTEGRATION=1.
func TestEnginePreview(t *testing.T) {
	cli := pulumiCLI(t)
	here, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(here, platformDir)
	plugins, err := engine.Plugins(here)
	if err != nil {
		t.Fatal(err)
	}
	standIn, err := engine.BuildStandIn(root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	res, err := engine.Preview(ctx, engine.Options{
		CLI: cli, Root: here, Stack: stackName, Program: Program(root),
		StandIn: standIn, Plugins: plugins, Scratch: t.TempDir(),
	})
	if res == nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Errorf("the engine refused the preview: %v\n%s", err, res.Output)
	}
	for _, e := range res.Errors {
		t.Errorf("engine error: %s", e)
	}
	if t.Failed() {
		return // the engine stopped early: the URN lists would only repeat it
	}

	// The engine's URNs, awsx's children aside, are the mocks' (the mocks
	// name the platform's project; the engine this example's).
	mocked, err := run(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, r := range mocked.rec.Resources {
		want[strings.Replace(r.URN, "::trading-ha::", "::trading-ha-network-database::", 1)] = true
	}
	counts := map[string]int{}
	for _, u := range res.URNs {
		typ := strings.SplitN(u, "::", 4)[2]
		counts[typ[strings.LastIndex(typ, "$")+1:]]++
		if strings.Contains(typ, "awsx:ec2:Vpc$") || typ == "pulumi:pulumi:Stack" || typ == "pulumi:providers:pulumi" {
			continue // awsx's children; the stack; the engine's builtin provider
		}
		if !want[u] {
			t.Errorf("the engine registered %s, which the mocked run did not", u)
		}
		delete(want, u)
	}
	for u := range want {
		t.Errorf("the mocked run registered %s, which the engine did not", u)
	}
	if n := counts["aws:ec2/subnet:Subnet"]; n != 9 {
		t.Errorf("%d subnets under the awsx VPC, want 9 (3 zones x public, private, isolated)", n)
	}
	if n := counts["aws:ec2/natGateway:NatGateway"]; n != 1 {
		t.Errorf("%d NAT gateways, want 1 (the stack's natGateways: Single)", n)
	}
}

// pulumiCLI finds the CLI scripts/engine/build-cli.sh builds, as the
// engine package's tests do: $TRADING_PULUMI_CLI, else the script's cache
// for the module's pulumi SDK version.
func pulumiCLI(t *testing.T) string {
	t.Helper()
	path := os.Getenv("TRADING_PULUMI_CLI")
	if path == "" {
		cache := os.Getenv("TRADING_ENGINE_CACHE")
		if cache == "" {
			base := os.Getenv("XDG_CACHE_HOME")
			if base == "" {
				home, err := os.UserHomeDir()
				if err != nil {
					t.Fatal(err)
				}
				base = filepath.Join(home, ".cache")
			}
			cache = filepath.Join(base, "trading-ha", "engine")
		}
		version, err := engine.SDKVersion(".")
		if err != nil {
			t.Fatal(err)
		}
		path = filepath.Join(cache, "pulumi-"+version, "bin", "pulumi")
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

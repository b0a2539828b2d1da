package tests

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/dns"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/sessions"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// The golden URN lists (testdata/urns-<stack>.txt) are every URN a stack's
// state may hold for this program: the URNs it registers and the old URNs
// its aliases claim. A URN is a resource's identity; one that leaves the
// list is a resource the next `pulumi up` deletes (or, renamed without an
// alias, deletes and creates anew). Regenerate after a deliberate change:
//
//	go test ./tests/ -run TestGoldenURNs -update-urns            # adds and aliases only
//	go test ./tests/ -run TestGoldenURNs -update-urns -urns-delete # also drops URNs
//
// -update-urns refuses to drop a URN no recorded resource registers or
// aliases unless -urns-delete says the deletion is meant (docs/deploy.md).
var (
	updateURNs = flag.Bool("update-urns", false, "rewrite tests/testdata/urns-<stack>.txt from the recording")
	deleteURNs = flag.Bool("urns-delete", false, "with -update-urns: accept that URNs leave the golden lists (resources deleted on the next up)")
)

// claimed is every URN the recording registers or aliases, sorted.
func claimed(rec *offline.Recording) []string {
	seen := map[string]bool{}
	for _, r := range rec.Resources {
		seen[r.URN] = true
		for _, a := range r.Aliases {
			seen[a] = true
		}
	}
	out := make([]string, 0, len(seen))
	for u := range seen {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

func goldenPath(stack string) string { return filepath.Join("testdata", "urns-"+stack+".txt") }

func readGolden(t *testing.T, stack string) []string {
	t.Helper()
	b, err := os.ReadFile(goldenPath(stack))
	if err != nil {
		t.Fatalf("read golden URN list: %v (create it with -update-urns)", err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// lost is the URNs of from that have does not hold: the golden URNs the
// recording neither registers nor aliases, or (swapped) the new ones.
func lost(from, have []string) []string {
	held := map[string]bool{}
	for _, u := range have {
		held[u] = true
	}
	var out []string
	for _, u := range from {
		if !held[u] {
			out = append(out, u)
		}
	}
	return out
}

// TestGoldenURNs compares each stack's recording (URNs and alias URNs) with
// its checked-in golden list, line for line.
func TestGoldenURNs(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		claims := claimed(rec)
		if *updateURNs {
			if old, err := os.ReadFile(goldenPath(stack)); err == nil && !*deleteURNs {
				prev := strings.Fields(string(old))
				if gone := lost(prev, claims); len(gone) > 0 {
					t.Fatalf("refusing to drop %d URN(s) no resource registers or aliases (add aliases, or pass -urns-delete if the deletion is meant):\n%s", len(gone), strings.Join(gone, "\n"))
				}
			}
			if err := os.WriteFile(goldenPath(stack), []byte(strings.Join(claims, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		golden := readGolden(t, stack)
		// New claims are the recording's URNs the golden list lacks.
		added := lost(claims, golden)
		if len(added) > 0 {
			t.Errorf("%d URN(s) not in %s (new resources or new aliases: regenerate with -update-urns):\n%s", len(added), goldenPath(stack), strings.Join(added, "\n"))
		}
		if gone := lost(golden, claims); len(gone) > 0 {
			t.Errorf("%d URN(s) in %s are neither registered nor aliased (TestGoldenURNsKept says why)", len(gone), goldenPath(stack))
		}
	})
}

// TestGoldenURNsKept is the rule "a change to the list must come with
// aliases": every URN in the golden list that the recording no longer
// registers must be an alias of a recorded resource, or the next up
// deletes the resource behind it (and replaces it, if it was renamed).
func TestGoldenURNsKept(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		golden := readGolden(t, stack)
		if len(golden) < 100 {
			t.Fatalf("golden list has %d URNs; the stacks register hundreds", len(golden))
		}
		for _, u := range lost(golden, claimed(rec)) {
			t.Errorf("%s is gone without an alias: the next up deletes it (give the renamed resource pulumi.Aliases with its old name)", u)
		}
	})
}

// TestGoldenURNsKeptFailsOnRename shows the rule bites: a rename with no
// alias loses the old URN.
func TestGoldenURNsKeptFailsOnRename(t *testing.T) {
	rec := record(t, "dev")
	golden := claimed(rec)
	renamed := &offline.Recording{Stack: rec.Stack}
	for _, r := range rec.Resources {
		c := *r
		if r.Type == "aws:dynamodb/table:Table" {
			c.URN = strings.TrimSuffix(r.URN, "::"+r.Name) + "::" + r.Name + "-renamed"
			c.Aliases = nil
		}
		renamed.Resources = append(renamed.Resources, &c)
	}
	gone := lost(golden, claimed(renamed))
	if len(gone) == 0 || !strings.HasSuffix(gone[len(gone)-1], "::sessions-sessions") {
		t.Fatalf("renaming the sessions table without an alias lost %s, want its URN among them", fmt.Sprint(gone))
	}
}

// TestComponentTwiceHasNoDuplicateURN instantiates the sessions component
// twice in one program: children named from the component's name keep the
// URNs apart, and neither claims another URN through an alias.
func TestComponentTwiceHasNoDuplicateURN(t *testing.T) {
	rec, err := offline.RunProgram("dev", nil, func(ctx *pulumi.Context) error {
		for _, n := range []string{"sessions", "sessions-b"} {
			if _, err := sessions.New(ctx, n, sessions.Args{Names: naming.New("dev-" + n[len(n)-1:]), DataKeyArn: pulumi.String("arn:aws:kms:us-east-1:" + acct + ":key/k")}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("two sessions components: %v", err)
	}
	tables := rec.ByType("aws:dynamodb/table:Table")
	if len(tables) != 2 || tables[0].URN == tables[1].URN {
		t.Fatalf("want two tables with distinct URNs, got %d", len(tables))
	}
	for _, tb := range tables {
		if len(tb.Aliases) != 0 {
			t.Errorf("%s claims aliases %v, want none", tb.URN, tb.Aliases)
		}
	}
}

// TestDNSTwiceHasNoDuplicateURN does the same for a component with helper
// functions and two kinds of child (dns.Zone: the health check in New, the
// hosted zone in z.zone): every child of the second instance has its own
// URN, neither claims another through an alias, and a lookup by key finds
// both instances' children, so it must say which.
func TestDNSTwiceHasNoDuplicateURN(t *testing.T) {
	cfgMap, err := offline.LoadStack("..", "dev")
	if err != nil {
		t.Fatal(err)
	}
	cfgMap[config.Project+":domainName"] = "trading.acmebank.net"
	rec, err := offline.RunProgram("dev", cfgMap, func(ctx *pulumi.Context) error {
		cfg, err := config.Load(ctx)
		if err != nil {
			return err
		}
		for _, n := range []string{"dns", "dns-b"} {
			if _, err := dns.New(ctx, n, dns.Args{Names: naming.New("dev"), DNS: cfg.DNS, ALBDNSName: pulumi.String("alb.example")}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("two dns components: %v", err)
	}
	for _, kind := range []struct{ typ, key string }{
		{"aws:route53/healthCheck:HealthCheck", "endpoint"},
		{"aws:route53/zone:Zone", "zone"},
	} {
		got := map[string]*offline.Resource{}
		for _, r := range rec.ByType(kind.typ) {
			got[r.Name] = r
		}
		legacy, second := got["dns-"+kind.key], got["dns-b-"+kind.key]
		if len(got) != 2 || legacy == nil || second == nil {
			t.Fatalf("%s: want dns-%s and dns-b-%s, got %v", kind.typ, kind.key, kind.key, got)
		}
		if legacy.Key != kind.key || second.Key != kind.key {
			t.Errorf("%s keys %q and %q, want %q", kind.typ, legacy.Key, second.Key, kind.key)
		}
		if len(legacy.Aliases)+len(second.Aliases) != 0 {
			t.Errorf("%s and %s claim aliases %v %v, want none", legacy.URN, second.URN, legacy.Aliases, second.Aliases)
		}
		if _, err := rec.One(kind.typ, kind.key); err == nil || !strings.Contains(err.Error(), "two ") {
			t.Errorf("One(%s, %q) with two instances: %v, want an ambiguity error", kind.typ, kind.key, err)
		}
	}
}

// TestRecorderRefusesDuplicateURN: the engine fails a deployment that
// registers one URN twice (pulumi/pulumi pkg/diag/errors.go, 2001); so
// does the recorder, naming the URN.
func TestRecorderRefusesDuplicateURN(t *testing.T) {
	_, err := offline.RunProgram("dev", nil, func(ctx *pulumi.Context) error {
		for range 2 {
			if _, err := sqs.NewQueue(ctx, "twice", &sqs.QueueArgs{}); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "duplicate resource URN 'urn:pulumi:dev::trading-ha::aws:sqs/queue:Queue::twice'") {
		t.Fatalf("registering a URN twice: %v, want the engine's duplicate URN error", err)
	}
}

// TestRecorderRefusesSharedAlias: two resources may not claim one old URN
// (pkg/diag/errors.go, GetDuplicateResourceAliasError).
func TestRecorderRefusesSharedAlias(t *testing.T) {
	_, err := offline.RunProgram("dev", nil, func(ctx *pulumi.Context) error {
		for _, n := range []string{"a", "b"} {
			if _, err := sqs.NewQueue(ctx, n, &sqs.QueueArgs{}, pulumi.Aliases([]pulumi.Alias{{Name: pulumi.String("old")}})); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "duplicate resource alias") {
		t.Fatalf("two resources aliasing one URN: %v, want the engine's duplicate alias error", err)
	}
}

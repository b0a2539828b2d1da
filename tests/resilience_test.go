package tests

import (
	"strings"
	"testing"
	"time"

	"github.com/trading-ha/trading-ha/internal/offline"
	"github.com/trading-ha/trading-ha/internal/resilience"
)

// appTier is a minimal recording of the app tier with a given target-group
// health check.
func appTier(interval, unhealthy, timeout float64, desired float64) *offline.Recording {
	return &offline.Recording{Stack: "t", Config: map[string]string{"trading-ha:rtoMinutes": "15", "trading-ha:rpoMinutes": "5"}, Resources: []*offline.Resource{
		res("aws:lb/targetGroup:TargetGroup", "tg", map[string]any{"deregistrationDelay": float64(30), "healthCheck": map[string]any{
			"interval": interval, "unhealthyThreshold": unhealthy, "healthyThreshold": float64(2), "timeout": timeout}}),
		res("aws:lb/loadBalancer:LoadBalancer", "alb", map[string]any{"subnets": []any{"a", "b", "c"}}),
		res("aws:ecs/service:Service", "svc", map[string]any{"desiredCount": desired, "healthCheckGracePeriodSeconds": float64(60),
			"deploymentMaximumPercent": float64(200), "networkConfiguration": map[string]any{"subnets": []any{"a", "b", "c"}},
			"deploymentCircuitBreaker": map[string]any{"enable": true, "rollback": true}}),
	}}
}

func row(t *testing.T, rep resilience.Report, failure string) resilience.Row {
	t.Helper()
	for _, r := range rep.Rows {
		if r.Failure == failure {
			return r
		}
	}
	t.Fatalf("no row %q", failure)
	return resilience.Row{}
}

func TestResilienceFiguresFollowHealthCheckInputs(t *testing.T) {
	fast := resilience.Compute(appTier(10, 2, 5, 3))
	got := row(t, fast, "task crash / hang")
	if got.Detection != 15*time.Second || !got.OK() {
		t.Errorf("interval 10 x 2 (timeout 5): detection %s ok=%v, want 15s within 60s", got.Detection, got.OK())
	}
	if want := 15*time.Second + resilience.FargateTaskStart + 20*time.Second; got.FullRecovery != want {
		t.Errorf("full recovery %s, want %s", got.FullRecovery, want)
	}
	slow := resilience.Compute(appTier(30, 3, 10, 3))
	over := row(t, slow, "AZ loss (app tier)")
	if over.Detection != 70*time.Second || over.OK() {
		t.Errorf("interval 30 x 3 (timeout 10): detection %s ok=%v, want 70s over the 60s budget", over.Detection, over.OK())
	}
	dep := row(t, fast, "bad deployment")
	// desired 3, surge 3: one round of (90 s start + 60 s grace + 15 s) then
	// rollback 90 s + 20 s + 30 s deregistration.
	if want := 165*time.Second + 140*time.Second; dep.Mitigated != want || !dep.OK() {
		t.Errorf("bad deployment %s, want %s", dep.Mitigated, want)
	}
}

func TestResilienceFlagsSingleTaskAndMissingReader(t *testing.T) {
	rec := appTier(10, 2, 5, 1)
	rec.Resources = append(rec.Resources,
		res("aws:rds/clusterInstance:ClusterInstance", "aurora-1", map[string]any{"availabilityZone": "us-east-1a"}))
	rep := resilience.Compute(rec)
	if r := row(t, rep, "AZ loss (app tier)"); r.OK() || !strings.Contains(r.Problem, "desired count 1") {
		t.Errorf("one task must fail the AZ-loss row: %+v", r)
	}
	if r := row(t, rep, "Aurora writer / AZ loss (data tier)"); r.OK() || r.Detection != resilience.AuroraRecreatePrimary {
		t.Errorf("a lone writer must fail the data-tier row: %+v", r)
	}
	rec.Resources = append(rec.Resources,
		res("aws:rds/clusterInstance:ClusterInstance", "aurora-2", map[string]any{"availabilityZone": "us-east-1b"}))
	if r := row(t, resilience.Compute(rec), "Aurora writer / AZ loss (data tier)"); !r.OK() || r.Mitigated != 80*time.Second {
		t.Errorf("a reader in another AZ: %+v, want 80s within 120s", r)
	}
}

func TestResilienceDataStores(t *testing.T) {
	rec := &offline.Recording{Config: map[string]string{"trading-ha:rpoMinutes": "5"}, Resources: []*offline.Resource{
		res("aws:dynamodb/table:Table", "sessions", map[string]any{"pointInTimeRecovery": map[string]any{"enabled": false}}),
	}}
	rep := resilience.Compute(rec)
	var ddb *resilience.RPORow
	for i := range rep.Data {
		if rep.Data[i].Store == "DynamoDB" {
			ddb = &rep.Data[i]
		}
	}
	if ddb == nil || ddb.OK() {
		t.Fatalf("a table without PITR must fail its RPO row: %+v", rep.Data)
	}
	if len(rep.Failing()) == 0 {
		t.Error("Failing() is empty for a failing report")
	}
}

// TestResilienceBudgetsHoldForEveryStack computes the report from each
// stack file's recording: a row over budget (or lacking inputs) fails.
func TestResilienceBudgetsHoldForEveryStack(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		rep := resilience.Compute(rec)
		for _, f := range rep.Failing() {
			t.Errorf("over budget: %s", f)
		}
		if len(rep.Rows) != 5 || len(rep.Data) < 4 {
			t.Errorf("report has %d rows and %d data stores; want the 5 GUIDE failure modes and Aurora, DynamoDB, S3, EventBridge", len(rep.Rows), len(rep.Data))
		}
		t.Log("\n" + rep.Table())
	})
}

// TestResilienceMovesWithStackConfig: a health-check interval set in the
// stack config moves the computed figures.
func TestResilienceMovesWithStackConfig(t *testing.T) {
	base := row(t, resilience.Compute(record(t, "prod")), "AZ loss (app tier)")
	rec, err := recordWith(t, "prod", map[string]string{"trading-ha:healthCheckIntervalSeconds": "15"})
	if err != nil {
		t.Fatal(err)
	}
	moved := row(t, resilience.Compute(rec), "AZ loss (app tier)")
	if base.Detection != 15*time.Second || moved.Detection != 20*time.Second {
		t.Errorf("AZ-loss detection %s -> %s; want 15s (10s x 2, timeout 5s) -> 20s (15s x 2, timeout 5s)", base.Detection, moved.Detection)
	}
	rec, err = recordWith(t, "prod", map[string]string{"trading-ha:rtoMinutes": "5"})
	if err != nil {
		t.Fatal(err)
	}
	if dep := row(t, resilience.Compute(rec), "bad deployment"); dep.Budget != 5*time.Minute {
		t.Errorf("rtoMinutes=5 leaves the bad-deployment budget at %s", dep.Budget)
	}
}

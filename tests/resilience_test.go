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
	// Worst case: the target hangs right after passing a check, so it is
	// out after interval x unhealthy + timeout (the unhealthy-th check
	// starts interval x unhealthy later and fails at its timeout).
	fast := resilience.Compute(appTier(10, 2, 5, 3))
	got := row(t, fast, "task crash / hang")
	if got.Detection != 25*time.Second || !got.OK() {
		t.Errorf("interval 10 x 2 + timeout 5: detection %s ok=%v, want 25s within 60s", got.Detection, got.OK())
	}
	if want := 25*time.Second + resilience.FargateTaskStart + 20*time.Second; got.FullRecovery != want {
		t.Errorf("full recovery %s, want %s", got.FullRecovery, want)
	}
	slow := resilience.Compute(appTier(30, 3, 10, 3))
	over := row(t, slow, "AZ loss (app tier)")
	if over.Detection != 100*time.Second || over.OK() {
		t.Errorf("interval 30 x 3 + timeout 10: detection %s ok=%v, want 100s over the 60s budget", over.Detection, over.OK())
	}
	dep := row(t, fast, "bad deployment")
	// desired 3, surge 3: one round of (90 s start + 60 s grace + 25 s) then
	// rollback 90 s + 20 s + 30 s deregistration.
	if want := 175*time.Second + 140*time.Second; dep.Mitigated != want || !dep.OK() {
		t.Errorf("bad deployment %s, want %s", dep.Mitigated, want)
	}
}

// edge is a recording of the paging edge: a Route 53 health check, a
// canary, their alarms and the composite that ORs them.
func edge(r53Alarm, canaryAlarm map[string]any, rule string, wait float64) *offline.Recording {
	return &offline.Recording{Stack: "t", Config: map[string]string{"trading-ha:rtoMinutes": "15"}, Resources: []*offline.Resource{
		res("aws:route53/healthCheck:HealthCheck", "endpoint", map[string]any{"type": "HTTPS", "requestInterval": float64(10), "failureThreshold": float64(3)}),
		res("aws:synthetics/canary:Canary", "api", map[string]any{"schedule": map[string]any{"expression": "rate(2 minutes)"}, "runConfig": map[string]any{"timeoutInSeconds": float64(30)}}),
		res("aws:cloudwatch/metricAlarm:MetricAlarm", "alarm-r53-health", r53Alarm),
		res("aws:cloudwatch/metricAlarm:MetricAlarm", "alarm-canary-success", canaryAlarm),
		res("aws:cloudwatch/compositeAlarm:CompositeAlarm", "degraded", map[string]any{"alarmName": "alarm-degraded-t", "alarmRule": rule,
			"actionsSuppressor": map[string]any{"alarm": "alarm-maintenance-t", "waitPeriod": wait, "extensionPeriod": float64(300)}}),
	}}
}

func alarm(name, metric string, period, evals, datapoints float64) map[string]any {
	return map[string]any{"name": name, "metricName": metric, "period": period, "evaluationPeriods": evals, "datapointsToAlarm": datapoints}
}

// TestResiliencePagingPaths checks each path's worst case, the M-of-N
// reading, the composite membership and the suppressor wait.
func TestResiliencePagingPaths(t *testing.T) {
	r53 := alarm("alarm-r53-health-t", "HealthCheckStatus", 60, 3, 2)
	canary := alarm("alarm-canary-success-t", "SuccessPercent", 120, 3, 2)
	rule := `ALARM("alarm-canary-success-t") OR ALARM("alarm-r53-health-t")`
	r := row(t, resilience.Compute(edge(r53, canary, rule, 60)), "endpoint unreachable (page)")
	// Route 53: 10 s x 3 + (4 s connect + 2 s response) = 36 s; alarm 2 of 3
	// (M, not N) x 60 s + 60 s evaluation = 180 s -> ALARM at 216 s.
	// Canary: 2 min + 30 s run = 150 s; alarm (2-1) x 120 s + 120 s + 60 s
	// = 300 s -> ALARM at 450 s. Composite wait 60 s: pages at 276 s / 510 s.
	want := map[string][3]time.Duration{
		"Route 53": {36 * time.Second, 216 * time.Second, 276 * time.Second},
		"canary":   {150 * time.Second, 450 * time.Second, 510 * time.Second},
	}
	if len(r.Paths) != 2 {
		t.Fatalf("paths %+v, want Route 53 and canary", r.Paths)
	}
	for _, p := range r.Paths {
		if w := want[p.Name]; [3]time.Duration{p.Detect, p.AlarmAt, p.PagesAt} != w || !p.Member {
			t.Errorf("%s path detect/alarm/pages %s/%s/%s member=%v, want %v in the composite", p.Name, p.Detect, p.AlarmAt, p.PagesAt, p.Member, w)
		}
	}
	if r.Pager != "alarm-r53-health-t" || r.Pages != 276*time.Second || r.Detection != 216*time.Second || r.Mitigated != 276*time.Second || !r.OK() {
		t.Errorf("row %+v: want paged by alarm-r53-health-t at 4m36s (composite ALARM at 3m36s), ok", r)
	}

	// A 120 s suppressor wait pushes the first page past the 5-minute budget.
	if r := row(t, resilience.Compute(edge(r53, canary, rule, 120)), "endpoint unreachable (page)"); r.Pages != 336*time.Second || r.OK() ||
		!strings.Contains(r.Problem, "over the 5m0s budget") {
		t.Errorf("wait 120 s: %+v, want pages at 5m36s, flagged over budget", r)
	}

	// A path over the RTO is a Problem even when a faster path pages:
	// canary alarm 5 of 5 x 300 s = (5-1) x 120 s + 300 s + 60 s = 840 s,
	// ALARM at 150 + 840 = 990 s, page at 1050 s > 900 s.
	slow := alarm("alarm-canary-success-t", "SuccessPercent", 300, 5, 5)
	r = row(t, resilience.Compute(edge(r53, slow, rule, 60)), "endpoint unreachable (page)")
	if r.Pager != "alarm-r53-health-t" || r.OK() || !strings.Contains(r.Problem, "canary path pages after 17m30s, over the RTO 15m0s") {
		t.Errorf("slow canary path: %+v, want flagged over the RTO although Route 53 pages first", r)
	}

	// An alarm the composite does not name pages nobody.
	r = row(t, resilience.Compute(edge(r53, canary, `ALARM("alarm-canary-success-t")`, 60)), "endpoint unreachable (page)")
	if r.Pager != "alarm-canary-success-t" || r.OK() || !strings.Contains(r.Problem, "alarm-r53-health-t is not in the paging composite's rule") {
		t.Errorf("Route 53 alarm outside the rule: %+v, want flagged and the canary paging", r)
	}

	// Without datapointsToAlarm an alarm needs evaluationPeriods datapoints:
	// 3 x 60 s + 60 s = 4 min after the 36 s detection.
	delete(r53, "datapointsToAlarm")
	r = row(t, resilience.Compute(edge(r53, canary, rule, 60)), "endpoint unreachable (page)")
	if r.Paths[0].AlarmAt != 276*time.Second {
		t.Errorf("3 of 3 x 60 s: ALARM at %s, want 4m36s", r.Paths[0].AlarmAt)
	}

	// No composite recorded: nothing pages, and the row says so.
	rec := edge(r53, canary, rule, 60)
	rec.Resources = rec.Resources[:4]
	if r := row(t, resilience.Compute(rec), "endpoint unreachable (page)"); r.OK() || !strings.Contains(r.Problem, `no paging composite alarm "degraded"`) {
		t.Errorf("no composite: %+v, want flagged", r)
	}
}

// TestResilienceConstantsPinned pins every service time: a constant set to
// zero (or changed without its source) fails here.
func TestResilienceConstantsPinned(t *testing.T) {
	for name, c := range map[string][2]time.Duration{
		"AuroraFailover":           {resilience.AuroraFailover, 60 * time.Second},
		"AuroraRecreatePrimary":    {resilience.AuroraRecreatePrimary, 10 * time.Minute},
		"ClusterEndpointTTL":       {resilience.ClusterEndpointTTL, 5 * time.Second},
		"AppReconnectBudget":       {resilience.AppReconnectBudget, 15 * time.Second},
		"FargateTaskStart":         {resilience.FargateTaskStart, 90 * time.Second},
		"AlarmEvaluationDelay":     {resilience.AlarmEvaluationDelay, 60 * time.Second},
		"Route53ConnectTimeout":    {resilience.Route53ConnectTimeout, 4 * time.Second},
		"Route53ResponseTimeout":   {resilience.Route53ResponseTimeout, 2 * time.Second},
		"Route53BodyTimeout":       {resilience.Route53BodyTimeout, 2 * time.Second},
		"Route53TCPConnectTimeout": {resilience.Route53TCPConnectTimeout, 10 * time.Second},
		"PITRLag":                  {resilience.PITRLag, 5 * time.Minute},
	} {
		if c[0] != c[1] || c[0] == 0 {
			t.Errorf("%s = %s, want %s (docs/resilience.md cites the source)", name, c[0], c[1])
		}
	}
	if resilience.CompositeAlarmLogicalName != "degraded" {
		t.Errorf("composite logical name %q, want degraded (infra/monitoring)", resilience.CompositeAlarmLogicalName)
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

// figures is one row's detect / mitigated / full.
type figures [3]time.Duration

// TestResilienceBudgetsHoldForEveryStack computes the report from each
// stack file's recording and pins every figure, computed by hand from the
// recorded inputs:
//
//	target group (both stacks, CONTRACT.md section 9): /readyz, interval 5 s,
//	unhealthy 2, timeout 3 s, healthy 2, deregistration 30 s; service
//	desired 3, surge 200 %, grace 60 s.
//	  out of rotation: 5 x 2 + 3 = 13 s; back: 5 x 2 = 10 s
//	  task crash / AZ loss: 13 s, 13 s, 13 + 90 (FargateTaskStart) + 10 = 1m53s
//	  bad deployment: breaker after max(3, ceil(3/2)) = 3 tasks, batch 3,
//	    1 round of 90 + 60 + 13 = 2m43s; rollback 90 + 10 + 30 = 2m10s -> 4m53s
//	Aurora (2 instances in 2 AZs dev, 3 in 3 prod): 60 s, 60 + 5 + 15 = 1m20s
//	Route 53 (both): HTTPS every 10 s x 3 + (4 s connect + 2 s response) = 36 s;
//	  alarm-r53-health 2 of 2 x 60 s: 120 + 60 eval = 3 min -> ALARM at 3m36s
//	canary dev: rate(5 minutes), timeout 60 s -> 6 min; alarm-canary-success
//	  1 of 1 x 300 s (a sparse canary is judged run by run):
//	  (1-1) x 300 + 300 + 60 = 6 min -> ALARM at 12 min
//	canary prod: rate(1 minute), timeout 60 s -> 2 min; 2 of 2 x 60 s:
//	  (2-1) x 60 + 60 + 60 = 3 min -> ALARM at 5 min
//	composite alarm-degraded-<suffix>: suppressor wait 60 s, so each path
//	  pages 1 min after its ALARM: Route 53 4m36s; canary dev 13m, prod 6m.
//
// Every row is within budget in both stacks: the first page (Route 53) at
// 4m36s inside the 5-minute paging budget, every path inside the 15-minute
// RTO. Any row over budget fails the test (TestResiliencePagingPaths holds
// the flagging itself to fixtures).
func TestResilienceBudgetsHoldForEveryStack(t *testing.T) {
	common := map[string]figures{
		"task crash / hang":                   {13 * time.Second, 13 * time.Second, 113 * time.Second},
		"AZ loss (app tier)":                  {13 * time.Second, 13 * time.Second, 113 * time.Second},
		"Aurora writer / AZ loss (data tier)": {60 * time.Second, 80 * time.Second, 80 * time.Second},
		"bad deployment":                      {163 * time.Second, 293 * time.Second, 293 * time.Second},
		"endpoint unreachable (page)":         {216 * time.Second, 276 * time.Second, 276 * time.Second},
	}
	type path struct{ detect, alarm, pages time.Duration }
	paths := map[string]map[string]path{
		"dev": {
			"Route 53": {36 * time.Second, 216 * time.Second, 276 * time.Second},
			"canary":   {6 * time.Minute, 12 * time.Minute, 13 * time.Minute},
		},
		"prod": {
			"Route 53": {36 * time.Second, 216 * time.Second, 276 * time.Second},
			"canary":   {2 * time.Minute, 5 * time.Minute, 6 * time.Minute},
		},
	}
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		rep := resilience.Compute(rec)
		if len(rep.Rows) != 5 || len(rep.Data) < 4 {
			t.Errorf("report has %d rows and %d data stores; want the 5 GUIDE failure modes and Aurora, DynamoDB, S3, EventBridge", len(rep.Rows), len(rep.Data))
		}
		for name, want := range common {
			r := row(t, rep, name)
			if got := (figures{r.Detection, r.Mitigated, r.FullRecovery}); got != want {
				t.Errorf("%s: detect/mitigated/full %v, want %v", name, got, want)
			}
		}
		page := row(t, rep, "endpoint unreachable (page)")
		if page.Pager != "alarm-r53-health-"+stack || page.Pages != 276*time.Second {
			t.Errorf("page: first member %q at %s, want alarm-r53-health-%s at 4m36s", page.Pager, page.Pages, stack)
		}
		if !strings.Contains(page.Basis, "composite alarm-degraded-"+stack) {
			t.Errorf("page basis %q does not name the composite alarm-degraded-%s", page.Basis, stack)
		}
		for _, p := range page.Paths {
			want, ok := paths[stack][p.Name]
			if got := (path{p.Detect, p.AlarmAt, p.PagesAt}); !ok || got != want || !p.Member {
				t.Errorf("%s path: %+v member=%v, want %+v in the composite", p.Name, got, p.Member, want)
			}
		}
		if len(page.Paths) != len(paths[stack]) {
			t.Errorf("page paths %+v, want Route 53 and canary", page.Paths)
		}
		for _, f := range rep.Failing() {
			t.Errorf("over budget: %s", f)
		}
		t.Log("\n" + rep.Table())
	})
}

// TestResilienceMovesWithStackConfig: a health-check interval set in the
// stack config moves the computed figures.
func TestResilienceMovesWithStackConfig(t *testing.T) {
	base := row(t, resilience.Compute(record(t, "prod")), "AZ loss (app tier)")
	// The drain delay pins interval x unhealthy to 10 s; the timeout moves.
	rec, err := recordWith(t, "prod", map[string]string{"trading-ha:healthCheckTimeoutSeconds": "4"})
	if err != nil {
		t.Fatal(err)
	}
	moved := row(t, resilience.Compute(rec), "AZ loss (app tier)")
	if base.Detection != 13*time.Second || moved.Detection != 14*time.Second {
		t.Errorf("AZ-loss detection %s -> %s; want 13s (5s x 2 + timeout 3s) -> 14s (5s x 2 + timeout 4s)", base.Detection, moved.Detection)
	}
	rec, err = recordWith(t, "prod", map[string]string{"trading-ha:rtoMinutes": "5"})
	if err != nil {
		t.Fatal(err)
	}
	if dep := row(t, resilience.Compute(rec), "bad deployment"); dep.Budget != 5*time.Minute {
		t.Errorf("rtoMinutes=5 leaves the bad-deployment budget at %s", dep.Budget)
	}
}

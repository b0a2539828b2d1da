package tests

import (
	"strings"
	"testing"
	"time"

	"github.com/trading-ha/trading-ha/proof/offline"
	"github.com/trading-ha/trading-ha/proof/resilience"
)

// appTier is a minimal recording of the app tier with a given target-group
// health check.
func appTier(interval, unhealthy, timeout float64, desired float64) *offline.Recording {
	return &offline.Recording{Stack: "t", Config: map[string]string{"trading-ha:rtoMinutes": "15", "trading-ha:rpoMinutes": "5", "trading-ha:environmentSuffix": "t"}, Resources: []*offline.Resource{
		res("aws:lb/targetGroup:TargetGroup", "tg", map[string]any{"deregistrationDelay": float64(30), "healthCheck": map[string]any{
			"interval": interval, "unhealthyThreshold": unhealthy, "healthyThreshold": float64(2), "timeout": timeout}}),
		res("aws:lb/loadBalancer:LoadBalancer", "alb", map[string]any{"subnets": []any{"a", "b", "c"}, "idleTimeout": float64(60)}),
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
	// A request in flight to the hung task waits the ALB idle timeout (60 s)
	// after the 25 s it takes to stop routing to it.
	if got.Mitigated != 85*time.Second || got.Budgeted != 25*time.Second {
		t.Errorf("hung task: mitigated %s, budgeted %s; want 25s + idle 60s = 1m25s, stop routing 25s", got.Mitigated, got.Budgeted)
	}
	dep := row(t, fast, "bad deployment failing health")
	// desired 3, surge 3: one round of (start + 60 s grace + 25 s) then
	// rollback start + 20 s + 30 s deregistration.
	if want := 2*resilience.FargateTaskStart + 135*time.Second; dep.Mitigated != want || !dep.OK() {
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
// zero (or changed without its source) fails here. The typical figures AWS
// documents (or we assume) are used with the stated margin, never alone.
func TestResilienceConstantsPinned(t *testing.T) {
	for name, c := range map[string][2]time.Duration{
		"AuroraFailoverTypical":        {resilience.AuroraFailoverTypical, 60 * time.Second},
		"AuroraFailover":               {resilience.AuroraFailover, 90 * time.Second},
		"AuroraRecreatePrimaryTypical": {resilience.AuroraRecreatePrimaryTypical, 10 * time.Minute},
		"AuroraRecreatePrimary":        {resilience.AuroraRecreatePrimary, 15 * time.Minute},
		"ClusterEndpointTTL":           {resilience.ClusterEndpointTTL, 5 * time.Second},
		"AppReconnectBudget":           {resilience.AppReconnectBudget, 15 * time.Second},
		"FargateTaskStartTypical":      {resilience.FargateTaskStartTypical, 90 * time.Second},
		"FargateTaskStart":             {resilience.FargateTaskStart, 135 * time.Second},
		"AlarmEvaluationDelay":         {resilience.AlarmEvaluationDelay, 60 * time.Second},
		"Route53ConnectTimeout":        {resilience.Route53ConnectTimeout, 4 * time.Second},
		"Route53ResponseTimeout":       {resilience.Route53ResponseTimeout, 2 * time.Second},
		"Route53BodyTimeout":           {resilience.Route53BodyTimeout, 2 * time.Second},
		"Route53TCPConnectTimeout":     {resilience.Route53TCPConnectTimeout, 10 * time.Second},
		"ALBDNSTTL":                    {resilience.ALBDNSTTL, 60 * time.Second},
		"ALBDefaultIdleTimeout":        {resilience.ALBDefaultIdleTimeout, 60 * time.Second},
		"ALBNodeDNSRemoval":            {resilience.ALBNodeDNSRemoval, 60 * time.Second},
		"RunbookReaction":              {resilience.RunbookReaction, 30 * time.Second},
		"PITRLag":                      {resilience.PITRLag, 5 * time.Minute},
		"PageTarget":                   {resilience.PageTarget, 5 * time.Minute},
	} {
		if c[0] != c[1] || c[0] == 0 {
			t.Errorf("%s = %s, want %s (docs/resilience.md cites the source)", name, c[0], c[1])
		}
	}
	if resilience.TypicalMarginPercent != 50 || resilience.Route53HealthyQuorumPercent != 18 {
		t.Errorf("margin %d%%, Route 53 quorum %d%%; want 50%% (ours) and 18%% (Route 53 Developer Guide)", resilience.TypicalMarginPercent, resilience.Route53HealthyQuorumPercent)
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
	// A lone writer: Aurora recreates it, typically 10 min, 15 min with the
	// margin, and the row is red (over its budget and over the RTO, which
	// it says).
	r := row(t, rep, "Aurora writer / AZ loss (data tier)")
	if r.OK() || r.Detection != resilience.AuroraRecreatePrimary || !saysAny(r, "over the RTO") {
		t.Errorf("a lone writer must fail the data-tier row and say it is over the RTO: %+v", r)
	}
	if both := row(t, rep, "AZ loss (app tier and writer, same AZ)"); both.OK() || !strings.Contains(both.Problem, "desired count 1") {
		t.Errorf("the same-AZ row inherits its parts' problems: %+v", both)
	}
	rec.Resources = append(rec.Resources,
		res("aws:rds/clusterInstance:ClusterInstance", "aurora-2", map[string]any{"availabilityZone": "us-east-1b"}))
	// 60 s typical + 50 % = 90 s, + 5 s endpoint TTL + 15 s app retry.
	if r := row(t, resilience.Compute(rec), "Aurora writer / AZ loss (data tier)"); !r.OK() || r.Mitigated != 110*time.Second {
		t.Errorf("a reader in another AZ: %+v, want 1m50s within 2m0s", r)
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

// saysAny reports whether one of the row's statements contains s.
func saysAny(r resilience.Row, s string) bool {
	for _, x := range r.Says {
		if strings.Contains(x, s) {
			return true
		}
	}
	return false
}

// figures is one row's detect / mitigated / full.
type figures [3]time.Duration

// paged is one Paged row's detection and first "told".
type paged struct{ detect, told time.Duration }

// TestResilienceBudgetsHoldForEveryStack computes the report from each
// stack file's recording and pins every figure, computed by hand from the
// recorded inputs:
//
//	target group (both stacks, CONTRACT.md section 9): /readyz, interval 5 s,
//	unhealthy 2, timeout 3 s, healthy 2, deregistration 30 s; ALB idle
//	timeout 60 s; service desired 3, surge 200 %, grace 60 s.
//	  out of rotation: 5 x 2 + 3 = 13 s; back: 5 x 2 = 10 s
//	  FargateTaskStart: 90 s (ours, typical) + 50 % = 135 s
//	  task crash / hang: 13 s; in flight 13 + 60 idle = 1m13s; full
//	    13 + 135 + 10 = 2m38s
//	  AZ loss (app tier): 13 s; max(in flight 1m13s, node leaves DNS 60 s +
//	    ALB TTL 60 s = 2m0s) = 2m0s; full 2m38s
//	  bad deployment failing health: breaker after max(3, ceil(3/2)) = 3
//	    tasks, batch 3, 1 round of 135 + 60 + 13 = 3m28s; rollback 135 + 10
//	    + 30 = 2m55s -> 6m23s
//	Aurora (2 instances in 2 AZs dev, 3 in 3 prod): 60 s typical + 50 % =
//	  1m30s; + 5 + 15 = 1m50s
//	same AZ (app tier and writer): detect max(13 s, 1m30s); mitigated
//	  max(2m0s, 1m50s) = 2m0s; budgeted max(13 s, 1m50s) = 1m50s; full 2m38s
//	Route 53 (both): HTTPS every 10 s x 3 + (4 s connect + 2 s response) = 36 s;
//	  alarm-r53-health 2 of 2 x 60 s: 120 + 60 eval = 3 min -> ALARM at 3m36s
//	canary dev: rate(5 minutes), timeout 60 s -> 6 min; alarm-canary-success
//	  1 of 1 x 300 s: (1-1) x 300 + 300 + 60 = 6 min -> ALARM at 12 min
//	canary prod: rate(1 minute), timeout 60 s -> 2 min; 2 of 2 x 60 s:
//	  (2-1) x 60 + 60 + 60 = 3 min -> ALARM at 5 min
//	composite alarm-degraded-<suffix>: suppressor wait 60 s, so each path
//	  pages 1 min after its ALARM: Route 53 4m36s; canary dev 13m, prod 6m.
//	bad deployment passing health: the canary's page + 30 s runbook +
//	  rollback 2m55s: prod 6m + 3m25s = 9m25s; dev 13m + 3m25s = 16m25s
//	  (over the RTO: the row says so)
//	notifying alarms, 2 of 2 x 60 s + 60 s eval = 3 min: gray AZ (zonal),
//	  throttling, running tasks (parameters); the outbox backlog alarm after
//	  its 300 s threshold: 5 + 3 = 8 min; the key sync's 3 of 3 failed
//	  runs every minute: 2 min to the first + (3-1) x 60 + 60 + 60 = 6 min;
//	  the sessions table: the canary's page (conditional alarms at 3 min).
//
// Every row is within budget in both stacks. Any row over budget fails the
// test (the fixture tests hold the flagging itself).
func TestResilienceBudgetsHoldForEveryStack(t *testing.T) {
	common := map[string]figures{
		"task crash / hang":                      {13 * time.Second, 73 * time.Second, 158 * time.Second},
		"AZ loss (app tier)":                     {13 * time.Second, 120 * time.Second, 158 * time.Second},
		"Aurora writer / AZ loss (data tier)":    {90 * time.Second, 110 * time.Second, 110 * time.Second},
		"AZ loss (app tier and writer, same AZ)": {90 * time.Second, 120 * time.Second, 158 * time.Second},
		"bad deployment failing health":          {208 * time.Second, 383 * time.Second, 383 * time.Second},
		"endpoint unreachable (page)":            {216 * time.Second, 276 * time.Second, 276 * time.Second},
	}
	budgeted := map[string]time.Duration{
		"task crash / hang": 13 * time.Second, "AZ loss (app tier)": 13 * time.Second,
		"AZ loss (app tier and writer, same AZ)": 110 * time.Second,
	}
	pagedCommon := map[string]paged{
		"gray AZ (health checks pass)":              {3 * time.Minute, 3 * time.Minute},
		"dependency outage: event bus":              {8 * time.Minute, 8 * time.Minute},
		"dependency outage: parameters (SSM)":       {3 * time.Minute, 3 * time.Minute},
		"dependency outage: issuer keys (key sync)": {6 * time.Minute, 6 * time.Minute},
		"DynamoDB throttling (sessions table)":      {3 * time.Minute, 3 * time.Minute},
	}
	perStack := map[string]map[string]paged{
		"dev": {
			"bad deployment passing health":     {12 * time.Minute, 13 * time.Minute},
			"dependency outage: sessions table": {12 * time.Minute, 13 * time.Minute},
		},
		"prod": {
			"bad deployment passing health":     {5 * time.Minute, 6 * time.Minute},
			"dependency outage: sessions table": {5 * time.Minute, 6 * time.Minute},
		},
	}
	badDeploy := map[string]time.Duration{"dev": 985 * time.Second, "prod": 565 * time.Second}
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
		if len(rep.Rows) != 16 || len(rep.Data) < 4 {
			t.Errorf("report has %d rows and %d data stores; want the 16 failure modes and Aurora, DynamoDB, S3, EventBridge", len(rep.Rows), len(rep.Data))
		}
		for name, want := range common {
			r := row(t, rep, name)
			if got := (figures{r.Detection, r.Mitigated, r.FullRecovery}); got != want {
				t.Errorf("%s: detect/mitigated/full %v, want %v", name, got, want)
			}
			if b, ok := budgeted[name]; ok && r.Budgeted != b {
				t.Errorf("%s: %s %s, want %s", name, r.BudgetOf, r.Budgeted, b)
			}
		}
		for name, want := range pagedCommon {
			if r := row(t, rep, name); r.Detection != want.detect || r.Told != want.told || !r.HumanMitigation {
				t.Errorf("%s: detect %s, told %s, human %v; want %s, %s, a person's mitigation", name, r.Detection, r.Told, r.HumanMitigation, want.detect, want.told)
			}
		}
		for name, want := range perStack[stack] {
			if r := row(t, rep, name); r.Detection != want.detect || r.Told != want.told {
				t.Errorf("%s: detect %s, told %s; want %s, %s", name, r.Detection, r.Told, want.detect, want.told)
			}
		}
		if r := row(t, rep, "bad deployment passing health"); r.Mitigated != badDeploy[stack] {
			t.Errorf("bad deployment passing health: mitigated %s, want %s", r.Mitigated, badDeploy[stack])
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

// TestResilienceOverRTOSaysSo: no row is over the RTO without saying so —
// a computed mitigation over it is named, a person's mitigation is said to
// be unbounded — and every Paged row says who answers.
func TestResilienceOverRTOSaysSo(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		rep := resilience.Compute(rec)
		for _, r := range rep.Rows {
			if (r.HumanMitigation || r.Mitigated > rep.RTO) && !saysAny(r, "RTO") {
				t.Errorf("%s: mitigated %s (human %v) over the RTO %s without saying so: %q", r.Failure, r.Mitigated, r.HumanMitigation, rep.RTO, r.Says)
			}
			if !strings.HasPrefix(r.Answer, "automated") && !strings.HasPrefix(r.Answer, "human, because") {
				t.Errorf("%s: answer %q is neither automated nor \"human, because ...\"", r.Failure, r.Answer)
			}
			if r.HumanMitigation && !strings.Contains(r.Answer, "human, because") {
				t.Errorf("%s: a person's mitigation without \"human, because\": %q", r.Failure, r.Answer)
			}
		}
		// dev's canary runs every 5 minutes: a bad version that passes
		// health is rolled back after 16m25s, and the row says so.
		dep := row(t, rep, "bad deployment passing health")
		if over := saysAny(dep, "mitigated after 16m25s: over the RTO 15m0s"); over != (stack == "dev") {
			t.Errorf("%s: bad deployment passing health says %q; want the over-RTO statement in dev only", stack, dep.Says)
		}
		// The 5-minute page target of dependency outages: the bus, the
		// key sync and (prod 6 min, dev 13 min) the sessions table miss it,
		// and say so.
		for name, told := range map[string]string{"dependency outage: event bus": "8m0s", "dependency outage: issuer keys (key sync)": "6m0s",
			"dependency outage: sessions table": map[string]string{"dev": "13m0s", "prod": "6m0s"}[stack]} {
			if r := row(t, rep, name); !saysAny(r, "first told after "+told+": later than the 5m0s page target") {
				t.Errorf("%s: says %q, want the missed 5-minute page at %s", name, r.Says, told)
			}
		}
		// The breaker's figures hold only for tasks that never pass.
		if r := row(t, rep, "bad deployment failing health"); !saysAny(r, "never pass health") || !saysAny(r, "bad deployment passing health") {
			t.Errorf("bad deployment failing health: says %q, want the reset-on-healthy limit and the row that answers the rest", r.Says)
		}
	})
}

// TestResilienceSaysWhoIsSubscribed: a path ends at an SNS topic; a topic
// with no subscription in the stack tells nobody, and the row says so.
// Both stack files subscribe somebody to notify-<suffix>; prod pages its
// on-call rota, dev pages nobody. A dev without notifyEmails tells nobody
// of a gray AZ.
func TestResilienceSaysWhoIsSubscribed(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		rep := resilience.Compute(rec)
		gray := row(t, rep, "gray AZ (health checks pass)")
		if saysAny(gray, "nobody is subscribed") || gray.Paths[0].Subscribers != 1 {
			t.Errorf("gray AZ: says %q with %d subscriber(s), want the one notifyEmails address", gray.Says, gray.Paths[0].Subscribers)
		}
		page := row(t, rep, "endpoint unreachable (page)")
		if nobody := saysAny(page, "nobody is subscribed to alarms-"+stack); nobody != (stack == "dev") {
			t.Errorf("%s endpoint row says %q: want nobody subscribed to the paging topic in dev only", stack, page.Says)
		}
	})
	rec, err := recordWith(t, "dev", map[string]string{"trading-ha:notifyEmails": "[]", "trading-ha:monthlyBudgetUsd": "0"})
	if err != nil {
		t.Fatal(err)
	}
	if gray := row(t, resilience.Compute(rec), "gray AZ (health checks pass)"); !saysAny(gray, "nobody is subscribed to notify-dev") {
		t.Errorf("without notifyEmails the gray AZ row says %q, want nobody subscribed to notify-dev", gray.Says)
	}
}

// TestResilienceMovesWithStackConfig: the target group's timeout, the
// ALB's idle timeout and the alarm period set in the stack config move the
// computed figures, and the RTO moves the budgets.
func TestResilienceMovesWithStackConfig(t *testing.T) {
	base := row(t, resilience.Compute(record(t, "prod")), "AZ loss (app tier)")
	// The timeout moves the figure; interval and unhealthy threshold too
	// (the drain delay follows them: TestHealthCheckTimingIsChangeable).
	rec, err := recordWith(t, "prod", map[string]string{"trading-ha:healthCheckTimeoutSeconds": "4"})
	if err != nil {
		t.Fatal(err)
	}
	moved := row(t, resilience.Compute(rec), "AZ loss (app tier)")
	if base.Detection != 13*time.Second || moved.Detection != 14*time.Second {
		t.Errorf("AZ-loss detection %s -> %s; want 13s (5s x 2 + timeout 3s) -> 14s (5s x 2 + timeout 4s)", base.Detection, moved.Detection)
	}
	rec, err = recordWith(t, "prod", map[string]string{"trading-ha:healthCheckIntervalSeconds": "10"})
	if err != nil {
		t.Fatal(err)
	}
	if d := row(t, resilience.Compute(rec), "AZ loss (app tier)").Detection; d != 23*time.Second {
		t.Errorf("AZ-loss detection at interval 10 s: %s; want 23s (10s x 2 + timeout 3s)", d)
	}
	rec, err = recordWith(t, "prod", map[string]string{"trading-ha:rtoMinutes": "5"})
	if err != nil {
		t.Fatal(err)
	}
	if dep := row(t, resilience.Compute(rec), "bad deployment failing health"); dep.Budget != 5*time.Minute || dep.OK() {
		t.Errorf("rtoMinutes=5: bad deployment budget %s ok=%v; want 5m0s and 6m23s over it", dep.Budget, dep.OK())
	}
}

// TestResilienceIdleTimeoutMovesInFlight: the recorded ALB idle timeout is
// how long a request caught in flight to a hung target waits. 30 s: the
// hung task's tail is 13 + 30 = 43 s and the AZ row's DNS tail (2m0s)
// dominates; 150 s: the in-flight tail dominates both rows and the same-AZ
// row. Stopping routing (the budgeted figure) does not move.
func TestResilienceIdleTimeoutMovesInFlight(t *testing.T) {
	for idle, want := range map[string][3]time.Duration{
		"30":  {43 * time.Second, 120 * time.Second, 120 * time.Second},
		"150": {163 * time.Second, 163 * time.Second, 163 * time.Second},
	} {
		rec, err := recordWith(t, "prod", map[string]string{"trading-ha:albIdleTimeoutSeconds": idle})
		if err != nil {
			t.Fatal(err)
		}
		rep := resilience.Compute(rec)
		task, app, both := row(t, rep, "task crash / hang"), row(t, rep, "AZ loss (app tier)"), row(t, rep, "AZ loss (app tier and writer, same AZ)")
		if got := [3]time.Duration{task.Mitigated, app.Mitigated, both.Mitigated}; got != want || task.Budgeted != 13*time.Second || !task.OK() {
			t.Errorf("idle %s s: mitigated task/app/same-AZ %v, want %v (stop routing still 13s)", idle, got, want)
		}
	}
}

// TestResilienceAlarmPeriodMovesPagedRows: with 120 s alarm periods every
// notifying alarm needs 2 x 120 s + 60 s: the gray AZ and throttling rows
// are told at 5 min; the Route 53 path pages at 36 s + 5 min + 1 min =
// 6m36s, over the 5-minute page (config accepts it: its rule leaves out the
// evaluation delay and the suppressor wait), and the report is red.
func TestResilienceAlarmPeriodMovesPagedRows(t *testing.T) {
	rec, err := recordWith(t, "prod", map[string]string{"trading-ha:alarmPeriodSeconds": "120"})
	if err != nil {
		t.Fatal(err)
	}
	rep := resilience.Compute(rec)
	for _, name := range []string{"gray AZ (health checks pass)", "DynamoDB throttling (sessions table)"} {
		if r := row(t, rep, name); r.Told != 5*time.Minute {
			t.Errorf("%s: told %s with 120 s periods, want 5m0s", name, r.Told)
		}
	}
	if page := row(t, rep, "endpoint unreachable (page)"); page.OK() || page.Pages != 396*time.Second {
		t.Errorf("endpoint row with 120 s periods: pages %s ok=%v, want 6m36s and red", page.Pages, page.OK())
	}
}

// without returns a copy of rec with the resources drop selects removed
// and the inputs edit changes replaced (the cached recording is shared).
func without(rec *offline.Recording, drop func(*offline.Resource) bool, edit func(*offline.Resource) map[string]any) *offline.Recording {
	out := &offline.Recording{Stack: rec.Stack, Config: rec.Config}
	for _, r := range rec.Resources {
		if drop != nil && drop(r) {
			continue
		}
		if edit != nil {
			if in := edit(r); in != nil {
				c := *r
				c.Inputs = in
				r = &c
			}
		}
		out.Resources = append(out.Resources, r)
	}
	return out
}

// TestResiliencePagedRowsRedWithoutAlarms: a row whose alarm is not
// recorded, or tells nobody, is red, never silently green.
func TestResiliencePagedRowsRedWithoutAlarms(t *testing.T) {
	rec := record(t, "prod")
	named := func(name string) func(*offline.Resource) bool {
		return func(r *offline.Resource) bool { n, _ := r.Input("name").(string); return n == name }
	}
	for _, c := range []struct {
		failure, problem string
		rec              *offline.Recording
	}{
		{"DynamoDB throttling (sessions table)", "no alarm alarm-ddb-sessions-throttles-prod recorded",
			without(rec, named("alarm-ddb-sessions-throttles-prod"), nil)},
		{"gray AZ (health checks pass)", "no alarm alarm-zonal-latency-us-east-1b-prod recorded",
			without(rec, named("alarm-zonal-latency-us-east-1b-prod"), nil)},
		{"dependency outage: issuer keys (key sync)", `no schedule recorded for the state machine`,
			without(rec, func(r *offline.Resource) bool { return r.Type == "aws:scheduler/schedule:Schedule" }, nil)},
		{"dependency outage: event bus", "alarm-outbox-backlog-age-prod has no action and is not in the paging composite: silent",
			without(rec, nil, func(r *offline.Resource) map[string]any {
				if n, _ := r.Input("name").(string); n != "alarm-outbox-backlog-age-prod" {
					return nil
				}
				in := map[string]any{}
				for k, v := range r.Inputs {
					if k != "alarmActions" {
						in[k] = v
					}
				}
				return in
			})},
		{"KMS key disabled or scheduled for deletion", "no rule rule-kms-key-state-prod recorded",
			without(rec, named("rule-kms-key-state-prod"), nil)},
		{"KMS key disabled or scheduled for deletion", "rule rule-kms-key-state-prod has no topic target: silent",
			without(rec, func(r *offline.Resource) bool {
				rule, _ := r.Input("rule").(string)
				return r.Type == "aws:cloudwatch/eventTarget:EventTarget" && rule == "rule-kms-key-state-prod"
			}, nil)},
		{"certificate expiry", "no alarm alarm-cert-expiry-prod recorded",
			without(rec, named("alarm-cert-expiry-prod"), nil)},
		{"runaway cost", "no cost budget recorded",
			without(rec, func(r *offline.Resource) bool { return r.Type == "aws:budgets/budget:Budget" }, nil)},
		{"bad deployment passing health", "no rule starts the service recovery runbook on the composite's ALARM",
			without(rec, func(r *offline.Resource) bool { return r.Type == "aws:cloudwatch/eventTarget:EventTarget" }, nil)},
		{"gray AZ (health checks pass)", "zonal shift is not enabled on the load balancer",
			without(rec, nil, func(r *offline.Resource) map[string]any {
				if r.Type != "aws:lb/loadBalancer:LoadBalancer" {
					return nil
				}
				in := map[string]any{}
				for k, v := range r.Inputs {
					in[k] = v
				}
				in["enableZonalShift"] = false
				return in
			})},
	} {
		if r := row(t, resilience.Compute(c.rec), c.failure); r.OK() || !strings.Contains(r.Problem, c.problem) {
			t.Errorf("%s: ok=%v problem %q, want red with %q", c.failure, r.OK(), r.Problem, c.problem)
		}
	}
}

// TestResilienceModesAPersonAnswers: the failure modes only a person can
// answer are told, for both stacks: a KMS key disabled or scheduled for
// deletion pages through the key-state rule (CloudTrail's event, then the
// rule; our 5-minute assumption), the certificate is paged 14 days ahead,
// and cost is mailed by AWS Budgets within a day.
func TestResilienceModesAPersonAnswers(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		rep := resilience.Compute(rec)
		for failure, w := range map[string]struct {
			told   time.Duration
			action string
		}{
			"KMS key disabled or scheduled for deletion": {resilience.CloudTrailToEventBridge, "page"},
			"certificate expiry":                         {24*time.Hour + resilience.AlarmEvaluationDelay, "notify"},
			"runaway cost":                               {resilience.BudgetRefresh, "notify"},
		} {
			r := row(t, rep, failure)
			if !r.OK() || r.Told != w.told || !r.HumanMitigation {
				t.Errorf("%s: ok=%v told %s (want %s) human=%v problem %q", failure, r.OK(), r.Told, w.told, r.HumanMitigation, r.Problem)
			}
			if len(r.Paths) == 0 || r.Paths[0].Action != w.action {
				t.Errorf("%s: first path %+v, want action %s", failure, r.Paths, w.action)
			}
		}
		cert := row(t, rep, "certificate expiry")
		if len(cert.Paths) != 2 || cert.Paths[1].Action != "page" {
			t.Errorf("certificate expiry paths %+v, want the notice and the page", cert.Paths)
		}
	})
}

// TestResilienceBreakerResetAndQuorum: the circuit breaker's statement
// follows the recorded resetOnHealthyTask, and the Route 53 path's
// condition follows the recorded checker regions (unhealthy only when 18 %
// or fewer report healthy: all of 3 regions, 7 of 8).
func TestResilienceBreakerResetAndQuorum(t *testing.T) {
	rec := appTier(10, 2, 5, 3)
	for _, r := range rec.Resources {
		if r.Type == "aws:ecs/service:Service" {
			r.Inputs["deploymentCircuitBreaker"] = map[string]any{"enable": true, "rollback": true, "resetOnHealthyTask": false}
		}
	}
	if r := row(t, resilience.Compute(rec), "bad deployment failing health"); !saysAny(r, "failures accumulate") || saysAny(r, "never pass health") {
		t.Errorf("resetOnHealthyTask false: says %q, want failures that accumulate", r.Says)
	}
	r53 := alarm("alarm-r53-health-t", "HealthCheckStatus", 60, 2, 2)
	canary := alarm("alarm-canary-success-t", "SuccessPercent", 60, 2, 2)
	for regions, want := range map[int]string{3: "at least 3 of its 3 checker regions", 8: "at least 7 of its 8 checker regions"} {
		rec := edge(r53, canary, `ALARM("alarm-canary-success-t") OR ALARM("alarm-r53-health-t")`, 60)
		names := []any{"us-east-1", "us-west-1", "us-west-2", "eu-west-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "sa-east-1"}[:regions]
		rec.Resources[0].Inputs["regions"] = names
		p := row(t, resilience.Compute(rec), "endpoint unreachable (page)").Paths[0]
		if p.Name != "Route 53" || !strings.Contains(p.Condition, want) || p.Detect != 36*time.Second {
			t.Errorf("%d regions: Route 53 path %+v, want the condition %q and the 36s bound", regions, p, want)
		}
	}
}

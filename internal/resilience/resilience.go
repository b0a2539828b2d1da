// Package resilience computes the platform's recovery figures from a
// recorded stack: for each failure mode of GUIDE section 4 the worst-case
// detection and recovery time from the program's real inputs (health-check
// intervals and thresholds, alarm periods, canary schedule, deployment
// settings), and each data store's recovery point for an AZ loss and for a
// logical corruption. The offline plan prints the report; the mock suite
// fails when a row exceeds its budget. AWS service times the program cannot
// set are named constants with their source (docs/resilience.md).
package resilience

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/internal/offline"
)

// Service times AWS documents or we assume; docs/resilience.md cites them.
const (
	// AuroraFailover: promoting a reader, detection included. Aurora User
	// Guide, "Fault tolerance for an Aurora DB cluster": service typically
	// restored in under 60 seconds (30 s typical for the API-driven failover).
	AuroraFailover = 60 * time.Second
	// AuroraRecreatePrimary: no reader to promote; Aurora creates a new
	// primary instance, typically in under 10 minutes (same source).
	AuroraRecreatePrimary = 10 * time.Minute
	// ClusterEndpointTTL: Aurora endpoints' DNS TTL is 5 seconds.
	ClusterEndpointTTL = 5 * time.Second
	// AppReconnectBudget: the reference service's bounded retry (app/internal/retry: 15 s).
	AppReconnectBudget = 15 * time.Second
	// FargateTaskStart: scheduling, ENI attachment, image pull and app start
	// of a Fargate task. AWS publishes no bound; 90 s is our assumption, to
	// be measured on the game day (docs/gameday.md).
	FargateTaskStart = 90 * time.Second
	// AlarmEvaluationDelay: CloudWatch evaluates alarms about a minute after
	// the period closes for standard-resolution metrics.
	AlarmEvaluationDelay = 60 * time.Second
	// PITRLag: Aurora and DynamoDB point-in-time recovery trail the present
	// by up to about five minutes (LatestRestorableTime / LatestRestorableDateTime).
	PITRLag = 5 * time.Minute
)

// Row is one failure mode's figures.
type Row struct {
	Failure string
	// Detection is the worst case until the failure is noticed.
	Detection time.Duration
	// Mitigated is the worst case until customers are served again (the
	// figure the budget bounds).
	Mitigated time.Duration
	// FullRecovery is the worst case until full capacity is back.
	FullRecovery time.Duration
	Budget       time.Duration
	// Basis shows the inputs the figures come from.
	Basis   string
	Problem string
}

// OK reports whether the row has its inputs and fits its budget.
func (r Row) OK() bool { return r.Problem == "" && r.Mitigated <= r.Budget }

// RPORow is one data store's recovery point.
type RPORow struct {
	Store      string
	Resource   string
	AZLoss     time.Duration
	Corruption time.Duration
	Budget     time.Duration
	Basis      string
	Problem    string
}

// OK reports whether both recovery points fit the budget.
func (r RPORow) OK() bool {
	return r.Problem == "" && r.AZLoss == 0 && r.Corruption <= r.Budget
}

// Report is the whole computation for one stack.
type Report struct {
	Stack string
	RTO   time.Duration
	RPO   time.Duration
	Rows  []Row
	Data  []RPORow
}

// Failing lists every row that is over budget or lacks inputs.
func (r Report) Failing() []string {
	var out []string
	for _, row := range r.Rows {
		if !row.OK() {
			out = append(out, fmt.Sprintf("%s: %s (budget %s) %s", row.Failure, row.Mitigated, row.Budget, row.Problem))
		}
	}
	for _, d := range r.Data {
		if !d.OK() {
			out = append(out, fmt.Sprintf("RPO %s: AZ loss %s, corruption %s (budget %s) %s", d.Store, d.AZLoss, d.Corruption, d.Budget, d.Problem))
		}
	}
	return out
}

// Compute derives the report from a recorded stack.
func Compute(rec *offline.Recording) Report {
	in := newInputs(rec)
	rep := Report{Stack: rec.Stack, RTO: in.minutes("rtoMinutes", 15), RPO: in.minutes("rpoMinutes", 5)}
	budget := func(d time.Duration) time.Duration { return min(d, rep.RTO) }
	rep.Rows = []Row{
		in.taskFailure(budget(60 * time.Second)),
		in.azLossApp(budget(60 * time.Second)),
		in.auroraFailover(budget(2 * time.Minute)),
		in.badDeployment(budget(15 * time.Minute)),
		in.unreachable(budget(5 * time.Minute)),
	}
	rep.Data = in.dataStores(rep.RPO)
	return rep
}

// --- inputs ---

type inputs struct {
	rec *offline.Recording
}

func newInputs(rec *offline.Recording) inputs { return inputs{rec: rec} }

func (in inputs) minutes(key string, def int) time.Duration {
	if v, ok := in.rec.Config[config.Project+":"+key]; ok {
		if n, err := strconv.Atoi(v); err == nil {
			return time.Duration(n) * time.Minute
		}
	}
	return time.Duration(def) * time.Minute
}

func (in inputs) first(typ string) *offline.Resource {
	if rs := in.rec.ByType(typ); len(rs) > 0 {
		return rs[0]
	}
	return nil
}

func num(r *offline.Resource, path string) (float64, bool) {
	switch v := r.Input(path).(type) {
	case float64:
		return v, true
	case string:
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil
	}
	return 0, false
}

func secs(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// targetHealth is the ALB's view of a target: checks every interval, a
// target is out after unhealthy consecutive failures, back after healthy.
type targetHealth struct {
	interval, timeout, unhealthy, healthy, deregistration float64
}

func (in inputs) targetGroup() (targetHealth, string) {
	tg := in.first("aws:lb/targetGroup:TargetGroup")
	if tg == nil {
		return targetHealth{}, "no target group recorded"
	}
	var th targetHealth
	var ok [4]bool
	th.interval, ok[0] = num(tg, "healthCheck.interval")
	th.unhealthy, ok[1] = num(tg, "healthCheck.unhealthyThreshold")
	th.healthy, ok[2] = num(tg, "healthCheck.healthyThreshold")
	th.timeout, ok[3] = num(tg, "healthCheck.timeout")
	th.deregistration, _ = num(tg, "deregistrationDelay")
	for _, o := range ok {
		if !o {
			return th, "target group health check lacks interval, thresholds or timeout"
		}
	}
	return th, ""
}

// outAfter is the worst case until the ALB stops routing to a dead target:
// the failing checks (the last may take its full timeout).
func (th targetHealth) outAfter() time.Duration {
	return secs(th.interval*(th.unhealthy-1) + th.timeout)
}

func (th targetHealth) inAfter() time.Duration { return secs(th.interval * th.healthy) }

func (th targetHealth) basis() string {
	return fmt.Sprintf("target group interval %.0fs x unhealthy %.0f (timeout %.0fs), healthy %.0f", th.interval, th.unhealthy, th.timeout, th.healthy)
}

func (in inputs) taskFailure(budget time.Duration) Row {
	row := Row{Failure: "task crash / hang", Budget: budget}
	th, problem := in.targetGroup()
	if problem != "" {
		row.Problem = problem
		return row
	}
	row.Detection = th.outAfter()
	row.Mitigated = row.Detection
	row.FullRecovery = row.Detection + FargateTaskStart + th.inAfter()
	row.Basis = th.basis() + fmt.Sprintf("; replacement task start %s", FargateTaskStart)
	return row
}

func (in inputs) azLossApp(budget time.Duration) Row {
	row := Row{Failure: "AZ loss (app tier)", Budget: budget}
	th, problem := in.targetGroup()
	if problem != "" {
		row.Problem = problem
		return row
	}
	svc := in.first("aws:ecs/service:Service")
	lb := in.first("aws:lb/loadBalancer:LoadBalancer")
	switch {
	case svc == nil || lb == nil:
		row.Problem = "no ECS service or load balancer recorded"
		return row
	case len(listAt(svc, "networkConfiguration.subnets")) < 3 || len(listAt(lb, "subnets")) < 3:
		row.Problem = "service or load balancer not in three AZs"
	}
	if d, _ := num(svc, "desiredCount"); d < 2 {
		row.Problem = fmt.Sprintf("desired count %.0f leaves no healthy task when one AZ goes", d)
	}
	row.Detection = th.outAfter()
	row.Mitigated = row.Detection
	row.FullRecovery = row.Detection + FargateTaskStart + th.inAfter()
	row.Basis = th.basis() + "; tasks in 3 AZs, ALB cross-zone"
	return row
}

func listAt(r *offline.Resource, path string) []any {
	l, _ := r.Input(path).([]any)
	return l
}

func (in inputs) auroraFailover(budget time.Duration) Row {
	row := Row{Failure: "Aurora writer / AZ loss (data tier)", Budget: budget}
	instances := in.rec.ByType("aws:rds/clusterInstance:ClusterInstance")
	if len(instances) == 0 {
		row.Problem = "no Aurora instances recorded"
		return row
	}
	azs := map[string]bool{}
	for _, i := range instances {
		if az, ok := i.Inputs["availabilityZone"].(string); ok {
			azs[az] = true
		}
	}
	failover := AuroraFailover
	row.Basis = fmt.Sprintf("%d instances in %d AZs: promote a reader (%s), endpoint TTL %s, app retry %s",
		len(instances), len(azs), AuroraFailover, ClusterEndpointTTL, AppReconnectBudget)
	if len(instances) < 2 || len(azs) < 2 {
		failover = AuroraRecreatePrimary
		row.Basis = fmt.Sprintf("no reader in another AZ: Aurora recreates the primary (%s)", AuroraRecreatePrimary)
	}
	row.Detection = failover
	row.Mitigated = failover + ClusterEndpointTTL + AppReconnectBudget
	row.FullRecovery = row.Mitigated
	return row
}

func (in inputs) badDeployment(budget time.Duration) Row {
	row := Row{Failure: "bad deployment", Budget: budget}
	th, problem := in.targetGroup()
	svc := in.first("aws:ecs/service:Service")
	if problem != "" || svc == nil {
		row.Problem = strings.TrimSpace(problem + " no ECS service recorded")
		return row
	}
	if enabled, _ := lookupBool(svc, "deploymentCircuitBreaker.enable"); !enabled {
		row.Problem = "deployment circuit breaker off"
	}
	if rollback, _ := lookupBool(svc, "deploymentCircuitBreaker.rollback"); !rollback {
		row.Problem = "circuit breaker does not roll back"
	}
	desired, _ := num(svc, "desiredCount")
	grace, _ := num(svc, "healthCheckGracePeriodSeconds")
	maxPct, ok := num(svc, "deploymentMaximumPercent")
	if !ok {
		maxPct = 200
	}
	// ECS: the breaker trips after ceil(0.5 x desired) failed tasks, at least
	// 3 and at most 200; new tasks start in batches of the surge capacity.
	threshold := math.Max(3, math.Min(200, math.Ceil(0.5*desired)))
	batch := math.Max(1, math.Floor(desired*(maxPct-100)/100))
	rounds := math.Ceil(threshold / batch)
	perRound := FargateTaskStart + secs(grace) + th.outAfter()
	rollback := FargateTaskStart + th.inAfter() + secs(th.deregistration)
	row.Detection = time.Duration(rounds) * perRound
	row.Mitigated = row.Detection + rollback
	row.FullRecovery = row.Mitigated
	row.Basis = fmt.Sprintf("breaker after %.0f failed tasks in %.0f round(s) of %.0f (start %s + grace %.0fs + %s), rollback %s",
		threshold, rounds, batch, FargateTaskStart, grace, th.outAfter(), rollback)
	return row
}

func lookupBool(r *offline.Resource, path string) (bool, bool) {
	b, ok := r.Input(path).(bool)
	return b, ok
}

var rate = regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours)\)$`)

// alarmOn returns the alarm watching a metric and its time to fire.
func (in inputs) alarmOn(metric string) (time.Duration, string, bool) {
	for _, a := range in.rec.ByType("aws:cloudwatch/metricAlarm:MetricAlarm") {
		if a.Inputs["metricName"] != metric {
			continue
		}
		period, ok1 := num(a, "period")
		evals, ok2 := num(a, "evaluationPeriods")
		if !ok1 || !ok2 {
			continue
		}
		d := secs(period*evals) + AlarmEvaluationDelay
		return d, fmt.Sprintf("alarm %s %.0fs x %.0f", metric, period, evals), true
	}
	return 0, "", false
}

func (in inputs) unreachable(budget time.Duration) Row {
	row := Row{Failure: "endpoint unreachable (page)", Budget: budget}
	var paths []time.Duration
	var basis []string
	if hc := in.first("aws:route53/healthCheck:HealthCheck"); hc != nil {
		interval, ok1 := num(hc, "requestInterval")
		threshold, ok2 := num(hc, "failureThreshold")
		if alarm, b, ok := in.alarmOn("HealthCheckStatus"); ok && ok1 && ok2 {
			d := secs(interval*threshold) + alarm
			paths = append(paths, d)
			basis = append(basis, fmt.Sprintf("Route 53 %.0fs x %.0f + %s = %s", interval, threshold, b, d))
		}
	}
	if c := in.first("aws:synthetics/canary:Canary"); c != nil {
		expr, _ := lookupString(c, "schedule.expression")
		timeout, _ := num(c, "runConfig.timeoutInSeconds")
		if m := rate.FindStringSubmatch(expr); m != nil {
			n, _ := strconv.Atoi(m[1])
			every := time.Duration(n) * time.Minute
			if strings.HasPrefix(m[2], "hour") {
				every = time.Duration(n) * time.Hour
			}
			if alarm, b, ok := in.alarmOn("SuccessPercent"); ok {
				d := every + secs(timeout) + alarm
				paths = append(paths, d)
				basis = append(basis, fmt.Sprintf("canary every %s + run %.0fs + %s = %s", every, timeout, b, d))
			}
		}
	}
	if len(paths) == 0 {
		row.Problem = "no Route 53 health check or canary with a paging alarm recorded"
		return row
	}
	// The first path to fire pages; each path's own figure is worst case.
	best := paths[0]
	for _, p := range paths[1:] {
		best = min(best, p)
	}
	row.Detection, row.Mitigated, row.FullRecovery = best, best, best
	row.Basis = strings.Join(basis, "; ")
	return row
}

func lookupString(r *offline.Resource, path string) (string, bool) {
	s, ok := r.Input(path).(string)
	return s, ok
}

// --- data ---

func (in inputs) dataStores(budget time.Duration) []RPORow {
	var out []RPORow
	clusters := in.rec.ByType("aws:rds/cluster:Cluster")
	for _, c := range clusters {
		row := RPORow{Store: "Aurora", Resource: c.Name, Budget: budget, Corruption: PITRLag,
			Basis: "6 storage copies across 3 AZs, quorum writes; PITR from automated backups"}
		if days, _ := num(c, "backupRetentionPeriod"); days < 1 {
			row.Problem = "automated backups off: no PITR"
		}
		out = append(out, row)
	}
	if len(clusters) == 0 {
		out = append(out, RPORow{Store: "Aurora", Budget: budget, Problem: "no Aurora cluster recorded"})
	}
	for _, t := range in.rec.ByType("aws:dynamodb/table:Table") {
		row := RPORow{Store: "DynamoDB", Resource: t.Name, Budget: budget, Corruption: PITRLag,
			Basis: "synchronous replication across 3 AZs; PITR"}
		if on, _ := lookupBool(t, "pointInTimeRecovery.enabled"); !on {
			row.Problem = "PITR off"
			row.Corruption = 24 * time.Hour
		}
		out = append(out, row)
	}
	for _, b := range in.rec.ByType("aws:s3/bucketV2:BucketV2") {
		if !strings.HasPrefix(b.Name, "data") {
			continue
		}
		row := RPORow{Store: "S3", Resource: b.Name, Budget: budget,
			Basis: "objects stored across 3+ AZs; every overwritten or deleted version kept (versioning)"}
		versioned := false
		for _, v := range in.rec.ByType("aws:s3/bucketVersioningV2:BucketVersioningV2") {
			s, _ := lookupString(v, "versioningConfiguration.status")
			versioned = versioned || (v.Inputs["bucket"] == b.ID && s == "Enabled")
		}
		if !versioned {
			row.Problem = "versioning off"
			row.Corruption = 24 * time.Hour
		}
		out = append(out, row)
	}
	for _, bus := range in.rec.ByType("aws:cloudwatch/eventBus:EventBus") {
		row := RPORow{Store: "EventBridge", Resource: bus.Name, Budget: budget,
			Basis: "regional service; every event archived and replayable"}
		if len(in.rec.ByType("aws:cloudwatch/eventArchive:EventArchive")) == 0 {
			row.Problem = "no archive: events cannot be replayed"
		}
		out = append(out, row)
	}
	return out
}

// Table renders the report for the offline plan.
func (r Report) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "resilience of stack %q (RTO budget %s, RPO budget %s)\n", r.Stack, r.RTO, r.RPO)
	fmt.Fprintf(&b, "  %-36s %10s %10s %10s %8s  %s\n", "failure", "detect", "mitigated", "full", "budget", "status / basis")
	for _, row := range r.Rows {
		status := "ok"
		if !row.OK() {
			status = "OVER " + row.Problem
		}
		fmt.Fprintf(&b, "  %-36s %10s %10s %10s %8s  %s: %s\n", row.Failure, row.Detection, row.Mitigated, row.FullRecovery, row.Budget, status, row.Basis)
	}
	fmt.Fprintf(&b, "  %-36s %10s %10s %8s  %s\n", "data store (RPO)", "AZ loss", "corrupt", "budget", "status / basis")
	for _, d := range r.Data {
		status := "ok"
		if !d.OK() {
			status = "OVER " + d.Problem
		}
		fmt.Fprintf(&b, "  %-36s %10s %10s %8s  %s: %s\n", d.Store+" "+d.Resource, d.AZLoss, d.Corruption, d.Budget, status, d.Basis)
	}
	return b.String()
}

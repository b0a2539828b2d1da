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
// tests/resilience_test.go pins every value (a zeroed constant fails it).
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
	// AlarmEvaluationDelay: a standard-resolution metric alarm "evaluates
	// the metric every minute" (AWS Knowledge Center, "Why did my CloudWatch
	// alarm trigger when its metric doesn't have any breaching data
	// points?", https://repost.aws/knowledge-center/cloudwatch-trigger-metric),
	// so the evaluation that first sees a closed period comes up to a
	// minute after the period closes.
	AlarmEvaluationDelay = 60 * time.Second
	// Route53ConnectTimeout and Route53ResponseTimeout: an HTTP(S) health
	// checker "must be able to establish a TCP connection with the endpoint
	// within four seconds. In addition, the endpoint must respond with an
	// HTTP status code of 2xx or 3xx within two seconds after connecting"
	// (Route 53 Developer Guide, "How Amazon Route 53 determines whether a
	// health check is healthy", dns-failover-determining-health-of-endpoints).
	// A failing HTTPS check therefore takes up to 4 s + 2 s.
	Route53ConnectTimeout  = 4 * time.Second
	Route53ResponseTimeout = 2 * time.Second
	// Route53BodyTimeout: string-matching checks must also receive the body
	// "within the next two seconds" (same page).
	Route53BodyTimeout = 2 * time.Second
	// Route53TCPConnectTimeout: TCP checks must connect "within ten seconds"
	// (same page).
	Route53TCPConnectTimeout = 10 * time.Second
	// PITRLag: Aurora and DynamoDB point-in-time recovery trail the present
	// by up to about five minutes (LatestRestorableTime / LatestRestorableDateTime).
	PITRLag = 5 * time.Minute
)

// CompositeAlarmLogicalName is the Pulumi logical name of the paging
// composite (infra/monitoring: aws:cloudwatch/compositeAlarm:CompositeAlarm
// "degraded", physical name alarm-degraded-<suffix>).
const CompositeAlarmLogicalName = "degraded"

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
	// Pager is the composite member alarm whose path fires first ("" when
	// the failure does not page); Pages is when the composite then pages,
	// its actions-suppressor wait included.
	Pager string
	Pages time.Duration
	// Paths are the alarm paths the row relies on, each with its own
	// worst case; any path over the RTO makes the row a Problem.
	Paths []Path
}

// Path is one detection path: a signal (Route 53, canary) feeding a member
// alarm of the paging composite.
type Path struct {
	// Name is the signal ("Route 53", "canary").
	Name string
	// Alarm is the member alarm's physical name.
	Alarm string
	// Detect is the worst case until the signal itself sees the failure
	// (the health check is unhealthy, a canary run has failed).
	Detect time.Duration
	// AlarmAt is when the member alarm reaches ALARM; PagesAt is when the
	// composite's actions run (AlarmAt + the suppressor wait).
	AlarmAt, PagesAt time.Duration
	// Member reports whether the composite's rule names the alarm.
	Member bool
	Basis  string
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

// CapacityRow is one static-stability figure: what is left serving when
// one AZ is lost, before any new capacity starts (AWS Builders' Library,
// "Static stability using Availability Zones": the surviving zones must
// carry the load without the control plane adding capacity).
type CapacityRow struct {
	Name string
	// Load is the share of each survivor's capacity the load takes
	// (percent); Limit is the most it may take.
	Load, Limit float64
	Basis       string
	Problem     string
}

// OK reports whether the survivors carry the load.
func (c CapacityRow) OK() bool { return c.Problem == "" && c.Load <= c.Limit }

// Report is the whole computation for one stack.
type Report struct {
	Stack    string
	RTO      time.Duration
	RPO      time.Duration
	Rows     []Row
	Data     []RPORow
	Capacity []CapacityRow
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
	for _, c := range r.Capacity {
		if !c.OK() {
			out = append(out, fmt.Sprintf("capacity %s: %.0f%% of %.0f%% %s", c.Name, c.Load, c.Limit, c.Problem))
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
		in.unreachable(budget(5*time.Minute), rep.RTO),
	}
	rep.Data = in.dataStores(rep.RPO)
	rep.Capacity = in.capacity()
	return rep
}

// capacity is the static stability of the app tier, at the autoscaling
// floor and ceiling, when the worst AZ is lost (config.SurvivorCPU, from
// the recorded subnets, bounds and CPU target): the survivors' CPU must
// stay at or below 100 % until ECS starts replacements (FargateTaskStart)
// and the policy scales out. The data tier's is the Aurora row: a reader in
// another AZ to promote, else the 10-minute recreation puts it over budget.
func (in inputs) capacity() []CapacityRow {
	svc := in.first("aws:ecs/service:Service")
	var target, cpu *offline.Resource
	for _, t := range in.rec.ByType("aws:appautoscaling/target:Target") {
		if ns, _ := lookupString(t, "serviceNamespace"); ns == "ecs" {
			target = t // not Aurora's replica target
		}
	}
	for _, p := range in.rec.ByType("aws:appautoscaling/policy:Policy") {
		if m, _ := lookupString(p, "targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType"); m == "ECSServiceAverageCPUUtilization" {
			cpu = p
		}
	}
	var out []CapacityRow
	if svc == nil || target == nil || cpu == nil {
		return []CapacityRow{{Name: "app tier, one AZ lost", Limit: 100, Problem: "no ECS service, scalable target or CPU target-tracking policy recorded"}}
	}
	zones := len(listAt(svc, "networkConfiguration.subnets"))
	t, _ := num(cpu, "targetTrackingScalingPolicyConfiguration.targetValue")
	floor, _ := num(target, "minCapacity")
	ceiling, _ := num(target, "maxCapacity")
	for _, c := range []struct {
		name string
		n    float64
	}{{"app tier, one AZ lost at the autoscaling floor", floor}, {"app tier, one AZ lost at the autoscaling ceiling", ceiling}} {
		row := CapacityRow{Name: c.name, Limit: 100}
		n := int(c.n)
		if zones < 2 || n < 1 {
			row.Problem = fmt.Sprintf("%d tasks in %d AZs", n, zones)
			out = append(out, row)
			continue
		}
		load, survivors := config.SurvivorCPU(int(t), n, zones)
		worst := n - survivors
		if survivors < 1 {
			row.Problem = fmt.Sprintf("%d tasks in %d AZs: none left", n, zones)
			out = append(out, row)
			continue
		}
		row.Load = load
		row.Basis = fmt.Sprintf("%d tasks over %d AZs, worst AZ holds %d: CPU target %.0f%% x %d / %d survivors", n, zones, worst, t, n, survivors)
		out = append(out, row)
	}
	return out
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

// outAfter is the worst case until the ALB stops routing to a target that
// hangs right after passing a check: the next check comes an interval
// later, and the target is out when the unhealthy-th consecutive check has
// used its whole timeout, interval x unhealthy + timeout. ELB User Guide
// for Application Load Balancers, "Health checks for your target groups":
// a request every HealthCheckIntervalSeconds, no response within
// HealthCheckTimeoutSeconds is a failure, and the target is taken out of
// service after UnhealthyThresholdCount consecutive failures.
func (th targetHealth) outAfter() time.Duration {
	return secs(th.interval*th.unhealthy + th.timeout)
}

func (th targetHealth) inAfter() time.Duration { return secs(th.interval * th.healthy) }

func (th targetHealth) basis() string {
	return fmt.Sprintf("target group interval %.0fs x unhealthy %.0f + timeout %.0fs, healthy %.0f", th.interval, th.unhealthy, th.timeout, th.healthy)
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

// metricAlarm is a recorded metric alarm's evaluation settings.
type metricAlarm struct {
	name                            string
	period, evaluations, datapoints float64
}

// alarmOn returns the recorded alarm watching a metric. Without
// datapointsToAlarm an alarm needs evaluationPeriods consecutive breaching
// datapoints (PutMetricAlarm: EvaluationPeriods is that number unless
// DatapointsToAlarm makes it "M out of N").
func (in inputs) alarmOn(metric string) (metricAlarm, bool) {
	for _, a := range in.rec.ByType("aws:cloudwatch/metricAlarm:MetricAlarm") {
		if a.Inputs["metricName"] != metric {
			continue
		}
		period, ok1 := num(a, "period")
		evals, ok2 := num(a, "evaluationPeriods")
		if !ok1 || !ok2 {
			continue
		}
		dta, ok := num(a, "datapointsToAlarm")
		if !ok || dta < 1 {
			dta = evals
		}
		name, _ := lookupString(a, "name")
		return metricAlarm{name: name, period: period, evaluations: evals, datapoints: dta}, true
	}
	return metricAlarm{}, false
}

// everyPeriod is the worst case from the first breaching sample to ALARM
// for a metric with a datapoint every period: the sample may land at the
// start of a period, so D breaching datapoints close D periods later (M of
// N: only M = datapointsToAlarm must breach), and the evaluation that sees
// the last one runs up to AlarmEvaluationDelay after.
func (a metricAlarm) everyPeriod() time.Duration {
	return secs(a.period*a.datapoints) + AlarmEvaluationDelay
}

// perRun is the same for a canary, which publishes one datapoint per run
// (CloudWatch User Guide, "CloudWatch metrics published by canaries":
// SuccessPercent is the percentage of runs that succeed): the D-th failing
// run publishes (D-1) runs after the first, and its period closes up to a
// period later: (D-1) x interval + period, then the evaluation delay.
func (a metricAlarm) perRun(interval time.Duration) time.Duration {
	return time.Duration(a.datapoints-1)*interval + secs(a.period) + AlarmEvaluationDelay
}

func (a metricAlarm) basis() string {
	return fmt.Sprintf("%s %.0f of %.0f x %.0fs", a.name, a.datapoints, a.evaluations, a.period)
}

// composite is the recorded paging composite alarm.
type composite struct {
	name, rule string
	// wait is the actions suppressor's WaitPeriod: when a member goes to
	// ALARM while the suppressor is OK, the composite goes to ALARM but its
	// actions are "suppressed because the composite alarm is waiting for
	// the suppressor alarm to go into the ALARM state. The maximum waiting
	// time is as specified in ActionsSuppressorWaitPeriod. After this time,
	// the composite alarm performs its actions" (CloudWatch API Reference,
	// CompositeAlarm, ActionsSuppressedBy). In a real outage the suppressor
	// stays OK, so the page always waits the whole period.
	wait  time.Duration
	found bool
}

func (in inputs) composite() composite {
	for _, c := range in.rec.ByType("aws:cloudwatch/compositeAlarm:CompositeAlarm") {
		if c.Key != CompositeAlarmLogicalName && c.Name != CompositeAlarmLogicalName {
			continue
		}
		out := composite{found: true}
		out.name, _ = lookupString(c, "alarmName")
		out.rule, _ = lookupString(c, "alarmRule")
		if w, ok := num(c, "actionsSuppressor.waitPeriod"); ok {
			out.wait = secs(w)
		}
		return out
	}
	return composite{}
}

// member reports whether the rule ORs ALARM(name) in. A composite goes to
// ALARM as soon as a member does: "When any of those alarms goes into the
// ALARM state, the composite alarm goes itself in the ALARM state"
// (CloudWatch User Guide, "Composite alarms", alarm-combining); AWS
// documents no delay of its own for that re-evaluation.
func (c composite) member(alarm string) bool {
	if alarm == "" {
		return false
	}
	re := regexp.MustCompile(`ALARM\(\s*"?` + regexp.QuoteMeta(alarm) + `"?\s*\)`)
	return re.MatchString(c.rule)
}

// route53CheckTimeout is how long one failing check of the type takes at
// most (Route 53 Developer Guide, "How Amazon Route 53 determines whether a
// health check is healthy").
func route53CheckTimeout(typ string) (time.Duration, bool) {
	switch typ {
	case "HTTP", "HTTPS":
		return Route53ConnectTimeout + Route53ResponseTimeout, true
	case "HTTP_STR_MATCH", "HTTPS_STR_MATCH":
		return Route53ConnectTimeout + Route53ResponseTimeout + Route53BodyTimeout, true
	case "TCP":
		return Route53TCPConnectTimeout, true
	}
	return 0, false
}

func (in inputs) route53Path() (Path, bool) {
	hc := in.first("aws:route53/healthCheck:HealthCheck")
	if hc == nil {
		return Path{}, false
	}
	interval, ok1 := num(hc, "requestInterval")
	threshold, ok2 := num(hc, "failureThreshold")
	typ, _ := lookupString(hc, "type")
	check, ok3 := route53CheckTimeout(typ)
	a, ok4 := in.alarmOn("HealthCheckStatus")
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return Path{}, false
	}
	// A failure right after a passing check: the next check comes a
	// request interval later, and the failureThreshold-th failing check
	// ends when its timeouts run out.
	p := Path{Name: "Route 53", Alarm: a.name, Detect: secs(interval*threshold) + check}
	p.AlarmAt = p.Detect + a.everyPeriod()
	p.Basis = fmt.Sprintf("Route 53 %s every %.0fs x %.0f + check %s = %s; alarm %s + eval %s = %s",
		typ, interval, threshold, check, p.Detect, a.basis(), AlarmEvaluationDelay, p.AlarmAt)
	return p, true
}

func (in inputs) canaryPath() (Path, bool) {
	c := in.first("aws:synthetics/canary:Canary")
	if c == nil {
		return Path{}, false
	}
	expr, _ := lookupString(c, "schedule.expression")
	timeout, ok1 := num(c, "runConfig.timeoutInSeconds")
	m := rate.FindStringSubmatch(expr)
	a, ok2 := in.alarmOn("SuccessPercent")
	if m == nil || !ok1 || !ok2 {
		return Path{}, false
	}
	n, _ := strconv.Atoi(m[1])
	every := time.Duration(n) * time.Minute
	if strings.HasPrefix(m[2], "hour") {
		every = time.Duration(n) * time.Hour
	}
	// A failure right after a run started and passed: the next run starts
	// an interval later and may hang until its timeout.
	p := Path{Name: "canary", Alarm: a.name, Detect: every + secs(timeout)}
	p.AlarmAt = p.Detect + a.perRun(every)
	p.Basis = fmt.Sprintf("canary every %s + run %.0fs = %s; alarm %s: (%.0f-1) x %s + %.0fs + eval %s = %s",
		every, timeout, p.Detect, a.basis(), a.datapoints, every, a.period, AlarmEvaluationDelay, p.AlarmAt)
	return p, true
}

func (in inputs) unreachable(budget, rto time.Duration) Row {
	row := Row{Failure: "endpoint unreachable (page)", Budget: budget}
	comp := in.composite()
	var problems []string
	if !comp.found {
		problems = append(problems, fmt.Sprintf("no paging composite alarm %q recorded", CompositeAlarmLogicalName))
	}
	for _, f := range []func() (Path, bool){in.route53Path, in.canaryPath} {
		if p, ok := f(); ok {
			row.Paths = append(row.Paths, p)
		}
	}
	if len(row.Paths) == 0 {
		row.Problem = strings.Join(append(problems, "no Route 53 health check or canary with an alarm recorded"), "; ")
		return row
	}
	var first *Path
	for i := range row.Paths {
		p := &row.Paths[i]
		p.Member = comp.found && comp.member(p.Alarm)
		p.PagesAt = p.AlarmAt + comp.wait
		if !p.Member {
			problems = append(problems, fmt.Sprintf("%s alarm %s is not in the paging composite's rule", p.Name, p.Alarm))
			continue
		}
		if p.PagesAt > rto {
			problems = append(problems, fmt.Sprintf("%s path pages after %s, over the RTO %s", p.Name, p.PagesAt, rto))
		}
		if first == nil || p.PagesAt < first.PagesAt {
			first = p
		}
	}
	if first == nil {
		row.Problem = strings.Join(problems, "; ")
		return row
	}
	// The composite is in ALARM (and EventBridge sees its state change) when
	// the first member is; it pages once the suppressor wait has passed.
	row.Pager, row.Pages = first.Alarm, first.PagesAt
	row.Detection, row.Mitigated, row.FullRecovery = first.AlarmAt, first.PagesAt, first.PagesAt
	if row.Pages > budget {
		problems = append(problems, fmt.Sprintf("first page after %s (%s path, suppressor wait %s), over the %s budget", row.Pages, first.Name, comp.wait, budget))
	}
	row.Problem = strings.Join(problems, "; ")
	row.Basis = fmt.Sprintf("pages via %s at %s (composite %s, suppressor wait %s)", first.Alarm, first.PagesAt, comp.name, comp.wait)
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
		if !strings.HasPrefix(b.Key, "data") && !strings.HasPrefix(b.Name, "data") {
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
	fmt.Fprintf(&b, "  %-36s %10s %10s %10s %8s  %s\n", "  (paging path)", "signal", "alarm", "pages", "RTO", "basis")
	for _, row := range r.Rows {
		status := "ok"
		if !row.OK() {
			status = "OVER " + row.Problem
		}
		fmt.Fprintf(&b, "  %-36s %10s %10s %10s %8s  %s: %s\n", row.Failure, row.Detection, row.Mitigated, row.FullRecovery, row.Budget, status, row.Basis)
		for _, p := range row.Paths {
			member := "member of the composite"
			if !p.Member {
				member = "NOT in the composite's rule"
			}
			fmt.Fprintf(&b, "    path %-31s %10s %10s %10s %8s  %s (%s)\n", p.Name, p.Detect, p.AlarmAt, p.PagesAt, r.RTO, p.Basis, member)
		}
	}
	fmt.Fprintf(&b, "  %-36s %10s %10s %8s  %s\n", "data store (RPO)", "AZ loss", "corrupt", "budget", "status / basis")
	for _, d := range r.Data {
		status := "ok"
		if !d.OK() {
			status = "OVER " + d.Problem
		}
		fmt.Fprintf(&b, "  %-36s %10s %10s %8s  %s: %s\n", d.Store+" "+d.Resource, d.AZLoss, d.Corruption, d.Budget, status, d.Basis)
	}
	fmt.Fprintf(&b, "  %-52s %8s %8s  %s\n", "static stability (one AZ lost, no new capacity yet)", "load", "limit", "status / basis")
	for _, c := range r.Capacity {
		status := "ok"
		if !c.OK() {
			status = "OVER " + c.Problem
		}
		fmt.Fprintf(&b, "  %-52s %7.0f%% %7.0f%%  %s: %s\n", c.Name, c.Load, c.Limit, status, c.Basis)
	}
	return b.String()
}

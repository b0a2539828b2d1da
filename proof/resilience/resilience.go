// Package resilience computes the platform's recovery figures from a
// recorded stack: for each failure mode (docs/resilience.md, "Failure modes
// and budgets") the worst-case detection and recovery time from the
// program's real inputs (health-check intervals and thresholds, the load
// balancer's idle timeout, alarm periods, canary schedule, deployment
// settings), when a person is told and who answers, and each data store's
// recovery point for an AZ loss and for a logical corruption. The offline plan prints the report; the mock suite
// fails when a row is red. AWS service times the program cannot set are
// named constants with their source and whether AWS documents them as a
// bound or only as typical (docs/resilience.md); a typical figure is used
// with a stated margin, never as a worst case on its own.
package resilience

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// TypicalMarginPercent is the margin added to a figure documented (or
// assumed) only as typical, so that the report can use it as a worst case:
// 50 %, our assumption. AWS publishes no worst case for any of these
// figures. With a 100 % margin the Aurora row would be 2m20s, over its
// 2-minute budget (docs/resilience.md, "The constants and their sources").
const TypicalMarginPercent = 50

// Service times AWS documents or we assume; docs/resilience.md cites them.
// tests/resilience_test.go pins every value (a zeroed constant fails it).
const (
	// AuroraFailoverTypical: promoting a reader, detection included. Aurora
	// User Guide, "High availability for Amazon Aurora", section "Fault
	// tolerance for an Aurora DB cluster": "service is typically restored
	// in less than 60 seconds, and often less than 30 seconds". Typical,
	// not a bound.
	AuroraFailoverTypical = 60 * time.Second
	// AuroraFailover is the worst case the report uses: the typical figure
	// plus TypicalMarginPercent.
	AuroraFailover = AuroraFailoverTypical + AuroraFailoverTypical*TypicalMarginPercent/100
	// AuroraRecreatePrimaryTypical: no reader to promote; Aurora recreates
	// the primary, "which typically takes less than 10 minutes" (same
	// section). Typical, not a bound.
	AuroraRecreatePrimaryTypical = 10 * time.Minute
	// AuroraRecreatePrimary is its worst case with the margin.
	AuroraRecreatePrimary = AuroraRecreatePrimaryTypical + AuroraRecreatePrimaryTypical*TypicalMarginPercent/100
	// ClusterEndpointTTL: "Aurora DNS zones use a short Time-To-Live (TTL)
	// of five seconds" (Amazon Aurora MySQL Database Administrator's
	// Handbook, "DNS caching"). A setting of Aurora's records, so a bound
	// for a resolver that honours it (the service resolves through the VPC
	// resolver and caches nothing itself).
	ClusterEndpointTTL = 5 * time.Second
	// AppReconnectBudget: ours, a bound set by code: the reference
	// service's retry gives a request up after 15 s (app/internal/retry,
	// Default.Budget), so a request in flight across the endpoint's flip is
	// answered within it.
	AppReconnectBudget = 15 * time.Second
	// FargateTaskStartTypical: scheduling, ENI attachment, image pull and
	// app start of a Fargate task. AWS publishes no figure (the Amazon ECS
	// Best Practices Guide, "Speeding up task launch", lists the steps,
	// not their time): 90 s is our assumption of a typical start, to be
	// measured on the game day (docs/gameday.md).
	FargateTaskStartTypical = 90 * time.Second
	// FargateTaskStart is its worst case with the margin.
	FargateTaskStart = FargateTaskStartTypical + FargateTaskStartTypical*TypicalMarginPercent/100
	// AlarmEvaluationDelay: a standard-resolution metric alarm "evaluates
	// the metric every minute" (AWS Knowledge Center, "Why did my CloudWatch
	// alarm trigger when its metric doesn't have any breaching data
	// points?", https://repost.aws/knowledge-center/cloudwatch-trigger-metric),
	// so the evaluation that first sees a closed period comes up to a
	// minute after the period closes. A bound.
	AlarmEvaluationDelay = 60 * time.Second
	// Route53ConnectTimeout and Route53ResponseTimeout: an HTTP(S) health
	// checker "must be able to establish a TCP connection with the endpoint
	// within four seconds. In addition, the endpoint must respond with an
	// HTTP status code of 2xx or 3xx within two seconds after connecting"
	// (Route 53 Developer Guide, "How Amazon Route 53 determines whether a
	// health check is healthy", dns-failover-determining-health-of-endpoints).
	// A failing HTTPS check therefore takes up to 4 s + 2 s. Bounds.
	Route53ConnectTimeout  = 4 * time.Second
	Route53ResponseTimeout = 2 * time.Second
	// Route53BodyTimeout: string-matching checks must also receive the body
	// "within the next two seconds" (same page). A bound.
	Route53BodyTimeout = 2 * time.Second
	// Route53TCPConnectTimeout: TCP checks must connect "within ten seconds"
	// (same page). A bound.
	Route53TCPConnectTimeout = 10 * time.Second
	// ALBDNSTTL: the load balancer's DNS name: "The DNS entry also
	// specifies the time-to-live (TTL) of 60 seconds" (ELB User Guide, "How
	// Elastic Load Balancing works", request routing). An alias record to
	// the load balancer takes the same TTL (Route 53 Developer Guide,
	// "Choosing between alias and non-alias records": an alias to an AWS
	// resource uses the resource's TTL). A setting, so a bound for a client
	// that honours it.
	ALBDNSTTL = 60 * time.Second
	// ALBDefaultIdleTimeout: "By default, ELB sets the idle timeout value
	// for your load balancer to 60 seconds" (ELB User Guide for Application
	// Load Balancers, "Edit attributes for your Application Load Balancer",
	// connection idle timeout). Used only when the recording has none.
	ALBDefaultIdleTimeout = 60 * time.Second
	// ALBNodeDNSRemoval: how long after an AZ is lost its load balancer
	// node's address leaves the load balancer's DNS record. AWS documents
	// no time for it: 60 s is our assumption.
	ALBNodeDNSRemoval = 60 * time.Second
	// RunbookReaction: from the composite's ALARM to the recovery runbook's
	// UpdateService (EventBridge delivery, the lock, DescribeServices,
	// DescribeAlarms, the deployment history, each one API call). AWS
	// documents no latency for these: 30 s is our assumption.
	RunbookReaction = 30 * time.Second
	// PITRLag: Aurora and DynamoDB point-in-time recovery trail the present
	// by "typically" five minutes (LatestRestorableTime /
	// LatestRestorableDateTime). Typical, not a bound, and used without the
	// margin: the RPO model is outside the RTO review that added the margin
	// (docs/resilience.md says what changes with it).
	PITRLag = 5 * time.Minute
)

// Route53HealthyQuorumPercent: Route 53 considers an endpoint healthy "If
// more than 18% of health checkers report that an endpoint is healthy" and
// unhealthy when 18 % or fewer do (Route 53 Developer Guide, "How Amazon
// Route 53 determines whether a health check is healthy"). A documented
// rule ("This value might change in a future release").
const Route53HealthyQuorumPercent = 18

// PageTarget is the paging target of the endpoint and dependency rows
// (docs/resilience.md, "Failure modes and budgets": "< 5 min").
const PageTarget = 5 * time.Minute

// CompositeAlarmLogicalName is the Pulumi logical name of the paging
// composite (infra/monitoring: aws:cloudwatch/compositeAlarm:CompositeAlarm
// "degraded", physical name alarm-degraded-<suffix>).
const CompositeAlarmLogicalName = "degraded"

// Kind says how a failure mode is answered.
type Kind int

const (
	// Automated: the platform answers without a person. The budget bounds
	// the figure BudgetOf names; over it the row is red.
	Automated Kind = iota
	// Paged: an alarm tells a person (a page, or a notification) and the
	// answer follows: a runbook's, or the person's. The budget bounds Told;
	// a row whose alarms are not recorded, or that tells nobody, is red.
	// New rows of this kind are one pagedSpec each (paged.go).
	Paged
)

// Row is one failure mode's figures.
type Row struct {
	Failure string
	Kind    Kind
	// Answer is who answers: "automated: ..." or "human, because ...".
	Answer string
	// Detection is the worst case until the failure is noticed (a target
	// out of rotation, an alarm in ALARM).
	Detection time.Duration
	// Mitigated is the worst case until every customer is served again,
	// requests caught in flight included.
	Mitigated time.Duration
	// FullRecovery is the worst case until full capacity is back.
	FullRecovery time.Duration
	// HumanMitigation marks a row whose mitigation is a person's (or the
	// failing dependency's owner's): Mitigated and FullRecovery are not
	// computed, and the row says so.
	HumanMitigation bool
	// Budget bounds Budgeted, the figure BudgetOf names (the failure-mode
	// table's wording: "stop routing", "mitigated", "page", "told").
	Budget   time.Duration
	BudgetOf string
	Budgeted time.Duration
	// Told is when a person is first told (Paged rows): the page or the
	// notification of the first path that fires on every instance of the
	// failure.
	Told time.Duration
	// Basis shows the inputs the figures come from.
	Basis   string
	Problem string
	// Says is what the row states about itself that a reader must not
	// miss: a figure over the RTO, a target missed, a topic nobody
	// is subscribed to, a path that fires only in some shapes of the
	// failure. Every row over the RTO says so here.
	Says []string
	// Pager is the composite member alarm whose path fires first ("" when
	// the failure does not page); Pages is when the composite then pages,
	// its actions-suppressor wait included.
	Pager string
	Pages time.Duration
	// Paths are the alarm paths the row relies on, each with its own
	// worst case.
	Paths []Path
}

// Path is one detection path: a signal (Route 53, canary, a metric) and
// the alarm that turns it into a page or a notification.
type Path struct {
	// Name is the signal ("Route 53", "canary", "sessions system errors").
	Name string
	// Alarm is the alarm's physical name.
	Alarm string
	// Detect is the worst case until the signal itself sees the failure
	// (the health check is unhealthy, a canary run has failed, the metric
	// first breaches).
	Detect time.Duration
	// AlarmAt is when the alarm reaches ALARM; PagesAt is when a person is
	// told through the path: the composite's page (AlarmAt + the
	// suppressor wait) for a composite member, the alarm's own action
	// (AlarmAt) otherwise.
	AlarmAt, PagesAt time.Duration
	// Member reports whether the paging composite's rule names the alarm.
	Member bool
	// Action is how the path reaches a person: "page" (through the paging
	// composite, or an alarm acting on the paging topic), "notify" (an
	// alarm acting on another topic) or "" (no action: silent).
	Action string
	// Topic is the SNS topic the path reaches; Subscribers how many
	// subscriptions the stack records for it.
	Topic       string
	Subscribers int
	// Condition, when set, is the shape of the failure the path needs to
	// fire; a path without one fires on every instance of its row.
	Condition string
	Basis     string
}

// OK reports whether the row has its inputs and fits its budget.
func (r Row) OK() bool { return r.Problem == "" && r.Budgeted <= r.Budget }

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
			out = append(out, fmt.Sprintf("%s: %s %s (budget %s) %s", row.Failure, row.BudgetOf, row.Budgeted, row.Budget, row.Problem))
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

// Said lists, per row, what the row says about itself (Row.Says).
func (r Report) Said() map[string][]string {
	out := map[string][]string{}
	for _, row := range r.Rows {
		if len(row.Says) > 0 {
			out[row.Failure] = row.Says
		}
	}
	return out
}

// Compute derives the report from a recorded stack.
func Compute(rec *offline.Recording) Report {
	in := newInputs(rec)
	rep := Report{Stack: rec.Stack, RTO: in.minutes("rtoMinutes", 15), RPO: in.minutes("rpoMinutes", 5)}
	budget := func(d time.Duration) time.Duration { return min(d, rep.RTO) }
	app := in.azLossApp(budget(60 * time.Second))
	aurora := in.auroraFailover(budget(2 * time.Minute))
	rep.Rows = []Row{
		in.taskFailure(budget(60 * time.Second)),
		app,
		aurora,
		azLossAppAndWriter(app, aurora, budget(2*time.Minute)),
		in.badDeployment(budget(15 * time.Minute)),
		in.badDeploymentPassingHealth(budget(15*time.Minute), rep.RTO),
		in.unreachable(budget(PageTarget), rep.RTO),
		in.grayAZ(rep.RTO),
	}
	for _, s := range pagedRows {
		rep.Rows = append(rep.Rows, in.paged(s, rep.RTO))
	}
	for i := range rep.Rows {
		rep.Rows[i].sayOverRTO(rep.RTO)
	}
	rep.Data = in.dataStores(rep.RPO)
	rep.Capacity = in.capacity()
	return rep
}

// sayOverRTO makes every row over the RTO say so: a mitigation that is a
// person's is unbounded here, a computed one over the RTO is named.
func (r *Row) sayOverRTO(rto time.Duration) {
	switch {
	case r.HumanMitigation:
		r.Says = append(r.Says, fmt.Sprintf("mitigation is a person's (see the answer): the platform does not bound it, and it may take longer than the RTO %s", rto))
	case r.Mitigated > rto:
		r.Says = append(r.Says, fmt.Sprintf("mitigated after %s: over the RTO %s", r.Mitigated, rto))
	}
}

// capacity is the static stability of the app tier, at the autoscaling
// floor and ceiling, when the worst AZ is lost (config.SurvivorCPU, from
// the recorded subnets, bounds and CPU target): the survivors' CPU must
// stay at or below 100 % until ECS starts replacements (FargateTaskStart)
// and the policy scales out. The data tier's is the Aurora row: a reader in
// another AZ to promote, else the recreation puts it over budget.
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

// suffix is the stack's environmentSuffix (every physical name ends with
// it), the stack name when the recording has none.
func (in inputs) suffix() string {
	if v := in.rec.Config[config.Project+":environmentSuffix"]; v != "" {
		return v
	}
	return in.rec.Stack
}

func (in inputs) first(typ string) *offline.Resource {
	if rs := in.rec.ByType(typ); len(rs) > 0 {
		return rs[0]
	}
	return nil
}

func num(r *offline.Resource, path string) (float64, bool) {
	return number(r.Input(path))
}

func number(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case int:
		return float64(v), true
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

// idleTimeout is the recorded load balancer's idle timeout: a request the
// load balancer has sent to a target that does not answer waits that long
// for a 504 ("The load balancer established a connection to the target but
// the target didn't respond before the idle timeout period elapsed": AWS
// Knowledge Center, "How do I troubleshoot 504 errors returned while using
// an Application Load Balancer?"). Without a recorded value, ELB's
// documented default.
func (in inputs) idleTimeout() (time.Duration, string) {
	if lb := in.first("aws:lb/loadBalancer:LoadBalancer"); lb != nil {
		if v, ok := num(lb, "idleTimeout"); ok {
			return secs(v), fmt.Sprintf("ALB idle timeout %.0fs", v)
		}
	}
	return ALBDefaultIdleTimeout, fmt.Sprintf("ALB idle timeout not recorded: ELB default %s", ALBDefaultIdleTimeout)
}

func (in inputs) taskFailure(budget time.Duration) Row {
	row := Row{Failure: "task crash / hang", Kind: Automated, Budget: budget, BudgetOf: "stop routing",
		Answer: "automated: the ALB stops routing to the task and ECS replaces it"}
	th, problem := in.targetGroup()
	if problem != "" {
		row.Problem = problem
		return row
	}
	idle, idleBasis := in.idleTimeout()
	row.Detection = th.outAfter()
	row.Budgeted = row.Detection
	// A crashed task's connections reset at once (the ALB answers 502); a
	// hung one's do not: the request the ALB sent it just before it left
	// rotation waits the idle timeout for the ALB's 504.
	row.Mitigated = row.Detection + idle
	row.FullRecovery = max(row.Mitigated, row.Detection+FargateTaskStart+th.inAfter())
	row.Basis = th.basis() + fmt.Sprintf("; a request in flight to a hung task waits the %s for a 504; replacement task start %s", idleBasis, FargateTaskStart)
	return row
}

func (in inputs) azLossApp(budget time.Duration) Row {
	row := Row{Failure: "AZ loss (app tier)", Kind: Automated, Budget: budget, BudgetOf: "stop routing",
		Answer: "automated: the ALB stops routing to the lost AZ's targets, its node there leaves DNS, and ECS starts tasks in the other AZs"}
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
	idle, idleBasis := in.idleTimeout()
	row.Detection = th.outAfter()
	row.Budgeted = row.Detection
	// Two tails after routing stops: requests in flight to the lost AZ's
	// targets wait the idle timeout, and clients that resolved the ALB's
	// name to the lost AZ's node keep trying it until it has left DNS and
	// their cached answer has expired.
	inFlight := row.Detection + idle
	dns := ALBNodeDNSRemoval + ALBDNSTTL
	row.Mitigated = max(inFlight, dns)
	row.FullRecovery = max(row.Mitigated, row.Detection+FargateTaskStart+th.inAfter())
	row.Basis = th.basis() + fmt.Sprintf("; tasks in 3 AZs, ALB cross-zone; in flight to the lost AZ: + %s = %s; clients holding the lost node's address: node leaves DNS %s (our assumption) + ALB DNS TTL %s = %s; replacement task start %s",
		idleBasis, inFlight, ALBNodeDNSRemoval, ALBDNSTTL, dns, FargateTaskStart)
	return row
}

func listAt(r *offline.Resource, path string) []any {
	l, _ := r.Input(path).([]any)
	return l
}

func (in inputs) auroraFailover(budget time.Duration) Row {
	row := Row{Failure: "Aurora writer / AZ loss (data tier)", Kind: Automated, Budget: budget, BudgetOf: "mitigated",
		Answer: "automated: Aurora promotes a reader in another AZ; the service reconnects through the cluster endpoint and its tasks stay in service"}
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
	row.Basis = fmt.Sprintf("%d instances in %d AZs: promote a reader (AWS: typically %s, + %d%% = %s), endpoint TTL %s, app retry %s",
		len(instances), len(azs), AuroraFailoverTypical, TypicalMarginPercent, AuroraFailover, ClusterEndpointTTL, AppReconnectBudget)
	if len(instances) < 2 || len(azs) < 2 {
		failover = AuroraRecreatePrimary
		row.Basis = fmt.Sprintf("no reader in another AZ: Aurora recreates the primary (AWS: typically %s, + %d%% = %s)", AuroraRecreatePrimaryTypical, TypicalMarginPercent, AuroraRecreatePrimary)
	}
	row.Detection = failover
	row.Mitigated = failover + ClusterEndpointTTL + AppReconnectBudget
	row.FullRecovery = row.Mitigated
	row.Budgeted = row.Mitigated
	return row
}

// azLossAppAndWriter is the AZ that holds the writer lost with its tasks:
// both rows run at once. The budget (the data tier's) bounds the lost AZ
// out of rotation with the writer back and the service reconnected;
// mitigated is the later of the two rows' mitigated, the app row's
// in-flight and DNS tails included.
func azLossAppAndWriter(app, aurora Row, budget time.Duration) Row {
	row := Row{Failure: "AZ loss (app tier and writer, same AZ)", Kind: Automated, Budget: budget,
		BudgetOf: "out of rotation, writer back, app reconnected",
		Answer:   "automated: both rows' answers at once; the tasks in the other AZs ride the failover on their retry and stay in service"}
	var problems []string
	for _, r := range []Row{app, aurora} {
		if r.Problem != "" {
			problems = append(problems, r.Failure+": "+r.Problem)
		}
	}
	row.Problem = strings.Join(problems, "; ")
	row.Detection = max(app.Detection, aurora.Detection)
	row.Budgeted = max(app.Budgeted, aurora.Mitigated)
	row.Mitigated = max(app.Mitigated, aurora.Mitigated)
	// The replacement tasks start in the other AZs while the writer fails
	// over; their start waits for the schema check against the new writer.
	row.FullRecovery = max(app.FullRecovery, aurora.FullRecovery)
	row.Basis = fmt.Sprintf("max of the app row (out of rotation %s, mitigated %s) and the data row (mitigated %s); replacement tasks wait for the new writer inside their start",
		app.Detection, app.Mitigated, aurora.Mitigated)
	return row
}

// breakerThreshold is ECS's: the breaker trips after ceil(0.5 x desired)
// failed tasks, at least 3 and at most 200 (ECS Developer Guide, "How the
// Amazon ECS deployment circuit breaker detects failures",
// BOUNDED_PERCENT, the default).
func breakerThreshold(desired float64) float64 {
	return math.Max(3, math.Min(200, math.Ceil(0.5*desired)))
}

// rollback is the worst case from a rollback's UpdateService until the
// previous version serves alone: its tasks start, pass the healthy
// threshold, and the bad ones drain.
func rollback(th targetHealth) time.Duration {
	return FargateTaskStart + th.inAfter() + secs(th.deregistration)
}

func (in inputs) badDeployment(budget time.Duration) Row {
	row := Row{Failure: "bad deployment failing health", Kind: Automated, Budget: budget, BudgetOf: "mitigated",
		Answer: "automated: the deployment circuit breaker rolls back to the last completed deployment"}
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
	// New tasks start in batches of the surge capacity.
	threshold := breakerThreshold(desired)
	batch := math.Max(1, math.Floor(desired*(maxPct-100)/100))
	rounds := math.Ceil(threshold / batch)
	perRound := FargateTaskStart + secs(grace) + th.outAfter()
	back := rollback(th)
	row.Detection = time.Duration(rounds) * perRound
	row.Mitigated = row.Detection + back
	row.FullRecovery = row.Mitigated
	row.Budgeted = row.Mitigated
	row.Basis = fmt.Sprintf("breaker after %.0f failed tasks in %.0f round(s) of %.0f (start %s + grace %.0fs + %s), rollback %s",
		threshold, rounds, batch, FargateTaskStart, grace, th.outAfter(), back)
	// The breaker counts failures; whether a healthy task resets the count
	// is resetOnHealthyTask, true unless the service sets it (the same
	// guide: "The failure count resets to 0 each time a task reaches a
	// healthy state").
	if reset, set := lookupBool(svc, "deploymentCircuitBreaker.resetOnHealthyTask"); !set || reset {
		row.Says = append(row.Says, "the breaker's count resets whenever a task of the deployment reaches healthy (resetOnHealthyTask, ECS's default): these figures hold for a version whose tasks never pass health; one whose tasks sometimes pass may never trip it, and the row \"bad deployment passing health\" (canary, paging composite, recovery runbook) answers it")
	} else {
		row.Says = append(row.Says, "resetOnHealthyTask is false: failures accumulate over the deployment, so the figures hold for any mix of passing and failing tasks")
	}
	return row
}

func lookupBool(r *offline.Resource, path string) (bool, bool) {
	b, ok := r.Input(path).(bool)
	return b, ok
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

// --- table ---

// dur prints a row figure: "human" for a person's mitigation, "-" for none.
func dur(d time.Duration, human bool) string {
	switch {
	case human:
		return "human"
	case d == 0:
		return "-"
	}
	return d.String()
}

// Table renders the report for the offline plan.
func (r Report) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "resilience of stack %q (RTO budget %s, RPO budget %s)\n", r.Stack, r.RTO, r.RPO)
	fmt.Fprintf(&b, "  %-42s %9s %9s %9s %9s  %s\n", "failure", "detect", "mitigated", "full", "told", "budget: status")
	fmt.Fprintf(&b, "    %-40s %9s %9s %9s  %s\n", "(path)", "signal", "alarm", "told", "how it reaches a person; basis")
	for _, row := range r.Rows {
		status := "ok"
		switch {
		case !row.OK():
			status = "OVER " + row.Problem
		case len(row.Says) > 0:
			status = "ok, and it SAYS:"
		}
		told := "-"
		if row.Kind == Paged {
			told = row.Told.String()
		}
		fmt.Fprintf(&b, "  %-42s %9s %9s %9s %9s  %s %s <= %s: %s\n", row.Failure, dur(row.Detection, false),
			dur(row.Mitigated, row.HumanMitigation), dur(row.FullRecovery, row.HumanMitigation), told,
			row.BudgetOf, row.Budgeted, row.Budget, status)
		fmt.Fprintf(&b, "      answer: %s\n", row.Answer)
		if row.Basis != "" {
			fmt.Fprintf(&b, "      basis: %s\n", row.Basis)
		}
		for _, s := range row.Says {
			fmt.Fprintf(&b, "      SAYS: %s\n", s)
		}
		for _, p := range row.Paths {
			fmt.Fprintf(&b, "    path %-35s %9s %9s %9s  %s; %s\n", p.Name, p.Detect, p.AlarmAt, dur(p.PagesAt, false), p.reach(), p.Basis)
		}
	}
	fmt.Fprintf(&b, "  %-42s %9s %9s %9s  %s\n", "data store (RPO)", "AZ loss", "corrupt", "budget", "status / basis")
	for _, d := range r.Data {
		status := "ok"
		if !d.OK() {
			status = "OVER " + d.Problem
		}
		fmt.Fprintf(&b, "  %-42s %9s %9s %9s  %s: %s\n", d.Store+" "+d.Resource, d.AZLoss, d.Corruption, d.Budget, status, d.Basis)
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

// reach says how the path reaches a person.
func (p Path) reach() string {
	var s string
	switch {
	case p.Member:
		s = "pages through the composite to " + p.Topic
	case p.Action == "page":
		s = "pages " + p.Topic
	case p.Action == "notify":
		s = "notifies " + p.Topic
	default:
		return "SILENT: no alarm action, not in the paging composite"
	}
	if p.Subscribers == 0 {
		s += " (NOBODY SUBSCRIBED)"
	} else {
		s += fmt.Sprintf(" (%d subscription(s))", p.Subscribers)
	}
	if p.Condition != "" {
		s += "; only when " + p.Condition
	}
	return s
}

var rate = regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours)\)$`)

// every parses a rate(...) schedule expression.
func every(expr string) (time.Duration, bool) {
	m := rate.FindStringSubmatch(expr)
	if m == nil {
		return 0, false
	}
	n, _ := strconv.Atoi(m[1])
	if strings.HasPrefix(m[2], "hour") {
		return time.Duration(n) * time.Hour, true
	}
	return time.Duration(n) * time.Minute, true
}

package resilience

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/trading-ha/trading-ha/infra/asl"
	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/monitoring"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// --- alarms ---

// metricAlarm is a recorded metric alarm's evaluation settings and where
// its actions go.
type metricAlarm struct {
	name                                       string
	period, evaluations, datapoints, threshold float64
	// actions are the SNS topic names of its alarmActions.
	actions []string
	// stateMachine is its StateMachineArn dimension, if any.
	stateMachine string
}

// readAlarm reads a recorded metric alarm: a plain one's period, or a
// metric-math one's (the period of the metrics its queries read). Without
// datapointsToAlarm an alarm needs evaluationPeriods consecutive breaching
// datapoints (PutMetricAlarm: EvaluationPeriods is that number unless
// DatapointsToAlarm makes it "M out of N").
func readAlarm(a *offline.Resource) (metricAlarm, bool) {
	period, ok1 := num(a, "period")
	if !ok1 {
		for _, q := range listAt(a, "metricQueries") {
			m, _ := q.(map[string]any)
			metric, _ := m["metric"].(map[string]any)
			if p, ok := number(metric["period"]); ok {
				period, ok1 = max(period, p), true
			}
		}
	}
	evals, ok2 := num(a, "evaluationPeriods")
	if !ok1 || !ok2 {
		return metricAlarm{}, false
	}
	dta, ok := num(a, "datapointsToAlarm")
	if !ok || dta < 1 {
		dta = evals
	}
	out := metricAlarm{period: period, evaluations: evals, datapoints: dta}
	out.name, _ = lookupString(a, "name")
	out.threshold, _ = num(a, "threshold")
	out.stateMachine, _ = lookupString(a, "dimensions.StateMachineArn")
	for _, arn := range listAt(a, "alarmActions") {
		if s, ok := arn.(string); ok {
			out.actions = append(out.actions, s[strings.LastIndex(s, ":")+1:])
		}
	}
	return out, true
}

// alarmOn returns the recorded alarm watching a metric.
func (in inputs) alarmOn(metric string) (metricAlarm, bool) {
	for _, a := range in.rec.ByType("aws:cloudwatch/metricAlarm:MetricAlarm") {
		if a.Inputs["metricName"] != metric {
			continue
		}
		if m, ok := readAlarm(a); ok {
			return m, true
		}
	}
	return metricAlarm{}, false
}

// alarmName is the physical name of the alarm with a naming key
// (infra/monitoring: alarm-<key>-<suffix>).
func (in inputs) alarmName(key string) string { return "alarm-" + key + "-" + in.suffix() }

// alarmNamed returns the recorded alarm with a naming key.
func (in inputs) alarmNamed(key string) (metricAlarm, bool) {
	name := in.alarmName(key)
	for _, a := range in.rec.ByType("aws:cloudwatch/metricAlarm:MetricAlarm") {
		if n, _ := lookupString(a, "name"); n == name {
			return readAlarm(a)
		}
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

// perRun is the same for a metric with one datapoint per scheduled run (a
// canary, CloudWatch User Guide, "CloudWatch metrics published by
// canaries": SuccessPercent is the percentage of runs that succeed; a
// state machine's ExecutionsFailed): the D-th failing run publishes (D-1)
// runs after the first, and its period closes up to a period later:
// (D-1) x interval + period, then the evaluation delay.
func (a metricAlarm) perRun(interval time.Duration) time.Duration {
	return time.Duration(a.datapoints-1)*interval + secs(a.period) + AlarmEvaluationDelay
}

func (a metricAlarm) basis() string {
	return fmt.Sprintf("%s %.0f of %.0f x %.0fs", a.name, a.datapoints, a.evaluations, a.period)
}

// composite is the recorded paging composite alarm.
type composite struct {
	name, rule string
	// topics are the SNS topics its actions page.
	topics []string
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
		for _, arn := range listAt(c, "alarmActions") {
			if s, ok := arn.(string); ok {
				out.topics = append(out.topics, s[strings.LastIndex(s, ":")+1:])
			}
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

// subscribers counts the stack's recorded subscriptions to a topic.
func (in inputs) subscribers(topic string) int {
	n := 0
	for _, s := range in.rec.ByType("aws:sns/topicSubscription:TopicSubscription") {
		if arn, _ := lookupString(s, "topic"); topic != "" && strings.HasSuffix(arn, ":"+topic) {
			n++
		}
	}
	return n
}

// reach sets how a path's alarm tells a person: through the paging
// composite (its page waits the suppressor), or by its own action on the
// paging topic (a page) or another topic (a notification); with neither
// it tells nobody.
func (in inputs) reach(p *Path, a metricAlarm, comp composite) {
	switch {
	case comp.found && comp.member(a.name):
		p.Member, p.Action, p.PagesAt = true, "page", p.AlarmAt+comp.wait
		if len(comp.topics) > 0 {
			p.Topic = comp.topics[0]
		}
	case len(a.actions) > 0:
		p.Action, p.Topic, p.PagesAt = "notify", a.actions[0], p.AlarmAt
		for _, t := range a.actions {
			if slices.Contains(comp.topics, t) {
				p.Action, p.Topic = "page", t
			}
		}
	default:
		p.Action, p.PagesAt = "", 0
	}
	p.Subscribers = in.subscribers(p.Topic)
}

// alarmPath is the path of one alarm: the signal breaches lead after the
// failure, then the alarm needs its datapoints (one per period, or one per
// run every interval when interval > 0).
func (in inputs) alarmPath(name string, a metricAlarm, comp composite, lead time.Duration, leadBasis string, interval time.Duration) Path {
	p := Path{Name: name, Alarm: a.name, Detect: lead}
	formula := fmt.Sprintf("%s + eval %s", a.basis(), AlarmEvaluationDelay)
	alarm := a.everyPeriod()
	if interval > 0 {
		alarm = a.perRun(interval)
		formula = fmt.Sprintf("%s: (%.0f-1) x %s + %.0fs + eval %s", a.basis(), a.datapoints, interval, a.period, AlarmEvaluationDelay)
	}
	p.AlarmAt = lead + alarm
	in.reach(&p, a, comp)
	if leadBasis != "" {
		leadBasis = fmt.Sprintf("%s: %s; ", leadBasis, lead)
	}
	p.Basis = fmt.Sprintf("%salarm %s = %s, in ALARM at %s", leadBasis, formula, alarm, p.AlarmAt)
	return p
}

// --- the paging edge: Route 53 and the canary ---

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

// quorumRegions is how many of n checker regions must see the endpoint
// fail before Route 53 calls it unhealthy: it is unhealthy once 18 % or
// fewer of the checkers report healthy, so with the checkers spread evenly
// over n regions at most floor(0.18 n) regions may still see it healthy.
// AWS does not document how many checkers each region runs; even spread is
// our assumption.
func quorumRegions(n int) int {
	return n - int(math.Floor(float64(n)*Route53HealthyQuorumPercent/100))
}

func (in inputs) route53Path(comp composite) (Path, bool) {
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
	// A failure right after a passing check: a checker's next check comes a
	// request interval later, and its failureThreshold-th failing check
	// ends when its timeouts run out. The checkers do not coordinate
	// ("Route 53 health checkers in different data centers don't
	// coordinate with one another", same page), and the endpoint turns
	// unhealthy only when the quorum has failed: the slowest of those
	// checkers, each within the same bound.
	p := Path{Name: "Route 53", Alarm: a.name, Detect: secs(interval*threshold) + check}
	p.AlarmAt = p.Detect + a.everyPeriod()
	in.reach(&p, a, comp)
	quorum := "the checker regions AWS picks by default"
	if n := len(listAt(hc, "regions")); n > 0 {
		need := quorumRegions(n)
		quorum = fmt.Sprintf("%d of its %d checker regions", need, n)
		p.Condition = fmt.Sprintf("the endpoint fails from at least %s (unhealthy only when %d%% or fewer of the checkers report healthy)", quorum, Route53HealthyQuorumPercent)
	}
	p.Basis = fmt.Sprintf("Route 53 %s every %.0fs x %.0f + check %s = %s, each checker on its own, unhealthy when %s see it; alarm %s + eval %s = %s",
		typ, interval, threshold, check, p.Detect, quorum, a.basis(), AlarmEvaluationDelay, p.AlarmAt)
	return p, true
}

func (in inputs) canaryPath(comp composite) (Path, bool) {
	c := in.first("aws:synthetics/canary:Canary")
	if c == nil {
		return Path{}, false
	}
	expr, _ := lookupString(c, "schedule.expression")
	timeout, ok1 := num(c, "runConfig.timeoutInSeconds")
	interval, ok2 := every(expr)
	a, ok3 := in.alarmOn("SuccessPercent")
	if !ok1 || !ok2 || !ok3 {
		return Path{}, false
	}
	// A failure right after a run started and passed: the next run starts
	// an interval later and may hang until its timeout.
	p := Path{Name: "canary", Alarm: a.name, Detect: interval + secs(timeout)}
	p.AlarmAt = p.Detect + a.perRun(interval)
	in.reach(&p, a, comp)
	p.Basis = fmt.Sprintf("canary every %s + run %.0fs = %s; alarm %s: (%.0f-1) x %s + %.0fs + eval %s = %s",
		interval, timeout, p.Detect, a.basis(), a.datapoints, interval, a.period, AlarmEvaluationDelay, p.AlarmAt)
	return p, true
}

func (in inputs) unreachable(budget, rto time.Duration) Row {
	row := Row{Failure: "endpoint unreachable (page)", Kind: Paged, Budget: budget, BudgetOf: "page",
		Answer: "automated after the page: the recovery runbook (it rolls back only an impact that follows a deployment) and the health check runbook; human, because an endpoint unreachable with healthy targets (DNS, certificate, WAF, network) has no safe automated fix"}
	comp := in.composite()
	var problems []string
	if !comp.found {
		problems = append(problems, fmt.Sprintf("no paging composite alarm %q recorded", CompositeAlarmLogicalName))
	}
	for _, f := range []func(composite) (Path, bool){in.route53Path, in.canaryPath} {
		if p, ok := f(comp); ok {
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
	row.Told, row.Budgeted = first.PagesAt, first.PagesAt
	if row.Pages > budget {
		problems = append(problems, fmt.Sprintf("first page after %s (%s path, suppressor wait %s), over the %s budget", row.Pages, first.Name, comp.wait, budget))
	}
	row.Problem = strings.Join(problems, "; ")
	row.Basis = fmt.Sprintf("pages via %s at %s (composite %s, suppressor wait %s)", first.Alarm, first.PagesAt, comp.name, comp.wait)
	row.saySubscribers(*first)
	return row
}

// saySubscribers makes a row whose first person-reaching path ends at a
// topic without subscribers say so.
func (r *Row) saySubscribers(p Path) {
	if p.Action == "" || p.Subscribers > 0 {
		return
	}
	keys, what := "notifyEmails", "notification"
	if p.Action == "page" {
		keys, what = "pageEmails or pageHttpsEndpoint", "page"
	}
	r.Says = append(r.Says, fmt.Sprintf("nobody is subscribed to %s in this stack (config %s): the %s reaches no one", p.Topic, keys, what))
}

// recoveryWired reports whether the composite's ALARM starts the service
// recovery runbook: a rule whose pattern names the composite, with the
// runbook's state machine as a target (infra/events, rule-degraded).
func (in inputs) recoveryWired(comp composite) bool {
	machine := ":stateMachine:" + naming.ServiceRecoverySM.Type + "-" + in.suffix()
	for _, r := range in.rec.ByType("aws:cloudwatch/eventRule:EventRule") {
		pattern, ok := lookupString(r, "eventPattern")
		if !ok {
			b, err := json.Marshal(r.Input("eventPattern"))
			if err != nil {
				continue
			}
			pattern = string(b)
		}
		name, _ := lookupString(r, "name")
		if !comp.found || !strings.Contains(pattern, ":alarm:"+comp.name+`"`) {
			continue
		}
		for _, t := range in.rec.ByType("aws:cloudwatch/eventTarget:EventTarget") {
			arn, _ := lookupString(t, "arn")
			if rule, _ := lookupString(t, "rule"); rule == name && strings.HasSuffix(arn, machine) {
				return true
			}
		}
	}
	return false
}

// badDeploymentPassingHealth: a version whose tasks pass health but fail
// customers. The breaker never trips; the canary fails, the composite
// pages and starts the recovery runbook, which rolls back.
func (in inputs) badDeploymentPassingHealth(guide, rto time.Duration) Row {
	row := Row{Failure: "bad deployment passing health", Kind: Paged, Budget: rto, BudgetOf: "told",
		Answer: fmt.Sprintf("automated after the page: the recovery runbook rolls back to the previous SUCCESSFUL deployment when the impact started within %d minutes of the deployment (docs/runbooks.md); human, because a later impact, or one without a previous version, is not the runbook's to judge", asl.RecentDeploymentMinutes)}
	comp := in.composite()
	th, problem := in.targetGroup()
	var problems []string
	if problem != "" {
		problems = append(problems, problem)
	}
	if !comp.found {
		problems = append(problems, fmt.Sprintf("no paging composite alarm %q recorded", CompositeAlarmLogicalName))
	}
	canary, ok := in.canaryPath(comp)
	if !ok {
		row.Problem = strings.Join(append(problems, "no canary with a SuccessPercent alarm recorded"), "; ")
		return row
	}
	if !canary.Member {
		problems = append(problems, fmt.Sprintf("canary alarm %s is not in the paging composite's rule", canary.Alarm))
	}
	if !in.recoveryWired(comp) {
		problems = append(problems, "no rule starts the service recovery runbook on the composite's ALARM")
	}
	row.Paths = append(row.Paths, canary)
	// The fleet-wide alarms page sooner only when the bad version shows as
	// ELB 5xx or latency; an application 5xx is the canary's.
	for _, o := range []struct{ key, name, condition string }{
		{"alb-5xx-rate", "ALB 5xx rate", "the bad version makes the ALB answer 5xx (502, 503, 504), not the application's own 5xx"},
		{"p99-latency", "p99 latency", "the bad version is slow"},
	} {
		if a, ok := in.alarmNamed(o.key); ok {
			p := in.alarmPath(o.name, a, comp, 0, "", 0)
			p.Condition = o.condition
			row.Paths = append(row.Paths, p)
		}
	}
	back := rollback(th)
	row.Detection, row.Pager, row.Pages = canary.AlarmAt, canary.Alarm, canary.PagesAt
	row.Told, row.Budgeted = canary.PagesAt, canary.PagesAt
	row.Mitigated = canary.PagesAt + RunbookReaction + back
	row.FullRecovery = row.Mitigated
	if row.Told > rto {
		problems = append(problems, fmt.Sprintf("the canary path pages after %s: nobody is told within the RTO %s", row.Told, rto))
	}
	if row.Mitigated > guide && guide < rto {
		row.Says = append(row.Says, fmt.Sprintf("mitigated after %s: over the row's %s target", row.Mitigated, guide))
	}
	row.Problem = strings.Join(problems, "; ")
	row.Basis = fmt.Sprintf("canary path pages at %s; runbook to UpdateService %s (our assumption); rollback %s (start %s + healthy %s + drain %.0fs)",
		canary.PagesAt, RunbookReaction, back, FargateTaskStart, th.inAfter(), th.deregistration)
	row.saySubscribers(canary)
	return row
}

// --- rows where an alarm tells a person ---

// zones are the stack's availability zones (config availabilityZones).
func (in inputs) zones() []string {
	var zs []string
	if v := in.rec.Config[config.Project+":availabilityZones"]; v != "" && json.Unmarshal([]byte(v), &zs) == nil && len(zs) > 0 {
		return zs
	}
	return nil
}

// grayAZ: one AZ's targets answer errors or slowly while they pass the
// health check; per-AZ outlier alarms tell a person, who starts the
// zonal shift.
func (in inputs) grayAZ(rto time.Duration) Row {
	row := Row{Failure: "gray AZ (health checks pass)", Kind: Paged, Budget: rto, BudgetOf: "told", HumanMitigation: true,
		Answer: "human, because a zonal shift takes a third of the capacity away and AWS may already be moving the AZ's addresses: a person checks that the other AZs carry the load, then starts the ARC zonal shift (docs/runbooks.md, \"A gray AZ\")"}
	comp := in.composite()
	var problems []string
	lb := in.first("aws:lb/loadBalancer:LoadBalancer")
	if lb == nil {
		problems = append(problems, "no load balancer recorded")
	} else if on, _ := lookupBool(lb, "enableZonalShift"); !on {
		problems = append(problems, "zonal shift is not enabled on the load balancer: the person has nothing to start")
	}
	zones := in.zones()
	if len(zones) == 0 {
		problems = append(problems, "no availabilityZones in the stack config")
	}
	for _, az := range zones {
		for _, k := range []struct{ key, what string }{{"zonal-5xx", "answer 5xx"}, {"zonal-latency", "are slow"}} {
			a, ok := in.alarmNamed(k.key + "-" + az)
			if !ok {
				problems = append(problems, fmt.Sprintf("no alarm %s recorded", in.alarmName(k.key+"-"+az)))
				continue
			}
			p := in.alarmPath(k.key+" "+az, a, comp, 0, "", 0)
			p.Condition = fmt.Sprintf("%s's targets %s", az, k.what)
			if p.Action == "" {
				problems = append(problems, fmt.Sprintf("%s has no action and is not in the paging composite: silent", a.name))
			}
			row.Paths = append(row.Paths, p)
		}
	}
	// Each AZ's two alarms watch two symptoms; a gray AZ shows one of them,
	// so the worst case is the slowest of all.
	var last *Path
	for i := range row.Paths {
		if p := &row.Paths[i]; last == nil || p.PagesAt > last.PagesAt {
			last = p
		}
	}
	if last != nil {
		row.Detection, row.Told, row.Budgeted = last.AlarmAt, last.PagesAt, last.PagesAt
		row.Basis = fmt.Sprintf("per-AZ outlier alarms (%d), the slowest tells at %s", len(row.Paths), last.PagesAt)
		row.saySubscribers(*last)
		if row.Told > rto {
			problems = append(problems, fmt.Sprintf("nobody is told within the RTO %s", rto))
		}
	}
	row.Problem = strings.Join(problems, "; ")
	return row
}

// pagedSpec is one failure mode an alarm tells a person about (Kind
// Paged): the extension point for new rows. Give the failure, who answers
// ("human, because ..." or the automated answer after the alarm), the
// paging target of the failure-mode table (docs/resilience.md) if it has one, and the recorded alarms that notice
// it by their naming key (alarm-<key>-<suffix>); a listed alarm that is
// not recorded, or that acts on nothing, makes the row red.
type pagedSpec struct {
	failure string
	answer  string
	// target is the row's paging target (0: none); a row first told later
	// says so.
	target time.Duration
	// human marks a mitigation that is a person's (or the failing
	// dependency owner's).
	human bool
	// says are statements the row always makes.
	says []string
	// notOutage marks a failure the RTO does not bound because it is no
	// outage yet (a certificate weeks before expiry, a budget passed): a
	// row told later than the RTO is not red for it, and its budget is
	// budget, which bounds budgetOf.
	notOutage bool
	budget    time.Duration
	budgetOf  string
	alarms    []alarmSpec
}

// alarmSpec is one alarm a pagedSpec relies on.
type alarmSpec struct {
	// key is the alarm's naming key; canary selects the canary path
	// instead.
	key    string
	canary bool
	// name is the signal as the report prints it.
	name string
	// condition, when set, is the shape of the failure the alarm needs;
	// the row's "told" is its first path without one.
	condition string
	// lead, when set, is the time from the failure until the alarm's
	// metric first breaches, with per-run datapoints every interval (0:
	// one per period).
	lead func(in inputs, a metricAlarm) (lead, interval time.Duration, basis string, err error)
	// path, when set, builds a path that is not a metric alarm's (an
	// EventBridge rule, an AWS Budgets notification).
	path func(in inputs, comp composite) (Path, error)
}

// ageThreshold: an age metric breaches only once the age has grown past
// the threshold.
func ageThreshold(_ inputs, a metricAlarm) (time.Duration, time.Duration, string, error) {
	return secs(a.threshold), 0, fmt.Sprintf("the oldest unpublished event is past the threshold %.0fs", a.threshold), nil
}

// scheduledRun: a scheduled state machine's failed executions, one per
// run: the next run starts up to an interval after the failure and fails
// inside its interval (infra/asl's tests hold the key sync's fetch timeout
// times its tries to 45 s at most: 10 s x 3 today, plus a backoff of
// seconds).
func scheduledRun(in inputs, a metricAlarm) (time.Duration, time.Duration, string, error) {
	for _, s := range in.rec.ByType("aws:scheduler/schedule:Schedule") {
		if arn, _ := lookupString(s, "target.arn"); arn == "" || arn != a.stateMachine {
			continue
		}
		expr, _ := lookupString(s, "scheduleExpression")
		interval, ok := every(expr)
		if !ok {
			return 0, 0, "", fmt.Errorf("schedule of %s is %q, not a rate", a.stateMachine, expr)
		}
		return 2 * interval, interval, fmt.Sprintf("runs %s: the next run starts within %s and fails inside it", expr, interval), nil
	}
	return 0, 0, "", fmt.Errorf("no schedule recorded for the state machine %q of alarm %s", a.stateMachine, a.name)
}

// target5xx is the fleet's 5xx alarm: a dependency outage answers 503 per
// request, and the alarm needs more of them a period than its threshold.
var target5xx = alarmSpec{key: "target-5xx", name: "target 5xx", condition: "enough customer requests fail a period to pass the alarm's threshold (traffic-dependent)"}

// pagedRows are the rows of Kind Paged beside the edge, deployment and
// gray-AZ rows: dependency outages (the service answers 503 per request
// and stays in service; page < 5 min: docs/resilience.md, "Failure modes
// and budgets") and throttling.
var pagedRows = []pagedSpec{
	{failure: "dependency outage: sessions table", target: PageTarget, human: true,
		answer: "automated per request: the service answers 503 + Retry-After within SESSIONS_TIMEOUT and stays in service (readiness never asks DynamoDB); human, because bringing the table, or the tasks' path to it, back is AWS's or a person's",
		alarms: []alarmSpec{
			{key: "ddb-sessions-system-errors", name: "sessions system errors", condition: "DynamoDB answers with errors (a table the tasks cannot reach publishes none)"},
			target5xx,
			{canary: true, name: "canary (creates a session)"},
		}},
	{failure: "dependency outage: event bus", target: PageTarget, human: true,
		answer: "automated: orders are accepted into the outbox and published when the bus answers again (no 503, no customer impact; consumers see the events late); human, because a bus that refuses our events (a policy, a quota, the bus itself) needs a diagnosis",
		alarms: []alarmSpec{{key: "outbox-backlog-age", name: "outbox backlog age", lead: ageThreshold}}},
	{failure: "dependency outage: parameters (SSM)", target: PageTarget, human: true,
		answer: "automated: running tasks keep the last good values (CONTRACT.md section 5); human, because a task that has to start cannot read its SSM secrets, and the kill switch cannot be flipped until SSM answers",
		says:   []string{"while the running tasks are enough nothing fails for customers and nothing alarms; the outage shows only when a task has to start"},
		alarms: []alarmSpec{{key: "ecs-running-tasks", name: "running tasks", condition: "a task has to start during the outage (its SSM secrets cannot be read)"}}},
	{failure: "dependency outage: issuer keys (key sync)", target: PageTarget, human: true,
		answer: "automated: the tasks keep verifying with the key set in the parameter, and tokens signed with a key the user pool publishes during the outage are refused (401) until the sync runs again; human, because a failing sync (Cognito, the network, the parameter) needs a diagnosis",
		alarms: []alarmSpec{{key: "sm-key-sync-failed", name: "key sync failed", lead: scheduledRun}}},
	{failure: "KMS key disabled or scheduled for deletion", target: PageTarget, human: true,
		answer: "human, because no automation can tell a mistake from an intended act: a person re-enables the key or cancels its deletion (docs/operations.md), or finds who did it; the page reaches them through the topic the lost key does not encrypt",
		alarms: []alarmSpec{{name: "key-state rule", path: keyStatePath}}},
	{failure: "certificate expiry", human: true, notOutage: true,
		budget: (monitoring.CertPageDays - 1) * 24 * time.Hour, budgetOf: "paged after the 14-day threshold (before the last day)",
		answer: "human, because a certificate ACM cannot renew (validation records gone) or an imported one needs a person to renew or re-import it",
		says:   []string{fmt.Sprintf("the clock starts when DaysToExpiry passes the threshold: the notice comes at %d days and the page at %d days before the certificate expires, each up to a day later (one datapoint a day)", monitoring.CertNoticeDays, monitoring.CertPageDays)},
		alarms: []alarmSpec{{key: "cert-expiry-notice", name: "certificate < 45 days"}, {key: "cert-expiry", name: "certificate < 14 days"}}},
	{failure: "runaway cost", human: true, notOutage: true,
		budget: BudgetRefresh, budgetOf: "told after the budget is passed",
		answer: "human, because no automation can tell a runaway from wanted growth: a person reads Cost Explorer by service and stops the cause",
		says:   []string{"AWS Budgets mails its subscribers itself, through no topic or key of ours; the clock starts when the month's forecast or actual cost passes the budget"},
		alarms: []alarmSpec{{name: "AWS Budgets", path: budgetPath}}},
	{failure: "DynamoDB throttling (sessions table)", human: true,
		answer: "automated per request: the SDK retries, then the service answers 503 + Retry-After; human, because an on-demand table throttles only on a hot key or a table or account limit: a quota or a key design is a person's call",
		alarms: []alarmSpec{{key: "ddb-sessions-throttles", name: "sessions throttles"}, target5xx}},
}

// paged builds a pagedSpec's row from the recording.
func (in inputs) paged(s pagedSpec, rto time.Duration) Row {
	row := Row{Failure: s.failure, Kind: Paged, Budget: rto, BudgetOf: "told", Answer: s.answer, HumanMitigation: s.human}
	if s.notOutage {
		row.Budget, row.BudgetOf = s.budget, s.budgetOf
	}
	comp := in.composite()
	var problems []string
	for _, a := range s.alarms {
		var p Path
		switch {
		case a.path != nil:
			c, err := a.path(in, comp)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			p = c
		case a.canary:
			c, ok := in.canaryPath(comp)
			if !ok {
				problems = append(problems, "no canary with a SuccessPercent alarm recorded")
				continue
			}
			p = c
		default:
			al, ok := in.alarmNamed(a.key)
			if !ok {
				problems = append(problems, fmt.Sprintf("no alarm %s recorded", in.alarmName(a.key)))
				continue
			}
			var lead, interval time.Duration
			var basis string
			if a.lead != nil {
				var err error
				if lead, interval, basis, err = a.lead(in, al); err != nil {
					problems = append(problems, err.Error())
					continue
				}
			}
			p = in.alarmPath(a.name, al, comp, lead, basis, interval)
		}
		p.Name, p.Condition = a.name, a.condition
		if p.Action == "" {
			problems = append(problems, fmt.Sprintf("%s has no action and is not in the paging composite: silent", p.Alarm))
		}
		row.Paths = append(row.Paths, p)
	}
	// Told: the first path that fires on every instance of the failure;
	// with none, the first that fires at all, and the row says when.
	var told *Path
	for _, always := range []bool{true, false} {
		for i := range row.Paths {
			p := &row.Paths[i]
			if p.Action == "" || (always && p.Condition != "") {
				continue
			}
			if told == nil || p.PagesAt < told.PagesAt {
				told = p
			}
		}
		if told != nil {
			break
		}
	}
	if told != nil {
		row.Detection, row.Told, row.Budgeted = told.AlarmAt, told.PagesAt, told.PagesAt
		row.Basis = fmt.Sprintf("first told by %s (%s) at %s", told.Alarm, told.Action, told.PagesAt)
		if told.Member {
			row.Pager, row.Pages = told.Alarm, told.PagesAt
		}
		if told.Condition != "" {
			row.Says = append(row.Says, "a person is told only when "+told.Condition)
		}
		if s.target > 0 && told.PagesAt > s.target {
			row.Says = append(row.Says, fmt.Sprintf("first told after %s: later than the %s page target", told.PagesAt, s.target))
		}
		if told.PagesAt > rto && !s.notOutage {
			problems = append(problems, fmt.Sprintf("nobody is told within the RTO %s", rto))
		}
		row.saySubscribers(*told)
	} else if len(problems) == 0 {
		problems = append(problems, "no recorded alarm tells anyone")
	}
	row.Says = append(row.Says, s.says...)
	row.Problem = strings.Join(problems, "; ")
	return row
}

// CloudTrailToEventBridge is how long after an API call we assume its
// CloudTrail event reaches the default bus. AWS publishes no bound: it
// delivers AWS service events "on a best effort basis" (Amazon
// EventBridge User Guide, "AWS service events delivered via AWS
// CloudTrail"); 5 minutes is our assumption.
const CloudTrailToEventBridge = 5 * time.Minute

// keyStatePath is the KMS key-state rule's path: CloudTrail's event on
// the default bus, straight to the rule's topic targets.
func keyStatePath(in inputs, comp composite) (Path, error) {
	name := naming.RuleKMSKeyState.Type + "-" + in.suffix()
	found := false
	for _, r := range in.rec.ByType("aws:cloudwatch/eventRule:EventRule") {
		if n, _ := lookupString(r, "name"); n == name {
			found = true
		}
	}
	if !found {
		return Path{}, fmt.Errorf("no rule %s recorded", name)
	}
	var topics []string
	for _, t := range in.rec.ByType("aws:cloudwatch/eventTarget:EventTarget") {
		if rule, _ := lookupString(t, "rule"); rule == name {
			if arn, _ := lookupString(t, "arn"); strings.Contains(arn, ":sns:") {
				topics = append(topics, arn[strings.LastIndex(arn, ":")+1:])
			}
		}
	}
	if len(topics) == 0 {
		return Path{}, fmt.Errorf("rule %s has no topic target: silent", name)
	}
	p := Path{Alarm: name, Detect: CloudTrailToEventBridge, AlarmAt: CloudTrailToEventBridge, PagesAt: CloudTrailToEventBridge,
		Action: "notify", Topic: topics[0]}
	for _, t := range topics {
		if slices.Contains(comp.topics, t) {
			p.Action = "page"
		}
	}
	p.Subscribers = in.subscribers(p.Topic)
	p.Basis = fmt.Sprintf("CloudTrail's DisableKey or ScheduleKeyDeletion event on the default bus: %s (our assumption: best effort, no published bound); rule %s publishes to %d topic(s)",
		CloudTrailToEventBridge, name, len(topics))
	return p, nil
}

// BudgetRefresh is how long after a budget is passed we assume AWS
// Budgets notices: it refreshes its cost data up to three times a day,
// with billing data updated at least once a day (AWS Cost Management User
// Guide, "Best practices for AWS Budgets"); a day is our worst case.
const BudgetRefresh = 24 * time.Hour

// budgetPath is the cost budget's path: AWS Budgets mails its
// subscribers.
func budgetPath(in inputs, _ composite) (Path, error) {
	budgets := in.rec.ByType("aws:budgets/budget:Budget")
	if len(budgets) == 0 {
		return Path{}, fmt.Errorf("no cost budget recorded (config monthlyBudgetUsd)")
	}
	b := budgets[0]
	name, _ := lookupString(b, "name")
	emails := map[string]bool{}
	for _, n := range listAt(b, "notifications") {
		m, _ := n.(map[string]any)
		list, _ := m["subscriberEmailAddresses"].([]any)
		for _, e := range list {
			emails[fmt.Sprint(e)] = true
		}
	}
	p := Path{Alarm: name, Detect: BudgetRefresh, AlarmAt: BudgetRefresh, PagesAt: BudgetRefresh,
		Action: "notify", Topic: "AWS Budgets mail", Subscribers: len(emails)}
	p.Basis = fmt.Sprintf("Budgets refreshes its data up to 3 times a day: %s (our worst case); %s mails %d address(es) on the forecast and the actual cost", BudgetRefresh, name, len(emails))
	return p, nil
}

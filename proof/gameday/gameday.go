// Package gameday is the local game day, a twin of a recorded stack on one
// machine: network namespaces as AZs reaching only what the recorded network
// gives the tasks, HAProxy in the ALB's role configured from the recorded
// target group, a small ECS (ecs.go) that replaces tasks and rolls
// deployments out, pg_auto_failover in Aurora's role, the real trading
// binary as the tasks, the recovery runbook's recorded definition run
// against the twin (control.go, runbook.mjs) and a desk-like client. Each
// scenario injects a failure (a task killed, an AZ cut off, the writer
// killed, a gray AZ, the sessions table down, a bad deploy, on-call's fix
// during one, a key rotation), measures what the client sees and holds the
// resilience report (proof/resilience, computed from the same recorded
// stack) and the runbook's decisions to it (docs/gameday.md).
package gameday

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trading-ha/trading-ha/app/gamedaykit"
	"github.com/trading-ha/trading-ha/proof/listener"
	"github.com/trading-ha/trading-ha/proof/metricmath"
	"github.com/trading-ha/trading-ha/proof/offline"
	"github.com/trading-ha/trading-ha/proof/resilience"
)

// Options configure a run.
type Options struct {
	// Dir is the repository root (Pulumi.yaml, app/); default: found from the working directory.
	Dir string
	// AppDir is the tree the service binary is built from (default Dir):
	// another checkout runs the twin of today's stack against an older
	// or a deliberately broken service, which is how a scenario is shown
	// red before its fix.
	AppDir string
	// RecoveryDefinition, when set, is the path of a service-recovery
	// definition (ASL JSON) run instead of the recorded one: an older
	// runbook's export shows its scenario red.
	RecoveryDefinition string
	// Stack is the stack file whose recording configures HAProxy and the task count (default dev).
	Stack string
	// Overrides are config values applied over the stack file ("trading-ha:desiredCount=3").
	Overrides map[string]string
	// ClientAttempts bounds the desk client's attempts per order (default 40);
	// 1 is the regression "a client without retries".
	ClientAttempts int
	// Desks is the number of concurrent desks (default 4).
	Desks int
	// Log receives progress lines (default io.Discard).
	Log io.Writer
	// KeepDir keeps the work directory (logs) after the run.
	KeepDir bool
	// Only runs the scenarios with these keys (default all): task-killed,
	// issuer-keys-egress, az-lost, db-writer-failover, gray-az, sessions-down,
	// bad-deploy, oncall-fix.
	Only []string
	// MutantDuplicateRows is the test-only mutant proving the duplicated
	// count can fire: the twin's database stores every order twice under
	// its (trader, key) (see duplicateRowsMutant).
	MutantDuplicateRows bool
}

// Check is one pass/fail assertion of a scenario with what was measured.
type Check struct {
	Name   string
	OK     bool
	Detail string
}

// Figure is one measured value beside its model.
type Figure struct {
	Name     string
	Measured time.Duration
	Model    time.Duration
	Source   string
	// Info figures are printed, not held (e.g. Aurora's own row).
	Info bool
	// Resolution is how finely the measurement is taken (the stats
	// socket is polled every 100 ms): a measurement is within the model
	// when it is at most Model + Resolution.
	Resolution time.Duration
}

// statsResolution is lbWatch's polling period of HAProxy's stats socket.
const statsResolution = 100 * time.Millisecond

// relaySlack is what a task's relay (wire.go) adds to a failing health
// check: checks through the relays ejected a cut-off task after 13.7-13.8 s
// against the formula's 13 s (12.7-12.9 s when HAProxy reached the tasks
// directly). The ejection figure checks the stand-in, not AWS, so it is
// held to the formula within this slack.
const relaySlack = time.Second

// Within reports whether the measurement is inside the model's worst case,
// up to the measurement's resolution.
func (f Figure) Within() bool { return f.Info || f.Measured <= f.Model+f.Resolution }

// Scenario is one injected failure and what was measured.
type Scenario struct {
	// Key is the stable name ("db-writer-failover"); Result.Key prefixes the stack.
	Key          string
	Name         string
	Checks       []Check
	Replacements int // tasks the ECS supervisor replaced during the scenario
	Figures      []Figure
	Failed       int // failed HTTP attempts
	// FailedAnswers are the failed attempts by answer (status and error
	// code, or transport), most frequent first.
	FailedAnswers string
	Orders        int
	Acked         int
	GaveUp        int
	Stored        int
	Lost          int
	Duplicated    int
	EventsMissed  int
	Notes         []string
	// ImpactExpected marks a scenario whose failure customers see until
	// the platform answers it (a bad deploy): orders given up are reported
	// but do not fail it; lost and duplicated still do.
	ImpactExpected bool
}

// Window is the client-visible error window figure.
func (s Scenario) Window() Figure {
	for _, f := range s.Figures {
		if f.Name == "client error window" {
			return f
		}
	}
	return Figure{}
}

// OK reports whether nothing was lost, duplicated or refused and every
// figure is within its model.
func (s Scenario) OK() bool {
	for _, f := range s.Figures {
		if !f.Within() {
			return false
		}
	}
	for _, c := range s.Checks {
		if !c.OK {
			return false
		}
	}
	return s.Lost == 0 && s.Duplicated == 0 && s.EventsMissed == 0 && (s.GaveUp == 0 || s.ImpactExpected)
}

// Reasons lists why the scenario fails (empty when it holds).
func (s Scenario) Reasons() []string {
	var out []string
	for _, f := range s.Figures {
		if !f.Within() {
			out = append(out, fmt.Sprintf("%s %.1f s exceeds model %.1f s", f.Name, f.Measured.Seconds(), f.Model.Seconds()))
		}
	}
	for _, c := range s.Checks {
		if !c.OK {
			out = append(out, c.Name+": "+c.Detail)
		}
	}
	if s.Lost+s.Duplicated+s.EventsMissed > 0 || (s.GaveUp > 0 && !s.ImpactExpected) {
		out = append(out, fmt.Sprintf("lost %d, duplicated %d, events missing %d, gave up %d", s.Lost, s.Duplicated, s.EventsMissed, s.GaveUp))
	}
	return out
}

// Result is the whole run.
type Result struct {
	Stack     string
	Scenarios []Scenario
	Elapsed   time.Duration
}

// OK reports whether every scenario held.
func (r Result) OK() bool {
	for _, s := range r.Scenarios {
		if !s.OK() {
			return false
		}
	}
	return len(r.Scenarios) > 0
}

// Summary is the final line.
func (r Result) Summary() string {
	var lost, dup int
	var worst Figure
	for _, s := range r.Scenarios {
		lost += s.Lost
		dup += s.Duplicated
		if w := s.Window(); w.Measured >= worst.Measured {
			worst = w
		}
	}
	yes := "no"
	if r.OK() {
		yes = "yes"
	}
	return fmt.Sprintf("gameday: %d scenarios; lost %d, duplicated %d; worst error window %.1f s (model %.1f s); within model: %s",
		len(r.Scenarios), lost, dup, worst.Measured.Seconds(), worst.Model.Seconds(), yes)
}

// String renders the per-scenario table and the final line.
func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "local game day, stack %q (%.0f s)\n", r.Stack, r.Elapsed.Seconds())
	for i, s := range r.Scenarios {
		fmt.Fprintf(&b, "\n%d. [%s] %s\n", i+1, s.Key, s.Name)
		fmt.Fprintf(&b, "   %-34s %9s %9s  %s\n", "figure", "measured", "model", "model source")
		for _, f := range s.Figures {
			mark := ""
			if !f.Within() {
				mark = "  EXCEEDS MODEL"
			}
			meas := fmt.Sprintf("%.1f s", f.Measured.Seconds())
			if f.Info && f.Measured == 0 {
				meas = "-"
			}
			fmt.Fprintf(&b, "   %-34s %9s %7.1f s  %s%s\n", f.Name, meas, f.Model.Seconds(), f.Source, mark)
		}
		fmt.Fprintf(&b, "   failed requests %d; orders %d, acknowledged %d, gave up %d, stored %d; lost %d, duplicated %d; events missing %d\n",
			s.Failed, s.Orders, s.Acked, s.GaveUp, s.Stored, s.Lost, s.Duplicated, s.EventsMissed)
		if s.FailedAnswers != "" {
			fmt.Fprintf(&b, "   failed answers: %s\n", s.FailedAnswers)
		}
		for _, c := range s.Checks {
			v := "ok"
			if !c.OK {
				v = "FAILS"
			}
			fmt.Fprintf(&b, "   check %-40s %5s  %s\n", c.Name, v, c.Detail)
		}
		if !s.OK() {
			fmt.Fprintf(&b, "   RED: %s\n", strings.Join(s.Reasons(), "; "))
		}
		for _, n := range s.Notes {
			fmt.Fprintf(&b, "   note: %s\n", n)
		}
	}
	b.WriteString("\n" + r.Summary() + "\n")
	return b.String()
}

// model is the resilience report's figures for the recorded stack and the
// local constants.
type model struct {
	task, azApp, aurora resilience.Row
	tg                  targetGroup
	desired             int
	ecs                 ecsConfig
	egress              egress
	// zonal are the recorded per-AZ outlier alarms (alarm-zonal-*).
	zonal []zonalAlarm
	// p99Threshold is the recorded fleet p99-latency alarm's threshold:
	// the latency the stack calls customer impact.
	p99Threshold time.Duration
	// ids and the recovery runbook's recorded definition.
	ids stackIDs
	// canary is the recorded canary-success alarm and canary schedule.
	canary canaryAlarm
	// appTLS is the recorded app container's APP_TLS: how the tasks the
	// twin starts serve, as the stack's would.
	appTLS string
	// zones are the stack's availabilityZones: the twin's AZ namespaces
	// a, b, c stand for them in order.
	zones []string
}

// zone is the stack AZ the twin's AZ letter stands for.
func (m model) zone(az string) string {
	for i, a := range AZs {
		if a == az && i < len(m.zones) {
			return m.zones[i]
		}
	}
	return ""
}

// zonalAlarm is one recorded per-AZ outlier alarm: its metric math
// expression and, per query id, the ALB series it reads
// ("TargetResponseTime/p99@us-east-1b").
type zonalAlarm struct {
	Name, Expression   string
	Series             map[string]string
	Period, Datapoints int
}

// fires evaluates the alarm's expression over one datapoint per series
// (metricmath: a series without a value is missing data) and reports
// whether it breaches (GreaterThanOrEqualToThreshold 1).
func (a zonalAlarm) fires(data map[string]float64) (bool, error) {
	env := map[string]*float64{}
	for id, series := range a.Series {
		env[id] = nil
		if v, ok := data[series]; ok {
			env[id] = &v
		}
	}
	v, err := metricmath.Eval(a.Expression, env)
	if err != nil {
		return false, fmt.Errorf("%s: %w", a.Name, err)
	}
	return v != nil && *v >= 1, nil
}

// zonalAlarms reads the recorded alarm-zonal-* metric alarms.
func zonalAlarms(rec *offline.Recording) ([]zonalAlarm, error) {
	var out []zonalAlarm
	for _, r := range rec.ByType("aws:cloudwatch/metricAlarm:MetricAlarm") {
		name, _ := r.Input("name").(string)
		if !strings.HasPrefix(name, "alarm-zonal-") {
			continue
		}
		b, err := json.Marshal(r.Input("metricQueries"))
		if err != nil {
			return nil, err
		}
		var qs []struct {
			ID, Expression string
			Metric         *struct {
				MetricName, Stat string
				Period           int
				Dimensions       map[string]string
			}
		}
		if err := json.Unmarshal(b, &qs); err != nil {
			return nil, fmt.Errorf("%s metricQueries: %w", name, err)
		}
		a := zonalAlarm{Name: name, Series: map[string]string{}}
		for _, q := range qs {
			if q.Metric == nil {
				a.Expression = q.Expression
				continue
			}
			a.Series[q.ID] = q.Metric.MetricName + "/" + q.Metric.Stat + "@" + q.Metric.Dimensions["AvailabilityZone"]
			a.Period = q.Metric.Period
		}
		p, _ := r.Input("evaluationPeriods").(float64)
		d, _ := r.Input("datapointsToAlarm").(float64)
		a.Datapoints = int(d)
		if a.Datapoints == 0 {
			a.Datapoints = int(p)
		}
		out = append(out, a)
	}
	return out, nil
}

func row(rep resilience.Report, prefix string) (resilience.Row, error) {
	for _, r := range rep.Rows {
		if strings.HasPrefix(r.Failure, prefix) {
			return r, nil
		}
	}
	return resilience.Row{}, fmt.Errorf("resilience report has no %q row", prefix)
}

func loadModel(dir, stack string, overrides map[string]string) (model, error) {
	rec, err := offline.Run(dir, stack, overrides)
	if err != nil {
		return model{}, fmt.Errorf("record stack %s: %w", stack, err)
	}
	rep := resilience.Compute(rec)
	var m model
	if m.task, err = row(rep, "task crash"); err != nil {
		return m, err
	}
	if m.azApp, err = row(rep, "AZ loss (app tier)"); err != nil {
		return m, err
	}
	if m.aurora, err = row(rep, "Aurora"); err != nil {
		return m, err
	}
	tgs := rec.ByType("aws:lb/targetGroup:TargetGroup")
	svcs := rec.ByType("aws:ecs/service:Service")
	if len(tgs) == 0 || len(svcs) == 0 {
		return m, errors.New("recording lacks the target group or the ECS service")
	}
	f := func(r *offline.Resource, p string) float64 {
		switch v := r.Input(p).(type) {
		case float64:
			return v
		case int:
			return float64(v)
		}
		return 0
	}
	tg := tgs[0]
	m.tg = targetGroup{Interval: f(tg, "healthCheck.interval"), Timeout: f(tg, "healthCheck.timeout"),
		Unhealthy: f(tg, "healthCheck.unhealthyThreshold"), Healthy: f(tg, "healthCheck.healthyThreshold"),
		Deregistration: f(tg, "deregistrationDelay")}
	m.tg.Path, _ = tg.Input("healthCheck.path").(string)
	m.tg.Protocol, _ = tg.Input("protocol").(string)
	if hp, _ := tg.Input("healthCheck.protocol").(string); hp != m.tg.Protocol {
		return m, fmt.Errorf("target group protocol %q but health check protocol %q: the twin renders one", m.tg.Protocol, hp)
	}
	if m.appTLS, err = recordedAppTLS(rec); err != nil {
		return m, err
	}
	edge, err := listener.Load(rec)
	if err != nil {
		return m, err
	}
	if m.tg.edgeRules, err = edgeRules(edge); err != nil {
		return m, err
	}
	if lbs := rec.ByType("aws:lb/loadBalancer:LoadBalancer"); len(lbs) > 0 {
		m.tg.IdleTimeout = f(lbs[0], "idleTimeout")
	}
	if m.tg.Interval <= 0 || m.tg.Timeout <= 0 || m.tg.Unhealthy <= 0 || m.tg.Healthy <= 0 || m.tg.Path == "" {
		return m, fmt.Errorf("target group health check incomplete: %+v", m.tg)
	}
	m.desired = int(f(svcs[0], "desiredCount"))
	if m.desired < 1 {
		return m, errors.New("desired count < 1")
	}
	m.ecs = ecsConfig{Desired: m.desired, MinHealthyPercent: int(f(svcs[0], "deploymentMinimumHealthyPercent")),
		MaxPercent: int(f(svcs[0], "deploymentMaximumPercent")), Grace: time.Duration(f(svcs[0], "healthCheckGracePeriodSeconds")) * time.Second}
	m.ecs.Breaker, _ = svcs[0].Input("deploymentCircuitBreaker.enable").(bool)
	m.ecs.Rollback, _ = svcs[0].Input("deploymentCircuitBreaker.rollback").(bool)
	if m.ecs.MaxPercent == 0 { // ECS defaults (CreateService deploymentConfiguration)
		m.ecs.MaxPercent = 200
	}
	if m.ecs.MinHealthyPercent == 0 {
		m.ecs.MinHealthyPercent = 100
	}
	m.egress.Endpoints = map[string]bool{}
	for _, ep := range rec.ByType("aws:ec2/vpcEndpoint:VpcEndpoint") {
		name, _ := ep.Input("serviceName").(string)
		m.egress.Endpoints[name[strings.LastIndex(name, ".")+1:]] = true
	}
	if m.zonal, err = zonalAlarms(rec); err != nil {
		return m, err
	}
	for _, a := range rec.ByType("aws:cloudwatch/metricAlarm:MetricAlarm") {
		if name, _ := a.Input("name").(string); strings.HasPrefix(name, "alarm-p99-latency-") {
			m.p99Threshold = time.Duration(f(a, "threshold") * float64(time.Second))
		}
	}
	if m.p99Threshold <= 0 {
		return m, errors.New("recording lacks the p99-latency alarm's threshold")
	}
	if err := json.Unmarshal([]byte(rec.Config["trading-ha:availabilityZones"]), &m.zones); err != nil || len(m.zones) < len(AZs) {
		return m, fmt.Errorf("recorded availabilityZones %q: want %d zones", rec.Config["trading-ha:availabilityZones"], len(AZs))
	}
	if m.ids, m.canary, err = controlModel(rec); err != nil {
		return m, err
	}
	vpcs := rec.ByType("awsx:ec2:Vpc")
	if len(vpcs) == 0 {
		return m, errors.New("recording lacks the VPC")
	}
	strategy, _ := vpcs[0].Input("natGateways.strategy").(string)
	m.egress.NAT = strategy != "" && strategy != "None"
	return m, nil
}

// sessionsOutage is how long the sessions-down scenario keeps the table
// unreachable; dependencyAnswer is the bound on a request's answer while a
// dependency is down: the service answers 503 per request, it does not
// wait for the load balancer to give up (a minute) on the client's behalf.
// keyRereadBound is the service's MinRefresh (app/internal/auth, default
// 30 s): how long a task may answer 401 to a key it has not read yet.
const keyRereadBound = 30 * time.Second

// jwksParameter is the key set parameter the tasks read (the stack's is
// /trading/<suffix>/identity/jwks).
const jwksParameter = "/trading/gameday/identity/jwks"

const (
	// controlTimeScale is how much faster than the stack's the twin's
	// control loop runs (modelClock).
	controlTimeScale = 10
	grayFor          = 12 * time.Second
	sessionsOutage   = 15 * time.Second
	dependencyAnswer = 5 * time.Second
)

// promotionTransitions are the secondary's states on the way to taking
// writes once the monitor has decided the failover: prepare_promotion,
// stop_replication, wait_primary, primary (pg_auto_failover documentation,
// "Failover State Machine"). Each needs one keeper iteration to report and
// act (the keeper loop sleeps 1 s) and may wait for the monitor's next
// health check of the node set (health_check_period + health_check_timeout):
// that per-transition bound is our assumption, not a documented figure, and
// docs/gameday.md says so.
const promotionTransitions = 4

// keeperLoop is pg_autoctl's keeper iteration (1 s).
const keeperLoop = time.Second

// localFailover is the same worst-case shape as resilience's Aurora row
// (failover, then the part of the row after detection: endpoint and app
// retry) with pg_auto_failover's constants in place of AuroraFailover:
// the primary is unhealthy after node_considered_unhealthy_timeout and a
// failing health-check sequence (period + (retries+1) x timeout + retries x
// retry delay), then the monitor waits primary_demote_timeout before the
// standby is promoted (pg_autoctl(5), cited at monitorGUCs), and the
// standby walks promotionTransitions states.
func localFailover(g map[string]time.Duration) time.Duration {
	retries := g["health_check_max_retries"] / time.Millisecond // plain count stored as "ms"
	perTransition := keeperLoop + g["health_check_period"] + g["health_check_timeout"]
	return g["node_considered_unhealthy_timeout"] + g["health_check_period"] +
		time.Duration(retries+1)*g["health_check_timeout"] + time.Duration(retries)*g["health_check_retry_delay"] +
		g["primary_demote_timeout"] + promotionTransitions*perTransition
}

// Run executes the game day. It always tears down what it started.
func Run(ctx context.Context, opts Options) (res Result, err error) {
	start := time.Now()
	if opts.Stack == "" {
		opts.Stack = "dev"
	}
	if opts.ClientAttempts <= 0 {
		opts.ClientAttempts = 40
	}
	if opts.Desks <= 0 {
		opts.Desks = 4
	}
	logw := opts.Log
	if logw == nil {
		logw = io.Discard
	}
	logf := func(format string, a ...any) {
		fmt.Fprintf(logw, "gameday %5.1fs: %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, a...))
	}
	res.Stack = opts.Stack
	if err := checkTools(); err != nil {
		return res, err
	}
	unlock, err := lockRun()
	if err != nil {
		return res, err
	}
	defer unlock()
	if opts.Dir == "" {
		if opts.Dir, err = gamedaykit.RepoRoot(); err != nil {
			return res, err
		}
	}
	if _, err := os.Stat(filepath.Join(opts.Dir, "tests", "asl", "node_modules", "aws-local-stepfunctions", "package.json")); err != nil {
		return res, fmt.Errorf("%w: the runbook harness needs npm ci in tests/asl (app/testdata/setup-gameday.sh)", ErrUnavailable)
	}
	m, err := loadModel(opts.Dir, opts.Stack, opts.Overrides)
	if err != nil {
		return res, err
	}
	if opts.RecoveryDefinition != "" {
		b, err := os.ReadFile(opts.RecoveryDefinition)
		if err != nil {
			return res, err
		}
		m.ids.RecoveryDefinition = string(b)
		logf("recovery runbook: %s instead of the recorded definition", opts.RecoveryDefinition)
	}
	only := func(key string) bool {
		if len(opts.Only) == 0 {
			return true
		}
		for _, k := range opts.Only {
			if k == key {
				return true
			}
		}
		return false
	}
	logf("stack %s: ECS grace %s, min healthy %d%%, max %d%%, circuit breaker %v (rollback %v, threshold %d); tasks' network: %s",
		opts.Stack, m.ecs.Grace, m.ecs.MinHealthyPercent, m.ecs.MaxPercent, m.ecs.Breaker, m.ecs.Rollback, m.ecs.breakerThreshold(), m.egress)
	logf("stack %s: target group interval %gs timeout %gs unhealthy %g healthy %g path %s, deregistration %gs; desired count %d",
		opts.Stack, m.tg.Interval, m.tg.Timeout, m.tg.Unhealthy, m.tg.Healthy, m.tg.Path, m.tg.Deregistration, m.desired)

	work, err := os.MkdirTemp("", "gameday-")
	if err != nil {
		return res, err
	}
	ps := &procs{}
	var cleanup []func()
	defer func() {
		ps.stopAll()
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
		teardownNetwork()
		if !opts.KeepDir && err == nil && res.OK() {
			_ = os.RemoveAll(work)
		} else {
			logf("logs kept in %s", work)
		}
		res.Elapsed = time.Since(start)
	}()

	// Build the service once, in parallel with the network and database.
	bin := filepath.Join(work, "trading")
	buildErr := make(chan error, 1)
	go func() {
		// In app/: the service is a module of its own there (in a
		// checkout from before it was, app/ is a directory of the root
		// module, and the same command builds the same package).
		tree := opts.Dir
		if opts.AppDir != "" {
			tree = opts.AppDir
		}
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/trading")
		cmd.Dir = filepath.Join(tree, "app")
		out, err := cmd.CombinedOutput()
		if err != nil {
			err = fmt.Errorf("go build: %w: %s", err, out)
		}
		buildErr <- err
	}()
	if err = setupNetwork(ctx); err != nil {
		return res, err
	}
	logf("namespaces gd-a, gd-b, gd-c on bridge %s", bridge)
	pg, err := newPGCluster(work, ps)
	if err != nil {
		return res, err
	}
	if err = pg.start(ctx); err != nil {
		return res, err
	}
	gucs, err := pg.settings(ctx)
	if err != nil {
		return res, err
	}
	localFO := localFailover(gucs)
	logf("pg_auto_failover: primary a, synchronous standby b, monitor c; local failover model %s", localFO)

	// Local fakes (loopback), reached from the namespaces via forwarders.
	issuer, err := gamedaykit.StartIssuer()
	if err != nil {
		return res, err
	}
	cleanup = append(cleanup, issuer.Close)
	bus := gamedaykit.StartFakeBus()
	cleanup = append(cleanup, bus.Close)
	ssm := gamedaykit.StartFakeSSM()
	cleanup = append(cleanup, ssm.Close)
	// The key sync's part: the issuer's key set in the parameter the
	// tasks read (the sync itself is proven by its local execution tests).
	syncKeys := func() error {
		resp, err := http.Get(issuer.URL + "/.well-known/jwks.json")
		if err != nil {
			return fmt.Errorf("key sync: %w", err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return fmt.Errorf("key sync: %w", err)
		}
		var now, prev struct {
			Keys []map[string]any `json:"keys"`
		}
		if err := json.Unmarshal(b, &now); err != nil || len(now.Keys) == 0 {
			return fmt.Errorf("key sync: issuer key set %q: %v", b, err)
		}
		seen := map[any]bool{}
		for _, k := range now.Keys {
			seen[k["kid"]] = true
		}
		_ = json.Unmarshal([]byte(ssm.Get(jwksParameter)), &prev)
		for _, k := range prev.Keys {
			if !seen[k["kid"]] {
				now.Keys = append(now.Keys, k) // retired keys stay (the sync keeps them a token lifetime)
			}
		}
		doc, err := json.Marshal(now)
		if err != nil {
			return err
		}
		ssm.Set(jwksParameter, string(doc))
		return nil
	}
	if err = syncKeys(); err != nil {
		return res, err
	}
	dyn, err := gamedaykit.StartDynalite(ctx)
	if err != nil {
		return res, err
	}
	cleanup = append(cleanup, dyn.Close)
	if err = dyn.CreateSessionsTable(ctx, "gameday-sessions"); err != nil {
		return res, err
	}
	fw := map[string]*forwarder{}
	// Each stand-in is reachable from the tasks' namespaces only as the
	// recorded network allows: the issuer is on the internet, the others
	// are AWS services (through NAT or their VPC endpoint).
	service := map[string]string{"issuer": "internet", "bus": "events", "dynamo": "dynamodb", "ssm": "ssm"}
	for name, target := range map[string]string{"issuer": hostPort(issuer.URL), "bus": hostPort(bus.URL), "dynamo": hostPort(dyn.Endpoint), "ssm": hostPort(ssm.URL)} {
		f, err := forward(target)
		if err != nil {
			return res, err
		}
		f.walled.Store(!m.egress.reaches(service[name]))
		cleanup = append(cleanup, f.close)
		fw[name] = f
	}
	if err = <-buildErr; err != nil {
		return res, err
	}

	// Migrate (master user) and the application role's password file.
	appPassword := "gd-" + randToken()
	pwFile := filepath.Join(work, "db-password")
	if err = os.WriteFile(pwFile, []byte(appPassword), 0o600); err != nil {
		return res, err
	}
	var deskIDs []string
	creds := make([]*deskCred, opts.Desks)
	for i := range creds {
		id := fmt.Sprintf("DESK-GD-%d", i+1)
		deskIDs = append(deskIDs, id)
		creds[i] = &deskCred{id: id, secret: issuer.AddClient(id)}
	}
	canaryCred := &deskCred{id: "DESK-GD-CANARY"}
	canaryCred.secret = issuer.AddClient(canaryCred.id)
	env := []string{"PATH=/usr/bin:/bin", "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=gameday", "AWS_SECRET_ACCESS_KEY=gameday",
		"DB_WRITER_HOST=" + azIP("a") + "," + azIP("b"), "DB_READER_HOST=" + azIP("a") + "," + azIP("b"), "DB_PORT=" + itoa(pgPort),
		"DB_NAME=" + dbName, "DB_USERNAME=" + appRole, "DB_SSLMODE=require"}
	mig := exec.CommandContext(ctx, bin, "-migrate")
	mig.Env = append(append([]string(nil), env...), "DB_WRITER_HOST="+azIP("a"), "DB_MIGRATE_USERNAME=postgres", "DB_MIGRATE_PASSWORD=unused-trust",
		"DB_APP_PASSWORD="+appPassword, "MIGRATE_TIMEOUT=60s")
	if out, err2 := mig.CombinedOutput(); err2 != nil {
		return res, fmt.Errorf("migrate: %w: %s", err2, out)
	}
	if opts.MutantDuplicateRows {
		if err = applyMutant(ctx, duplicateRowsMutant); err != nil {
			return res, err
		}
		logf("MUTANT: every order row is stored twice under its (trader, key)")
	}
	env = append(env, "DB_AUTH_MODE=password", "DB_PASSWORD_FILE="+pwFile,
		"OIDC_ISSUER="+issuer.URL, "OIDC_JWKS_PARAMETER="+jwksParameter, "SSM_ENDPOINT=http://"+fw["ssm"].addr(),
		"OIDC_CLIENT_IDS="+strings.Join(append(append([]string(nil), deskIDs...), canaryCred.id), ","), "SESSIONS_TABLE=gameday-sessions", "EVENT_BUS_NAME=gameday-bus",
		"DYNAMODB_ENDPOINT=http://"+fw["dynamo"].addr(), "EVENTBRIDGE_ENDPOINT=http://"+fw["bus"].addr(), "LOG_LEVEL=warn",
		"METRICS_INTERVAL=1h")

	// Tasks: desiredCount spread over the AZs as ECS spreads them.
	tasks := map[string]*task{}
	perAZ := map[string]int{}
	servers := map[string]string{}
	wires := map[string]*wire{}
	for i := 0; i < m.desired; i++ {
		az := AZs[i%len(AZs)]
		perAZ[az]++
		blue := &task{name: fmt.Sprintf("%s%d", az, perAZ[az]), az: az, rev: 1, active: true}
		blue.addr = fmt.Sprintf("%s:%d", azIP(az), appPort0+perAZ[az]-1)
		green := &task{name: blue.name + "g", az: az, addr: fmt.Sprintf("%s:%d", azIP(az), appPort0+peerPortOffset+perAZ[az]-1)}
		blue.peer, green.peer = green, blue
		for _, t := range []*task{blue, green} {
			tasks[t.name] = t
			w, err := newWire(t.addr)
			if err != nil {
				return res, err
			}
			cleanup = append(cleanup, w.close)
			wires[t.name] = w
			servers[t.name] = w.addr()
		}
	}
	// Task definition revisions; 1 is the stack's own.
	defs := map[int]taskDef{1: {Rev: 1, Note: "the stack's task definition"}}
	startTask := func(t *task) error {
		e := append(append([]string(nil), env...), "APP_PORT="+strings.Split(t.addr, ":")[1])
		if m.appTLS != "" {
			e = append(e, "APP_TLS="+m.appTLS)
		}
		e = append(e, defs[t.rev].Env...)
		p, err := ps.start("task-"+t.name, filepath.Join(work, fmt.Sprintf("task-%s-%d.log", t.name, time.Now().UnixNano())), e,
			"nsenter", "--net=/run/netns/"+nsName(t.az), "--", bin)
		if err != nil {
			return err
		}
		t.p, t.started = p, time.Now()
		return nil
	}
	var initial []string
	for _, n := range sortedKeys(servers) {
		if !tasks[n].active {
			continue
		}
		initial = append(initial, n)
		if err = startTask(tasks[n]); err != nil {
			return res, err
		}
	}
	lb, base, err := startHAProxy(ps, work, m.tg, servers)
	if err != nil {
		return res, err
	}
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go lb.run(wctx)
	upLimit := time.Duration(m.tg.Interval*(m.tg.Healthy+1))*time.Second + 30*time.Second
	waitUp := func(names ...string) error {
		return poll(ctx, upLimit, 200*time.Millisecond, "targets "+strings.Join(names, ",")+" UP", func() (bool, error) {
			for _, n := range names {
				if lb.status(n) != "UP" {
					return false, nil
				}
			}
			return true, nil
		})
	}
	if err = waitUp(initial...); err != nil {
		return res, err
	}
	logf("%d tasks UP behind HAProxy %s: %s", len(initial), base, strings.Join(initial, " "))
	var scenNo atomic.Int64
	clock := modelClock{t0: time.Now(), scale: controlTimeScale}
	ecs := &ecsSupervisor{cfg: m.ecs, lb: lb, tasks: tasks, start: startTask, scenario: func() int { return int(scenNo.Load()) }, logf: logf,
		now: clock.now, defs: defs}
	ecs.deps = []*deployment{{ID: "ecs-svc/1000", Status: "PRIMARY", RolloutState: "COMPLETED", Rev: 1, CreatedAt: clock.now(), UpdatedAt: clock.now(), History: "SUCCESSFUL"}}
	go ecs.run(wctx)
	cp := &controlPlane{ids: m.ids, ecs: ecs, clock: clock, logf: logf, alarms: map[string]*alarmState{}, lock: map[string]map[string]any{}}
	api, closeAPI, err := cp.listen()
	if err != nil {
		return res, err
	}
	cleanup = append(cleanup, closeAPI)
	var scen []Scenario
	hc := &http.Client{Timeout: 6 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	for _, cr := range append(append([]*deskCred(nil), creds...), canaryCred) {
		if cr.token, err = clientCredentials(ctx, hc, issuer.TokenURL, cr.id, cr.secret); err != nil {
			return res, err
		}
	}

	// Issuer keys from the tasks' network: the first authenticated calls
	// make every task fetch the JWKS through the recorded egress.
	if only("issuer-keys-egress") {
		scenNo.Store(int64(len(scen) + 1))
		s := Scenario{Key: "issuer-keys-egress", Name: "signing keys with the tasks' network as recorded (" + m.egress.String() + "), then a key rotation"}
		codes := map[int]int{}
		probe := &http.Client{Timeout: 20 * time.Second}
		for i := 0; i < 2*m.desired; i++ {
			code, err := postSession(ctx, probe, base, creds[0].token)
			if err != nil {
				codes[-1]++
				continue
			}
			codes[code]++
		}
		s.Checks = append(s.Checks, Check{Name: "authenticated calls answer 201", OK: codes[http.StatusCreated] == 2*m.desired,
			Detail: fmt.Sprintf("POST /sessions x%d: %v (status: count; -1 transport error); key set parameter reachable from tasks: %v; issuer reachable from tasks: %v",
				2*m.desired, codes, !fw["ssm"].walled.Load(), !fw["issuer"].walled.Load())})
		// Rotation: the issuer signs with a new key; the sync writes it
		// beside the old one; the first token with the new kid must be
		// accepted at once (a task re-reads the parameter on an unknown
		// kid), and tokens signed with the old key still verify.
		if err = issuer.RotateKey(); err != nil {
			return res, err
		}
		if err = syncKeys(); err != nil {
			return res, err
		}
		fresh, err := clientCredentials(ctx, hc, issuer.TokenURL, creds[0].id, creds[0].secret)
		if err != nil {
			return res, err
		}
		// The reader re-reads the parameter on an unknown kid at most
		// every MinRefresh (app/internal/auth, default 30 s): a task that
		// read it less than that ago answers 401 until then.
		rotated := time.Now()
		var accepted time.Duration
		oldOK, oldCalls := 0, 0
		_ = poll(ctx, keyRereadBound+5*time.Second, time.Second, "new key accepted on every task", func() (bool, error) {
			all := true
			for i := 0; i < m.desired; i++ {
				if ok, err := tokenAccepted(ctx, probe, base, fresh); err != nil || !ok {
					all = false
				}
				oldCalls++
				if ok, err := tokenAccepted(ctx, probe, base, creds[0].token); err == nil && ok {
					oldOK++
				}
			}
			if all {
				accepted = time.Since(rotated)
			}
			return all, nil
		})
		s.Figures = append(s.Figures, Figure{Name: "new signing key accepted after rotation", Measured: accepted, Model: keyRereadBound, Resolution: time.Second,
			Source: "the key sync wrote the key; a task re-reads the parameter on an unknown kid at most every 30 s (auth MinRefresh)"})
		s.Checks = append(s.Checks,
			Check{Name: "tokens with the new key are accepted within the re-read bound", OK: accepted > 0, Detail: fmt.Sprintf("after %.1fs", accepted.Seconds())},
			Check{Name: "tokens with the old key keep working through the rotation", OK: oldOK == oldCalls, Detail: fmt.Sprintf("%d of %d accepted", oldOK, oldCalls)})
		s.Replacements = len(ecs.replacements(len(scen) + 1))
		if fw["issuer"].walled.Load() {
			fw["issuer"].walled.Store(false)
			s.Notes = append(s.Notes, "the wall to the issuer is lifted after this scenario so the other scenarios can measure their rows")
		}
		scen = append(scen, s)
		scenNo.Store(0)
	}

	// Desks.
	d := &desks{base: base, http: hc, retries: opts.ClientAttempts, runID: randToken()[:8]}
	for _, cr := range creds {
		if err = d.openSession(ctx, cr); err != nil {
			return res, err
		}
	}
	lctx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i, cr := range creds {
		wg.Add(1)
		go func() { defer wg.Done(); d.run(lctx, i, cr) }()
	}
	stopDesks := func() { stopLoad(); wg.Wait() }
	defer stopDesks()

	// settle waits until the client has seen quiet for a while after t0
	// and cond holds, bounded by limit.
	settle := func(t0 time.Time, limit time.Duration, cond func() bool) error {
		return poll(ctx, limit, 200*time.Millisecond, "recovery", func() (bool, error) {
			fail, ok := d.lastFailure()
			quiet := time.Since(t0) > 3*time.Second && (fail.Before(t0) || time.Since(fail) > 4*time.Second) && time.Since(ok) < time.Second
			return quiet && (cond == nil || cond()), nil
		})
	}
	sleep := func(dur time.Duration) {
		select {
		case <-ctx.Done():
		case <-time.After(dur):
		}
	}
	// The app rows are held to their out-of-rotation figure (Detection):
	// their mitigated adds the ALB idle timeout and the ALB DNS TTL, tails
	// the twin does not have (no DNS locally; a killed task's connections
	// reset at once).
	appModel := func(r resilience.Row) time.Duration { return r.Detection }
	dataLocal := localFO + (m.aurora.Mitigated - m.aurora.Detection)
	begin := func() int {
		n := len(scen) + 1
		scenNo.Store(int64(n))
		d.scenario.Store(int64(n))
		return n
	}
	end := func() { scenNo.Store(0); d.scenario.Store(0) }
	var promoted time.Duration
	var t0 time.Time
	promotedFrom := func(prim string) func() bool {
		promoted = 0
		return func() bool {
			if promoted > 0 {
				return true
			}
			// The other data node takes writes (probed directly, as the
			// service's read-write connection would find it).
			for _, az := range []string{"a", "b"} {
				if az != prim && pg.writable(ctx, az) {
					promoted = time.Since(t0)
				}
			}
			return promoted > 0
		}
	}
	allUp := func() bool {
		for _, n := range ecs.live() {
			if lb.status(n) != "UP" {
				return false
			}
		}
		return true
	}
	noReplacement := func(n int, what string) Check {
		rs := ecs.replacements(n)
		return Check{Name: "tasks stay in service (ECS replacements 0)", OK: len(rs) == 0,
			Detail: fmt.Sprintf("%d replaced%s: %s", len(rs), what, summarize(rs, t0))}
	}

	// 1. one task killed: ECS sees the task stop and replaces it.
	if only("task-killed") {
		victim := tasks[ecs.live()[0]]
		n := begin()
		sleep(2 * time.Second)
		t0 = time.Now()
		victim.p.kill()
		logf("scenario %d: SIGKILL task %s", n, victim.name)
		limit := 2*appModel(m.task) + 20*time.Second
		if err = settle(t0, limit, func() bool { _, out := lb.downAfter(t0, []string{victim.name})[victim.name]; return out }); err != nil {
			return res, fmt.Errorf("scenario task-killed: %w", err)
		}
		s := Scenario{Key: "task-killed", Name: "one task killed (SIGKILL " + victim.name + "; the ECS supervisor replaces it)"}
		ej := lb.downAfter(t0, []string{victim.name})
		s.Figures = append(s.Figures, Figure{Name: "out of rotation " + victim.name, Measured: ej[victim.name], Model: m.task.Detection, Resolution: statsResolution, Source: "resilience " + m.task.Failure + ": " + m.task.Basis})
		if err = waitUp(victim.name); err != nil {
			return res, err
		}
		rs := ecs.replacements(n)
		s.Replacements = len(rs)
		s.Checks = append(s.Checks, Check{Name: "ECS replaced the stopped task once", OK: len(rs) == 1, Detail: summarize(rs, t0)})
		scen = append(scen, s)
		end()
		logf("scenario %d: replacement %s UP after %.1fs", n, victim.name, time.Since(t0).Seconds())
	}

	// 2. AZ lost: tasks and the database primary; the AZ comes back and
	// the old primary rejoins inside the scenario.
	if only("az-lost") {
		prim, err := pg.waitSteady(ctx, 120*time.Second)
		if err != nil {
			return res, err
		}
		var azTasks []string
		for _, n := range ecs.live() {
			if tasks[n].az == prim {
				azTasks = append(azTasks, n)
			}
		}
		n := begin()
		sleep(2 * time.Second)
		t0 = time.Now()
		if err = cutAZ(ctx, prim); err != nil {
			return res, err
		}
		logf("scenario %d: AZ %s cut off (tasks %v, database primary)", n, prim, azTasks)
		promotedTo := promotedFrom(prim)
		limit := 2*max(appModel(m.azApp), dataLocal) + 20*time.Second
		if err = settle(t0, limit, func() bool {
			return promotedTo() && len(lb.downAfter(t0, azTasks)) == len(azTasks)
		}); err != nil {
			return res, fmt.Errorf("scenario az-lost: %w", err)
		}
		s := Scenario{Key: "az-lost", Name: "AZ " + prim + " lost (namespace cut off: tasks " + strings.Join(azTasks, ",") + " and the database primary), then back with the old primary rejoining"}
		ej := lb.downAfter(t0, azTasks)
		for _, t := range azTasks {
			s.Figures = append(s.Figures, Figure{Name: "HAProxy ejection " + t, Measured: ej[t], Model: m.azApp.Detection, Resolution: statsResolution + relaySlack, Source: "resilience " + m.azApp.Failure + ": " + m.azApp.Basis})
		}
		s.Figures = append(s.Figures,
			Figure{Name: "database promotion", Measured: promoted, Model: localFO, Source: "pg_auto_failover monitor settings in effect (local constant for AuroraFailover)"},
			Figure{Name: "Aurora row (AWS, not measured here)", Model: m.aurora.Mitigated, Source: "resilience " + m.aurora.Failure + ": " + m.aurora.Basis, Info: true})
		s.Notes = append(s.Notes, fmt.Sprintf("client window model: max(app tier %s, data tier local %s = failover %s + endpoint/app retry %s from the Aurora row); the window covers the rejoin too",
			m.azApp.Detection, dataLocal, localFO, m.aurora.Mitigated-m.aurora.Detection))
		s.Figures = append(s.Figures, Figure{Name: "client error window", Model: max(m.azApp.Detection, dataLocal), Source: "max(app tier row, data tier local)"})
		if err = restoreAZ(ctx, prim); err != nil {
			return res, err
		}
		tr := time.Now()
		if err = pg.waitState(ctx, 120*time.Second, map[string]string{prim: "secondary"}); err != nil {
			return res, fmt.Errorf("AZ %s rejoin: %w", prim, err)
		}
		logf("scenario %d: AZ %s back, old primary secondary after %.1fs", n, prim, time.Since(tr).Seconds())
		if err = settle(tr, upLimit+30*time.Second, allUp); err != nil {
			return res, fmt.Errorf("scenario az-lost, after rejoin: %w", err)
		}
		var outside []replacement
		for _, r := range ecs.replacements(n) {
			if tasks[r.Task].az != prim {
				outside = append(outside, r)
			}
		}
		s.Replacements = len(ecs.replacements(n))
		s.Checks = append(s.Checks, Check{Name: "tasks outside AZ " + prim + " stay in service", OK: len(outside) == 0,
			Detail: fmt.Sprintf("%d replaced outside the lost AZ: %s (all replacements %d)", len(outside), summarize(outside, t0), s.Replacements)})
		scen = append(scen, s)
		end()
		logf("scenario %d: tasks UP after %.1fs", n, time.Since(t0).Seconds())
	}

	// 3. database writer crashes with the fleet behind the balancer; the
	// old primary is started again and rejoins inside the scenario.
	if only("db-writer-failover") {
		prim, err := pg.waitSteady(ctx, 120*time.Second)
		if err != nil {
			return res, err
		}
		n := begin()
		sleep(2 * time.Second)
		t0 = time.Now()
		pg.nodes[prim].kill()
		logf("scenario %d: SIGKILL database primary in AZ %s (pg_autoctl and postgres)", n, prim)
		if err = settle(t0, 2*dataLocal+20*time.Second, promotedFrom(prim)); err != nil {
			return res, fmt.Errorf("scenario db-writer-failover: %w", err)
		}
		s := Scenario{Key: "db-writer-failover", Name: "database writer crash (primary in AZ " + prim + " killed, fleet behind the balancer), then the old primary rejoins"}
		s.Figures = append(s.Figures,
			Figure{Name: "database promotion", Measured: promoted, Model: localFO, Source: "pg_auto_failover monitor settings in effect"},
			Figure{Name: "client error window", Model: dataLocal, Source: "Aurora row shape, local failover: " + localFO.String() + " + " + (m.aurora.Mitigated - m.aurora.Detection).String()},
			Figure{Name: "Aurora row (AWS, not measured here)", Model: m.aurora.Mitigated, Source: "resilience " + m.aurora.Failure + ": " + m.aurora.Basis, Info: true})
		// Let the supervisor act on what the balancer saw before the rejoin.
		sleep(m.ecs.Grace/4 + time.Duration(m.tg.Interval*m.tg.Healthy)*time.Second)
		if err = pg.restartNode(prim); err != nil {
			return res, err
		}
		tr := time.Now()
		if err = pg.waitState(ctx, 120*time.Second, map[string]string{prim: "secondary"}); err != nil {
			return res, fmt.Errorf("old primary %s rejoin: %w", prim, err)
		}
		logf("scenario %d: old primary %s secondary after %.1fs", n, prim, time.Since(tr).Seconds())
		if err = settle(tr, upLimit+30*time.Second, allUp); err != nil {
			return res, fmt.Errorf("scenario db-writer-failover, after rejoin: %w", err)
		}
		s.Replacements = len(ecs.replacements(n))
		s.Checks = append(s.Checks, noReplacement(n, ""))
		scen = append(scen, s)
		end()
	}
	// A gray AZ: every byte toward AZ c's tasks is delayed by grayDelay
	// while their health checks keep passing. The balancer keeps routing
	// to them; the question is whether the stack's own alarms, evaluated
	// over what the balancer measured per AZ, name the AZ (and only it).
	if only("gray-az") {
		gray := "c"
		var grayTasks []string
		for _, nm := range ecs.live() {
			if tasks[nm].az == gray {
				grayTasks = append(grayTasks, nm)
			}
		}
		// Gray: slower than the stack's own p99 threshold, faster than the
		// health check's timeout, so the checks keep passing.
		grayDelay := (m.p99Threshold + time.Duration(m.tg.Timeout*float64(time.Second))) / 2
		n := begin()
		sleep(2 * time.Second)
		t0 = time.Now()
		for _, nm := range grayTasks {
			wires[nm].delay.Store(int64(grayDelay))
		}
		logf("scenario %d: AZ %s gray: %s added toward tasks %v", n, gray, grayDelay, grayTasks)
		sleep(grayFor)
		t1 := time.Now()
		for _, nm := range grayTasks {
			wires[nm].delay.Store(0)
		}
		if err = settle(t1, upLimit+30*time.Second, allUp); err != nil {
			return res, fmt.Errorf("scenario gray-az: %w", err)
		}
		down := lb.downAfter(t0, ecs.live())
		// The first seconds carry requests accepted before the delay.
		stats, err := azStatsFromLog(filepath.Join(work, "haproxy.log"), t0.Add(2*time.Second), t1)
		if err != nil {
			return res, err
		}
		data := map[string]float64{}
		var seen []string
		for _, az := range AZs {
			z, st := m.zone(az), stats[az]
			data["RequestCount/Sum@"+z] = float64(st.Requests)
			data["HTTPCode_Target_5XX_Count/Sum@"+z] = float64(st.Target5xx)
			data["TargetResponseTime/p99@"+z] = st.P99.Seconds()
			seen = append(seen, fmt.Sprintf("%s (%s): %d requests, %d 5xx, p99 %s", az, z, st.Requests, st.Target5xx, st.P99))
		}
		var firing []string
		grayAlarms := 0
		detect := time.Duration(0)
		for _, a := range m.zonal {
			fired, err := a.fires(data)
			if err != nil {
				return res, err
			}
			if strings.Contains(a.Name, "-"+m.zone(gray)+"-") {
				grayAlarms++
			}
			if fired {
				firing = append(firing, a.Name)
				detect = max(detect, time.Duration(a.Period*a.Datapoints)*time.Second+resilience.AlarmEvaluationDelay)
			}
		}
		sort.Strings(firing)
		named := len(firing) > 0
		for _, f := range firing {
			named = named && strings.Contains(f, "-"+m.zone(gray)+"-")
		}
		s := Scenario{Key: "gray-az", Name: fmt.Sprintf("AZ %s gray (%s added toward its tasks %s for %s; health checks still pass)", gray, grayDelay, strings.Join(grayTasks, ","), grayFor)}
		s.Checks = append(s.Checks,
			Check{Name: "health checks keep passing (a gray AZ, not a dark one)", OK: len(down) == 0, Detail: fmt.Sprintf("out of rotation: %v", down)},
			noReplacement(n, ""),
			Check{Name: "the stack's per-AZ alarms name AZ " + gray + " and only it", OK: grayAlarms > 0 && named,
				Detail: fmt.Sprintf("%d recorded per-AZ outlier alarm(s) for %s; firing over the measured series: %v; measured: %s",
					grayAlarms, m.zone(gray), firing, strings.Join(seen, "; "))})
		if detect > 0 {
			s.Figures = append(s.Figures, Figure{Name: "per-AZ alarm in ALARM (alarm arithmetic, not measured)", Model: detect, Info: true,
				Source: "recorded period x datapoints + evaluation delay; then a person starts the zonal shift (docs/runbooks.md)"})
		}
		s.Figures = append(s.Figures, Figure{Name: "client error window", Model: m.task.Detection, Source: "a gray AZ is slow, not failing: no request should fail"})
		s.Notes = append(s.Notes, "the shift away from the AZ is a person's (ARC zonal shift): the twin checks that the page names the AZ, not how fast someone acts on it")
		s.Replacements = len(ecs.replacements(n))
		scen = append(scen, s)
		end()
	}

	// 5. the sessions table unreachable (a black hole: requests on open
	// connections go unanswered too) while the desks trade: the balancer's
	// check must stay green, no task may be replaced, and a session request
	// must be answered 503 with Retry-After well inside the load
	// balancer's idle timeout (or the client sees the ALB's 504 instead).
	if only("sessions-down") {
		n := begin()
		sleep(2 * time.Second)
		t0 = time.Now()
		fw["dynamo"].stalled.Store(true)
		logf("scenario %d: sessions table unreachable for %s", n, sessionsOutage)
		idle := time.Duration(m.tg.IdleTimeout * float64(time.Second))
		probe := &http.Client{Timeout: idle + 10*time.Second}
		var answers []string
		var slowest time.Duration
		answered503 := 0
		probes := 0
		for time.Since(t0) < sessionsOutage && ctx.Err() == nil {
			ps := time.Now()
			code, retryAfter, err := postSessionAnswer(ctx, probe, base, creds[0].token)
			took := time.Since(ps)
			slowest = max(slowest, took)
			probes++
			switch {
			case err != nil:
				answers = append(answers, fmt.Sprintf("error after %.1fs", took.Seconds()))
			default:
				answers = append(answers, fmt.Sprintf("%d (Retry-After %q) after %.1fs", code, retryAfter, took.Seconds()))
				if code == http.StatusServiceUnavailable && retryAfter != "" && took < dependencyAnswer {
					answered503++
				}
			}
			sleep(time.Second)
		}
		fw["dynamo"].stalled.Store(false)
		tr := time.Now()
		logf("scenario %d: sessions table back after %.1fs", n, tr.Sub(t0).Seconds())
		var back time.Duration
		if err = poll(ctx, 60*time.Second, 500*time.Millisecond, "sessions answer 201 again", func() (bool, error) {
			code, err := postSession(ctx, probe, base, creds[0].token)
			if err == nil && code == http.StatusCreated {
				back = time.Since(tr)
				return true, nil
			}
			return false, nil
		}); err != nil {
			return res, fmt.Errorf("scenario sessions-down: %w", err)
		}
		if err = settle(tr, upLimit+30*time.Second, allUp); err != nil {
			return res, fmt.Errorf("scenario sessions-down, after the outage: %w", err)
		}
		down := lb.downAfter(t0, ecs.live())
		s := Scenario{Key: "sessions-down", Name: fmt.Sprintf("sessions table unreachable for %s while the desks trade (a dependency outage)", sessionsOutage)}
		s.Figures = append(s.Figures,
			Figure{Name: "slowest session answer in the outage", Measured: slowest, Model: dependencyAnswer,
				Source: fmt.Sprintf("answered per request well inside the ALB idle timeout %s", idle)},
			Figure{Name: "sessions back after the outage", Measured: back, Model: 10 * time.Second, Source: "a new request after the table is back (no task restart)"},
			Figure{Name: "client error window", Model: sessionsOutage + dependencyAnswer + m.task.Detection, Info: true,
				Source: "orders need the session: cached sessions keep trading, others fail until the table is back"})
		s.Checks = append(s.Checks,
			Check{Name: "balancer keeps every task in rotation", OK: len(down) == 0, Detail: fmt.Sprintf("out of rotation: %v", down)},
			noReplacement(n, ""),
			Check{Name: "session requests answered 503 with Retry-After within " + dependencyAnswer.String(), OK: probes > 0 && answered503 == probes,
				Detail: fmt.Sprintf("%d of %d: %s", answered503, probes, strings.Join(answers, "; "))})
		s.Replacements = len(ecs.replacements(n))
		scen = append(scen, s)
		end()
	}
	// A deploy of a build that passes health but fails orders, with the
	// recovery runbook in the loop: the canary (on the recorded schedule)
	// feeds the recorded canary-success alarm, a member of the paging
	// composite; on ALARM the recovery runbook's recorded definition runs
	// against the ECS supervisor. onCallFix: on-call deploys a fix the
	// moment the alarm fires, before the runbook judges.
	badDeploy := func(key string, onCallFix bool) error {
		n := begin()
		sleep(2 * time.Second)
		t0 = time.Now()
		c := m.canary
		ecs.mu.Lock()
		rev := len(ecs.defs) + 1
		ecs.mu.Unlock()
		bad := taskDef{Rev: rev, Env: []string{"SESSIONS_TABLE=gameday-sessions-renamed"},
			Note: "a build that passes health but reads a sessions table that does not exist"}
		dBad := ecs.deploy(bad)
		tDeploy := clock.now()
		var points []*float64
		cctx, stopCanary := context.WithCancel(ctx)
		defer stopCanary()
		alarmed := make(chan time.Time, 1)
		canaryRuns := 0
		go func() {
			fired := false
			every(cctx, clock.real(c.Every), func() {
				v := 0.0
				if canaryJourney(cctx, hc, base, canaryCred, fmt.Sprintf("gd-canary-%s-%d", d.runID, canaryRuns)) {
					v = 100
				}
				canaryRuns++
				points = append(points, &v)
				state := "OK"
				if c.breached(points) {
					state = "ALARM"
				}
				cp.setAlarm(c.Name, state)
				if state == "ALARM" && !fired {
					fired = true
					alarmed <- time.Now()
				}
			})
		}()
		budget := clock.real(15*time.Minute) + 2*upLimit
		var tAlarm time.Time
		select {
		case tAlarm = <-alarmed:
		case <-time.After(budget):
			return fmt.Errorf("scenario %s: the canary alarm did not fire within %s", key, budget)
		case <-ctx.Done():
			return ctx.Err()
		}
		alarmModel := clock.now()
		// On-call deploys the fix while the runbook runs: once it has
		// judged the bad deploy and reads the history for the version to
		// roll back to (or, a runbook without that step, as it first
		// updates the service), before it acts.
		var fix *deployment
		var fixOnce sync.Once
		if onCallFix {
			cp.mu.Lock()
			cp.before = func(action string) {
				if action == "ecs:listServiceDeployments" || action == "ecs:updateService" {
					fixOnce.Do(func() { fix = ecs.deploy(taskDef{Rev: rev + 1, Note: "on-call's fix (the stack's settings)"}) })
				}
			}
			cp.mu.Unlock()
		}
		calls0 := len(cp.callsSince(0))
		runs, err := cp.startRunbook(ctx, opts.Dir, work, api, c.Name+" in ALARM: "+ecs.primaryNote())
		if err != nil {
			return err
		}
		var r runbookRun
		select {
		case r = <-runs:
		case <-time.After(budget):
			return fmt.Errorf("scenario %s: the recovery runbook did not finish within %s", key, budget)
		}
		calls := cp.callsSince(calls0)
		cp.mu.Lock()
		cp.before = nil
		cp.mu.Unlock()
		logf("scenario %d: recovery runbook %s: %s (%d SDK calls)", n, r.Status, r.outcome(), len(calls))
		// Customers served again: the desks see quiet, bounded.
		if err = settle(r.Ended, upLimit+2*clock.real(c.Every)+30*time.Second, nil); err != nil {
			logf("scenario %d: customers not served again: %v", n, err)
		}
		stopCanary()
		ecs.mu.Lock()
		final := *ecs.primary()
		ecs.mu.Unlock()
		updated := 0
		for _, cl := range calls {
			if strings.HasSuffix(cl, "ecs:updateService") {
				updated++
			}
		}
		s := Scenario{Key: key, ImpactExpected: true}
		s.Figures = append(s.Figures,
			Figure{Name: "client error window", Model: clock.real(15 * time.Minute),
				Source: fmt.Sprintf("bad deployment budget 15 min on the model clock (x1/%d)", controlTimeScale)},
			Figure{Name: "canary alarm after the deploy (model time)", Measured: alarmModel.Sub(tDeploy), Model: 15 * time.Minute, Info: true,
				Source: fmt.Sprintf("recorded canary every %s, alarm %d of %d x %s", c.Every, c.ToAlarm, c.Evaluation, c.Period)},
			Figure{Name: "runbook started to finished (model time)", Measured: time.Duration(float64(r.Ended.Sub(r.Started)) * clock.scale), Model: 15 * time.Minute, Info: true,
				Source: "recorded definition, waits x1/" + strconv.Itoa(controlTimeScale)})
		if !onCallFix {
			s.Name = fmt.Sprintf("deploy of a build that passes health and fails orders (revision %d), recovery runbook in the loop", rev)
			s.Checks = append(s.Checks,
				Check{Name: "the bad build passed health (ECS completed its deployment)", OK: ecs.deploymentState(dBad.ID).History != "IN_PROGRESS" && ecs.deploymentState(dBad.ID).RolloutState != "FAILED",
					Detail: fmt.Sprintf("deployment %s: %s", dBad.ID, ecs.deploymentState(dBad.ID).RolloutState)},
				Check{Name: "the canary alarm (a paging composite member) fired", OK: c.CompositeMember, Detail: fmt.Sprintf("%s at +%.1fs", c.Name, tAlarm.Sub(t0).Seconds())},
				Check{Name: "recovery rolled back to the previous revision and reports RECOVERED", OK: updated == 1 && final.Rev < rev && final.RolloutState == "COMPLETED" && r.outcome() == "NotifyRecovered",
					Detail: fmt.Sprintf("runbook %s, outcome %s, UpdateService x%d, PRIMARY now revision %d (%s); states %s", r.Status, r.outcome(), updated, final.Rev, final.RolloutState, strings.Join(r.States, " > "))})
		} else {
			s.Name = fmt.Sprintf("on-call deploys a fix (revision %d) while the recovery runbook runs on a bad deploy (revision %d): after it judged, before it rolls back", rev+1, rev)
			fixID := ""
			if fix != nil {
				fixID = fix.ID
			}
			s.Checks = append(s.Checks,
				Check{Name: "the fix stays deployed (the runbook does not roll it back)", OK: fix != nil && updated == 0 && final.ID == fixID,
					Detail: fmt.Sprintf("runbook %s, outcome %s, UpdateService x%d, PRIMARY %s revision %d (%s)", r.Status, r.outcome(), updated, final.ID, final.Rev, final.RolloutState)})
		}
		s.Notes = append(s.Notes, "control loop at 1/"+strconv.Itoa(controlTimeScale)+" of the stack's time (canary schedule, alarm periods, runbook waits, the 30-minute deployment window); tasks and health checks in real time; figures marked model time are on the stack's clock")
		s.Replacements = len(ecs.replacements(n))
		scen = append(scen, s)
		end()
		return nil
	}
	if only("bad-deploy") {
		if err = badDeploy("bad-deploy", false); err != nil {
			return res, err
		}
	}
	if only("oncall-fix") {
		if err = badDeploy("oncall-fix", true); err != nil {
			return res, err
		}
	}

	sleep(time.Second)
	stopDesks()
	_ = appModel

	// Verdict: windows, then every acknowledged order against the database
	// and the bus.
	attempts, orders := d.snapshot()
	for i := range scen {
		w, failed := window(attempts, i+1)
		scen[i].Failed, scen[i].FailedAnswers = failed, answers(attempts, i+1)
		for j := range scen[i].Figures {
			if scen[i].Figures[j].Name == "client error window" {
				scen[i].Figures[j].Measured = w
			}
		}
		if scen[i].Window().Name == "" {
			model := m.task.Detection
			scen[i].Figures = append(scen[i].Figures, Figure{Name: "client error window", Measured: w, Model: model, Source: "resilience " + m.task.Failure})
		}
	}
	stored, err := storedOrders(ctx, deskIDs)
	if err != nil {
		return res, err
	}
	// Drain: every stored order should reach the bus (bounded).
	var published map[string]bool
	_ = poll(ctx, 30*time.Second, 500*time.Millisecond, "outbox drain", func() (bool, error) {
		published = map[string]bool{}
		for _, e := range bus.Events() {
			var dt struct {
				OrderID string `json:"order_id"`
			}
			if json.Unmarshal([]byte(e.Detail), &dt) == nil {
				published[dt.OrderID] = true
			}
		}
		for _, ids := range stored {
			for _, id := range ids {
				if !published[id] {
					return false, nil
				}
			}
		}
		return true, nil
	})
	for _, o := range orders {
		if o.Scenario < 1 || o.Scenario > len(scen) {
			continue
		}
		s := &scen[o.Scenario-1]
		s.Orders++
		ids := stored[o.Desk+"/"+o.Key]
		s.Stored += len(ids)
		// Duplicated: more than one stored row for one (trader, key),
		// whatever key_active says.
		if len(ids) > 1 {
			s.Duplicated += len(ids) - 1
		}
		for _, id := range ids {
			if !published[id] {
				s.EventsMissed++
			}
		}
		if o.OrderID == "" {
			s.GaveUp++
			continue
		}
		s.Acked++
		// Lost: acknowledged (201 with an order id) but no stored row for
		// (trader, key) carries that id.
		found := false
		for _, id := range ids {
			found = found || id == o.OrderID
		}
		if !found {
			s.Lost++
		}
	}
	res.Scenarios = scen
	return res, nil
}

// storedOrders maps "desk/key" to the stored order ids, read from the
// current writer (multi-host, read-write).
func storedOrders(ctx context.Context, desks []string) (map[string][]string, error) {
	url := fmt.Sprintf("postgres://postgres@%s:%d,%s:%d/%s?sslmode=require&target_session_attrs=read-write&connect_timeout=3",
		azIP("a"), pgPort, azIP("b"), pgPort, dbName)
	var out map[string][]string
	err := poll(ctx, 30*time.Second, time.Second, "read stored orders", func() (bool, error) {
		conn, err := connect(ctx, url)
		if err != nil {
			return false, nil
		}
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, "select trader_id, idempotency_key, order_id::text from orders where trader_id = any($1) order by created_at", desks)
		if err != nil {
			return false, nil
		}
		out = map[string][]string{}
		for rows.Next() {
			var t, k, id string
			if err := rows.Scan(&t, &k, &id); err != nil {
				return false, err
			}
			out[t+"/"+k] = append(out[t+"/"+k], id)
		}
		return rows.Err() == nil, nil
	})
	return out, err
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// recordedAppTLS reads APP_TLS from the recorded service task definition's
// containers (key "app"; the migrate task has its own): the twin's tasks
// serve as the stack's do, so a target group and a container that disagree
// leave no task healthy here as in AWS.
func recordedAppTLS(rec *offline.Recording) (string, error) {
	td, err := rec.One("aws:ecs/taskDefinition:TaskDefinition", "app")
	if err != nil {
		return "", fmt.Errorf("the service's task definition: %w", err)
	}
	raw, _ := td.Input("containerDefinitions").(string)
	var defs []struct {
		Environment []struct{ Name, Value string } `json:"environment"`
	}
	if err := json.Unmarshal([]byte(raw), &defs); err != nil {
		return "", fmt.Errorf("the service's container definitions: %w", err)
	}
	for _, d := range defs {
		for _, kv := range d.Environment {
			if kv.Name == "APP_TLS" {
				return kv.Value, nil
			}
		}
	}
	return "", nil
}

package gameday

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// ecsConfig is what the recorded aws:ecs/service:Service sets for the
// supervisor.
type ecsConfig struct {
	Desired, MinHealthyPercent, MaxPercent int
	Grace                                  time.Duration
	// Breaker and Rollback are deploymentCircuitBreaker.enable/rollback.
	Breaker, Rollback bool
}

// breakerThreshold is the circuit breaker's failure threshold: 0.5 x
// desired count, at least 3 and at most 200 (ECS API Reference,
// "ServiceDeploymentCircuitBreaker": threshold).
func (c ecsConfig) breakerThreshold() int {
	return min(max((c.Desired+1)/2, 3), 200)
}

// taskDef is one task definition revision of the twin: the service binary
// with settings on top of the stack's (a bad build is the same binary
// with a broken setting, as a bad task definition revision is).
type taskDef struct {
	Rev  int
	Env  []string
	Note string
}

// task is one ECS task of the twin: the real service binary in an AZ's
// namespace, behind one HAProxy server slot. Each slot has two server
// entries, the task's and its peer's (name + "g"), so a rolling deployment
// starts the new task beside the old one, as ECS does with maximum
// percent 200.
type task struct {
	name, az, addr string
	p              *proc
	started        time.Time
	rev            int    // task definition revision it runs
	active         bool   // the slot's registered task
	deployment     string // the deployment that started it
	peer           *task
}

// deployment is one ECS service deployment as DescribeServices and the
// service deployment history report it.
type deployment struct {
	ID, Status, RolloutState, Reason string
	Rev                              int
	CreatedAt, UpdatedAt             time.Time
	Failures                         int
	// Force replaces every task, also those already on Rev
	// (UpdateService with forceNewDeployment).
	Force bool
	// History is the service deployment's status in
	// ListServiceDeployments (IN_PROGRESS, SUCCESSFUL, STOPPED,
	// ROLLBACK_SUCCESSFUL ...).
	History string
}

// modelClock maps the twin's wall clock to the stack's. The control loop
// the stack sets in minutes (alarm periods, the canary schedule, the
// recovery runbook's waits and its recent-deployment window) runs scale
// times faster in the twin, so every time the twin reports to a runbook is
// t0 + scale x elapsed, and a figure read from it is in the stack's time.
// Tasks, health checks and the database run in real time: a task start of
// 8 s reads as 8 x scale on this clock, which is why figures on it are
// printed as model-time and only the decisions (who acted, on what) are
// held, not the task-level timings.
type modelClock struct {
	t0    time.Time
	scale float64
}

func (c modelClock) now() time.Time {
	return c.t0.Add(time.Duration(float64(time.Since(c.t0)) * c.scale))
}

// real is how long d on the model clock takes on the wall clock.
func (c modelClock) real(d time.Duration) time.Duration { return time.Duration(float64(d) / c.scale) }

// replacement is one task the supervisor stopped and started again.
type replacement struct {
	At       time.Time
	Task     string
	Reason   string
	Scenario int
}

// ecsSupervisor plays ECS's service scheduler for the game day: it keeps
// the desired count running, replaces a task the load balancer reports
// unhealthy once the task is older than the health check grace period
// (ECS developer guide, "Health check grace period" and "Amazon ECS
// service load balancing": ECS stops a task whose target is unhealthy and
// starts a replacement), and rolls deployments out.
//
// The signal is HAProxy's own view read from its stats socket (lbWatch),
// not a second probe of the health check path: ECS acts on the target
// group's health state, and a probe of our own could disagree with the
// balancer (other timing, other timeout) and so replace tasks the
// balancer still routes to, or miss ones it has ejected.
//
// Replacement is in place (same slot, same AZ, same address): ECS would
// place the replacement in any AZ of the service's subnets. Minimum
// healthy percent is kept as ECS keeps it for unhealthy tasks: a task is
// stopped only if the running count stays at or above
// ceil(desired x min%/100), or maximum percent leaves room to start its
// replacement first; locally the stop and the start are back to back.
//
// A deployment (UpdateService) starts each slot's new task beside the old
// one; when the new target is healthy the old one is deregistered and
// stopped. A new task that stops, or stays unhealthy past the grace
// period, is a failure; the circuit breaker fails the deployment at
// breakerThreshold failures and, with rollback on, deploys the last
// completed revision; a task reaching a healthy state resets the count
// (resetOnHealthyTask, default true: ECS API Reference,
// "DeploymentCircuitBreaker"). A completed rollout leaves only the PRIMARY
// deployment in DescribeServices (Deployment.status INACTIVE: "a deployment
// that has been completely replaced"); every deployment stays in the
// service deployment history.
type ecsSupervisor struct {
	cfg      ecsConfig
	lb       *lbWatch
	tasks    map[string]*task // by server name, both colours
	start    func(*task) error
	scenario func() int
	logf     func(string, ...any)
	now      func() time.Time // the model clock deployments are stamped with

	mu       sync.Mutex
	defs     map[int]taskDef
	deps     []*deployment // every deployment, oldest first
	replaced []replacement
	errs     []error
}

// minRunning is ceil(desired x minHealthyPercent / 100).
func (c ecsConfig) minRunning() int { return (c.Desired*c.MinHealthyPercent + 99) / 100 }

// maxRunning is floor(desired x maximumPercent / 100).
func (c ecsConfig) maxRunning() int { return c.Desired * c.MaxPercent / 100 }

// mayStop reports whether ECS would stop one more task now, with running
// tasks alive and inFlight replacements being started.
func (c ecsConfig) mayStop(running, inFlight int) bool {
	return running-1 >= c.minRunning() || running+inFlight+1 <= c.maxRunning()
}

// run supervises until ctx ends, checking every 500 ms.
func (s *ecsSupervisor) run(ctx context.Context) { every(ctx, 500*time.Millisecond, s.step) }

// slots are the slots' first server names, sorted.
func (s *ecsSupervisor) slots() []string {
	var out []string
	for n := range s.tasks {
		if !strings.HasSuffix(n, "g") {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// activeOf is the slot's registered task.
func (s *ecsSupervisor) activeOf(slot string) *task {
	if t := s.tasks[slot]; t.active {
		return t
	}
	return s.tasks[slot].peer
}

// live returns the registered tasks' names, sorted.
func (s *ecsSupervisor) live() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, slot := range s.slots() {
		out = append(out, s.activeOf(slot).name)
	}
	sort.Strings(out)
	return out
}

// task returns a task by name.
func (s *ecsSupervisor) task(name string) *task {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tasks[name]
}

func (s *ecsSupervisor) step() {
	s.mu.Lock()
	defer s.mu.Unlock()
	running := 0
	for _, slot := range s.slots() {
		if t := s.activeOf(slot); t.p != nil && t.p.alive() {
			running++
		}
	}
	inFlight := 0
	d := s.primary()
	for _, slot := range s.slots() {
		t := s.activeOf(slot)
		reason := ""
		switch {
		case t.p == nil || !t.p.alive():
			reason = "task stopped"
		case strings.HasPrefix(s.lb.status(t.name), "DOWN") && time.Since(t.started) > s.cfg.Grace:
			if !s.cfg.mayStop(running, inFlight) {
				continue
			}
			reason = "unhealthy in target group after grace period"
			running--
		}
		if reason != "" {
			inFlight++
			s.replaced = append(s.replaced, replacement{At: time.Now(), Task: t.name, Reason: reason, Scenario: s.scenario()})
			s.logf("ecs: replacing %s (%s)", t.name, reason)
			if err := s.replace(t); err != nil {
				s.logf("ecs: %v", err)
				s.errs = append(s.errs, fmt.Errorf("replace %s: %w", t.name, err))
				continue
			}
			running++
		}
		if d != nil && d.RolloutState == "IN_PROGRESS" && s.stale(t, d) {
			s.roll(t, d)
		}
	}
	if d != nil && d.RolloutState == "IN_PROGRESS" {
		done := true
		for _, slot := range s.slots() {
			done = done && !s.stale(s.activeOf(slot), d)
		}
		if done {
			d.RolloutState, d.UpdatedAt, d.Reason = "COMPLETED", s.now(), "ECS deployment "+d.ID+" completed."
			d.History = "SUCCESSFUL"
			for _, o := range s.deps {
				if o != d && o.Status == "ACTIVE" {
					o.Status = "INACTIVE"
				}
			}
			s.logf("ecs: deployment %s (revision %d) completed", d.ID, d.Rev)
		}
	}
}

// replace stops t as ECS stops a task (its target deregistered first,
// then the task stopped) and starts its replacement, registered as a new
// target that must pass the healthy threshold before it takes traffic.
func (s *ecsSupervisor) replace(t *task) error {
	if err := s.lb.deregister(t.name); err != nil {
		return err
	}
	if t.p != nil && t.p.alive() {
		t.p.kill()
	}
	if err := s.start(t); err != nil {
		return err
	}
	return s.lb.register(t.name)
}

// stale reports whether deployment d still has to replace t.
func (s *ecsSupervisor) stale(t *task, d *deployment) bool {
	return t.rev != d.Rev || (d.Force && t.deployment != d.ID)
}

// roll advances deployment d on the slot whose registered task is cur.
func (s *ecsSupervisor) roll(cur *task, d *deployment) {
	nt := cur.peer
	if nt.p != nil && nt.p.alive() && nt.deployment != d.ID {
		// Left by a deployment this one superseded.
		_ = s.lb.deregister(nt.name)
		nt.p.kill()
		nt.p = nil
	}
	switch {
	case nt.p == nil:
		nt.rev, nt.deployment = d.Rev, d.ID
		if err := s.start(nt); err != nil {
			s.errs = append(s.errs, fmt.Errorf("deployment %s: start %s: %w", d.ID, nt.name, err))
			return
		}
		if err := s.lb.register(nt.name); err != nil {
			s.errs = append(s.errs, err)
		}
	case !nt.p.alive():
		s.failTask(d, nt, "task stopped")
	case s.lb.status(nt.name) == "UP":
		d.Failures = 0
		_ = s.lb.deregister(cur.name)
		if cur.p != nil && cur.p.alive() {
			cur.p.kill()
		}
		cur.p, cur.active, nt.active = nil, false, true
		s.logf("ecs: deployment %s: %s (revision %d) replaced %s (revision %d)", d.ID, nt.name, nt.rev, cur.name, cur.rev)
	case strings.HasPrefix(s.lb.status(nt.name), "DOWN") && time.Since(nt.started) > s.cfg.Grace:
		s.failTask(d, nt, "unhealthy in target group after grace period")
	}
}

// failTask counts a failed task of deployment d and trips the breaker.
func (s *ecsSupervisor) failTask(d *deployment, nt *task, why string) {
	_ = s.lb.deregister(nt.name)
	if nt.p != nil && nt.p.alive() {
		nt.p.kill()
	}
	nt.p = nil
	d.Failures++
	s.logf("ecs: deployment %s: %s failed (%s), %d of %d", d.ID, nt.name, why, d.Failures, s.cfg.breakerThreshold())
	if !s.cfg.Breaker || d.Failures < s.cfg.breakerThreshold() {
		return
	}
	d.RolloutState, d.UpdatedAt = "FAILED", s.now()
	d.Reason = fmt.Sprintf("ECS deployment circuit breaker: tasks failed to start (%d).", d.Failures)
	d.History = "STOPPED"
	if !s.cfg.Rollback {
		return
	}
	for i := len(s.deps) - 1; i >= 0; i-- {
		if p := s.deps[i]; p.History == "SUCCESSFUL" || p.History == "ROLLBACK_SUCCESSFUL" {
			d.History = "ROLLBACK_IN_PROGRESS"
			rb := s.newDeployment(p.Rev)
			rb.Reason = "rolling back to the last completed deployment " + p.ID
			d.Reason += " Rolling back to " + p.ID + "."
			return
		}
	}
}

// primary is the PRIMARY deployment (nil before the first).
func (s *ecsSupervisor) primary() *deployment {
	for i := len(s.deps) - 1; i >= 0; i-- {
		if s.deps[i].Status == "PRIMARY" {
			return s.deps[i]
		}
	}
	return nil
}

// newDeployment makes rev the PRIMARY deployment (UpdateService); the
// previous PRIMARY stays ACTIVE until the new one completes.
func (s *ecsSupervisor) newDeployment(rev int) *deployment {
	if p := s.primary(); p != nil {
		p.Status = "ACTIVE"
		if p.RolloutState == "IN_PROGRESS" {
			p.History = "STOPPED"
		}
	}
	d := &deployment{ID: fmt.Sprintf("ecs-svc/%d", 1000+len(s.deps)), Status: "PRIMARY", RolloutState: "IN_PROGRESS",
		Rev: rev, CreatedAt: s.now(), UpdatedAt: s.now(), History: "IN_PROGRESS"}
	s.deps = append(s.deps, d)
	s.logf("ecs: deployment %s of revision %d (%s)", d.ID, rev, s.defs[rev].Note)
	return d
}

// deploy registers def and deploys it (UpdateService with a new revision).
func (s *ecsSupervisor) deploy(def taskDef) *deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.defs[def.Rev] = def
	return s.newDeployment(def.Rev)
}

// primaryNote describes the PRIMARY deployment for a report.
func (s *ecsSupervisor) primaryNote() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.primary(); d != nil {
		return fmt.Sprintf("PRIMARY %s revision %d %s", d.ID, d.Rev, d.RolloutState)
	}
	return "no deployment"
}

// redeploy starts a new deployment of the PRIMARY's revision that
// replaces every task (forceNewDeployment).
func (s *ecsSupervisor) redeploy() *deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	rev := 1
	if p := s.primary(); p != nil {
		rev = p.Rev
	}
	d := s.newDeployment(rev)
	d.Force = true
	return d
}

// deploymentState is a copy of deployment id's state.
func (s *ecsSupervisor) deploymentState(id string) deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.deps {
		if d.ID == id {
			return *d
		}
	}
	return deployment{}
}

// replacements returns the replacements made during scenario sc.
func (s *ecsSupervisor) replacements(sc int) []replacement {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []replacement
	for _, r := range s.replaced {
		if r.Scenario == sc {
			out = append(out, r)
		}
	}
	return out
}

// summarize renders replacements as "a1 (reason) at +12.3s".
func summarize(rs []replacement, t0 time.Time) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, fmt.Sprintf("%s at +%.1fs (%s)", r.Task, r.At.Sub(t0).Seconds(), r.Reason))
	}
	return strings.Join(parts, "; ")
}

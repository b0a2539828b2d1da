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
}

// task is one ECS task of the twin: the real service binary in an AZ's
// namespace, behind one HAProxy server slot.
type task struct {
	name, az, addr string
	p              *proc
	started        time.Time
}

// replacement is one task the supervisor stopped and started again.
type replacement struct {
	At       time.Time
	Task     string
	Reason   string
	Scenario int
}

// ecsSupervisor plays ECS's service scheduler for the game day: it keeps
// the desired count running and replaces a task the load balancer reports
// unhealthy once the task is older than the health check grace period
// (ECS developer guide, "Health check grace period" and "Amazon ECS
// service load balancing": ECS stops a task whose target is unhealthy and
// starts a replacement).
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
type ecsSupervisor struct {
	cfg      ecsConfig
	lb       *lbWatch
	tasks    map[string]*task
	start    func(*task) error
	scenario func() int
	logf     func(string, ...any)

	mu       sync.Mutex
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
func (s *ecsSupervisor) run(ctx context.Context) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.step()
	}
}

func (s *ecsSupervisor) step() {
	names := make([]string, 0, len(s.tasks))
	for n := range s.tasks {
		names = append(names, n)
	}
	sort.Strings(names)
	running := 0
	for _, n := range names {
		if s.tasks[n].p != nil && s.tasks[n].p.alive() {
			running++
		}
	}
	inFlight := 0
	for _, n := range names {
		t := s.tasks[n]
		reason := ""
		switch {
		case t.p == nil || !t.p.alive():
			reason = "task stopped"
		case strings.HasPrefix(s.lb.status(n), "DOWN") && time.Since(t.started) > s.cfg.Grace:
			if !s.cfg.mayStop(running, inFlight) {
				continue
			}
			reason = "unhealthy in target group after grace period"
			running--
		default:
			continue
		}
		inFlight++
		s.mu.Lock()
		s.replaced = append(s.replaced, replacement{At: time.Now(), Task: n, Reason: reason, Scenario: s.scenario()})
		s.mu.Unlock()
		s.logf("ecs: replacing %s (%s)", n, reason)
		if err := s.replace(t); err != nil {
			s.logf("ecs: %v", err)
			s.mu.Lock()
			s.errs = append(s.errs, fmt.Errorf("replace %s: %w", n, err))
			s.mu.Unlock()
			continue
		}
		running++
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

package gameday

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/trading-ha/trading-ha/proof/listener"
)

// targetGroup is what the recorded aws:lb/targetGroup:TargetGroup sets.
type targetGroup struct {
	Interval, Timeout, Unhealthy, Healthy, Deregistration float64
	Path                                                  string
	// Protocol is the recorded target group's protocol, which its health
	// check uses too: HTTPS makes HAProxy speak TLS to every server, for
	// traffic and checks alike, without verifying the certificate, as the
	// ALB does not ("Target groups for your Application Load Balancers",
	// Routing configuration).
	Protocol string
	// edgeRules are the recorded HTTPS listener's rules as HAProxy
	// frontend lines (edgeRules).
	edgeRules string
	// IdleTimeout is the recorded load balancer's idleTimeout: an ALB
	// answers 504 when a target sends nothing for that long (ELB User
	// Guide, "Connection idle timeout"), so HAProxy's server timeout is set
	// to it and a hung request fails as an ALB client would see it.
	IdleTimeout float64
}

// haproxyConfig renders the ALB's role. The health check maps one to one:
// HAProxy checks every `inter`, marks a server DOWN after `fall`
// consecutive failed checks and UP after `rise` successful ones, a check
// failing after `timeout check` (HAProxy configuration manual, "fall" /
// "rise" / "inter": https://www.mail-archive.com/haproxy@formilux.org/msg01702.html
// quotes configuration.txt: "considered as dead after <count> consecutive
// unsuccessful health checks"). `retries 0` and no `option redispatch`:
// an ALB does not retry a request on another target when a target refuses
// or resets it, it answers 502/503/504, so neither may HAProxy — otherwise
// the client would see less than an ALB client does. The deregistration
// delay applies to draining (deregistered) targets only, which no scenario
// exercises; it is recorded, not rendered.
func haproxyConfig(tg targetGroup, listen, sock string, servers map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global\n  stats socket %s mode 600 level admin\n  log stderr format raw local0\n\n", sock)
	idle := tg.IdleTimeout
	if idle <= 0 {
		idle = 60 // the ALB's default idle timeout
	}
	fmt.Fprintf(&b, "defaults\n  mode http\n  log global\n  option httplog\n  retries 0\n  timeout connect 3s\n  timeout client %gs\n  timeout server %gs\n\n", idle, idle)
	fmt.Fprintf(&b, "frontend alb\n  bind %s\n%s  default_backend tasks\n\n", listen, tg.edgeRules)
	fmt.Fprintf(&b, "backend tasks\n  balance roundrobin\n  option httpchk GET %s\n  http-check expect status 200\n  timeout check %gs\n", tg.Path, tg.Timeout)
	tls := ""
	if tg.Protocol == "HTTPS" {
		// "ssl" ciphers the traffic to the server and its health checks
		// (HAProxy configuration manual, server options "ssl", "check-ssl").
		tls = " ssl verify none"
	}
	fmt.Fprintf(&b, "  default-server check inter %gs fall %g rise %g%s\n", tg.Interval, tg.Unhealthy, tg.Healthy, tls)
	// An ALB whose targets are all unhealthy fails open and routes to all
	// of them (ELB user guide, "Health checks for your target groups"):
	// each task is also an unchecked backup, used (all of them, allbackups)
	// only when every checked server is DOWN.
	b.WriteString("  option allbackups\n")
	names := sortedKeys(servers)
	// A slot's peer server (name + "g") starts in maintenance: it is the
	// place a deployment's new task registers.
	state := func(n string) string {
		if strings.HasSuffix(n, "g") {
			return " disabled"
		}
		return ""
	}
	for _, n := range names {
		fmt.Fprintf(&b, "  server %s %s%s\n", n, servers[n], state(n))
	}
	for _, n := range names {
		fmt.Fprintf(&b, "  server open-%s %s backup no-check%s\n", n, servers[n], state(n))
	}
	return b.String()
}

// lbWatch polls HAProxy's stats socket (`show stat`) and records each
// server's status changes.
type lbWatch struct {
	sock string
	mu   sync.Mutex
	last map[string]string
	log  []lbEvent
}

type lbEvent struct {
	At     time.Time
	Server string
	Status string
}

func (w *lbWatch) run(ctx context.Context) { every(ctx, 100*time.Millisecond, w.poll) }

// poll reads the stats socket once and records each server's change.
func (w *lbWatch) poll() {
	st, err := showStat(w.sock)
	if err != nil {
		return
	}
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	for s, status := range st {
		if w.last[s] != status {
			w.log = append(w.log, lbEvent{now, s, status})
			w.last[s] = status
		}
	}
}

// outOfRotation reports whether a stats status takes a server out of
// rotation: DOWN (failed checks) or MAINT (deregistered). "UP 1/2" (one
// failed check, still routed to) is in rotation.
func outOfRotation(status string) bool {
	return strings.HasPrefix(status, "DOWN") || strings.HasPrefix(status, "MAINT")
}

// downAfter is when each of servers was first reported out of rotation
// (DOWN or MAINT) after t0.
func (w *lbWatch) downAfter(t0 time.Time, servers []string) map[string]time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]time.Duration{}
	for _, e := range w.log {
		if e.At.Before(t0) || !outOfRotation(e.Status) {
			continue
		}
		for _, s := range servers {
			if e.Server == s {
				if _, seen := out[s]; !seen {
					out[s] = e.At.Sub(t0)
				}
			}
		}
	}
	return out
}

func (w *lbWatch) status(server string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last[server]
}

// deregister takes a server out of rotation at once, as ECS deregisters
// the target of a task it stops (HAProxy management guide, "set server
// <backend>/<server> state maint").
func (w *lbWatch) deregister(server string) error {
	if err := adminCommand(w.sock, "set server tasks/"+server+" state maint; set server tasks/open-"+server+" state maint"); err != nil {
		return err
	}
	w.record(server, "MAINT (deregistered)")
	return nil
}

// register puts a server back as a newly registered target: it starts
// unhealthy and takes `rise` passing checks before it is routed to, as a
// new ALB target takes the healthy threshold (ELB user guide, "Health
// checks for your target groups": a target registers in the initial state
// and becomes healthy after HealthyThresholdCount consecutive checks).
// Leaving maintenance restores the server's last check state, so both
// commands go in one line: HAProxy runs them back to back, before any
// request can be routed to the new task.
func (w *lbWatch) register(server string) error {
	if err := adminCommand(w.sock, "set server tasks/"+server+" state ready; set server tasks/"+server+" health down; set server tasks/open-"+server+" state ready"); err != nil {
		return err
	}
	w.record(server, "DOWN (registered)")
	return nil
}

// record notes a status change the twin made itself (deregistration and
// registration happen faster than the stats poll).
func (w *lbWatch) record(server, status string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.log = append(w.log, lbEvent{time.Now(), server, status})
	w.last[server] = status
}

// adminCommand sends one runtime API command; HAProxy answers an empty
// line on success and a message otherwise.
func adminCommand(sock, cmd string) error {
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte(cmd + "\n")); err != nil {
		return err
	}
	b, _ := io.ReadAll(c)
	if msg := strings.TrimSpace(string(b)); msg != "" {
		return fmt.Errorf("haproxy %q: %s", cmd, msg)
	}
	return nil
}

func showStat(sock string) (map[string]string, error) {
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("show stat\n")); err != nil {
		return nil, err
	}
	out := map[string]string{}
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ",")
		if len(f) > 17 && f[0] == "tasks" && f[1] != "BACKEND" && f[1] != "FRONTEND" {
			out[f[1]] = f[17]
		}
	}
	return out, nil
}

func startHAProxy(ps *procs, dir string, tg targetGroup, servers map[string]string) (*lbWatch, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	sock := filepath.Join(dir, "haproxy.sock")
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(haproxyConfig(tg, listen, sock, servers)), 0o644); err != nil {
		return nil, "", err
	}
	if _, err := ps.start("haproxy", filepath.Join(dir, "haproxy.log"), os.Environ(), "haproxy", "-db", "-f", cfg); err != nil {
		return nil, "", err
	}
	w := &lbWatch{sock: sock, last: map[string]string{}}
	err = poll(context.Background(), 10*time.Second, 100*time.Millisecond, "haproxy stats socket", func() (bool, error) {
		_, err := showStat(sock)
		return err == nil, nil
	})
	return w, "http://" + listen, err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// edgeRules renders the recorded listener's fixed-response rules in
// priority order, so a client of the twin gets what an ALB client gets
// before any task sees the request (the health paths' 404, the edge
// probe's 200). Forward rules that only precede the default forward need
// no line; any other shape is refused rather than rendered wrong.
func edgeRules(l listener.Listener) (string, error) {
	if l.Default.Type != "forward" {
		return "", fmt.Errorf("listener default action %s is not modelled", l.Default)
	}
	var b strings.Builder
	forwarded := ""
	for _, r := range l.Rules {
		switch {
		case r.Action.Type == "forward":
			forwarded = r.Name
			continue
		case forwarded != "":
			return "", fmt.Errorf("rule %s follows the forward rule %s: not modelled", r.Name, forwarded)
		}
		var paths []string
		for _, p := range r.Paths {
			paths = append(paths, "{ path_reg "+listener.PathRegexp(p)+" }")
		}
		cond := strings.Join(paths, " || ")
		if len(r.Methods) > 0 {
			if len(paths) > 1 {
				return "", fmt.Errorf("rule %s: several paths and a method are not modelled", r.Name)
			}
			cond = strings.TrimSpace(cond + " { method " + strings.Join(r.Methods, " ") + " }")
		}
		if cond == "" {
			return "", fmt.Errorf("rule %s has no condition", r.Name)
		}
		fmt.Fprintf(&b, "  http-request return status %s content-type %q string %q if %s\n",
			r.Action.Status, r.Action.ContentType, r.Action.Body, cond)
	}
	return b.String(), nil
}

package gameday

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrUnavailable marks a missing tool or privilege (root, ip, haproxy,
// pg_autoctl, PostgreSQL 15): the test skips unless TRADING_REQUIRE_INTEGRATION=1.
var ErrUnavailable = errors.New("game day dependency unavailable")

// Topology constants: one bridge in the root namespace, one namespace per
// AZ on a private /24 that is routed nowhere (no forwarding, no NAT), so no
// packet leaves the machine.
const (
	bridge   = "gd-br"
	subnet   = "10.77.0"
	hostIP   = subnet + ".1"
	pgPort   = 5432 // pgx gives hosts of a multi-host URL without a port 5432, the service renders one port only
	monPort  = 6431
	pgBinDir = "/usr/lib/postgresql/15/bin"
	appPort0 = 8080
	// peerPortOffset separates a slot's two task ports (ecs.go: a rolling
	// deployment starts the new task beside the old one).
	peerPortOffset = 50
	appRole        = "trading_app"
	dbName         = "trading"
	cmdBudget      = 30 * time.Second
)

// AZs are the three namespaces; index i has address 10.77.0.(11+i).
var AZs = []string{"a", "b", "c"}

func nsName(az string) string { return "gd-" + az }
func azIP(az string) string {
	return fmt.Sprintf("%s.%d", subnet, 11+strings.Index("abc", az))
}
func vethHost(az string) string { return "gd-" + az + "-h" }

// checkTools reports which required tools are missing.
func checkTools() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: must run as root (network namespaces)", ErrUnavailable)
	}
	var missing []string
	for _, t := range []string{"ip", "nsenter", "unshare", "haproxy", "pg_autoctl", "node"} {
		if _, err := exec.LookPath(t); err != nil {
			missing = append(missing, t)
		}
	}
	if _, err := os.Stat(pgBinDir + "/pg_ctl"); err != nil {
		missing = append(missing, pgBinDir+"/pg_ctl")
	}
	if _, err := user.Lookup("postgres"); err != nil {
		missing = append(missing, "OS user postgres")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing %s (run app/testdata/setup-gameday.sh)", ErrUnavailable, strings.Join(missing, ", "))
	}
	return nil
}

// run executes a short command with a deadline and returns its output.
func run(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, cmdBudget)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// network creates the bridge and the three AZ namespaces.
// runLock is held for a whole run: two game days on one machine would share
// the namespaces, the bridge and the ports.
const runLock = "/tmp/trading-ha-gameday.lock"

// lockRun takes runLock or fails at once naming the holder's lock file.
func lockRun() (func(), error) {
	f, err := os.OpenFile(runLock, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another game day holds %s: %w", runLock, err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

func setupNetwork(ctx context.Context) error {
	teardownNetwork() // a previous run killed with SIGKILL
	steps := [][]string{{"link", "add", bridge, "type", "bridge"}, {"addr", "add", hostIP + "/24", "dev", bridge}, {"link", "set", bridge, "up"}}
	for _, az := range AZs {
		ns := nsName(az)
		steps = append(steps,
			[]string{"netns", "add", ns},
			[]string{"link", "add", vethHost(az), "type", "veth", "peer", "name", "eth0", "netns", ns},
			[]string{"link", "set", vethHost(az), "master", bridge, "up"},
			[]string{"-n", ns, "addr", "add", azIP(az) + "/24", "dev", "eth0"},
			[]string{"-n", ns, "link", "set", "eth0", "up"},
			[]string{"-n", ns, "link", "set", "lo", "up"},
		)
	}
	for _, s := range steps {
		if _, err := run(ctx, "ip", s...); err != nil {
			return err
		}
	}
	return nil
}

// teardownNetwork removes what setupNetwork created; errors are ignored
// (it also runs when nothing exists).
func teardownNetwork() {
	ctx := context.Background()
	for _, az := range AZs {
		// Processes a killed run left in the namespace (a database node's
		// postgres is a grandchild: the parent-death signal misses it).
		if out, err := run(ctx, "ip", "netns", "pids", nsName(az)); err == nil {
			for _, pid := range strings.Fields(out) {
				if n, err := strconv.Atoi(pid); err == nil {
					_ = syscall.Kill(n, syscall.SIGKILL)
				}
			}
		}
		_, _ = run(ctx, "ip", "link", "del", vethHost(az))
		_, _ = run(ctx, "ip", "netns", "del", nsName(az))
	}
	_, _ = run(ctx, "ip", "link", "del", bridge)
}

// cutAZ takes the AZ's link to the bridge down: its tasks and its database
// node can no longer reach, or be reached by, anything.
func cutAZ(ctx context.Context, az string) error {
	_, err := run(ctx, "ip", "link", "set", vethHost(az), "down")
	return err
}

func restoreAZ(ctx context.Context, az string) error {
	_, err := run(ctx, "ip", "link", "set", vethHost(az), "up")
	return err
}

// every calls fn each period until ctx ends (the first call one period in).
func every(ctx context.Context, period time.Duration, fn func()) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fn()
	}
}

// proc is a long-running child in its own process group.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	log  *os.File
}

// procs tracks every child so teardown can kill them all, by group id.
type procs struct {
	mu   sync.Mutex
	list []*proc
}

func (ps *procs) start(name, logPath string, env []string, argv ...string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("log for %s: %w", name, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), log: f}
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	ps.mu.Lock()
	ps.list = append(ps.list, p)
	ps.mu.Unlock()
	return p, nil
}

// kill sends SIGKILL to the process group and waits (bounded) for the leader.
func (p *proc) kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
}

func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stopAll terminates every group: SIGTERM, a short grace, then SIGKILL.
func (ps *procs) stopAll() {
	ps.mu.Lock()
	list := append([]*proc(nil), ps.list...)
	ps.mu.Unlock()
	for _, p := range list {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	}
	deadline := time.After(3 * time.Second)
	for _, p := range list {
		select {
		case <-p.done:
		case <-deadline:
		}
	}
	for _, p := range list {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// inNS wraps argv to run in an AZ's network namespace as uid/gid, with a
// private /var/run/postgresql (each node's Unix socket would otherwise
// collide, every node using the same port in its own namespace). The
// chain execs (unshare, sh, nsenter), so the pid is the program's.
func inNS(az string, uid, gid int, argv ...string) []string {
	inner := fmt.Sprintf("mount -t tmpfs -o mode=0775,uid=%d,gid=%d tmpfs /var/run/postgresql && exec nsenter --net=/run/netns/%s -S %d -G %d -- \"$@\"", uid, gid, nsName(az), uid, gid)
	return append([]string{"unshare", "--mount", "--propagation", "private", "--", "sh", "-c", inner, "sh"}, argv...)
}

// forwarder exposes a loopback service (issuer, dynalite, fake bus) on the
// bridge address so tasks in the AZ namespaces reach it.
//
// walled, when set, is the recorded network's answer to "does a task reach
// this stand-in?" turned around: connections from the AZ subnet are then
// accepted and left silent until the peer gives up (at most
// wallHold), as packets to a destination with no route from a private
// subnet are dropped rather than refused.
//
// stalled is a dependency outage: while set, bytes from the AZ subnet on
// connections already open are dropped, so requests on kept-alive
// connections go unanswered too (a black hole, not a refusal).
type forwarder struct {
	ln      net.Listener
	target  string
	walled  atomic.Bool
	stalled atomic.Bool
}

// wallHold bounds how long a walled connection is held open.
const wallHold = 15 * time.Second

func forward(target string) (*forwarder, error) {
	ln, err := net.Listen("tcp", hostIP+":0")
	if err != nil {
		return nil, fmt.Errorf("forwarder for %s: %w", target, err)
	}
	f := &forwarder{ln: ln, target: target}
	go f.serve()
	return f, nil
}

func (f *forwarder) addr() string { return f.ln.Addr().String() }

func (f *forwarder) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			tasks := fromTasks(c.RemoteAddr())
			if (f.walled.Load() || f.stalled.Load()) && tasks {
				_ = c.SetReadDeadline(time.Now().Add(wallHold))
				_, _ = io.Copy(io.Discard, c)
				return
			}
			u, err := net.DialTimeout("tcp", f.target, 2*time.Second)
			if err != nil {
				return
			}
			defer u.Close()
			done := make(chan struct{}, 2)
			go func() { f.copyFromTasks(u, c, tasks); done <- struct{}{} }()
			go func() { _, _ = io.Copy(c, u); done <- struct{}{} }()
			<-done
		}()
	}
}

// copyFromTasks forwards a client's bytes, dropping them while the
// forwarder is stalled and the client is a task.
func (f *forwarder) copyFromTasks(dst io.Writer, src io.Reader, tasks bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !(tasks && f.stalled.Load()) {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (f *forwarder) close() { _ = f.ln.Close() }

func hostPort(rawURL string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(rawURL, "http://"), "https://")
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	return s
}

func itoa(i int) string { return strconv.Itoa(i) }

func execCommand(ctx context.Context, argv []string, env []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	return cmd
}

func randToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

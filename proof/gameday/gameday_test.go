package gameday

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64, ok bool, sc int) attempt {
		return attempt{At: t0.Add(time.Duration(s * float64(time.Second))), OK: ok, Scenario: sc}
	}
	as := []attempt{at(0, true, 1), at(1, true, 1), at(2, false, 1), at(3, true, 1), at(5, false, 1), at(6, true, 1), at(7, true, 2)}
	w, failed := window(as, 1)
	if w != 5*time.Second || failed != 2 {
		t.Fatalf("window %s failed %d, want 5s 2", w, failed)
	}
	if w, failed := window(as, 2); w != 0 || failed != 0 {
		t.Fatalf("clean scenario: %s %d", w, failed)
	}
}

func TestHAProxyConfigFromTargetGroup(t *testing.T) {
	cfg := haproxyConfig(targetGroup{Interval: 10, Timeout: 5, Unhealthy: 2, Healthy: 3, Path: "/readyz"}, "127.0.0.1:1", "/s", map[string]string{"a1": "10.77.0.11:8080"})
	for _, want := range []string{"option httpchk GET /readyz", "timeout check 5s", "inter 10s fall 2 rise 3", "retries 0", "server a1 10.77.0.11:8080"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
	if strings.Contains(cfg, "redispatch") {
		t.Error("redispatch would hide failures an ALB client sees")
	}
}

// TestTwinSpeaksTheRecordedProtocol: the twin's load balancer and tasks
// take the protocol from the recording (the target group's, the
// container's APP_TLS), so a stack whose two sides disagree leaves no task
// healthy in the game day; and its frontend answers what the recorded
// listener rules answer before a task sees the request. Real HAProxy, in
// front of a TLS server standing in for a task.
func TestTwinSpeaksTheRecordedProtocol(t *testing.T) {
	if cfg := haproxyConfig(targetGroup{Interval: 5, Timeout: 3, Unhealthy: 2, Healthy: 2, Path: "/readyz", Protocol: "HTTP"}, "127.0.0.1:1", "/s", nil); strings.Contains(cfg, "ssl") {
		t.Errorf("HTTP target group rendered TLS:\n%s", cfg)
	}
	for _, stack := range []string{"dev", "prod"} {
		m, err := loadModel("../..", stack, nil)
		if err != nil {
			t.Fatal(err)
		}
		if m.tg.Protocol != "HTTPS" || m.appTLS != "self-signed" {
			t.Errorf("%s: target group %q, container APP_TLS %q; want HTTPS and self-signed", stack, m.tg.Protocol, m.appTLS)
		}
		if stack == "prod" {
			edgeThroughHAProxy(t, m.tg)
		}
	}
}

// edgeThroughHAProxy runs HAProxy with the twin's configuration for tg in
// front of one TLS task and checks what a client gets.
func edgeThroughHAProxy(t *testing.T, tg targetGroup) {
	if _, err := exec.LookPath("haproxy"); err != nil {
		t.Skip("haproxy not installed")
	}
	var tasks atomic.Int64
	task := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != tg.Path { // HAProxy's own checks do not count
			tasks.Add(1)
		}
		_, _ = io.WriteString(w, "task "+r.URL.Path)
	}))
	defer task.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	_ = ln.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(haproxyConfig(tg, listen, filepath.Join(dir, "s"), map[string]string{"a1": task.Listener.Addr().String()})), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("haproxy", "-c", "-f", cfg).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, "haproxy", "-db", "-f", cfg)
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	get := func(path string) (int, string) {
		var last error
		for range 50 {
			resp, err := http.Get("http://" + listen + path)
			if err != nil {
				last = err
				time.Sleep(100 * time.Millisecond)
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			return resp.StatusCode, string(body)
		}
		t.Fatalf("GET %s: %v\n%s", path, last, logs.String())
		return 0, ""
	}
	for _, c := range []struct {
		path, body string
		status     int
		reachTask  bool
	}{
		{"/healthz", `{"code":"not_found"}`, 404, false},
		{"/readyz/x", `{"code":"not_found"}`, 404, false},
		{"/edge-probe", "ok", 200, false},
		{"/orders", "task /orders", 200, true},
	} {
		before := tasks.Load()
		status, body := get(c.path)
		if status != c.status || body != c.body || (tasks.Load() > before) != c.reachTask {
			t.Errorf("GET %s through the twin: %d %q, task reached %v; want %d %q, %v\n%s",
				c.path, status, body, tasks.Load() > before, c.status, c.body, c.reachTask, logs.String())
		}
	}
}

func TestLocalFailoverFromSettings(t *testing.T) {
	g := map[string]time.Duration{"node_considered_unhealthy_timeout": 5 * time.Second, "health_check_period": 2 * time.Second,
		"health_check_timeout": time.Second, "health_check_max_retries": time.Millisecond, "health_check_retry_delay": time.Second,
		"primary_demote_timeout": 10 * time.Second}
	// 5 + 2 + 2 x 1 + 1 + 10, then 4 transitions x (1 + 2 + 1) = 36 s.
	if got := localFailover(g); got != 36*time.Second {
		t.Fatalf("local failover %s, want 36s", got)
	}
}

// expectedRed are the scenarios ("stack/key") known to fail on today's
// code, with the reason. The test reports them and stays green; it FAILS
// when one of them passes, so the entry must go when the fix lands.
var expectedRed = map[string]string{}

// TestGameDay runs the whole game day for the dev and prod stacks when
// root and the tools are present (TRADING_REQUIRE_INTEGRATION=1 turns
// their absence into a failure). It is skipped with -short.
// GAMEDAY_CLIENT_ATTEMPTS=1 is the deliberate regression (a desk without
// retries): the run must then fail. GAMEDAY_STACKS=dev limits the stacks,
// GAMEDAY_ONLY=gray-az,task-killed the scenarios, GAMEDAY_APP_DIR builds
// the service from another checkout (an older commit shows a fix red),
// GAMEDAY_RECOVERY_DEFINITION runs another service-recovery definition
// (an older runbook's export) in place of the recorded one.
func TestGameDay(t *testing.T) {
	if testing.Short() {
		t.Skip("game day skipped with -short")
	}
	stacks := []string{"dev", "prod"}
	if v := os.Getenv("GAMEDAY_STACKS"); v != "" {
		stacks = strings.Split(v, ",")
	}
	var red []string
	for _, stack := range stacks {
		opts := Options{Log: testLog{t}, Stack: stack, AppDir: os.Getenv("GAMEDAY_APP_DIR")}
		opts.RecoveryDefinition = os.Getenv("GAMEDAY_RECOVERY_DEFINITION")
		if v := os.Getenv("GAMEDAY_ONLY"); v != "" {
			opts.Only = strings.Split(v, ",")
		}
		if os.Getenv("GAMEDAY_CLIENT_ATTEMPTS") == "1" {
			opts.ClientAttempts = 1
		}
		res := runGameDay(t, opts, 9*time.Minute)
		t.Log("\n" + res.String())
		if opts.ClientAttempts == 1 {
			if res.OK() {
				t.Fatal("a desk without retries passed the game day: the run cannot see refused orders")
			}
			continue
		}
		for _, s := range res.Scenarios {
			key := stack + "/" + s.Key
			reason, known := expectedRed[key]
			switch {
			case !s.OK() && known:
				red = append(red, fmt.Sprintf("%-26s RED (expected): %s\n%28s measured: %s", key, reason, "", strings.Join(s.Reasons(), "; ")))
			case !s.OK():
				t.Errorf("%s fails: %s", key, strings.Join(s.Reasons(), "; "))
			case known:
				t.Errorf("%s is listed in expectedRed (%s) but passes: remove it from the list", key, reason)
			}
		}
	}
	t.Log("red table:\n" + strings.Join(red, "\n"))
}

// TestGameDayMutantDuplicates proves the duplicated count can fire: with
// the database storing every order twice under its (trader, key), one
// short scenario must report duplicated > 0 and fail.
func TestGameDayMutantDuplicates(t *testing.T) {
	if testing.Short() {
		t.Skip("game day skipped with -short")
	}
	res := runGameDay(t, Options{Log: testLog{t}, Stack: "dev", Only: []string{"task-killed"}, MutantDuplicateRows: true}, 4*time.Minute)
	t.Log("\n" + res.String())
	dup := 0
	for _, s := range res.Scenarios {
		dup += s.Duplicated
	}
	if dup == 0 || res.OK() {
		t.Fatalf("mutant storing every order twice: duplicated %d, ok %v: the count cannot see duplicates", dup, res.OK())
	}
}

func runGameDay(t *testing.T, opts Options, limit time.Duration) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	res, err := Run(ctx, opts)
	if errors.Is(err, ErrUnavailable) && os.Getenv("TRADING_REQUIRE_INTEGRATION") != "1" {
		t.Skipf("skipping game day: %v", err)
	}
	if err != nil {
		t.Fatalf("game day %s: %v\n%s", opts.Stack, err, res)
	}
	return res
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

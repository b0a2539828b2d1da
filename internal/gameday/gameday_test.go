package gameday

import (
	"context"
	"errors"
	"os"
	"strings"
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

func TestLocalFailoverFromSettings(t *testing.T) {
	g := map[string]time.Duration{"node_considered_unhealthy_timeout": 5 * time.Second, "health_check_period": 2 * time.Second,
		"health_check_timeout": time.Second, "health_check_max_retries": time.Millisecond, "health_check_retry_delay": time.Second,
		"primary_demote_timeout": 10 * time.Second}
	// 5 + 2 + 2 x 1 + 1 + 10, then 4 transitions x (1 + 2 + 1) = 36 s.
	if got := localFailover(g); got != 36*time.Second {
		t.Fatalf("local failover %s, want 36s", got)
	}
}

// TestGameDay runs the whole game day when root and the tools are present
// (TRADING_REQUIRE_INTEGRATION=1 turns their absence into a failure). It is
// skipped with -short. GAMEDAY_CLIENT_ATTEMPTS=1 is the deliberate
// regression (a desk without retries): the run must then fail.
func TestGameDay(t *testing.T) {
	if testing.Short() {
		t.Skip("game day skipped with -short")
	}
	opts := Options{Log: testLog{t}}
	if os.Getenv("GAMEDAY_CLIENT_ATTEMPTS") == "1" {
		opts.ClientAttempts = 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := Run(ctx, opts)
	if errors.Is(err, ErrUnavailable) && os.Getenv("TRADING_REQUIRE_INTEGRATION") != "1" {
		t.Skipf("skipping game day: %v", err)
	}
	if err != nil {
		t.Fatalf("game day: %v\n%s", err, res)
	}
	t.Log("\n" + res.String())
	if opts.ClientAttempts == 1 {
		if res.OK() {
			t.Fatal("a desk without retries passed the game day: the run cannot see refused orders")
		}
		return
	}
	if !res.OK() {
		t.Fatalf("game day outside the model or lost/duplicated orders:\n%s", res)
	}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

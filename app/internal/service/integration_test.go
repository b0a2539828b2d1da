package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/trading-ha/trading-ha/app/internal/events"
	"github.com/trading-ha/trading-ha/app/internal/testkit"
	"github.com/trading-ha/trading-ha/app/internal/testkit/stack"
)

func startStack(t *testing.T, env map[string]string) *stack.Stack {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var logger *slog.Logger
	if os.Getenv("TRADING_TEST_LOGS") == "1" {
		logger = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := stack.Start(ctx, stack.Options{Env: env, Logger: logger})
	testkit.SkipOrFail(t, err)
	t.Cleanup(s.Close)
	return s
}

type client struct {
	t    *testing.T
	base string
}

func (c client) do(method, path string, headers map[string]string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = bytes.NewBufferString(s)
		} else {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: non-JSON body %q", method, path, raw)
		}
	}
	return resp.StatusCode, out
}

func (c client) session() string {
	c.t.Helper()
	code, body := c.do("POST", "/sessions", nil, map[string]any{"trader_id": "T-1"})
	if code != http.StatusCreated {
		c.t.Fatalf("create session: %d %v", code, body)
	}
	return body["session_id"].(string)
}

var order = map[string]any{"symbol": "AAPL", "side": "buy", "quantity": 100, "limit_price": "187.25", "synthetic": false}

func TestServiceEndToEnd(t *testing.T) {
	s := startStack(t, nil)
	c := client{t: t, base: s.BaseURL}

	code, ready := c.do("GET", "/readyz", nil, nil)
	if code != 200 || ready["status"] != "ready" {
		t.Fatalf("readyz = %d %v", code, ready)
	}
	if code, _ := c.do("GET", "/healthz", nil, nil); code != 200 {
		t.Fatalf("healthz = %d", code)
	}

	sid := c.session()
	code, got := c.do("GET", "/sessions/"+sid, nil, nil)
	if code != 200 || got["trader_id"] != "T-1" || got["expires_at"] == "" {
		t.Fatalf("get session = %d %v", code, got)
	}
	if code, _ := c.do("GET", "/sessions/00000000-0000-0000-0000-000000000000", nil, nil); code != 404 {
		t.Fatalf("unknown session = %d, want 404", code)
	}

	h := map[string]string{"X-Session-ID": sid, "Idempotency-Key": "k-1"}
	code, first := c.do("POST", "/orders", h, order)
	if code != http.StatusCreated || first["status"] != "accepted" || first["limit_price"] != "187.25" {
		t.Fatalf("create order = %d %v", code, first)
	}
	code, again := c.do("POST", "/orders", h, order)
	if code != http.StatusOK || again["order_id"] != first["order_id"] {
		t.Fatalf("replay = %d %v, want 200 with order %v", code, again, first["order_id"])
	}
	changed := map[string]any{"symbol": "AAPL", "side": "sell", "quantity": 100, "limit_price": "187.25"}
	if code, body := c.do("POST", "/orders", h, changed); code != http.StatusUnprocessableEntity {
		t.Fatalf("key reuse with different body = %d %v, want 422", code, body)
	}
	if code, body := c.do("POST", "/orders", map[string]string{"X-Session-ID": "00000000-0000-0000-0000-000000000000", "Idempotency-Key": "k-2"}, order); code != 401 {
		t.Fatalf("unknown session order = %d %v, want 401", code, body)
	}
	if code, body := c.do("POST", "/orders", map[string]string{"X-Session-ID": sid}, order); code != 400 || body["field"] != "Idempotency-Key" {
		t.Fatalf("missing key = %d %v", code, body)
	}
	if code, body := c.do("POST", "/orders", map[string]string{"X-Session-ID": sid, "Idempotency-Key": "k-3"},
		`{"symbol":"AAPL","side":"hold","quantity":1,"limit_price":"1"}`); code != 400 || body["field"] != "side" {
		t.Fatalf("bad side = %d %v", code, body)
	}

	id := first["order_id"].(string)
	code, read := c.do("GET", "/orders/"+id, nil, nil)
	if code != 200 || read["order_id"] != id || read["idempotency_key"] != "k-1" {
		t.Fatalf("get order = %d %v", code, read)
	}
	if code, _ := c.do("GET", "/orders/not-a-uuid", nil, nil); code != 404 {
		t.Fatalf("get bad id = %d", code)
	}

	// The relay publishes the outbox row to the bus.
	waitFor(t, 10*time.Second, func() bool { return len(s.Bus.Events()) == 1 })
	ev := s.Bus.Events()[0]
	if ev.Source != events.Source || ev.DetailType != "OrderPlaced" || ev.EventBusName != "events-test" {
		t.Fatalf("event envelope = %+v", ev)
	}
	var detail map[string]any
	if err := json.Unmarshal([]byte(ev.Detail), &detail); err != nil || detail["order_id"] != id {
		t.Fatalf("event detail = %s (%v)", ev.Detail, err)
	}
}

func TestConcurrentSameKeyCreatesOneOrder(t *testing.T) {
	s := startStack(t, nil)
	c := client{t: t, base: s.BaseURL}
	sid := c.session()
	const n = 24
	var wg sync.WaitGroup
	codes := make([]int, n)
	ids := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, body := c.do("POST", "/orders", map[string]string{"X-Session-ID": sid, "Idempotency-Key": "same-key"}, order)
			codes[i] = code
			ids[i], _ = body["order_id"].(string)
		}()
	}
	wg.Wait()
	created := 0
	for i := range n {
		switch codes[i] {
		case 201:
			created++
		case 200:
		default:
			t.Fatalf("request %d: status %d", i, codes[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("request %d got order %s, want %s", i, ids[i], ids[0])
		}
	}
	if created != 1 {
		t.Fatalf("%d requests reported 201, want exactly 1", created)
	}
	var rows, outbox int
	pool := s.Service.Store().Writer()
	ctx := context.Background()
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM orders WHERE idempotency_key = 'same-key'`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM outbox`).Scan(&outbox); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || outbox != 1 {
		t.Fatalf("orders=%d outbox=%d, want 1 and 1", rows, outbox)
	}
}

func TestRelayRetriesBusFailures(t *testing.T) {
	s := startStack(t, nil)
	c := client{t: t, base: s.BaseURL}
	sid := c.session()
	s.Bus.FailNextCalls(5) // beyond the SDK's own 3 attempts
	s.Bus.FailNextEntries(2)
	for i := range 12 {
		if code, body := c.do("POST", "/orders", map[string]string{"X-Session-ID": sid, "Idempotency-Key": fmt.Sprintf("r-%d", i)}, order); code != 201 {
			t.Fatalf("order %d = %d %v", i, code, body)
		}
	}
	waitFor(t, 30*time.Second, func() bool {
		n, err := s.Service.Store().PendingOutbox(context.Background())
		return err == nil && n == 0
	})
	seen := map[string]bool{}
	for _, e := range s.Bus.Events() {
		var d map[string]any
		_ = json.Unmarshal([]byte(e.Detail), &d)
		seen[d["order_id"].(string)] = true
	}
	if len(seen) != 12 {
		t.Fatalf("bus saw %d distinct orders, want 12", len(seen))
	}
}

func TestReadinessNamesFailingDependency(t *testing.T) {
	s := startStack(t, nil)
	c := client{t: t, base: s.BaseURL}
	s.Dynalite.Close()
	code, body := c.do("GET", "/readyz", nil, nil)
	if code != 503 || body["status"] != "not_ready" {
		t.Fatalf("readyz = %d %v", code, body)
	}
	failing, _ := body["failing"].([]any)
	if len(failing) != 1 || failing[0] != "sessions" {
		t.Fatalf("failing = %v, want [sessions]", body["failing"])
	}
	if code, _ := c.do("GET", "/healthz", nil, nil); code != 200 {
		t.Fatalf("healthz must not depend on dependencies, got %d", code)
	}
}

func TestGracefulShutdownDrainsInFlight(t *testing.T) {
	s := startStack(t, nil)
	c := client{t: t, base: s.BaseURL}
	sid := c.session()
	ctx := context.Background()

	// Hold a lock so the next order blocks inside its transaction.
	lockTx, err := s.Service.Store().Writer().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockTx.Exec(ctx, `LOCK TABLE orders IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	result := make(chan int, 1)
	go func() {
		code, _ := c.do("POST", "/orders", map[string]string{"X-Session-ID": sid, "Idempotency-Key": "in-flight"}, order)
		result <- code
	}()
	time.Sleep(300 * time.Millisecond) // the request is now in flight
	shutdown := make(chan error, 1)
	go func() { shutdown <- s.Shutdown() }()
	time.Sleep(300 * time.Millisecond)
	if _, err := http.Get(s.BaseURL + "/healthz"); err == nil {
		t.Fatal("new connections still accepted while draining")
	}
	if err := lockTx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if code := <-result; code != http.StatusCreated {
		t.Fatalf("in-flight order = %d, want 201 (drained, not dropped)", code)
	}
	if err := <-shutdown; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

func waitFor(t *testing.T, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

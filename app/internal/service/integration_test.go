package service_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trading-ha/trading-ha/app/internal/events"
	"github.com/trading-ha/trading-ha/app/internal/testkit"
	"github.com/trading-ha/trading-ha/app/internal/testkit/stack"
)

// referencePrices are the reference prices every test stack gets (a desk's
// order for a symbol without one is refused): those of the symbols the
// tests trade.
var referencePrices = map[string]string{"reference-prices/AAPL": "187", "reference-prices/POISON": "1"}

func startStack(t *testing.T, opts stack.Options) *stack.Stack {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test skipped in -short mode")
	}
	params := map[string]string{}
	for k, v := range referencePrices {
		params[k] = v
	}
	for k, v := range opts.Parameters {
		params[k] = v
	}
	opts.Parameters = params
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if os.Getenv("TRADING_TEST_LOGS") == "1" {
		opts.Logger = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := stack.Start(ctx, opts)
	testkit.SkipOrFail(t, err)
	t.Cleanup(s.Close)
	return s
}

type client struct {
	t     *testing.T
	base  string
	token string
}

func (c client) as(token string) client { c.token = token; return c }

func (c client) raw(method, path string, headers map[string]string, body any) (int, http.Header, []byte) {
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
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw
}

func (c client) do(method, path string, headers map[string]string, body any) (int, map[string]any) {
	c.t.Helper()
	code, _, raw := c.raw(method, path, headers, body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: non-JSON body %q", method, path, raw)
		}
	}
	return code, out
}

func (c client) session() string {
	c.t.Helper()
	code, body := c.do("POST", "/sessions", nil, nil)
	if code != http.StatusCreated {
		c.t.Fatalf("create session: %d %v", code, body)
	}
	return body["session_id"].(string)
}

func (c client) order(sid, key string, body any) (int, map[string]any) {
	c.t.Helper()
	return c.do("POST", "/orders", map[string]string{"X-Session-ID": sid, "Idempotency-Key": key}, body)
}

var order = map[string]any{"symbol": "AAPL", "side": "buy", "quantity": 100, "limit_price": "187.25", "synthetic": false}

func TestServiceEndToEnd(t *testing.T) {
	s := startStack(t, stack.Options{})
	c := client{t: t, base: s.BaseURL, token: s.Token("desk-a")}

	code, ready := c.do("GET", "/readyz", nil, nil)
	if code != 200 || ready["status"] != "ready" {
		t.Fatalf("readyz = %d %v", code, ready)
	}
	if code, _ := c.do("GET", "/healthz", nil, nil); code != 200 {
		t.Fatalf("healthz = %d", code)
	}
	sid := c.session()
	code, got := c.do("GET", "/sessions/current", map[string]string{"X-Session-ID": sid}, nil)
	if code != 200 || got["trader_id"] != "desk-a" || got["expires_at"] == "" {
		t.Fatalf("get session = %d %v", code, got)
	}
	if code, _ := c.do("GET", "/sessions/current", map[string]string{"X-Session-ID": "00000000-0000-0000-0000-000000000000"}, nil); code != 404 {
		t.Fatalf("unknown session = %d, want 404", code)
	}
	if code, _ := c.do("POST", "/sessions", nil, map[string]any{"trader_id": "desk-b"}); code != 403 {
		t.Fatalf("session for another trader = %d, want 403", code)
	}

	code, first := c.order(sid, "k-1", order)
	if code != http.StatusCreated || first["status"] != "accepted" || first["limit_price"] != "187.25" || first["trader_id"] != "desk-a" {
		t.Fatalf("create order = %d %v", code, first)
	}
	if _, leaked := first["session_id"]; leaked {
		t.Fatalf("order response carries the session id: %v", first)
	}
	code, again := c.order(sid, "k-1", order)
	if code != http.StatusOK || again["order_id"] != first["order_id"] {
		t.Fatalf("replay = %d %v, want 200 with order %v", code, again, first["order_id"])
	}
	changed := map[string]any{"symbol": "AAPL", "side": "sell", "quantity": 100, "limit_price": "187.25"}
	if code, body := c.order(sid, "k-1", changed); code != http.StatusUnprocessableEntity {
		t.Fatalf("key reuse with different body = %d %v, want 422", code, body)
	}
	if code, body := c.order("00000000-0000-0000-0000-000000000000", "k-2", order); code != 401 || body["code"] != "session_invalid" {
		t.Fatalf("unknown session order = %d %v, want 401", code, body)
	}
	if code, body := c.do("POST", "/orders", map[string]string{"X-Session-ID": sid}, order); code != 400 || body["field"] != "Idempotency-Key" {
		t.Fatalf("missing key = %d %v", code, body)
	}
	if code, body := c.order(sid, "k-3", `{"symbol":"AAPL","side":"hold","quantity":1,"limit_price":"1"}`); code != 400 || body["field"] != "side" {
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
	code, byKey := c.do("GET", "/orders?idempotency_key=k-1", nil, nil)
	if code != 200 || byKey["order_id"] != id {
		t.Fatalf("get order by key = %d %v, want 200 %s", code, byKey, id)
	}
	if code, body := c.as(s.Token("desk-b")).do("GET", "/orders?idempotency_key=k-1", nil, nil); code != 404 {
		t.Fatalf("another trader's key = %d %v, want 404", code, body)
	}

	waitFor(t, 10*time.Second, func() bool { return len(s.Bus.Events()) == 1 })
	ev := s.Bus.Events()[0]
	if ev.Source != events.Source || ev.DetailType != "OrderPlaced" || ev.EventBusName != "events-test" {
		t.Fatalf("event envelope = %+v", ev)
	}
	var detail map[string]any
	if err := json.Unmarshal([]byte(ev.Detail), &detail); err != nil || detail["order_id"] != id || detail["trader_id"] != "desk-a" {
		t.Fatalf("event detail = %s (%v)", ev.Detail, err)
	}
	if strings.Contains(ev.Detail, sid) || strings.Contains(ev.Detail, "k-1") || strings.Contains(ev.Detail, "session") {
		t.Fatalf("event carries the session id or idempotency key: %s", ev.Detail)
	}
}

func TestUnauthenticatedRequestsAre401(t *testing.T) {
	s := startStack(t, stack.Options{})
	c := client{t: t, base: s.BaseURL}
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(map[string]any)) string {
		cl := s.Issuer.Claims("desk-a")
		f(cl)
		return s.Issuer.Sign(cl)
	}
	tokens := map[string]string{
		"none":          "",
		"bad signature": testkit.SignJWT(foreign, s.Issuer.KID(), s.Issuer.Claims("desk-a")),
		"wrong issuer":  edit(func(c map[string]any) { c["iss"] = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_evil" }),
		"expired":       edit(func(c map[string]any) { c["exp"] = time.Now().Add(-5 * time.Minute).Unix() }),
		"wrong client":  edit(func(c map[string]any) { c["client_id"] = "desk-unknown"; c["sub"] = "desk-unknown" }),
		"wrong aud":     edit(func(c map[string]any) { delete(c, "client_id"); c["aud"] = "another-api" }),
		"missing scope": edit(func(c map[string]any) { c["scope"] = "trading/read" }),
	}
	sid := c.as(s.Token("desk-a")).session()
	for name, tok := range tokens {
		t.Run(name, func(t *testing.T) {
			c := c.as(tok)
			c.t = t
			for _, r := range []struct{ method, path string }{
				{"POST", "/sessions"}, {"GET", "/sessions/current"}, {"POST", "/orders"}, {"GET", "/orders/00000000-0000-0000-0000-000000000000"},
			} {
				code, hdr, body := c.raw(r.method, r.path, map[string]string{"X-Session-ID": sid, "Idempotency-Key": "x"}, order)
				if code != 401 || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%s %s = %d %s, want 401 with WWW-Authenticate", r.method, r.path, code, body)
				}
			}
		})
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, _ := c.as("").do("GET", p, nil, nil); code != 200 {
			t.Errorf("%s needs no token, got %d", p, code)
		}
	}
}

func TestOtherTradersOrdersAndSessionsAre403(t *testing.T) {
	s := startStack(t, stack.Options{})
	a := client{t: t, base: s.BaseURL, token: s.Token("desk-a")}
	b := a.as(s.Token("desk-b"))
	sidA := a.session()
	code, o := a.order(sidA, "k", order)
	if code != 201 {
		t.Fatalf("order = %d %v", code, o)
	}
	if code, body := b.do("GET", "/orders/"+o["order_id"].(string), nil, nil); code != 403 || strings.Contains(fmt.Sprint(body), sidA) {
		t.Fatalf("desk-b reads desk-a's order = %d %v, want 403", code, body)
	}
	if code, _ := b.do("GET", "/sessions/current", map[string]string{"X-Session-ID": sidA}, nil); code != 403 {
		t.Fatalf("desk-b reads desk-a's session = %d, want 403", code)
	}
	if code, _ := b.order(sidA, "k2", order); code != 403 {
		t.Fatalf("desk-b orders in desk-a's session = %d, want 403", code)
	}
	// The same key from another trader is that trader's own order.
	code, ob := b.order(b.session(), "k", order)
	if code != 201 || ob["order_id"] == o["order_id"] {
		t.Fatalf("desk-b same key = %d %v", code, ob)
	}
}

func TestCrossSessionRetryGivesOneOrder(t *testing.T) {
	s := startStack(t, stack.Options{})
	c := client{t: t, base: s.BaseURL, token: s.Token("desk-a")}
	code, first := c.order(c.session(), "lost-reply", order)
	if code != 201 {
		t.Fatalf("first = %d %v", code, first)
	}
	// The reply was lost, the session expired; a new session, same key.
	code, retry := c.order(c.session(), "lost-reply", order)
	if code != 200 || retry["order_id"] != first["order_id"] {
		t.Fatalf("retry in a new session = %d %v, want 200 %v", code, retry, first["order_id"])
	}
	var n int
	if err := s.Service.Store().Writer().QueryRow(context.Background(),
		`SELECT count(*) FROM orders WHERE idempotency_key = 'lost-reply'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("orders = %d (%v), want 1", n, err)
	}
}

func TestConcurrentSameKeyCreatesOneOrder(t *testing.T) {
	s := startStack(t, stack.Options{})
	c := client{t: t, base: s.BaseURL, token: s.Token("desk-a")}
	const n = 24
	sids := make([]string, 3)
	for i := range sids {
		sids[i] = c.session()
	}
	var wg sync.WaitGroup
	codes := make([]int, n)
	ids := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, body := c.order(sids[i%len(sids)], "same-key", order)
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
}

func TestStrictJSONAndBodyLimit(t *testing.T) {
	s := startStack(t, stack.Options{})
	c := client{t: t, base: s.BaseURL, token: s.Token("desk-a")}
	sid := c.session()
	for name, body := range map[string]string{
		"duplicate key":  `{"symbol":"AAPL","side":"buy","quantity":1,"quantity":1000000,"limit_price":"1"}`,
		"case-folded":    `{"SYMBOL":"AAPL","side":"buy","quantity":1,"limit_price":"1"}`,
		"unknown member": `{"symbol":"AAPL","side":"buy","quantity":1,"limit_price":"1","account":"x"}`,
	} {
		if code, b := c.order(sid, "strict-"+strings.ReplaceAll(name, " ", "-"), body); code != 400 {
			t.Errorf("%s: %d %v, want 400", name, code, b)
		}
	}
	big := `{"symbol":"AAPL","side":"buy","quantity":1,"limit_price":"1","synthetic":false` + strings.Repeat(" ", 70<<10) + `}`
	if code, b := c.order(sid, "big", big); code != 413 {
		t.Errorf("oversized body = %d %v, want 413", code, b)
	}
	if code, _ := c.do("POST", "/sessions", nil, `{"trader_id":"desk-a","trader_id":"desk-b"}`); code != 400 {
		t.Errorf("duplicate key in session body = %d, want 400", code)
	}
}

func TestRiskLimitsAndKillSwitch(t *testing.T) {
	s := startStack(t, stack.Options{Parameters: map[string]string{
		"limits/max-notional": "100000", "reference-prices/AAPL": "185", "limits/price-band-pct": "5",
	}})
	c := client{t: t, base: s.BaseURL, token: s.Token("desk-a")}
	sid := c.session()
	if code, b := c.order(sid, "n1", map[string]any{"symbol": "AAPL", "side": "buy", "quantity": 1000, "limit_price": "187.25"}); code != 422 || b["code"] != "max_notional_exceeded" {
		t.Fatalf("over max notional = %d %v", code, b)
	}
	if code, b := c.order(sid, "n2", map[string]any{"symbol": "AAPL", "side": "buy", "quantity": 1, "limit_price": "250"}); code != 422 || b["code"] != "price_band_exceeded" {
		t.Fatalf("outside the band = %d %v", code, b)
	}
	if code, b := c.order(sid, "ok", order); code != 201 {
		t.Fatalf("within limits = %d %v", code, b)
	}
	s.SSM.Set(stack.ParametersPath+"/flags/trading-enabled", "false")
	flipped := time.Now()
	var code int
	var body map[string]any
	for i := 0; ; i++ {
		var hdr http.Header
		var raw []byte
		code, hdr, raw = c.raw("POST", "/orders", map[string]string{"X-Session-ID": sid, "Idempotency-Key": fmt.Sprintf("kill-%d", i)}, order)
		body = nil
		_ = json.Unmarshal(raw, &body)
		if code != http.StatusCreated {
			if hdr.Get("Retry-After") != "" {
				t.Fatalf("the halt carries Retry-After %q: it is final, not a retry hint", hdr.Get("Retry-After"))
			}
			break
		}
		if time.Since(flipped) > time.Second { // refresh interval 200ms
			t.Fatalf("orders still accepted %s after the kill switch: %d %v", time.Since(flipped), code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code != http.StatusConflict || body["code"] != "trading_halted" {
		t.Fatalf("kill switch answer = %d %v, want 409 trading_halted", code, body)
	}
	t.Logf("kill switch effective after %s", time.Since(flipped).Round(time.Millisecond))
	s.SSM.Set(stack.ParametersPath+"/flags/trading-enabled", "true")
	waitFor(t, 2*time.Second, func() bool { code, _ := c.order(sid, "back", order); return code == 201 })
}

func TestRotatedPasswordRecoversWithoutRedeploy(t *testing.T) {
	s := startStack(t, stack.Options{Env: map[string]string{"DB_AUTH_FAILURE_LIVENESS": "2s"}})
	c := client{t: t, base: s.BaseURL, token: s.Token("desk-a")}
	sid := c.session()
	ctx := context.Background()
	if code, _ := c.order(sid, "before", order); code != 201 {
		t.Fatal("order before rotation failed")
	}
	// Rotation: the role's password changes; the secret store still holds
	// the old one for a moment; every connection re-dials.
	if err := s.RotatePassword(ctx, "rotated-1", false, true); err != nil {
		t.Fatal(err)
	}
	code, body := c.order(sid, "during", order)
	if code != 503 || body["code"] != "unavailable" || strings.Contains(fmt.Sprint(body), "28P01") {
		t.Fatalf("order with a stale credential = %d %v, want 503 without detail", code, body)
	}
	if code, _ := c.do("GET", "/readyz", nil, nil); code != 200 {
		t.Fatalf("readyz with a stale credential = %d, want 200 (readiness never asks the database)", code)
	}
	// Sustained failure fails liveness, so ECS would replace the task.
	waitFor(t, 10*time.Second, func() bool {
		_, _ = c.order(sid, "during", order) // requests (and the relay) keep observing the failure
		code, _ := c.do("GET", "/healthz", nil, nil)
		return code == 503
	})
	// The secret store gets the new value: no restart, no redeploy.
	if err := s.WriteSecret("rotated-1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { code, _ := c.order(sid, "during", order); return code == 201 || code == 200 })
	if code, _ := c.do("GET", "/healthz", nil, nil); code != 200 {
		t.Fatalf("healthz after recovery = %d", code)
	}
}

func TestPoisonEventsDoNotDelayOthers(t *testing.T) {
	s := startStack(t, stack.Options{Parameters: map[string]string{"limits/max-orders-per-second": "1000"}})
	c := client{t: t, base: s.BaseURL, token: s.Token("desk-a")}
	sid := c.session()
	s.Bus.Poison(func(detail string) bool { return strings.Contains(detail, `"symbol":"POISON"`) })
	poison := map[string]any{"symbol": "POISON", "side": "buy", "quantity": 1, "limit_price": "1"}
	for i := range 10 {
		if code, b := c.order(sid, fmt.Sprintf("p-%d", i), poison); code != 201 {
			t.Fatalf("poison order %d = %d %v", i, code, b)
		}
	}
	time.Sleep(500 * time.Millisecond) // the relay has tried (and failed) the poison rows
	start := time.Now()
	code, good := c.order(sid, "good", order)
	if code != 201 {
		t.Fatalf("good order = %d", code)
	}
	waitFor(t, 3*time.Second, func() bool {
		for _, e := range s.Bus.Events() {
			if strings.Contains(e.Detail, good["order_id"].(string)) {
				return true
			}
		}
		return false
	})
	t.Logf("good event published %s after 10 poison rows", time.Since(start).Round(time.Millisecond))
}

func TestListensFirstAndReportsNotReadyUntilMigrated(t *testing.T) {
	s := startStack(t, stack.Options{SkipWaitReady: true})
	c := client{t: t, base: s.BaseURL}
	if code, _ := c.do("GET", "/healthz", nil, nil); code != 200 {
		t.Fatalf("healthz before migration = %d, want 200 (the port is open)", code)
	}
	code, body := c.do("GET", "/readyz", nil, nil)
	if code != 503 || body["checks"].(map[string]any)["startup"] != "fail" {
		t.Fatalf("readyz before migration = %d %v", code, body)
	}
	for _, v := range body["checks"].(map[string]any) {
		if v != "ok" && v != "fail" {
			t.Fatalf("readiness leaks detail: %v", body)
		}
	}
	if err := s.Migrate(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitReady(context.Background(), 20*time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestDependencyOutageKeepsTaskInService: with DynamoDB down, readiness
// (the load balancer's check) and liveness stay 200 and the requests that
// need sessions answer 503 with Retry-After and no internal detail.
func TestDependencyOutageKeepsTaskInService(t *testing.T) {
	s := startStack(t, stack.Options{})
	c := client{t: t, base: s.BaseURL, token: s.Token("desk-a")}
	s.Dynalite.Close()
	if code, body := c.do("GET", "/readyz", nil, nil); code != 200 || body["status"] != "ready" {
		t.Fatalf("readyz with DynamoDB down = %d %v, want 200: the balancer must keep the task", code, body)
	}
	if code, _ := c.do("GET", "/healthz", nil, nil); code != 200 {
		t.Fatalf("healthz must not depend on dependencies, got %d", code)
	}
	code, hdr, raw := c.raw("POST", "/sessions", nil, nil)
	if code != 503 || hdr.Get("Retry-After") == "" {
		t.Fatalf("POST /sessions with DynamoDB down = %d (Retry-After %q) %s, want 503 with Retry-After", code, hdr.Get("Retry-After"), raw)
	}
	if b := string(raw); strings.Contains(b, "127.0.0.1") || strings.Contains(b, "sessions-test") {
		t.Fatalf("503 leaks internal detail: %s", b)
	}
}

func TestGracefulShutdownDrainsInFlight(t *testing.T) {
	s := startStack(t, stack.Options{Env: map[string]string{"DRAIN_DELAY": "1s"}})
	c := client{t: t, base: s.BaseURL, token: s.Token("desk-a")}
	sid := c.session()
	ctx := context.Background()

	// Hold a lock so the next order blocks inside its transaction.
	conn, err := pgxConnect(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	lockTx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockTx.Exec(ctx, `LOCK TABLE orders IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	result := make(chan int, 1)
	go func() {
		code, _ := c.order(sid, "in-flight", order)
		result <- code
	}()
	time.Sleep(300 * time.Millisecond) // the request is now in flight
	shutdown := make(chan error, 1)
	go func() { shutdown <- s.Shutdown() }()
	time.Sleep(300 * time.Millisecond)
	// Within the drain delay: not ready, but still serving.
	if code, _ := c.do("GET", "/readyz", nil, nil); code != 503 {
		t.Fatalf("readyz while draining = %d, want 503", code)
	}
	if code, _ := c.do("GET", "/healthz", nil, nil); code != 200 {
		t.Fatalf("healthz while draining = %d, want 200", code)
	}
	time.Sleep(1200 * time.Millisecond)
	if _, err := http.Get(s.BaseURL + "/healthz"); err == nil {
		t.Fatal("new connections still accepted after the drain delay")
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

func TestRelayRetriesBusFailures(t *testing.T) {
	s := startStack(t, stack.Options{})
	c := client{t: t, base: s.BaseURL, token: s.Token("desk-a")}
	sid := c.session()
	s.Bus.FailNextCalls(5) // beyond the SDK's own 3 attempts
	s.Bus.FailNextEntries(2)
	for i := range 12 {
		if code, body := c.order(sid, fmt.Sprintf("r-%d", i), order); code != 201 {
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
	var dead int
	if err := s.Service.Store().Writer().QueryRow(context.Background(), `SELECT count(*) FROM outbox_dead_letter`).Scan(&dead); err != nil || dead != 0 {
		t.Fatalf("transient bus failures dead-lettered %d rows (%v)", dead, err)
	}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestOutboxMetricsAreEMFAndLogsCarryNoSessionIDs(t *testing.T) {
	var logs syncBuffer
	opts := stack.Options{Env: map[string]string{"METRICS_INTERVAL": "1s", "LOG_LEVEL": "debug"},
		Logger:     slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Parameters: referencePrices}
	if testing.Short() {
		t.Skip("integration test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := stack.Start(ctx, opts)
	testkit.SkipOrFail(t, err)
	t.Cleanup(s.Close)
	c := client{t: t, base: s.BaseURL, token: s.Token("desk-a")}
	sid := c.session()
	code, o := c.order(sid, "secret-key-123", order)
	if code != 201 {
		t.Fatalf("order = %d", code)
	}
	c.do("GET", "/orders/"+o["order_id"].(string), nil, nil)
	if code, _ := c.do("GET", "/orders?idempotency_key=secret-key-123", nil, nil); code != 200 {
		t.Fatalf("order by key = %d", code)
	}
	c.do("GET", "/sessions/current", map[string]string{"X-Session-ID": sid}, nil)
	var emf map[string]any
	waitFor(t, 10*time.Second, func() bool {
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, `"_aws"`) && strings.Contains(line, `"OutboxPending"`) && json.Unmarshal([]byte(line), &emf) == nil {
				return true
			}
		}
		return false
	})
	meta := emf["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
	if meta["Namespace"] != "Trading/test" || emf["Service"] != "trading" {
		t.Fatalf("EMF line = %v", emf)
	}
	for _, m := range []string{"OutboxOldestUnpublishedAgeSeconds", "OutboxDeadLetterCount", "OutboxPending"} {
		if _, ok := emf[m].(float64); !ok {
			t.Errorf("EMF line lacks %s: %v", m, emf)
		}
	}
	all := logs.String()
	if strings.Contains(all, sid) || strings.Contains(all, "secret-key-123") || strings.Contains(all, s.Token("desk-a")[:40]) {
		t.Fatal("logs contain a session id, an idempotency key or a token")
	}
}

// TestAcceptedOrderReplaysAfterChecksChange: a retry of an accepted order
// returns that order (200, Idempotent-Replayed: true, one row) whatever
// changed since — a lower max notional, the kill switch, an exhausted rate
// limit — because checks apply only to new orders.
func TestAcceptedOrderReplaysAfterChecksChange(t *testing.T) {
	s := startStack(t, stack.Options{Parameters: map[string]string{
		"limits/max-orders-per-second": "1", "reference-prices/AAPL": "187",
	}})
	c := client{t: t, base: s.BaseURL, token: s.Token("desk-a")}
	sid := c.session()
	ctx := context.Background()
	place := func(key string) map[string]any {
		t.Helper()
		var code int
		var body map[string]any
		waitFor(t, 5*time.Second, func() bool { code, body = c.order(sid, key, order); return code != 429 })
		if code != http.StatusCreated {
			t.Fatalf("order %s = %d %v", key, code, body)
		}
		return body
	}
	replay := func(step, key string, first map[string]any) {
		t.Helper()
		code, hdr, raw := c.raw("POST", "/orders", map[string]string{"X-Session-ID": sid, "Idempotency-Key": key}, order)
		var got map[string]any
		_ = json.Unmarshal(raw, &got)
		if code != http.StatusOK || got["order_id"] != first["order_id"] || got["created_at"] != first["created_at"] ||
			hdr.Get("Idempotent-Replayed") != "true" {
			t.Errorf("retry %s = %d %s (Idempotent-Replayed %q), want 200 with order %v and the header",
				step, code, raw, hdr.Get("Idempotent-Replayed"), first["order_id"])
		}
		var n int
		if err := s.Service.Store().Writer().QueryRow(ctx,
			`SELECT count(*) FROM orders WHERE trader_id = 'desk-a' AND idempotency_key = $1`, key).Scan(&n); err != nil || n != 1 {
			t.Errorf("%s: %d rows for key %s (%v), want exactly 1", step, n, key, err)
		}
	}

	// The rate limit: one order per second, burst one; the retry comes at once.
	first := place("rate")
	replay("after the rate limit is exhausted", "rate", first)

	// The max notional drops below the order's 18725.
	first = place("notional")
	s.SSM.Set(stack.ParametersPath+"/limits/max-notional", "1000")
	waitFor(t, 5*time.Second, func() bool {
		code, b := c.order(sid, fmt.Sprintf("probe-%d", time.Now().UnixNano()), order)
		return code == 422 && b["code"] == "max_notional_exceeded"
	})
	replay("after the max notional was lowered", "notional", first)
	s.SSM.Set(stack.ParametersPath+"/limits/max-notional", "1000000")

	// The kill switch.
	waitFor(t, 5*time.Second, func() bool {
		code, _ := c.order(sid, fmt.Sprintf("ok-%d", time.Now().UnixNano()), order)
		return code == http.StatusCreated
	})
	first = place("halt")
	s.SSM.Set(stack.ParametersPath+"/flags/trading-enabled", "false")
	waitFor(t, 5*time.Second, func() bool {
		code, _ := c.order(sid, fmt.Sprintf("new-%d", time.Now().UnixNano()), order)
		return code != http.StatusCreated && code != 429
	})
	replay("after the kill switch", "halt", first)
	changed := map[string]any{"symbol": "AAPL", "side": "sell", "quantity": 100, "limit_price": "187.25", "synthetic": false}
	if code, b := c.order(sid, "halt", changed); code != http.StatusUnprocessableEntity || b["code"] != "idempotency_key_reused" {
		t.Fatalf("same key, different request, while halted = %d %v, want 422 idempotency_key_reused", code, b)
	}
}

// TestSyntheticIsBoundToPrincipal: a probe (scope trading/probe) places only
// synthetic orders within the probe limit — synthetic absent is forced
// true, false is 403 synthetic_required, more than the cap is 422
// probe_limit_exceeded — and a desk (trading/orders) may not mark an order
// synthetic (403 synthetic_not_allowed).
func TestSyntheticIsBoundToPrincipal(t *testing.T) {
	s := startStack(t, stack.Options{Parameters: map[string]string{"reference-prices/AAPL": "187"}})
	probeClaims := s.Issuer.Claims("canary")
	probeClaims["scope"] = "trading/probe"
	probe := client{t: t, base: s.BaseURL, token: s.Issuer.Sign(probeClaims)}
	psid := probe.session()
	probeOrder := map[string]any{"symbol": "AAPL", "side": "buy", "quantity": 1, "limit_price": "1.00"}
	code, o := probe.order(psid, "probe-1", probeOrder)
	if code != http.StatusCreated || o["synthetic"] != true || o["trader_id"] != "canary" {
		t.Fatalf("probe order without synthetic = %d %v, want 201 synthetic", code, o)
	}
	explicit := map[string]any{"symbol": "AAPL", "side": "buy", "quantity": 1, "limit_price": "1.00", "synthetic": true}
	if code, b := probe.order(psid, "probe-2", explicit); code != http.StatusCreated || b["synthetic"] != true {
		t.Fatalf("probe order synthetic true = %d %v, want 201", code, b)
	}
	real := map[string]any{"symbol": "AAPL", "side": "buy", "quantity": 1, "limit_price": "1.00", "synthetic": false}
	if code, b := probe.order(psid, "probe-3", real); code != http.StatusForbidden || b["code"] != "synthetic_required" {
		t.Fatalf("probe order synthetic false = %d %v, want 403 synthetic_required", code, b)
	}
	big := map[string]any{"symbol": "AAPL", "side": "buy", "quantity": 2, "limit_price": "1.00"}
	if code, b := probe.order(psid, "probe-4", big); code != http.StatusUnprocessableEntity || b["code"] != "probe_limit_exceeded" {
		t.Fatalf("probe order over the probe limit = %d %v, want 422 probe_limit_exceeded", code, b)
	}
	dear := map[string]any{"symbol": "AAPL", "side": "buy", "quantity": 1, "limit_price": "187.25"}
	if code, b := probe.order(psid, "probe-5", dear); code != http.StatusUnprocessableEntity || b["code"] != "probe_limit_exceeded" {
		t.Fatalf("probe order over the probe notional = %d %v, want 422 probe_limit_exceeded", code, b)
	}

	desk := client{t: t, base: s.BaseURL, token: s.Token("desk-a")}
	dsid := desk.session()
	if code, b := desk.order(dsid, "desk-1", explicit); code != http.StatusForbidden || b["code"] != "synthetic_not_allowed" {
		t.Fatalf("desk order synthetic true = %d %v, want 403 synthetic_not_allowed", code, b)
	}
	if code, b := desk.order(dsid, "desk-2", order); code != http.StatusCreated || b["synthetic"] != false {
		t.Fatalf("desk order = %d %v, want 201 not synthetic", code, b)
	}
	var n int
	if err := s.Service.Store().Writer().QueryRow(context.Background(),
		`SELECT count(*) FROM orders WHERE synthetic AND trader_id <> 'canary'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d synthetic orders of a desk (%v), want 0", n, err)
	}
}

// TestStaleLimitsHaltWithoutParameterStore: when Parameter Store stops
// answering, the last loaded limits serve for the staleness bound
// (limits/max-staleness-seconds, 1 s here); beyond it new orders answer 503
// limits_stale — a halt that needs nothing from Parameter Store — while
// replays of accepted orders still return them; each task reports the
// limits' age as the EMF metric RiskLimitsAgeSeconds; the first good
// refresh lifts the refusal.
func TestStaleLimitsHaltWithoutParameterStore(t *testing.T) {
	var logs syncBuffer
	opts := stack.Options{Env: map[string]string{"METRICS_INTERVAL": "1s"},
		Logger:     slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Parameters: map[string]string{"limits/max-staleness-seconds": "1", "reference-prices/AAPL": "187"}}
	s := startStack(t, opts)
	c := client{t: t, base: s.BaseURL, token: s.Token("desk-a")}
	sid := c.session()
	code, first := c.order(sid, "before", order)
	if code != http.StatusCreated {
		t.Fatalf("order before the outage = %d %v", code, first)
	}
	s.SSM.Fail(true)
	failed := time.Now()
	var body map[string]any
	for i := 0; ; i++ {
		var hdr http.Header
		var raw []byte
		code, hdr, raw = c.raw("POST", "/orders", map[string]string{"X-Session-ID": sid, "Idempotency-Key": fmt.Sprintf("stale-%d", i)}, order)
		body = nil
		_ = json.Unmarshal(raw, &body)
		if code != http.StatusCreated {
			if code != http.StatusServiceUnavailable || body["code"] != "limits_stale" || hdr.Get("Retry-After") == "" {
				t.Fatalf("order with Parameter Store down = %d %v, want 503 limits_stale with Retry-After", code, body)
			}
			break
		}
		if time.Since(failed) > 5*time.Second {
			t.Fatalf("orders still accepted %s after Parameter Store failed (bound 1s)", time.Since(failed).Round(time.Millisecond))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("orders refused %s after Parameter Store failed", time.Since(failed).Round(time.Millisecond))
	code, hdr, raw := c.raw("POST", "/orders", map[string]string{"X-Session-ID": sid, "Idempotency-Key": "before"}, order)
	var again map[string]any
	_ = json.Unmarshal(raw, &again)
	if code != http.StatusOK || again["order_id"] != first["order_id"] || hdr.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay while the limits are stale = %d %s, want 200 with order %v", code, raw, first["order_id"])
	}
	var age float64
	waitFor(t, 5*time.Second, func() bool {
		for _, line := range strings.Split(logs.String(), "\n") {
			var emf map[string]any
			if !strings.Contains(line, `"RiskLimitsAgeSeconds"`) || json.Unmarshal([]byte(line), &emf) != nil {
				continue
			}
			meta := emf["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
			if meta["Namespace"] != "Trading/test" || emf["Service"] != "trading" {
				t.Fatalf("EMF line = %v", emf)
			}
			if a, _ := emf["RiskLimitsAgeSeconds"].(float64); a > 1 {
				age = a
				return true
			}
		}
		return false
	})
	t.Logf("RiskLimitsAgeSeconds reported %.1f", age)
	s.SSM.Fail(false)
	waitFor(t, 5*time.Second, func() bool {
		code, _ := c.order(sid, fmt.Sprintf("fresh-%d", time.Now().UnixNano()), order)
		return code == http.StatusCreated
	})
}

// freezableProxy forwards TCP to a target until frozen; frozen, it closes
// the connections it forwarded and holds new ones open without a byte of
// answer for up to hold — a DynamoDB endpoint that stopped responding.
type freezableProxy struct {
	ln     net.Listener
	target string
	hold   time.Duration
	frozen atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func startFreezableProxy(t *testing.T, hold time.Duration) *freezableProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezableProxy{ln: ln, hold: hold}
	t.Cleanup(func() { _ = ln.Close(); p.closeAll() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			target := p.target
			p.mu.Unlock()
			if p.frozen.Load() {
				go func() { time.Sleep(p.hold); _ = c.Close() }()
				go func() { _, _ = io.Copy(io.Discard, c) }()
				continue
			}
			go func() {
				up, err := net.Dial("tcp", target)
				if err != nil {
					_ = c.Close()
					return
				}
				p.mu.Lock()
				p.conns = append(p.conns, up)
				p.mu.Unlock()
				go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
				_, _ = io.Copy(c, up)
				_ = c.Close()
			}()
		}
	}()
	return p
}

func (p *freezableProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *freezableProxy) setTarget(endpoint string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = strings.TrimPrefix(endpoint, "http://")
}

// freeze makes the endpoint stop answering: open connections are cut (the
// client re-dials) and new ones are held.
func (p *freezableProxy) freeze() { p.frozen.Store(true); p.closeAll() }

func (p *freezableProxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// TestFrozenSessionsTableAnswers503InTime: with the sessions table frozen
// for 35 s (longer than the server's 30 s write timeout), requests that
// need it get a 503 with Retry-After within the sessions deadline — never
// an empty reply — and the task stays ready.
func TestFrozenSessionsTableAnswers503InTime(t *testing.T) {
	proxy := startFreezableProxy(t, 35*time.Second)
	s := startStack(t, stack.Options{Env: map[string]string{
		"DYNAMODB_ENDPOINT": proxy.URL(), "SESSION_CACHE_TTL": "0", "SESSIONS_TIMEOUT": "1s"}})
	proxy.setTarget(s.Dynalite.Endpoint)
	c := client{t: t, base: s.BaseURL, token: s.Token("desk-a")}
	sid := c.session()
	if code, b := c.order(sid, "before", order); code != http.StatusCreated {
		t.Fatalf("order before the freeze = %d %v", code, b)
	}
	proxy.freeze()
	for _, r := range []struct{ method, path string }{{"POST", "/orders"}, {"POST", "/sessions"}, {"GET", "/sessions/current"}} {
		var body any
		if r.path == "/orders" {
			body = order
		}
		start := time.Now()
		code, hdr, raw := c.raw(r.method, r.path, map[string]string{"X-Session-ID": sid, "Idempotency-Key": "frozen"}, body)
		took := time.Since(start)
		if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.Contains(string(raw), `"unavailable"`) || took > 5*time.Second {
			t.Errorf("%s %s with the table frozen = %d %s (Retry-After %q) after %s, want 503 unavailable with Retry-After within the 1s deadline",
				r.method, r.path, code, raw, hdr.Get("Retry-After"), took.Round(time.Millisecond))
		}
	}
	if code, _ := c.do("GET", "/readyz", nil, nil); code != 200 {
		t.Fatalf("readyz with the table frozen = %d, want 200", code)
	}
}

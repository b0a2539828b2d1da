package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go"

	"github.com/trading-ha/trading-ha/app/internal/auth"
	"github.com/trading-ha/trading-ha/app/internal/orders"
	"github.com/trading-ha/trading-ha/app/internal/retry"
	"github.com/trading-ha/trading-ha/app/internal/risk"
	"github.com/trading-ha/trading-ha/app/internal/sessions"
	"github.com/trading-ha/trading-ha/app/internal/store"
)

type fakeSessions struct{ checkErr, err error }

func (f fakeSessions) Create(_ context.Context, trader string) (sessions.Session, error) {
	if f.err != nil {
		return sessions.Session{}, f.err
	}
	return sessions.Session{SessionID: "s-1", TraderID: trader, CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}, nil
}

func (f fakeSessions) Get(_ context.Context, _, id string) (sessions.Session, error) {
	if f.err != nil {
		return sessions.Session{}, f.err
	}
	if id != "s-1" {
		return sessions.Session{}, sessions.ErrNotFound
	}
	return sessions.Session{SessionID: "s-1", TraderID: "T-1"}, nil
}

func (f fakeSessions) Check(context.Context) error { return f.checkErr }

// fakeOrders mimics the store's idempotency contract in memory.
type fakeOrders struct {
	mu      sync.Mutex
	byKey   map[string]orders.Order
	fps     map[string]string
	fail    error
	pingErr error
}

func (f *fakeOrders) CreateOrder(_ context.Context, tid, sid, key string, req orders.Request) (store.CreateResult, error) {
	if f.fail != nil {
		return store.CreateResult{}, f.fail
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k := tid + "/" + key
	if o, ok := f.byKey[k]; ok {
		if f.fps[k] != req.Fingerprint(tid) {
			return store.CreateResult{}, store.ErrKeyReused
		}
		return store.CreateResult{Order: o}, nil
	}
	o := orders.Order{OrderID: "o-" + key, SessionID: sid, TraderID: tid, Symbol: req.Symbol, Side: req.Side,
		Quantity: req.Quantity, LimitPrice: req.LimitPrice, Status: orders.StatusAccepted, Synthetic: req.Synthetic, IdempotencyKey: key}
	f.byKey[k], f.fps[k] = o, req.Fingerprint(tid)
	return store.CreateResult{Order: o, Created: true}, nil
}

func (f *fakeOrders) GetOrder(_ context.Context, id string) (orders.Order, error) {
	for _, o := range f.byKey {
		if o.OrderID == id {
			return o, nil
		}
	}
	return orders.Order{}, store.ErrNotFound
}

func (f *fakeOrders) Ping(context.Context) error { return f.pingErr }

// fakeAuth accepts "tok-<trader>" (a desk) and "probe-<trader>" (a probe).
type fakeAuth struct{}

func (fakeAuth) Verify(_ context.Context, tok string) (auth.Principal, error) {
	if trader, ok := strings.CutPrefix(tok, "probe-"); ok {
		return auth.Principal{TraderID: trader, Kind: auth.KindProbe}, nil
	}
	trader, ok := strings.CutPrefix(tok, "tok-")
	if !ok {
		return auth.Principal{}, auth.ErrInvalidToken
	}
	return auth.Principal{TraderID: trader}, nil
}

type fakeRisk struct {
	rej      *risk.Rejection
	readyErr error
}

func (f *fakeRisk) Check(risk.Caller, orders.Request) *risk.Rejection { return f.rej }
func (f *fakeRisk) Ready(context.Context) error                       { return f.readyErr }

func newAPI() (*API, *fakeOrders, *fakeSessions) {
	fo := &fakeOrders{byKey: map[string]orders.Order{}, fps: map[string]string{}}
	fs := &fakeSessions{}
	api := &API{Sessions: fs, Orders: fo, Auth: fakeAuth{}, Risk: &fakeRisk{}}
	api.SetStarted()
	return api, fo, fs
}

func call(h http.Handler, method, path, body string, hdr map[string]string) (*httptest.ResponseRecorder, map[string]any) {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer tok-T-1")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec, out
}

const body = `{"symbol":"AAPL","side":"buy","quantity":100,"limit_price":"187.25"}`

func TestOrderIdempotencyStatuses(t *testing.T) {
	api, _, _ := newAPI()
	h := api.Handler()
	hdr := map[string]string{"X-Session-ID": "s-1", "Idempotency-Key": "k1"}
	rec, first := call(h, "POST", "/orders", body, hdr)
	if rec.Code != 201 {
		t.Fatalf("first = %d %v", rec.Code, first)
	}
	rec, again := call(h, "POST", "/orders", body, hdr)
	if rec.Code != 200 || again["order_id"] != first["order_id"] {
		t.Fatalf("replay = %d %v", rec.Code, again)
	}
	rec, _ = call(h, "POST", "/orders", strings.Replace(body, "buy", "sell", 1), hdr)
	if rec.Code != 422 {
		t.Fatalf("changed body = %d, want 422", rec.Code)
	}
}

func TestOrderErrors(t *testing.T) {
	api, fo, _ := newAPI()
	h := api.Handler()
	tests := []struct {
		name  string
		hdr   map[string]string
		body  string
		code  int
		field string
	}{
		{"no session header", map[string]string{"Idempotency-Key": "k"}, body, 400, "X-Session-ID"},
		{"no key", map[string]string{"X-Session-ID": "s-1"}, body, 400, "Idempotency-Key"},
		{"bad body", map[string]string{"X-Session-ID": "s-1", "Idempotency-Key": "k"}, `{"symbol":"AAPL"}`, 400, "side"},
		{"unknown session", map[string]string{"X-Session-ID": "nope", "Idempotency-Key": "k"}, body, 401, "X-Session-ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, out := call(h, "POST", "/orders", tt.body, tt.hdr)
			if rec.Code != tt.code || out["field"] != tt.field || out["error"] == "" {
				t.Fatalf("got %d %v, want %d field %s", rec.Code, out, tt.code, tt.field)
			}
		})
	}
	fo.fail = &retry.ExhaustedError{Attempts: 3, Err: syscall.ECONNREFUSED}
	rec, out := call(h, "POST", "/orders", body, map[string]string{"X-Session-ID": "s-1", "Idempotency-Key": "k9"})
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || out["request_id"] == "" {
		t.Fatalf("db down = %d %v, want 503 with Retry-After", rec.Code, out)
	}
	fo.fail = errors.New("bug")
	if rec, _ := call(h, "POST", "/orders", body, map[string]string{"X-Session-ID": "s-1", "Idempotency-Key": "k9"}); rec.Code != 500 {
		t.Fatalf("bug = %d, want 500", rec.Code)
	}
}

func TestRequestID(t *testing.T) {
	api, _, _ := newAPI()
	h := api.Handler()
	rec, _ := call(h, "GET", "/healthz", "", map[string]string{"X-Request-ID": "abc-123"})
	if rec.Header().Get("X-Request-ID") != "abc-123" {
		t.Fatalf("request id not echoed: %q", rec.Header().Get("X-Request-ID"))
	}
	rec, _ = call(h, "GET", "/healthz", "", map[string]string{"X-Request-ID": "bad id\n"})
	if id := rec.Header().Get("X-Request-ID"); id == "" || strings.Contains(id, " ") {
		t.Fatalf("unsafe request id accepted: %q", id)
	}
}

func TestSessions(t *testing.T) {
	api, _, _ := newAPI()
	h := api.Handler()
	if rec, out := call(h, "POST", "/sessions", ``, nil); rec.Code != 201 || out["session_id"] != "s-1" || out["trader_id"] != "T-1" {
		t.Fatalf("create = %d %v", rec.Code, out)
	}
	if rec, out := call(h, "POST", "/sessions", `{"trader_id":"T-1"}`, nil); rec.Code != 201 {
		t.Fatalf("create naming self = %d %v", rec.Code, out)
	}
	if rec, _ := call(h, "POST", "/sessions", `{"trader_id":"T-2"}`, nil); rec.Code != 403 {
		t.Fatalf("create for another trader = %d, want 403", rec.Code)
	}
	if rec, _ := call(h, "GET", "/sessions/current", "", map[string]string{"X-Session-ID": "zzz"}); rec.Code != 404 {
		t.Fatalf("missing = %d", rec.Code)
	}
	if rec, _ := call(h, "GET", "/sessions/current", "", map[string]string{"X-Session-ID": "s-1", "Authorization": "Bearer tok-T-2"}); rec.Code != 403 {
		t.Fatalf("other trader's session = %d, want 403", rec.Code)
	}
	if rec, _ := call(h, "GET", "/sessions/current", "", map[string]string{"Authorization": "Bearer nope"}); rec.Code != 401 {
		t.Fatalf("bad token = %d, want 401", rec.Code)
	}
}

func TestRiskRejectionAndBodyLimit(t *testing.T) {
	api, _, _ := newAPI()
	h := api.Handler()
	api.Risk = &fakeRisk{rej: &risk.Rejection{Status: 409, Code: risk.CodeTradingHalted, Message: "halted"}}
	rec, out := call(h, "POST", "/orders", body, map[string]string{"X-Session-ID": "s-1", "Idempotency-Key": "k"})
	if rec.Code != 409 || out["code"] != "trading_halted" || rec.Header().Get("Retry-After") != "" {
		t.Fatalf("kill switch = %d %v (Retry-After %q), want 409 trading_halted without Retry-After", rec.Code, out, rec.Header().Get("Retry-After"))
	}
	api.Risk = &fakeRisk{}
	big := `{"symbol":"` + strings.Repeat("A", MaxBodyBytes) + `"}`
	if rec, _ := call(h, "POST", "/orders", big, map[string]string{"X-Session-ID": "s-1", "Idempotency-Key": "k"}); rec.Code != 413 {
		t.Fatalf("oversized = %d, want 413", rec.Code)
	}
}

// balancerCheckPath is the path the ALB target group checks (Pulumi.yaml
// healthCheckPath, CONTRACT.md section 9).
const balancerCheckPath = "/readyz"

// TestBalancerCheckIgnoresDependencyOutages: a shared dependency failing
// (the Aurora writer in a failover, DynamoDB, SSM) must never fail the load
// balancer's check, or ECS replaces every task at once; the requests that
// need the dependency answer 503 with Retry-After instead.
func TestBalancerCheckIgnoresDependencyOutages(t *testing.T) {
	dbDown := &retry.ExhaustedError{Attempts: 3, Err: syscall.ECONNREFUSED}
	ddbDown := &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "GetItem", Err: syscall.ECONNREFUSED}
	cases := []struct {
		name  string
		fail  func(*API, *fakeOrders, *fakeSessions)
		path  string
		body  string
		hdr   map[string]string
		code  string
		field string
	}{
		{"database", func(_ *API, fo *fakeOrders, _ *fakeSessions) {
			fo.pingErr = fmt.Errorf("writer: %w", dbDown)
			fo.fail = fmt.Errorf("insert order: %w", dbDown)
		}, "/orders", body, map[string]string{"X-Session-ID": "s-1", "Idempotency-Key": "k-db"}, "unavailable", ""},
		{"dynamodb", func(_ *API, _ *fakeOrders, fs *fakeSessions) {
			fs.checkErr = fmt.Errorf("sessions table: %w", ddbDown)
			fs.err = fmt.Errorf("sessions table: %w", ddbDown)
		}, "/sessions", "", nil, "unavailable", ""},
		{"dynamodb on orders", func(_ *API, _ *fakeOrders, fs *fakeSessions) {
			fs.checkErr = fmt.Errorf("sessions table: %w", ddbDown)
			fs.err = fmt.Errorf("sessions table: %w", ddbDown)
		}, "/orders", body, map[string]string{"X-Session-ID": "s-1", "Idempotency-Key": "k-ddb"}, "unavailable", ""},
		{"ssm", func(a *API, _ *fakeOrders, _ *fakeSessions) {
			a.Risk = &fakeRisk{readyErr: errors.New("risk limits not loaded yet"),
				rej: &risk.Rejection{Status: 503, Code: risk.CodeLimitsUnavailable, Message: "limits unavailable"}}
		}, "/orders", body, map[string]string{"X-Session-ID": "s-1", "Idempotency-Key": "k-ssm"}, "limits_unavailable", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api, fo, fs := newAPI()
			tc.fail(api, fo, fs)
			h := api.Handler()
			rec, out := call(h, "GET", balancerCheckPath, "", nil)
			if rec.Code != 200 {
				t.Fatalf("%s with %s failing = %d %v, want 200: the balancer would take every task out", balancerCheckPath, tc.name, rec.Code, out)
			}
			rec, out = call(h, "POST", tc.path, tc.body, tc.hdr)
			if rec.Code != 503 || out["code"] != tc.code || rec.Header().Get("Retry-After") == "" {
				t.Fatalf("POST %s with %s failing = %d %v (Retry-After %q), want 503 %s with Retry-After",
					tc.path, tc.name, rec.Code, out, rec.Header().Get("Retry-After"), tc.code)
			}
			if rec, _ := call(h, "GET", "/healthz", "", nil); rec.Code != 200 {
				t.Fatalf("healthz with %s failing = %d", tc.name, rec.Code)
			}
		})
	}
}

// TestReadinessGatesStartAndDrain: readiness is 503 until start-up is done
// (schema verified once) and again from SIGTERM on; the process stays live.
func TestReadinessGatesStartAndDrain(t *testing.T) {
	fo := &fakeOrders{byKey: map[string]orders.Order{}, fps: map[string]string{}}
	api := &API{Sessions: &fakeSessions{}, Orders: fo, Auth: fakeAuth{}, Risk: &fakeRisk{}}
	h := api.Handler()
	rec, out := call(h, "GET", "/readyz", "", nil)
	if rec.Code != 503 || out["status"] != "not_ready" || out["checks"].(map[string]any)["startup"] != "fail" {
		t.Fatalf("before start-up = %d %v, want 503 with startup failing", rec.Code, out)
	}
	if rec, _ := call(h, "GET", "/healthz", "", nil); rec.Code != 200 {
		t.Fatalf("healthz before start-up = %d, want 200", rec.Code)
	}
	api.SetStarted()
	if rec, out := call(h, "GET", "/readyz", "", nil); rec.Code != 200 || out["status"] != "ready" {
		t.Fatalf("after start-up = %d %v", rec.Code, out)
	}
	api.SetDraining()
	rec, out = call(h, "GET", "/readyz", "", nil)
	if rec.Code != 503 || out["checks"].(map[string]any)["shutdown"] != "fail" {
		t.Fatalf("after SIGTERM = %d %v, want 503 with shutdown failing", rec.Code, out)
	}
	if f, _ := out["failing"].([]any); len(f) != 1 || f[0] != "shutdown" {
		t.Fatalf("failing after SIGTERM = %v, want [shutdown]", out["failing"])
	}
	if rec, _ := call(h, "GET", "/healthz", "", nil); rec.Code != 200 {
		t.Fatalf("healthz while draining = %d, want 200", rec.Code)
	}
}

func (f *fakeOrders) FindByKey(_ context.Context, tid, key string) (store.KeyedOrder, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return store.KeyedOrder{}, f.fail
	}
	o, ok := f.byKey[tid+"/"+key]
	if !ok {
		return store.KeyedOrder{}, store.ErrNotFound
	}
	return store.KeyedOrder{Order: o, RequestHash: f.fps[tid+"/"+key]}, nil
}

// TestAcceptedKeyReplaysWhateverChanged: once an order is accepted, its key
// returns it (200, Idempotent-Replayed: true) even when a check would now
// refuse it; a different request under the key stays 422; a new key gets
// the refusal.
func TestAcceptedKeyReplaysWhateverChanged(t *testing.T) {
	refusals := map[string]*risk.Rejection{
		"max notional lowered": {Status: 422, Code: risk.CodeMaxNotional, Message: "over", Field: "quantity"},
		"kill switch on":       {Status: 409, Code: risk.CodeTradingHalted, Message: "halted"},
		"rate limit exhausted": {Status: 429, Code: risk.CodeRateLimited, Message: "slow down"},
		"limits unavailable":   {Status: 503, Code: risk.CodeLimitsUnavailable, Message: "retry"},
	}
	for name, rej := range refusals {
		t.Run(name, func(t *testing.T) {
			api, _, _ := newAPI()
			h := api.Handler()
			hdr := map[string]string{"X-Session-ID": "s-1", "Idempotency-Key": "k1"}
			rec, first := call(h, "POST", "/orders", body, hdr)
			if rec.Code != 201 || rec.Header().Get("Idempotent-Replayed") != "" {
				t.Fatalf("first = %d %v (Idempotent-Replayed %q)", rec.Code, first, rec.Header().Get("Idempotent-Replayed"))
			}
			api.Risk = &fakeRisk{rej: rej}
			rec, again := call(h, "POST", "/orders", body, hdr)
			if rec.Code != 200 || again["order_id"] != first["order_id"] || rec.Header().Get("Idempotent-Replayed") != "true" {
				t.Fatalf("retry after %s = %d %v (Idempotent-Replayed %q), want 200 with the original order and the header",
					name, rec.Code, again, rec.Header().Get("Idempotent-Replayed"))
			}
			if rec.Header().Get("Retry-After") != "" {
				t.Fatalf("replay carries Retry-After %q", rec.Header().Get("Retry-After"))
			}
			rec, out := call(h, "POST", "/orders", strings.Replace(body, "buy", "sell", 1), hdr)
			if rec.Code != 422 || out["code"] != "idempotency_key_reused" {
				t.Fatalf("changed body after %s = %d %v, want 422 idempotency_key_reused", name, rec.Code, out)
			}
			rec, out = call(h, "POST", "/orders", body, map[string]string{"X-Session-ID": "s-1", "Idempotency-Key": "k2"})
			if rec.Code != rej.Status || out["code"] != rej.Code {
				t.Fatalf("new key after %s = %d %v, want %d %s", name, rec.Code, out, rej.Status, rej.Code)
			}
		})
	}
}

// TestReplayCarriesHeader: a replay through the normal path (checks pass,
// the store finds the key) says so in Idempotent-Replayed.
func TestReplayCarriesHeader(t *testing.T) {
	api, _, _ := newAPI()
	h := api.Handler()
	hdr := map[string]string{"X-Session-ID": "s-1", "Idempotency-Key": "k1"}
	if rec, out := call(h, "POST", "/orders", body, hdr); rec.Code != 201 {
		t.Fatalf("first = %d %v", rec.Code, out)
	}
	rec, _ := call(h, "POST", "/orders", body, hdr)
	if rec.Code != 200 || rec.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay = %d (Idempotent-Replayed %q), want 200 with the header", rec.Code, rec.Header().Get("Idempotent-Replayed"))
	}
}

// TestReplayLookupFailure: when a check refuses and the key cannot be
// looked up, a final refusal would lie about an order that may exist: the
// answer is 503 (retry with the same key); a retryable refusal stays as is.
func TestReplayLookupFailure(t *testing.T) {
	api, fo, _ := newAPI()
	h := api.Handler()
	hdr := map[string]string{"X-Session-ID": "s-1", "Idempotency-Key": "k1"}
	fo.fail = &retry.ExhaustedError{Attempts: 3, Err: syscall.ECONNREFUSED}
	api.Risk = &fakeRisk{rej: &risk.Rejection{Status: 409, Code: risk.CodeTradingHalted, Message: "halted"}}
	rec, out := call(h, "POST", "/orders", body, hdr)
	if rec.Code != 503 || out["code"] != "unavailable" || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("final refusal with the database down = %d %v, want 503 unavailable", rec.Code, out)
	}
	api.Risk = &fakeRisk{rej: &risk.Rejection{Status: 429, Code: risk.CodeRateLimited, Message: "slow down"}}
	rec, out = call(h, "POST", "/orders", body, hdr)
	if rec.Code != 429 || out["code"] != risk.CodeRateLimited || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("retryable refusal with the database down = %d %v, want the 429", rec.Code, out)
	}
}

// TestGetOrderByKey: GET /orders?idempotency_key=K returns the caller's
// order with that key; another trader's or an unknown key is 404.
func TestGetOrderByKey(t *testing.T) {
	api, _, _ := newAPI()
	h := api.Handler()
	rec, first := call(h, "POST", "/orders", body, map[string]string{"X-Session-ID": "s-1", "Idempotency-Key": "desk-key.1"})
	if rec.Code != 201 {
		t.Fatalf("create = %d %v", rec.Code, first)
	}
	rec, got := call(h, "GET", "/orders?idempotency_key=desk-key.1", "", nil)
	if rec.Code != 200 || got["order_id"] != first["order_id"] || got["idempotency_key"] != "desk-key.1" {
		t.Fatalf("by key = %d %v, want 200 %v", rec.Code, got, first["order_id"])
	}
	if rec, out := call(h, "GET", "/orders?idempotency_key=desk-key.1", "", map[string]string{"Authorization": "Bearer tok-T-2"}); rec.Code != 404 || out["code"] != "not_found" {
		t.Fatalf("another trader's key = %d %v, want 404", rec.Code, out)
	}
	if rec, out := call(h, "GET", "/orders?idempotency_key=nope", "", nil); rec.Code != 404 || out["code"] != "not_found" {
		t.Fatalf("unknown key = %d %v, want 404", rec.Code, out)
	}
	if rec, out := call(h, "GET", "/orders", "", nil); rec.Code != 400 || out["field"] != "idempotency_key" {
		t.Fatalf("no key = %d %v, want 400 naming idempotency_key", rec.Code, out)
	}
	if rec, _ := call(h, "GET", "/orders?idempotency_key=desk-key.1", "", map[string]string{"Authorization": "Bearer nope"}); rec.Code != 401 {
		t.Fatalf("bad token = %d, want 401", rec.Code)
	}
}

// TestSyntheticBoundToPrincipal: a desk may not mark an order synthetic; a
// probe's order is synthetic (forced when absent, 403 when false).
func TestSyntheticBoundToPrincipal(t *testing.T) {
	api, fo, _ := newAPI()
	h := api.Handler()
	synthetic := `{"symbol":"AAPL","side":"buy","quantity":1,"limit_price":"1","synthetic":true}`
	rec, out := call(h, "POST", "/orders", synthetic, map[string]string{"X-Session-ID": "s-1", "Idempotency-Key": "d1"})
	if rec.Code != 403 || out["code"] != "synthetic_not_allowed" || out["field"] != "synthetic" {
		t.Fatalf("desk synthetic order = %d %v, want 403 synthetic_not_allowed", rec.Code, out)
	}
	probe := map[string]string{"Authorization": "Bearer probe-T-1", "X-Session-ID": "s-1"}
	probe["Idempotency-Key"] = "p1"
	rec, out = call(h, "POST", "/orders", `{"symbol":"AAPL","side":"buy","quantity":1,"limit_price":"1"}`, probe)
	if rec.Code != 201 || out["synthetic"] != true || !fo.byKey["T-1/p1"].Synthetic {
		t.Fatalf("probe order without synthetic = %d %v, want 201 stored synthetic", rec.Code, out)
	}
	probe["Idempotency-Key"] = "p2"
	rec, out = call(h, "POST", "/orders", `{"symbol":"AAPL","side":"buy","quantity":1,"limit_price":"1","synthetic":false}`, probe)
	if rec.Code != 403 || out["code"] != "synthetic_required" {
		t.Fatalf("probe order synthetic false = %d %v, want 403 synthetic_required", rec.Code, out)
	}
	if _, ok := fo.byKey["T-1/d1"]; ok {
		t.Fatal("the refused desk order was stored")
	}
}

// countingDDB is a sessions table that counts PutItem and GetItem calls
// and holds no item.
type countingDDB struct{ puts, gets atomic.Int64 }

func (c *countingDDB) PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.puts.Add(1)
	return &dynamodb.PutItemOutput{}, nil
}

func (c *countingDDB) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.gets.Add(1)
	return &dynamodb.GetItemOutput{}, nil
}

// TestUnknownSessionFloodIsBounded: a client with a valid token sending
// 1,000 unknown session ids (and then the same ones again) drives a bounded
// number of DynamoDB reads; an unknown session answers 401 with a
// WWW-Authenticate challenge naming the session.
func TestUnknownSessionFloodIsBounded(t *testing.T) {
	api, _, _ := newAPI()
	ddb := &countingDDB{}
	api.Sessions = &sessions.Cache{Store: sessions.New(ddb, "sessions-test", time.Hour, time.Second), TTL: 10 * time.Second}
	h := api.Handler()
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	}
	codes := map[int]int{}
	for round := range 2 {
		for _, id := range ids {
			rec, out := call(h, "POST", "/orders", body, map[string]string{"X-Session-ID": id, "Idempotency-Key": "k"})
			codes[rec.Code]++
			if rec.Code == 401 {
				if out["code"] != "session_invalid" || rec.Header().Get("WWW-Authenticate") != `Bearer realm="trading", error="invalid_token", error_description="session"` {
					t.Fatalf("round %d: unknown session = %d %v (WWW-Authenticate %q)", round, rec.Code, out, rec.Header().Get("WWW-Authenticate"))
				}
			}
		}
	}
	if n := ddb.gets.Load(); n > 50 {
		t.Fatalf("2 x 1000 unknown session ids made %d GetItem calls, want a bounded number (<= 50); answers %v", n, codes)
	}
	t.Logf("GetItem calls: %d; answers %v", ddb.gets.Load(), codes)
}

// TestSessionCreationIsBudgetedPerTrader: one trader opening sessions in
// a loop gets its burst of 10 (201, one PutItem each), then 429
// session_creations_exceeded with Retry-After in whole seconds and no
// PutItem; another trader still opens sessions.
func TestSessionCreationIsBudgetedPerTrader(t *testing.T) {
	api, _, _ := newAPI()
	ddb := &countingDDB{}
	api.Sessions = &sessions.Cache{Store: sessions.New(ddb, "sessions-test", time.Hour, time.Second), TTL: 10 * time.Second}
	h := api.Handler()
	const burst, n = 10, 50
	start := time.Now()
	created := 0
	for i := range n {
		rec, out := call(h, "POST", "/sessions", "", nil)
		switch {
		case rec.Code == http.StatusCreated:
			created++
		case i < burst:
			t.Fatalf("session %d of the burst = %d %v, want 201", i+1, rec.Code, out)
		case rec.Code != http.StatusTooManyRequests || out["code"] != "session_creations_exceeded" || rec.Header().Get("Retry-After") != "1":
			t.Fatalf("session %d past the burst = %d %v (Retry-After %q), want 429 session_creations_exceeded with Retry-After 1",
				i+1, rec.Code, out, rec.Header().Get("Retry-After"))
		}
	}
	// One token a second refills: a slow run may earn a few more.
	refilled := int(time.Since(start) / time.Second)
	if puts := ddb.puts.Load(); created < burst || created > burst+refilled || puts != int64(created) {
		t.Fatalf("%d POST /sessions from one trader: %d created, %d PutItem calls; want %d (the burst, +%d refilled), one PutItem each",
			n, created, puts, burst, refilled)
	}
	req := httptest.NewRequest("POST", "/sessions", nil)
	req.Header.Set("Authorization", "Bearer tok-T-2")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		t.Fatalf("another trader's session while T-1 is throttled = %d %s, want 201 (budgets are per trader)", rec.Code, rec.Body)
	}
}

// hungSessions is a sessions table client that ignores its own timeout and
// answers only when the request's context ends.
type hungSessions struct{}

func (hungSessions) Create(ctx context.Context, _ string) (sessions.Session, error) {
	<-ctx.Done()
	return sessions.Session{}, fmt.Errorf("put session: %w", ctx.Err())
}

func (hungSessions) Get(ctx context.Context, _, _ string) (sessions.Session, error) {
	<-ctx.Done()
	return sessions.Session{}, fmt.Errorf("get session: %w", ctx.Err())
}

// TestRequestDeadline: every authenticated request runs under a deadline,
// so a dependency that never answers costs a 503 with Retry-After when it
// ends, not a request held until the server gives up.
func TestRequestDeadline(t *testing.T) {
	api, _, _ := newAPI()
	api.Sessions = hungSessions{}
	api.RequestTimeout = 300 * time.Millisecond
	h := api.Handler()
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/orders", body}, {"POST", "/sessions", ""}, {"GET", "/sessions/current", ""},
	} {
		start := time.Now()
		rec, out := call(h, r.method, r.path, r.body, map[string]string{"X-Session-ID": "s-1", "Idempotency-Key": "k"})
		took := time.Since(start)
		if rec.Code != 503 || out["code"] != "unavailable" || rec.Header().Get("Retry-After") == "" || took > 2*time.Second {
			t.Errorf("%s %s with a hung table = %d %v after %s, want 503 unavailable after about 300ms", r.method, r.path, rec.Code, out, took)
		}
	}
	if DefaultRequestTimeout >= 30*time.Second {
		t.Errorf("DefaultRequestTimeout %s must end before the server's 30s write timeout", DefaultRequestTimeout)
	}
}

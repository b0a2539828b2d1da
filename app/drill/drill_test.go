package drill

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trading-ha/trading-ha/app/internal/testkit"
	"github.com/trading-ha/trading-ha/app/internal/testkit/stack"
)

// TestClientDoesNotResubmitHalt: with the kill switch on, the real service
// answers the halt as final (409 trading_halted) and the drill's client
// sends the order once: a halt is not an outage to wait out.
func TestClientDoesNotResubmitHalt(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	params := drillParameters()
	params["flags/trading-enabled"] = "false"
	st, err := stack.Start(ctx, stack.Options{Parameters: params})
	testkit.SkipOrFail(t, err)
	t.Cleanup(st.Close)
	httpc := &http.Client{Timeout: 10 * time.Second}
	token := st.Token("desk-a")
	session, err := createSession(ctx, httpc, st.BaseURL, token)
	if err != nil {
		t.Fatal(err)
	}
	// Bounded: a client that retried the halt would keep going until this ends.
	octx, ocancel := context.WithTimeout(ctx, 5*time.Second)
	defer ocancel()
	id, code, attempts := placeOrder(octx, httpc, st.BaseURL, token, session, "halted-1", 0, 0)
	if id != "" || code != http.StatusConflict || attempts != 1 {
		t.Fatalf("order while halted: id %q, status %d after %d attempt(s); want no order, 409, one attempt", id, code, attempts)
	}
}

// TestClientTreatsHaltAsFinal: against a stub answering the halt, exactly
// one request reaches the server.
func TestClientTreatsHaltAsFinal(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		_, _ = w.Write([]byte(`{"code":"trading_halted","error":"trading is halted"}`))
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	id, code, attempts := placeOrder(ctx, srv.Client(), srv.URL, "tok", "sess", "k", 0, 0)
	if id != "" || code != http.StatusConflict || attempts != 1 || hits.Load() != 1 {
		t.Fatalf("halt: id %q status %d attempts %d requests %d; want 409 after one request", id, code, attempts, hits.Load())
	}
}

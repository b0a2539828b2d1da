// Package drill runs the failover drill: concurrent idempotent orders
// against the real service while the database's connections are killed and
// the PostgreSQL server is restarted, then checks that every acknowledged
// order exists exactly once, every outbox row reached the bus, readiness
// (the load balancer's check) stayed 200 throughout, and orders were
// acknowledged again within a bound.
package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trading-ha/trading-ha/app/internal/testkit"
	"github.com/trading-ha/trading-ha/app/internal/testkit/stack"
)

// Options shape a drill run.
type Options struct {
	// Workers is the number of concurrent clients (default 8).
	Workers int
	// Duration is how long clients keep placing new orders (default 20s).
	Duration time.Duration
	// TerminateAt is when all backends are killed with pg_terminate_backend (default 3s).
	TerminateAt time.Duration
	// RestartAt is when the PostgreSQL server is stopped (default 8s).
	RestartAt time.Duration
	// Downtime is how long the server stays down (default 3s).
	Downtime time.Duration
	// RecoveryLimit bounds the time from the server stop to the first order
	// acknowledged after the server is back (default 30s).
	RecoveryLimit time.Duration
	// Logger receives the service's logs (default: discarded).
	Logger *slog.Logger
	// Env adds service environment variables (e.g. ORDER_BATCH_WORKERS).
	Env map[string]string
	// Progress, if set, receives human-readable progress lines.
	Progress func(format string, args ...any)
}

func (o *Options) defaults() {
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.Duration <= 0 {
		o.Duration = 20 * time.Second
	}
	if o.TerminateAt <= 0 {
		o.TerminateAt = 3 * time.Second
	}
	if o.RestartAt <= 0 {
		o.RestartAt = 8 * time.Second
	}
	if o.Downtime <= 0 {
		o.Downtime = 3 * time.Second
	}
	if o.RecoveryLimit <= 0 {
		o.RecoveryLimit = 30 * time.Second
	}
	if o.Progress == nil {
		o.Progress = func(string, ...any) {}
	}
}

// Report holds the drill's figures.
type Report struct {
	// OrdersSent is the number of distinct orders (idempotency keys) attempted.
	OrdersSent int
	// Acknowledged is how many got a 201/200 (possibly after client retries).
	Acknowledged int
	// Unacknowledged gave up on the client side (not an error by itself: the
	// client never got a promise).
	Unacknowledged int
	// Lost counts acknowledged orders missing from the database.
	Lost int
	// Duplicated counts idempotency keys stored more than once, plus
	// acknowledged keys whose stored order ID differs from the acknowledged one.
	Duplicated int
	// StoredOrders is the number of order rows.
	StoredOrders int
	// ClientRetries is how many HTTP attempts were repeats of a key.
	ClientRetries int
	// Replays is how many acknowledgements were 200 (idempotent replay).
	Replays int
	// BackendsTerminated is what pg_terminate_backend killed.
	BackendsTerminated int
	// OutboxRows and OutboxPublished count outbox rows and those marked published.
	OutboxRows, OutboxPublished int
	// BusDistinctOrders is how many distinct order IDs the bus received;
	// BusDeliveries counts every delivery (at-least-once may repeat).
	BusDistinctOrders, BusDeliveries int
	// OrdersMissingOnBus counts stored orders the bus never received.
	OrdersMissingOnBus int
	// ReadinessDropped is true if /readyz answered anything but 200 during
	// the outage: the load balancer would have taken the task out and ECS
	// replaced it, although the process could serve.
	ReadinessDropped bool
	// Recovery is the time from the server stop to the first order
	// acknowledged after the server was back; RecoveryAfterDBUp excludes
	// the downtime.
	Recovery, RecoveryAfterDBUp time.Duration
	// RecoveryLimit is the bound Recovery was checked against.
	RecoveryLimit time.Duration
	// Elapsed is the whole drill's wall time.
	Elapsed time.Duration
}

// Failures lists the properties the run violated; empty means the drill passed.
func (r Report) Failures() []string {
	var f []string
	if r.Acknowledged == 0 {
		f = append(f, "no order was acknowledged")
	}
	if r.Lost > 0 {
		f = append(f, fmt.Sprintf("%d acknowledged order(s) lost", r.Lost))
	}
	if r.Duplicated > 0 {
		f = append(f, fmt.Sprintf("%d duplicated order(s)", r.Duplicated))
	}
	if r.OutboxPublished != r.OutboxRows || r.OutboxRows != r.StoredOrders {
		f = append(f, fmt.Sprintf("outbox: %d rows for %d orders, %d published", r.OutboxRows, r.StoredOrders, r.OutboxPublished))
	}
	if r.OrdersMissingOnBus > 0 {
		f = append(f, fmt.Sprintf("%d order(s) never reached the bus", r.OrdersMissingOnBus))
	}
	if r.ReadinessDropped {
		f = append(f, "readiness failed during the database outage: the load balancer would take every task out")
	}
	if r.Recovery <= 0 || r.Recovery > r.RecoveryLimit {
		f = append(f, fmt.Sprintf("recovery %s not within %s", r.Recovery, r.RecoveryLimit))
	}
	return f
}

// String renders the figures, one per line.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "orders sent:            %d\n", r.OrdersSent)
	fmt.Fprintf(&b, "acknowledged:           %d (%d as idempotent replays)\n", r.Acknowledged, r.Replays)
	fmt.Fprintf(&b, "unacknowledged:         %d\n", r.Unacknowledged)
	fmt.Fprintf(&b, "client retries:         %d\n", r.ClientRetries)
	fmt.Fprintf(&b, "lost:                   %d\n", r.Lost)
	fmt.Fprintf(&b, "duplicated:             %d\n", r.Duplicated)
	fmt.Fprintf(&b, "stored orders:          %d\n", r.StoredOrders)
	fmt.Fprintf(&b, "backends terminated:    %d\n", r.BackendsTerminated)
	fmt.Fprintf(&b, "outbox published:       %d/%d\n", r.OutboxPublished, r.OutboxRows)
	fmt.Fprintf(&b, "bus distinct orders:    %d (%d deliveries, %d missing)\n", r.BusDistinctOrders, r.BusDeliveries, r.OrdersMissingOnBus)
	fmt.Fprintf(&b, "readiness in outage:    %s\n", map[bool]string{false: "stayed 200", true: "DROPPED"}[r.ReadinessDropped])
	fmt.Fprintf(&b, "recovery seconds:       %.2f (%.2f after the database was back; limit %.0f)\n",
		r.Recovery.Seconds(), r.RecoveryAfterDBUp.Seconds(), r.RecoveryLimit.Seconds())
	fmt.Fprintf(&b, "elapsed seconds:        %.1f\n", r.Elapsed.Seconds())
	if f := r.Failures(); len(f) > 0 {
		fmt.Fprintf(&b, "RESULT: FAIL: %s\n", strings.Join(f, "; "))
	} else {
		b.WriteString("RESULT: PASS\n")
	}
	return b.String()
}

type ack struct {
	trader, key, orderID string
}

// Run executes the drill. The returned error covers setup problems (a
// missing dependency wraps testkit.ErrUnavailable); property violations are
// in Report.Failures.
func Run(ctx context.Context, opts Options) (Report, error) {
	opts.defaults()
	start := time.Now()
	traders := make([]string, opts.Workers)
	for i := range traders {
		traders[i] = fmt.Sprintf("drill-desk-%d", i)
	}
	st, err := stack.Start(ctx, stack.Options{Logger: opts.Logger, Clients: traders, Env: opts.Env,
		Parameters: drillParameters()})
	if err != nil {
		return Report{}, fmt.Errorf("start stack: %w", err)
	}
	defer st.Close()
	opts.Progress("stack up: service %s, postgres 127.0.0.1:%d (TLS verify-full, least-privileged role), dynalite %s, OIDC issuer %s",
		st.BaseURL, st.Postgres.Port, st.Dynalite.Endpoint, st.Issuer.URL)

	httpc := &http.Client{Timeout: 10 * time.Second}
	sessions := make([]string, opts.Workers)
	tokens := make([]string, opts.Workers)
	for i := range sessions {
		// Each worker is a desk authenticating with client credentials.
		if tokens[i], err = clientCredentials(ctx, httpc, st.Issuer.TokenURL, traders[i], st.ClientSecrets[traders[i]]); err != nil {
			return Report{}, err
		}
		if sessions[i], err = createSession(ctx, httpc, st.BaseURL, tokens[i]); err != nil {
			return Report{}, err
		}
	}

	var (
		rep        Report
		mu         sync.Mutex
		acks       []ack
		sent       atomic.Int64
		unacked    atomic.Int64
		retries    atomic.Int64
		replays    atomic.Int64
		stopAt     = time.Now().Add(opts.Duration)
		stopReady  = make(chan struct{})
		readyWG    sync.WaitGroup
		outageMu   sync.Mutex
		outageAt   time.Time
		dbUpAt     time.Time
		recoveryAt time.Time
		// readinessDropped: /readyz was not 200 at some point of the outage.
		readinessDropped bool
	)

	// Readiness monitor.
	readyWG.Add(1)
	go func() {
		defer readyWG.Done()
		probe := &http.Client{Timeout: 3 * time.Second}
		for {
			select {
			case <-stopReady:
				return
			case <-time.After(100 * time.Millisecond):
			}
			ok := false
			if resp, err := probe.Get(st.BaseURL + "/readyz"); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				ok = resp.StatusCode == http.StatusOK
			}
			outageMu.Lock()
			if !outageAt.IsZero() && !ok {
				readinessDropped = true
			}
			outageMu.Unlock()
		}
	}()

	// Chaos.
	chaosErr := make(chan error, 1)
	go func() {
		chaosErr <- func() error {
			if !sleepCtx(ctx, opts.TerminateAt) {
				return ctx.Err()
			}
			n, err := st.Postgres.TerminateBackends(ctx)
			if err != nil {
				return err
			}
			rep.BackendsTerminated += n
			opts.Progress("t=%.1fs pg_terminate_backend killed %d connection(s)", time.Since(start).Seconds(), n)
			if !sleepCtx(ctx, opts.RestartAt-opts.TerminateAt) {
				return ctx.Err()
			}
			outageMu.Lock()
			outageAt = time.Now()
			outageMu.Unlock()
			opts.Progress("t=%.1fs stopping PostgreSQL (pg_ctl stop -m fast)", time.Since(start).Seconds())
			if err := st.Postgres.Stop(ctx, "fast"); err != nil {
				return err
			}
			if !sleepCtx(ctx, opts.Downtime) {
				return ctx.Err()
			}
			if err := st.Postgres.Start(ctx); err != nil {
				return err
			}
			outageMu.Lock()
			dbUpAt = time.Now()
			outageMu.Unlock()
			opts.Progress("t=%.1fs PostgreSQL back up", time.Since(start).Seconds())
			return nil
		}()
	}()

	// Load.
	var wg sync.WaitGroup
	for w := range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(stopAt) && ctx.Err() == nil; i++ {
				key := fmt.Sprintf("drill-w%d-%d", w, i)
				sent.Add(1)
				id, code, attempts := placeOrder(ctx, httpc, st.BaseURL, tokens[w], sessions[w], key, w, i)
				retries.Add(int64(attempts - 1))
				if id == "" {
					unacked.Add(1)
					continue
				}
				if code == http.StatusOK {
					replays.Add(1)
				}
				mu.Lock()
				acks = append(acks, ack{trader: traders[w], key: key, orderID: id})
				mu.Unlock()
				outageMu.Lock()
				if !dbUpAt.IsZero() && recoveryAt.IsZero() {
					recoveryAt = time.Now()
				}
				outageMu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := <-chaosErr; err != nil {
		close(stopReady)
		readyWG.Wait()
		return Report{}, fmt.Errorf("chaos step: %w", err)
	}
	opts.Progress("t=%.1fs load finished; waiting for readiness and the outbox to drain", time.Since(start).Seconds())

	// Make sure recovery is observed even if load ended early.
	deadline := time.Now().Add(opts.RecoveryLimit)
	for {
		outageMu.Lock()
		done := !recoveryAt.IsZero()
		outageMu.Unlock()
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(stopReady)
	readyWG.Wait()
	rep.ReadinessDropped = readinessDropped
	if !recoveryAt.IsZero() {
		rep.Recovery = recoveryAt.Sub(outageAt)
		rep.RecoveryAfterDBUp = recoveryAt.Sub(dbUpAt)
	}
	rep.RecoveryLimit = opts.RecoveryLimit

	// Outbox drain.
	drainDeadline := time.Now().Add(60 * time.Second)
	for {
		n, err := st.Service.Store().PendingOutbox(ctx)
		if err == nil && n == 0 {
			break
		}
		if time.Now().After(drainDeadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}

	rep.OrdersSent = int(sent.Load())
	rep.Acknowledged = len(acks)
	rep.Unacknowledged = int(unacked.Load())
	rep.ClientRetries = int(retries.Load())
	rep.Replays = int(replays.Load())
	if err := verify(ctx, st, acks, &rep); err != nil {
		return rep, err
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

func verify(ctx context.Context, st *stack.Stack, acks []ack, rep *Report) error {
	conn, err := pgx.Connect(ctx, st.Postgres.AdminURL(st.Postgres.Database))
	if err != nil {
		return fmt.Errorf("verify: connect: %w", err)
	}
	defer conn.Close(ctx)
	stored := map[string][]string{} // trader/key -> order IDs
	rows, err := conn.Query(ctx, `SELECT trader_id, idempotency_key, order_id::text FROM orders`)
	if err != nil {
		return fmt.Errorf("verify: read orders: %w", err)
	}
	allOrders := map[string]bool{}
	for rows.Next() {
		var s, k, id string
		if err := rows.Scan(&s, &k, &id); err != nil {
			return fmt.Errorf("verify: scan: %w", err)
		}
		stored[s+"/"+k] = append(stored[s+"/"+k], id)
		allOrders[id] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("verify: rows: %w", err)
	}
	rep.StoredOrders = len(allOrders)
	for _, ids := range stored {
		if len(ids) > 1 {
			rep.Duplicated += len(ids) - 1
		}
	}
	for _, a := range acks {
		ids := stored[a.trader+"/"+a.key]
		switch {
		case len(ids) == 0:
			rep.Lost++
		case ids[0] != a.orderID:
			rep.Duplicated++
		}
	}
	if err := conn.QueryRow(ctx, `SELECT count(*), count(published_at) FROM outbox`).Scan(&rep.OutboxRows, &rep.OutboxPublished); err != nil {
		return fmt.Errorf("verify: outbox: %w", err)
	}
	seen := map[string]bool{}
	for _, e := range st.Bus.Events() {
		var d struct {
			OrderID string `json:"order_id"`
		}
		if err := json.Unmarshal([]byte(e.Detail), &d); err == nil {
			seen[d.OrderID] = true
		}
		rep.BusDeliveries++
	}
	rep.BusDistinctOrders = len(seen)
	for id := range allOrders {
		if !seen[id] {
			rep.OrdersMissingOnBus++
		}
	}
	return nil
}

var symbols = []string{"AAPL", "MSFT", "AMZN", "GOOG", "BRK.B", "JPM"}

// drillParameters are the risk parameters of the drill's stack. The drill
// is about failover, not pre-trade limits: no practical rate limit, and a
// reference price for every symbol it trades (a desk's order for a symbol
// without one is refused) with a band wide enough for its prices (10 to
// 310 around 160).
func drillParameters() map[string]string {
	p := map[string]string{"limits/max-orders-per-second": "100000", "limits/price-band-pct": "100"}
	for _, s := range symbols {
		p["reference-prices/"+s] = "160"
	}
	return p
}

// placeOrder posts one order, retrying with the same Idempotency-Key on any
// error or 5xx (as a well-behaved client does) for up to a minute; a 4xx,
// the halt (409 trading_halted) included, is final and never resubmitted. It
// returns the acknowledged order ID ("" if it gave up), the final status and
// the number of attempts.
func placeOrder(ctx context.Context, c *http.Client, base, token, session, key string, w, i int) (string, int, int) {
	body, _ := json.Marshal(map[string]any{
		"symbol": symbols[(w+i)%len(symbols)], "side": []string{"buy", "sell"}[i%2],
		"quantity": 1 + (w*31+i)%500, "limit_price": fmt.Sprintf("%d.%02d", 10+i%300, i%100),
	})
	giveUp := time.Now().Add(time.Minute)
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/orders", bytes.NewReader(body))
		if err != nil {
			return "", 0, attempt
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("X-Session-ID", session)
		req.Header.Set("Idempotency-Key", key)
		resp, err := c.Do(req)
		if err == nil {
			var o struct {
				OrderID string `json:"order_id"`
			}
			derr := json.NewDecoder(resp.Body).Decode(&o)
			_ = resp.Body.Close()
			switch {
			case (resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusOK) && derr == nil && o.OrderID != "":
				return o.OrderID, resp.StatusCode, attempt
			case resp.StatusCode == http.StatusConflict:
				// The kill switch (409 trading_halted) is final: resubmitting
				// would place the order later without a new decision.
				return "", resp.StatusCode, attempt
			case resp.StatusCode < 500:
				return "", resp.StatusCode, attempt // a client error will not heal
			}
		}
		if time.Now().After(giveUp) || ctx.Err() != nil {
			return "", 0, attempt
		}
		time.Sleep(backoff/2 + time.Duration(rand.Int64N(int64(backoff))))
		backoff = min(2*backoff, time.Second)
	}
}

func createSession(ctx context.Context, c *http.Client, base, token string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/sessions", nil)
	if err != nil {
		return "", fmt.Errorf("session request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	defer resp.Body.Close()
	var s struct {
		SessionID string `json:"session_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || resp.StatusCode != http.StatusCreated {
		return "", errors.Join(fmt.Errorf("create session: status %d", resp.StatusCode), err)
	}
	return s.SessionID, nil
}

// clientCredentials gets an access token with the OAuth2 client-credentials
// grant, as a desk does against the Cognito token endpoint.
func clientCredentials(ctx context.Context, c *http.Client, tokenURL, clientID, secret string) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"trading/orders"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("token request: %w", err)
	}
	defer resp.Body.Close()
	var t struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil || resp.StatusCode != http.StatusOK || t.AccessToken == "" {
		return "", errors.Join(fmt.Errorf("token request: status %d", resp.StatusCode), err)
	}
	return t.AccessToken, nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// SkipOrFail ends a test whose drill could not start: a skip when a
// dependency binary is missing, a failure when TRADING_REQUIRE_INTEGRATION=1
// or for any other error.
func SkipOrFail(t testing.TB, err error) { t.Helper(); testkit.SkipOrFail(t, err) }

// ErrUnavailable is wrapped by errors about missing dependency binaries.
var ErrUnavailable = testkit.ErrUnavailable

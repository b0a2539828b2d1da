package events_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/trading-ha/trading-ha/app/internal/events"
	"github.com/trading-ha/trading-ha/app/internal/orders"
	"github.com/trading-ha/trading-ha/app/internal/store"
)

// flakyBus records the time of every publish call and fails them all while
// down: the whole call (HTTP 5xx), or, with entries set, every entry with
// EventBridge's InternalFailure (the call itself answers 200).
type flakyBus struct {
	mu      sync.Mutex
	down    bool
	entries bool
	calls   []time.Time
	sent    int
}

func (b *flakyBus) publish(_ context.Context, batch []store.OutboxEvent) (store.PublishResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, time.Now())
	if b.down && b.entries {
		res := store.PublishResult{Failed: map[int64]string{}, Transient: map[int64]bool{}}
		for _, e := range batch {
			res.Failed[e.ID], res.Transient[e.ID] = "InternalFailure: internal error", true
		}
		return res, nil
	}
	if b.down {
		return store.PublishResult{}, errors.New("put events: 503 Service Unavailable")
	}
	b.sent += len(batch)
	return store.PublishResult{}, nil
}

func (b *flakyBus) set(down bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.down, b.calls = down, nil
}

func (b *flakyBus) snapshot() (calls []time.Time, sent int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]time.Time(nil), b.calls...), b.sent
}

// gaps are the pauses between publish passes (calls less than 20 ms apart
// belong to one pass's concurrent chunks).
func gaps(calls []time.Time) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(calls); i++ {
		if d := calls[i].Sub(calls[i-1]); d > 20*time.Millisecond {
			out = append(out, d)
		}
	}
	return out
}

// TestRelayBacksOffDuringABusOutage: while every PutEvents call fails, the
// relay's passes get further apart (exponential, capped, jittered) instead
// of hammering the bus at the poll rate; once the bus answers, the backlog
// is published and the next outage starts from the short delay again.
func TestRelayBacksOffDuringABusOutage(t *testing.T) {
	_, dsn := startPostgres(t)
	for _, entries := range []bool{false, true} {
		t.Run(map[bool]string{false: "failed calls", true: "failed entries"}[entries], func(t *testing.T) {
			testRelayOutage(t, dsn, entries)
		})
	}
}

func testRelayOutage(t *testing.T, dsn store.DSN, entries bool) {
	s := openStore(t, dsn, store.Options{})
	ctx := context.Background()
	if _, err := s.Writer().Exec(ctx, `DELETE FROM outbox`); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		if _, err := s.CreateOrder(ctx, "DESK-A", "s", "outage-"+strconv.FormatBool(entries)+strconv.Itoa(i),
			orders.Request{Symbol: "AAPL", Side: "buy", Quantity: 1, LimitPrice: "1"}); err != nil {
			t.Fatal(err)
		}
	}
	bus := &flakyBus{entries: entries}
	bus.set(true)
	r := events.NewRelay(s, bus.publish, slog.New(slog.NewTextHandler(io.Discard, nil)))
	r.Interval = 20 * time.Millisecond
	r.Options = store.RelayOptions{BackoffBase: 20 * time.Millisecond, BackoffMax: 20 * time.Millisecond}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); r.Run(runCtx) }()
	defer func() { stop(); <-done }()

	time.Sleep(4 * time.Second)
	calls, _ := bus.snapshot()
	g := gaps(calls)
	var first, last time.Duration
	if len(g) > 0 {
		first, last = g[0], g[len(g)-1]
	}
	t.Logf("outage: %d calls in %d passes, first pause %v, last %v", len(calls), len(g)+1, first, last)
	if len(g) < 3 || len(calls) > 40 || last < 4*first {
		t.Fatalf("during the outage the relay made %d calls in %d passes (first pause %v, last %v): want the pauses to grow (the last >= 4x the first)",
			len(calls), len(g)+1, first, last)
	}

	bus.set(false)
	deadline := time.Now().Add(8 * time.Second)
	for {
		if _, sent := bus.snapshot(); sent == 30 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("backlog not published within 8 s of the bus coming back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A new outage after a success starts again from a short pause.
	time.Sleep(200 * time.Millisecond)
	if _, err := s.CreateOrder(ctx, "DESK-A", "s", "outage-again-"+strconv.FormatBool(entries),
		orders.Request{Symbol: "AAPL", Side: "buy", Quantity: 1, LimitPrice: "1"}); err != nil {
		t.Fatal(err)
	}
	bus.set(true)
	r.Notify()
	// Two calls at most a short pause apart; the wait for them is generous
	// (a loaded machine), the pause between them is what is held.
	for wait := time.Now().Add(5 * time.Second); time.Now().Before(wait); time.Sleep(50 * time.Millisecond) {
		if calls, _ = bus.snapshot(); len(calls) >= 2 {
			break
		}
	}
	if g := gaps(calls); len(calls) < 2 || (len(g) > 0 && g[0] > 500*time.Millisecond) {
		t.Fatalf("second outage: calls %d pauses %v: the backoff was not reset by the success", len(calls), g)
	}
}

package store_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trading-ha/trading-ha/app/internal/orders"
	"github.com/trading-ha/trading-ha/app/internal/store"
)

// TestGroupCommitMixedBatch puts, in one batch, new orders, a replay of an
// earlier order (same key, same body: the original), a conflicting reuse
// of that key (different body: ErrKeyReused), two orders with the same new
// key and body (one order; the second gets it as a replay) and two with the
// same new key and different bodies (one order, one ErrKeyReused).
func TestGroupCommitMixedBatch(t *testing.T) {
	pg, s := openAs(t, store.Options{BatchWorkers: 1})
	ctx := context.Background()
	other := req
	other.Quantity++
	original, err := s.CreateOrder(ctx, "DESK-A", "s1", "earlier", req)
	if err != nil || !original.Created {
		t.Fatalf("earlier order: %+v %v", original, err)
	}
	// Hold the outbox so the next batch (the blocker) waits in the
	// database while the mix queues behind it: the single worker then
	// takes the whole mix as one batch.
	tx := lockOutbox(ctx, t, pg)
	blocker := make(chan error, 1)
	go func() { _, err := s.CreateOrder(ctx, "DESK-A", "s1", "blocker", req); blocker <- err }()
	time.Sleep(300 * time.Millisecond)

	type call struct {
		trader, key string
		body        orders.Request
		res         store.CreateResult
		err         error
	}
	calls := []*call{
		{trader: "DESK-A", key: "new-1", body: req},
		{trader: "DESK-A", key: "new-2", body: other},
		{trader: "DESK-B", key: "new-1", body: req},
		{trader: "DESK-A", key: "earlier", body: req},   // replay
		{trader: "DESK-A", key: "earlier", body: other}, // conflict
		{trader: "DESK-A", key: "dup", body: req},
		{trader: "DESK-A", key: "dup", body: req},
		{trader: "DESK-B", key: "dup-diff", body: req},
		{trader: "DESK-B", key: "dup-diff", body: other},
	}
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.res, c.err = s.CreateOrder(ctx, c.trader, "s2", c.key, c.body)
		}()
	}
	time.Sleep(300 * time.Millisecond) // all queued behind the blocker
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := <-blocker; err != nil {
		t.Fatal(err)
	}
	for i, c := range calls[:3] {
		if c.err != nil || !c.res.Created || c.res.Order.IdempotencyKey != c.key || c.res.Order.TraderID != c.trader {
			t.Errorf("new order %d: %+v %v", i, c.res, c.err)
		}
	}
	if c := calls[3]; c.err != nil || c.res.Created || c.res.Order.OrderID != original.Order.OrderID || c.res.Order.LimitPrice != "187.25" {
		t.Errorf("replay: %+v %v, want the original %s", c.res, c.err, original.Order.OrderID)
	}
	if c := calls[4]; !errors.Is(c.err, store.ErrKeyReused) {
		t.Errorf("same key, different body: %+v %v, want ErrKeyReused", c.res, c.err)
	}
	d1, d2 := calls[5], calls[6]
	if d1.err != nil || d2.err != nil || d1.res.Order.OrderID != d2.res.Order.OrderID || d1.res.Created == d2.res.Created {
		t.Errorf("same key twice in one batch: %+v %v / %+v %v, want one order, created once", d1.res, d1.err, d2.res, d2.err)
	}
	x1, x2 := calls[7], calls[8]
	created, reused := 0, 0
	for _, c := range []*call{x1, x2} {
		switch {
		case c.err == nil && c.res.Created:
			created++
		case errors.Is(c.err, store.ErrKeyReused):
			reused++
		}
	}
	if created != 1 || reused != 1 {
		t.Errorf("same key twice with different bodies: %+v %v / %+v %v, want one created and one ErrKeyReused",
			x1.res, x1.err, x2.res, x2.err)
	}
	// One order per (trader, key), each with its outbox row, and the mix
	// committed as one transaction.
	var ordersN, outboxN, txs int
	if err := s.Writer().QueryRow(ctx, `SELECT count(*), count(x.id), count(DISTINCT o.xmin::text) FILTER (WHERE o.session_id = 's2')
		FROM orders o LEFT JOIN outbox x USING (order_id)`).Scan(&ordersN, &outboxN, &txs); err != nil {
		t.Fatal(err)
	}
	if ordersN != 7 || outboxN != 7 || txs != 1 {
		t.Fatalf("%d orders, %d outbox rows, mix in %d transactions; want 7, 7 and 1", ordersN, outboxN, txs)
	}
}

// TestGroupCommitGroups: orders that arrive while the database is busy
// share commits. Deterministic part: 32 desks' orders arrive while every
// order write waits on a lock; once it is released they commit in a few
// transactions (at most the workers' blocked batches plus the queue's
// batches), where one transaction per order would be 32. Steady part:
// desks placing orders back to back, with a little time between them as an
// HTTP request takes, commit more than one order per transaction (on a
// quiet machine about 5; the bound is loose because a loaded machine
// groups less).
func TestGroupCommitGroups(t *testing.T) {
	pg, s := openAs(t, store.Options{})
	ctx := context.Background()

	const queued = 32
	lock := lockOutbox(ctx, t, pg)
	var qwg sync.WaitGroup
	for w := range queued {
		qwg.Add(1)
		go func() {
			defer qwg.Done()
			if _, err := s.CreateOrder(ctx, "DESK-Q"+strconv.Itoa(w), "sq", "q", req); err != nil {
				t.Error(err)
			}
		}()
	}
	time.Sleep(time.Second) // every order is in a blocked batch or queued behind them
	if err := lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	qwg.Wait()
	var qRows, qTxs int
	if err := s.Writer().QueryRow(ctx, `SELECT count(*), count(DISTINCT xmin::text) FROM orders WHERE session_id = 'sq'`).Scan(&qRows, &qTxs); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d orders that arrived while the database was busy: %d transactions", qRows, qTxs)
	if qRows != queued || qTxs > queued/3 {
		t.Fatalf("%d orders that arrived while the database was busy committed in %d transactions; want %d orders in at most %d",
			qRows, qTxs, queued, queued/3)
	}

	var n atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(2 * time.Second)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(stop); i++ {
				time.Sleep(time.Duration(rand.Int64N(int64(time.Millisecond))))
				if _, err := s.CreateOrder(ctx, "DESK-"+strconv.Itoa(w), "s", strconv.Itoa(i), req); err != nil {
					t.Error(err)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	var rows, txs float64
	if err := s.Writer().QueryRow(ctx, `SELECT count(*), count(DISTINCT xmin::text) FROM orders WHERE session_id = 's'`).Scan(&rows, &txs); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d orders in %.0f transactions: %.1f per commit", n.Load(), txs, rows/txs)
	if rows/txs < 1.5 {
		t.Fatalf("%.0f orders in %.0f transactions (%.1f per commit): concurrent orders do not share commits", rows, txs, rows/txs)
	}
}

// TestGroupCommitDoesNotDelayALoneOrder: with nothing else arriving, an
// order is written at once, not after the batch wait.
func TestGroupCommitDoesNotDelayALoneOrder(t *testing.T) {
	_, s := openAs(t, store.Options{})
	ctx := context.Background()
	if _, err := s.CreateOrder(ctx, "DESK-A", "s", "warm", req); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	var best time.Duration
	for i := range 5 {
		start := time.Now()
		if _, err := s.CreateOrder(ctx, "DESK-A", "s", "lone-"+strconv.Itoa(i), req); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); best == 0 || d < best {
			best = d
		}
		time.Sleep(100 * time.Millisecond)
	}
	if best >= 50*time.Millisecond {
		t.Fatalf("a lone order took at least %s", best)
	}
}

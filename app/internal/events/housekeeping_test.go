package events_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/trading-ha/trading-ha/app/internal/events"
	"github.com/trading-ha/trading-ha/app/internal/store"
)

// oldCleanupPerCycle is what one cleanup cycle could remove before cleanup
// scaled with load: one 5,000-row statement per table per minute, shared
// by every task (~83 orders/s).
const oldCleanupPerCycle = 5000

// TestCleanupKeepsUpWithThreeTimesTheOldRate feeds expired rows at three
// times the old cleanup capacity (~250 orders/s, scaled: one cleanup
// interval stands for a minute) while two tasks' housekeepers run, and
// checks that the backlog stays bounded by about one cycle's arrivals and
// is gone within two cycles once arrivals stop ("keys are released within a
// minute").
func TestCleanupKeepsUpWithThreeTimesTheOldRate(t *testing.T) {
	_, dsn := startPostgres(t)
	ctx := context.Background()
	const (
		interval = 1500 * time.Millisecond
		perCycle = 3 * oldCleanupPerCycle
		cycles   = 6
	)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var tasks []*store.Store
	for range 2 {
		tasks = append(tasks, openStore(t, dsn, store.Options{}))
	}
	feeder := tasks[0]
	expired := func() (keys, rows int64) {
		t.Helper()
		if err := feeder.Writer().QueryRow(ctx, `SELECT
			(SELECT count(*) FROM orders WHERE key_active AND created_at < now() - interval '24 hours'),
			(SELECT count(*) FROM outbox WHERE published_at < now() - interval '24 hours')`).Scan(&keys, &rows); err != nil {
			t.Fatal(err)
		}
		return keys, rows
	}
	feed := func(cycle int) {
		t.Helper()
		// One minute's worth of orders that are past both retentions:
		// their keys are due for release and their events for deletion.
		if _, err := feeder.Writer().Exec(ctx, `WITH o AS (
				INSERT INTO orders (order_id, session_id, trader_id, idempotency_key, request_hash, symbol, side,
				                    quantity, limit_price, status, created_at)
				SELECT gen_random_uuid(), 's', 'DESK-' || (g % 16), 'k-' || $1::text || '-' || g, 'h', 'AAPL', 'buy',
				       1, 1, 'accepted', now() - interval '25 hours' FROM generate_series(1, $2::int) g
				RETURNING order_id)
			INSERT INTO outbox (order_id, event_type, payload, created_at, published_at)
			SELECT order_id, 'OrderPlaced', '{}', now() - interval '25 hours', now() - interval '25 hours' FROM o`, strconv.Itoa(cycle), perCycle); err != nil {
			t.Fatal(err)
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, s := range tasks {
		h := &events.Housekeeper{Store: s, Logger: quiet, Namespace: "Trading/test", CleanupInterval: interval,
			MetricsInterval: time.Hour, OutboxRetention: 24 * time.Hour}
		wg.Add(1)
		go func() { defer wg.Done(); h.Run(runCtx) }()
	}
	defer func() { stop(); wg.Wait() }()

	var worst int64
	for c := range cycles {
		feed(c)
		time.Sleep(interval)
		keys, rows := expired()
		worst = max(worst, keys, rows)
		t.Logf("cycle %d: backlog %d keys, %d outbox rows", c+1, keys, rows)
	}
	if worst > 2*perCycle {
		t.Fatalf("backlog grew to %d rows with %d arriving per cycle: cleanup does not keep up", worst, perCycle)
	}
	deadline := time.Now().Add(2 * interval)
	for {
		keys, rows := expired()
		if keys == 0 && rows == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d keys and %d outbox rows still due two cycles after arrivals stopped", keys, rows)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

package store_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trading-ha/trading-ha/app/internal/orders"
	"github.com/trading-ha/trading-ha/app/internal/store"
	"github.com/trading-ha/trading-ha/app/internal/testkit"
	"github.com/trading-ha/trading-ha/app/internal/testkit/stack"
)

// appStore starts PostgreSQL, runs the migrate step as the master user
// (creating the application role with a password) and opens a store as the
// application role reading its password from a file.
func appStore(t *testing.T) (*testkit.Postgres, *store.Store, string) {
	t.Helper()
	pg, app := stack.MigratedPostgres(t, "first-password")
	pwFile := filepath.Join(t.TempDir(), "db-password")
	if err := os.WriteFile(pwFile, []byte("first-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(context.Background(), app, app, store.Options{Credentials: &store.FilePassword{Path: pwFile}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return pg, s, pwFile
}

var req = orders.Request{Symbol: "AAPL", Side: "buy", Quantity: 10, LimitPrice: "187.25"}

func TestIdempotencyIsPerTraderAcrossSessions(t *testing.T) {
	_, s, _ := appStore(t)
	ctx := context.Background()
	first, err := s.CreateOrder(ctx, "DESK-A", "session-1", "key-1", req)
	if err != nil || !first.Created {
		t.Fatalf("first: %+v %v", first, err)
	}
	// Reply lost, session expired, new session, same key: the same order.
	retry, err := s.CreateOrder(ctx, "DESK-A", "session-2", "key-1", req)
	if err != nil || retry.Created || retry.Order.OrderID != first.Order.OrderID {
		t.Fatalf("cross-session retry: %+v %v, want replay of %s", retry, err, first.Order.OrderID)
	}
	// Another trader with the same key gets its own order.
	other, err := s.CreateOrder(ctx, "DESK-B", "session-3", "key-1", req)
	if err != nil || !other.Created || other.Order.OrderID == first.Order.OrderID {
		t.Fatalf("other trader: %+v %v", other, err)
	}
	var n int
	if err := s.Writer().QueryRow(ctx, `SELECT count(*) FROM orders WHERE idempotency_key = 'key-1'`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("orders with key-1 = %d (%v), want 2", n, err)
	}
	// Concurrent retries across sessions: one order.
	var wg sync.WaitGroup
	ids := make([]string, 12)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.CreateOrder(ctx, "DESK-C", "s-"+string(rune('a'+i)), "same", req)
			if err != nil {
				t.Error(err)
			}
			ids[i] = r.Order.OrderID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent cross-session retries made several orders: %v", ids)
		}
	}
	// The event carries neither the session id nor the idempotency key.
	var payload string
	if err := s.Writer().QueryRow(ctx, `SELECT payload::text FROM outbox WHERE order_id = $1`, first.Order.OrderID).Scan(&payload); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(payload, "session") || strings.Contains(payload, "key-1") || strings.Contains(payload, "idempotency") {
		t.Fatalf("event payload leaks session or key: %s", payload)
	}
}

func TestKeyRetentionReleasesKeys(t *testing.T) {
	_, s, _ := appStore(t)
	ctx := context.Background()
	first, err := s.CreateOrder(ctx, "DESK-A", "s1", "old-key", req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Writer().Exec(ctx, `UPDATE orders SET created_at = now() - interval '25 hours'`); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Cleanup(ctx, store.CleanupOptions{OutboxRetention: 24 * time.Hour, Batch: 100}); err != nil || st.Released != 1 {
		t.Fatalf("released %d, %v", st.Released, err)
	}
	again, err := s.CreateOrder(ctx, "DESK-A", "s2", "old-key", req)
	if err != nil || !again.Created || again.Order.OrderID == first.Order.OrderID {
		t.Fatalf("key after retention: %+v %v", again, err)
	}
	// Published outbox rows go after the outbox retention; unpublished stay.
	// A row is published after it is created, so both move back.
	if _, err := s.Writer().Exec(ctx, `UPDATE outbox SET created_at = now() - interval '2 days 1 minute', published_at = now() - interval '2 days' WHERE order_id = $1`, first.Order.OrderID); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Cleanup(ctx, store.CleanupOptions{OutboxRetention: 24 * time.Hour, Batch: 100}); err != nil || st.Deleted != 1 {
		t.Fatalf("deleted %d published rows, %v; want 1", st.Deleted, err)
	}
	if n, err := s.PendingOutbox(ctx); err != nil || n != 1 {
		t.Fatalf("pending = %d %v, want the new order's row", n, err)
	}
}

func TestPoisonRowsDoNotDelayGoodOnes(t *testing.T) {
	_, s, _ := appStore(t)
	ctx := context.Background()
	poison := map[string]bool{}
	for i := range 10 {
		r, err := s.CreateOrder(ctx, "DESK-A", "s", "poison-"+string(rune('0'+i)), req)
		if err != nil {
			t.Fatal(err)
		}
		poison[r.Order.OrderID] = true
	}
	var published []string
	var mu sync.Mutex
	publish := func(_ context.Context, batch []store.OutboxEvent) (store.PublishResult, error) {
		res := store.PublishResult{Failed: map[int64]string{}}
		mu.Lock()
		defer mu.Unlock()
		for _, e := range batch {
			if poison[e.OrderID] {
				res.Failed[e.ID] = "ValidationException: malformed detail"
				continue
			}
			published = append(published, e.OrderID)
		}
		return res, nil
	}
	opts := store.RelayOptions{MaxAttempts: 3, BackoffBase: time.Hour}
	// First pass: the 10 poison rows fail and back off on their own schedule.
	if st, err := s.RelayBatch(ctx, opts, publish); st.Failed != 10 || err == nil {
		t.Fatalf("first pass %+v %v", st, err)
	}
	good, err := s.CreateOrder(ctx, "DESK-A", "s", "good", req)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	st, err := s.RelayBatch(ctx, opts, publish)
	if err != nil || st.Published != 1 || len(published) != 1 || published[0] != good.Order.OrderID {
		t.Fatalf("good row after poison rows: %+v %v %v", st, err, published)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("good row took %s", time.Since(start))
	}
	// Make the poison rows due again until they are dead-lettered.
	for range 3 {
		if _, err := s.Writer().Exec(ctx, `UPDATE outbox SET next_attempt_at = now() WHERE published_at IS NULL`); err != nil {
			t.Fatal(err)
		}
		_, _ = s.RelayBatch(ctx, opts, publish)
	}
	m, err := s.OutboxMetrics(ctx)
	if err != nil || m.DeadLetters != 10 || m.Pending != 0 {
		t.Fatalf("metrics = %+v %v, want 10 dead letters and nothing pending", m, err)
	}
}

func TestRelayHoldsNoLocksWhilePublishing(t *testing.T) {
	_, s, _ := appStore(t)
	ctx := context.Background()
	if _, err := s.CreateOrder(ctx, "DESK-A", "s", "k", req); err != nil {
		t.Fatal(err)
	}
	checked := make(chan error, 1)
	publish := func(pctx context.Context, batch []store.OutboxEvent) (store.PublishResult, error) {
		// While "the bus" is slow, the row is not locked: another
		// session can update it without waiting.
		c, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, err := s.Writer().Exec(c, `UPDATE outbox SET last_error = 'probe' WHERE id = $1`, batch[0].ID)
		checked <- err
		<-pctx.Done() // the bus hangs until the publish deadline
		return store.PublishResult{}, pctx.Err()
	}
	start := time.Now()
	st, err := s.RelayBatch(ctx, store.RelayOptions{PublishTimeout: 300 * time.Millisecond}, publish)
	if err == nil || st.Failed != 1 {
		t.Fatalf("hung bus: %+v %v", st, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("publish deadline not applied: %s", d)
	}
	if err := <-checked; err != nil {
		t.Fatalf("row locked during publish: %v", err)
	}
}

func TestRotatedPasswordRecovers(t *testing.T) {
	pg, s, pwFile := appStore(t)
	ctx := context.Background()
	if _, err := s.CreateOrder(ctx, "DESK-A", "s", "before", req); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, pg.AdminURL(pg.Database))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `ALTER ROLE trading_app PASSWORD 'second-password'`); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.TerminateBackends(ctx); err != nil { // every pooled connection must re-dial
		t.Fatal(err)
	}
	_, err = s.CreateOrder(ctx, "DESK-A", "s", "during", req)
	if !store.IsAuthFailure(err) || s.AuthFailingSince().IsZero() {
		t.Fatalf("with the old password: %v (auth failing since %v)", err, s.AuthFailingSince())
	}
	// The secret store now has the new value; no restart.
	if err := os.WriteFile(pwFile, []byte("second-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateOrder(ctx, "DESK-A", "s", "after", req); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if !s.AuthFailingSince().IsZero() {
		t.Fatal("auth failure streak not cleared")
	}
}

func TestAppRoleIsLeastPrivileged(t *testing.T) {
	_, s, _ := appStore(t)
	ctx := context.Background()
	for _, q := range []string{`CREATE TABLE x (id int)`, `DROP TABLE orders`, `ALTER TABLE orders ADD COLUMN x int`, `TRUNCATE outbox`} {
		if _, err := s.Writer().Exec(ctx, q); err == nil {
			t.Errorf("application role may run %q", q)
		}
	}
	ok, err := s.SchemaCurrent(ctx)
	if err != nil || !ok {
		t.Fatalf("schema current = %v %v", ok, err)
	}
	b, _ := json.Marshal(store.AppTables)
	t.Logf("app role tables: %s", b)
}

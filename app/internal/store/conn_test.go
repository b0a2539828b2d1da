package store_test

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/trading-ha/trading-ha/app/internal/store"
	"github.com/trading-ha/trading-ha/app/internal/testkit"
	"github.com/trading-ha/trading-ha/app/internal/testkit/stack"
)

// records is a slog.Handler that keeps every record (goroutine-safe).
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *records) WithGroup(string) slog.Handler            { return r }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec.Clone())
	return nil
}

// find returns the attributes of every record with message msg.
func (r *records) find(msg string) []map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]string
	for _, rec := range r.recs {
		if rec.Message != msg {
			continue
		}
		m := map[string]string{}
		rec.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
		out = append(out, m)
	}
	return out
}

// openAs starts PostgreSQL, migrates it and opens a store as the
// application role with opts (credentials filled in).
func openAs(t *testing.T, opts store.Options) (*testkit.Postgres, *store.Store) {
	t.Helper()
	pg, app := stack.MigratedPostgres(t, "pw")
	opts.Credentials = store.StaticPassword("pw")
	s, err := store.Open(context.Background(), app, app, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return pg, s
}

// lockOutbox holds, in a transaction of a session of its own, a lock on
// the outbox that every order write waits for (its outbox insert) until
// the returned transaction ends; the session closes when the test ends.
func lockOutbox(ctx context.Context, t *testing.T, pg *testkit.Postgres) pgx.Tx {
	t.Helper()
	locker, err := pgx.Connect(ctx, pg.AdminURL(pg.Database))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { locker.Close(context.Background()) })
	tx, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE outbox IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	return tx
}

func alivePIDs(t *testing.T, pg *testkit.Postgres) []uint32 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.AdminURL(pg.Database))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, `SELECT pid::bigint FROM pg_stat_activity WHERE usename = 'trading_app'`)
	pids, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (uint32, error) {
		var p int64
		err := r.Scan(&p)
		return uint32(p), err
	})
	if err != nil {
		t.Fatal(err)
	}
	return pids
}

// TestBrokenConnectionRedialsOnlyItself: a write that meets a connection
// the server has closed is retried on another connection, and only the
// broken one is replaced: the pool's healthy connections stay open (in a
// failover every task re-dialling every connection at once is a storm of
// TLS handshakes and IAM tokens).
func TestBrokenConnectionRedialsOnlyItself(t *testing.T) {
	logs := &records{}
	pg, s := openAs(t, store.Options{MaxConns: 3, BatchWorkers: -1, Logger: slog.New(logs)})
	ctx := context.Background()
	// Open three connections; the one released last is handed out next.
	conns := make([]*pgxpool.Conn, 3)
	for i := range conns {
		c, err := s.Writer().Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	pids := make([]uint32, 3)
	for i, c := range conns {
		pids[i] = c.Conn().PgConn().PID()
	}
	for _, c := range conns {
		c.Release()
	}
	broken := pids[2]
	admin, err := pgx.Connect(ctx, pg.AdminURL(pg.Database))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend($1)`, int64(broken)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the backend exits
	for i := range 3 {
		if _, err := s.CreateOrder(ctx, "DESK-A", "s", "conn-"+string(rune('0'+i)), req); err != nil {
			t.Fatalf("order %d: %v", i, err)
		}
	}
	if len(logs.find("retrying database operation")) == 0 {
		t.Fatal("no order met the broken connection: the test did not exercise the retry")
	}
	alive := alivePIDs(t, pg)
	for _, pid := range pids[:2] {
		if !slices.Contains(alive, pid) {
			t.Fatalf("healthy connection %d was closed after connection %d broke (alive now: %v)", pid, broken, alive)
		}
	}
}

// TestClientDisconnectDuringWrite: the caller goes away (its context is
// cancelled) while the order's statement waits on a lock; the write goes
// on within its own deadline, exactly one order is stored, and the
// outcome is logged.
func TestClientDisconnectDuringWrite(t *testing.T) {
	for _, batched := range []bool{false, true} {
		t.Run(map[bool]string{false: "unbatched", true: "batched"}[batched], func(t *testing.T) {
			logs := &records{}
			opts := store.Options{BatchWorkers: -1, Logger: slog.New(logs)}
			if batched {
				opts.BatchWorkers = 2
			}
			pg, s := openAs(t, opts)
			ctx := context.Background()
			admin, err := pgx.Connect(ctx, pg.AdminURL(pg.Database))
			if err != nil {
				t.Fatal(err)
			}
			defer admin.Close(ctx)
			// The lock holder: a second session (statistics are frozen
			// inside a transaction, so the waiting is watched from admin).
			tx := lockOutbox(ctx, t, pg)
			reqCtx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() {
				_, err := s.CreateOrder(reqCtx, "DESK-A", "s", "gone", req)
				done <- err
			}()
			// Wait until the insert is blocked on the lock, then the client leaves.
			deadline := time.Now().Add(10 * time.Second)
			for {
				var waiting int
				if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
					WHERE usename = 'trading_app' AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
					t.Fatal(err)
				}
				if waiting > 0 {
					break
				}
				select {
				case err := <-done:
					t.Fatalf("CreateOrder returned before the lock was released: %v", err)
				default:
				}
				if time.Now().After(deadline) {
					t.Fatal("the order's insert never waited on the lock")
				}
				time.Sleep(20 * time.Millisecond)
			}
			cancel()
			time.Sleep(300 * time.Millisecond)
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("CreateOrder did not return")
			}
			var n int
			for deadline := time.Now().Add(5 * time.Second); n == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if err := admin.QueryRow(ctx, `SELECT count(*) FROM orders o JOIN outbox x USING (order_id)
					WHERE o.idempotency_key = 'gone'`).Scan(&n); err != nil {
					t.Fatal(err)
				}
			}
			if n != 1 {
				t.Fatalf("%d orders (with their outbox row) stored for the abandoned request, want exactly 1", n)
			}
			var outcome string
			deadline = time.Now().Add(5 * time.Second)
			for outcome == "" && time.Now().Before(deadline) {
				for _, r := range logs.find("order write outlived its request") {
					outcome = r["outcome"]
				}
				time.Sleep(20 * time.Millisecond)
			}
			if outcome != "created" {
				t.Fatalf("outcome of the abandoned write logged as %q, want created", outcome)
			}
		})
	}
}

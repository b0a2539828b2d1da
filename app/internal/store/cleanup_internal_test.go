package store

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trading-ha/trading-ha/app/internal/testkit"
)

// TestOutboxCleanupWalksOnlyDueRows: a cleanup cycle reads the rows it
// deletes, not every retained one. With 100 rows due and 50,000 retained
// (an hour of orders, published), the statement's scans of the outbox
// touch a few times the due rows (301 here); a walk of the whole table
// would touch 50,100, every minute on a busy day. Measured from PostgreSQL's own plan
// (EXPLAIN ANALYZE), inside a transaction that is rolled back.
func TestOutboxCleanupWalksOnlyDueRows(t *testing.T) {
	pg := testkit.PostgresFor(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.AdminURL(pg.Database))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if _, err := conn.Exec(ctx, m.SQL); err != nil {
			t.Fatalf("migration %s: %v", m.Version, err)
		}
	}
	const due, retained = 100, 50000
	// Oldest first, as the service writes them: the due rows have the
	// lowest ids.
	for _, c := range []struct {
		n   int
		age string
	}{{due, "25 hours"}, {retained, "1 hour"}} {
		if _, err := conn.Exec(ctx, `WITH o AS (
				INSERT INTO orders (order_id, session_id, trader_id, idempotency_key, request_hash, symbol, side,
				                    quantity, limit_price, status, created_at)
				SELECT gen_random_uuid(), 's', 'DESK-' || (g % 16), 'k-' || $2::text || '-' || g, 'h', 'AAPL', 'buy',
				       1, 1, 'accepted', now() - $2::interval FROM generate_series(1, $1::int) g
				RETURNING order_id, created_at)
			INSERT INTO outbox (order_id, event_type, payload, created_at, published_at)
			SELECT order_id, 'OrderPlaced', '{}', created_at, created_at + interval '1 second' FROM o`, c.n, c.age); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, `ANALYZE outbox`); err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	var plan []byte
	if err := tx.QueryRow(ctx, `EXPLAIN (ANALYZE, FORMAT JSON) `+cleanupOutboxSQL, (24 * time.Hour).Seconds(), 5000).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	var doc []struct{ Plan map[string]any }
	if err := json.Unmarshal(plan, &doc); err != nil || len(doc) != 1 {
		t.Fatalf("plan %s: %v", plan, err)
	}
	deleted := 0
	if v, ok := doc[0].Plan["Actual Rows"].(float64); ok {
		deleted = int(v)
	}
	read := outboxRowsRead(doc[0].Plan)
	t.Logf("cleanup of %d due rows among %d: %d outbox rows read", due, due+retained, read)
	var left int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM outbox`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != retained {
		t.Errorf("%d rows left after the cleanup, want the %d retained (deleted %d)", left, retained, deleted)
	}
	// Each due row is read three times: by the bound's walk, by the
	// selection and by the delete itself (a join on id).
	if read > 4*due {
		t.Errorf("the cleanup read %d outbox rows to delete %d: it walks the retained rows too", read, due)
	}
}

// outboxRowsRead sums, over a plan's scans of the outbox, the rows each
// returned and the rows its filter removed, times its loops.
func outboxRowsRead(node map[string]any) int {
	n := 0
	if node["Relation Name"] == "outbox" {
		rows, _ := node["Actual Rows"].(float64)
		removed, _ := node["Rows Removed by Filter"].(float64)
		loops, _ := node["Actual Loops"].(float64)
		n += int((rows + removed) * loops)
	}
	kids, _ := node["Plans"].([]any)
	for _, k := range kids {
		if m, ok := k.(map[string]any); ok {
			n += outboxRowsRead(m)
		}
	}
	return n
}

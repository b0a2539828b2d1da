package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trading-ha/trading-ha/app/internal/orders"
	"github.com/trading-ha/trading-ha/app/internal/store"
	"github.com/trading-ha/trading-ha/app/internal/testkit/stack"
)

// lookupStore starts PostgreSQL, runs the migrate step and opens a store as
// the least-privileged application role (FindByKey must work with its grants).
func lookupStore(t *testing.T) *store.Store {
	t.Helper()
	_, app := stack.MigratedPostgres(t, "lookup-password")
	pwFile := filepath.Join(t.TempDir(), "db-password")
	if err := os.WriteFile(pwFile, []byte("lookup-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(context.Background(), app, app, store.Options{Credentials: &store.FilePassword{Path: pwFile}, BatchWorkers: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestFindByKey: the order a trader's key names, with the fingerprint of the
// request that created it; another trader's key and a released key are not
// found.
func TestFindByKey(t *testing.T) {
	s := lookupStore(t)
	ctx := context.Background()
	req := orders.Request{Symbol: "AAPL", Side: "buy", Quantity: 10, LimitPrice: "187.2500"}
	req.LimitPrice, _ = orders.CanonicalPrice(req.LimitPrice)
	created, err := s.CreateOrder(ctx, "DESK-A", "session-1", "key-1", req)
	if err != nil || !created.Created {
		t.Fatalf("create: %+v %v", created, err)
	}
	got, err := s.FindByKey(ctx, "DESK-A", "key-1")
	if err != nil {
		t.Fatalf("find: %v", err)
	}
	want := created.Order
	if got.Order.OrderID != want.OrderID || got.Order.TraderID != "DESK-A" || got.Order.IdempotencyKey != "key-1" ||
		got.Order.LimitPrice != "187.25" || got.Order.Quantity != 10 || !got.Order.CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("found %+v, want %+v", got.Order, want)
	}
	if got.RequestHash != req.Fingerprint("DESK-A") {
		t.Fatalf("request hash %q, want the request's fingerprint %q", got.RequestHash, req.Fingerprint("DESK-A"))
	}
	if _, err := s.FindByKey(ctx, "DESK-B", "key-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another trader's key: %v, want ErrNotFound", err)
	}
	if _, err := s.FindByKey(ctx, "DESK-A", "key-2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unused key: %v, want ErrNotFound", err)
	}
	// After the retention the janitor releases the key: no longer found.
	if _, err := s.Writer().Exec(ctx, `UPDATE orders SET created_at = now() - interval '25 hours'`); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Cleanup(ctx, store.CleanupOptions{OutboxRetention: 24 * time.Hour, Batch: 100}); err != nil || st.Released != 1 {
		t.Fatalf("released %d, %v", st.Released, err)
	}
	if _, err := s.FindByKey(ctx, "DESK-A", "key-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("released key: %v, want ErrNotFound", err)
	}
}

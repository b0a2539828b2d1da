package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/trading-ha/trading-ha/app/internal/orders"
	"github.com/trading-ha/trading-ha/app/internal/store"
	"github.com/trading-ha/trading-ha/app/internal/testkit"
)

func TestMigrationsEmbedded(t *testing.T) {
	ms, err := store.Migrations()
	if err != nil || len(ms) == 0 || ms[0].Version != "0001_orders_outbox" {
		t.Fatalf("migrations = %v, %v", ms, err)
	}
}

func TestConcurrentMigrateAndFailoverRetry(t *testing.T) {
	pg := testkit.PostgresFor(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dsn := store.DSN{Host: "127.0.0.1", Port: pg.Port, Database: pg.Database, User: pg.User,
		SSLMode: "verify-full", RootCert: pg.CAFile}

	// Four tasks starting at once: the advisory lock lets exactly one apply.
	const n = 4
	stores := make([]*store.Store, n)
	applied := make([][]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		s, err := store.Open(ctx, dsn, dsn, store.Options{Credentials: store.StaticPassword(pg.Password)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		stores[i] = s
		wg.Add(1)
		go func() { defer wg.Done(); applied[i], errs[i] = s.Migrate(ctx) }()
	}
	wg.Wait()
	total, appliers := 0, 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("store %d: %v", i, errs[i])
		}
		total += len(applied[i])
		if len(applied[i]) > 0 {
			appliers++
		}
	}
	ms, _ := store.Migrations()
	if total != len(ms) || appliers != 1 {
		t.Fatalf("migration applied %d times, want 1: %v", total, applied)
	}

	// Kill every connection: the next write hits 57P01/closed conns, resets
	// the pool and succeeds on a fresh connection.
	s := stores[0]
	req := orders.Request{Symbol: "AAPL", Side: "buy", Quantity: 1, LimitPrice: "1.5"}
	if _, err := s.CreateOrder(ctx, "T", "s", "k0", req); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.TerminateBackends(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := s.CreateOrder(ctx, "T", "s", "k1", req)
	if err != nil || !res.Created {
		t.Fatalf("create after terminate: %+v, %v", res, err)
	}
	got, err := s.GetOrder(ctx, res.Order.OrderID)
	if err != nil || got.LimitPrice != "1.5" || got.IdempotencyKey != "k1" {
		t.Fatalf("get = %+v, %v", got, err)
	}
	again, err := s.CreateOrder(ctx, "T", "s", "k1", req)
	if err != nil || again.Created || again.Order.OrderID != res.Order.OrderID {
		t.Fatalf("replay = %+v, %v", again, err)
	}
	req.Quantity = 2
	if _, err := s.CreateOrder(ctx, "T", "s", "k1", req); !errors.Is(err, store.ErrKeyReused) {
		t.Fatalf("changed body: %v, want ErrKeyReused", err)
	}
}

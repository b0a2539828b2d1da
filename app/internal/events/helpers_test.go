package events_test

import (
	"context"
	"testing"
	"time"

	"github.com/trading-ha/trading-ha/app/internal/store"
	"github.com/trading-ha/trading-ha/app/internal/testkit"
)

// startPostgres starts a migrated PostgreSQL with the application role
// (password "app-password") and returns it with the role's DSN.
func startPostgres(t *testing.T) (*testkit.Postgres, store.DSN) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := testkit.StartPostgres(ctx)
	testkit.SkipOrFail(t, err)
	t.Cleanup(pg.Close)
	admin := store.DSN{Host: "127.0.0.1", Port: pg.Port, Database: pg.Database, User: pg.User, SSLMode: "verify-full", RootCert: pg.CAFile}
	if _, err := store.MigrateAsAdmin(ctx, store.AdminConfig{DSN: admin, Credentials: store.StaticPassword(pg.Password),
		AppRole: "trading_app", AppPassword: "app-password"}); err != nil {
		t.Fatal(err)
	}
	app := admin
	app.User = "trading_app"
	return pg, app
}

// openStore opens a store (one task's pools) as the application role.
func openStore(t *testing.T, dsn store.DSN, opts store.Options) *store.Store {
	t.Helper()
	opts.Credentials = store.StaticPassword("app-password")
	s, err := store.Open(context.Background(), dsn, dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

package events_test

import (
	"context"
	"testing"

	"github.com/trading-ha/trading-ha/app/internal/store"
	"github.com/trading-ha/trading-ha/app/internal/testkit"
	"github.com/trading-ha/trading-ha/app/internal/testkit/stack"
)

// startPostgres starts a migrated PostgreSQL with the application role
// (password "app-password") and returns it with the role's DSN.
func startPostgres(t *testing.T) (*testkit.Postgres, store.DSN) {
	t.Helper()
	return stack.MigratedPostgres(t, "app-password")
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

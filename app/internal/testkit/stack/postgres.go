package stack

import (
	"context"
	"testing"
	"time"

	"github.com/trading-ha/trading-ha/app/internal/store"
	"github.com/trading-ha/trading-ha/app/internal/testkit"
)

// MigratedPostgres starts a loopback PostgreSQL (TLS), runs the migrate
// step as its superuser, creating the application role AppRole with
// appPassword, and returns the server and the application role's DSN
// (verify-full against the server's CA). It skips in -short mode and
// skips or fails, as testkit.SkipOrFail decides, when PostgreSQL is absent.
func MigratedPostgres(t testing.TB, appPassword string) (*testkit.Postgres, store.DSN) {
	t.Helper()
	pg := testkit.PostgresFor(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin := store.DSN{Host: "127.0.0.1", Port: pg.Port, Database: pg.Database, User: pg.User, SSLMode: "verify-full", RootCert: pg.CAFile}
	if _, err := store.MigrateAsAdmin(ctx, store.AdminConfig{DSN: admin, Credentials: store.StaticPassword(pg.Password),
		AppRole: AppRole, AppPassword: appPassword}); err != nil {
		t.Fatal(err)
	}
	app := admin
	app.User = AppRole
	return pg, app
}

package main

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trading-ha/trading-ha/app/internal/testkit"
)

// TestMigrateStep runs `trading -migrate` as ECS would: master credentials
// in the environment, the application role to create, exit code 0.
func TestMigrateStep(t *testing.T) {
	pg := testkit.PostgresFor(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for k, v := range map[string]string{
		"DB_WRITER_HOST": "127.0.0.1", "DB_PORT": strconv.Itoa(pg.Port), "DB_NAME": pg.Database,
		"DB_CA_BUNDLE": pg.CAFile, "DB_USERNAME": "trading_app", "DB_MIGRATE_USERNAME": pg.User,
		"DB_MIGRATE_PASSWORD": pg.Password, "MIGRATE_TIMEOUT": "1m",
	} {
		t.Setenv(k, v)
	}
	for run := range 2 { // idempotent
		if code := runMigrate(); code != 0 {
			t.Fatalf("run %d: exit %d", run, code)
		}
	}
	conn, err := pgx.Connect(ctx, pg.AdminURL(pg.Database))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var super, canInsert, canCreate bool
	if err := conn.QueryRow(ctx, `SELECT rolsuper, has_table_privilege('trading_app', 'orders', 'INSERT'),
		has_schema_privilege('trading_app', 'public', 'CREATE') FROM pg_roles WHERE rolname = 'trading_app'`).
		Scan(&super, &canInsert, &canCreate); err != nil {
		t.Fatal(err)
	}
	if super || !canInsert || canCreate {
		t.Fatalf("trading_app: superuser=%v insert=%v create=%v", super, canInsert, canCreate)
	}
	t.Setenv("DB_MIGRATE_PASSWORD", "")
	if code := runMigrate(); code != 2 {
		t.Fatalf("missing master password: exit %d, want 2", code)
	}
}

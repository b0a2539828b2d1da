package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/trading-ha/trading-ha/app/internal/store"
	"github.com/trading-ha/trading-ha/app/internal/testkit"
)

// ownerRole is the role the migrate step's DDL runs as.
const ownerRole = "trading_owner"

// startPG starts a throwaway server (pgaudit preloaded unless opts say
// otherwise) for one test.
func startPG(t *testing.T, opts testkit.PostgresOptions) *testkit.Postgres {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := testkit.StartPostgresWith(ctx, opts)
	testkit.SkipOrFail(t, err)
	t.Cleanup(pg.Close)
	return pg
}

// adminDSN reaches the test database as user with TLS verification.
func adminDSN(pg *testkit.Postgres, user string) store.DSN {
	return store.DSN{Host: "127.0.0.1", Port: pg.Port, Database: pg.Database, User: user, SSLMode: "verify-full", RootCert: pg.CAFile}
}

// connect opens a connection to the test database as user/password.
func connect(t *testing.T, pg *testkit.Postgres, user, password string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(pg.AdminURL(pg.Database))
	if err != nil {
		t.Fatal(err)
	}
	cfg.User, cfg.Password = user, password
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// migrateAsMaster runs the migrate step as the cluster's superuser, the
// application role getting appPassword.
func migrateAsMaster(t *testing.T, pg *testkit.Postgres, appPassword string) []string {
	t.Helper()
	applied, err := store.MigrateAsAdmin(context.Background(), store.AdminConfig{
		DSN: adminDSN(pg, pg.User), Credentials: store.StaticPassword(pg.Password), AppRole: "trading_app", AppPassword: appPassword,
	})
	if err != nil {
		t.Fatalf("migrate step: %v", err)
	}
	return applied
}

// relationOwners maps every table and sequence of schema public to its owner.
func relationOwners(t *testing.T, conn *pgx.Conn) map[string]string {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S', 'v', 'm')`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for rows.Next() {
		var rel, owner string
		if err := rows.Scan(&rel, &owner); err != nil {
			t.Fatal(err)
		}
		out[rel] = owner
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkOwnedByOwnerRole fails for every relation of schema public that the
// owner role does not own, and when the service's tables are missing.
func checkOwnedByOwnerRole(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	owners := relationOwners(t, conn)
	for _, want := range append([]string{"schema_migrations", "outbox_id_seq"}, store.AppTables...) {
		if _, ok := owners[want]; !ok {
			t.Errorf("relation %s does not exist after the migrate step", want)
		}
	}
	for rel, owner := range owners {
		if owner != ownerRole {
			t.Errorf("%s is owned by %s, want %s", rel, owner, ownerRole)
		}
	}
}

// TestMigrateOwnerRoleOwnsTheSchema: after the migrate step every table and
// sequence belongs to trading_owner, a role that cannot log in and holds no
// superuser, CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS; the
// application role reads and writes its tables but cannot drop, alter,
// truncate or create.
func TestMigrateOwnerRoleOwnsTheSchema(t *testing.T) {
	pg := startPG(t, testkit.PostgresOptions{})
	migrateAsMaster(t, pg, "app-password")
	ctx := context.Background()
	admin := connect(t, pg, pg.User, pg.Password)
	checkOwnedByOwnerRole(t, admin)

	var login, super, createRole, createDB, replication, bypassRLS bool
	if err := admin.QueryRow(ctx, `SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls
		FROM pg_roles WHERE rolname = $1`, ownerRole).Scan(&login, &super, &createRole, &createDB, &replication, &bypassRLS); err != nil {
		t.Fatalf("role %s: %v", ownerRole, err)
	}
	if login || super || createRole || createDB || replication || bypassRLS {
		t.Errorf("%s: login=%v superuser=%v createrole=%v createdb=%v replication=%v bypassrls=%v, want all false",
			ownerRole, login, super, createRole, createDB, replication, bypassRLS)
	}

	app := connect(t, pg, "trading_app", "app-password")
	for _, q := range []string{
		`DROP TABLE orders`, `ALTER TABLE orders ADD COLUMN x int`, `ALTER TABLE outbox DROP COLUMN payload`,
		`TRUNCATE outbox`, `CREATE TABLE x (id int)`, `DROP TABLE schema_migrations`, `SET ROLE ` + ownerRole,
	} {
		if _, err := app.Exec(ctx, q); err == nil {
			t.Errorf("trading_app may run %q", q)
		} else if !denied(err) {
			t.Errorf("trading_app %q: %v, want a privilege error", q, err)
		}
	}
	var insert, sel bool
	if err := app.QueryRow(ctx, `SELECT has_table_privilege('orders', 'INSERT'), has_table_privilege('schema_migrations', 'SELECT')`).
		Scan(&insert, &sel); err != nil || !insert || !sel {
		t.Errorf("trading_app: INSERT on orders %v, SELECT on schema_migrations %v (%v), want both", insert, sel, err)
	}
}

// denied reports a PostgreSQL privilege error (42501 insufficient_privilege;
// DROP and ALTER of another role's table say "must be owner", the same code).
func denied(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42501"
}

// TestMigrateAdoptsTablesOfAnEarlierRelease: a database the previous
// migrate step built (the tables owned by the master user, which ran the
// DDL itself) is handed to trading_owner by the next run, so later
// migrations can alter those tables as the owner role.
func TestMigrateAdoptsTablesOfAnEarlierRelease(t *testing.T) {
	pg := startPG(t, testkit.PostgresOptions{})
	ctx := context.Background()
	// The earlier release's layout: the migrations applied by the master
	// connection itself (the local "apply" path does exactly that).
	s, err := store.Open(ctx, adminDSN(pg, pg.User), adminDSN(pg, pg.User), store.Options{Credentials: store.StaticPassword(pg.Password)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	admin := connect(t, pg, pg.User, pg.Password)
	if owners := relationOwners(t, admin); owners["orders"] != pg.User {
		t.Fatalf("fixture: orders owned by %q, want the master %q", owners["orders"], pg.User)
	}

	if applied := migrateAsMaster(t, pg, "app-password"); len(applied) != 0 {
		t.Errorf("migrations applied again: %v", applied)
	}
	checkOwnedByOwnerRole(t, admin)
}

// TestMigrateAsANonSuperuserMaster runs the migrate step as Aurora's master
// user is: a login role with CREATEROLE and CREATEDB that owns the
// database but is not a superuser (LOGIN NOSUPERUSER CREATEDB CREATEROLE,
// a member of rds_superuser: Amazon Aurora User Guide, "Understanding the
// rds_superuser role"). PostgreSQL lets only a superuser name
// the SUPERUSER, REPLICATION or BYPASSRLS attribute in ALTER ROLE, even to
// switch it off, so the step must not. pgaudit is created beforehand by the
// superuser, as RDS lets its master create it.
func TestMigrateAsANonSuperuserMaster(t *testing.T) {
	pg := startPG(t, testkit.PostgresOptions{})
	ctx := context.Background()
	super := connect(t, pg, pg.User, pg.Password)
	for _, q := range []string{
		`CREATE ROLE rds_master LOGIN CREATEROLE CREATEDB PASSWORD 'master-password'`,
		`CREATE DATABASE rds_trading OWNER rds_master`,
	} {
		if _, err := super.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	superRDS := connectDB(t, pg, "rds_trading", pg.User, pg.Password)
	if _, err := superRDS.Exec(ctx, `CREATE EXTENSION pgaudit`); err != nil {
		t.Fatal(err)
	}
	dsn := adminDSN(pg, "rds_master")
	dsn.Database = "rds_trading"
	for run := range 2 { // idempotent: the second run alters the roles the first created
		if _, err := store.MigrateAsAdmin(ctx, store.AdminConfig{DSN: dsn, Credentials: store.StaticPassword("master-password"),
			AppRole: "trading_app", AppPassword: "app-password"}); err != nil {
			t.Fatalf("run %d as a non-superuser master: %v", run, err)
		}
	}
	checkOwnedByOwnerRole(t, connectDB(t, pg, "rds_trading", "rds_master", "master-password"))
}

// connectDB is connect to database db.
func connectDB(t *testing.T, pg *testkit.Postgres, db, user, password string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(pg.AdminURL(db))
	if err != nil {
		t.Fatal(err)
	}
	cfg.User, cfg.Password = user, password
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("connect to %s as %s: %v", db, user, err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// TestMigrateCreatesPgaudit: a fresh database has the pgaudit extension
// after the migrate step (the cluster only preloads the library; audit
// logging needs the extension in the database).
func TestMigrateCreatesPgaudit(t *testing.T) {
	pg := startPG(t, testkit.PostgresOptions{})
	migrateAsMaster(t, pg, "")
	var version string
	err := connect(t, pg, pg.User, pg.Password).QueryRow(context.Background(),
		`SELECT extversion FROM pg_extension WHERE extname = 'pgaudit'`).Scan(&version)
	if errors.Is(err, pgx.ErrNoRows) {
		t.Fatal("pgaudit is not installed in the database after the migrate step")
	}
	if err != nil || strings.TrimSpace(version) == "" {
		t.Fatalf("pgaudit version %q: %v", version, err)
	}
	t.Logf("pgaudit %s", version)
}

// TestMigratePgauditModes: on a server that does not preload pgaudit (a
// cluster whose parameter group change waits for a reboot), DB_PGAUDIT
// require fails the step and names the reason, and changes nothing;
// if-loaded migrates and reports pgaudit absent with the reason. Where it
// is preloaded, the report carries the installed version.
func TestMigratePgauditModes(t *testing.T) {
	ctx := context.Background()
	bare := startPG(t, testkit.PostgresOptions{WithoutPgaudit: true})
	cfg := store.AdminConfig{DSN: adminDSN(bare, bare.User), Credentials: store.StaticPassword(bare.Password), AppRole: "trading_app", Audit: store.AuditRequire}
	_, err := store.RunMigrateStep(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), "pgaudit") || !strings.Contains(err.Error(), "shared_preload_libraries") {
		t.Fatalf("require without the library preloaded: %v, want an error naming pgaudit and shared_preload_libraries", err)
	}
	if owners := relationOwners(t, connect(t, bare, bare.User, bare.Password)); len(owners) != 0 {
		t.Errorf("a failed step left relations behind: %v", owners)
	}
	cfg.Audit = store.AuditIfLoaded
	r, err := store.RunMigrateStep(ctx, cfg)
	if err != nil {
		t.Fatalf("if-loaded: %v", err)
	}
	if r.Pgaudit != "" || !strings.Contains(r.PgauditAbsent, "shared_preload_libraries") || len(r.Applied) == 0 {
		t.Errorf("if-loaded report %+v, want pgaudit absent (not preloaded) and the migrations applied", r)
	}

	loaded := startPG(t, testkit.PostgresOptions{})
	r, err = store.RunMigrateStep(ctx, store.AdminConfig{DSN: adminDSN(loaded, loaded.User), Credentials: store.StaticPassword(loaded.Password),
		AppRole: "trading_app", Audit: store.AuditRequire})
	if err != nil {
		t.Fatalf("require with pgaudit preloaded: %v", err)
	}
	var version string
	if err := connect(t, loaded, loaded.User, loaded.Password).QueryRow(ctx, `SELECT extversion FROM pg_extension WHERE extname = 'pgaudit'`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if r.Pgaudit != version || r.PgauditAbsent != "" {
		t.Errorf("report pgaudit %q (absent %q), want the installed %q", r.Pgaudit, r.PgauditAbsent, version)
	}
}

// TestParseAudit: DB_PGAUDIT takes require or if-loaded (default).
func TestParseAudit(t *testing.T) {
	for in, want := range map[string]store.Audit{"": store.AuditIfLoaded, "require": store.AuditRequire, " If-Loaded ": store.AuditIfLoaded} {
		if got, err := store.ParseAudit(in); err != nil || got != want {
			t.Errorf("ParseAudit(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := store.ParseAudit("on"); err == nil {
		t.Error(`ParseAudit("on") accepted`)
	}
}

// TestMigrateLogLineNamesPgaudit: the step's last log line, as
// `trading -migrate` writes it (JSON on stdout, kept by the migrate task's
// log group), carries the pgaudit version the database has: the smoke test
// reads that line, since it cannot reach the database (app/probes/smoke).
func TestMigrateLogLineNamesPgaudit(t *testing.T) {
	pg := startPG(t, testkit.PostgresOptions{})
	ctx := context.Background()
	r, err := store.RunMigrateStep(ctx, store.AdminConfig{DSN: adminDSN(pg, pg.User), Credentials: store.StaticPassword(pg.Password),
		AppRole: "trading_app", Audit: store.AuditRequire})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).LogAttrs(ctx, slog.LevelInfo, store.MigrateCompleteMessage, r.LogAttrs("")...)
	var line struct {
		Msg       string   `json:"msg"`
		Applied   []string `json:"applied"`
		OwnerRole string   `json:"owner_role"`
		Pgaudit   *string  `json:"pgaudit"`
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("%s: %v", buf.Bytes(), err)
	}
	var version string
	if err := connect(t, pg, pg.User, pg.Password).QueryRow(ctx, `SELECT extversion FROM pg_extension WHERE extname = 'pgaudit'`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if line.Msg != "migrate step complete" || line.Pgaudit == nil || *line.Pgaudit != version || line.OwnerRole != ownerRole || len(line.Applied) != 2 {
		t.Errorf("log line %s, want msg %q, pgaudit %q, owner_role %s and the two migrations applied", buf.Bytes(), "migrate step complete", version, ownerRole)
	}
	buf.Reset()
	slog.New(slog.NewJSONHandler(&buf, nil)).LogAttrs(ctx, slog.LevelInfo, store.MigrateCompleteMessage,
		store.MigrateReport{PgauditAbsent: "not preloaded"}.LogAttrs("")...)
	if !strings.Contains(buf.String(), `"pgaudit":""`) || !strings.Contains(buf.String(), `"pgaudit_absent":"not preloaded"`) || !strings.Contains(buf.String(), `"applied":[]`) {
		t.Errorf("absent: %s", buf.Bytes())
	}
}

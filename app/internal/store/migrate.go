package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationLockKey is the pg advisory lock key that serialises migrations
// across tasks starting at the same time ("trading1" as an int64).
const migrationLockKey int64 = 0x74726164696e6731

// Migration is one embedded schema change.
type Migration struct {
	// Version is the file name without extension, e.g. "0001_orders_outbox".
	Version string
	// SQL is the statement text.
	SQL string
}

// Migrations returns the embedded migrations in apply order.
func Migrations() ([]Migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	out := make([]Migration, 0, len(names))
	for _, n := range names {
		b, err := migrationFS.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", n, err)
		}
		v := strings.TrimSuffix(strings.TrimPrefix(n, "migrations/"), ".sql")
		out = append(out, Migration{Version: v, SQL: string(b)})
	}
	return out, nil
}

// migrate applies pending migrations in one transaction holding a
// transaction-scoped advisory lock, so concurrent starters wait and then find
// nothing to do, and a crash mid-way leaves no partial schema or stuck lock.
func migrate(ctx context.Context, tx pgx.Tx) ([]string, error) {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey); err != nil {
		return nil, fmt.Errorf("acquire migration lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	var applied []string
	for _, m := range ms {
		var done bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, m.Version).Scan(&done); err != nil {
			return nil, fmt.Errorf("check migration %s: %w", m.Version, err)
		}
		if done {
			continue
		}
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return nil, fmt.Errorf("apply migration %s: %w", m.Version, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, m.Version); err != nil {
			return nil, fmt.Errorf("record migration %s: %w", m.Version, err)
		}
		applied = append(applied, m.Version)
	}
	return applied, nil
}

// LatestVersion is the newest embedded migration.
func LatestVersion() (string, error) {
	ms, err := Migrations()
	if err != nil {
		return "", err
	}
	if len(ms) == 0 {
		return "", errors.New("no embedded migrations")
	}
	return ms[len(ms)-1].Version, nil
}

// SchemaCurrent reports whether the newest embedded migration has been
// applied (by the migrate step). The service waits for it before it reports
// ready; it needs only SELECT on schema_migrations.
func (s *Store) SchemaCurrent(ctx context.Context) (bool, error) {
	v, err := LatestVersion()
	if err != nil {
		return false, err
	}
	var ok bool
	err = s.writer.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, v).Scan(&ok)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // schema_migrations does not exist yet
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check schema version: %w", s.observe(err))
	}
	return ok, nil
}

// AdminConfig is what the migrate step needs: the master (owner) connection
// and the application role to create.
type AdminConfig struct {
	// DSN reaches the writer as the master user.
	DSN DSN
	// Credentials supply the master password.
	Credentials CredentialSource
	// AppRole is the least-privileged login role the service connects as.
	AppRole string
	// AppPassword, if set, becomes AppRole's password (local password mode
	// only; on Aurora the role authenticates with IAM via rds_iam).
	AppPassword string
}

// MigrateAsAdmin applies the embedded migrations and (re)creates the
// application role with DML on the service's tables only, all in one
// transaction under the migration advisory lock. On Aurora/RDS the role is
// granted rds_iam (IAM authentication); where rds_iam does not exist (plain
// PostgreSQL) that grant is skipped. It is idempotent.
func MigrateAsAdmin(ctx context.Context, cfg AdminConfig) ([]string, error) {
	pgcfg, err := pgx.ParseConfig(cfg.DSN.String())
	if err != nil {
		return nil, fmt.Errorf("invalid admin database settings: %w", errors.Unwrap(err))
	}
	if err := cfg.DSN.trustBuiltin(&pgcfg.Config); err != nil {
		return nil, err
	}
	pw, err := cfg.Credentials.Credential(ctx, pgcfg.Host, int(pgcfg.Port), pgcfg.User)
	if err != nil {
		return nil, fmt.Errorf("admin credential: %w", err)
	}
	pgcfg.Password = pw
	conn, err := pgx.ConnectConfig(ctx, pgcfg)
	if err != nil {
		if IsAuthFailure(err) {
			cfg.Credentials.Invalidate()
		}
		return nil, fmt.Errorf("connect as admin: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	applied, err := migrate(ctx, tx)
	if err != nil {
		return nil, err
	}
	if cfg.AppRole != "" {
		if err := ensureAppRole(ctx, tx, cfg.DSN.Database, cfg.AppRole, cfg.AppPassword); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit migrations: %w", err)
	}
	return applied, nil
}

// AppTables are the tables the application role may read and write.
var AppTables = []string{"orders", "outbox", "outbox_dead_letter"}

func ensureAppRole(ctx context.Context, tx pgx.Tx, database, role, password string) error {
	id := pgx.Identifier{role}.Sanitize()
	lit := "'" + strings.ReplaceAll(role, "'", "''") + "'"
	stmts := []string{
		`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ` + lit + `) THEN CREATE ROLE ` + id + ` LOGIN; END IF; END $$`,
		`ALTER ROLE ` + id + ` LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT`,
		// rds_iam exists only on RDS/Aurora; there it switches the role to IAM authentication.
		`DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam') THEN EXECUTE 'GRANT rds_iam TO ' || quote_ident(` + lit + `); END IF; END $$`,
		`REVOKE CREATE ON SCHEMA public FROM PUBLIC`,
		`GRANT CONNECT ON DATABASE ` + pgx.Identifier{database}.Sanitize() + ` TO ` + id,
		`GRANT USAGE ON SCHEMA public TO ` + id,
		`GRANT SELECT, INSERT, UPDATE, DELETE ON ` + strings.Join(AppTables, ", ") + ` TO ` + id,
		`GRANT SELECT ON schema_migrations TO ` + id,
		`GRANT USAGE ON SEQUENCE outbox_id_seq TO ` + id,
	}
	if password != "" {
		stmts = append(stmts, `ALTER ROLE `+id+` PASSWORD '`+strings.ReplaceAll(password, "'", "''")+`'`)
	}
	for _, q := range stmts {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("set up application role %s: %w", role, err)
		}
	}
	return nil
}

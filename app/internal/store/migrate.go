package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
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

// OwnerRole is the role that owns the service's schema objects (every
// table and sequence of schema public): NOLOGIN, and no SUPERUSER,
// CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS. The migrate step connects
// as the master user only to bootstrap (roles, the pgaudit extension,
// grants) and runs the migrations' DDL as this role (SET ROLE), so no DDL
// runs with the master's privileges and the objects do not belong to it.
const OwnerRole = "trading_owner"

// Audit says how the migrate step treats the pgaudit extension.
type Audit string

const (
	// AuditIfLoaded creates pgaudit where the server preloads it and
	// otherwise reports it absent (local development, game day).
	AuditIfLoaded Audit = "if-loaded"
	// AuditRequire fails the step when pgaudit cannot be created (the
	// stacks: the cluster parameter group preloads it).
	AuditRequire Audit = "require"
)

// ParseAudit reads DB_PGAUDIT: require, if-loaded, or empty for if-loaded.
func ParseAudit(v string) (Audit, error) {
	switch a := Audit(strings.ToLower(strings.TrimSpace(v))); a {
	case "":
		return AuditIfLoaded, nil
	case AuditIfLoaded, AuditRequire:
		return a, nil
	}
	return "", fmt.Errorf("DB_PGAUDIT must be %s or %s, got %q", AuditRequire, AuditIfLoaded, v)
}

// AdminConfig is what the migrate step needs: the master connection, the
// roles to set up and what to do about pgaudit.
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
	// OwnerRole owns the schema's objects and runs the DDL (default
	// OwnerRole).
	OwnerRole string
	// Audit is the pgaudit policy (default AuditIfLoaded).
	Audit Audit
}

// MigrateReport is what one migrate step did.
type MigrateReport struct {
	// Applied are the migrations this run applied, in order.
	Applied []string
	// Pgaudit is the version of the pgaudit extension in the database
	// after the step (SELECT extversion FROM pg_extension WHERE extname =
	// 'pgaudit'); empty when it is not installed.
	Pgaudit string
	// PgauditAbsent says why pgaudit is not installed (AuditIfLoaded only).
	PgauditAbsent string
}

// MigrateCompleteMessage is the msg of the migrate step's last log line (a
// JSON object on stdout, which the migrate task's log group keeps): the
// smoke test reads the newest one to show pgaudit is installed
// (app/probes/smoke).
const MigrateCompleteMessage = "migrate step complete"

// LogAttrs are the fields of the MigrateCompleteMessage line: applied (the
// migrations this run applied), owner_role, pgaudit (the installed
// version, "" when absent) and, when absent, pgaudit_absent (why).
func (r MigrateReport) LogAttrs(ownerRole string) []slog.Attr {
	if ownerRole == "" {
		ownerRole = OwnerRole
	}
	applied := r.Applied
	if applied == nil {
		applied = []string{}
	}
	attrs := []slog.Attr{slog.Any("applied", applied), slog.String("owner_role", ownerRole), slog.String("pgaudit", r.Pgaudit)}
	if r.Pgaudit == "" {
		attrs = append(attrs, slog.String("pgaudit_absent", r.PgauditAbsent))
	}
	return attrs
}

// MigrateAsAdmin runs the migrate step (RunMigrateStep) and returns the
// migrations it applied.
func MigrateAsAdmin(ctx context.Context, cfg AdminConfig) ([]string, error) {
	r, err := RunMigrateStep(ctx, cfg)
	return r.Applied, err
}

// RunMigrateStep is the migrate step, in one transaction under the
// migration advisory lock: as the master user it (re)creates the owner
// role and the application role, hands the schema's existing objects to
// the owner, grants the owner CREATE on schema public (and revokes it from
// PUBLIC) and creates pgaudit (cfg.Audit); then, as the owner role, it
// applies the embedded migrations and grants the application role DML on
// the service's tables only. On Aurora/RDS the application role is granted
// rds_iam (IAM authentication); where rds_iam does not exist (plain
// PostgreSQL) that grant is skipped. It is idempotent, and it needs no
// superuser: a master with CREATEROLE that owns the database is enough.
func RunMigrateStep(ctx context.Context, cfg AdminConfig) (MigrateReport, error) {
	if cfg.OwnerRole == "" {
		cfg.OwnerRole = OwnerRole
	}
	if cfg.Audit == "" {
		cfg.Audit = AuditIfLoaded
	}
	if _, err := ParseAudit(string(cfg.Audit)); err != nil {
		return MigrateReport{}, err
	}
	pgcfg, err := pgx.ParseConfig(cfg.DSN.String())
	if err != nil {
		return MigrateReport{}, fmt.Errorf("invalid admin database settings: %w", errors.Unwrap(err))
	}
	if err := cfg.DSN.trustBuiltin(&pgcfg.Config); err != nil {
		return MigrateReport{}, err
	}
	pw, err := cfg.Credentials.Credential(ctx, pgcfg.Host, int(pgcfg.Port), pgcfg.User)
	if err != nil {
		return MigrateReport{}, fmt.Errorf("admin credential: %w", err)
	}
	pgcfg.Password = pw
	conn, err := pgx.ConnectConfig(ctx, pgcfg)
	if err != nil {
		if IsAuthFailure(err) {
			cfg.Credentials.Invalidate()
		}
		return MigrateReport{}, fmt.Errorf("connect as admin: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.Begin(ctx)
	if err != nil {
		return MigrateReport{}, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var r MigrateReport
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey); err != nil {
		return MigrateReport{}, fmt.Errorf("acquire migration lock: %w", err)
	}
	if err := bootstrap(ctx, tx, cfg); err != nil {
		return MigrateReport{}, err
	}
	if r.PgauditAbsent, err = ensurePgaudit(ctx, tx, cfg.Audit); err != nil {
		return MigrateReport{}, err
	}
	// The DDL runs as the owner role until the transaction ends.
	if _, err := tx.Exec(ctx, `SET LOCAL ROLE `+pgx.Identifier{cfg.OwnerRole}.Sanitize()); err != nil {
		return MigrateReport{}, fmt.Errorf("switch to the owner role %s: %w", cfg.OwnerRole, err)
	}
	if r.Applied, err = migrate(ctx, tx); err != nil {
		return MigrateReport{}, err
	}
	if cfg.AppRole != "" {
		if err := grantAppTables(ctx, tx, cfg.AppRole); err != nil {
			return MigrateReport{}, err
		}
	}
	err = tx.QueryRow(ctx, `SELECT extversion FROM pg_extension WHERE extname = 'pgaudit'`).Scan(&r.Pgaudit)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return MigrateReport{}, fmt.Errorf("read the pgaudit version: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return MigrateReport{}, fmt.Errorf("commit migrations: %w", err)
	}
	return r, nil
}

// AppTables are the tables the application role may read and write.
var AppTables = []string{"orders", "outbox", "outbox_dead_letter"}

// bootstrap is the master user's part of the migrate step: the roles, the
// schema privileges and the ownership of what an earlier release created.
func bootstrap(ctx context.Context, tx pgx.Tx, cfg AdminConfig) error {
	owner := pgx.Identifier{cfg.OwnerRole}.Sanitize()
	if err := ensureRole(ctx, tx, cfg.OwnerRole, false); err != nil {
		return err
	}
	stmts := []string{
		// The master must be a member to switch to the owner role and to
		// hand it objects (ALTER ... OWNER TO). A superuser already is.
		`DO $$ BEGIN IF NOT pg_has_role(current_user, ` + literal(cfg.OwnerRole) + `, 'MEMBER') THEN ` +
			`EXECUTE 'GRANT ' || quote_ident(` + literal(cfg.OwnerRole) + `) || ' TO ' || quote_ident(current_user); END IF; END $$`,
		`REVOKE CREATE ON SCHEMA public FROM PUBLIC`,
		`GRANT USAGE, CREATE ON SCHEMA public TO ` + owner,
	}
	if cfg.AppRole != "" {
		if err := ensureRole(ctx, tx, cfg.AppRole, true); err != nil {
			return err
		}
		app := pgx.Identifier{cfg.AppRole}.Sanitize()
		stmts = append(stmts,
			// rds_iam exists only on RDS/Aurora; there it switches the role to IAM authentication.
			`DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam') THEN EXECUTE 'GRANT rds_iam TO ' || quote_ident(`+literal(cfg.AppRole)+`); END IF; END $$`,
			`GRANT CONNECT ON DATABASE `+pgx.Identifier{cfg.DSN.Database}.Sanitize()+` TO `+app,
			`GRANT USAGE ON SCHEMA public TO `+app,
		)
		if cfg.AppPassword != "" {
			stmts = append(stmts, `ALTER ROLE `+app+` PASSWORD `+literal(cfg.AppPassword))
		}
	}
	for _, q := range stmts {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("bootstrap roles and schema privileges: %w", err)
		}
	}
	return adoptRelations(ctx, tx, cfg.OwnerRole)
}

// ensureRole creates role if it does not exist and sets its attributes:
// LOGIN (the application role) or NOLOGIN (the owner), never CREATEDB,
// CREATEROLE or INHERIT. PostgreSQL lets only a superuser name SUPERUSER,
// REPLICATION or BYPASSRLS in ALTER ROLE, even to switch one off, and
// Aurora's master is not one (it is LOGIN NOSUPERUSER CREATEDB CREATEROLE,
// a member of rds_superuser: Amazon Aurora User Guide, "Understanding the
// rds_superuser role"), so those are set at CREATE ROLE only and checked
// afterwards: a role that has one fails the step.
func ensureRole(ctx context.Context, tx pgx.Tx, role string, login bool) error {
	id := pgx.Identifier{role}.Sanitize()
	attrs := "NOLOGIN"
	if login {
		attrs = "LOGIN"
	}
	attrs += " NOCREATEDB NOCREATEROLE NOINHERIT"
	for _, q := range []string{
		`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ` + literal(role) + `) THEN ` +
			`CREATE ROLE ` + id + ` ` + attrs + ` NOSUPERUSER NOREPLICATION NOBYPASSRLS; END IF; END $$`,
		`ALTER ROLE ` + id + ` ` + attrs,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("set up role %s: %w", role, err)
		}
	}
	var privileged bool
	if err := tx.QueryRow(ctx, `SELECT rolsuper OR rolreplication OR rolbypassrls FROM pg_roles WHERE rolname = $1`, role).Scan(&privileged); err != nil {
		return fmt.Errorf("check role %s: %w", role, err)
	}
	if privileged {
		return fmt.Errorf("role %s has SUPERUSER, REPLICATION or BYPASSRLS; a superuser must remove it (ALTER ROLE %s NOSUPERUSER NOREPLICATION NOBYPASSRLS)", role, id)
	}
	return nil
}

// adoptRelations hands every table, view and free-standing sequence of
// schema public that owner does not own to owner: the tables an earlier
// release's migrate step created as the master user. ALTER TABLE ... OWNER
// also moves the table's indexes and the sequences its columns own.
func adoptRelations(ctx context.Context, tx pgx.Tx, owner string) error {
	rows, err := tx.Query(ctx, `SELECT c.relkind::text, c.relname FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
		  AND pg_get_userbyid(c.relowner) <> $1
		  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
		                  AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
		ORDER BY c.relname`, owner)
	if err != nil {
		return fmt.Errorf("list relations to hand to %s: %w", owner, err)
	}
	type rel struct{ kind, name string }
	var rels []rel
	for rows.Next() {
		var r rel
		if err := rows.Scan(&r.kind, &r.name); err != nil {
			rows.Close()
			return fmt.Errorf("list relations to hand to %s: %w", owner, err)
		}
		rels = append(rels, r)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list relations to hand to %s: %w", owner, err)
	}
	keyword := map[string]string{"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE"}
	for _, r := range rels {
		q := `ALTER ` + keyword[r.kind] + ` ` + pgx.Identifier{"public", r.name}.Sanitize() + ` OWNER TO ` + pgx.Identifier{owner}.Sanitize()
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("hand %s to %s: %w", r.name, owner, err)
		}
	}
	return nil
}

// ensurePgaudit creates the pgaudit extension as the master user. The
// library must be preloaded (shared_preload_libraries, the cluster
// parameter group's static setting); where it is not, CREATE EXTENSION
// fails. With AuditRequire that fails the step; with AuditIfLoaded the
// attempt is rolled back to a savepoint and the reason returned.
func ensurePgaudit(ctx context.Context, tx pgx.Tx, mode Audit) (absent string, err error) {
	const create = `CREATE EXTENSION IF NOT EXISTS pgaudit`
	if mode == AuditRequire {
		if _, err := tx.Exec(ctx, create); err != nil {
			return "", fmt.Errorf("create extension pgaudit (DB_PGAUDIT=%s): %w; the cluster parameter group preloads it "+
				"(shared_preload_libraries is static: the writer loads it after a reboot)", mode, err)
		}
		return "", nil
	}
	sp, err := tx.Begin(ctx) // a savepoint
	if err != nil {
		return "", fmt.Errorf("savepoint: %w", err)
	}
	if _, err := sp.Exec(ctx, create); err != nil {
		if rerr := sp.Rollback(ctx); rerr != nil {
			return "", fmt.Errorf("roll back to savepoint: %w", rerr)
		}
		return err.Error(), nil
	}
	if err := sp.Commit(ctx); err != nil {
		return "", fmt.Errorf("release savepoint: %w", err)
	}
	return "", nil
}

// grantAppTables grants the application role DML on the service's tables,
// SELECT on schema_migrations (readiness) and the outbox sequence, as the
// tables' owner. Nothing else: it cannot create, alter, drop or truncate.
func grantAppTables(ctx context.Context, tx pgx.Tx, role string) error {
	id := pgx.Identifier{role}.Sanitize()
	for _, q := range []string{
		`GRANT SELECT, INSERT, UPDATE, DELETE ON ` + strings.Join(AppTables, ", ") + ` TO ` + id,
		`GRANT SELECT ON schema_migrations TO ` + id,
		`GRANT USAGE ON SEQUENCE outbox_id_seq TO ` + id,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("grant the application role %s its tables: %w", role, err)
		}
	}
	return nil
}

// literal quotes s as an SQL string literal.
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

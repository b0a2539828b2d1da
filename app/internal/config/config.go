// Package config loads the trading service's configuration from environment
// variables. The variable names are part of the deployment contract (see
// CONTRACT.md): the ECS task definition injects them.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/trading-ha/trading-ha/app/rdsca"
)

// SSL modes accepted in DB_SSLMODE.
const (
	// SSLModeRequire encrypts the connection without verifying the server certificate.
	SSLModeRequire = "require"
	// SSLModeVerifyFull encrypts and verifies the server certificate and host name
	// against the CA bundle named by DB_CA_BUNDLE.
	SSLModeVerifyFull = "verify-full"
)

// Config is the validated service configuration.
type Config struct {
	// Port is the TCP port the HTTP server listens on (APP_PORT, default 8080).
	Port int
	// TLS is how the server speaks on Port (APP_TLS): off (default, plain
	// HTTP: local development and tests) or self-signed (TLS with a key
	// and certificate made in memory at start: every stack's tasks, behind
	// an HTTPS target group).
	TLS string
	// Region is the AWS region (AWS_REGION).
	Region string
	// LogLevel is the minimum log level (LOG_LEVEL: debug|info|warn|error, default info).
	LogLevel slog.Level
	// DBWriterHost is the cluster (writer) endpoint (DB_WRITER_HOST).
	DBWriterHost string
	// DBReaderHost is the reader endpoint (DB_READER_HOST).
	DBReaderHost string
	// DBPort is the database port (DB_PORT, default 5432).
	DBPort int
	// DBName is the database name (DB_NAME).
	DBName string
	// DBUser is the application role the service connects as (DB_USERNAME).
	DBUser string
	// DBAuthMode is iam (default) or password (DB_AUTH_MODE).
	DBAuthMode string
	// DBPassword is a static password (DB_PASSWORD, password mode). Never logged.
	DBPassword string
	// DBPasswordFile is a file holding the password, re-read on change and
	// after an authentication failure (DB_PASSWORD_FILE, password mode).
	DBPasswordFile string
	// DBMigrations is wait (default: wait for the migrate step) or apply
	// (apply them with the service's own role; local development only).
	DBMigrations string
	// DBAuthFailureLiveness fails /healthz after database authentication
	// has failed for this long (DB_AUTH_FAILURE_LIVENESS, default 60s).
	DBAuthFailureLiveness time.Duration
	// DBPoolMaxConns is the size of the writer pool and of the reader pool
	// (DB_POOL_MAX_CONNS, 1-1000; 0, the default, derives it from the CPUs:
	// 4 per GOMAXPROCS, 4-32).
	DBPoolMaxConns int
	// DBRelayPoolMaxConns is the size of the separate pool of the outbox
	// relay, metrics and cleanup (DB_RELAY_POOL_MAX_CONNS, default 2, 1-16).
	DBRelayPoolMaxConns int
	// OIDCIssuer is the token issuer (OIDC_ISSUER).
	OIDCIssuer string
	// OIDCAudiences are accepted aud values (OIDC_AUDIENCE, comma-separated).
	OIDCAudiences []string
	// OIDCClientIDs are accepted client_id values (OIDC_CLIENT_IDS, comma-separated).
	OIDCClientIDs []string
	// OIDCScope is the desks' scope (OIDC_SCOPE, default trading/orders).
	OIDCScope string
	// OIDCProbeScope is the probes' scope (OIDC_PROBE_SCOPE, default trading/probe).
	OIDCProbeScope string
	// OIDCJWKSURL overrides the key set URL (OIDC_JWKS_URL).
	OIDCJWKSURL string
	// OIDCJWKSParameter is the SSM parameter holding the key set
	// (OIDC_JWKS_PARAMETER). When set, keys are read only from it and the
	// service makes no request to the issuer; every stack sets it.
	OIDCJWKSParameter string
	// OIDCJWKSRefresh is how old the keys may get before they are re-read
	// (OIDC_JWKS_REFRESH_INTERVAL, default 1m).
	OIDCJWKSRefresh time.Duration
	// OIDCTraderMap maps client ids to trader ids (OIDC_TRADER_MAP, "client=trader,...").
	OIDCTraderMap map[string]string
	// SessionCacheTTL is how long a verified session is cached in memory
	// (SESSION_CACHE_TTL, default 10s, 0 disables).
	SessionCacheTTL time.Duration
	// SessionsTimeout bounds each call to the sessions table, SDK retries
	// included (SESSIONS_TIMEOUT, default 2s, 100ms-10s): a table that does
	// not answer costs a request a 503 with Retry-After, not the load
	// balancer's idle timeout.
	SessionsTimeout time.Duration
	// IdempotencyRetention is how long an Idempotency-Key stays reserved per
	// trader (IDEMPOTENCY_RETENTION, default 24h).
	IdempotencyRetention time.Duration
	// OutboxRetention is how long published outbox rows are kept (OUTBOX_RETENTION, default 24h).
	OutboxRetention time.Duration
	// OutboxMaxAttempts dead-letters a row after that many failures (OUTBOX_MAX_ATTEMPTS, default 10).
	OutboxMaxAttempts int
	// OutboxPublishTimeout bounds each PutEvents call (OUTBOX_PUBLISH_TIMEOUT, default 10s).
	OutboxPublishTimeout time.Duration
	// MetricsNamespace is the CloudWatch namespace of the EMF metrics (METRICS_NAMESPACE, default Trading).
	MetricsNamespace string
	// MetricsInterval is how often metrics are emitted (METRICS_INTERVAL, default 60s).
	MetricsInterval time.Duration
	// ParametersPath is the SSM path of the risk limits and kill switch
	// (SSM_PARAMETERS_PATH, e.g. /trading/dev; empty: defaults, no SSM).
	ParametersPath string
	// ParametersRefresh is the SSM refresh interval (SSM_REFRESH_INTERVAL, default 5s).
	ParametersRefresh time.Duration
	// SSMEndpoint overrides the SSM endpoint (SSM_ENDPOINT, tests only).
	SSMEndpoint string
	// OrderBatchWorkers is how many order batches (application-level group
	// commit: concurrent orders share one statement, transaction and
	// commit) may run at once (ORDER_BATCH_WORKERS, 0-64, default
	// DefaultOrderBatchWorkers; 0 turns group commit off: one statement per
	// order).
	OrderBatchWorkers int
	// OrderBatchMaxWait bounds how long a batch waits for more orders
	// (ORDER_BATCH_MAX_WAIT, 0-10ms, default DefaultOrderBatchMaxWait; 0:
	// never wait). No order waits longer than this for company.
	OrderBatchMaxWait time.Duration
	// DrainDelay is how long the service keeps serving after SIGTERM with
	// readiness failing, before it stops accepting connections (DRAIN_DELAY, default 10s).
	DrainDelay time.Duration
	// DBSSLMode is require or verify-full (DB_SSLMODE; default require, or
	// verify-full when DB_CA_BUNDLE is set).
	DBSSLMode string
	// DBCABundle is an optional PEM CA bundle path, or "rds" for the Amazon
	// RDS bundle embedded in the binary (DB_CA_BUNDLE).
	DBCABundle string
	// SessionsTable is the DynamoDB sessions table name (SESSIONS_TABLE).
	SessionsTable string
	// EventBusName is the EventBridge bus that receives order events (EVENT_BUS_NAME).
	EventBusName string
	// SessionTTL is how long a session lives (SESSION_TTL, default 8h).
	SessionTTL time.Duration
	// ShutdownTimeout bounds graceful shutdown (SHUTDOWN_TIMEOUT, default 25s).
	ShutdownTimeout time.Duration
	// DynamoDBEndpoint overrides the DynamoDB endpoint (DYNAMODB_ENDPOINT, tests only).
	DynamoDBEndpoint string
	// EventBridgeEndpoint overrides the EventBridge endpoint (EVENTBRIDGE_ENDPOINT, tests only).
	EventBridgeEndpoint string
}

// Defaults for optional variables.
const (
	DefaultPort            = 8080
	DefaultDBPort          = 5432
	DefaultSessionTTL      = 8 * time.Hour
	DefaultShutdownTimeout = 15 * time.Second
	DefaultDrainDelay      = 10 * time.Second
	DefaultScope           = "trading/orders"
	DefaultProbeScope      = "trading/probe"
	// DefaultJWKSRefresh is how long keys read from OIDC_JWKS_PARAMETER
	// serve before they are re-read.
	DefaultJWKSRefresh = time.Minute
	// DefaultRelayPoolMaxConns is the default DB_RELAY_POOL_MAX_CONNS.
	DefaultRelayPoolMaxConns = 2
	// DefaultOrderBatchWorkers is the default ORDER_BATCH_WORKERS (group
	// commit on; docs/app.md, "Performance", has the measurements).
	DefaultOrderBatchWorkers = 4
	// DefaultOrderBatchMaxWait is the default ORDER_BATCH_MAX_WAIT.
	DefaultOrderBatchMaxWait = 500 * time.Microsecond
)

// Database authentication modes (DB_AUTH_MODE).
const (
	AuthIAM      = "iam"
	AuthPassword = "password"
)

// Server TLS modes (APP_TLS).
const (
	TLSOff        = "off"
	TLSSelfSigned = "self-signed"
)

// Migration modes (DB_MIGRATIONS).
const (
	MigrationsWait  = "wait"
	MigrationsApply = "apply"
)

// FieldError describes one missing or invalid variable.
type FieldError struct {
	// Var is the environment variable name.
	Var string
	// Problem says what is wrong with it.
	Problem string
}

// Error implements error.
func (e FieldError) Error() string { return e.Var + ": " + e.Problem }

// Error lists every missing or invalid variable found by Load.
type Error struct {
	// Fields holds one entry per offending variable, in a stable order.
	Fields []FieldError
}

// Error implements error; the message names every offending variable.
func (e *Error) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Error()
	}
	return fmt.Sprintf("invalid configuration (%d problem(s)): %s", len(e.Fields), strings.Join(parts, "; "))
}

// FromEnv loads the configuration from the process environment.
func FromEnv() (Config, error) { return Load(os.LookupEnv) }

// Load builds a Config using lookup (os.LookupEnv in production). It returns
// an *Error listing every missing or invalid variable, never just the first.
func Load(lookup func(string) (string, bool)) (Config, error) {
	l := loader{lookup: lookup}
	c := Config{
		Port:                  l.port("APP_PORT", DefaultPort),
		TLS:                   l.serverTLS(),
		Region:                l.required("AWS_REGION"),
		LogLevel:              l.level("LOG_LEVEL"),
		DBWriterHost:          l.required("DB_WRITER_HOST"),
		DBReaderHost:          l.required("DB_READER_HOST"),
		DBPort:                l.port("DB_PORT", DefaultDBPort),
		DBName:                l.required("DB_NAME"),
		DBUser:                l.required("DB_USERNAME"),
		DBAuthMode:            l.oneOf("DB_AUTH_MODE", AuthIAM, AuthIAM, AuthPassword),
		DBPassword:            l.optional("DB_PASSWORD"),
		DBPasswordFile:        l.optional("DB_PASSWORD_FILE"),
		DBMigrations:          l.oneOf("DB_MIGRATIONS", MigrationsWait, MigrationsWait, MigrationsApply),
		DBAuthFailureLiveness: l.duration("DB_AUTH_FAILURE_LIVENESS", time.Minute, time.Second, time.Hour),
		DBPoolMaxConns:        l.intRange("DB_POOL_MAX_CONNS", 0, 1, 1000),
		DBRelayPoolMaxConns:   l.intRange("DB_RELAY_POOL_MAX_CONNS", DefaultRelayPoolMaxConns, 1, 16),
		OrderBatchWorkers:     l.intRange("ORDER_BATCH_WORKERS", DefaultOrderBatchWorkers, 0, 64),
		OrderBatchMaxWait:     l.duration("ORDER_BATCH_MAX_WAIT", DefaultOrderBatchMaxWait, 0, 10*time.Millisecond),
		DBCABundle:            l.optional("DB_CA_BUNDLE"),
		OIDCIssuer:            l.url("OIDC_ISSUER", true),
		OIDCAudiences:         l.list("OIDC_AUDIENCE"),
		OIDCClientIDs:         l.list("OIDC_CLIENT_IDS"),
		OIDCScope:             l.withDefault("OIDC_SCOPE", DefaultScope),
		OIDCProbeScope:        l.withDefault("OIDC_PROBE_SCOPE", DefaultProbeScope),
		OIDCJWKSURL:           l.url("OIDC_JWKS_URL", false),
		OIDCJWKSParameter:     l.optional("OIDC_JWKS_PARAMETER"),
		OIDCJWKSRefresh:       l.duration("OIDC_JWKS_REFRESH_INTERVAL", DefaultJWKSRefresh, 10*time.Second, time.Hour),
		OIDCTraderMap:         l.pairs("OIDC_TRADER_MAP"),
		SessionCacheTTL:       l.duration("SESSION_CACHE_TTL", 10*time.Second, 0, time.Minute),
		SessionsTimeout:       l.duration("SESSIONS_TIMEOUT", 2*time.Second, 100*time.Millisecond, 10*time.Second),
		IdempotencyRetention:  l.duration("IDEMPOTENCY_RETENTION", 24*time.Hour, time.Hour, 30*24*time.Hour),
		OutboxRetention:       l.duration("OUTBOX_RETENTION", 24*time.Hour, time.Minute, 30*24*time.Hour),
		OutboxMaxAttempts:     l.intRange("OUTBOX_MAX_ATTEMPTS", 10, 1, 1000),
		OutboxPublishTimeout:  l.duration("OUTBOX_PUBLISH_TIMEOUT", 10*time.Second, 100*time.Millisecond, time.Minute),
		MetricsNamespace:      l.withDefault("METRICS_NAMESPACE", "Trading"),
		MetricsInterval:       l.duration("METRICS_INTERVAL", time.Minute, time.Second, time.Hour),
		ParametersPath:        l.ssmPath("SSM_PARAMETERS_PATH"),
		ParametersRefresh:     l.duration("SSM_REFRESH_INTERVAL", 5*time.Second, 100*time.Millisecond, 5*time.Minute),
		SSMEndpoint:           l.endpoint("SSM_ENDPOINT"),
		DrainDelay:            l.duration("DRAIN_DELAY", DefaultDrainDelay, 0, 5*time.Minute),
		SessionsTable:         l.required("SESSIONS_TABLE"),
		EventBusName:          l.required("EVENT_BUS_NAME"),
		SessionTTL:            l.duration("SESSION_TTL", DefaultSessionTTL, time.Minute, 7*24*time.Hour),
		ShutdownTimeout:       l.duration("SHUTDOWN_TIMEOUT", DefaultShutdownTimeout, time.Second, 10*time.Minute),
		DynamoDBEndpoint:      l.endpoint("DYNAMODB_ENDPOINT"),
		EventBridgeEndpoint:   l.endpoint("EVENTBRIDGE_ENDPOINT"),
	}
	c.DBSSLMode = l.sslMode(c.DBCABundle)
	if c.DBAuthMode == AuthPassword && c.DBPassword == "" && c.DBPasswordFile == "" {
		l.fail("DB_PASSWORD_FILE", "password mode needs DB_PASSWORD_FILE (re-read on rotation) or DB_PASSWORD")
	}
	if c.DBAuthMode == AuthIAM && (c.DBPassword != "" || c.DBPasswordFile != "") {
		l.fail("DB_AUTH_MODE", "iam mode takes no DB_PASSWORD/DB_PASSWORD_FILE (set DB_AUTH_MODE=password to use one)")
	}
	if c.DBAuthMode == AuthIAM && c.DBSSLMode != SSLModeVerifyFull {
		l.fail("DB_CA_BUNDLE", "iam mode sends a bearer token as the password: it needs verify-full with the RDS CA bundle")
	}
	if c.OIDCIssuer != "" && len(c.OIDCAudiences) == 0 && len(c.OIDCClientIDs) == 0 {
		l.fail("OIDC_CLIENT_IDS", "set OIDC_CLIENT_IDS (Cognito client-credentials clients) or OIDC_AUDIENCE")
	}
	if c.OIDCJWKSParameter != "" && c.OIDCJWKSURL != "" {
		l.fail("OIDC_JWKS_URL", "set OIDC_JWKS_PARAMETER or OIDC_JWKS_URL, not both")
	}
	if p := c.OIDCJWKSParameter; p != "" && (!strings.HasPrefix(p, "/") || strings.ContainsAny(p, " \t")) {
		l.fail("OIDC_JWKS_PARAMETER", "must be an SSM parameter name starting with /")
	}
	if c.DrainDelay+c.ShutdownTimeout > 10*time.Minute {
		l.fail("DRAIN_DELAY", "DRAIN_DELAY + SHUTDOWN_TIMEOUT must stay below ECS stopTimeout")
	}
	if c.DBCABundle != "" && c.DBCABundle != rdsca.Builtin {
		if f, err := os.Open(c.DBCABundle); err != nil {
			l.fail("DB_CA_BUNDLE", fmt.Sprintf("cannot read CA bundle: %v", err))
		} else {
			_ = f.Close()
		}
	}
	if len(l.errs) > 0 {
		return Config{}, &Error{Fields: l.errs}
	}
	return c, nil
}

// LogValue implements slog.LogValuer; it never includes the password.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("port", c.Port),
		slog.String("tls", c.TLS),
		slog.String("region", c.Region),
		slog.String("log_level", c.LogLevel.String()),
		slog.String("db_writer_host", c.DBWriterHost),
		slog.String("db_reader_host", c.DBReaderHost),
		slog.Int("db_port", c.DBPort),
		slog.String("db_name", c.DBName),
		slog.String("db_username", c.DBUser),
		slog.String("db_auth_mode", c.DBAuthMode),
		slog.String("db_migrations", c.DBMigrations),
		slog.Int("db_pool_max_conns", c.DBPoolMaxConns),
		slog.Int("db_relay_pool_max_conns", c.DBRelayPoolMaxConns),
		slog.Int("order_batch_workers", c.OrderBatchWorkers),
		slog.Duration("order_batch_max_wait", c.OrderBatchMaxWait),
		slog.String("oidc_issuer", c.OIDCIssuer),
		slog.Int("oidc_client_ids", len(c.OIDCClientIDs)),
		slog.String("oidc_scope", c.OIDCScope),
		slog.String("ssm_parameters_path", c.ParametersPath),
		slog.String("metrics_namespace", c.MetricsNamespace),
		slog.Duration("drain_delay", c.DrainDelay),
		slog.String("db_sslmode", c.DBSSLMode),
		slog.Bool("db_ca_bundle_set", c.DBCABundle != ""),
		slog.String("sessions_table", c.SessionsTable),
		slog.String("event_bus_name", c.EventBusName),
		slog.Duration("session_ttl", c.SessionTTL),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
	)
}

// ServerTLS reads APP_TLS alone (TLSOff or TLSSelfSigned): what the
// container health check needs to reach the server it runs beside.
func ServerTLS(lookup func(string) (string, bool)) (string, error) {
	l := loader{lookup: lookup}
	mode := l.serverTLS()
	if len(l.errs) > 0 {
		return "", &Error{Fields: l.errs}
	}
	return mode, nil
}

func (l *loader) serverTLS() string { return l.oneOf("APP_TLS", TLSOff, TLSOff, TLSSelfSigned) }

type loader struct {
	lookup func(string) (string, bool)
	errs   []FieldError
}

func (l *loader) fail(name, problem string) {
	l.errs = append(l.errs, FieldError{Var: name, Problem: problem})
}

func (l *loader) optional(name string) string {
	v, _ := l.lookup(name)
	return strings.TrimSpace(v)
}

func (l *loader) required(name string) string {
	v := l.optional(name)
	if v == "" {
		l.fail(name, "is required but not set")
	}
	return v
}

func (l *loader) port(name string, def int) int {
	v := l.optional(name)
	if v == "" {
		return def
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > 65535 {
		l.fail(name, fmt.Sprintf("must be a port number 1-65535, got %q", v))
		return 0
	}
	return p
}

func (l *loader) duration(name string, def, min, max time.Duration) time.Duration {
	v := l.optional(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		l.fail(name, fmt.Sprintf("must be a Go duration such as 8h or 25s, got %q", v))
		return 0
	}
	if d < min || d > max {
		l.fail(name, fmt.Sprintf("must be between %s and %s, got %s", min, max, d))
		return 0
	}
	return d
}

func (l *loader) withDefault(name, def string) string {
	if v := l.optional(name); v != "" {
		return v
	}
	return def
}

func (l *loader) oneOf(name, def string, allowed ...string) string {
	v := strings.ToLower(l.optional(name))
	if v == "" {
		return def
	}
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	l.fail(name, fmt.Sprintf("must be one of %s, got %q", strings.Join(allowed, ", "), v))
	return def
}

func (l *loader) intRange(name string, def, lo, hi int) int {
	v := l.optional(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		l.fail(name, fmt.Sprintf("must be an integer %d-%d, got %q", lo, hi, v))
		return def
	}
	return n
}

func (l *loader) list(name string) []string {
	var out []string
	for _, p := range strings.Split(l.optional(name), ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (l *loader) pairs(name string) map[string]string {
	out := map[string]string{}
	for _, p := range l.list(name) {
		k, v, ok := strings.Cut(p, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			l.fail(name, fmt.Sprintf("entries must look like client-id=TRADER, got %q", p))
			continue
		}
		out[k] = v
	}
	return out
}

func (l *loader) url(name string, required bool) string {
	v := l.optional(name)
	if v == "" {
		if required {
			l.fail(name, "is required but not set")
		}
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		l.fail(name, fmt.Sprintf("must be an https URL, got %q", v))
		return ""
	}
	return strings.TrimRight(v, "/")
}

func (l *loader) ssmPath(name string) string {
	v := l.optional(name)
	if v == "" {
		return ""
	}
	if !strings.HasPrefix(v, "/") || strings.Contains(v, " ") {
		l.fail(name, fmt.Sprintf("must be an SSM path such as /trading/dev, got %q", v))
		return ""
	}
	return strings.TrimRight(v, "/")
}

func (l *loader) level(name string) slog.Level {
	v := strings.ToLower(l.optional(name))
	switch v {
	case "", "info":
		return slog.LevelInfo
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	l.fail(name, fmt.Sprintf("must be one of debug, info, warn, error; got %q", v))
	return slog.LevelInfo
}

func (l *loader) endpoint(name string) string {
	v := l.optional(name)
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		l.fail(name, fmt.Sprintf("must be an http(s) URL, got %q", v))
		return ""
	}
	return v
}

func (l *loader) sslMode(caBundle string) string {
	v := strings.ToLower(l.optional("DB_SSLMODE"))
	switch {
	case v == "" && caBundle != "":
		return SSLModeVerifyFull
	case v == "":
		return SSLModeRequire
	case v == SSLModeRequire && caBundle == rdsca.Builtin:
		l.fail("DB_CA_BUNDLE", "rds (the built-in RDS bundle) is for verify-full; DB_SSLMODE require would not verify the server")
		return v
	case v == SSLModeRequire:
		return v
	case v == SSLModeVerifyFull:
		if caBundle == "" {
			l.fail("DB_SSLMODE", "verify-full needs DB_CA_BUNDLE (the RDS CA bundle path)")
		}
		return v
	}
	l.fail("DB_SSLMODE", fmt.Sprintf("must be require or verify-full, got %q", v))
	return ""
}

// MigrateConfig is the configuration of the migrate step (trading -migrate).
type MigrateConfig struct {
	// Host, Port, Database, SSLMode and CABundle reach the writer
	// (DB_WRITER_HOST, DB_PORT, DB_NAME, DB_SSLMODE, DB_CA_BUNDLE).
	Host     string
	Port     int
	Database string
	SSLMode  string
	CABundle string
	// AdminUser and AdminPassword are the master credentials
	// (DB_MIGRATE_USERNAME, DB_MIGRATE_PASSWORD — the RDS-managed secret).
	AdminUser, AdminPassword string
	// AppRole is the role to create (DB_USERNAME).
	AppRole string
	// AppPassword optionally sets AppRole's password (DB_APP_PASSWORD; local only).
	AppPassword string
	// Timeout bounds the whole step, retries included (MIGRATE_TIMEOUT, default 5m).
	Timeout time.Duration
}

// LoadMigrate builds a MigrateConfig using lookup.
func LoadMigrate(lookup func(string) (string, bool)) (MigrateConfig, error) {
	l := loader{lookup: lookup}
	c := MigrateConfig{
		Host: l.required("DB_WRITER_HOST"), Port: l.port("DB_PORT", DefaultDBPort), Database: l.required("DB_NAME"),
		CABundle: l.optional("DB_CA_BUNDLE"), AdminUser: l.required("DB_MIGRATE_USERNAME"),
		AdminPassword: l.required("DB_MIGRATE_PASSWORD"), AppRole: l.required("DB_USERNAME"),
		AppPassword: l.optional("DB_APP_PASSWORD"), Timeout: l.duration("MIGRATE_TIMEOUT", 5*time.Minute, 10*time.Second, time.Hour),
	}
	c.SSLMode = l.sslMode(c.CABundle)
	if len(l.errs) > 0 {
		return MigrateConfig{}, &Error{Fields: l.errs}
	}
	return c, nil
}

// ErrInvalid reports whether err is a configuration error from Load.
func ErrInvalid(err error) bool {
	var ce *Error
	return errors.As(err, &ce)
}

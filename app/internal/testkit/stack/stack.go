// Package stack runs the whole trading service in-process against real
// loopback dependencies — PostgreSQL (TLS, the migrate step as master user,
// the service as a least-privileged role), dynalite, a fake EventBridge, a
// fake SSM Parameter Store and a local OIDC issuer shaped like a Cognito
// user pool with client-credentials clients — for integration tests, the
// failover drill, the benchmark, and running the canary and smoke test
// against the real service (see scripts/devstack).
package stack

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trading-ha/trading-ha/app/internal/config"
	"github.com/trading-ha/trading-ha/app/internal/retry"
	"github.com/trading-ha/trading-ha/app/internal/service"
	"github.com/trading-ha/trading-ha/app/internal/store"
	"github.com/trading-ha/trading-ha/app/internal/testkit"
)

// Options tune the stack.
type Options struct {
	// Logger for the service (default: discard).
	Logger *slog.Logger
	// Env overrides or adds service environment variables.
	Env map[string]string
	// Retry overrides the service's database retry policy.
	Retry retry.Policy
	// Clients are the OAuth2 client ids the service accepts; the trader id
	// of each is the client id (default: DefaultClients).
	Clients []string
	// ProbeClients are those of Clients that are probes: the issuer allows
	// them scope trading/probe instead of trading/orders (default:
	// DefaultProbeClients).
	ProbeClients []string
	// Parameters are initial SSM parameters, names relative to ParametersPath.
	Parameters map[string]string
	// MaxConns overrides the service's per-pool connection limit.
	MaxConns int32
	// DurablePostgres runs PostgreSQL with fsync on (benchmarks comparable
	// with production durability).
	DurablePostgres bool
	// TLS serves the API over HTTPS as the stacks' tasks do
	// (APP_TLS=self-signed; the smoke test insists on https: use -insecure).
	TLS bool
	// SkipWaitReady returns right after the service starts listening,
	// before the migrate step ran (tests of the start-up sequence).
	SkipWaitReady bool
}

// DefaultClients are the client-credentials clients of a default stack:
// two desks and the synthetic probes.
var DefaultClients = []string{"desk-a", "desk-b", "canary", "smoke"}

// DefaultProbeClients are the clients that are probes (scope trading/probe)
// unless Options.ProbeClients says otherwise.
var DefaultProbeClients = []string{"canary", "smoke"}

// ParametersPath is the SSM path the stack's service reads.
const ParametersPath = "/trading/test"

// AppRole is the least-privileged database role the service connects as.
const AppRole = "trading_app"

// Stack is a running service plus its dependencies.
type Stack struct {
	// Postgres is the database server.
	Postgres *testkit.Postgres
	// Dynalite serves the sessions table.
	Dynalite *testkit.Dynalite
	// Bus records published events.
	Bus *testkit.FakeBus
	// Service is the running service.
	Service *service.Service
	// BaseURL is the service's address: https:// with Options.TLS, else http://.
	BaseURL string
	// Config is the configuration the service runs with.
	Config config.Config
	// Issuer is the local OIDC issuer (Cognito-shaped client credentials).
	Issuer *testkit.Issuer
	// ClientSecrets maps each client id to its secret at Issuer.TokenURL.
	ClientSecrets map[string]string
	// SSM serves the risk limits and the kill switch under ParametersPath.
	SSM *testkit.FakeSSM
	// PasswordFile holds the application role's password (DB_PASSWORD_FILE);
	// RotatePassword changes both.
	PasswordFile string

	cancel      context.CancelFunc
	done        chan error
	appPassword string
}

// Start brings up the dependencies and the service and waits until /readyz
// answers 200. Missing binaries yield an error wrapping testkit.ErrUnavailable.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	s := &Stack{}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	// Check for both binaries before starting anything slow.
	if _, err := testkit.DynaliteScript(); err != nil {
		return nil, err
	}
	if s.Postgres, err = testkit.StartPostgresWith(ctx, testkit.PostgresOptions{Durable: opts.DurablePostgres}); err != nil {
		return nil, err
	}
	if s.Dynalite, err = testkit.StartDynalite(ctx); err != nil {
		return nil, err
	}
	s.Bus = testkit.StartFakeBus()
	s.SSM = testkit.StartFakeSSM()
	s.SSM.Set(ParametersPath+"/flags/trading-enabled", "true")
	for k, v := range opts.Parameters {
		s.SSM.Set(ParametersPath+"/"+k, v)
	}
	if s.Issuer, err = testkit.StartIssuer(); err != nil {
		return nil, err
	}
	if len(opts.Clients) == 0 {
		opts.Clients = DefaultClients
	}
	if opts.ProbeClients == nil {
		opts.ProbeClients = DefaultProbeClients
	}
	s.ClientSecrets = map[string]string{}
	for _, c := range opts.Clients {
		if slices.Contains(opts.ProbeClients, c) {
			s.ClientSecrets[c] = s.Issuer.AddProbeClient(c)
		} else {
			s.ClientSecrets[c] = s.Issuer.AddClient(c)
		}
	}
	appPassword := "app-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	s.PasswordFile = filepath.Join(s.Postgres.Dir(), "app-password")
	if err := os.WriteFile(s.PasswordFile, []byte(appPassword+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write password file: %w", err)
	}
	const table = "sessions-test"
	if err := s.Dynalite.CreateSessionsTable(ctx, table); err != nil {
		return nil, err
	}
	env := map[string]string{
		"APP_PORT":             "8080",
		"AWS_REGION":           testkit.Region,
		"LOG_LEVEL":            "debug",
		"DB_WRITER_HOST":       "127.0.0.1",
		"DB_READER_HOST":       "localhost",
		"DB_PORT":              strconv.Itoa(s.Postgres.Port),
		"DB_NAME":              s.Postgres.Database,
		"DB_USERNAME":          AppRole,
		"DB_AUTH_MODE":         "password",
		"DB_PASSWORD_FILE":     s.PasswordFile,
		"OIDC_ISSUER":          s.Issuer.URL,
		"OIDC_CLIENT_IDS":      strings.Join(opts.Clients, ","),
		"SSM_PARAMETERS_PATH":  ParametersPath,
		"SSM_ENDPOINT":         s.SSM.URL,
		"SSM_REFRESH_INTERVAL": "200ms",
		"DRAIN_DELAY":          "0s",
		"METRICS_NAMESPACE":    "Trading/test",
		"DB_CA_BUNDLE":         s.Postgres.CAFile,
		"SESSIONS_TABLE":       table,
		"EVENT_BUS_NAME":       "events-test",
		"SESSION_TTL":          "1h",
		"SHUTDOWN_TIMEOUT":     "10s",
		"DYNAMODB_ENDPOINT":    s.Dynalite.Endpoint,
		"EVENTBRIDGE_ENDPOINT": s.Bus.URL,
	}
	if opts.TLS {
		// The stacks' own mode: a key and certificate the service makes at start.
		env["APP_TLS"] = config.TLSSelfSigned
	}
	for k, v := range opts.Env {
		env[k] = v
	}
	if s.Config, err = config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	scheme := "http"
	if s.Config.TLS == config.TLSSelfSigned {
		scheme = "https"
	}
	s.Service, err = service.New(ctx, s.Config, opts.Logger, service.Options{
		Listener: ln, RelayInterval: 200 * time.Millisecond, Retry: opts.Retry, AWSCredentials: testkit.Credentials(),
		MaxConns: opts.MaxConns,
	})
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("start service: %w", err)
	}
	s.BaseURL = scheme + "://" + s.Service.Addr()
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.done = make(chan error, 1)
	go func() { s.done <- s.Service.Run(runCtx) }()
	if opts.SkipWaitReady {
		s.appPassword = appPassword
		return s, nil
	}
	if err := s.Migrate(ctx, appPassword); err != nil {
		return nil, err
	}
	if _, err := s.WaitReady(ctx, 30*time.Second); err != nil {
		return nil, err
	}
	return s, nil
}

// Migrate runs the migrate step as the master user: schema migrations plus
// the application role (with password, as there is no rds_iam locally).
// An empty password uses the one the stack generated.
func (s *Stack) Migrate(ctx context.Context, appPassword string) error {
	if appPassword == "" {
		appPassword = s.appPassword
	}
	_, err := store.MigrateAsAdmin(ctx, store.AdminConfig{
		DSN: store.DSN{Host: "127.0.0.1", Port: s.Postgres.Port, Database: s.Postgres.Database, User: s.Postgres.User,
			SSLMode: "verify-full", RootCert: s.Postgres.CAFile},
		Credentials: store.StaticPassword(s.Postgres.Password), AppRole: AppRole, AppPassword: appPassword,
	})
	if err != nil {
		return fmt.Errorf("migrate step: %w", err)
	}
	return nil
}

// Token is a valid access token for client (its trader id is the client id).
func (s *Stack) Token(client string) string { return s.Issuer.Token(client) }

// RotatePassword changes the application role's password in PostgreSQL
// (ALTER ROLE, as a rotation does). If updateSecret, it also writes the new
// value to the password file (the secret store); terminate kills existing
// connections so the pools must re-dial.
func (s *Stack) RotatePassword(ctx context.Context, newPassword string, updateSecret, terminate bool) error {
	conn, err := pgx.Connect(ctx, s.Postgres.AdminURL(s.Postgres.Database))
	if err != nil {
		return fmt.Errorf("connect as admin: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `ALTER ROLE `+AppRole+` PASSWORD '`+strings.ReplaceAll(newPassword, "'", "''")+`'`); err != nil {
		return fmt.Errorf("alter role: %w", err)
	}
	if updateSecret {
		if err := s.WriteSecret(newPassword); err != nil {
			return err
		}
	}
	if terminate {
		if _, err := s.Postgres.TerminateBackends(ctx); err != nil {
			return err
		}
	}
	return nil
}

// WriteSecret writes the password file (what the secret store serves).
func (s *Stack) WriteSecret(password string) error {
	if err := os.WriteFile(s.PasswordFile, []byte(password+"\n"), 0o600); err != nil {
		return fmt.Errorf("write password file: %w", err)
	}
	return nil
}

// WaitReady polls /readyz until it answers 200 and returns how long it took.
func (s *Stack) WaitReady(ctx context.Context, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // loopback self-signed test certificate
	for {
		resp, err := client.Get(s.BaseURL + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
		}
		if time.Since(start) > limit {
			return time.Since(start), fmt.Errorf("service not ready within %s", limit)
		}
		select {
		case <-ctx.Done():
			return time.Since(start), fmt.Errorf("wait ready: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Shutdown stops the service gracefully (as SIGTERM does) and returns Run's error.
func (s *Stack) Shutdown() error {
	if s.cancel == nil {
		return nil
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		return err
	case <-time.After(time.Minute):
		return errors.New("service did not stop within a minute")
	}
}

// Close stops everything this stack started.
func (s *Stack) Close() {
	_ = s.Shutdown()
	if s.Bus != nil {
		s.Bus.Close()
	}
	if s.SSM != nil {
		s.SSM.Close()
	}
	if s.Issuer != nil {
		s.Issuer.Close()
	}
	if s.Dynalite != nil {
		s.Dynalite.Close()
	}
	if s.Postgres != nil {
		s.Postgres.Close()
	}
}

// Package stack runs the whole trading service in-process against real
// loopback dependencies (PostgreSQL, dynalite, fake EventBridge), for
// integration tests and the failover drill.
package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/trading-ha/trading-ha/app/internal/config"
	"github.com/trading-ha/trading-ha/app/internal/retry"
	"github.com/trading-ha/trading-ha/app/internal/service"
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
}

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
	// BaseURL is the service's http:// address.
	BaseURL string
	// Config is the configuration the service runs with.
	Config config.Config

	cancel context.CancelFunc
	done   chan error
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
	if s.Postgres, err = testkit.StartPostgres(ctx); err != nil {
		return nil, err
	}
	if s.Dynalite, err = testkit.StartDynalite(ctx); err != nil {
		return nil, err
	}
	s.Bus = testkit.StartFakeBus()
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
		"DB_USERNAME":          s.Postgres.User,
		"DB_PASSWORD":          s.Postgres.Password,
		"DB_CA_BUNDLE":         s.Postgres.CAFile,
		"SESSIONS_TABLE":       table,
		"EVENT_BUS_NAME":       "events-test",
		"SESSION_TTL":          "1h",
		"SHUTDOWN_TIMEOUT":     "10s",
		"DYNAMODB_ENDPOINT":    s.Dynalite.Endpoint,
		"EVENTBRIDGE_ENDPOINT": s.Bus.URL,
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
	s.Service, err = service.New(ctx, s.Config, opts.Logger, service.Options{
		Listener: ln, RelayInterval: 200 * time.Millisecond, Retry: opts.Retry, AWSCredentials: testkit.Credentials(),
	})
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("start service: %w", err)
	}
	s.BaseURL = "http://" + s.Service.Addr()
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.done = make(chan error, 1)
	go func() { s.done <- s.Service.Run(runCtx) }()
	if _, err := s.WaitReady(ctx, 30*time.Second); err != nil {
		return nil, err
	}
	return s, nil
}

// WaitReady polls /readyz until it answers 200 and returns how long it took.
func (s *Stack) WaitReady(ctx context.Context, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	client := &http.Client{Timeout: 3 * time.Second}
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
	if s.Dynalite != nil {
		s.Dynalite.Close()
	}
	if s.Postgres != nil {
		s.Postgres.Close()
	}
}

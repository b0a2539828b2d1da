// Package service wires the trading service together: configuration, the
// PostgreSQL store, the DynamoDB session store, the outbox relay and the HTTP
// server, and runs it until shutdown.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/trading-ha/trading-ha/app/internal/config"
	"github.com/trading-ha/trading-ha/app/internal/events"
	"github.com/trading-ha/trading-ha/app/internal/httpapi"
	"github.com/trading-ha/trading-ha/app/internal/retry"
	"github.com/trading-ha/trading-ha/app/internal/sessions"
	"github.com/trading-ha/trading-ha/app/internal/store"
)

// Options are knobs for tests and drills; production uses the zero value.
type Options struct {
	// Listener, if set, is used instead of listening on cfg.Port.
	Listener net.Listener
	// RelayInterval overrides the outbox poll interval.
	RelayInterval time.Duration
	// Retry overrides the database retry policy.
	Retry retry.Policy
	// AWSCredentials overrides the default credential chain.
	AWSCredentials aws.CredentialsProvider
}

// Service is a running-ready trading service.
type Service struct {
	cfg    config.Config
	log    *slog.Logger
	store  *store.Store
	api    *httpapi.API
	relay  *events.Relay
	server *http.Server
	ln     net.Listener
}

// New builds the service: opens the pools, applies migrations (under an
// advisory lock, retrying while the database is unreachable) and prepares
// the AWS clients and HTTP server. It does not start serving.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, opts Options) (*Service, error) {
	dsn := func(host string) store.DSN {
		return store.DSN{Host: host, Port: cfg.DBPort, Database: cfg.DBName, User: cfg.DBUser,
			Password: cfg.DBPassword, SSLMode: cfg.DBSSLMode, RootCert: cfg.DBCABundle}
	}
	st, err := store.Open(ctx, dsn(cfg.DBWriterHost), dsn(cfg.DBReaderHost), store.Options{Retry: opts.Retry, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	migCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	applied, err := st.Migrate(migCtx)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("apply migrations: %w", err)
	}
	log.Info("schema migrations", slog.Any("applied", applied))

	awsOpts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(cfg.Region)}
	if opts.AWSCredentials != nil {
		awsOpts = append(awsOpts, awsconfig.WithCredentialsProvider(opts.AWSCredentials))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsOpts...)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	ddb := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		if cfg.DynamoDBEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.DynamoDBEndpoint)
		}
	})
	eb := eventbridge.NewFromConfig(awsCfg, func(o *eventbridge.Options) {
		if cfg.EventBridgeEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.EventBridgeEndpoint)
		}
	})

	relay := events.NewRelay(st, events.Publisher(eb, cfg.EventBusName), log.With(slog.String("component", "outbox-relay")))
	if opts.RelayInterval > 0 {
		relay.Interval = opts.RelayInterval
	}
	api := &httpapi.API{
		Sessions:       sessions.New(ddb, cfg.SessionsTable, cfg.SessionTTL),
		Orders:         st,
		Logger:         log,
		OnOrderCreated: relay.Notify,
	}
	ln := opts.Listener
	if ln == nil {
		ln, err = net.Listen("tcp", ":"+strconv.Itoa(cfg.Port))
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("listen on port %d: %w", cfg.Port, err)
		}
	}
	srv := &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		// Longer than the ALB's 60 s idle timeout, so the ALB closes first.
		IdleTimeout: 75 * time.Second,
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return &Service{cfg: cfg, log: log, store: st, api: api, relay: relay, server: srv, ln: ln}, nil
}

// Addr is the address the service listens on.
func (s *Service) Addr() string { return s.ln.Addr().String() }

// Store exposes the order store (tests and drills inspect it).
func (s *Service) Store() *store.Store { return s.store }

// Run serves until ctx is cancelled (SIGTERM), then shuts down gracefully:
// readiness fails first, in-flight requests drain within ShutdownTimeout,
// the relay finishes its batch, and the pools close.
func (s *Service) Run(ctx context.Context) error {
	relayCtx, stopRelay := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.relay.Run(relayCtx)
	}()

	serveErr := make(chan error, 1)
	go func() { serveErr <- s.server.Serve(s.ln) }()
	s.log.Info("trading service listening", slog.String("addr", s.Addr()), slog.Any("config", s.cfg))

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		err = fmt.Errorf("http server: %w", err)
	}

	s.log.Info("shutting down", slog.Duration("timeout", s.cfg.ShutdownTimeout))
	s.api.SetDraining()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	if shutErr := s.server.Shutdown(shutdownCtx); shutErr != nil && !errors.Is(shutErr, http.ErrServerClosed) {
		err = errors.Join(err, fmt.Errorf("drain http server: %w", shutErr))
	}
	stopRelay()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-shutdownCtx.Done():
		s.log.Warn("outbox relay did not stop before the shutdown deadline")
	}
	s.store.Close()
	s.log.Info("shutdown complete")
	return err
}

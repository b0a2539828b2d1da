// Package service wires the trading service together: configuration, the
// PostgreSQL store, the DynamoDB session store, token verification, risk
// limits, the outbox relay and the HTTP server, and runs it until shutdown.
package service

import (
	"context"
	"crypto/tls"
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
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/trading-ha/trading-ha/app/internal/auth"
	"github.com/trading-ha/trading-ha/app/internal/config"
	"github.com/trading-ha/trading-ha/app/internal/events"
	"github.com/trading-ha/trading-ha/app/internal/httpapi"
	"github.com/trading-ha/trading-ha/app/internal/retry"
	"github.com/trading-ha/trading-ha/app/internal/risk"
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
	// Credentials overrides the database credential source built from cfg.
	Credentials store.CredentialSource
	// MaxConns overrides DB_POOL_MAX_CONNS (the writer and reader pool sizes).
	MaxConns int32
}

// Service is a trading service ready to Run.
type Service struct {
	cfg     config.Config
	log     *slog.Logger
	store   *store.Store
	api     *httpapi.API
	relay   *events.Relay
	house   *events.Housekeeper
	risk    *risk.Engine
	server  *http.Server
	ln      net.Listener
	started chan struct{}
}

// New builds the service: pools (which dial lazily), AWS clients, the token
// verifier, the risk engine and the HTTP server. It performs no network I/O
// and does not start serving; Run listens first and migrates (or waits for
// the migrate step) afterwards.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, opts Options) (*Service, error) {
	awsOpts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(cfg.Region)}
	if opts.AWSCredentials != nil {
		awsOpts = append(awsOpts, awsconfig.WithCredentialsProvider(opts.AWSCredentials))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsOpts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	creds := opts.Credentials
	if creds == nil {
		creds = CredentialSource(cfg, awsCfg.Credentials)
	}
	dsn := func(host string) store.DSN {
		return store.DSN{Host: host, Port: cfg.DBPort, Database: cfg.DBName, User: cfg.DBUser,
			SSLMode: cfg.DBSSLMode, RootCert: cfg.DBCABundle}
	}
	st, err := store.Open(ctx, dsn(cfg.DBWriterHost), dsn(cfg.DBReaderHost), storeOptions(cfg, opts, creds, log))
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	newSSM := func() *ssm.Client {
		return ssm.NewFromConfig(awsCfg, func(o *ssm.Options) {
			if cfg.SSMEndpoint != "" {
				o.BaseEndpoint = aws.String(cfg.SSMEndpoint)
			}
		})
	}
	authCfg := auth.Config{Issuer: cfg.OIDCIssuer, Audiences: cfg.OIDCAudiences,
		ClientIDs: cfg.OIDCClientIDs, Scope: cfg.OIDCScope, ProbeScope: cfg.OIDCProbeScope, JWKSURL: cfg.OIDCJWKSURL, TraderMap: cfg.OIDCTraderMap}
	if cfg.OIDCJWKSParameter != "" {
		// Keys come from the parameter the key sync keeps (ssm endpoint);
		// the issuer is never called (docs/service.md, "Signing keys").
		authCfg.Keys = &auth.ParameterSource{API: newSSM(), Name: cfg.OIDCJWKSParameter}
		authCfg.MaxKeyAge = cfg.OIDCJWKSRefresh
	}
	verifier, err := auth.NewVerifier(authCfg)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("token verifier: %w", err)
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
	var ssmAPI risk.API
	if cfg.ParametersPath != "" {
		ssmAPI = newSSM()
	} else {
		log.Warn("SSM_PARAMETERS_PATH not set: default risk limits, no kill switch")
	}
	engine := risk.NewEngine(ssmAPI, cfg.ParametersPath, cfg.ParametersRefresh, log.With(slog.String("component", "risk")))

	relay := events.NewRelay(st, events.Publisher(eb, cfg.EventBusName), log.With(slog.String("component", "outbox-relay")))
	relay.Options = store.RelayOptions{MaxAttempts: cfg.OutboxMaxAttempts, PublishTimeout: cfg.OutboxPublishTimeout}
	if opts.RelayInterval > 0 {
		relay.Interval = opts.RelayInterval
	}
	house := &events.Housekeeper{Store: st, Logger: log, Namespace: cfg.MetricsNamespace,
		MetricsInterval: cfg.MetricsInterval, OutboxRetention: cfg.OutboxRetention}
	api := &httpapi.API{
		Sessions:       &sessions.Cache{Store: sessions.New(ddb, cfg.SessionsTable, cfg.SessionTTL, cfg.SessionsTimeout), TTL: cfg.SessionCacheTTL},
		Orders:         st,
		Auth:           verifier,
		Risk:           engine,
		Logger:         log,
		OnOrderCreated: relay.Notify,
		Liveness: func() error {
			if since := st.AuthFailingSince(); !since.IsZero() && time.Since(since) > cfg.DBAuthFailureLiveness {
				return fmt.Errorf("database authentication failing since %s", since.Format(time.RFC3339))
			}
			return nil
		},
	}
	ln := opts.Listener
	if ln == nil {
		ln, err = net.Listen("tcp", ":"+strconv.Itoa(cfg.Port))
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("listen on port %d: %w", cfg.Port, err)
		}
	}
	if cfg.TLS == config.TLSSelfSigned {
		tlsCfg, err := selfSignedTLS(time.Now())
		if err != nil {
			_ = ln.Close()
			st.Close()
			return nil, err
		}
		ln = tls.NewListener(ln, tlsCfg)
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
	return &Service{cfg: cfg, log: log, store: st, api: api, relay: relay, house: house, risk: engine,
		server: srv, ln: ln, started: make(chan struct{})}, nil
}

// CredentialSource builds the database credential source cfg asks for.
func CredentialSource(cfg config.Config, awsCreds aws.CredentialsProvider) store.CredentialSource {
	switch {
	case cfg.DBAuthMode == config.AuthIAM:
		return store.IAMToken{Region: cfg.Region, Credentials: awsCreds}
	case cfg.DBPasswordFile != "":
		return &store.FilePassword{Path: cfg.DBPasswordFile}
	default:
		return store.StaticPassword(cfg.DBPassword)
	}
}

// Addr is the address the service listens on.
func (s *Service) Addr() string { return s.ln.Addr().String() }

// Store exposes the order store (tests and drills inspect it).
func (s *Service) Store() *store.Store { return s.store }

// Started is closed once start-up (schema check or migration) completed.
func (s *Service) Started() <-chan struct{} { return s.started }

// Run serves until ctx is cancelled (SIGTERM). It listens first; then it
// applies migrations (DB_MIGRATIONS=apply) or waits until the migrate step
// has applied them (wait), retrying while the database is unreachable and
// reporting not ready meanwhile; then it starts the relay. On shutdown
// readiness fails at once, serving continues for DrainDelay, in-flight
// requests drain within ShutdownTimeout, the relay stops and the pools close.
// A start-up error that retrying cannot fix (a failing migration) ends Run
// with an error (the task exits non-zero; the deployment circuit breaker
// rolls back).
func (s *Service) Run(ctx context.Context) error {
	bgCtx, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.risk.Run(bgCtx) }()
	go func() { defer wg.Done(); s.risk.RunMetrics(bgCtx, s.cfg.MetricsNamespace, s.cfg.MetricsInterval) }()

	serveErr := make(chan error, 1)
	go func() { serveErr <- s.server.Serve(s.ln) }()
	s.log.Info("trading service listening", slog.String("addr", s.Addr()), slog.Any("config", s.cfg))

	startErr := make(chan error, 1)
	go func() {
		err := s.startup(bgCtx)
		if err == nil {
			close(s.started)
			s.api.SetStarted()
			wg.Add(2)
			go func() { defer wg.Done(); s.relay.Run(bgCtx) }()
			go func() { defer wg.Done(); s.house.Run(bgCtx) }()
		}
		startErr <- err
	}()

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		err = fmt.Errorf("http server: %w", err)
	case err = <-startErr:
		if err != nil {
			err = fmt.Errorf("start-up: %w", err)
			break
		}
		select {
		case <-ctx.Done():
		case err = <-serveErr:
			err = fmt.Errorf("http server: %w", err)
		}
	}

	s.log.Info("shutting down", slog.Duration("drain_delay", s.cfg.DrainDelay), slog.Duration("timeout", s.cfg.ShutdownTimeout))
	s.api.SetDraining()
	if err == nil && s.cfg.DrainDelay > 0 {
		// Keep serving while the load balancer notices /readyz failing.
		time.Sleep(s.cfg.DrainDelay)
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	if shutErr := s.server.Shutdown(shutdownCtx); shutErr != nil && !errors.Is(shutErr, http.ErrServerClosed) {
		err = errors.Join(err, fmt.Errorf("drain http server: %w", shutErr))
	}
	stopBG()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-shutdownCtx.Done():
		s.log.Warn("background work did not stop before the shutdown deadline")
	}
	s.store.Close()
	s.log.Info("shutdown complete")
	return err
}

// startup migrates or waits for the schema, retrying transient errors
// (database down, credentials being rotated) until ctx ends.
func (s *Service) startup(ctx context.Context) error {
	backoff := 250 * time.Millisecond
	for {
		var err error
		if s.cfg.DBMigrations == config.MigrationsApply {
			var applied []string
			applied, err = s.store.Migrate(ctx)
			if err == nil {
				s.log.Info("schema migrations", slog.Any("applied", applied))
				return nil
			}
		} else {
			var ok bool
			ok, err = s.store.SchemaCurrent(ctx)
			if err == nil && ok {
				s.log.Info("schema is current")
				return nil
			}
			if err == nil {
				err = errors.New("waiting for the migrate step to apply the schema")
			}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("start-up interrupted: %w", ctx.Err())
		}
		if s.cfg.DBMigrations == config.MigrationsApply && !retry.Unavailable(err) && !store.IsAuthFailure(err) {
			return err
		}
		s.log.Warn("start-up waiting", slog.String("error", err.Error()), slog.Duration("retry_in", backoff))
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("start-up interrupted: %w", ctx.Err())
		case <-t.C:
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// storeOptions are the store's pools, retry policy and batching from cfg
// (and the test overrides in opts).
func storeOptions(cfg config.Config, opts Options, creds store.CredentialSource, log *slog.Logger) store.Options {
	o := store.Options{Retry: opts.Retry, Logger: log, Credentials: creds, KeyRetention: cfg.IdempotencyRetention,
		MaxConns: int32(cfg.DBPoolMaxConns), RelayConns: int32(cfg.DBRelayPoolMaxConns),
		BatchWorkers: batchWorkers(cfg.OrderBatchWorkers), BatchMaxWait: cfg.OrderBatchMaxWait}
	if o.BatchMaxWait == 0 {
		o.BatchMaxWait = -1 // ORDER_BATCH_MAX_WAIT=0: never wait
	}
	if opts.MaxConns > 0 {
		o.MaxConns = opts.MaxConns
	}
	return o
}

// batchWorkers maps ORDER_BATCH_WORKERS (0 = off) to store.Options.BatchWorkers (negative = off).
func batchWorkers(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// Package store persists orders and their outbox rows in PostgreSQL through
// pgx pools (writer and reader endpoints, and a small writer pool for the
// outbox relay and cleanup), retrying idempotent work across failovers and
// replacing only the connections that failed.
package store

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/trading-ha/trading-ha/app/rdsca"

	"github.com/trading-ha/trading-ha/app/internal/orders"
	"github.com/trading-ha/trading-ha/app/internal/retry"
)

// EventOrderPlaced is the outbox event type (and EventBridge DetailType).
const EventOrderPlaced = "OrderPlaced"

// Errors returned by Store methods.
var (
	// ErrNotFound means no such order.
	ErrNotFound = errors.New("order not found")
	// ErrKeyReused means the Idempotency-Key was already used (same session) for a different request.
	ErrKeyReused = errors.New("idempotency key reused with a different request")
)

// DSN describes how to reach one database endpoint. The password is not
// part of it: Options.Credentials supplies one per connection.
type DSN struct {
	Host, Database, User string
	Port                 int
	// SSLMode is "require" or "verify-full" (tests may use "disable").
	SSLMode string
	// RootCert is the CA bundle verify-full checks the server against: a
	// PEM file path, or rdsca.Builtin for the Amazon RDS bundle embedded
	// in the binary (app/rdsca).
	RootCert string
	// ReadWrite makes the pool reject servers in read-only mode
	// (target_session_attrs=read-write), so a writer pool never keeps talking
	// to a demoted instance after a failover.
	ReadWrite bool
}

// String renders a libpq URL (without a password).
func (d DSN) String() string {
	q := url.Values{}
	q.Set("sslmode", d.SSLMode)
	if d.RootCert != "" && d.RootCert != rdsca.Builtin {
		q.Set("sslrootcert", d.RootCert)
	}
	q.Set("connect_timeout", "5")
	q.Set("application_name", "trading-service")
	if d.ReadWrite {
		q.Set("target_session_attrs", "read-write")
	}
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(d.User),
		Host:     net.JoinHostPort(d.Host, strconv.Itoa(d.Port)),
		Path:     "/" + d.Database,
		RawQuery: q.Encode(),
	}
	return u.String()
}

// Options tune the store; zero values pick production defaults.
type Options struct {
	// MaxConns is the size of the writer pool and of the reader pool, each
	// (default DefaultMaxConns()).
	MaxConns int32
	// RelayConns is the size of the separate writer pool of the outbox
	// relay, the metrics and the cleanup (default DefaultRelayConns), so
	// background work neither waits behind requests nor delays them.
	RelayConns int32
	// WriteTimeout bounds an order write, retries included, once it has
	// started: a write whose caller went away (client disconnect) still
	// finishes within it (default the retry budget + 5s).
	WriteTimeout time.Duration
	// Retry is the policy for idempotent operations (default retry.Default).
	Retry retry.Policy
	// Logger receives retry and re-dial events.
	Logger *slog.Logger
	// Credentials supplies each new connection's password or IAM token (required).
	Credentials CredentialSource
	// KeyRetention is how long an idempotency key stays reserved (default 24h).
	KeyRetention time.Duration
	// BatchWorkers is how many order batches (group commit) may run at
	// once (default DefaultBatchWorkers; negative disables group commit:
	// one statement per order).
	BatchWorkers int
	// MaxBatch caps the orders per batch (default DefaultMaxBatch).
	MaxBatch int
	// BatchMaxWait bounds how long a batch waits for more orders while
	// another batch is in flight (default DefaultBatchMaxWait; negative:
	// never wait).
	BatchMaxWait time.Duration
}

// Store is the PostgreSQL-backed order store.
type Store struct {
	writer       *pgxpool.Pool
	reader       *pgxpool.Pool
	relayPool    *pgxpool.Pool
	writeTimeout time.Duration
	retry        retry.Policy
	log          *slog.Logger
	creds        CredentialSource
	auth         *authState
	retention    time.Duration

	batch     *batcher
	stopBatch chan struct{}
	batchWG   sync.WaitGroup

	abandonedWrites atomic.Int64
}

// Open creates the writer, reader and relay pools and starts the group
// commit workers (unless BatchWorkers is negative). It does not wait for
// the database: pools dial lazily, so the service can start (and report
// not ready) while the database is still unreachable.
func Open(ctx context.Context, writer, reader DSN, opts Options) (*Store, error) {
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns()
	}
	if opts.RelayConns <= 0 {
		opts.RelayConns = DefaultRelayConns
	}
	if opts.Retry.Attempts == 0 {
		opts.Retry = retry.Default
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = opts.Retry.Budget + 5*time.Second
		if opts.Retry.Budget <= 0 {
			opts.WriteTimeout = 20 * time.Second
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Credentials == nil {
		return nil, errors.New("open store: no credential source")
	}
	if opts.KeyRetention <= 0 {
		opts.KeyRetention = 24 * time.Hour
	}
	s := &Store{retry: opts.Retry, log: opts.Logger, creds: opts.Credentials, auth: &authState{}, retention: opts.KeyRetention,
		writeTimeout: opts.WriteTimeout}
	writer.ReadWrite = true
	w, err := s.newPool(ctx, writer, opts.MaxConns, "trading-service")
	if err != nil {
		return nil, fmt.Errorf("writer pool: %w", err)
	}
	r, err := s.newPool(ctx, reader, opts.MaxConns, "trading-service")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("reader pool: %w", err)
	}
	rp, err := s.newPool(ctx, writer, opts.RelayConns, "trading-relay")
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("relay pool: %w", err)
	}
	s.writer, s.reader, s.relayPool = w, r, rp
	if opts.BatchWorkers >= 0 {
		workers, maxBatch, maxWait := opts.BatchWorkers, opts.MaxBatch, opts.BatchMaxWait
		if workers == 0 {
			workers = DefaultBatchWorkers
		}
		if maxBatch <= 0 {
			maxBatch = DefaultMaxBatch
		}
		if maxWait == 0 {
			maxWait = DefaultBatchMaxWait
		}
		s.startBatcher(workers, maxBatch, max(maxWait, 0))
	}
	return s, nil
}

// trustBuiltin makes every TLS attempt of a parsed connection config
// (pgx tries fallbacks, each with its own tls.Config) verify the server
// against the embedded RDS bundle when the DSN asks for it.
func (d DSN) trustBuiltin(cc *pgconn.Config) error {
	if d.RootCert != rdsca.Builtin {
		return nil
	}
	pool, err := rdsca.Pool()
	if err != nil {
		return fmt.Errorf("database CA bundle: %w", err)
	}
	configs := []*tls.Config{cc.TLSConfig}
	for _, fb := range cc.Fallbacks {
		configs = append(configs, fb.TLSConfig)
	}
	verified := false
	for _, tc := range configs {
		if tc != nil {
			tc.RootCAs = pool
			verified = verified || !tc.InsecureSkipVerify
		}
	}
	if !verified {
		return fmt.Errorf("database CA bundle %q needs sslmode verify-full, got %q", d.RootCert, d.SSLMode)
	}
	return nil
}

func (s *Store) newPool(ctx context.Context, d DSN, maxConns int32, appName string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(d.String())
	if err != nil {
		// The parse error may echo the URL; do not wrap it verbatim.
		return nil, fmt.Errorf("invalid database settings for host %q: %w", d.Host, errors.Unwrap(err))
	}
	if err := d.trustBuiltin(&cfg.ConnConfig.Config); err != nil {
		return nil, err
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = appName
	cfg.MaxConns = maxConns
	cfg.MinConns = 0
	// Recycle connections so DNS changes (Aurora failover flips the cluster
	// endpoint's CNAME) are picked up even without errors.
	cfg.MaxConnLifetime = 15 * time.Minute
	cfg.MaxConnLifetimeJitter = 2 * time.Minute
	cfg.MaxConnIdleTime = 2 * time.Minute
	cfg.HealthCheckPeriod = 10 * time.Second
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	// A fresh credential for every new connection: IAM tokens expire after
	// 15 minutes and managed passwords rotate.
	cfg.BeforeConnect = func(ctx context.Context, cc *pgx.ConnConfig) error {
		pw, err := s.creds.Credential(ctx, cc.Host, int(cc.Port), cc.User)
		if err != nil {
			return fmt.Errorf("database credential: %w", err)
		}
		cc.Password = pw
		return nil
	}
	cfg.AfterConnect = func(context.Context, *pgx.Conn) error {
		s.auth.ok()
		return nil
	}
	(&connHealth{}).install(cfg)
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create pool for host %q: %w", d.Host, err)
	}
	return p, nil
}

// Close stops the batcher and closes the pools.
func (s *Store) Close() {
	if s.stopBatch != nil {
		close(s.stopBatch)
		s.batchWG.Wait()
		s.stopBatch = nil
	}
	s.writer.Close()
	s.reader.Close()
	s.relayPool.Close()
}

// Writer exposes the writer pool (tests inspect the database through it).
func (s *Store) Writer() *pgxpool.Pool { return s.writer }

// Migrate applies the embedded migrations under an advisory lock, retrying
// while the database is unreachable.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	var applied []string
	err := s.withRetry(ctx, "migrate", func(ctx context.Context) error {
		var err error
		applied, err = s.inTx(ctx, func(tx pgx.Tx) ([]string, error) { return migrate(ctx, tx) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return applied, nil
}

func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) ([]string, error)) ([]string, error) {
	tx, err := s.writer.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	out, err := fn(tx)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return out, nil
}

// observe records authentication failures (for liveness) and drops
// cached credentials so the next connection re-reads them. It returns err.
func (s *Store) observe(err error) error {
	if IsAuthFailure(err) {
		s.auth.fail(time.Now())
		s.creds.Invalidate()
	}
	return err
}

// AuthFailingSince is when the current streak of database authentication
// failures began (zero if the last connection attempt succeeded).
func (s *Store) AuthFailingSince() time.Time { return s.auth.failingSince() }

// withRetry runs fn under the store's retry policy. It never resets the
// pool: pgx drops the connection that broke, and connHealth makes the pool
// check (ping) or replace only the connections the error casts doubt on.
// An authentication failure invalidates the credential and is retried
// once (the credential may have just rotated).
func (s *Store) withRetry(ctx context.Context, op string, fn func(context.Context) error) error {
	authRetried := false
	inner := fn
	fn = func(ctx context.Context) error {
		err := s.observe(inner(ctx))
		if err != nil && IsAuthFailure(err) && !authRetried {
			authRetried = true
			err = s.observe(inner(ctx))
		}
		return err
	}
	return retry.Do(ctx, s.retry, func(attempt int, err error) {
		redial := retry.NeedsRedial(err)
		s.log.LogAttrs(ctx, slog.LevelWarn, "retrying database operation",
			slog.String("op", op), slog.Int("attempt", attempt), slog.Bool("redial", redial), slog.String("error", err.Error()))
	}, fn)
}

// CreateResult is the outcome of CreateOrder.
type CreateResult struct {
	// Order is the stored order (new or original).
	Order orders.Order
	// Created is false when the Idempotency-Key had already produced Order.
	Created bool
}

const orderColumns = `order_id::text, session_id, trader_id, idempotency_key, symbol, side, quantity,
	limit_price::text, status, synthetic, created_at`

func scanOrder(row pgx.Row, o *orders.Order) error {
	return row.Scan(&o.OrderID, &o.SessionID, &o.TraderID, &o.IdempotencyKey, &o.Symbol, &o.Side,
		&o.Quantity, &o.LimitPrice, &o.Status, &o.Synthetic, &o.CreatedAt)
}

// CreateOrder stores the order and its OrderPlaced outbox row atomically
// (one statement). The partial unique index on (trader_id, idempotency_key)
// WHERE key_active with INSERT ... ON CONFLICT DO NOTHING makes it race-safe
// per trader and across that trader's sessions: concurrent or repeated calls
// with the same key yield one order; later calls get the original
// (Created=false), or ErrKeyReused when the request differs. Because of that
// the whole operation is idempotent and is retried across failovers, even
// when a COMMIT's outcome was unknown.
func (s *Store) CreateOrder(ctx context.Context, traderID, sessionID, key string, req orders.Request) (CreateResult, error) {
	o := orders.Order{OrderID: uuid.NewString(), SessionID: sessionID, TraderID: traderID, IdempotencyKey: key,
		Symbol: req.Symbol, Side: req.Side, Quantity: req.Quantity, LimitPrice: req.LimitPrice,
		Status: orders.StatusAccepted, Synthetic: req.Synthetic, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	payload, err := eventPayload(o)
	if err != nil {
		return CreateResult{}, err
	}
	fp := req.Fingerprint(traderID)
	// Once started, the write does not depend on the caller: a client that
	// disconnects must not cancel a statement whose COMMIT may already be
	// on its way (pgx would close the connection and the outcome would be
	// unknown). It runs to completion within its own deadline instead.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.writeTimeout)
	defer cancel()
	var res CreateResult
	if s.batch != nil {
		res, err = s.batch.enqueue(wctx, &pendingOrder{o: o, fp: fp, payload: payload, done: make(chan batchResult, 1)})
	} else {
		err = s.withRetry(wctx, "create_order", func(ctx context.Context) error {
			var err error
			res, err = s.createOnce(ctx, o, fp, payload)
			return err
		})
		if err != nil {
			err = fmt.Errorf("create order: %w", err)
		}
	}
	if ctx.Err() != nil {
		s.abandoned(ctx, o, res, err)
	}
	if err != nil {
		return CreateResult{}, err
	}
	return res, nil
}

// abandoned records the outcome of an order write whose caller went away
// before it finished: the client never learns it, so the log must (the
// client's retry with the same key gets the same answer).
func (s *Store) abandoned(ctx context.Context, o orders.Order, res CreateResult, err error) {
	outcome := "created"
	switch {
	case errors.Is(err, ErrKeyReused):
		outcome = "key_reused"
	case err != nil:
		outcome = "failed"
	case !res.Created:
		outcome = "replayed"
	}
	s.abandonedWrites.Add(1)
	attrs := []slog.Attr{slog.String("outcome", outcome), slog.String("trader_id", o.TraderID),
		slog.String("order_id", res.Order.OrderID)}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	s.log.LogAttrs(context.WithoutCancel(ctx), slog.LevelWarn, "order write outlived its request", attrs...)
}

// AbandonedWrites counts order writes that finished after their caller
// had gone away (each is also logged with its outcome).
func (s *Store) AbandonedWrites() int64 { return s.abandonedWrites.Load() }

// CreateOrderSQL is the statement CreateOrder runs (scripts/bench runs the
// same one through pgbench).
const CreateOrderSQL = `WITH o AS (
		INSERT INTO orders (order_id, session_id, trader_id, idempotency_key, request_hash,
		                    symbol, side, quantity, limit_price, status, synthetic, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::numeric, $10, $11, $12)
		ON CONFLICT (trader_id, idempotency_key) WHERE key_active DO NOTHING
		RETURNING order_id)
	INSERT INTO outbox (order_id, event_type, payload)
	SELECT order_id, 'OrderPlaced', $13::jsonb FROM o
	RETURNING order_id::text`

func (s *Store) createOnce(ctx context.Context, o orders.Order, fp string, payload []byte) (CreateResult, error) {
	var id string
	err := s.writer.QueryRow(ctx, CreateOrderSQL,
		o.OrderID, o.SessionID, o.TraderID, o.IdempotencyKey, fp, o.Symbol, o.Side, o.Quantity, o.LimitPrice,
		o.Status, o.Synthetic, o.CreatedAt, string(payload)).Scan(&id)
	if err == nil {
		return CreateResult{Order: o, Created: true}, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return CreateResult{}, fmt.Errorf("insert order and outbox row: %w", err)
	}
	// The key exists: committed by an earlier request, a concurrent one
	// (ON CONFLICT waited for it), or our own earlier attempt whose
	// acknowledgement was lost.
	var existing orders.Order
	var hash string
	err = s.writer.QueryRow(ctx, `SELECT `+orderColumns+`, request_hash FROM orders
		WHERE trader_id = $1 AND idempotency_key = $2 AND key_active`, o.TraderID, o.IdempotencyKey).
		Scan(&existing.OrderID, &existing.SessionID, &existing.TraderID, &existing.IdempotencyKey, &existing.Symbol,
			&existing.Side, &existing.Quantity, &existing.LimitPrice, &existing.Status, &existing.Synthetic,
			&existing.CreatedAt, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		// Released by the janitor between the two statements: try again.
		return s.createOnce(ctx, o, fp, payload)
	}
	if err != nil {
		return CreateResult{}, fmt.Errorf("load existing order for key: %w", err)
	}
	if hash != fp {
		return CreateResult{}, ErrKeyReused
	}
	existing.LimitPrice = canonical(existing.LimitPrice)
	return CreateResult{Order: existing, Created: existing.OrderID == o.OrderID}, nil
}

func canonical(p string) string {
	if c, err := orders.CanonicalPrice(p); err == nil {
		return c
	}
	return p
}

// GetOrder reads an order from the reader pool, falling back to the writer
// when the reader is unavailable or does not have it yet (replica lag must
// not turn an acknowledged order into a 404).
func (s *Store) GetOrder(ctx context.Context, id string) (orders.Order, error) {
	if uuid.Validate(id) != nil {
		return orders.Order{}, ErrNotFound
	}
	readerPolicy := retry.Policy{Attempts: 2, Base: 20 * time.Millisecond, Max: 100 * time.Millisecond, Budget: 2 * time.Second}
	o, err := s.getFrom(ctx, s.reader, readerPolicy, id)
	if err == nil {
		return o, nil
	}
	if ctx.Err() != nil {
		return orders.Order{}, fmt.Errorf("get order: %w", ctx.Err())
	}
	if !errors.Is(err, ErrNotFound) {
		s.log.LogAttrs(ctx, slog.LevelWarn, "reader unavailable, falling back to writer", slog.String("error", err.Error()))
	}
	o, err = s.getFrom(ctx, s.writer, s.retry, id)
	if err != nil {
		return orders.Order{}, fmt.Errorf("get order: %w", s.observe(err))
	}
	return o, nil
}

func (s *Store) getFrom(ctx context.Context, pool *pgxpool.Pool, p retry.Policy, id string) (orders.Order, error) {
	var o orders.Order
	err := retry.Do(ctx, p, nil, func(ctx context.Context) error {
		err := scanOrder(pool.QueryRow(ctx, `SELECT `+orderColumns+` FROM orders WHERE order_id = $1`, id), &o)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	o.LimitPrice = canonical(o.LimitPrice)
	return o, err
}

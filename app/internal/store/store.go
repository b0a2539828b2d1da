// Package store persists orders and their outbox rows in PostgreSQL through
// two pgx pools (writer and reader endpoints), retrying idempotent work across
// failovers and re-dialling stale connections.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

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

// DSN describes how to reach one database endpoint.
type DSN struct {
	Host, Database, User, Password string
	Port                           int
	// SSLMode is "require" or "verify-full" (tests may use "disable").
	SSLMode string
	// RootCert is an optional PEM CA bundle path (needed by verify-full).
	RootCert string
	// ReadWrite makes the pool reject servers in read-only mode
	// (target_session_attrs=read-write), so a writer pool never keeps talking
	// to a demoted instance after a failover.
	ReadWrite bool
}

// String renders a libpq URL; it contains the password, so never log it.
func (d DSN) String() string {
	q := url.Values{}
	q.Set("sslmode", d.SSLMode)
	if d.RootCert != "" {
		q.Set("sslrootcert", d.RootCert)
	}
	q.Set("connect_timeout", "5")
	q.Set("application_name", "trading-service")
	if d.ReadWrite {
		q.Set("target_session_attrs", "read-write")
	}
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(d.User, d.Password),
		Host:     net.JoinHostPort(d.Host, strconv.Itoa(d.Port)),
		Path:     "/" + d.Database,
		RawQuery: q.Encode(),
	}
	return u.String()
}

// Options tune the store; zero values pick production defaults.
type Options struct {
	// MaxConns per pool (default 10).
	MaxConns int32
	// Retry is the policy for idempotent operations (default retry.Default).
	Retry retry.Policy
	// Logger receives retry and re-dial events.
	Logger *slog.Logger
}

// Store is the PostgreSQL-backed order store.
type Store struct {
	writer *pgxpool.Pool
	reader *pgxpool.Pool
	retry  retry.Policy
	log    *slog.Logger
}

// Open creates the writer and reader pools. It does not wait for the
// database: pools dial lazily, so the service can start (and report not
// ready) while the database is still unreachable.
func Open(ctx context.Context, writer, reader DSN, opts Options) (*Store, error) {
	if opts.MaxConns == 0 {
		opts.MaxConns = 10
	}
	if opts.Retry.Attempts == 0 {
		opts.Retry = retry.Default
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	writer.ReadWrite = true
	w, err := newPool(ctx, writer, opts.MaxConns)
	if err != nil {
		return nil, fmt.Errorf("writer pool: %w", err)
	}
	r, err := newPool(ctx, reader, opts.MaxConns)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("reader pool: %w", err)
	}
	return &Store{writer: w, reader: r, retry: opts.Retry, log: opts.Logger}, nil
}

func newPool(ctx context.Context, d DSN, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(d.String())
	if err != nil {
		// The parse error may echo the URL; do not wrap it verbatim.
		return nil, fmt.Errorf("invalid database settings for host %q: %w", d.Host, errors.Unwrap(err))
	}
	cfg.MaxConns = maxConns
	cfg.MinConns = 0
	// Recycle connections so DNS changes (Aurora failover flips the cluster
	// endpoint's CNAME) are picked up even without errors.
	cfg.MaxConnLifetime = 15 * time.Minute
	cfg.MaxConnLifetimeJitter = 2 * time.Minute
	cfg.MaxConnIdleTime = 2 * time.Minute
	cfg.HealthCheckPeriod = 10 * time.Second
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create pool for host %q: %w", d.Host, err)
	}
	return p, nil
}

// Close closes both pools.
func (s *Store) Close() {
	s.writer.Close()
	s.reader.Close()
}

// Writer exposes the writer pool (used by the outbox relay and tests).
func (s *Store) Writer() *pgxpool.Pool { return s.writer }

// Migrate applies the embedded migrations under an advisory lock, retrying
// while the database is unreachable.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	var applied []string
	err := s.withRetry(ctx, s.writer, "migrate", func(ctx context.Context) error {
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

// withRetry runs fn under the store's retry policy; before each retry it
// resets the pool when the error suggests stale connections.
func (s *Store) withRetry(ctx context.Context, pool *pgxpool.Pool, op string, fn func(context.Context) error) error {
	return retry.Do(ctx, s.retry, func(attempt int, err error) {
		redial := retry.NeedsRedial(err)
		if redial {
			pool.Reset()
		}
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

// CreateOrder stores the order and its OrderPlaced outbox row in one
// transaction. The (session_id, idempotency_key) unique constraint with
// INSERT ... ON CONFLICT DO NOTHING makes it race-safe: concurrent or repeated
// calls with the same key yield one order; later calls get the original
// (Created=false), or ErrKeyReused when the request differs. Because of that
// the whole transaction is idempotent and is retried across failovers, even
// when a COMMIT's outcome was unknown.
func (s *Store) CreateOrder(ctx context.Context, sessionID, traderID, key string, req orders.Request) (CreateResult, error) {
	newID := uuid.NewString()
	fp := req.Fingerprint()
	var res CreateResult
	err := s.withRetry(ctx, s.writer, "create_order", func(ctx context.Context) error {
		var err error
		res, err = s.createOnce(ctx, newID, sessionID, traderID, key, fp, req)
		return err
	})
	if err != nil {
		return CreateResult{}, fmt.Errorf("create order: %w", err)
	}
	return res, nil
}

func (s *Store) createOnce(ctx context.Context, newID, sessionID, traderID, key, fp string, req orders.Request) (CreateResult, error) {
	tx, err := s.writer.Begin(ctx)
	if err != nil {
		return CreateResult{}, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	var o orders.Order
	err = scanOrder(tx.QueryRow(ctx, `
		INSERT INTO orders (order_id, session_id, trader_id, idempotency_key, request_hash,
		                    symbol, side, quantity, limit_price, status, synthetic)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::numeric, $10, $11)
		ON CONFLICT (session_id, idempotency_key) DO NOTHING
		RETURNING `+orderColumns,
		newID, sessionID, traderID, key, fp, req.Symbol, req.Side, req.Quantity, req.LimitPrice,
		orders.StatusAccepted, req.Synthetic), &o)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		// The key exists: committed by an earlier request, a concurrent one
		// (ON CONFLICT waited for it), or our own earlier attempt whose
		// COMMIT acknowledgement was lost.
		var hash string
		err = tx.QueryRow(ctx, `SELECT `+orderColumns+`, request_hash FROM orders
			WHERE session_id = $1 AND idempotency_key = $2`, sessionID, key).
			Scan(&o.OrderID, &o.SessionID, &o.TraderID, &o.IdempotencyKey, &o.Symbol, &o.Side,
				&o.Quantity, &o.LimitPrice, &o.Status, &o.Synthetic, &o.CreatedAt, &hash)
		if err != nil {
			return CreateResult{}, fmt.Errorf("load existing order for key: %w", err)
		}
		if hash != fp {
			return CreateResult{}, ErrKeyReused
		}
		o.LimitPrice = canonical(o.LimitPrice)
		return CreateResult{Order: o, Created: o.OrderID == newID}, nil
	case err != nil:
		return CreateResult{}, fmt.Errorf("insert order: %w", err)
	}
	o.LimitPrice = canonical(o.LimitPrice)
	payload, err := eventPayload(o)
	if err != nil {
		return CreateResult{}, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO outbox (order_id, event_type, payload) VALUES ($1, $2, $3)`,
		o.OrderID, EventOrderPlaced, payload); err != nil {
		return CreateResult{}, fmt.Errorf("insert outbox row: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return CreateResult{}, fmt.Errorf("commit: %w", err)
	}
	return CreateResult{Order: o, Created: true}, nil
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
		return orders.Order{}, fmt.Errorf("get order: %w", err)
	}
	return o, nil
}

func (s *Store) getFrom(ctx context.Context, pool *pgxpool.Pool, p retry.Policy, id string) (orders.Order, error) {
	var o orders.Order
	err := retry.Do(ctx, p, func(_ int, err error) {
		if retry.NeedsRedial(err) {
			pool.Reset()
		}
	}, func(ctx context.Context) error {
		err := scanOrder(pool.QueryRow(ctx, `SELECT `+orderColumns+` FROM orders WHERE order_id = $1`, id), &o)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	o.LimitPrice = canonical(o.LimitPrice)
	return o, err
}

// Ping checks that the writer endpoint answers and is writable (not a
// demoted instance). It does not retry; readiness wants the current truth.
func (s *Store) Ping(ctx context.Context) error {
	var readOnly bool
	if err := s.writer.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&readOnly); err != nil {
		if retry.NeedsRedial(err) {
			s.writer.Reset()
		}
		return fmt.Errorf("writer: %w", err)
	}
	if readOnly {
		s.writer.Reset()
		return errors.New("writer endpoint is a read-only replica (failover in progress)")
	}
	return nil
}

package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/trading-ha/trading-ha/app/internal/orders"
)

// OutboxEvent is one claimed outbox row.
type OutboxEvent struct {
	// ID is the outbox row ID.
	ID int64
	// OrderID is the order the event describes (the consumers' dedupe key).
	OrderID string
	// Type is the event type, e.g. OrderPlaced.
	Type string
	// Payload is the event detail JSON (orders.Event).
	Payload []byte
	// Attempts counts earlier failed publication attempts.
	Attempts int
}

// PublishResult tells the store what happened to each claimed event.
type PublishResult struct {
	// Failed maps outbox IDs that were not published to the reason.
	// Every other claimed ID is marked published.
	Failed map[int64]string
	// Transient marks failures that say nothing about the row itself
	// (throttling, internal bus errors): they are retried with backoff but
	// do not count towards dead-lettering.
	Transient map[int64]bool
}

// Publisher publishes a batch of events, e.g. to EventBridge. It must honour
// ctx's deadline.
type Publisher func(ctx context.Context, batch []OutboxEvent) (PublishResult, error)

// RelayOptions shape one relay pass; zero values pick the defaults.
type RelayOptions struct {
	// Limit is how many rows one pass claims (default 100).
	Limit int
	// Chunk is the most events per Publisher call (default 10, EventBridge's
	// PutEvents maximum); a pass publishes its chunks concurrently.
	Chunk int
	// Lease is how long claimed rows stay invisible to other relays
	// (default 30s; must exceed PublishTimeout).
	Lease time.Duration
	// PublishTimeout bounds each bus call (default 10s).
	PublishTimeout time.Duration
	// MaxAttempts moves a row to outbox_dead_letter after that many
	// row-specific failures (default 10).
	MaxAttempts int
	// BackoffBase and BackoffMax shape the per-row retry delay: full jitter
	// on min(Max, Base*2^(attempts-1)) plus Base (defaults 1s and 5m).
	BackoffBase, BackoffMax time.Duration
}

func (o *RelayOptions) defaults() {
	if o.Limit <= 0 {
		o.Limit = 100
	}
	if o.Chunk <= 0 || o.Chunk > 10 {
		o.Chunk = 10
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = 10 * time.Second
	}
	if o.Lease <= o.PublishTimeout {
		o.Lease = max(30*time.Second, 2*o.PublishTimeout)
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 5 * time.Minute
	}
}

// RowBackoff is the delay before a row's next attempt after attempts failures.
func (o RelayOptions) RowBackoff(attempts int) time.Duration {
	o.defaults()
	ceil := o.BackoffBase
	for i := 1; i < attempts && ceil < o.BackoffMax; i++ {
		ceil *= 2
	}
	ceil = min(ceil, o.BackoffMax)
	return o.BackoffBase + time.Duration(rand.Int64N(int64(ceil)+1))
}

func eventPayload(o orders.Order) ([]byte, error) {
	b, err := json.Marshal(o.Event())
	if err != nil {
		return nil, fmt.Errorf("encode event payload: %w", err)
	}
	return b, nil
}

// RelayStats is the outcome of one relay pass.
type RelayStats struct {
	// Claimed, Published, Failed and DeadLettered count rows.
	Claimed, Published, Failed, DeadLettered int
}

// ErrPublishFailed is returned by RelayBatch when some claimed rows were not
// published (they are rescheduled).
var ErrPublishFailed = errors.New("some events were not published; they are rescheduled")

// RelayBatch runs one relay pass without holding a transaction or row locks
// while the bus is called:
//
//  1. claim: one autocommit UPDATE sets lease_until on up to Limit due rows
//     (published_at IS NULL, next_attempt_at <= now(), no live lease), chosen
//     with FOR UPDATE SKIP LOCKED in (next_attempt_at, id) order, RETURNING them;
//  2. publish with a PublishTimeout deadline;
//  3. settle: published rows get published_at; failed rows get a per-row
//     next_attempt_at (backoff) and, after MaxAttempts row-specific failures,
//     move to outbox_dead_letter.
//
// A crash between 2 and 3 republishes the rows when the lease runs out:
// delivery is at-least-once and consumers dedupe on order_id. Poison rows
// back off on their own schedule, so they never delay other rows.
func (s *Store) RelayBatch(ctx context.Context, opts RelayOptions, publish Publisher) (RelayStats, error) {
	opts.defaults()
	var st RelayStats
	rows, err := s.writer.Query(ctx, `UPDATE outbox SET lease_until = now() + make_interval(secs => $2::float8)
		WHERE id IN (SELECT id FROM outbox
		             WHERE published_at IS NULL AND next_attempt_at <= now()
		               AND (lease_until IS NULL OR lease_until < now())
		             ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
		RETURNING id, order_id::text, event_type, payload::text, attempts`, opts.Limit, opts.Lease.Seconds())
	if err != nil {
		return st, fmt.Errorf("claim outbox rows: %w", s.observe(err))
	}
	var batch []OutboxEvent
	for rows.Next() {
		var e OutboxEvent
		var payload string
		if err := rows.Scan(&e.ID, &e.OrderID, &e.Type, &payload, &e.Attempts); err != nil {
			rows.Close()
			return st, fmt.Errorf("scan outbox row: %w", err)
		}
		e.Payload = []byte(payload)
		batch = append(batch, e)
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("read claimed outbox rows: %w", s.observe(err))
	}
	st.Claimed = len(batch)
	if len(batch) == 0 {
		return st, nil
	}

	pubCtx, cancel := context.WithTimeout(ctx, opts.PublishTimeout)
	res, pubErr := publishChunks(pubCtx, batch, opts.Chunk, publish)
	cancel()
	// Settle even if ctx was cancelled (shutdown): a short, separate deadline.
	settleCtx, cancelSettle := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancelSettle()
	var sent []int64
	for _, e := range batch {
		reason, failed := res.Failed[e.ID]
		if !failed {
			sent = append(sent, e.ID)
			continue
		}
		st.Failed++
		attempts := e.Attempts
		if !res.Transient[e.ID] {
			attempts++
		}
		if attempts >= opts.MaxAttempts {
			if err := s.deadLetter(settleCtx, e.ID, attempts, reason); err != nil {
				return st, err
			}
			st.DeadLettered++
			continue
		}
		backoff := opts.RowBackoff(max(attempts, 1))
		if _, err := s.writer.Exec(settleCtx, `UPDATE outbox SET attempts = $2, last_error = $3, lease_until = NULL,
			next_attempt_at = now() + make_interval(secs => $4::float8) WHERE id = $1`, e.ID, attempts, truncate(reason, 500), backoff.Seconds()); err != nil {
			return st, fmt.Errorf("reschedule outbox row: %w", s.observe(err))
		}
	}
	if len(sent) > 0 {
		if _, err := s.writer.Exec(settleCtx, `UPDATE outbox SET published_at = now(), lease_until = NULL, last_error = NULL
			WHERE id = ANY($1)`, sent); err != nil {
			return st, fmt.Errorf("mark outbox rows published: %w", s.observe(err))
		}
	}
	st.Published = len(sent)
	if pubErr != nil && st.Published == 0 {
		return st, fmt.Errorf("publish: %w", pubErr)
	}
	if st.Failed > 0 {
		return st, ErrPublishFailed
	}
	return st, nil
}

// publishChunks publishes batch in chunks concurrently. Chunks whose call
// failed count as transient failures of their rows; the returned error is
// the first call error (nil if every call succeeded).
func publishChunks(ctx context.Context, batch []OutboxEvent, chunk int, publish Publisher) (PublishResult, error) {
	res := PublishResult{Failed: map[int64]string{}, Transient: map[int64]bool{}}
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		firstErr error
	)
	for start := 0; start < len(batch); start += chunk {
		part := batch[start:min(start+chunk, len(batch))]
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := publish(ctx, part)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				for _, e := range part {
					res.Failed[e.ID] = err.Error()
					res.Transient[e.ID] = true
				}
				return
			}
			maps.Copy(res.Failed, r.Failed)
			maps.Copy(res.Transient, r.Transient)
		}()
	}
	wg.Wait()
	return res, firstErr
}

func (s *Store) deadLetter(ctx context.Context, id int64, attempts int, reason string) error {
	_, err := s.writer.Exec(ctx, `WITH moved AS (DELETE FROM outbox WHERE id = $1
			RETURNING id, order_id, event_type, payload, created_at)
		INSERT INTO outbox_dead_letter (id, order_id, event_type, payload, created_at, attempts, last_error)
		SELECT id, order_id, event_type, payload, created_at, $2, $3 FROM moved
		ON CONFLICT (id) DO NOTHING`, id, attempts, truncate(reason, 500))
	if err != nil {
		return fmt.Errorf("dead-letter outbox row %d: %w", id, s.observe(err))
	}
	s.log.Warn("outbox row dead-lettered", "outbox_id", id, "attempts", attempts, "error", truncate(reason, 200))
	return nil
}

// PendingOutbox counts unpublished outbox rows.
func (s *Store) PendingOutbox(ctx context.Context) (int, error) {
	var n int
	if err := s.writer.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE published_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count pending outbox rows: %w", s.observe(err))
	}
	return n, nil
}

// OutboxMetrics are the figures the service publishes for alarms.
type OutboxMetrics struct {
	// Pending is the number of unpublished rows.
	Pending int64
	// OldestAgeSeconds is the age of the oldest unpublished row (0 if none).
	OldestAgeSeconds float64
	// DeadLetters is the number of rows in outbox_dead_letter.
	DeadLetters int64
}

// OutboxMetrics reads the outbox figures.
func (s *Store) OutboxMetrics(ctx context.Context) (OutboxMetrics, error) {
	var m OutboxMetrics
	err := s.writer.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM outbox WHERE published_at IS NULL),
		COALESCE((SELECT extract(epoch FROM now() - min(created_at))::float8 FROM outbox WHERE published_at IS NULL), 0),
		(SELECT count(*) FROM outbox_dead_letter)`).Scan(&m.Pending, &m.OldestAgeSeconds, &m.DeadLetters)
	if err != nil {
		return OutboxMetrics{}, fmt.Errorf("read outbox metrics: %w", s.observe(err))
	}
	return m, nil
}

// CleanupOptions shape one cleanup cycle; zero values pick the defaults.
type CleanupOptions struct {
	// OutboxRetention is how long published outbox rows are kept (default 24h).
	OutboxRetention time.Duration
	// Batch caps the rows one statement deletes or releases (default 5000),
	// so no statement holds many locks or runs long.
	Batch int
	// Budget bounds the cycle: no batch starts after it (default 20s). A
	// cycle that runs out of budget reports Remaining so the caller can
	// start the next cycle at once instead of waiting for its interval.
	Budget time.Duration
}

// CleanupStats is the outcome of one cleanup cycle.
type CleanupStats struct {
	// Deleted counts published outbox rows deleted.
	Deleted int64
	// Released counts idempotency keys released.
	Released int64
	// Batches counts the statements run.
	Batches int
	// Remaining is true when the budget ran out while batches were still
	// full: more rows are due.
	Remaining bool
}

// Cleanup deletes published outbox rows older than OutboxRetention and
// releases idempotency keys older than the key retention. It runs batches
// of at most Batch rows per table for as long as a batch comes back full
// and the budget lasts, so it keeps pace with any order rate rather than
// cleaning a fixed number of rows per cycle. Rows are picked with FOR
// UPDATE SKIP LOCKED: the housekeepers of several tasks running at once
// share the work instead of queueing on the same rows.
func (s *Store) Cleanup(ctx context.Context, opts CleanupOptions) (CleanupStats, error) {
	if opts.OutboxRetention <= 0 {
		opts.OutboxRetention = 24 * time.Hour
	}
	if opts.Batch <= 0 {
		opts.Batch = 5000
	}
	if opts.Budget <= 0 {
		opts.Budget = 20 * time.Second
	}
	var st CleanupStats
	deadline := time.Now().Add(opts.Budget)
	outboxDone, keysDone := false, false
	for !outboxDone || !keysDone {
		if time.Now().After(deadline) {
			st.Remaining = true
			return st, nil
		}
		if !outboxDone {
			tag, err := s.writer.Exec(ctx, `DELETE FROM outbox WHERE id IN (SELECT id FROM outbox
				WHERE published_at < now() - make_interval(secs => $1::float8)
				ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)`, opts.OutboxRetention.Seconds(), opts.Batch)
			if err != nil {
				return st, fmt.Errorf("delete published outbox rows: %w", s.observe(err))
			}
			st.Batches++
			st.Deleted += tag.RowsAffected()
			outboxDone = tag.RowsAffected() < int64(opts.Batch)
		}
		if !keysDone {
			tag, err := s.writer.Exec(ctx, `UPDATE orders SET key_active = false WHERE order_id IN (SELECT order_id FROM orders
				WHERE key_active AND created_at < now() - make_interval(secs => $1::float8)
				ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`, s.retention.Seconds(), opts.Batch)
			if err != nil {
				return st, fmt.Errorf("release idempotency keys: %w", s.observe(err))
			}
			st.Batches++
			st.Released += tag.RowsAffected()
			keysDone = tag.RowsAffected() < int64(opts.Batch)
		}
	}
	return st, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

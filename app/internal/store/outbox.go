package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
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
	// Transient counts the failed rows whose failure said nothing about
	// the row (bus-wide: throttling, 5xx, timeouts). A pass whose every
	// row failed transiently is a bus outage.
	Transient int
	// LeaseLost counts claimed rows this pass did not settle because its
	// lease had run out and another relay had claimed them since (they are
	// that relay's to settle).
	LeaseLost int
}

// Outage reports whether the pass published nothing and every failure was
// bus-wide: the relay should back off rather than poll.
func (st RelayStats) Outage() bool {
	return st.Published == 0 && st.Failed > 0 && st.Transient == st.Failed
}

// ErrPublishFailed is returned by RelayBatch when some claimed rows were not
// published (they are rescheduled).
var ErrPublishFailed = errors.New("some events were not published; they are rescheduled")

// relayClaimSQL leases up to $1 due rows for $2 seconds. Every row of one
// claim gets the same lease_until (now() is the statement's start), which
// is the claim's token: a later claim of the same rows, possible only once
// this lease ran out, sets a later value.
const relayClaimSQL = `UPDATE outbox SET lease_until = now() + make_interval(secs => $2::float8)
	WHERE id IN (SELECT id FROM outbox
	             WHERE published_at IS NULL AND next_attempt_at <= now()
	               AND (lease_until IS NULL OR lease_until < now())
	             ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
	RETURNING id, order_id::text, event_type, payload::text, attempts, lease_until`

// relaySettleSQL settles a whole pass in one statement: published rows get
// published_at, failed rows their attempts, reason and next_attempt_at, and
// rows out of attempts move to outbox_dead_letter — each only while
// lease_until still equals this pass's lease ($7).
const relaySettleSQL = `WITH s AS (
		SELECT * FROM unnest($1::bigint[], $2::boolean[], $3::int[], $4::text[], $5::float8[], $6::boolean[])
		    AS t(id, ok, attempts, reason, backoff, dead)),
	dead AS (
		DELETE FROM outbox o USING s
		WHERE o.id = s.id AND s.dead AND o.lease_until = $7
		RETURNING o.id, o.order_id, o.event_type, o.payload, o.created_at, s.attempts, s.reason),
	moved AS (
		INSERT INTO outbox_dead_letter (id, order_id, event_type, payload, created_at, attempts, last_error)
		SELECT id, order_id, event_type, payload, created_at, attempts, reason FROM dead
		ON CONFLICT (id) DO NOTHING),
	settled AS (
		UPDATE outbox o SET
		    published_at = CASE WHEN s.ok THEN now() END,
		    lease_until = NULL,
		    attempts = s.attempts,
		    last_error = CASE WHEN s.ok THEN NULL ELSE s.reason END,
		    next_attempt_at = CASE WHEN s.ok THEN o.next_attempt_at ELSE now() + make_interval(secs => s.backoff) END
		FROM s
		WHERE o.id = s.id AND NOT s.dead AND o.lease_until = $7
		RETURNING o.id, s.ok)
	SELECT id, CASE WHEN ok THEN 'published' ELSE 'rescheduled' END FROM settled
	UNION ALL SELECT id, 'dead' FROM dead`

// RelayBatch runs one relay pass without holding a transaction or row locks
// while the bus is called:
//
//  1. claim: one autocommit UPDATE sets lease_until on up to Limit due rows
//     (published_at IS NULL, next_attempt_at <= now(), no live lease), chosen
//     with FOR UPDATE SKIP LOCKED in (next_attempt_at, id) order, RETURNING them;
//  2. publish with a PublishTimeout deadline;
//  3. settle, in one statement, only the rows still holding this pass's
//     lease: published rows get published_at; failed rows get a per-row
//     next_attempt_at (backoff) and, after MaxAttempts row-specific
//     failures, move to outbox_dead_letter.
//
// A crash between 2 and 3 republishes the rows when the lease runs out:
// delivery is at-least-once and consumers dedupe on order_id. Poison rows
// back off on their own schedule, so they never delay other rows. A pass
// that outlived its lease settles nothing another relay has claimed since.
func (s *Store) RelayBatch(ctx context.Context, opts RelayOptions, publish Publisher) (RelayStats, error) {
	opts.defaults()
	var st RelayStats
	rows, err := s.relayPool.Query(ctx, relayClaimSQL, opts.Limit, opts.Lease.Seconds())
	if err != nil {
		return st, fmt.Errorf("claim outbox rows: %w", s.observe(err))
	}
	var (
		batch []OutboxEvent
		lease time.Time
	)
	for rows.Next() {
		var e OutboxEvent
		var payload string
		if err := rows.Scan(&e.ID, &e.OrderID, &e.Type, &payload, &e.Attempts, &lease); err != nil {
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

	n := len(batch)
	ids, ok, attempts, reasons, backoffs, dead := make([]int64, n), make([]bool, n), make([]int32, n), make([]string, n), make([]float64, n), make([]bool, n)
	for i, e := range batch {
		ids[i], attempts[i] = e.ID, int32(e.Attempts)
		reason, failed := res.Failed[e.ID]
		if !failed {
			ok[i] = true
			continue
		}
		st.Failed++
		if res.Transient[e.ID] {
			st.Transient++
		} else {
			attempts[i]++
		}
		reasons[i] = cleanReason(reason, 500)
		dead[i] = int(attempts[i]) >= opts.MaxAttempts
		backoffs[i] = opts.RowBackoff(max(int(attempts[i]), 1)).Seconds()
	}
	// Settle even if ctx was cancelled (shutdown): a short, separate deadline.
	settleCtx, cancelSettle := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancelSettle()
	settled, err := s.relayPool.Query(settleCtx, relaySettleSQL, ids, ok, attempts, reasons, backoffs, dead, lease)
	if err != nil {
		return st, fmt.Errorf("settle outbox rows: %w", s.observe(err))
	}
	var deadIDs []int64
	outcomes := 0
	for settled.Next() {
		var id int64
		var outcome string
		if err := settled.Scan(&id, &outcome); err != nil {
			settled.Close()
			return st, fmt.Errorf("scan settled outbox row: %w", err)
		}
		outcomes++
		switch outcome {
		case "published":
			st.Published++
		case "dead":
			st.DeadLettered++
			deadIDs = append(deadIDs, id)
		}
	}
	if err := settled.Err(); err != nil {
		return st, fmt.Errorf("settle outbox rows: %w", s.observe(err))
	}
	st.LeaseLost = n - outcomes
	for _, id := range deadIDs {
		s.log.Warn("outbox row dead-lettered", "outbox_id", id, "attempts", opts.MaxAttempts, "error", truncate(res.Failed[id], 200))
	}
	if st.LeaseLost > 0 {
		s.log.Warn("outbox lease lost before settling: another relay owns these rows now", "rows", st.LeaseLost)
	}
	if st.Failed > 0 {
		if pubErr != nil {
			return st, fmt.Errorf("%w: %w", ErrPublishFailed, pubErr)
		}
		return st, ErrPublishFailed
	}
	return st, nil
}

// cleanReason makes a failure reason storable: at most n bytes of valid
// UTF-8 without NUL characters (PostgreSQL text refuses both).
func cleanReason(reason string, n int) string {
	return strings.ToValidUTF8(strings.ReplaceAll(truncate(reason, n), "\x00", ""), "")
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

// PendingOutbox counts unpublished outbox rows.
func (s *Store) PendingOutbox(ctx context.Context) (int, error) {
	var n int
	if err := s.relayPool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE published_at IS NULL`).Scan(&n); err != nil {
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
	err := s.relayPool.QueryRow(ctx, `SELECT
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

// cleanupOutboxSQL deletes up to $2 published outbox rows older than $1
// seconds. It walks the primary key from the oldest row, and stops at the
// first row created after the cutoff: a row is published after it is
// created (the relay settles it in a later transaction, on the same
// server clock), so no row beyond that point can qualify. Without that
// bound a cycle that finds fewer than a batch of due rows, which every
// cycle ends with, would walk every retained row (a day of orders) once a
// minute; with it, the walk is the due rows and the few that wait
// unpublished. A row created out of id order beyond the bound waits for
// the next cycle.
const cleanupOutboxSQL = `DELETE FROM outbox WHERE id IN (SELECT id FROM outbox
	WHERE published_at < now() - make_interval(secs => $1::float8)
	  AND id < COALESCE((SELECT id FROM outbox WHERE created_at >= now() - make_interval(secs => $1::float8)
	                     ORDER BY id LIMIT 1), 9223372036854775807)
	ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)`

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
			tag, err := s.relayPool.Exec(ctx, cleanupOutboxSQL, opts.OutboxRetention.Seconds(), opts.Batch)
			if err != nil {
				return st, fmt.Errorf("delete published outbox rows: %w", s.observe(err))
			}
			st.Batches++
			st.Deleted += tag.RowsAffected()
			outboxDone = tag.RowsAffected() < int64(opts.Batch)
		}
		if !keysDone {
			tag, err := s.relayPool.Exec(ctx, `UPDATE orders SET key_active = false WHERE order_id IN (SELECT order_id FROM orders
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

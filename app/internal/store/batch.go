package store

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trading-ha/trading-ha/app/internal/orders"
	"github.com/trading-ha/trading-ha/app/internal/retry"
)

// Group commit defaults (see Options).
const (
	// DefaultBatchWorkers is how many batches may run at once.
	DefaultBatchWorkers = 4
	// DefaultMaxBatch caps the orders of one batch.
	DefaultMaxBatch = 64
	// DefaultBatchMaxWait bounds how long a batch waits for company.
	DefaultBatchMaxWait = 500 * time.Microsecond
)

// CreateOrdersSQL inserts a batch of orders and their outbox rows in one
// statement (one transaction, one commit) and returns the IDs of the orders
// it created. A row whose (trader_id, idempotency_key) is already taken —
// by an earlier order, a concurrent one or an earlier row of the same batch
// (rows are inserted in batch order) — is skipped; ResolveKeysSQL then
// answers all such rows in one query. The statement itself stays as cheap
// as a plain insert: answering replays in it (a join against orders) cost
// more than the whole insert.
const CreateOrdersSQL = `WITH input AS (
		SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
		                     $8::bigint[], $9::numeric[], $10::boolean[], $11::timestamptz[], $12::jsonb[])
		    WITH ORDINALITY AS t(order_id, session_id, trader_id, idempotency_key, request_hash, symbol, side, quantity,
		                         limit_price, synthetic, created_at, payload, n)),
	o AS (
		INSERT INTO orders (order_id, session_id, trader_id, idempotency_key, request_hash,
		                    symbol, side, quantity, limit_price, status, synthetic, created_at)
		SELECT order_id, session_id, trader_id, idempotency_key, request_hash, symbol, side, quantity, limit_price,
		       'accepted', synthetic, created_at FROM input ORDER BY n
		ON CONFLICT (trader_id, idempotency_key) WHERE key_active DO NOTHING
		RETURNING order_id)
	INSERT INTO outbox (order_id, event_type, payload)
	SELECT i.order_id, 'OrderPlaced', i.payload FROM input i JOIN o USING (order_id)
	RETURNING order_id::text`

// ResolveKeysSQL looks up, in one query, the orders holding the given
// (trader_id, idempotency_key) pairs; n is the pair's 1-based position.
const ResolveKeysSQL = `SELECT i.n, ` + existingColumns + `
	FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS i(trader_id, idempotency_key, n)
	CROSS JOIN LATERAL (SELECT * FROM orders e
		WHERE e.trader_id = i.trader_id AND e.idempotency_key = i.idempotency_key AND e.key_active) e`

// existingColumns are the columns of an existing order e (NULL when none).
const existingColumns = `e.order_id::text, e.session_id, e.trader_id, e.idempotency_key, e.symbol, e.side,
	e.quantity, e.limit_price::text, e.status, e.synthetic, e.created_at, e.request_hash`

// pendingOrder is one CreateOrder call waiting for a batch.
type pendingOrder struct {
	o       orders.Order
	fp      string
	payload []byte
	queued  time.Time
	done    chan batchResult
}

type batchResult struct {
	res CreateResult
	err error
}

// BatchStats count the group commit's work since the store opened.
type BatchStats struct {
	// Batches is the number of batch statements committed or failed.
	Batches int64
	// Orders is the number of orders they carried.
	Orders int64
}

// batcher is application-level group commit: concurrent CreateOrder calls
// share one statement, one transaction and one commit (one WAL flush). A
// worker takes the oldest waiting order and everything queued behind it.
// When another batch is already in flight, a new one could not commit
// before that batch's WAL flush anyway, so the worker waits for company
// until the oldest order has waited maxWait or the batch is full; with no
// batch in flight it starts at once. A lone order is therefore delayed by
// at most maxWait, and only when the database is busy with another batch.
type batcher struct {
	s       *Store
	queue   chan *pendingOrder
	max     int
	maxWait time.Duration
	running atomic.Int32
	batches atomic.Int64
	orders  atomic.Int64
}

func (s *Store) startBatcher(workers, maxBatch int, maxWait time.Duration) {
	b := &batcher{s: s, queue: make(chan *pendingOrder, 4*maxBatch*workers), max: maxBatch, maxWait: maxWait}
	s.batch = b
	s.stopBatch = make(chan struct{})
	for range workers {
		s.batchWG.Add(1)
		go func() {
			defer s.batchWG.Done()
			b.work(s.stopBatch)
		}()
	}
}

// BatchStats reports the group commit's counters (zero when it is off).
func (s *Store) BatchStats() BatchStats {
	if s.batch == nil {
		return BatchStats{}
	}
	return BatchStats{Batches: s.batch.batches.Load(), Orders: s.batch.orders.Load()}
}

func (b *batcher) work(stop <-chan struct{}) {
	for {
		var first *pendingOrder
		select {
		case <-stop:
			// Finish what was queued before the store closes.
			for {
				select {
				case p := <-b.queue:
					b.run([]*pendingOrder{p})
				default:
					return
				}
			}
		case first = <-b.queue:
		}
		batch := b.fill([]*pendingOrder{first})
		b.running.Add(1)
		b.run(batch)
		b.running.Add(-1)
	}
}

// fill adds queued orders to batch, waiting for more (see batcher) when
// another batch is in flight.
func (b *batcher) fill(batch []*pendingOrder) []*pendingOrder {
	for len(batch) < b.max {
		select {
		case p := <-b.queue:
			batch = append(batch, p)
			continue
		default:
		}
		wait := b.maxWait - time.Since(batch[0].queued)
		if wait <= 0 || b.running.Load() == 0 {
			return batch
		}
		t := time.NewTimer(wait)
		select {
		case p := <-b.queue:
			t.Stop()
			batch = append(batch, p)
		case <-t.C:
			return batch
		}
	}
	return batch
}

// run executes one batch and answers each of its orders. The statement is
// idempotent (keys make replays no-ops), so it is retried as a whole across
// failovers; orders it did not create are answered from the existing order
// holding their key, looked up in the same statement or, for keys taken by
// concurrent transactions or by an earlier order of the same batch, in one
// query after the commit.
func (b *batcher) run(batch []*pendingOrder) {
	b.batches.Add(1)
	b.orders.Add(int64(len(batch)))
	// The batch outlives any single caller's context: a caller that gives
	// up does not cancel its neighbours' orders.
	ctx, cancel := context.WithTimeout(context.Background(), b.s.writeTimeout)
	defer cancel()
	results, err := b.s.createBatch(ctx, batch)
	if err != nil && len(batch) > 1 && !retry.Unavailable(err) && !IsAuthFailure(err) && ctx.Err() == nil {
		// One row may be at fault (a constraint): isolate it.
		for _, p := range batch {
			b.run([]*pendingOrder{p})
		}
		return
	}
	for i, p := range batch {
		if err != nil {
			p.done <- batchResult{err: fmt.Errorf("create order: %w", err)}
			continue
		}
		p.done <- results[i]
	}
}

// createBatch writes batch and answers each order (index-aligned).
func (s *Store) createBatch(ctx context.Context, batch []*pendingOrder) ([]batchResult, error) {
	n := len(batch)
	ids, sids, tids, keys, fps := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	syms, sides, prices, payloads := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	qtys, synth, created := make([]int64, n), make([]bool, n), make([]time.Time, n)
	for i, p := range batch {
		o := p.o
		ids[i], sids[i], tids[i], keys[i], fps[i] = o.OrderID, o.SessionID, o.TraderID, o.IdempotencyKey, p.fp
		syms[i], sides[i], prices[i], payloads[i] = o.Symbol, o.Side, o.LimitPrice, string(p.payload)
		qtys[i], synth[i], created[i] = o.Quantity, o.Synthetic, o.CreatedAt
	}
	inserted := make(map[string]bool, n)
	err := s.withRetry(ctx, "create_orders", func(ctx context.Context) error {
		rows, err := s.writer.Query(ctx, CreateOrdersSQL, ids, sids, tids, keys, fps, syms, sides, qtys, prices, synth, created, payloads)
		if err != nil {
			return err
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, id := range got {
			inserted[id] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	results := make([]batchResult, n)
	var open []int
	for i, p := range batch {
		if inserted[p.o.OrderID] {
			results[i] = batchResult{res: CreateResult{Order: p.o, Created: true}}
		} else {
			open = append(open, i)
		}
	}
	if len(open) == 0 {
		return results, nil
	}
	// The keys are taken: by earlier orders (replays or reuses), by
	// concurrent transactions (ON CONFLICT waited for them), by an earlier
	// row of this batch, or by this batch's own earlier attempt whose
	// commit was acknowledged too late. One query answers them all.
	sub := make([]*pendingOrder, len(open))
	ot, ok := make([]string, len(open)), make([]string, len(open))
	for j, i := range open {
		sub[j], ot[j], ok[j] = batch[i], tids[i], keys[i]
	}
	subResults, answered := make([]batchResult, len(open)), make([]bool, len(open))
	err = s.withRetry(ctx, "resolve_keys", func(ctx context.Context) error {
		clear(answered)
		rows, err := s.writer.Query(ctx, ResolveKeysSQL, ot, ok)
		if err != nil {
			return err
		}
		return answer(rows, sub, subResults, answered)
	})
	if err != nil {
		return nil, err
	}
	var again []*pendingOrder
	var againIdx []int
	for j, i := range open {
		if answered[j] {
			results[i] = subResults[j]
		} else {
			// Released by the janitor in between (past the retention):
			// the key is free again.
			again, againIdx = append(again, batch[i]), append(againIdx, i)
		}
	}
	if len(again) > 0 {
		if ctx.Value(resolveDepth{}) != nil {
			return nil, errors.New("idempotency keys neither insertable nor found")
		}
		reRes, err := s.createBatch(context.WithValue(ctx, resolveDepth{}, true), again)
		if err != nil {
			return nil, err
		}
		for j, i := range againIdx {
			results[i] = reRes[j]
		}
	}
	return results, nil
}

// resolveDepth marks a createBatch retrying keys the janitor released
// between its insert and its lookup (it retries once).
type resolveDepth struct{}

// answer reads ResolveKeysSQL rows into results: replays (the existing
// order, same fingerprint) and reused keys (ErrKeyReused).
func answer(rows pgx.Rows, batch []*pendingOrder, results []batchResult, answered []bool) error {
	defer rows.Close()
	for rows.Next() {
		var (
			n    int64
			e    orders.Order
			hash string
		)
		if err := rows.Scan(&n, &e.OrderID, &e.SessionID, &e.TraderID, &e.IdempotencyKey, &e.Symbol, &e.Side, &e.Quantity,
			&e.LimitPrice, &e.Status, &e.Synthetic, &e.CreatedAt, &hash); err != nil {
			return fmt.Errorf("read existing order: %w", err)
		}
		i := int(n) - 1
		if i < 0 || i >= len(batch) {
			return fmt.Errorf("existing order row %d out of range", n)
		}
		p := batch[i]
		if hash != p.fp {
			results[i], answered[i] = batchResult{err: ErrKeyReused}, true
			continue
		}
		e.LimitPrice = canonical(e.LimitPrice)
		// Our own earlier attempt (a retried statement whose commit was
		// acknowledged too late) counts as created.
		results[i], answered[i] = batchResult{res: CreateResult{Order: e, Created: e.OrderID == p.o.OrderID}}, true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read existing orders: %w", err)
	}
	return nil
}

// enqueue hands p to the batcher and waits for its result. ctx is the
// write's own context (CreateOrder detaches it from the caller), so an
// order once queued is always answered: the batch carries it through.
func (b *batcher) enqueue(ctx context.Context, p *pendingOrder) (CreateResult, error) {
	p.queued = time.Now()
	select {
	case b.queue <- p:
	case <-ctx.Done():
		return CreateResult{}, fmt.Errorf("create order: %w", ctx.Err())
	}
	select {
	case r := <-p.done:
		return r.res, r.err
	case <-ctx.Done():
		return CreateResult{}, fmt.Errorf("create order: %w", ctx.Err())
	}
}

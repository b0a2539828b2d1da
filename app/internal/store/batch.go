package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trading-ha/trading-ha/app/internal/orders"
	"github.com/trading-ha/trading-ha/app/internal/retry"
)

// CreateOrdersSQL inserts a batch of orders and their outbox rows in one
// statement (one transaction, one commit). Rows whose (trader_id,
// idempotency_key) is already taken — by an earlier order or an earlier row
// of the same batch — are skipped and reported missing from the result.
const CreateOrdersSQL = `WITH input AS (
		SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
		                     $8::bigint[], $9::numeric[], $10::boolean[], $11::timestamptz[], $12::jsonb[])
		    AS t(order_id, session_id, trader_id, idempotency_key, request_hash, symbol, side, quantity, limit_price,
		         synthetic, created_at, payload)),
	o AS (
		INSERT INTO orders (order_id, session_id, trader_id, idempotency_key, request_hash,
		                    symbol, side, quantity, limit_price, status, synthetic, created_at)
		SELECT order_id, session_id, trader_id, idempotency_key, request_hash, symbol, side, quantity, limit_price,
		       'accepted', synthetic, created_at FROM input
		ON CONFLICT (trader_id, idempotency_key) WHERE key_active DO NOTHING
		RETURNING order_id)
	INSERT INTO outbox (order_id, event_type, payload)
	SELECT i.order_id, 'OrderPlaced', i.payload FROM input i JOIN o USING (order_id)
	RETURNING order_id::text`

// pendingOrder is one CreateOrder call waiting for a batch.
type pendingOrder struct {
	o       orders.Order
	fp      string
	payload []byte
	done    chan batchResult
}

type batchResult struct {
	res CreateResult
	err error
}

// batcher groups concurrent CreateOrder calls into one statement
// (application-level group commit). A worker takes the first waiting call
// and whatever else is already queued (up to max), so an idle service adds
// no latency and a busy one does fewer round trips and commits per order.
type batcher struct {
	s     *Store
	queue chan *pendingOrder
	max   int
}

func (s *Store) startBatcher(workers, maxBatch int) {
	b := &batcher{s: s, queue: make(chan *pendingOrder, 4*maxBatch*workers), max: maxBatch}
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

func (b *batcher) work(stop <-chan struct{}) {
	for {
		var first *pendingOrder
		select {
		case <-stop:
			return
		case first = <-b.queue:
		}
		batch := []*pendingOrder{first}
	fill:
		for len(batch) < b.max {
			select {
			case p := <-b.queue:
				batch = append(batch, p)
			default:
				break fill
			}
		}
		b.run(batch)
	}
}

// run executes one batch under the retry policy. The statement is
// idempotent (keys make replays no-ops), so it is retried as a whole across
// failovers; rows it did not insert are resolved one by one.
func (b *batcher) run(batch []*pendingOrder) {
	// The batch outlives any single caller's context: a caller that gives
	// up does not cancel its neighbours' orders.
	ctx, cancel := context.WithTimeout(context.Background(), b.s.retry.Budget+5*time.Second)
	defer cancel()
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
	inserted := map[string]bool{}
	err := b.s.withRetry(ctx, "create_orders", func(ctx context.Context) error {
		rows, err := b.s.writer.Query(ctx, CreateOrdersSQL, ids, sids, tids, keys, fps, syms, sides, qtys, prices, synth, created, payloads)
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
	if err != nil && n > 1 && !retry.Unavailable(err) && !IsAuthFailure(err) && ctx.Err() == nil {
		// One row may be at fault (a constraint): isolate it.
		for _, p := range batch {
			b.run([]*pendingOrder{p})
		}
		return
	}
	for _, p := range batch {
		if err != nil {
			p.done <- batchResult{err: fmt.Errorf("create order: %w", err)}
			continue
		}
		if inserted[p.o.OrderID] {
			p.done <- batchResult{res: CreateResult{Order: p.o, Created: true}}
			continue
		}
		var res CreateResult
		rerr := b.s.withRetry(ctx, "create_order", func(ctx context.Context) error {
			var err error
			res, err = b.s.createOnce(ctx, p.o, p.fp, p.payload)
			return err
		})
		if rerr != nil {
			rerr = fmt.Errorf("create order: %w", rerr)
		}
		p.done <- batchResult{res: res, err: rerr}
	}
}

// enqueue hands p to the batcher and waits for its result or ctx.
func (b *batcher) enqueue(ctx context.Context, p *pendingOrder) (CreateResult, error) {
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

package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/trading-ha/trading-ha/app/internal/orders"
)

// KeyedOrder is an order found by its idempotency key, with the fingerprint
// (orders.Request.Fingerprint) of the request that created it.
type KeyedOrder struct {
	// Order is the stored order.
	Order orders.Order
	// RequestHash is the creating request's fingerprint: equal to a new
	// request's fingerprint means a replay, different means the key is reused.
	RequestHash string
}

// findByKeySQL reads the order an active key names. It is served by the
// partial unique index on (trader_id, idempotency_key) WHERE key_active.
const findByKeySQL = `SELECT order_id::text, session_id, trader_id, idempotency_key, symbol, side, quantity,
	limit_price::text, status, synthetic, created_at, request_hash
	FROM orders WHERE trader_id = $1 AND idempotency_key = $2 AND key_active`

// FindByKey returns the order traderID placed with idempotency key key
// while the key is still reserved (IDEMPOTENCY_RETENTION), or ErrNotFound.
// It reads the writer, so an order acknowledged a moment ago is found
// (replica lag must not turn an accepted order into a refusal), and it is
// retried across failovers like every read.
func (s *Store) FindByKey(ctx context.Context, traderID, key string) (KeyedOrder, error) {
	var k KeyedOrder
	err := s.withRetry(ctx, "find_by_key", func(ctx context.Context) error {
		o := &k.Order
		err := s.writer.QueryRow(ctx, findByKeySQL, traderID, key).Scan(&o.OrderID, &o.SessionID, &o.TraderID,
			&o.IdempotencyKey, &o.Symbol, &o.Side, &o.Quantity, &o.LimitPrice, &o.Status, &o.Synthetic, &o.CreatedAt,
			&k.RequestHash)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return KeyedOrder{}, ErrNotFound
	}
	if err != nil {
		return KeyedOrder{}, fmt.Errorf("find order by idempotency key: %w", err)
	}
	if p, err := orders.CanonicalPrice(k.Order.LimitPrice); err == nil {
		k.Order.LimitPrice = p
	}
	return k, nil
}

package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/trading-ha/trading-ha/app/internal/orders"
)

// OutboxEvent is one unpublished outbox row.
type OutboxEvent struct {
	// ID is the outbox row ID.
	ID int64
	// OrderID is the order the event describes (the consumers' dedupe key).
	OrderID string
	// Type is the event type, e.g. OrderPlaced.
	Type string
	// Payload is the event detail JSON (the order).
	Payload []byte
}

// PublishResult tells the store what happened to each claimed event.
type PublishResult struct {
	// Failed maps outbox IDs that were not published to the reason.
	// Every other claimed ID is marked published.
	Failed map[int64]string
}

// Publisher publishes a batch of events, e.g. to EventBridge.
type Publisher func(ctx context.Context, batch []OutboxEvent) (PublishResult, error)

func eventPayload(o orders.Order) ([]byte, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("encode event payload: %w", err)
	}
	return b, nil
}

// RelayBatch claims up to limit unpublished outbox rows with
// FOR UPDATE SKIP LOCKED (so several tasks can relay concurrently without
// publishing the same row at the same time), hands them to publish and marks
// the successful ones published in the same transaction. If the transaction
// fails after publishing, the rows are published again later: delivery is
// at-least-once and consumers dedupe on order_id. It returns how many rows
// were marked published.
func (s *Store) RelayBatch(ctx context.Context, limit int, publish Publisher) (int, error) {
	tx, err := s.writer.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("relay begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	rows, err := tx.Query(ctx, `SELECT id, order_id::text, event_type, payload::text FROM outbox
		WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
	if err != nil {
		return 0, fmt.Errorf("claim outbox rows: %w", err)
	}
	var batch []OutboxEvent
	for rows.Next() {
		var e OutboxEvent
		var payload string
		if err := rows.Scan(&e.ID, &e.OrderID, &e.Type, &payload); err != nil {
			rows.Close()
			return 0, fmt.Errorf("scan outbox row: %w", err)
		}
		e.Payload = []byte(payload)
		batch = append(batch, e)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read outbox rows: %w", err)
	}
	if len(batch) == 0 {
		return 0, nil
	}
	res, pubErr := publish(ctx, batch)
	if pubErr != nil {
		res.Failed = make(map[int64]string, len(batch))
		for _, e := range batch {
			res.Failed[e.ID] = pubErr.Error()
		}
	}
	var sent []int64
	for _, e := range batch {
		if reason, failed := res.Failed[e.ID]; failed {
			if _, err := tx.Exec(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1`,
				e.ID, truncate(reason, 500)); err != nil {
				return 0, fmt.Errorf("record publish failure: %w", err)
			}
			continue
		}
		sent = append(sent, e.ID)
	}
	if len(sent) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE outbox SET published_at = now(), attempts = attempts + 1, last_error = NULL
			WHERE id = ANY($1)`, sent); err != nil {
			return 0, fmt.Errorf("mark outbox rows published: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("relay commit: %w", err)
	}
	if pubErr != nil {
		return len(sent), fmt.Errorf("publish: %w", pubErr)
	}
	if len(sent) < len(batch) {
		return len(sent), errors.New("some events were not published; they will be retried")
	}
	return len(sent), nil
}

// PendingOutbox counts unpublished outbox rows.
func (s *Store) PendingOutbox(ctx context.Context) (int, error) {
	var n int
	if err := s.writer.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE published_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count pending outbox rows: %w", err)
	}
	return n, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Package events relays committed outbox rows to Amazon EventBridge.
package events

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/trading-ha/trading-ha/app/internal/store"
)

// Event envelope values (see CONTRACT.md).
const (
	// Source of every event the service publishes.
	Source = "trading.orders"
	// MaxBatch is EventBridge's PutEvents entry limit.
	MaxBatch = 10
)

// PutEventsAPI is the subset of the EventBridge client used.
type PutEventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Publisher returns a store.Publisher that sends a batch to bus with one
// PutEvents call, reporting per-entry failures.
func Publisher(api PutEventsAPI, bus string) store.Publisher {
	return func(ctx context.Context, batch []store.OutboxEvent) (store.PublishResult, error) {
		entries := make([]types.PutEventsRequestEntry, len(batch))
		for i, e := range batch {
			entries[i] = types.PutEventsRequestEntry{
				EventBusName: aws.String(bus),
				Source:       aws.String(Source),
				DetailType:   aws.String(e.Type),
				Detail:       aws.String(string(e.Payload)),
				Resources:    []string{},
			}
		}
		out, err := api.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil {
			return store.PublishResult{}, fmt.Errorf("put events: %w", err)
		}
		res := store.PublishResult{Failed: map[int64]string{}}
		if out.FailedEntryCount > 0 {
			for i, r := range out.Entries {
				if i < len(batch) && r.ErrorCode != nil {
					res.Failed[batch[i].ID] = aws.ToString(r.ErrorCode) + ": " + aws.ToString(r.ErrorMessage)
				}
			}
			// Entries must match the request one to one; if they do not,
			// treat the whole batch as failed rather than guess.
			if len(out.Entries) != len(batch) {
				for _, e := range batch {
					res.Failed[e.ID] = "PutEvents reported failures without matching entries"
				}
			}
		}
		return res, nil
	}
}

// Relay moves outbox rows to the bus until its context ends.
type Relay struct {
	// Store holds the outbox.
	Store *store.Store
	// Publish sends batches (see Publisher).
	Publish store.Publisher
	// Interval is the idle poll interval (default 1s).
	Interval time.Duration
	// Logger receives relay progress and errors.
	Logger *slog.Logger

	wake chan struct{}
}

// NewRelay returns a relay with defaults applied.
func NewRelay(s *store.Store, publish store.Publisher, logger *slog.Logger) *Relay {
	return &Relay{Store: s, Publish: publish, Interval: time.Second, Logger: logger, wake: make(chan struct{}, 1)}
}

// Notify asks the relay to look for new rows now (after an order commit)
// instead of waiting for the next poll. It never blocks.
func (r *Relay) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run relays until ctx is cancelled. Errors (database failover, bus
// throttling) are logged and retried with jittered backoff; they never stop
// the loop.
func (r *Relay) Run(ctx context.Context) {
	backoff := time.Duration(0)
	for {
		n, err := r.Store.RelayBatch(ctx, MaxBatch, r.Publish)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
			r.Logger.LogAttrs(ctx, slog.LevelWarn, "outbox relay error", slog.String("error", err.Error()),
				slog.Int("published", n), slog.Duration("backoff", backoff))
			if !r.sleep(ctx, time.Duration(rand.Int64N(int64(backoff)))+backoff/2, false) {
				return
			}
			continue
		case n > 0:
			backoff = 0
			r.Logger.LogAttrs(ctx, slog.LevelDebug, "outbox rows published", slog.Int("count", n))
			if n == MaxBatch {
				continue // more may be waiting
			}
		}
		backoff = 0
		if !r.sleep(ctx, r.Interval, true) {
			return
		}
	}
}

func (r *Relay) sleep(ctx context.Context, d time.Duration, wakeable bool) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	var wake <-chan struct{}
	if wakeable {
		wake = r.wake
	}
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-wake:
	}
	return true
}

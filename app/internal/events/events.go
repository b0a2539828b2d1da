// Package events relays committed outbox rows to Amazon EventBridge.
package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/trading-ha/trading-ha/app/internal/store"
)

// Event envelope values (see CONTRACT.md).
const (
	// Source of every event the service publishes.
	Source = "trading.orders"
	// MaxBatch is EventBridge's PutEvents entry limit.
	MaxBatch = 10
	// ClaimLimit is how many outbox rows one relay pass claims; they are
	// published in MaxBatch chunks concurrently.
	ClaimLimit = 100
)

// PutEventsAPI is the subset of the EventBridge client used.
type PutEventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// transientEntryCodes are PutEvents per-entry error codes that say nothing
// about the entry itself.
var transientEntryCodes = map[string]bool{"InternalFailure": true, "ThrottlingException": true, "InternalException": true}

// Publisher returns a store.Publisher that sends a batch to bus with one
// PutEvents call, reporting per-entry failures. When the whole call is
// rejected for a non-transient reason (e.g. a ValidationException caused by
// one oversized entry), it retries each entry alone so one poison entry
// cannot fail its neighbours forever.
func Publisher(api PutEventsAPI, bus string) store.Publisher {
	var publish store.Publisher
	publish = func(ctx context.Context, batch []store.OutboxEvent) (store.PublishResult, error) {
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
			if len(batch) > 1 && !transientCallError(err) && ctx.Err() == nil {
				res := store.PublishResult{Failed: map[int64]string{}, Transient: map[int64]bool{}}
				for _, e := range batch {
					one, err := publish(ctx, []store.OutboxEvent{e})
					if err != nil {
						res.Failed[e.ID] = err.Error()
						res.Transient[e.ID] = transientCallError(err)
						continue
					}
					maps.Copy(res.Failed, one.Failed)
					maps.Copy(res.Transient, one.Transient)
				}
				return res, nil
			}
			if len(batch) == 1 && !transientCallError(err) {
				return store.PublishResult{Failed: map[int64]string{batch[0].ID: "put events: " + err.Error()}}, nil
			}
			return store.PublishResult{}, fmt.Errorf("put events: %w", err)
		}
		res := store.PublishResult{Failed: map[int64]string{}, Transient: map[int64]bool{}}
		if out.FailedEntryCount > 0 {
			for i, r := range out.Entries {
				if i < len(batch) && r.ErrorCode != nil {
					res.Failed[batch[i].ID] = aws.ToString(r.ErrorCode) + ": " + aws.ToString(r.ErrorMessage)
					res.Transient[batch[i].ID] = transientEntryCodes[aws.ToString(r.ErrorCode)]
				}
			}
			// Entries must match the request one to one; if they do not,
			// treat the whole batch as failed (transiently) rather than guess.
			if len(out.Entries) != len(batch) {
				for _, e := range batch {
					res.Failed[e.ID] = "PutEvents reported failures without matching entries"
					res.Transient[e.ID] = true
				}
			}
		}
		return res, nil
	}
	return publish
}

// transientCallError reports throttling, 5xx, timeouts and transport errors.
func transientCallError(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode() >= 500 || re.HTTPStatusCode() == 429
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorFault() == smithy.FaultServer || strings.Contains(ae.ErrorCode(), "Throttl")
	}
	return true // transport-level failure
}

// Relay moves outbox rows to the bus until its context ends.
type Relay struct {
	// Store holds the outbox.
	Store *store.Store
	// Publish sends batches (see Publisher).
	Publish store.Publisher
	// Interval is the idle poll interval (default 1s).
	Interval time.Duration
	// Options shape each pass (lease, publish deadline, backoff, dead-lettering).
	Options store.RelayOptions
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

// Run relays until ctx is cancelled. Database and bus errors are logged and
// retried with jittered backoff; they never stop the loop. Row-specific
// failures are rescheduled per row by the store and do not slow the loop.
func (r *Relay) Run(ctx context.Context) {
	limit := r.Options.Limit
	if limit <= 0 {
		limit = ClaimLimit
	}
	opts := r.Options
	opts.Limit = limit
	backoff := time.Duration(0)
	for {
		st, err := r.Store.RelayBatch(ctx, opts, r.Publish)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !errors.Is(err, store.ErrPublishFailed):
			backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
			r.Logger.LogAttrs(ctx, slog.LevelWarn, "outbox relay error", slog.String("error", err.Error()),
				slog.Int("published", st.Published), slog.Duration("backoff", backoff))
			if !r.sleep(ctx, time.Duration(rand.Int64N(int64(backoff)))+backoff/2, false) {
				return
			}
			continue
		case err != nil:
			r.Logger.LogAttrs(ctx, slog.LevelWarn, "outbox rows rescheduled", slog.Int("failed", st.Failed),
				slog.Int("dead_lettered", st.DeadLettered), slog.Int("published", st.Published))
		}
		backoff = 0
		if st.Claimed == limit {
			continue // more may be waiting
		}
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

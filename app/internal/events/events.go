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

// Default relay outage backoff.
const (
	// DefaultOutageBackoff is the first pause after a pass that failed as
	// a whole (database unreachable, or every publish failed bus-wide).
	DefaultOutageBackoff = 100 * time.Millisecond
	// DefaultOutageBackoffMax caps the pause while the outage lasts.
	DefaultOutageBackoffMax = 5 * time.Second
)

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
	// OutageBackoff and OutageBackoffMax shape the pause after a pass
	// that failed as a whole: it doubles per such pass up to the cap,
	// jittered, and resets once a pass publishes (defaults
	// DefaultOutageBackoff and DefaultOutageBackoffMax).
	OutageBackoff, OutageBackoffMax time.Duration
	// Logger receives relay progress and errors.
	Logger *slog.Logger

	wake chan struct{}
}

// NewRelay returns a relay with defaults applied.
func NewRelay(s *store.Store, publish store.Publisher, logger *slog.Logger) *Relay {
	return &Relay{Store: s, Publish: publish, Interval: time.Second, Logger: logger, wake: make(chan struct{}, 1),
		OutageBackoff: DefaultOutageBackoff, OutageBackoffMax: DefaultOutageBackoffMax}
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
// never stop the loop. A pass that fails as a whole — the database is
// unreachable, or every publish failed bus-wide (5xx, throttling,
// timeouts: an outage) — backs off exponentially with jitter up to
// OutageBackoffMax, and while backing off each pass claims one PutEvents
// chunk only (a probe); the first pass that publishes resets the backoff.
// Row-specific failures are rescheduled per row by the store and do not
// slow the loop.
func (r *Relay) Run(ctx context.Context) {
	limit := r.Options.Limit
	if limit <= 0 {
		limit = ClaimLimit
	}
	base, ceiling := r.OutageBackoff, r.OutageBackoffMax
	if base <= 0 {
		base = DefaultOutageBackoff
	}
	if ceiling < base {
		ceiling = max(base, DefaultOutageBackoffMax)
	}
	opts := r.Options
	backoff := time.Duration(0)
	for {
		opts.Limit = limit
		if backoff > 0 {
			opts.Limit = MaxBatch // probe with one call while the outage lasts
		}
		st, err := r.Store.RelayBatch(ctx, opts, r.Publish)
		if ctx.Err() != nil {
			return
		}
		if (err != nil && !errors.Is(err, store.ErrPublishFailed)) || st.Outage() {
			backoff = min(max(2*backoff, base), ceiling)
			msg := "outbox relay error"
			if err == nil || errors.Is(err, store.ErrPublishFailed) {
				msg = "event bus unavailable"
			}
			attrs := []slog.Attr{slog.Int("failed", st.Failed), slog.Duration("backoff", backoff)}
			if err != nil {
				attrs = append(attrs, slog.String("error", err.Error()))
			}
			r.Logger.LogAttrs(ctx, slog.LevelWarn, msg, attrs...)
			// Equal jitter: tasks that saw the same outage spread out.
			pause := backoff/2 + time.Duration(rand.Int64N(int64(backoff/2)+1))
			if !r.sleep(ctx, pause, false) {
				return
			}
			continue
		}
		if err != nil {
			r.Logger.LogAttrs(ctx, slog.LevelWarn, "outbox rows rescheduled", slog.Int("failed", st.Failed),
				slog.Int("dead_lettered", st.DeadLettered), slog.Int("published", st.Published))
		}
		if st.Published > 0 || (err == nil && st.Claimed > 0) {
			backoff = 0
		}
		if st.Claimed == opts.Limit {
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

package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/trading-ha/trading-ha/app/internal/store"
)

// TestRelaySettlesPublishedRowsWhateverTheFailedOnesSay: a pass that
// published nine rows and failed one marks the nine published even when
// the failed row's reason is awkward (cut in the middle of a multi-byte
// character by the 500-byte limit), and settles all ten together.
func TestRelaySettlesPublishedRowsWhateverTheFailedOnesSay(t *testing.T) {
	_, s, _ := appStore(t)
	ctx := context.Background()
	var bad string
	for i := range 10 {
		r, err := s.CreateOrder(ctx, "DESK-A", "s", "settle-"+string(rune('0'+i)), req)
		if err != nil {
			t.Fatal(err)
		}
		if i == 3 {
			bad = r.Order.OrderID
		}
	}
	reason := strings.Repeat("x", 499) + "é: rejected"
	publish := func(_ context.Context, batch []store.OutboxEvent) (store.PublishResult, error) {
		res := store.PublishResult{Failed: map[int64]string{}}
		for _, e := range batch {
			if e.OrderID == bad {
				res.Failed[e.ID] = reason
			}
		}
		return res, nil
	}
	st, err := s.RelayBatch(ctx, store.RelayOptions{}, publish)
	t.Logf("pass: %+v %v", st, err)
	var published, rescheduled int
	if err := s.Writer().QueryRow(ctx, `SELECT count(*) FILTER (WHERE published_at IS NOT NULL),
		count(*) FILTER (WHERE published_at IS NULL AND attempts = 1 AND lease_until IS NULL AND last_error LIKE 'xxx%')
		FROM outbox`).Scan(&published, &rescheduled); err != nil {
		t.Fatal(err)
	}
	if published != 9 || rescheduled != 1 {
		t.Fatalf("after the pass %d rows are marked published (want 9) and %d rescheduled (want 1): "+
			"published rows left leased are published again", published, rescheduled)
	}
}

// TestRelayDoesNotSettleRowsItNoLongerLeases: a relay whose lease ran out
// (a stalled process, a slow bus) must not settle rows another relay has
// claimed since: here the stale relay reports a row-specific failure that
// would dead-letter the row while the other relay is publishing it.
func TestRelayDoesNotSettleRowsItNoLongerLeases(t *testing.T) {
	_, s, _ := appStore(t)
	ctx := context.Background()
	if _, err := s.CreateOrder(ctx, "DESK-A", "s", "lease", req); err != nil {
		t.Fatal(err)
	}
	claimedA, releaseA := make(chan struct{}), make(chan struct{})
	claimedB, releaseB := make(chan struct{}), make(chan struct{})
	doneA, doneB := make(chan error, 1), make(chan error, 1)
	go func() {
		_, err := s.RelayBatch(ctx, store.RelayOptions{Lease: 400 * time.Millisecond, PublishTimeout: 100 * time.Millisecond, MaxAttempts: 1},
			func(_ context.Context, batch []store.OutboxEvent) (store.PublishResult, error) {
				close(claimedA)
				<-releaseA // stalled past its lease
				return store.PublishResult{Failed: map[int64]string{batch[0].ID: "ValidationException: rejected"}}, nil
			})
		doneA <- err
	}()
	<-claimedA
	time.Sleep(600 * time.Millisecond)
	go func() {
		_, err := s.RelayBatch(ctx, store.RelayOptions{}, func(_ context.Context, batch []store.OutboxEvent) (store.PublishResult, error) {
			close(claimedB)
			<-releaseB
			return store.PublishResult{}, nil
		})
		doneB <- err
	}()
	select {
	case <-claimedB:
	case <-time.After(5 * time.Second):
		t.Fatal("the second relay did not claim the row after the first one's lease ran out")
	}
	close(releaseA)
	<-doneA
	var inOutbox, dead int
	var leased bool
	if err := s.Writer().QueryRow(ctx, `SELECT (SELECT count(*) FROM outbox), (SELECT count(*) FROM outbox_dead_letter),
		COALESCE((SELECT lease_until > now() FROM outbox), false)`).Scan(&inOutbox, &dead, &leased); err != nil {
		t.Fatal(err)
	}
	if inOutbox != 1 || dead != 0 || !leased {
		t.Fatalf("after the stale relay settled: %d outbox rows, %d dead letters, lease held %v; "+
			"want the row untouched, still leased by the relay publishing it", inOutbox, dead, leased)
	}
	close(releaseB)
	if err := <-doneB; err != nil {
		t.Fatal(err)
	}
	var published bool
	if err := s.Writer().QueryRow(ctx, `SELECT published_at IS NOT NULL FROM outbox`).Scan(&published); err != nil || !published {
		t.Fatalf("row not marked published by the relay holding the lease: %v %v", published, err)
	}
}

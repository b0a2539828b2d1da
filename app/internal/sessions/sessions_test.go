package sessions

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

type memAPI struct {
	items map[string]map[string]types.AttributeValue
}

func (m *memAPI) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	id := in.Item[AttrSessionID].(*types.AttributeValueMemberS).Value
	m.items[id] = in.Item
	return &dynamodb.PutItemOutput{}, nil
}

func (m *memAPI) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	id := in.Key[AttrSessionID].(*types.AttributeValueMemberS).Value
	return &dynamodb.GetItemOutput{Item: m.items[id]}, nil
}

func TestCreateGetAndExpiry(t *testing.T) {
	api := &memAPI{items: map[string]map[string]types.AttributeValue{}}
	s := New(api, "sessions-test", time.Hour, time.Second)
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	s.now = func() time.Time { return now }
	sess, err := s.Create(context.Background(), "T-1")
	if err != nil {
		t.Fatal(err)
	}
	item := api.items[sess.SessionID]
	if ttl := item[AttrExpiresAtEpoch].(*types.AttributeValueMemberN).Value; ttl != "1735790645" {
		t.Fatalf("TTL attribute = %s", ttl)
	}
	got, err := s.Get(context.Background(), sess.SessionID)
	if err != nil || got.TraderID != "T-1" || !got.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("get = %+v, %v", got, err)
	}
	// DynamoDB TTL deletion is lazy: an expired item may still be returned.
	now = now.Add(time.Hour)
	if _, err := s.Get(context.Background(), sess.SessionID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired session: %v, want ErrNotFound", err)
	}
	if _, err := s.Get(context.Background(), "not-a-uuid"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("bad id: %v", err)
	}
}

func TestValidTraderID(t *testing.T) {
	for id, want := range map[string]bool{"T-1": true, "desk.7:alice": true, "": false, "a b": false} {
		if ValidTraderID(id) != want {
			t.Errorf("ValidTraderID(%q) != %v", id, want)
		}
	}
}

type countingAPI struct {
	memAPI
	gets int
}

func (c *countingAPI) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.gets++
	return c.memAPI.GetItem(ctx, in, o...)
}

func TestCacheServesLiveSessionsBriefly(t *testing.T) {
	api := &countingAPI{memAPI: memAPI{items: map[string]map[string]types.AttributeValue{}}}
	s := New(api, "sessions-test", 30*time.Second, time.Second)
	now := time.Now()
	s.now = func() time.Time { return now }
	c := &Cache{Store: s, TTL: 10 * time.Second}
	sess, err := c.Create(context.Background(), "T-1")
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if got, err := c.Get(context.Background(), "T-1", sess.SessionID); err != nil || got.TraderID != "T-1" {
			t.Fatalf("get: %+v %v", got, err)
		}
	}
	if api.gets != 0 {
		t.Fatalf("%d GetItem calls within the cache TTL, want 0", api.gets)
	}
	now = now.Add(11 * time.Second)
	if _, err := c.Get(context.Background(), "T-1", sess.SessionID); err != nil || api.gets != 1 {
		t.Fatalf("after TTL: gets=%d err=%v", api.gets, err)
	}
	now = now.Add(25 * time.Second) // past the session's own expiry
	if _, err := c.Get(context.Background(), "T-1", sess.SessionID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired session served from cache: %v", err)
	}
	if _, err := c.Get(context.Background(), "T-1", "00000000-0000-0000-0000-000000000000"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
}

// hungAPI is a table that never answers: each call waits for its context.
type hungAPI struct{}

func (hungAPI) PutItem(ctx context.Context, _ *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (hungAPI) GetItem(ctx context.Context, _ *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestTableThatDoesNotAnswer: every call ends at the store's timeout with
// context.DeadlineExceeded (answered 503 with Retry-After), even when the
// request's own context has no deadline.
func TestTableThatDoesNotAnswer(t *testing.T) {
	s := New(hungAPI{}, "sessions-test", time.Hour, 200*time.Millisecond)
	for name, call := range map[string]func() error{
		"create": func() error { _, err := s.Create(context.Background(), "T-1"); return err },
		"get": func() error {
			_, err := s.Get(context.Background(), "0b8e5d2a-8b8e-4c1e-9c3a-3f1f0c9e2b71")
			return err
		},
	} {
		start := time.Now()
		err := call()
		if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took > time.Second {
			t.Errorf("%s: %v after %s, want context.DeadlineExceeded after about 200ms", name, err, took)
		}
	}
}

// TestCacheBoundsUnknownLookups: an unknown id is read from the table once
// within NegativeTTL; a trader's distinct unknown ids cost at most the
// miss budget (then ErrLookupsThrottled without a read, refilling over
// time); another trader and live sessions are unaffected.
func TestCacheBoundsUnknownLookups(t *testing.T) {
	api := &countingAPI{memAPI: memAPI{items: map[string]map[string]types.AttributeValue{}}}
	s := New(api, "sessions-test", time.Hour, time.Second)
	now := time.Now()
	s.now = func() time.Time { return now }
	c := &Cache{Store: s, TTL: 10 * time.Second, NegativeTTL: 30 * time.Second, MissBurst: 5, MissRate: 1}
	ctx := context.Background()
	live, err := c.Create(ctx, "T-1")
	if err != nil {
		t.Fatal(err)
	}
	unknown := func(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }
	for range 10 {
		if _, err := c.Get(ctx, "T-1", unknown(0)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown id: %v", err)
		}
	}
	if api.gets != 1 {
		t.Fatalf("one unknown id 10 times: %d reads, want 1", api.gets)
	}
	throttled := 0
	for i := 1; i <= 1000; i++ {
		if _, err := c.Get(ctx, "T-1", unknown(i)); errors.Is(err, ErrLookupsThrottled) {
			throttled++
		} else if !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown id %d: %v", i, err)
		}
	}
	if api.gets != 5 || throttled != 996 {
		t.Fatalf("1000 distinct unknown ids: %d reads, %d throttled; want 5 reads (the burst) and the rest throttled", api.gets, throttled)
	}
	if got, err := c.Get(ctx, "T-1", live.SessionID); err != nil || got.SessionID != live.SessionID {
		t.Fatalf("a cached live session while throttled: %+v %v", got, err)
	}
	if _, err := c.Get(ctx, "T-2", unknown(2000)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another trader's lookup: %v, want ErrNotFound (budgets are per trader)", err)
	}
	now = now.Add(2 * time.Second) // two reads refilled
	for i := 3000; i < 3003; i++ {
		_, _ = c.Get(ctx, "T-1", unknown(i))
	}
	if api.gets != 8 {
		t.Fatalf("after 2 s: %d reads in all, want 8 (5 + 1 for T-2 + 2 refilled)", api.gets)
	}
	// A read that finds a live session is refunded.
	now = now.Add(11 * time.Second) // the live session's cache entry expired; budget refilled to 5
	for range 20 {
		if _, err := c.Get(ctx, "T-1", live.SessionID); err != nil {
			t.Fatalf("live session: %v", err)
		}
	}
	if _, err := c.Get(ctx, "T-1", unknown(4000)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown id with budget left: %v", err)
	}
}

// flakyAPI is a table that counts PutItem calls and fails them while fail
// is set.
type flakyAPI struct {
	memAPI
	puts int
	fail error
}

func (f *flakyAPI) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	f.puts++
	if f.fail != nil {
		return nil, f.fail
	}
	return f.memAPI.PutItem(ctx, in, o...)
}

// TestCacheBoundsSessionCreation: a trader's new sessions cost at most the
// creation budget (then ErrCreationsThrottled without a write, with the
// whole seconds until the next token); the budget refills over time, is
// per trader, and a write the table failed is not charged.
func TestCacheBoundsSessionCreation(t *testing.T) {
	api := &flakyAPI{memAPI: memAPI{items: map[string]map[string]types.AttributeValue{}}}
	s := New(api, "sessions-test", time.Hour, time.Second)
	now := time.Now()
	s.now = func() time.Time { return now }
	// 3 at once, then one every 4 s.
	c := &Cache{Store: s, TTL: 10 * time.Second, CreateBurst: 3, CreateRate: 0.25}
	ctx := context.Background()
	create := func(trader string) (time.Duration, error) {
		_, err := c.Create(ctx, trader)
		var te *ThrottledError
		if errors.As(err, &te) {
			return te.RetryAfter, err
		}
		return 0, err
	}
	for i := range 3 {
		if _, err := create("T-1"); err != nil {
			t.Fatalf("session %d of the burst: %v", i+1, err)
		}
	}
	for range 100 {
		if wait, err := create("T-1"); !errors.Is(err, ErrCreationsThrottled) || wait != 4*time.Second {
			t.Fatalf("past the burst: %v, Retry-After %s; want ErrCreationsThrottled, 4s", err, wait)
		}
	}
	if api.puts != 3 {
		t.Fatalf("103 creations with a burst of 3: %d PutItem calls, want 3", api.puts)
	}
	if _, err := create("T-2"); err != nil {
		t.Fatalf("another trader while T-1 is throttled: %v (budgets are per trader)", err)
	}
	now = now.Add(2500 * time.Millisecond) // 0.625 of a token: 1.5 s to go, rounded up
	if wait, err := create("T-1"); !errors.Is(err, ErrCreationsThrottled) || wait != 2*time.Second {
		t.Fatalf("2.5 s later: %v, Retry-After %s; want ErrCreationsThrottled, 2s", err, wait)
	}
	now = now.Add(1500 * time.Millisecond) // one token refilled
	if _, err := create("T-1"); err != nil {
		t.Fatalf("4 s later: %v, want a session", err)
	}
	if _, err := create("T-1"); !errors.Is(err, ErrCreationsThrottled) {
		t.Fatalf("the refilled token spent: %v, want ErrCreationsThrottled", err)
	}
	// The table failing is not the caller's doing: not charged.
	api.fail = errors.New("table unavailable")
	for range 10 {
		if _, err := create("T-3"); err == nil || errors.Is(err, ErrCreationsThrottled) {
			t.Fatalf("with the table failing: %v, want the table's error", err)
		}
	}
	api.fail = nil
	for i := range 3 {
		if _, err := create("T-3"); err != nil {
			t.Fatalf("session %d after failed writes: %v, want the whole burst left", i+1, err)
		}
	}
	// Defaults.
	d := &Cache{Store: s}
	for i := range DefaultCreateBurst {
		if _, err := d.Create(ctx, "T-4"); err != nil {
			t.Fatalf("default budget, session %d: %v", i+1, err)
		}
	}
	if _, err := d.Create(ctx, "T-4"); !errors.Is(err, ErrCreationsThrottled) {
		t.Fatalf("past the default burst: %v, want ErrCreationsThrottled", err)
	}
}

// TestTraderBudgetsAreBounded: a flood of distinct traders keeps the set
// of budgets at maxBudgets; a full set first drops the budgets that have
// refilled (they hold nothing a new one would not), so a trader that spent
// its budget stays throttled after a flood that has gone idle.
func TestTraderBudgetsAreBounded(t *testing.T) {
	lim := limit{burst: 2, rate: 0.01} // refills in 100 s
	now := time.Now()
	spend := func(l *limiter, trader string) {
		t.Helper()
		for range 2 {
			if _, ok := l.take(trader, now, lim); !ok {
				t.Fatalf("%s's burst refused", trader)
			}
		}
	}
	// Every trader active at once: the set is cleared when full.
	var l limiter
	for i := range 3 * maxBudgets {
		if _, ok := l.take(fmt.Sprintf("flood-%d", i), now, lim); !ok {
			t.Fatalf("flood trader %d refused its first token", i)
		}
		if n := len(l.budgets); n > maxBudgets {
			t.Fatalf("%d budgets after %d distinct traders, want at most %d", n, i+1, maxBudgets)
		}
	}
	// A flood that has gone idle makes room for new traders; a spent
	// budget is kept.
	l = limiter{}
	spend(&l, "T-1")
	for i := range maxBudgets - 1 {
		_, _ = l.take(fmt.Sprintf("flood-%d", i), now, lim)
	}
	now = now.Add(100 * time.Second) // the flood's budgets are full again; T-1's holds one token
	if _, ok := l.take("T-2", now, lim); !ok || len(l.budgets) != 2 {
		t.Fatalf("a new trader with a full set of idle budgets: ok=%v, %d budgets; want ok and 2 (T-1's, T-2's)", ok, len(l.budgets))
	}
	if _, ok := l.take("T-1", now, lim); !ok {
		t.Fatal("T-1's refilled token refused")
	}
	if wait, ok := l.take("T-1", now, lim); ok || wait != 100*time.Second {
		t.Fatalf("T-1 past its budget after the flood: ok=%v, Retry-After %s; want refused, 100s (its spent budget kept)", ok, wait)
	}
}

// TestCacheDropsExpiredSessionsBeforeClearing: a full session cache drops
// the entries past their TTL before it would clear, so other traders'
// cached sessions survive a flood of new ones.
func TestCacheDropsExpiredSessionsBeforeClearing(t *testing.T) {
	api := &countingAPI{memAPI: memAPI{items: map[string]map[string]types.AttributeValue{}}}
	s := New(api, "sessions-test", time.Hour, time.Second)
	now := time.Now()
	s.now = func() time.Time { return now }
	c := &Cache{Store: s, TTL: 10 * time.Second}
	for i := range maxCachedSessions - 1 {
		c.put(Session{SessionID: fmt.Sprintf("flood-%d", i), TraderID: "T-1", ExpiresAt: now.Add(time.Hour)})
	}
	now = now.Add(5 * time.Second)
	live, err := c.Create(context.Background(), "T-2")
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(6 * time.Second) // the flood's entries have expired, T-2's has not
	c.put(Session{SessionID: "one-more", TraderID: "T-1", ExpiresAt: now.Add(time.Hour)})
	if n := len(c.entries); n != 2 {
		t.Fatalf("%d cached sessions after the full cache made room, want 2 (T-2's and the new one)", n)
	}
	if _, err := c.Get(context.Background(), "T-2", live.SessionID); err != nil || api.gets != 0 {
		t.Fatalf("T-2's cached session after the flood: %v, %d GetItem calls; want it from memory", err, api.gets)
	}
}

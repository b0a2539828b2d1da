// Package sessions stores trader sessions in DynamoDB with a TTL attribute.
package sessions

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"
)

// Attribute names of the sessions table (see CONTRACT.md).
const (
	AttrSessionID = "session_id"
	AttrTraderID  = "trader_id"
	AttrCreatedAt = "created_at"
	AttrExpiresAt = "expires_at"
	// AttrExpiresAtEpoch is the table's TTL attribute (epoch seconds).
	AttrExpiresAtEpoch = "expires_at_epoch"
)

// ErrNotFound means the session does not exist or has expired.
var ErrNotFound = errors.New("session not found or expired")

// ErrLookupsThrottled means the caller has spent its budget of session
// reads that found nothing: the table is not asked again until the budget
// refills (answer 429 with Retry-After).
var ErrLookupsThrottled = errors.New("too many lookups of unknown sessions")

// ErrCreationsThrottled means the caller has spent its budget of new
// sessions: nothing is written until the budget refills (answer 429 with
// Retry-After).
var ErrCreationsThrottled = errors.New("too many sessions created")

// ThrottledError is what a spent budget answers: it wraps
// ErrLookupsThrottled or ErrCreationsThrottled and says when the budget
// has a token again.
type ThrottledError struct {
	// Err is ErrLookupsThrottled or ErrCreationsThrottled.
	Err error
	// RetryAfter is the wait until the next token, in whole seconds (at
	// least one): the answer's Retry-After.
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *ThrottledError) Unwrap() error { return e.Err }

var traderIDRE = regexp.MustCompile(`^[A-Za-z0-9._:\-]{1,64}$`)

// ValidTraderID reports whether id is an acceptable trader ID.
func ValidTraderID(id string) bool { return traderIDRE.MatchString(id) }

// Session is a trader session.
type Session struct {
	SessionID string    `json:"session_id"`
	TraderID  string    `json:"trader_id"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// API is the subset of the DynamoDB client the store uses.
type API interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// Store reads and writes sessions.
type Store struct {
	api     API
	table   string
	ttl     time.Duration
	timeout time.Duration
	now     func() time.Time
}

// New returns a Store on table whose sessions live for ttl. Each table
// call, the SDK's retries included, ends after timeout: a table that does
// not answer fails the request (context.DeadlineExceeded, which the API
// answers 503 with Retry-After) instead of holding it until the load
// balancer gives up.
func New(api API, table string, ttl, timeout time.Duration) *Store {
	return &Store{api: api, table: table, ttl: ttl, timeout: timeout, now: time.Now}
}

// Create stores a new session for traderID.
func (s *Store) Create(ctx context.Context, traderID string) (Session, error) {
	now := s.now().UTC().Truncate(time.Second)
	sess := Session{SessionID: uuid.NewString(), TraderID: traderID, CreatedAt: now, ExpiresAt: now.Add(s.ttl)}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item: map[string]types.AttributeValue{
			AttrSessionID:      &types.AttributeValueMemberS{Value: sess.SessionID},
			AttrTraderID:       &types.AttributeValueMemberS{Value: sess.TraderID},
			AttrCreatedAt:      &types.AttributeValueMemberS{Value: sess.CreatedAt.Format(time.RFC3339)},
			AttrExpiresAt:      &types.AttributeValueMemberS{Value: sess.ExpiresAt.Format(time.RFC3339)},
			AttrExpiresAtEpoch: &types.AttributeValueMemberN{Value: strconv.FormatInt(sess.ExpiresAt.Unix(), 10)},
		},
		ConditionExpression: aws.String("attribute_not_exists(" + AttrSessionID + ")"),
	})
	if err != nil {
		return Session{}, fmt.Errorf("put session: %w", err)
	}
	return sess, nil
}

// Get returns a live session. DynamoDB deletes expired items lazily (up to
// days later), so expiry is enforced here too.
func (s *Store) Get(ctx context.Context, id string) (Session, error) {
	if uuid.Validate(id) != nil {
		return Session{}, ErrNotFound
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            map[string]types.AttributeValue{AttrSessionID: &types.AttributeValueMemberS{Value: id}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Session{}, fmt.Errorf("get session: %w", err)
	}
	if len(out.Item) == 0 {
		return Session{}, ErrNotFound
	}
	sess, err := decode(out.Item)
	if err != nil {
		return Session{}, err
	}
	if !s.now().Before(sess.ExpiresAt) {
		return Session{}, ErrNotFound
	}
	return sess, nil
}

func decode(item map[string]types.AttributeValue) (Session, error) {
	str := func(k string) string {
		if v, ok := item[k].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	sess := Session{SessionID: str(AttrSessionID), TraderID: str(AttrTraderID)}
	var err error
	if sess.CreatedAt, err = time.Parse(time.RFC3339, str(AttrCreatedAt)); err != nil {
		return Session{}, fmt.Errorf("decode session created_at: %w", err)
	}
	if sess.ExpiresAt, err = time.Parse(time.RFC3339, str(AttrExpiresAt)); err != nil {
		return Session{}, fmt.Errorf("decode session expires_at: %w", err)
	}
	return sess, nil
}

// Cache wraps a session lookup with a short in-memory cache, so an order
// does not pay a consistent DynamoDB read each time, and bounds what a
// caller with a valid token can make the table do:
//
//   - live sessions are cached for TTL, never past their expiry;
//   - ids the table did not have (unknown or expired: neither ever becomes
//     valid, ids are random UUIDs the service generates) are remembered for
//     NegativeTTL, so repeating one costs nothing;
//   - each trader has a budget of table reads that find nothing (MissBurst,
//     refilled at MissRate per second): a read is charged up front and
//     refunded when it finds a live session (or the table fails), and with
//     the budget spent the trader's uncached lookups answer
//     ErrLookupsThrottled without a read. A flood of distinct unknown ids
//     therefore costs at most MissBurst reads plus MissRate per second per
//     trader, whatever its size;
//   - each trader has a budget of new sessions (CreateBurst, refilled at
//     CreateRate per second): a write is charged up front and refunded
//     when the table fails, and with the budget spent Create answers
//     ErrCreationsThrottled without a write. One trader's flood of new
//     sessions therefore costs at most CreateBurst writes plus CreateRate
//     per second, and its sessions hold at most CreateBurst + TTL x
//     CreateRate live entries of the cache, which drops expired entries
//     before it would clear: the flood cannot fill it and push other
//     traders' sessions out.
//
// Budgets are per task (in memory). Every map is size-bounded, the set of
// traders with a budget included.
type Cache struct {
	// Store is the backing store.
	Store *Store
	// TTL bounds how long a live session is served from memory (0: not cached).
	TTL time.Duration
	// NegativeTTL is how long an id found missing is answered from memory
	// (default DefaultNegativeTTL).
	NegativeTTL time.Duration
	// MissBurst and MissRate are each trader's budget of reads that find
	// nothing (defaults DefaultMissBurst, DefaultMissRate per second).
	MissBurst int
	MissRate  float64
	// CreateBurst and CreateRate are each trader's budget of new sessions
	// (defaults DefaultCreateBurst, DefaultCreateRate per second).
	CreateBurst int
	CreateRate  float64

	mu      sync.Mutex
	entries map[string]cached
	missing map[string]time.Time
	misses  limiter
	creates limiter
}

// Defaults of the Cache's bounds.
//
// Session creation: a desk opens a session at the start of its day and
// again when it reconnects; it may run several gateways, each with its own
// session, and they reconnect together after a network blip or a deploy.
// DefaultCreateBurst (per task: the load balancer spreads a desk's
// reconnects over the tasks) covers such a reconnect; DefaultCreateRate
// refills one a second, the pace of the lookups' budget and of the
// Retry-After: 1 the service's other 429s and 503s ask for, so a desk with
// more gateways than the burst waits seconds, not minutes. That already
// bounds what a runaway client costs: one DynamoDB write a second per task
// instead of one per request, and its new sessions hold about 20 entries
// of the session cache at a time (10 + 10 s of TTL x 1/s) of the 50,000
// that fill it. A slower refill would save nothing that matters and would
// hold legitimate reconnects back longer.
const (
	DefaultNegativeTTL = 30 * time.Second
	DefaultMissBurst   = 20
	DefaultMissRate    = 1.0
	DefaultCreateBurst = 10
	DefaultCreateRate  = 1.0
)

type cached struct {
	sess  Session
	until time.Time
}

// Size bounds: a full map first drops its stale entries (expired; a budget
// that has refilled), and is cleared if that is not enough.
const (
	maxCachedSessions = 50000
	maxMissingIDs     = 50000
	maxBudgets        = 10000
)

// makeRoom keeps m below size entries before an insert: a full map first
// drops the entries stale reports, and is cleared if that is not enough.
func makeRoom[V any](m map[string]V, size int, stale func(V) bool) {
	if len(m) < size {
		return
	}
	maps.DeleteFunc(m, func(_ string, v V) bool { return stale(v) })
	if len(m) >= size {
		clear(m)
	}
}

// limit is a token bucket's size and its refill in tokens per second.
type limit struct{ burst, rate float64 }

// limitOf returns burst and rate, or the defaults where they are unset.
func limitOf(burst int, rate float64, defBurst int, defRate float64) limit {
	l := limit{burst: float64(burst), rate: rate}
	if l.burst <= 0 {
		l.burst = float64(defBurst)
	}
	if l.rate <= 0 {
		l.rate = defRate
	}
	return l
}

func (c *Cache) missLimit() limit {
	return limitOf(c.MissBurst, c.MissRate, DefaultMissBurst, DefaultMissRate)
}

func (c *Cache) createLimit() limit {
	return limitOf(c.CreateBurst, c.CreateRate, DefaultCreateBurst, DefaultCreateRate)
}

// limiter holds a token bucket per trader. The set is bounded by
// maxBudgets: when full, the buckets that have refilled (which hold
// nothing a fresh bucket would not) are dropped first.
type limiter struct {
	mu      sync.Mutex
	budgets map[string]*budget
}

type budget struct {
	tokens float64
	last   time.Time
}

// take spends one of key's tokens. With none left it returns false and
// the wait until the next one, rounded up to whole seconds.
func (l *limiter) take(key string, now time.Time, lim limit) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.budgets[key]
	if !ok {
		if l.budgets == nil {
			l.budgets = map[string]*budget{}
		}
		makeRoom(l.budgets, maxBudgets, func(b *budget) bool {
			return b.tokens+now.Sub(b.last).Seconds()*lim.rate >= lim.burst
		})
		b = &budget{tokens: lim.burst, last: now}
		l.budgets[key] = b
	}
	b.tokens = min(lim.burst, b.tokens+now.Sub(b.last).Seconds()*lim.rate)
	b.last = now
	if b.tokens < 1 {
		return time.Duration(math.Ceil((1-b.tokens)/lim.rate)) * time.Second, false
	}
	b.tokens--
	return 0, true
}

// give returns a token that was taken for a call that should not count.
func (l *limiter) give(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.budgets[key]; ok {
		b.tokens++
	}
}

// Create stores a new session for traderID if its budget allows
// (ErrCreationsThrottled, in a *ThrottledError, otherwise).
func (c *Cache) Create(ctx context.Context, traderID string) (Session, error) {
	if wait, ok := c.creates.take(traderID, c.Store.now(), c.createLimit()); !ok {
		return Session{}, &ThrottledError{Err: ErrCreationsThrottled, RetryAfter: wait}
	}
	sess, err := c.Store.Create(ctx, traderID)
	if err != nil {
		c.creates.give(traderID) // the table failed: not the caller's doing
		return sess, err
	}
	c.put(sess)
	return sess, nil
}

// Get returns the live session id for traderID (the caller; ownership is
// the API's to check): from memory when it was read within TTL,
// ErrNotFound from memory when the table lacked it within NegativeTTL,
// else from the table if the caller's budget allows (ErrLookupsThrottled,
// in a *ThrottledError, otherwise).
func (c *Cache) Get(ctx context.Context, traderID, id string) (Session, error) {
	if uuid.Validate(id) != nil {
		return Session{}, ErrNotFound // never asks the table
	}
	now := c.Store.now()
	c.mu.Lock()
	if e, ok := c.entries[id]; ok && now.Before(e.until) {
		c.mu.Unlock()
		return e.sess, nil
	}
	if until, ok := c.missing[id]; ok && now.Before(until) {
		c.mu.Unlock()
		return Session{}, ErrNotFound
	}
	c.mu.Unlock()
	if wait, ok := c.misses.take(traderID, now, c.missLimit()); !ok {
		return Session{}, &ThrottledError{Err: ErrLookupsThrottled, RetryAfter: wait}
	}

	sess, err := c.Store.Get(ctx, id)
	switch {
	case err == nil:
		c.misses.give(traderID)
		c.put(sess)
	case errors.Is(err, ErrNotFound):
		c.miss(id)
	default:
		c.misses.give(traderID) // the table failed: not the caller's doing
	}
	return sess, err
}

// miss remembers that the table lacks id.
func (c *Cache) miss(id string) {
	ttl := c.NegativeTTL
	if ttl <= 0 {
		ttl = DefaultNegativeTTL
	}
	now := c.Store.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.missing == nil {
		c.missing = map[string]time.Time{}
	}
	makeRoom(c.missing, maxMissingIDs, func(until time.Time) bool { return !now.Before(until) })
	c.missing[id] = now.Add(ttl)
}

func (c *Cache) put(sess Session) {
	if c.TTL <= 0 {
		return
	}
	now := c.Store.now()
	until := now.Add(c.TTL)
	if sess.ExpiresAt.Before(until) {
		until = sess.ExpiresAt
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]cached{}
	}
	makeRoom(c.entries, maxCachedSessions, func(e cached) bool { return !now.Before(e.until) })
	c.entries[sess.SessionID] = cached{sess: sess, until: until}
}

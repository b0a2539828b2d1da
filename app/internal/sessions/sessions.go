// Package sessions stores trader sessions in DynamoDB with a TTL attribute.
package sessions

import (
	"context"
	"errors"
	"fmt"
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
//     trader, whatever its size.
//
// Both maps are size-bounded.
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

	mu      sync.Mutex
	entries map[string]cached
	missing map[string]time.Time
	budgets map[string]*budget
}

// Defaults of the Cache's bounds.
const (
	DefaultNegativeTTL = 30 * time.Second
	DefaultMissBurst   = 20
	DefaultMissRate    = 1.0
)

type cached struct {
	sess  Session
	until time.Time
}

type budget struct {
	tokens float64
	last   time.Time
}

// Size bounds: a full map first drops its expired entries, and is cleared
// if that is not enough.
const (
	maxCachedSessions = 50000
	maxMissingIDs     = 50000
	maxBudgets        = 10000
)

// Create implements the API's session store.
func (c *Cache) Create(ctx context.Context, traderID string) (Session, error) {
	sess, err := c.Store.Create(ctx, traderID)
	if err == nil {
		c.put(sess)
	}
	return sess, err
}

// Get returns the live session id for traderID (the caller; ownership is
// the API's to check): from memory when it was read within TTL,
// ErrNotFound from memory when the table lacked it within NegativeTTL,
// else from the table if the caller's budget allows (ErrLookupsThrottled
// otherwise).
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
	if !c.charge(traderID, now) {
		c.mu.Unlock()
		return Session{}, ErrLookupsThrottled
	}
	c.mu.Unlock()

	sess, err := c.Store.Get(ctx, id)
	switch {
	case err == nil:
		c.refund(traderID)
		c.put(sess)
	case errors.Is(err, ErrNotFound):
		c.miss(id)
	default:
		c.refund(traderID) // the table failed: not the caller's doing
	}
	return sess, err
}

// charge takes one read from traderID's budget (c.mu held).
func (c *Cache) charge(traderID string, now time.Time) bool {
	burst := float64(c.MissBurst)
	if burst <= 0 {
		burst = DefaultMissBurst
	}
	rate := c.MissRate
	if rate <= 0 {
		rate = DefaultMissRate
	}
	b, ok := c.budgets[traderID]
	if !ok {
		if c.budgets == nil || len(c.budgets) >= maxBudgets {
			c.budgets = map[string]*budget{}
		}
		b = &budget{tokens: burst, last: now}
		c.budgets[traderID] = b
	}
	b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// refund returns a read that found a session (or failed) to the budget.
func (c *Cache) refund(traderID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.budgets[traderID]; ok {
		b.tokens++
	}
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
	if len(c.missing) >= maxMissingIDs {
		for k, until := range c.missing {
			if !now.Before(until) {
				delete(c.missing, k)
			}
		}
		if len(c.missing) >= maxMissingIDs {
			clear(c.missing)
		}
	}
	c.missing[id] = now.Add(ttl)
}

func (c *Cache) put(sess Session) {
	if c.TTL <= 0 {
		return
	}
	until := c.Store.now().Add(c.TTL)
	if sess.ExpiresAt.Before(until) {
		until = sess.ExpiresAt
	}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= maxCachedSessions {
		c.entries = map[string]cached{}
	}
	c.entries[sess.SessionID] = cached{sess: sess, until: until}
	c.mu.Unlock()
}

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

// Cache wraps a session lookup with a short in-memory cache of live
// sessions, so an order does not pay a consistent DynamoDB read each time.
// Only found sessions are cached, never past their expiry.
type Cache struct {
	// Store is the backing store.
	Store *Store
	// TTL bounds how long an entry is served from memory.
	TTL time.Duration

	mu      sync.Mutex
	entries map[string]cached
}

type cached struct {
	sess  Session
	until time.Time
}

// maxCachedSessions bounds the cache; it is cleared when full.
const maxCachedSessions = 50000

// Create implements the API's session store.
func (c *Cache) Create(ctx context.Context, traderID string) (Session, error) {
	sess, err := c.Store.Create(ctx, traderID)
	if err == nil {
		c.put(sess)
	}
	return sess, err
}

// Get returns a live session, from memory when it was read within TTL.
func (c *Cache) Get(ctx context.Context, id string) (Session, error) {
	now := c.Store.now()
	c.mu.Lock()
	e, ok := c.entries[id]
	c.mu.Unlock()
	if ok && now.Before(e.until) {
		return e.sess, nil
	}
	sess, err := c.Store.Get(ctx, id)
	if err == nil {
		c.put(sess)
	}
	return sess, err
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

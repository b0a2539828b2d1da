// Package retry classifies database errors seen during failover and retries
// idempotent work with bounded, jittered exponential backoff.
package retry

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// transientSQLStates are PostgreSQL error codes that a failover, restart or
// transient overload produces and that are worth retrying.
var transientSQLStates = map[string]string{
	"57P01": "admin_shutdown",
	"57P02": "crash_shutdown",
	"57P03": "cannot_connect_now",
	"25006": "read_only_sql_transaction",
	"40001": "serialization_failure",
	"40P01": "deadlock_detected",
	"53300": "too_many_connections",
	"08000": "connection_exception",
	"08001": "sqlclient_unable_to_establish_sqlconnection",
	"08003": "connection_does_not_exist",
	"08004": "sqlserver_rejected_establishment_of_sqlconnection",
	"08006": "connection_failure",
	"08007": "transaction_resolution_unknown",
}

// staleConnSQLStates are codes after which pooled connections are likely to
// point at a dead or demoted server, so the pool should be re-dialled.
var staleConnSQLStates = map[string]bool{
	"57P01": true, "57P02": true, "57P03": true, "25006": true,
	"08000": true, "08001": true, "08003": true, "08004": true, "08006": true, "08007": true,
}

// IsTransient reports whether err is a failover-style error that an
// idempotent operation may retry: connection reset/refused/closed, server
// shutdown, read-only (demoted writer), cannot-connect-now and the like.
// Context cancellation and deadline errors are never transient.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		_, ok := transientSQLStates[pgErr.Code]
		return ok
	}
	// A dial that timed out (server gone during failover) is transient even
	// though it wraps context.DeadlineExceeded from pgx's connect timeout.
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return isConnectionError(err)
}

// NeedsRedial reports whether err suggests the pool's connections are stale
// (server gone, restarted or demoted) and idle connections should be closed.
func NeedsRedial(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return staleConnSQLStates[pgErr.Code]
	}
	return isConnectionError(err)
}

func isConnectionError(err error) bool {
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	if pgconn.SafeToRetry(err) {
		return true
	}
	for _, errno := range []syscall.Errno{syscall.ECONNRESET, syscall.ECONNREFUSED, syscall.ECONNABORTED,
		syscall.EPIPE, syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.ENETUNREACH} {
		if errors.Is(err, errno) {
			return true
		}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return true
	}
	// pgx reports a connection killed mid-flight with these messages and no
	// typed error.
	msg := err.Error()
	for _, s := range []string{"conn closed", "connection reset", "broken pipe", "unexpected EOF",
		"failed to deallocate cached statement", "the database system is shutting down",
		"the database system is starting up", "terminating connection"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// Policy bounds a retry loop.
type Policy struct {
	// Attempts is the maximum number of calls (>= 1).
	Attempts int
	// Base is the first backoff ceiling; it doubles per attempt.
	Base time.Duration
	// Max caps the backoff ceiling.
	Max time.Duration
	// Budget caps the total time spent, including calls (0 = no cap beyond ctx).
	Budget time.Duration
}

// Default suits request-path work: about 15 s worst case, enough to ride out
// an Aurora failover's DNS flip while staying under client timeouts.
var Default = Policy{Attempts: 10, Base: 50 * time.Millisecond, Max: 2 * time.Second, Budget: 15 * time.Second}

// Backoff returns the sleep before retry number attempt (1-based), using
// "full jitter": a uniform value in [0, min(Max, Base*2^(attempt-1))].
func (p Policy) Backoff(attempt int) time.Duration {
	ceil := p.Base
	for i := 1; i < attempt && ceil < p.Max; i++ {
		ceil *= 2
	}
	if ceil > p.Max {
		ceil = p.Max
	}
	if ceil <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(ceil) + 1))
}

// Do calls fn until it succeeds, returns a non-transient error, the attempts
// or budget are exhausted, or ctx ends. Before each retry it calls onRetry
// (which may be nil) with the error, e.g. to reset a connection pool. The
// last error is returned wrapped with the attempt count.
func Do(ctx context.Context, p Policy, onRetry func(attempt int, err error), fn func(context.Context) error) error {
	if p.Attempts < 1 {
		p.Attempts = 1
	}
	start := time.Now()
	var err error
	for attempt := 1; ; attempt++ {
		err = fn(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || !IsTransient(err) {
			return err
		}
		if attempt >= p.Attempts {
			return &ExhaustedError{Attempts: attempt, Err: err}
		}
		wait := p.Backoff(attempt)
		if p.Budget > 0 && time.Since(start)+wait > p.Budget {
			return &ExhaustedError{Attempts: attempt, Err: err}
		}
		if onRetry != nil {
			onRetry(attempt, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return &ExhaustedError{Attempts: attempt, Err: errors.Join(err, ctx.Err())}
		case <-t.C:
		}
	}
}

// ExhaustedError is returned by Do when a transient error persisted past the policy.
type ExhaustedError struct {
	// Attempts is how many calls were made.
	Attempts int
	// Err is the last error.
	Err error
}

// Error implements error.
func (e *ExhaustedError) Error() string {
	return "gave up after " + strconv.Itoa(e.Attempts) + " attempt(s): " + e.Err.Error()
}

// Unwrap returns the last error.
func (e *ExhaustedError) Unwrap() error { return e.Err }

// Unavailable reports whether err means a dependency stayed unreachable
// (transient errors that outlived the retry policy), as opposed to a bug or
// a permanent rejection. HTTP handlers map it to 503.
func Unavailable(err error) bool {
	var ex *ExhaustedError
	if errors.As(err, &ex) {
		return true
	}
	return IsTransient(err)
}

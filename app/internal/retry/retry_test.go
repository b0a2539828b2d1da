package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestIsTransient(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		want   bool
		redial bool
	}{
		{"nil", nil, false, false},
		{"admin shutdown 57P01", &pgconn.PgError{Code: "57P01"}, true, true},
		{"cannot connect now 57P03", &pgconn.PgError{Code: "57P03"}, true, true},
		{"read only 25006", fmt.Errorf("insert: %w", &pgconn.PgError{Code: "25006"}), true, true},
		{"connection failure 08006", &pgconn.PgError{Code: "08006"}, true, true},
		{"serialization 40001", &pgconn.PgError{Code: "40001"}, true, false},
		{"unique violation 23505", &pgconn.PgError{Code: "23505"}, false, false},
		{"syntax error 42601", &pgconn.PgError{Code: "42601"}, false, false},
		{"connection refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true, true},
		{"connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true, true},
		{"unexpected EOF", fmt.Errorf("receive: %w", io.ErrUnexpectedEOF), true, true},
		{"conn closed text", errors.New("conn closed"), true, true},
		{"caller cancelled", context.Canceled, false, false},
		{"caller deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), false, false},
		{"plain error", errors.New("boom"), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsTransient(tt.err); got != tt.want {
				t.Errorf("IsTransient = %v, want %v", got, tt.want)
			}
			if got := NeedsRedial(tt.err); got != tt.redial {
				t.Errorf("NeedsRedial = %v, want %v", got, tt.redial)
			}
		})
	}
}

func TestBackoffBoundedAndJittered(t *testing.T) {
	p := Policy{Attempts: 10, Base: 10 * time.Millisecond, Max: 80 * time.Millisecond}
	distinct := map[time.Duration]bool{}
	for attempt := 1; attempt <= 10; attempt++ {
		for range 50 {
			d := p.Backoff(attempt)
			if d < 0 || d > p.Max {
				t.Fatalf("attempt %d: backoff %s outside [0, %s]", attempt, d, p.Max)
			}
			distinct[d] = true
		}
	}
	if len(distinct) < 10 {
		t.Fatalf("backoff not jittered: %d distinct values", len(distinct))
	}
}

func TestDoRetriesTransientThenSucceeds(t *testing.T) {
	calls, retries := 0, 0
	err := Do(context.Background(), Policy{Attempts: 5, Base: time.Millisecond, Max: 2 * time.Millisecond},
		func(int, error) { retries++ },
		func(context.Context) error {
			calls++
			if calls < 3 {
				return &pgconn.PgError{Code: "57P01"}
			}
			return nil
		})
	if err != nil || calls != 3 || retries != 2 {
		t.Fatalf("err=%v calls=%d retries=%d", err, calls, retries)
	}
}

func TestDoStopsOnPermanentError(t *testing.T) {
	calls := 0
	perm := &pgconn.PgError{Code: "23514"}
	err := Do(context.Background(), Default, nil, func(context.Context) error { calls++; return perm })
	if !errors.Is(err, perm) || calls != 1 || Unavailable(err) {
		t.Fatalf("err=%v calls=%d", err, calls)
	}
}

func TestDoGivesUpAfterAttempts(t *testing.T) {
	calls := 0
	err := Do(context.Background(), Policy{Attempts: 4, Base: time.Millisecond, Max: time.Millisecond}, nil,
		func(context.Context) error { calls++; return syscall.ECONNREFUSED })
	var ex *ExhaustedError
	if !errors.As(err, &ex) || ex.Attempts != 4 || calls != 4 || !Unavailable(err) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err=%v calls=%d", err, calls)
	}
}

func TestDoHonoursBudgetAndContext(t *testing.T) {
	start := time.Now()
	err := Do(context.Background(), Policy{Attempts: 1000, Base: 20 * time.Millisecond, Max: 20 * time.Millisecond, Budget: 100 * time.Millisecond},
		nil, func(context.Context) error { return syscall.ECONNRESET })
	if err == nil || time.Since(start) > time.Second {
		t.Fatalf("budget not honoured: %v after %s", err, time.Since(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	err = Do(ctx, Default, nil, func(context.Context) error { calls++; return syscall.ECONNRESET })
	if err == nil || calls != 1 {
		t.Fatalf("cancelled ctx: err=%v calls=%d", err, calls)
	}
}

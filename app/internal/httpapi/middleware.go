package httpapi

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/uuid"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	loggerKey
	traderKey
)

// accessInfo is what handlers add to the request's single access-log line.
type accessInfo struct {
	trader, orderID string
}

// setTrader records the authenticated trader for the access log line.
func setTrader(ctx context.Context, trader string) {
	if p, ok := ctx.Value(traderKey).(*accessInfo); ok {
		p.trader = trader
	}
}

// setOrder records the order the request created or returned.
func setOrder(ctx context.Context, orderID string) {
	if p, ok := ctx.Value(traderKey).(*accessInfo); ok {
		p.orderID = orderID
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._:\-]{1,128}$`)

// RequestID returns the request ID stored in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

// withRequestContext assigns a request ID (X-Request-ID if the caller sent a
// sane one, else a new UUID), echoes it, puts a request-scoped logger in the
// context and writes one access-log line per request.
func (a *API) withRequestContext(next http.Handler) http.Handler {
	base := a.Logger
	if base == nil {
		base = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if !requestIDRE.MatchString(id) {
			id = uuid.NewString()
		}
		w.Header().Set("X-Request-ID", id)
		l := base.With(slog.String("request_id", id))
		var info accessInfo
		ctx := context.WithValue(context.WithValue(context.WithValue(r.Context(), requestIDKey, id), loggerKey, l), traderKey, &info)
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				l.LogAttrs(ctx, slog.LevelError, "handler panic", slog.Any("panic", p))
				if rec.status == 0 {
					writeError(rec, http.StatusInternalServerError, "internal", "internal error", "")
				}
			}
			drain(r.Body)
			level := slog.LevelInfo
			if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
				level = slog.LevelDebug
			}
			if !l.Enabled(ctx, level) {
				return
			}
			// The path never holds a credential: session ids travel in
			// X-Session-ID, idempotency keys in Idempotency-Key (or the
			// query of GET /orders, which is not logged).
			l.LogAttrs(ctx, level, "http request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("trader_id", info.trader),
				slog.String("order_id", info.orderID),
				slog.Int("status", rec.status), slog.Int("bytes", rec.bytes),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000))
		}()
		next.ServeHTTP(rec, r.WithContext(ctx))
	})
}

// isAWSUnavailable reports throttling, 5xx and transport failures from AWS SDK calls.
func isAWSUnavailable(err error) bool {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
			"InternalServerError", "ServiceUnavailable":
			return true
		}
		return false
	}
	var oe *smithy.OperationError
	return errors.As(err, &oe) // transport-level failure (connection refused, timeout)
}

// Package httpapi serves the trading service's HTTP API (see CONTRACT.md):
// health and readiness probes, sessions and idempotent orders.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trading-ha/trading-ha/app/internal/orders"
	"github.com/trading-ha/trading-ha/app/internal/retry"
	"github.com/trading-ha/trading-ha/app/internal/sessions"
	"github.com/trading-ha/trading-ha/app/internal/store"
)

// maxBodyBytes bounds request bodies.
const maxBodyBytes = 64 << 10

// Sessions is what the API needs from the session store.
type Sessions interface {
	Create(ctx context.Context, traderID string) (sessions.Session, error)
	Get(ctx context.Context, id string) (sessions.Session, error)
	Check(ctx context.Context) error
}

// Orders is what the API needs from the order store.
type Orders interface {
	CreateOrder(ctx context.Context, sessionID, traderID, key string, req orders.Request) (store.CreateResult, error)
	GetOrder(ctx context.Context, id string) (orders.Order, error)
	Ping(ctx context.Context) error
}

// API holds the handlers' dependencies.
type API struct {
	// Sessions is the DynamoDB-backed session store.
	Sessions Sessions
	// Orders is the PostgreSQL-backed order store.
	Orders Orders
	// Logger is the base logger; a request-scoped child carries the request ID.
	Logger *slog.Logger
	// OnOrderCreated is called after a new order commits (wakes the relay). May be nil.
	OnOrderCreated func()
	// CheckTimeout bounds each readiness check (default 2s).
	CheckTimeout time.Duration

	draining atomic.Bool
}

// SetDraining makes /readyz fail from now on (graceful shutdown step one).
func (a *API) SetDraining() { a.draining.Store(true) }

// Handler returns the routed, instrumented handler.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.HandleFunc("POST /sessions", a.createSession)
	mux.HandleFunc("GET /sessions/{id}", a.getSession)
	mux.HandleFunc("POST /orders", a.createOrder)
	mux.HandleFunc("GET /orders/{id}", a.getOrder)
	return a.withRequestContext(mux)
}

func (a *API) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

type readiness struct {
	Status  string            `json:"status"`
	Failing []string          `json:"failing,omitempty"`
	Checks  map[string]string `json:"checks"`
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	timeout := a.CheckTimeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	checks := map[string]func(context.Context) error{
		"database": a.Orders.Ping,
		"sessions": a.Sessions.Check,
	}
	res := readiness{Status: "ready", Checks: map[string]string{"config": "ok"}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, check := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(r.Context(), timeout)
			defer cancel()
			err := check(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Checks[name] = "error: " + err.Error()
				res.Failing = append(res.Failing, name)
				return
			}
			res.Checks[name] = "ok"
		}()
	}
	wg.Wait()
	if a.draining.Load() {
		res.Checks["shutdown"] = "draining"
		res.Failing = append(res.Failing, "shutdown")
	}
	if len(res.Failing) > 0 {
		slices.Sort(res.Failing)
		res.Status = "not_ready"
		logger(r.Context()).LogAttrs(r.Context(), slog.LevelWarn, "not ready", slog.Any("failing", res.Failing))
		writeJSON(w, http.StatusServiceUnavailable, res)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

type sessionRequest struct {
	TraderID string `json:"trader_id"`
}

func (a *API) createSession(w http.ResponseWriter, r *http.Request) {
	var req sessionRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "body must be a JSON object like {\"trader_id\":\"T-1\"}", "")
		return
	}
	if req.TraderID == "" {
		writeError(w, http.StatusBadRequest, "trader_id is required", "trader_id")
		return
	}
	if !sessions.ValidTraderID(req.TraderID) {
		writeError(w, http.StatusBadRequest, "trader_id must be 1-64 letters, digits, '.', '_', ':' or '-'", "trader_id")
		return
	}
	sess, err := a.Sessions.Create(r.Context(), req.TraderID)
	if err != nil {
		a.dependencyError(w, r, "sessions", err)
		return
	}
	writeJSON(w, http.StatusCreated, sess)
}

func (a *API) getSession(w http.ResponseWriter, r *http.Request) {
	sess, err := a.Sessions.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, sessions.ErrNotFound) {
		writeError(w, http.StatusNotFound, "session not found or expired", "")
		return
	}
	if err != nil {
		a.dependencyError(w, r, "sessions", err)
		return
	}
	writeJSON(w, http.StatusOK, sess)
}

func (a *API) createOrder(w http.ResponseWriter, r *http.Request) {
	sessionID := r.Header.Get("X-Session-ID")
	if sessionID == "" {
		writeError(w, http.StatusBadRequest, "X-Session-ID header is required", "X-Session-ID")
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if err := orders.ValidateIdempotencyKey(key); err != nil {
		writeValidation(w, err)
		return
	}
	req, err := orders.ParseRequest(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		writeValidation(w, err)
		return
	}
	sess, err := a.Sessions.Get(r.Context(), sessionID)
	if errors.Is(err, sessions.ErrNotFound) {
		writeError(w, http.StatusUnauthorized, "unknown or expired session", "X-Session-ID")
		return
	}
	if err != nil {
		a.dependencyError(w, r, "sessions", err)
		return
	}
	res, err := a.Orders.CreateOrder(r.Context(), sess.SessionID, sess.TraderID, key, req)
	if errors.Is(err, store.ErrKeyReused) {
		writeError(w, http.StatusUnprocessableEntity, "Idempotency-Key was already used with a different request", "Idempotency-Key")
		return
	}
	if err != nil {
		a.dependencyError(w, r, "database", err)
		return
	}
	log := logger(r.Context())
	if !res.Created {
		log.LogAttrs(r.Context(), slog.LevelInfo, "idempotent replay", slog.String("order_id", res.Order.OrderID))
		writeJSON(w, http.StatusOK, res.Order)
		return
	}
	log.LogAttrs(r.Context(), slog.LevelInfo, "order accepted", slog.String("order_id", res.Order.OrderID),
		slog.String("symbol", res.Order.Symbol), slog.Bool("synthetic", res.Order.Synthetic))
	if a.OnOrderCreated != nil {
		a.OnOrderCreated()
	}
	writeJSON(w, http.StatusCreated, res.Order)
}

func (a *API) getOrder(w http.ResponseWriter, r *http.Request) {
	o, err := a.Orders.GetOrder(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "order not found", "")
		return
	}
	if err != nil {
		a.dependencyError(w, r, "database", err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

// dependencyError answers 503 (retryable, with Retry-After) when a dependency
// stayed unavailable and 500 otherwise; details go to the log, not the client.
func (a *API) dependencyError(w http.ResponseWriter, r *http.Request, dep string, err error) {
	status, msg := http.StatusInternalServerError, "internal error"
	if retry.Unavailable(err) || isAWSUnavailable(err) || errors.Is(err, context.DeadlineExceeded) {
		status, msg = http.StatusServiceUnavailable, dep+" temporarily unavailable; retry (with the same Idempotency-Key for orders)"
		w.Header().Set("Retry-After", "1")
	}
	logger(r.Context()).LogAttrs(r.Context(), slog.LevelError, "dependency error",
		slog.String("dependency", dep), slog.Int("status", status), slog.String("error", err.Error()))
	writeJSON(w, status, map[string]string{"error": msg, "request_id": RequestID(r.Context())})
}

func writeValidation(w http.ResponseWriter, err error) {
	var ve *orders.ValidationError
	if errors.As(err, &ve) {
		writeError(w, http.StatusBadRequest, ve.Error(), ve.Field)
		return
	}
	writeError(w, http.StatusBadRequest, err.Error(), "")
}

func writeError(w http.ResponseWriter, status int, msg, field string) {
	body := map[string]string{"error": msg}
	if field != "" {
		body["field"] = field
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

// drain discards what is left of a body so keep-alive connections survive.
func drain(r io.Reader) { _, _ = io.Copy(io.Discard, io.LimitReader(r, maxBodyBytes)) }

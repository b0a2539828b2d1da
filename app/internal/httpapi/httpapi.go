// Package httpapi serves the trading service's HTTP API (see CONTRACT.md):
// open liveness and readiness probes that answer from process-local state, and bearer-authenticated sessions and
// idempotent orders bound to the caller's trader identity.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/trading-ha/trading-ha/app/internal/auth"
	"github.com/trading-ha/trading-ha/app/internal/orders"
	"github.com/trading-ha/trading-ha/app/internal/retry"
	"github.com/trading-ha/trading-ha/app/internal/risk"
	"github.com/trading-ha/trading-ha/app/internal/sessions"
	"github.com/trading-ha/trading-ha/app/internal/store"
)

// MaxBodyBytes bounds request bodies; larger ones answer 413.
const MaxBodyBytes = 64 << 10

// DefaultRequestTimeout is the deadline of an authenticated request when
// API.RequestTimeout is zero. Every dependency call (a DynamoDB call with
// its own SESSIONS_TIMEOUT, the database's retries within their 15 s
// budget) runs inside it, and it ends before the server's 30 s write
// timeout: a dependency that hangs costs the client a 503 with
// Retry-After, never a connection closed without a reply.
const DefaultRequestTimeout = 20 * time.Second

// Header names.
const (
	// HeaderSessionID carries the session id (never in the path: paths are logged).
	HeaderSessionID = "X-Session-ID"
	// HeaderIdempotencyKey carries the per-trader idempotency key.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderIdempotentReplayed is "true" on a response that returns an
	// order an earlier request with the same key created (the convention of
	// Stripe and the IETF Idempotency-Key draft).
	HeaderIdempotentReplayed = "Idempotent-Replayed"
)

// Sessions is what the API needs from the session store.
type Sessions interface {
	// Create opens a session for the calling trader; the store may bound a
	// trader's new sessions (sessions.ErrCreationsThrottled).
	Create(ctx context.Context, traderID string) (sessions.Session, error)
	// Get returns session id for the calling trader (ownership is checked
	// here; the store may use the trader to bound its lookups,
	// sessions.ErrLookupsThrottled).
	Get(ctx context.Context, traderID, id string) (sessions.Session, error)
}

// Orders is what the API needs from the order store.
type Orders interface {
	CreateOrder(ctx context.Context, traderID, sessionID, key string, req orders.Request) (store.CreateResult, error)
	GetOrder(ctx context.Context, id string) (orders.Order, error)
	// FindByKey returns the order a trader's active idempotency key names
	// and its request fingerprint, or store.ErrNotFound.
	FindByKey(ctx context.Context, traderID, key string) (store.KeyedOrder, error)
}

// Authenticator verifies bearer tokens.
type Authenticator interface {
	Verify(ctx context.Context, token string) (auth.Principal, error)
}

// Risk applies pre-trade limits and the kill switch.
type Risk interface {
	Check(c risk.Caller, req orders.Request) *risk.Rejection
}

// API holds the handlers' dependencies.
type API struct {
	// Sessions is the DynamoDB-backed session store.
	Sessions Sessions
	// Orders is the PostgreSQL-backed order store.
	Orders Orders
	// Auth verifies bearer tokens (required).
	Auth Authenticator
	// Risk checks orders (required).
	Risk Risk
	// Logger is the base logger; a request-scoped child carries the request ID.
	Logger *slog.Logger
	// OnOrderCreated is called after a new order commits (wakes the relay). May be nil.
	OnOrderCreated func()
	// Liveness, if set, makes /healthz answer 503 when it returns an error
	// (sustained database authentication failure: ECS replaces the task).
	Liveness func() error
	// RequestTimeout is the deadline of each authenticated request
	// (default DefaultRequestTimeout); dependency calls nest their own,
	// shorter deadlines inside it.
	RequestTimeout time.Duration

	draining atomic.Bool
	started  atomic.Bool
}

// SetDraining makes /readyz fail from now on (graceful shutdown step one:
// the load balancer stops routing new requests to this task).
func (a *API) SetDraining() { a.draining.Store(true) }

// SetStarted marks start-up (schema migrations) complete; until then
// /readyz fails with check "startup".
func (a *API) SetStarted() { a.started.Store(true) }

// Handler returns the routed, instrumented handler.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.HandleFunc("POST /sessions", a.authenticated(a.createSession))
	mux.HandleFunc("GET /sessions/current", a.authenticated(a.getSession))
	mux.HandleFunc("POST /orders", a.authenticated(a.createOrder))
	mux.HandleFunc("GET /orders", a.authenticated(a.getOrderByKey))
	mux.HandleFunc("GET /orders/{id}", a.authenticated(a.getOrder))
	return a.withRequestContext(mux)
}

func (a *API) healthz(w http.ResponseWriter, r *http.Request) {
	if a.Liveness != nil {
		if err := a.Liveness(); err != nil {
			logger(r.Context()).LogAttrs(r.Context(), slog.LevelError, "liveness failing", slog.String("error", err.Error()))
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unhealthy"})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

type readiness struct {
	Status  string            `json:"status"`
	Failing []string          `json:"failing,omitempty"`
	Checks  map[string]string `json:"checks"`
}

// readyz is readiness and the load balancer's health check. It answers from
// process-local state only: "startup" (the schema was verified, or migrated,
// once) and "shutdown" (SIGTERM has not arrived). It never asks a shared
// dependency: when the database, DynamoDB or SSM fails, every task would
// fail the check at once and ECS would replace the whole fleet in the very
// failure it is built to survive (AWS Builders' Library, "Implementing
// health checks"). Dependency trouble is answered per request (503 with
// Retry-After) and counted by the "dependency error" log line.
func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	res := readiness{Status: "ready", Checks: map[string]string{"startup": "ok", "shutdown": "ok"}}
	if !a.started.Load() {
		res.Checks["startup"] = "fail"
		res.Failing = append(res.Failing, "startup")
	}
	if a.draining.Load() {
		res.Checks["shutdown"] = "fail"
		res.Failing = append(res.Failing, "shutdown")
	}
	if len(res.Failing) > 0 {
		res.Status = "not_ready"
		writeJSON(w, http.StatusServiceUnavailable, res)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

type principalKey struct{}

// principal returns the verified caller of an authenticated handler.
func principal(ctx context.Context) auth.Principal {
	p, _ := ctx.Value(principalKey{}).(auth.Principal)
	return p
}

// authenticated requires a verified bearer token (401 otherwise; 503 when
// the issuer's keys cannot be fetched) and puts the request under its
// deadline (RequestTimeout).
func (a *API) authenticated(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		timeout := a.RequestTimeout
		if timeout <= 0 {
			timeout = DefaultRequestTimeout
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		r = r.WithContext(ctx)
		tok, err := bearerToken(r.Header)
		var p auth.Principal
		if err == nil {
			p, err = a.Auth.Verify(r.Context(), tok)
		}
		if err != nil {
			if errors.Is(err, auth.ErrKeysUnavailable) {
				a.dependencyError(w, r, "identity provider", err)
				return
			}
			logger(r.Context()).LogAttrs(r.Context(), slog.LevelInfo, "authentication failed", slog.String("reason", err.Error()))
			w.Header().Set("WWW-Authenticate", `Bearer realm="trading", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "a valid bearer access token is required", "Authorization")
			return
		}
		setTrader(r.Context(), p.TraderID)
		next(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	}
}

// errManyAuthorization refuses a request with more than one Authorization
// field line.
var errManyAuthorization = errors.New("more than one Authorization header")

// bearerToken reads the one Authorization header. Authorization is not a
// list-valued field (RFC 9110 section 11.6.2 defines a single
// credentials value), so repeated lines cannot be combined: a request
// carrying two is refused rather than judged by the first, which a proxy
// or WAF in front might not be the one it read.
func bearerToken(h http.Header) (string, error) {
	if v := h.Values("Authorization"); len(v) > 1 {
		return "", errManyAuthorization
	}
	return auth.FromHeader(h.Get("Authorization"))
}

type sessionRequest struct {
	TraderID string `json:"trader_id"`
}

func (a *API) createSession(w http.ResponseWriter, r *http.Request) {
	p := principal(r.Context())
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		a.bodyError(w, err)
		return
	}
	if len(body) > 0 {
		m, err := orders.StrictObject(bytesReader(body), []string{"trader_id"})
		if err != nil {
			a.bodyError(w, err)
			return
		}
		if raw, ok := m["trader_id"]; ok {
			var req sessionRequest
			if err := json.Unmarshal(raw, &req.TraderID); err != nil {
				writeError(w, http.StatusBadRequest, "invalid_request", "trader_id must be a string", "trader_id")
				return
			}
			if req.TraderID != p.TraderID {
				writeError(w, http.StatusForbidden, "forbidden", "a session can only be opened for the authenticated trader", "trader_id")
				return
			}
		}
	}
	sess, err := a.Sessions.Create(r.Context(), p.TraderID)
	if errors.Is(err, sessions.ErrCreationsThrottled) {
		writeThrottled(w, err, "session_creations_exceeded", "too many sessions opened; slow down", "")
		return
	}
	if err != nil {
		a.dependencyError(w, r, "sessions", err)
		return
	}
	writeJSON(w, http.StatusCreated, sess)
}

// writeThrottled answers a spent budget of the session store: 429 with
// Retry-After, the whole seconds until the budget has a token again (1
// when the store does not say).
func writeThrottled(w http.ResponseWriter, err error, code, msg, field string) {
	wait := time.Second
	var te *sessions.ThrottledError
	if errors.As(err, &te) && te.RetryAfter > wait {
		wait = te.RetryAfter
	}
	w.Header().Set("Retry-After", strconv.FormatInt(int64((wait+time.Second-1)/time.Second), 10))
	writeError(w, http.StatusTooManyRequests, code, msg, field)
}

// ownedSession loads the X-Session-ID session and checks it belongs to the
// caller. It writes the error response and returns false on failure.
func (a *API) ownedSession(w http.ResponseWriter, r *http.Request, missingStatus int) (sessions.Session, bool) {
	id := r.Header.Get(HeaderSessionID)
	if id == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", HeaderSessionID+" header is required", HeaderSessionID)
		return sessions.Session{}, false
	}
	sess, err := a.Sessions.Get(r.Context(), principal(r.Context()).TraderID, id)
	if errors.Is(err, sessions.ErrNotFound) {
		if missingStatus == http.StatusUnauthorized {
			// RFC 6750's challenge; error_description says it is the
			// session, not the bearer token, that is no good: open a new one.
			w.Header().Set("WWW-Authenticate", `Bearer realm="trading", error="invalid_token", error_description="session"`)
		}
		writeError(w, missingStatus, "session_invalid", "unknown or expired session", HeaderSessionID)
		return sessions.Session{}, false
	}
	if errors.Is(err, sessions.ErrLookupsThrottled) {
		writeThrottled(w, err, "session_lookups_exceeded", "too many lookups of unknown sessions; slow down", HeaderSessionID)
		return sessions.Session{}, false
	}
	if err != nil {
		a.dependencyError(w, r, "sessions", err)
		return sessions.Session{}, false
	}
	if sess.TraderID != principal(r.Context()).TraderID {
		writeError(w, http.StatusForbidden, "forbidden", "the session belongs to another trader", HeaderSessionID)
		return sessions.Session{}, false
	}
	return sess, true
}

func (a *API) getSession(w http.ResponseWriter, r *http.Request) {
	sess, ok := a.ownedSession(w, r, http.StatusNotFound)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, sess)
}

func (a *API) createOrder(w http.ResponseWriter, r *http.Request) {
	p := principal(r.Context())
	key := r.Header.Get(HeaderIdempotencyKey)
	if err := orders.ValidateIdempotencyKey(key); err != nil {
		writeValidation(w, err)
		return
	}
	req, err := orders.ParseRequest(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		a.bodyError(w, err)
		return
	}
	sess, ok := a.ownedSession(w, r, http.StatusUnauthorized)
	if !ok {
		return
	}
	if req, ok = syntheticFor(w, p, req); !ok {
		return
	}
	// Checks first: the happy path pays nothing for idempotency beyond the
	// insert's ON CONFLICT. Only a refusal looks the key up, so a retry of
	// an accepted order gets that order whatever changed since (limits, the
	// kill switch, the rate) — checks apply to new orders only.
	if rej := a.Risk.Check(risk.Caller{Trader: p.TraderID, Probe: p.Kind == auth.KindProbe}, req); rej != nil {
		a.refuseOrReplay(w, r, p.TraderID, key, req, rej)
		return
	}
	res, err := a.Orders.CreateOrder(r.Context(), p.TraderID, sess.SessionID, key, req)
	if errors.Is(err, store.ErrKeyReused) {
		writeKeyReused(w)
		return
	}
	if err != nil {
		a.dependencyError(w, r, "database", err)
		return
	}
	// One log line per request: the access log carries trader, order and
	// status (201 accepted, 200 replay).
	setOrder(r.Context(), res.Order.OrderID)
	if !res.Created {
		writeReplay(w, res.Order)
		return
	}
	if a.OnOrderCreated != nil {
		a.OnOrderCreated()
	}
	writeJSON(w, http.StatusCreated, res.Order)
}

// syntheticFor binds the synthetic flag to the principal: a probe's orders
// are always synthetic (absent is forced true, false is 403
// synthetic_required) and a desk's never are (true is 403
// synthetic_not_allowed), so consumers and audits can trust the flag.
func syntheticFor(w http.ResponseWriter, p auth.Principal, req orders.Request) (orders.Request, bool) {
	switch {
	case p.Kind == auth.KindProbe && req.SyntheticSet && !req.Synthetic:
		writeError(w, http.StatusForbidden, "synthetic_required", "a probe's orders are synthetic: send synthetic true or omit it", "synthetic")
		return req, false
	case p.Kind == auth.KindProbe:
		req.Synthetic = true
	case req.Synthetic:
		writeError(w, http.StatusForbidden, "synthetic_not_allowed", "only probe clients (scope trading/probe) may place synthetic orders", "synthetic")
		return req, false
	}
	return req, true
}

// refuseOrReplay answers an order a check refused. If the trader's key
// already names an order it is a retry: the same request gets that order
// (200, Idempotent-Replayed), a different one 422 idempotency_key_reused.
// Otherwise the refusal stands. When the key cannot be looked up, a final
// refusal (409, 422) could deny an order that exists, so the answer is 503
// (retry with the same key); a retryable refusal (429, 503) is answered as is.
func (a *API) refuseOrReplay(w http.ResponseWriter, r *http.Request, trader, key string, req orders.Request, rej *risk.Rejection) {
	found, err := a.Orders.FindByKey(r.Context(), trader, key)
	switch {
	case err == nil && found.RequestHash == req.Fingerprint(trader):
		setOrder(r.Context(), found.Order.OrderID)
		writeReplay(w, found.Order)
		return
	case err == nil:
		writeKeyReused(w)
		return
	case !errors.Is(err, store.ErrNotFound) && !rej.Retryable():
		a.dependencyError(w, r, "database", err)
		return
	}
	if rej.Retryable() {
		w.Header().Set("Retry-After", "1")
	}
	logger(r.Context()).LogAttrs(r.Context(), slog.LevelInfo, "order rejected", slog.String("code", rej.Code))
	writeError(w, rej.Status, rej.Code, rej.Message, rej.Field)
}

// getOrderByKey answers GET /orders?idempotency_key=K: the caller's order
// placed with key K (while the key is reserved), else 404. Desks use it to
// learn whether an order whose reply they lost exists.
func (a *API) getOrderByKey(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("idempotency_key")
	if err := orders.ValidateIdempotencyKey(key); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "query parameter idempotency_key is required: 1-128 printable ASCII characters, no spaces", "idempotency_key")
		return
	}
	found, err := a.Orders.FindByKey(r.Context(), principal(r.Context()).TraderID, key)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no order of yours has this idempotency key", "")
		return
	}
	if err != nil {
		a.dependencyError(w, r, "database", err)
		return
	}
	setOrder(r.Context(), found.Order.OrderID)
	writeJSON(w, http.StatusOK, found.Order)
}

func writeKeyReused(w http.ResponseWriter) {
	writeError(w, http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key was already used with a different request", HeaderIdempotencyKey)
}

// writeReplay answers a retry with the order its key created.
func writeReplay(w http.ResponseWriter, o orders.Order) {
	w.Header().Set(HeaderIdempotentReplayed, "true")
	writeJSON(w, http.StatusOK, o)
}

func (a *API) getOrder(w http.ResponseWriter, r *http.Request) {
	o, err := a.Orders.GetOrder(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "order not found", "")
		return
	}
	if err != nil {
		a.dependencyError(w, r, "database", err)
		return
	}
	if o.TraderID != principal(r.Context()).TraderID {
		writeError(w, http.StatusForbidden, "forbidden", "the order belongs to another trader", "")
		return
	}
	setOrder(r.Context(), o.OrderID)
	writeJSON(w, http.StatusOK, o)
}

func (a *API) bodyError(w http.ResponseWriter, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", "request body exceeds the limit", "")
		return
	}
	writeValidation(w, err)
}

// dependencyError answers 503 (retryable, with Retry-After) when a
// dependency stayed unavailable or refused our credentials, and 500
// otherwise; details go to the log, not the client.
func (a *API) dependencyError(w http.ResponseWriter, r *http.Request, dep string, err error) {
	status, code, msg := http.StatusInternalServerError, "internal", "internal error"
	if retry.Unavailable(err) || isAWSUnavailable(err) || errors.Is(err, context.DeadlineExceeded) ||
		store.IsAuthFailure(err) || errors.Is(err, auth.ErrKeysUnavailable) {
		status, code = http.StatusServiceUnavailable, "unavailable"
		msg = dep + " temporarily unavailable; retry (with the same Idempotency-Key for orders)"
		w.Header().Set("Retry-After", "1")
	}
	logger(r.Context()).LogAttrs(r.Context(), slog.LevelError, "dependency error",
		slog.String("dependency", dep), slog.Int("status", status), slog.String("error", err.Error()))
	writeJSON(w, status, map[string]string{"error": msg, "code": code, "request_id": RequestID(r.Context())})
}

func writeValidation(w http.ResponseWriter, err error) {
	var ve *orders.ValidationError
	if errors.As(err, &ve) {
		writeError(w, http.StatusBadRequest, "invalid_request", ve.Error(), ve.Field)
		return
	}
	writeError(w, http.StatusBadRequest, "invalid_request", "invalid request", "")
}

func writeError(w http.ResponseWriter, status int, code, msg, field string) {
	body := map[string]string{"error": msg, "code": code}
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
func drain(r io.Reader) { _, _ = io.Copy(io.Discard, io.LimitReader(r, MaxBodyBytes)) }

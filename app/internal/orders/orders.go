// Package orders defines the order model, request validation and the
// fingerprint used to detect an Idempotency-Key reused with a different body.
package orders

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Sides an order may take.
const (
	SideBuy  = "buy"
	SideSell = "sell"
)

// StatusAccepted is the status of every order the service stores.
const StatusAccepted = "accepted"

// Limits enforced by validation.
const (
	MaxQuantity          = 1_000_000_000
	MaxIdempotencyKeyLen = 128
	maxPriceIntDigits    = 12
	maxPriceFracDigits   = 4
)

var (
	symbolRE = regexp.MustCompile(`^[A-Z][A-Z0-9.\-]{0,11}$`)
	priceRE  = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
)

// Order is a stored order as returned by the API to its owner.
type Order struct {
	OrderID string `json:"order_id"`
	// SessionID is stored for audit but never serialised: it is a
	// credential-like value that must not reach events, logs or other callers.
	SessionID      string    `json:"-"`
	TraderID       string    `json:"trader_id,omitempty"`
	Symbol         string    `json:"symbol"`
	Side           string    `json:"side"`
	Quantity       int64     `json:"quantity"`
	LimitPrice     string    `json:"limit_price"`
	Status         string    `json:"status"`
	Synthetic      bool      `json:"synthetic"`
	IdempotencyKey string    `json:"idempotency_key"`
	CreatedAt      time.Time `json:"created_at"`
}

// Request is a validated order request.
type Request struct {
	Symbol     string
	Side       string
	Quantity   int64
	LimitPrice string // canonical decimal, e.g. "187.25"
	Synthetic  bool
	// SyntheticSet reports whether the body carried synthetic (true or
	// false, not null): a probe's order is forced synthetic only when the
	// member is absent. Not part of the fingerprint.
	SyntheticSet bool
}

// ValidationError is a client error naming the offending field.
type ValidationError struct {
	// Field is the JSON field (or header) at fault; empty for the body as a whole.
	Field string
	// Message explains the problem.
	Message string
}

// Error implements error.
func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// fields are the exact JSON member names of an order request.
var fields = []string{"symbol", "side", "quantity", "limit_price", "synthetic"}

// StrictObject decodes one JSON object from body into its members' raw
// values, rejecting what encoding/json tolerates: duplicate member names
// (last-wins there), names that differ from allowed only in case
// (case-insensitive there), unknown members and trailing data. Errors are
// *ValidationError; a body over an http.MaxBytesReader limit is returned
// as the reader's error (answer 413).
func StrictObject(body io.Reader, allowed []string) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(body)
	tok, err := dec.Token()
	if err != nil {
		return nil, bodyError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, invalid("", "body must be a JSON object")
	}
	out := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, bodyError(err)
		}
		name, _ := tok.(string)
		if !slices.Contains(allowed, name) {
			return nil, invalid(name, "is not a known field (names are case-sensitive)")
		}
		if _, dup := out[name]; dup {
			return nil, invalid(name, "appears more than once")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, bodyError(err)
		}
		out[name] = raw
	}
	if _, err := dec.Token(); err != nil {
		return nil, bodyError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, bodyError(err)
		}
		return nil, invalid("", "body must contain a single JSON object")
	}
	return out, nil
}

func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return invalid("", "body must be a JSON object: %v", err)
}

func optString(raw json.RawMessage, field string) (*string, error) {
	if raw == nil || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, invalid(field, "has the wrong JSON type (want a string)")
	}
	return &s, nil
}

// ParseRequest decodes and validates an order body strictly (see
// StrictObject). Every returned error is a *ValidationError suitable for a
// 400 response, or an *http.MaxBytesError (413).
func ParseRequest(body io.Reader) (Request, error) {
	m, err := StrictObject(body, fields)
	if err != nil {
		return Request{}, err
	}
	var w struct {
		Symbol, Side         *string
		Quantity, LimitPrice json.RawMessage
		Synthetic            *bool
	}
	if w.Symbol, err = optString(m["symbol"], "symbol"); err != nil {
		return Request{}, err
	}
	if w.Side, err = optString(m["side"], "side"); err != nil {
		return Request{}, err
	}
	w.Quantity, w.LimitPrice = m["quantity"], m["limit_price"]
	if raw := m["synthetic"]; raw != nil && string(raw) != "null" {
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return Request{}, invalid("synthetic", "has the wrong JSON type (want a boolean)")
		}
		w.Synthetic = &b
	}
	var r Request
	switch {
	case w.Symbol == nil || *w.Symbol == "":
		return Request{}, invalid("symbol", "is required")
	case !symbolRE.MatchString(*w.Symbol):
		return Request{}, invalid("symbol", "must be 1-12 upper-case letters, digits, '.' or '-', starting with a letter")
	}
	r.Symbol = *w.Symbol
	switch {
	case w.Side == nil || *w.Side == "":
		return Request{}, invalid("side", "is required")
	case *w.Side != SideBuy && *w.Side != SideSell:
		return Request{}, invalid("side", "must be %q or %q", SideBuy, SideSell)
	}
	r.Side = *w.Side
	q, err := parseQuantity(w.Quantity)
	if err != nil {
		return Request{}, err
	}
	r.Quantity = q
	p, err := parseLimitPrice(w.LimitPrice)
	if err != nil {
		return Request{}, err
	}
	r.LimitPrice = p
	if w.Synthetic != nil {
		r.Synthetic, r.SyntheticSet = *w.Synthetic, true
	}
	return r, nil
}

func parseQuantity(raw json.RawMessage) (int64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, invalid("quantity", "is required")
	}
	s := string(bytes.TrimSpace(raw))
	if strings.HasPrefix(s, `"`) {
		return 0, invalid("quantity", "must be a JSON integer, not a string")
	}
	q, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, invalid("quantity", "must be a whole number")
	}
	if q < 1 || q > MaxQuantity {
		return 0, invalid("quantity", "must be between 1 and %d", MaxQuantity)
	}
	return q, nil
}

func parseLimitPrice(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", invalid("limit_price", "is required")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", invalid("limit_price", `must be a decimal string such as "187.25" (strings avoid float rounding)`)
	}
	return CanonicalPrice(s)
}

// CanonicalPrice validates a positive decimal price with at most 12 integer
// and 4 fractional digits and returns it without redundant zeros
// ("0187.2500" -> "187.25", "10.0" -> "10").
func CanonicalPrice(s string) (string, error) {
	if !priceRE.MatchString(s) {
		return "", invalid("limit_price", "must be a positive decimal such as \"187.25\"")
	}
	intPart, frac, _ := strings.Cut(s, ".")
	intPart = strings.TrimLeft(intPart, "0")
	frac = strings.TrimRight(frac, "0")
	if len(intPart) > maxPriceIntDigits {
		return "", invalid("limit_price", "must be below 10^%d", maxPriceIntDigits)
	}
	if len(frac) > maxPriceFracDigits {
		return "", invalid("limit_price", "must have at most %d decimal places", maxPriceFracDigits)
	}
	if intPart == "" && frac == "" {
		return "", invalid("limit_price", "must be greater than zero")
	}
	if intPart == "" {
		intPart = "0"
	}
	if frac == "" {
		return intPart, nil
	}
	return intPart + "." + frac, nil
}

// ValidateIdempotencyKey checks the Idempotency-Key header value.
func ValidateIdempotencyKey(k string) error {
	if k == "" {
		return invalid("Idempotency-Key", "header is required")
	}
	if len(k) > MaxIdempotencyKeyLen {
		return invalid("Idempotency-Key", "must be at most %d characters", MaxIdempotencyKeyLen)
	}
	for _, c := range k {
		if c < 0x21 || c > 0x7e {
			return invalid("Idempotency-Key", "must be printable ASCII without spaces")
		}
	}
	return nil
}

// Event is the OrderPlaced event detail: the order without the session id
// and the idempotency key (see CONTRACT.md).
type Event struct {
	OrderID    string    `json:"order_id"`
	TraderID   string    `json:"trader_id"`
	Symbol     string    `json:"symbol"`
	Side       string    `json:"side"`
	Quantity   int64     `json:"quantity"`
	LimitPrice string    `json:"limit_price"`
	Status     string    `json:"status"`
	Synthetic  bool      `json:"synthetic"`
	CreatedAt  time.Time `json:"created_at"`
}

// Event returns the order's event detail.
func (o Order) Event() Event {
	return Event{OrderID: o.OrderID, TraderID: o.TraderID, Symbol: o.Symbol, Side: o.Side, Quantity: o.Quantity,
		LimitPrice: o.LimitPrice, Status: o.Status, Synthetic: o.Synthetic, CreatedAt: o.CreatedAt}
}

// Fingerprint is a stable hash of the trader and the request's business
// fields. A key reused with a different fingerprint is rejected (422)
// instead of silently returning an order the client did not ask for.
func (r Request) Fingerprint(traderID string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d\x00%s\x00%t", traderID, r.Symbol, r.Side, r.Quantity, r.LimitPrice, r.Synthetic)
	return hex.EncodeToString(h.Sum(nil))
}

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
	"regexp"
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

// Order is a stored order as returned by the API and published in events.
type Order struct {
	OrderID        string    `json:"order_id"`
	SessionID      string    `json:"session_id"`
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

type wireRequest struct {
	Symbol     *string         `json:"symbol"`
	Side       *string         `json:"side"`
	Quantity   json.RawMessage `json:"quantity"`
	LimitPrice json.RawMessage `json:"limit_price"`
	Synthetic  *bool           `json:"synthetic"`
}

// ParseRequest decodes and validates an order body. Every returned error is a
// *ValidationError suitable for a 400 response.
func ParseRequest(body io.Reader) (Request, error) {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	var w wireRequest
	if err := dec.Decode(&w); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) && ute.Field != "" {
			return Request{}, invalid(ute.Field, "has the wrong JSON type (%s)", ute.Value)
		}
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return Request{}, invalid(f, "is not a known field")
		}
		return Request{}, invalid("", "body must be a JSON object: %v", err)
	}
	if dec.More() {
		return Request{}, invalid("", "body must contain a single JSON object")
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
		r.Synthetic = *w.Synthetic
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

// Fingerprint is a stable hash of the request's business fields. A key reused
// with a different fingerprint is rejected (422) instead of silently
// returning an order the client did not ask for.
func (r Request) Fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%s\x00%t", r.Symbol, r.Side, r.Quantity, r.LimitPrice, r.Synthetic)
	return hex.EncodeToString(h.Sum(nil))
}

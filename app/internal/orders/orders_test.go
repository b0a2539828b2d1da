package orders

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name, body string
		field      string // expected error field; "" with ok=true means valid
		ok         bool
		want       Request
	}{
		{name: "valid", body: `{"symbol":"AAPL","side":"buy","quantity":100,"limit_price":"187.25","synthetic":true}`, ok: true,
			want: Request{Symbol: "AAPL", Side: "buy", Quantity: 100, LimitPrice: "187.25", Synthetic: true, SyntheticSet: true}},
		{name: "synthetic false", body: `{"symbol":"AAPL","side":"buy","quantity":1,"limit_price":"1","synthetic":false}`, ok: true,
			want: Request{Symbol: "AAPL", Side: "buy", Quantity: 1, LimitPrice: "1", SyntheticSet: true}},
		{name: "synthetic null", body: `{"symbol":"AAPL","side":"buy","quantity":1,"limit_price":"1","synthetic":null}`, ok: true,
			want: Request{Symbol: "AAPL", Side: "buy", Quantity: 1, LimitPrice: "1"}},
		{name: "canonical price", body: `{"symbol":"BRK.B","side":"sell","quantity":1,"limit_price":"0010.5000"}`, ok: true,
			want: Request{Symbol: "BRK.B", Side: "sell", Quantity: 1, LimitPrice: "10.5"}},
		{name: "not json", body: `nope`, field: ""},
		{name: "two objects", body: `{"symbol":"A"} {}`, field: ""},
		{name: "unknown field", body: `{"symbol":"AAPL","limitPrice":"1"}`, field: "limitPrice"},
		{name: "missing symbol", body: `{"side":"buy","quantity":1,"limit_price":"1"}`, field: "symbol"},
		{name: "lower-case symbol", body: `{"symbol":"aapl","side":"buy","quantity":1,"limit_price":"1"}`, field: "symbol"},
		{name: "symbol wrong type", body: `{"symbol":5,"side":"buy","quantity":1,"limit_price":"1"}`, field: "symbol"},
		{name: "bad side", body: `{"symbol":"AAPL","side":"hold","quantity":1,"limit_price":"1"}`, field: "side"},
		{name: "missing quantity", body: `{"symbol":"AAPL","side":"buy","limit_price":"1"}`, field: "quantity"},
		{name: "fractional quantity", body: `{"symbol":"AAPL","side":"buy","quantity":1.5,"limit_price":"1"}`, field: "quantity"},
		{name: "string quantity", body: `{"symbol":"AAPL","side":"buy","quantity":"1","limit_price":"1"}`, field: "quantity"},
		{name: "zero quantity", body: `{"symbol":"AAPL","side":"buy","quantity":0,"limit_price":"1"}`, field: "quantity"},
		{name: "huge quantity", body: `{"symbol":"AAPL","side":"buy","quantity":10000000000,"limit_price":"1"}`, field: "quantity"},
		{name: "missing price", body: `{"symbol":"AAPL","side":"buy","quantity":1}`, field: "limit_price"},
		{name: "numeric price", body: `{"symbol":"AAPL","side":"buy","quantity":1,"limit_price":187.25}`, field: "limit_price"},
		{name: "negative price", body: `{"symbol":"AAPL","side":"buy","quantity":1,"limit_price":"-1"}`, field: "limit_price"},
		{name: "zero price", body: `{"symbol":"AAPL","side":"buy","quantity":1,"limit_price":"0.000"}`, field: "limit_price"},
		{name: "too precise price", body: `{"symbol":"AAPL","side":"buy","quantity":1,"limit_price":"1.00001"}`, field: "limit_price"},
		{name: "duplicate key", body: `{"symbol":"AAPL","side":"buy","side":"sell","quantity":1,"limit_price":"1"}`, field: "side"},
		{name: "case-folded name", body: `{"Symbol":"AAPL","side":"buy","quantity":1,"limit_price":"1"}`, field: "Symbol"},
		{name: "array body", body: `[1]`, field: ""},
		{name: "truncated", body: `{"symbol":"AAPL"`, field: ""},
		{name: "synthetic wrong type", body: `{"symbol":"AAPL","side":"buy","quantity":1,"limit_price":"1","synthetic":"yes"}`, field: "synthetic"},
		{name: "exponent price", body: `{"symbol":"AAPL","side":"buy","quantity":1,"limit_price":"1e3"}`, field: "limit_price"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRequest(strings.NewReader(tt.body))
			if tt.ok {
				if err != nil || got != tt.want {
					t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want *ValidationError, got %v", err)
			}
			if ve.Field != tt.field {
				t.Fatalf("field = %q (%v), want %q", ve.Field, err, tt.field)
			}
		})
	}
}

func TestValidateIdempotencyKey(t *testing.T) {
	for _, k := range []string{"", strings.Repeat("k", 129), "has space", "tab\t"} {
		if ValidateIdempotencyKey(k) == nil {
			t.Errorf("key %q accepted", k)
		}
	}
	for _, k := range []string{"k", strings.Repeat("k", 128), "3f2c-uuid-like:1"} {
		if err := ValidateIdempotencyKey(k); err != nil {
			t.Errorf("key %q rejected: %v", k, err)
		}
	}
}

func TestFingerprintDetectsDifferentBodies(t *testing.T) {
	a := Request{Symbol: "AAPL", Side: "buy", Quantity: 100, LimitPrice: "187.25"}
	b := a
	if a.Fingerprint("T-1") != b.Fingerprint("T-1") {
		t.Fatal("same request, different fingerprint")
	}
	for _, mut := range []func(*Request){
		func(r *Request) { r.Side = "sell" },
		func(r *Request) { r.Quantity = 101 },
		func(r *Request) { r.LimitPrice = "187.26" },
		func(r *Request) { r.Symbol = "MSFT" },
		func(r *Request) { r.Synthetic = true },
	} {
		c := a
		mut(&c)
		if c.Fingerprint("T-1") == a.Fingerprint("T-1") {
			t.Errorf("changed request %+v has the same fingerprint", c)
		}
	}
	if a.Fingerprint("T-1") == a.Fingerprint("T-2") {
		t.Error("the fingerprint does not include the trader")
	}
	// Equivalent prices canonicalise to the same fingerprint.
	p1, _ := CanonicalPrice("187.250")
	p2, _ := CanonicalPrice("187.25")
	if p1 != p2 {
		t.Fatalf("canonical prices differ: %s %s", p1, p2)
	}
}

func TestParseRequestOversizedBodyIsMaxBytesError(t *testing.T) {
	body := `{"symbol":"` + strings.Repeat("A", 100) + `"}`
	_, err := ParseRequest(http.MaxBytesReader(nil, io.NopCloser(strings.NewReader(body)), 20))
	var mbe *http.MaxBytesError
	if !errors.As(err, &mbe) {
		t.Fatalf("err = %v, want *http.MaxBytesError", err)
	}
}

package auth_test

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/trading-ha/trading-ha/app/internal/auth"
	"github.com/trading-ha/trading-ha/app/internal/testkit"
)

const (
	testIssuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Test"
	jwksParam  = "/trading/dev/identity/jwks"
)

// fakeSSM serves one parameter, as the scheduled key sync writes it.
type fakeSSM struct {
	mu    sync.Mutex
	value string
	err   error
	calls int
}

func (f *fakeSSM) set(doc string) { f.mu.Lock(); f.value = doc; f.mu.Unlock() }

func (f *fakeSSM) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if aws.ToString(in.Name) != jwksParam {
		return nil, errors.New("ParameterNotFound: " + aws.ToString(in.Name))
	}
	if f.err != nil {
		return nil, f.err
	}
	return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Name: in.Name, Value: aws.String(f.value)}}, nil
}

func (f *fakeSSM) count() int { f.mu.Lock(); defer f.mu.Unlock(); return f.calls }

// noHTTP fails the test on any HTTP request: in parameter mode the
// verifier must never call the issuer.
type noHTTP struct{ t *testing.T }

func (n noHTTP) RoundTrip(r *http.Request) (*http.Response, error) {
	n.t.Errorf("verifier made an HTTP request to %s in parameter mode", r.URL)
	return nil, errors.New("no network")
}

// jwksDoc renders a key set as the sync job stores it (retired keys may
// carry extra members, which verifiers ignore).
func jwksDoc(t *testing.T, keys map[string]*rsa.PrivateKey) string {
	t.Helper()
	var set []map[string]string
	for kid, k := range keys {
		set = append(set, map[string]string{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
			"n":          base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
			"e":          base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
			"retired_at": "2026-01-01T00:00:00Z"})
	}
	b, err := json.Marshal(map[string]any{"keys": set})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func tokenFor(key *rsa.PrivateKey, kid string, now time.Time) string {
	return testkit.SignJWT(key, kid, map[string]any{
		"iss": testIssuer, "sub": "desk-a", "client_id": "desk-a", "scope": testkit.DefaultScope,
		"token_use": "access", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"jti": now.Format(time.RFC3339Nano) + kid})
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func paramVerifier(t *testing.T, f *fakeSSM, c *clock) *auth.Verifier {
	t.Helper()
	v, err := auth.NewVerifier(auth.Config{Issuer: testIssuer, ClientIDs: []string{"desk-a"}, Scope: testkit.DefaultScope,
		Keys:       &auth.ParameterSource{API: f, Name: jwksParam},
		HTTPClient: &http.Client{Transport: noHTTP{t}},
		MinRefresh: 30 * time.Second, MaxKeyAge: time.Minute, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParameterSourceKeysWithoutHTTP(t *testing.T) {
	a := mustKey(t)
	f := &fakeSSM{value: jwksDoc(t, map[string]*rsa.PrivateKey{"A": a})}
	c := &clock{t: time.Now()}
	v := paramVerifier(t, f, c)
	ctx := context.Background()
	if _, err := v.Verify(ctx, tokenFor(a, "A", c.now())); err != nil {
		t.Fatalf("token signed with the parameter's key: %v", err)
	}
	if f.count() != 1 {
		t.Fatalf("GetParameter called %d times, want 1", f.count())
	}
	// Keys older than MaxKeyAge are re-read from the parameter.
	c.advance(61 * time.Second)
	if _, err := v.Verify(ctx, tokenFor(a, "A", c.now())); err != nil {
		t.Fatal(err)
	}
	if f.count() != 2 {
		t.Fatalf("GetParameter called %d times after MaxKeyAge, want 2", f.count())
	}
	// A failing parameter keeps the last good keys and is retried at most
	// once per MinRefresh, not on every request.
	f.err = errors.New("ThrottlingException")
	c.advance(61 * time.Second)
	for range 5 {
		if _, err := v.Verify(ctx, tokenFor(a, "A", c.now())); err != nil {
			t.Fatalf("last good keys must keep serving: %v", err)
		}
	}
	if f.count() != 3 {
		t.Fatalf("GetParameter called %d times while failing, want 3", f.count())
	}
	// No keys at all: 503, not 401.
	empty := &fakeSSM{err: errors.New("ParameterNotFound")}
	v2 := paramVerifier(t, empty, c)
	if _, err := v2.Verify(ctx, tokenFor(a, "A", c.now())); !errors.Is(err, auth.ErrKeysUnavailable) {
		t.Fatalf("no keys: %v, want ErrKeysUnavailable", err)
	}
	// A parameter without usable keys (the placeholder before the first
	// sync) is unavailable too.
	v3 := paramVerifier(t, &fakeSSM{value: `{"keys":[]}`}, c)
	if _, err := v3.Verify(ctx, tokenFor(a, "A", c.now())); !errors.Is(err, auth.ErrKeysUnavailable) {
		t.Fatalf("placeholder: %v, want ErrKeysUnavailable", err)
	}
}

func TestParameterSourceRotationWithOverlap(t *testing.T) {
	a, b := mustKey(t), mustKey(t)
	f := &fakeSSM{value: jwksDoc(t, map[string]*rsa.PrivateKey{"A": a})}
	c := &clock{t: time.Now()}
	v := paramVerifier(t, f, c)
	ctx := context.Background()
	oldToken := tokenFor(a, "A", c.now())
	if _, err := v.Verify(ctx, oldToken); err != nil {
		t.Fatal(err)
	}
	// The sync job publishes B next to A. A token signed with B is an
	// unknown kid: the verifier re-reads the parameter at once (the last
	// read is older than MinRefresh) and accepts it.
	f.set(jwksDoc(t, map[string]*rsa.PrivateKey{"A": a, "B": b}))
	c.advance(31 * time.Second)
	if _, err := v.Verify(ctx, tokenFor(b, "B", c.now())); err != nil {
		t.Fatalf("token with the new key after refresh: %v", err)
	}
	if f.count() != 2 {
		t.Fatalf("GetParameter called %d times, want 2 (one refresh on the unknown kid)", f.count())
	}
	// During the overlap both keys verify; tokens signed with A are still live.
	if _, err := v.Verify(ctx, tokenFor(a, "A", c.now())); err != nil {
		t.Fatalf("retiring key during overlap: %v", err)
	}
	// After the overlap the job drops A: once the keys are re-read, a token
	// signed with A is refused even though A was known before.
	f.set(jwksDoc(t, map[string]*rsa.PrivateKey{"B": b}))
	c.advance(2 * time.Minute)
	if _, err := v.Verify(ctx, tokenFor(b, "B", c.now())); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, tokenFor(a, "A", c.now())); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("dropped key: %v, want ErrInvalidToken", err)
	}
}

func TestParameterSourceUnknownKidRefusedAfterRefresh(t *testing.T) {
	a, x := mustKey(t), mustKey(t)
	f := &fakeSSM{value: jwksDoc(t, map[string]*rsa.PrivateKey{"A": a})}
	c := &clock{t: time.Now()}
	v := paramVerifier(t, f, c)
	ctx := context.Background()
	if _, err := v.Verify(ctx, tokenFor(a, "A", c.now())); err != nil {
		t.Fatal(err)
	}
	c.advance(31 * time.Second)
	for i := range 10 {
		_, err := v.Verify(ctx, tokenFor(x, "X", c.now().Add(time.Duration(i)*time.Millisecond)))
		if !errors.Is(err, auth.ErrInvalidToken) {
			t.Fatalf("unknown kid after refresh: %v, want ErrInvalidToken", err)
		}
	}
	if f.count() != 2 {
		t.Fatalf("GetParameter called %d times for 10 unknown-kid tokens, want 2 (rate-limited)", f.count())
	}
}

// TestParameterSourceAcceptsKeySyncDocument reads the document exactly as
// the key sync (infra/asl.KeySync) writes it: the keys the JWKS lists, then
// the retired keys it keeps, and a top-level "retired" list with when each
// was first missed. The reader ignores "retired" and verifies tokens signed
// with a retired key while it is in "keys".
func TestParameterSourceAcceptsKeySyncDocument(t *testing.T) {
	a, b := mustKey(t), mustKey(t)
	jwk := func(kid string, k *rsa.PrivateKey) map[string]string {
		return map[string]string{"alg": "RS256", "e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
			"kid": kid, "kty": "RSA", "n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()), "use": "sig"}
	}
	doc, err := json.Marshal(map[string]any{
		"keys":    []map[string]string{jwk("B", b), jwk("A", a)},
		"retired": []map[string]string{{"kid": "A", "missingSince": "2026-01-01T12:00:00.000Z"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.ParseJWKS(doc)
	if err != nil {
		t.Fatalf("the key sync's document: %v", err)
	}
	if len(keys) != 2 || keys["A"] == nil || keys["B"] == nil {
		t.Fatalf("keys %v, want A and B", keys)
	}
	c := &clock{t: time.Now()}
	v := paramVerifier(t, &fakeSSM{value: string(doc)}, c)
	for kid, k := range map[string]*rsa.PrivateKey{"A (retired)": a, "B": b} {
		if _, err := v.Verify(context.Background(), tokenFor(k, kid[:1], c.now())); err != nil {
			t.Errorf("token signed with %s: %v", kid, err)
		}
	}
}

// Package auth verifies OAuth2/OIDC bearer access tokens (RS256 JWTs) against
// an issuer's JSON Web Key Set and maps them to a trader identity.
//
// The default issuer is an Amazon Cognito user pool whose desks use the
// OAuth2 client-credentials grant. Cognito client-credentials access tokens
// carry iss, sub (= the app client id), client_id, scope ("trading/orders"
// for desks, "trading/probe" for the canary and the smoke test), token_use
// ("access"), exp and iat, and no aud. Any OIDC issuer works: a
// token is accepted if its aud contains one of Config.Audiences or its
// client_id is one of Config.ClientIDs.
//
// The trader identity is Config.TraderMap[client_id] (or [sub] when there is
// no client_id), else the client_id (else the sub) itself.
package auth

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// ErrInvalidToken is wrapped by every verification failure (answer 401).
var ErrInvalidToken = errors.New("invalid bearer token")

// ErrKeysUnavailable means the JWKS could not be fetched (answer 503).
var ErrKeysUnavailable = errors.New("issuer keys unavailable")

// Kind says what a principal may do with orders.
type Kind int

// Principal kinds, decided by the scope the token carries.
const (
	// KindDesk is a trading desk (scope Config.Scope, trading/orders): its
	// orders are real and may not be marked synthetic.
	KindDesk Kind = iota
	// KindProbe is a synthetic caller, the canary or the smoke test (scope
	// Config.ProbeScope, trading/probe): its orders are always synthetic
	// and capped by the probe limit.
	KindProbe
)

// String names the kind for logs.
func (k Kind) String() string {
	if k == KindProbe {
		return "probe"
	}
	return "desk"
}

// Principal is a verified caller.
type Principal struct {
	// Kind is desk or probe.
	Kind Kind
	// TraderID is the trader identity orders and sessions are bound to.
	TraderID string
	// Subject is the token's sub claim.
	Subject string
	// ClientID is the token's client_id claim ("" if absent).
	ClientID string
	// Scopes are the granted scopes.
	Scopes []string
	// ExpiresAt is the token's expiry.
	ExpiresAt time.Time
}

// Config configures a Verifier.
type Config struct {
	// Issuer is the exact iss value (OIDC_ISSUER), e.g.
	// https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC.
	Issuer string
	// Audiences are accepted aud values (OIDC_AUDIENCE).
	Audiences []string
	// ClientIDs are accepted client_id values (OIDC_CLIENT_IDS).
	ClientIDs []string
	// Scope is the desks' scope (OIDC_SCOPE), e.g. trading/orders. A token
	// must carry it or ProbeScope.
	Scope string
	// ProbeScope is the probes' scope (OIDC_PROBE_SCOPE), e.g.
	// trading/probe; empty accepts no probes. A token carrying it is a
	// KindProbe principal even if it also carries Scope (the narrower grant
	// wins).
	ProbeScope string
	// Keys is where the JSON Web Key Set comes from. Nil means an
	// HTTPSource for JWKSURL. In AWS the service uses a ParameterSource
	// (OIDC_JWKS_PARAMETER): the tasks have no path to the issuer.
	Keys KeySource
	// JWKSURL defaults to Issuer + "/.well-known/jwks.json" (OIDC_JWKS_URL);
	// used only when Keys is nil.
	JWKSURL string
	// TraderMap maps client_id (or sub) to a trader id (OIDC_TRADER_MAP).
	TraderMap map[string]string
	// Leeway is the clock skew allowed on exp/nbf/iat (default 30s).
	Leeway time.Duration
	// MinRefresh bounds JWKS refetches triggered by unknown key ids (default 30s).
	MinRefresh time.Duration
	// MaxKeyAge forces a JWKS refetch after this age (default 1h). Refetches
	// of stale keys are rate-limited by MinRefresh too: while the source
	// fails, the last good keys keep serving.
	MaxKeyAge time.Duration
	// HTTPClient fetches the JWKS when Keys is nil (default: 5 s timeout).
	HTTPClient *http.Client
	// Now is the clock (tests).
	Now func() time.Time
}

// Verifier verifies tokens. It is safe for concurrent use.
type Verifier struct {
	cfg Config

	mu        sync.Mutex
	keys      map[string]*rsa.PublicKey
	fetchedAt time.Time
	lastTry   time.Time
	fetching  chan struct{}

	cacheMu sync.Mutex
	cache   map[[32]byte]Principal
}

var traderIDRE = regexp.MustCompile(`^[A-Za-z0-9._:\-]{1,64}$`)

// maxCachedTokens bounds the verified-token cache.
const maxCachedTokens = 10000

// NewVerifier validates cfg and returns a Verifier. Keys are fetched lazily.
func NewVerifier(cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("auth: issuer is required")
	}
	if len(cfg.Audiences) == 0 && len(cfg.ClientIDs) == 0 {
		return nil, errors.New("auth: at least one audience or client id is required")
	}
	if cfg.ProbeScope != "" && cfg.ProbeScope == cfg.Scope {
		return nil, fmt.Errorf("auth: the probe scope %q must differ from the desk scope", cfg.ProbeScope)
	}
	if cfg.JWKSURL == "" {
		cfg.JWKSURL = strings.TrimRight(cfg.Issuer, "/") + "/.well-known/jwks.json"
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.MinRefresh <= 0 {
		cfg.MinRefresh = 30 * time.Second
	}
	if cfg.MaxKeyAge <= 0 {
		cfg.MaxKeyAge = time.Hour
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Keys == nil {
		cfg.Keys = &HTTPSource{URL: cfg.JWKSURL, Client: cfg.HTTPClient}
	}
	return &Verifier{cfg: cfg, cache: map[[32]byte]Principal{}}, nil
}

// FromHeader extracts the token from an Authorization header value.
func FromHeader(h string) (string, error) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", fmt.Errorf("%w: Authorization header must be 'Bearer <token>'", ErrInvalidToken)
	}
	return strings.TrimSpace(tok), nil
}

type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

type claims struct {
	Iss      string          `json:"iss"`
	Sub      string          `json:"sub"`
	Aud      json.RawMessage `json:"aud"`
	Exp      *json.Number    `json:"exp"`
	Nbf      *json.Number    `json:"nbf"`
	Iat      *json.Number    `json:"iat"`
	ClientID string          `json:"client_id"`
	Azp      string          `json:"azp"`
	Scope    string          `json:"scope"`
	Scp      []string        `json:"scp"`
	TokenUse string          `json:"token_use"`
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidToken, fmt.Sprintf(format, args...))
}

// Verify checks the token's signature, issuer, audience/client, time window
// and scope and returns the principal.
func (v *Verifier) Verify(ctx context.Context, token string) (Principal, error) {
	now := v.cfg.Now()
	sum := sha256.Sum256([]byte(token))
	v.cacheMu.Lock()
	if p, ok := v.cache[sum]; ok {
		v.cacheMu.Unlock()
		if now.Before(p.ExpiresAt.Add(v.cfg.Leeway)) {
			return p, nil
		}
		return Principal{}, invalid("token expired")
	}
	v.cacheMu.Unlock()

	p, err := v.verify(ctx, token, now)
	if err != nil {
		return Principal{}, err
	}
	v.cacheMu.Lock()
	if len(v.cache) >= maxCachedTokens {
		clear(v.cache)
	}
	v.cache[sum] = p
	v.cacheMu.Unlock()
	return p, nil
}

func (v *Verifier) verify(ctx context.Context, token string, now time.Time) (Principal, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Principal{}, invalid("not a JWS compact token")
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return Principal{}, invalid("header is not base64url")
	}
	var h header
	if err := json.Unmarshal(hb, &h); err != nil {
		return Principal{}, invalid("header is not JSON")
	}
	if h.Alg != "RS256" {
		return Principal{}, invalid("alg %q not accepted (RS256 only)", h.Alg)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return Principal{}, invalid("signature is not base64url")
	}
	key, err := v.key(ctx, h.Kid)
	if err != nil {
		return Principal{}, err
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], sig); err != nil {
		return Principal{}, invalid("bad signature")
	}
	cb, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return Principal{}, invalid("payload is not base64url")
	}
	dec := json.NewDecoder(strings.NewReader(string(cb)))
	dec.UseNumber()
	var c claims
	if err := dec.Decode(&c); err != nil {
		return Principal{}, invalid("claims are not JSON")
	}
	if c.Iss != v.cfg.Issuer {
		return Principal{}, invalid("wrong issuer")
	}
	exp, ok := unix(c.Exp)
	if !ok {
		return Principal{}, invalid("exp missing")
	}
	if !now.Before(exp.Add(v.cfg.Leeway)) {
		return Principal{}, invalid("token expired")
	}
	if nbf, ok := unix(c.Nbf); ok && now.Add(v.cfg.Leeway).Before(nbf) {
		return Principal{}, invalid("token not yet valid")
	}
	if iat, ok := unix(c.Iat); ok && now.Add(v.cfg.Leeway).Before(iat) {
		return Principal{}, invalid("token issued in the future")
	}
	if c.TokenUse != "" && c.TokenUse != "access" {
		return Principal{}, invalid("token_use %q is not access", c.TokenUse)
	}
	clientID := c.ClientID
	if clientID == "" {
		clientID = c.Azp
	}
	if !v.audienceOK(c.Aud, clientID) {
		return Principal{}, invalid("audience or client not accepted")
	}
	scopes := strings.Fields(c.Scope)
	scopes = append(scopes, c.Scp...)
	kind := KindDesk
	switch {
	case v.cfg.ProbeScope != "" && slices.Contains(scopes, v.cfg.ProbeScope):
		kind = KindProbe
	case v.cfg.Scope != "" && !slices.Contains(scopes, v.cfg.Scope):
		if v.cfg.ProbeScope != "" {
			return Principal{}, invalid("required scope %q or %q missing", v.cfg.Scope, v.cfg.ProbeScope)
		}
		return Principal{}, invalid("required scope %q missing", v.cfg.Scope)
	}
	id := clientID
	if id == "" {
		id = c.Sub
	}
	trader := id
	if t, ok := v.cfg.TraderMap[id]; ok {
		trader = t
	}
	if !traderIDRE.MatchString(trader) {
		return Principal{}, invalid("no usable trader identity")
	}
	return Principal{Kind: kind, TraderID: trader, Subject: c.Sub, ClientID: clientID, Scopes: scopes, ExpiresAt: exp}, nil
}

func unix(n *json.Number) (time.Time, bool) {
	if n == nil {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

func (v *Verifier) audienceOK(raw json.RawMessage, clientID string) bool {
	if clientID != "" && slices.Contains(v.cfg.ClientIDs, clientID) {
		return true
	}
	if len(raw) == 0 || len(v.cfg.Audiences) == 0 {
		return false
	}
	var auds []string
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		auds = []string{one}
	} else if err := json.Unmarshal(raw, &auds); err != nil {
		return false
	}
	for _, a := range auds {
		if slices.Contains(v.cfg.Audiences, a) {
			return true
		}
	}
	return false
}

// key returns the public key for kid, fetching the JWKS when the kid is
// unknown (at most once per MinRefresh) or the keys are older than MaxKeyAge.
func (v *Verifier) key(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	for {
		v.mu.Lock()
		now := v.cfg.Now()
		k, known := v.keys[kid]
		stale := v.keys == nil || now.Sub(v.fetchedAt) > v.cfg.MaxKeyAge
		if known && !stale {
			v.mu.Unlock()
			return k, nil
		}
		mayFetch := v.keys == nil || now.Sub(v.lastTry) >= v.cfg.MinRefresh
		if !mayFetch {
			v.mu.Unlock()
			if known {
				return k, nil
			}
			return nil, invalid("unknown key id")
		}
		if wait := v.fetching; wait != nil {
			v.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, ctx.Err())
			}
		}
		done := make(chan struct{})
		v.fetching = done
		v.lastTry = now
		v.mu.Unlock()

		keys, err := v.fetch(ctx)
		v.mu.Lock()
		v.fetching = nil
		close(done)
		if err == nil {
			v.keys, v.fetchedAt = keys, v.cfg.Now()
		}
		k, known = v.keys[kid]
		haveKeys := v.keys != nil
		v.mu.Unlock()
		switch {
		case known:
			return k, nil
		case err != nil && !haveKeys:
			return nil, err
		default:
			return nil, invalid("unknown key id")
		}
	}
}

type jwks struct {
	Keys []struct {
		Kty string `json:"kty"`
		Kid string `json:"kid"`
		Use string `json:"use"`
		Alg string `json:"alg"`
		N   string `json:"n"`
		E   string `json:"e"`
	} `json:"keys"`
}

func (v *Verifier) fetch(ctx context.Context) (map[string]*rsa.PublicKey, error) {
	doc, err := v.cfg.Keys.JWKS(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
	}
	keys, err := ParseJWKS(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrKeysUnavailable, v.cfg.Keys, err)
	}
	return keys, nil
}

// ParseJWKS returns the usable RS256 signing keys of a JSON Web Key Set
// document by kid. Keys of another type, use or algorithm, shorter than
// 2048 bits or malformed are skipped; members it does not know are ignored
// (RFC 7517, section 5). A set without a usable key is an error.
func ParseJWKS(doc []byte) (map[string]*rsa.PublicKey, error) {
	var set jwks
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, fmt.Errorf("decode JWKS: %w", err)
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		if k.Kty != "RSA" || (k.Use != "" && k.Use != "sig") || (k.Alg != "" && k.Alg != "RS256") {
			continue
		}
		nb, err1 := base64.RawURLEncoding.DecodeString(k.N)
		eb, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(eb) > 4 {
			continue
		}
		e := int(new(big.Int).SetBytes(eb).Int64())
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: e}
		if pub.N.BitLen() < 2048 || e < 3 {
			continue
		}
		keys[k.Kid] = pub
	}
	if len(keys) == 0 {
		return nil, errors.New("JWKS has no usable RS256 keys")
	}
	return keys, nil
}

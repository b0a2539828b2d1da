package testkit

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultScope is the desks' scope: the test issuer grants it to clients
// added with AddClient, and the stack's service requires it of desks.
const DefaultScope = "trading/orders"

// ProbeScope is the probes' scope: the issuer grants it to clients added
// with AddProbeClient (the canary, the smoke test).
const ProbeScope = "trading/probe"

// Issuer is a local OAuth2/OIDC issuer shaped like an Amazon Cognito user
// pool with client-credentials clients: it serves
//
//	GET  /.well-known/openid-configuration
//	GET  /.well-known/jwks.json
//	POST /oauth2/token   (grant_type=client_credentials, HTTP Basic client auth)
//
// and issues RS256 access tokens with iss, sub (= client id), client_id,
// scope, token_use=access, iat, exp and jti, and no aud — what Cognito issues.
// Point OIDC_ISSUER at URL and the service verifies its tokens like real ones.
type Issuer struct {
	// URL is the issuer (the iss claim and the base of the endpoints).
	URL string
	// TokenURL is the client-credentials token endpoint.
	TokenURL string

	srv *httptest.Server
	mu  sync.Mutex
	key *rsa.PrivateKey
	kid string
	// clients maps client id -> secret for the token endpoint.
	clients map[string]string
	// scopes maps client id -> the scope it is allowed (as a Cognito app
	// client's AllowedOAuthScopes).
	scopes map[string]string
	// jwksHits counts JWKS fetches.
	jwksHits int
}

// StartIssuer starts the issuer on loopback with a fresh 2048-bit key.
func StartIssuer() (*Issuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("issuer key: %w", err)
	}
	iss := &Issuer{key: key, kid: "test-" + randHex(4), clients: map[string]string{}, scopes: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/jwks.json", iss.jwks)
	mux.HandleFunc("GET /.well-known/openid-configuration", iss.discovery)
	mux.HandleFunc("POST /oauth2/token", iss.token)
	iss.srv = httptest.NewServer(mux)
	iss.URL = iss.srv.URL
	iss.TokenURL = iss.srv.URL + "/oauth2/token"
	return iss, nil
}

// Close stops the server.
func (i *Issuer) Close() { i.srv.Close() }

// AddClient registers a desk's client-credentials client (allowed scope
// DefaultScope) and returns its secret.
func (i *Issuer) AddClient(clientID string) string { return i.addClient(clientID, DefaultScope) }

// AddProbeClient registers a probe's client-credentials client (allowed
// scope ProbeScope: the canary, the smoke test) and returns its secret.
func (i *Issuer) AddProbeClient(clientID string) string { return i.addClient(clientID, ProbeScope) }

func (i *Issuer) addClient(clientID, scope string) string {
	i.mu.Lock()
	defer i.mu.Unlock()
	secret := randHex(16)
	i.clients[clientID] = secret
	i.scopes[clientID] = scope
	return secret
}

// scopeOf is the scope clientID is allowed (DefaultScope for a client the
// issuer does not know, so tests can sign tokens for any client).
func (i *Issuer) scopeOf(clientID string) string {
	i.mu.Lock()
	defer i.mu.Unlock()
	if s, ok := i.scopes[clientID]; ok {
		return s
	}
	return DefaultScope
}

// JWKSFetches reports how often the key set was fetched.
func (i *Issuer) JWKSFetches() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.jwksHits
}

// RotateKey replaces the signing key (new kid); tokens signed before
// no longer verify once verifiers refresh.
func (i *Issuer) RotateKey() error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("issuer key: %w", err)
	}
	i.mu.Lock()
	i.key, i.kid = key, "test-"+randHex(4)
	i.mu.Unlock()
	return nil
}

// Claims returns the claims of a fresh client-credentials access token for
// clientID with the scope it is allowed, valid for an hour; edit them and
// pass them to Sign.
func (i *Issuer) Claims(clientID string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": i.URL, "sub": clientID, "client_id": clientID, "scope": i.scopeOf(clientID),
		"token_use": "access", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"jti": randHex(8), "version": 2,
	}
}

// Token is a valid access token for clientID.
func (i *Issuer) Token(clientID string) string {
	return i.Sign(i.Claims(clientID))
}

// Sign signs claims with the issuer's key.
func (i *Issuer) Sign(claims map[string]any) string {
	i.mu.Lock()
	key, kid := i.key, i.kid
	i.mu.Unlock()
	return SignJWT(key, kid, claims)
}

// SignJWT builds an RS256 JWS compact token (tests use it with foreign
// keys to produce bad signatures).
func SignJWT(key *rsa.PrivateKey, kid string, claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kid})
	c, _ := json.Marshal(claims)
	signing := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return signing + ".invalid"
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// KID is the current key id.
func (i *Issuer) KID() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.kid
}

func (i *Issuer) jwks(w http.ResponseWriter, _ *http.Request) {
	i.mu.Lock()
	i.jwksHits++
	pub, kid := i.key.PublicKey, i.kid
	i.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

func (i *Issuer) discovery(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer": i.URL, "jwks_uri": i.URL + "/.well-known/jwks.json", "token_endpoint": i.TokenURL,
		"grant_types_supported":                 []string{"client_credentials"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
	})
}

// token implements the client-credentials grant (client_secret_basic or
// client_secret_post), as Cognito's /oauth2/token does.
func (i *Issuer) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	i.mu.Lock()
	want, known := i.clients[id]
	i.mu.Unlock()
	if !known || secret != want {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	// As Cognito: a requested scope the client is not allowed is
	// invalid_scope; no scope requested grants the allowed ones.
	claims := i.Claims(id)
	if s := strings.TrimSpace(r.PostForm.Get("scope")); s != "" {
		for _, want := range strings.Fields(s) {
			if !slices.Contains(strings.Fields(i.scopeOf(id)), want) {
				writeOAuthError(w, http.StatusBadRequest, "invalid_scope")
				return
			}
		}
		claims["scope"] = s
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": i.Sign(claims), "token_type": "Bearer", "expires_in": 3600})
}

func writeOAuthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
}

package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"testing"
	"time"

	"github.com/trading-ha/trading-ha/app/internal/auth"
	"github.com/trading-ha/trading-ha/app/internal/testkit"
)

func setup(t *testing.T) (*testkit.Issuer, *auth.Verifier) {
	t.Helper()
	iss, err := testkit.StartIssuer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	v, err := auth.NewVerifier(auth.Config{Issuer: iss.URL, ClientIDs: []string{"desk-a", "desk-b"},
		Audiences: []string{"trading-api"}, Scope: testkit.DefaultScope,
		TraderMap: map[string]string{"desk-a": "DESK-A"}, MinRefresh: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return iss, v
}

func TestVerifyAcceptsCognitoClientCredentialsToken(t *testing.T) {
	iss, v := setup(t)
	p, err := v.Verify(context.Background(), iss.Token("desk-a"))
	if err != nil {
		t.Fatal(err)
	}
	if p.TraderID != "DESK-A" || p.ClientID != "desk-a" {
		t.Fatalf("principal = %+v", p)
	}
	p, err = v.Verify(context.Background(), iss.Token("desk-b"))
	if err != nil || p.TraderID != "desk-b" {
		t.Fatalf("unmapped client: %+v %v", p, err)
	}
	// An OIDC token with aud and no client_id.
	c := iss.Claims("someone")
	delete(c, "client_id")
	c["aud"] = []string{"other", "trading-api"}
	if p, err := v.Verify(context.Background(), iss.Sign(c)); err != nil || p.TraderID != "someone" {
		t.Fatalf("aud token: %+v %v", p, err)
	}
}

func TestVerifyRejects(t *testing.T) {
	iss, v := setup(t)
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(map[string]any)) string {
		c := iss.Claims("desk-a")
		f(c)
		return iss.Sign(c)
	}
	cases := map[string]string{
		"garbage":         "abc",
		"bad signature":   testkit.SignJWT(foreign, iss.KID(), iss.Claims("desk-a")),
		"unknown kid":     testkit.SignJWT(foreign, "nope", iss.Claims("desk-a")),
		"wrong issuer":    edit(func(c map[string]any) { c["iss"] = "https://evil.example" }),
		"expired":         edit(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }),
		"no exp":          edit(func(c map[string]any) { delete(c, "exp") }),
		"not yet valid":   edit(func(c map[string]any) { c["nbf"] = time.Now().Add(time.Hour).Unix() }),
		"wrong client":    edit(func(c map[string]any) { c["client_id"] = "desk-z"; c["sub"] = "desk-z" }),
		"wrong audience":  edit(func(c map[string]any) { delete(c, "client_id"); c["aud"] = "other" }),
		"missing scope":   edit(func(c map[string]any) { c["scope"] = "trading/read" }),
		"id token":        edit(func(c map[string]any) { c["token_use"] = "id" }),
		"tampered claims": iss.Token("desk-a")[:20] + "x" + iss.Token("desk-a")[21:],
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := v.Verify(context.Background(), tok); !errors.Is(err, auth.ErrInvalidToken) {
				t.Fatalf("err = %v, want ErrInvalidToken", err)
			}
		})
	}
}

func TestJWKSRefreshOnUnknownKidIsBounded(t *testing.T) {
	iss, v := setup(t)
	ctx := context.Background()
	if _, err := v.Verify(ctx, iss.Token("desk-a")); err != nil {
		t.Fatal(err)
	}
	if err := iss.RotateKey(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	if _, err := v.Verify(ctx, iss.Token("desk-a")); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if n := iss.JWKSFetches(); n != 2 {
		t.Fatalf("JWKS fetched %d times, want 2", n)
	}
	v2, _ := auth.NewVerifier(auth.Config{Issuer: iss.URL, ClientIDs: []string{"desk-a"}, MinRefresh: time.Hour})
	if _, err := v2.Verify(ctx, iss.Token("desk-a")); err != nil {
		t.Fatal(err)
	}
	before := iss.JWKSFetches()
	for range 5 {
		_, _ = v2.Verify(ctx, testkit.SignJWT(mustKey(t), "unknown", iss.Claims("desk-a")))
	}
	if iss.JWKSFetches() != before {
		t.Fatalf("unknown kids triggered %d refetches within MinRefresh", iss.JWKSFetches()-before)
	}
}

func mustKey(t *testing.T) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestFromHeader(t *testing.T) {
	if tok, err := auth.FromHeader("Bearer abc.def.ghi"); err != nil || tok != "abc.def.ghi" {
		t.Fatalf("%q %v", tok, err)
	}
	for _, h := range []string{"", "Basic abc", "Bearer ", "abc"} {
		if _, err := auth.FromHeader(h); !errors.Is(err, auth.ErrInvalidToken) {
			t.Fatalf("%q: %v", h, err)
		}
	}
}

// TestProbeScopeMakesAProbe: the probe scope is accepted instead of the
// desks' and makes a probe principal (also when both are present: the
// narrower grant wins); the desks' scope alone makes a desk.
func TestProbeScopeMakesAProbe(t *testing.T) {
	iss, err := testkit.StartIssuer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	v, err := auth.NewVerifier(auth.Config{Issuer: iss.URL, ClientIDs: []string{"desk-a", "canary"},
		Scope: "trading/orders", ProbeScope: "trading/probe"})
	if err != nil {
		t.Fatal(err)
	}
	for scope, want := range map[string]auth.Kind{
		"trading/orders":               auth.KindDesk,
		"trading/probe":                auth.KindProbe,
		"trading/orders trading/probe": auth.KindProbe,
	} {
		c := iss.Claims("canary")
		c["scope"] = scope
		p, err := v.Verify(context.Background(), iss.Sign(c))
		if err != nil || p.Kind != want {
			t.Errorf("scope %q: %+v %v, want kind %s", scope, p, err, want)
		}
	}
	c := iss.Claims("canary")
	c["scope"] = "trading/read"
	if _, err := v.Verify(context.Background(), iss.Sign(c)); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("neither scope: %v, want ErrInvalidToken", err)
	}
	if _, err := auth.NewVerifier(auth.Config{Issuer: iss.URL, ClientIDs: []string{"x"}, Scope: "a/b", ProbeScope: "a/b"}); err == nil {
		t.Error("the same scope for desks and probes was accepted")
	}
}

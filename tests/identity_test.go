package tests

import (
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/proof/offline"
)

// TestIdentity: one Cognito user pool with no self-service users, a prefix
// domain with a unique tail, the resource server trading/orders, and one
// client-credentials client per desk plus the canary's and the smoke test's,
// each allowed that one scope with hour-long tokens; the service accepts
// exactly those clients, and the probes' secrets are SecureStrings.
func TestIdentity(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		pool := one(t, rec, "aws:cognito/userPool:UserPool", "identity-pool")
		eq(t, pool, "name", "idp-trading-"+stack)
		eq(t, pool, "adminCreateUserConfig.allowAdminCreateUserOnly", true)
		eq(t, pool, "deletionProtection", perStack(stack, "INACTIVE", "ACTIVE"))
		domain := one(t, rec, "aws:cognito/userPoolDomain:UserPoolDomain", "identity-domain")
		eq(t, domain, "domain", "auth-trading-"+stack+"-a1b2c3d4")
		rs := one(t, rec, "aws:cognito/resourceServer:ResourceServer", "identity-trading")
		eq(t, rs, "identifier", "trading")
		eq(t, rs, "scopes.0.scopeName", "orders")
		// The probes' own scope: their orders are always synthetic and
		// capped, and a desk can never mark an order synthetic.
		eq(t, rs, "scopes.1.scopeName", "probe")

		clients := rec.ByType("aws:cognito/userPoolClient:UserPoolClient")
		want := []string{"desk-eq-ldn", "desk-fx-nyc", "canary", "smoke"}
		if len(clients) != len(want) {
			t.Fatalf("%d app clients, want %v", len(clients), want)
		}
		var ids []string
		for _, key := range want {
			c := one(t, rec, "aws:cognito/userPoolClient:UserPoolClient", "identity-client-"+key)
			eq(t, c, "name", "client-"+key+"-"+stack)
			eq(t, c, "generateSecret", true)
			eq(t, c, "allowedOauthFlows", []string{"client_credentials"})
			scope := "trading/orders"
			if key == "canary" || key == "smoke" {
				scope = "trading/probe"
			}
			eq(t, c, "allowedOauthScopes", []string{scope})
			eq(t, c, "allowedOauthFlowsUserPoolClient", true)
			eq(t, c, "accessTokenValidity", 60)
			// A leaked client secret's tokens can be revoked (Cognito
			// RevokeToken needs EnableTokenRevocation).
			eq(t, c, "enableTokenRevocation", true)
			eq(t, c, "tokenValidityUnits.accessToken", "minutes")
			if !rec.After(c, rs) {
				t.Errorf("client %s does not wait for the resource server whose scope it names", key)
			}
			ids = append(ids, out(t, c, "id"))
		}
		// The service accepts exactly these clients and maps each to a trader.
		accepted := paramValue(t, one(t, rec, tParameter, "params-param-identity-client-ids"))
		if accepted != strings.Join(ids, ",") {
			t.Errorf("OIDC_CLIENT_IDS = %q, want %q", accepted, strings.Join(ids, ","))
		}
		traders := paramValue(t, one(t, rec, tParameter, "params-param-identity-trader-map"))
		for i, tr := range []string{"DESK-EQ-LDN", "DESK-FX-NYC", "PROBE-CANARY", "PROBE-SMOKE"} {
			if !strings.Contains(traders, ids[i]+"="+tr) {
				t.Errorf("trader map %q lacks %s=%s", traders, ids[i], tr)
			}
		}
		issuer := paramValue(t, one(t, rec, tParameter, "params-param-identity-issuer"))
		if issuer != "https://cognito-idp.us-east-1.amazonaws.com/"+pool.ID {
			t.Errorf("issuer %q", issuer)
		}
		for _, probe := range []string{"canary", "smoke"} {
			p := one(t, rec, tParameter, "params-param-probes-"+probe+"-client-secret")
			eq(t, p, "type", "SecureString")
			eq(t, p, "keyId", keyArn(t, rec, "key-data"))
			if !p.Raw["value"].IsSecret() {
				t.Errorf("%s client secret is not a secret in state", probe)
			}
		}
	})
}

// TestTradingDesksConfig: the desks come from config and bad names fail at
// preview naming the key.
func TestTradingDesksConfig(t *testing.T) {
	rec, err := recordWith(t, "dev", map[string]string{"trading-ha:tradingDesks": `["rates-ldn"]`})
	if err != nil {
		t.Fatal(err)
	}
	one(t, rec, "aws:cognito/userPoolClient:UserPoolClient", "identity-client-desk-rates-ldn")
	if n := len(rec.ByType("aws:cognito/userPoolClient:UserPoolClient")); n != 3 {
		t.Errorf("%d clients, want 3 (one desk and the two probes)", n)
	}
	rejects(t, "dev", map[string]string{"trading-ha:tradingDesks": `["Rates LDN"]`}, []string{"trading-ha:tradingDesks", `"Rates LDN"`, "lowercase"})
	rejects(t, "dev", map[string]string{"trading-ha:tradingDesks": `["eq","eq"]`}, []string{"trading-ha:tradingDesks", "distinct"})
	rejects(t, "dev", map[string]string{"trading-ha:environmentSuffix": "aws1"}, []string{"trading-ha:environmentSuffix", `"aws"`})
}

// TestKillSwitchIsNotAFeatureFlag: a feature flag named like the kill
// switch would create the same parameter twice; config refuses it.
func TestKillSwitchIsNotAFeatureFlag(t *testing.T) {
	rejects(t, "dev", map[string]string{"trading-ha:featureFlags": `["trading-enabled"]`},
		[]string{"trading-ha:featureFlags", `"trading-enabled"`, "kill switch", "tradingEnabled"})
}

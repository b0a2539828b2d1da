package tests

import (
	"slices"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/proof/offline"
)

// TestSigningKeysReachTheTasks derives, per stack, every runtime dependency
// of the tasks for token verification from the recording and checks it has
// a network path and a grant. The issuer's JWKS URL is not one of them: a
// user pool with a domain cannot be reached through an interface endpoint
// (Amazon Cognito Developer Guide, "Access Amazon Cognito using an
// interface endpoint (AWS PrivateLink)"), so the service must read its keys
// from an SSM parameter the stack creates, over NAT in dev and the ssm
// interface endpoint in prod, and the task role may read exactly that
// parameter.
func TestSigningKeysReachTheTasks(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		env := map[string]string{}
		for _, kv := range container(t, rec).Environment {
			env[kv.Name] = kv.Value
		}
		if u, ok := env["OIDC_JWKS_URL"]; ok {
			t.Errorf("OIDC_JWKS_URL=%s: the tasks would fetch keys from the issuer", u)
		}
		name := env["OIDC_JWKS_PARAMETER"]
		if name == "" {
			t.Fatalf("the app container has no OIDC_JWKS_PARAMETER: its keys come from the issuer's JWKS URL, which %s gives the tasks no path to", stack)
		}
		// The parameter is one the stack creates, a plain String.
		var param *offline.Resource
		for _, p := range rec.ByType("aws:ssm/parameter:Parameter") {
			if p.Inputs["name"] == name {
				param = p
			}
		}
		if param == nil {
			t.Fatalf("OIDC_JWKS_PARAMETER=%s is not a parameter of the stack", name)
		}
		if param.Inputs["type"] != "String" {
			t.Errorf("%s: type %v, want String (no kms:Decrypt on the task role)", name, param.Inputs["type"])
		}
		// Network path to ssm: NAT in a stack with NAT gateways, else the
		// ssm interface endpoint with private DNS.
		vpc := one(t, rec, "awsx:ec2:Vpc", "vpc")
		if get(t, vpc, "natGateways.strategy") == "None" {
			ep, ok := interfaceEndpoints(rec)["ssm"]
			if !ok {
				t.Fatalf("%s has no NAT and no ssm interface endpoint: the tasks cannot read %s", stack, name)
			}
			if ep.Inputs["privateDnsEnabled"] != true {
				t.Errorf("ssm endpoint: private DNS off, the SDK's default ssm host would not resolve to it")
			}
		}
		// The task role reads exactly that parameter, with GetParameter.
		want := "arn:aws:ssm:us-east-1:"
		g := grants(rolePolicy(t, rec, "task"))
		res := g["ssm:GetParameter"]
		if len(res) != 1 || !strings.HasPrefix(res[0], want) || !strings.HasSuffix(res[0], ":parameter"+name) {
			t.Errorf("task role ssm:GetParameter on %v, want exactly the key set parameter %s", res, name)
		}
		for a, r := range g {
			if a != "ssm:GetParameter" && strings.HasPrefix(a, "ssm:") && slices.ContainsFunc(r, func(s string) bool { return strings.HasSuffix(s, name) }) {
				t.Errorf("task role %s on the key set parameter: GetParameter is the one call", a)
			}
		}
	})
}

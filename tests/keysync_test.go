package tests

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/proof/offline"
)

// TestKeySync: per stack, identity's key sync is a STANDARD state machine
// run every minute by its schedule, whose HTTP Task goes through an
// API_KEY EventBridge connection, and whose role may do exactly what the
// sync needs: read and write the key set parameter, read the JWKS URL
// parameter, describe and use its connection (and the connection's
// secret), and call a user pool's JWKS URL in the region with GET.
func TestKeySync(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		at := func(svc, res string) string { return "arn:aws:" + svc + ":us-east-1:" + acct + ":" + res }
		smName := "sm-key-sync-" + stack
		smArn := at("states", "stateMachine:"+smName)
		keySet := "/trading/" + stack + "/identity/jwks"
		urlParam := "/trading/" + stack + "/identity/jwks-url"
		conn := "conn-jwks-" + stack

		sm := one(t, rec, "aws:sfn/stateMachine:StateMachine", "key-sync")
		eq(t, sm, "name", smName)
		eq(t, sm, "type", "STANDARD")
		eq(t, sm, "roleArn", "arn:aws:iam::"+acct+":role/role-sm-key-sync-"+stack)
		if sm.IsUnknown("definition") {
			t.Errorf("definition unknown")
		}

		s := one(t, rec, "aws:scheduler/schedule:Schedule", "key-sync-schedule")
		eq(t, s, "name", "sched-key-sync-"+stack)
		eq(t, s, "scheduleExpression", "rate(1 minute)")
		eq(t, s, "target.arn", smArn)
		eq(t, s, "target.deadLetterConfig.arn", "arn:aws:sqs:us-east-1:"+acct+":sched-dlq-"+stack)
		var sched policyDoc
		jsonInput(t, one(t, rec, "aws:iam/rolePolicy:RolePolicy", "key-sync-schedule-role"), "policy", &sched)
		schedulePolicyIs(t, sched, smArn, stack)

		c := one(t, rec, "aws:cloudwatch/eventConnection:EventConnection", "connection")
		eq(t, c, "name", conn)
		eq(t, c, "authorizationType", "API_KEY")
		eq(t, c, "authParameters.apiKey.key", "x-trading-ha-key-sync")

		// The JWKS URL parameter holds the pool's URL; the key set is the
		// one the service reads.
		var url *offline.Resource
		for _, p := range rec.ByType("aws:ssm/parameter:Parameter") {
			if p.Inputs["name"] == urlParam {
				url = p
			}
		}
		if url == nil {
			t.Fatalf("no parameter %s", urlParam)
		}
		if v, _ := url.Inputs["insecureValue"].(string); v != "https://cognito-idp.us-east-1.amazonaws.com/"+out(t, one(t, rec, "aws:cognito/userPool:UserPool", "pool"), "id")+"/.well-known/jwks.json" {
			t.Errorf("%s = %q, want the user pool's JWKS URL", urlParam, v)
		}
		if url.Inputs["type"] != "String" {
			t.Errorf("%s: type %v, want String", urlParam, url.Inputs["type"])
		}

		// The role's exact grants.
		doc := rolePolicy(t, rec, "key-sync-role")
		got := grants(doc)
		connArn := at("events", "connection/"+conn+"/*")
		secret := at("secretsmanager", "secret:events!connection/"+conn+"/*")
		want := map[string][]string{
			"ssm:GetParameter":                     {at("ssm", "parameter"+keySet), at("ssm", "parameter"+urlParam)},
			"ssm:PutParameter":                     {at("ssm", "parameter"+keySet)},
			"events:DescribeConnection":            {connArn},
			"events:RetrieveConnectionCredentials": {connArn},
			"secretsmanager:DescribeSecret":        {secret},
			"secretsmanager:GetSecretValue":        {secret},
			"states:InvokeHTTPEndpoint":            {"*"},
		}
		// Log delivery and X-Ray are every machine's (statemachine.Policy).
		for a := range got {
			if strings.HasPrefix(a, "logs:") || strings.HasPrefix(a, "xray:") {
				delete(got, a)
			}
		}
		slices.Sort(want["ssm:GetParameter"])
		if !reflect.DeepEqual(got, want) {
			t.Errorf("key sync role grants\n got %v\nwant %v", got, want)
		}
		for _, st := range doc.Statement {
			if slices.Contains(st.Action, "states:InvokeHTTPEndpoint") {
				wantCond := map[string]map[string]any{
					"StringEquals": {"states:HTTPMethod": "GET"},
					"StringLike":   {"states:HTTPEndpoint": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_*/.well-known/jwks.json"},
				}
				if !reflect.DeepEqual(st.Condition, wantCond) {
					t.Errorf("states:InvokeHTTPEndpoint condition %v, want %v", st.Condition, wantCond)
				}
			}
		}
	})
}

package sfncheck

import (
	"encoding/json"
	"strings"
	"testing"
)

const (
	jwksURL    = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Abc123/.well-known/jwks.json"
	connection = "arn:aws:events:us-east-1:123456789012:connection/conn-jwks-dev/0b7c3f6e-0000-4000-8000-000000000000"
	param      = "arn:aws:ssm:us-east-1:123456789012:parameter/trading/dev/identity/jwks"
)

func httpFixture(endpoint, method string) map[string]any {
	return map[string]any{"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": true, "Parameters": map[string]any{
		"ApiEndpoint": endpoint, "Method": method, "Authentication": map[string]any{"ConnectionArn": connection},
	}}
}

// httpPolicy is the key sync's grants, with the endpoint condition given.
func httpPolicy(t *testing.T, endpointPattern string) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{
		{"Effect": "Allow", "Action": "states:InvokeHTTPEndpoint", "Resource": "arn:aws:states:us-east-1:123456789012:stateMachine:sm",
			"Condition": map[string]any{"StringEquals": map[string]any{"states:HTTPMethod": "GET"}, "StringLike": map[string]any{"states:HTTPEndpoint": endpointPattern}}},
		{"Effect": "Allow", "Action": "events:RetrieveConnectionCredentials", "Resource": "arn:aws:events:us-east-1:123456789012:connection/conn-jwks-dev/*"},
		{"Effect": "Allow", "Action": []string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"},
			"Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:events!connection/conn-jwks-dev/*"},
		{"Effect": "Allow", "Action": []string{"ssm:GetParameter", "ssm:PutParameter"}, "Resource": param},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func checkPolicy(t *testing.T, states map[string]any, pol string) *Result {
	t.Helper()
	r, err := Check(env, Machine{Name: "fixture", Definition: definition(t, states), Policies: []string{pol}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestHTTPTaskAndParameterValid(t *testing.T) {
	r := checkPolicy(t, map[string]any{
		"Fetch": httpFixture(jwksURL, "GET"),
		"Read":  task("ssm:getParameter", map[string]any{"Name": "/trading/dev/identity/jwks"}),
		"Write": task("ssm:putParameter", map[string]any{"Name": "/trading/dev/identity/jwks", "Value.$": "$.doc", "Type": "String", "Overwrite": true}),
	}, httpPolicy(t, "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_*/.well-known/jwks.json"))
	if len(r.Findings) != 0 || len(r.Skipped) != 0 || len(r.Tasks) != 3 {
		t.Errorf("findings %v, skipped %v, tasks %d", r.Findings, r.Skipped, len(r.Tasks))
	}
}

func TestHTTPTaskReadAtRunTime(t *testing.T) {
	dynamic := map[string]any{"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": true, "Parameters": map[string]any{
		"ApiEndpoint.$": "$.source.url", "Method": "GET", "Authentication": map[string]any{"ConnectionArn.$": "$.connection.arn"},
	}}
	pol := httpPolicy(t, "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_*/.well-known/jwks.json")
	if r := checkPolicy(t, map[string]any{"Fetch": dynamic}, pol); len(r.Findings) != 0 {
		t.Errorf("findings %v", r.Findings)
	}
	// Without the secret grant the dynamic connection still needs it.
	r := checkPolicy(t, map[string]any{"Fetch": dynamic}, strings.ReplaceAll(pol, `"secretsmanager:GetSecretValue",`, ""))
	if len(r.Findings) != 1 || !strings.Contains(r.Findings[0].Detail, "does not grant secretsmanager:GetSecretValue") {
		t.Errorf("findings %v, want the missing secretsmanager:GetSecretValue", r.Findings)
	}
}

func TestHTTPTaskAndParameterFail(t *testing.T) {
	good := "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_*/.well-known/jwks.json"
	cases := []struct {
		name   string
		states map[string]any
		policy string
		want   string
	}{
		{"endpoint outside the condition", map[string]any{"Fetch": httpFixture("https://example.org/jwks.json", "GET")}, httpPolicy(t, good),
			"does not grant states:InvokeHTTPEndpoint for GET https://example.org/jwks.json"},
		{"method outside the condition", map[string]any{"Fetch": httpFixture(jwksURL, "POST")}, httpPolicy(t, good),
			"does not grant states:InvokeHTTPEndpoint for POST"},
		{"unknown member", map[string]any{"Fetch": func() map[string]any {
			f := httpFixture(jwksURL, "GET")
			f["Parameters"].(map[string]any)["Url"] = jwksURL
			return f
		}()}, httpPolicy(t, good), "Url is not an HTTP Task parameter"},
		{"no connection", map[string]any{"Fetch": func() map[string]any {
			f := httpFixture(jwksURL, "GET")
			delete(f["Parameters"].(map[string]any), "Authentication")
			return f
		}()}, httpPolicy(t, good), "needs authentication"},
		{"connection secret not granted", map[string]any{"Fetch": httpFixture(jwksURL, "GET")},
			strings.ReplaceAll(httpPolicy(t, good), "events!connection/conn-jwks-dev/*", "events!connection/other/*"),
			"secretsmanager:GetSecretValue (from the connection's secret) is not granted"},
		{"another parameter", map[string]any{"Write": task("ssm:putParameter", map[string]any{"Name": "/trading/dev/other", "Value": "x"})},
			httpPolicy(t, good), "ssm:PutParameter (from Name) is not granted on arn:aws:ssm:us-east-1:123456789012:parameter/trading/dev/other"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := checkPolicy(t, c.states, c.policy)
			var got []string
			for _, f := range r.Findings {
				got = append(got, f.String())
			}
			if !strings.Contains(strings.Join(got, "\n"), c.want) {
				t.Errorf("findings %q lack %q", got, c.want)
			}
		})
	}
}

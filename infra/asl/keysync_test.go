package asl

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestKeySyncStructure(t *testing.T) {
	x := ExampleKeySyncTargets()
	sm, err := KeySync(x)
	if err != nil {
		t.Fatal(err)
	}
	if err := sm.Validate(); err != nil {
		t.Fatal(err)
	}
	// The happy path, in order.
	var path []string
	for cur := sm.StartAt; len(path) < 10; {
		path = append(path, cur)
		var nxt string
		switch s := sm.States[cur].(type) {
		case *Task:
			nxt = s.Next
		case *Pass:
			nxt = s.Next
		case *Choice:
			nxt = s.Choices[1].Next
		}
		if nxt == "" {
			break
		}
		cur = nxt
	}
	if want := []string{KeySyncRead, KeySyncSource, KeySyncConnection, KeySyncFetch, KeySyncCompute, KeySyncDecide, KeySyncWrite, "Written"}; !reflect.DeepEqual(path, want) {
		t.Errorf("path = %v, want %v", path, want)
	}
	// Every failure fails the execution: each Task catches into a Fail state.
	for name, want := range map[string]string{KeySyncRead: KeySyncReadFailedError, KeySyncSource: KeySyncReadFailedError,
		KeySyncConnection: KeySyncReadFailedError, KeySyncFetch: KeySyncFetchFailedError, KeySyncWrite: KeySyncWriteFailedError} {
		task := sm.States[name].(*Task)
		c := task.Catch[len(task.Catch)-1]
		f, ok := sm.States[c.Next].(*Fail)
		if !ok || f.Error != want || c.ErrorEquals[0] != "States.ALL" {
			t.Errorf("%s: catch %+v -> %#v, want a Fail %s", name, c, sm.States[c.Next], want)
		}
	}
	// The Choice refuses an invalid JWKS before it looks at changed, and
	// does nothing when nothing changed.
	c := sm.States[KeySyncDecide].(*Choice)
	if *c.Choices[0].BooleanEquals || c.Choices[0].Variable != "$.next.valid" || c.Choices[0].Next != "InvalidJWKS" {
		t.Errorf("first choice %+v: want $.next.valid false -> InvalidJWKS", c.Choices[0])
	}
	if _, ok := sm.States[c.Default].(*Succeed); !ok {
		t.Errorf("default %q is not a Succeed", c.Default)
	}
	if f, ok := sm.States["InvalidJWKS"].(*Fail); !ok || f.Error != KeySyncInvalidJWKSError {
		t.Errorf("InvalidJWKS = %#v", sm.States["InvalidJWKS"])
	}
	// The HTTP Task: a GET of the URL the stack wrote, through the
	// connection DescribeConnection named.
	fetch := sm.States[KeySyncFetch].(*Task)
	wantParams := map[string]any{
		"ApiEndpoint.$":  "$.source.url",
		"Method":         "GET",
		"Authentication": map[string]any{"ConnectionArn.$": "$.connection.arn"},
	}
	if src := sm.States[KeySyncSource].(*Task); src.Parameters["Name"] != x.JWKSURLParameterName {
		t.Errorf("the JWKS URL is read from %v, want %s", src.Parameters["Name"], x.JWKSURLParameterName)
	}
	if c := sm.States[KeySyncConnection].(*Task); c.Resource != "arn:aws:states:::aws-sdk:eventbridge:describeConnection" || c.Parameters["Name"] != x.ConnectionName {
		t.Errorf("connection lookup %s %v", c.Resource, c.Parameters)
	}
	if fetch.Resource != "arn:aws:states:::http:invoke" || !reflect.DeepEqual(fetch.Parameters, wantParams) {
		t.Errorf("fetch: %s %v", fetch.Resource, fetch.Parameters)
	}
	if fetch.TimeoutSeconds == 0 || fetch.TimeoutSeconds*(1+fetch.Retry[0].MaxAttempts) > 45 {
		t.Errorf("fetch: timeout %d s x %d tries does not end inside the one-minute schedule", fetch.TimeoutSeconds, 1+fetch.Retry[0].MaxAttempts)
	}
	// The write replaces the value of the same String parameter.
	put := sm.States[KeySyncWrite].(*Task)
	if want := map[string]any{"Name": x.ParameterName, "Value.$": "$.next.document", "Type": "String", "Overwrite": true}; !reflect.DeepEqual(put.Parameters, want) {
		t.Errorf("put parameters %v, want %v", put.Parameters, want)
	}
	// The JSONata state's expression keeps keys for the retention.
	p := sm.States[KeySyncCompute].(*Pass)
	if p.QueryLanguage != "JSONata" || p.Output != KeySyncExpression(x.RetentionMinutes) || !strings.Contains(KeySyncExpression(61), "<= 3660000") {
		t.Errorf("compute: %s %v", p.QueryLanguage, p.Output)
	}
}

func TestKeySyncPermissions(t *testing.T) {
	x := ExampleKeySyncTargets()
	sm, err := KeySync(x)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	conds := map[string]map[string]map[string]any{}
	for _, p := range sm.Permissions() {
		for _, a := range p.Actions {
			got[a] = append(got[a], p.Resources...)
			slices.Sort(got[a])
			conds[a] = p.Condition
		}
	}
	want := map[string][]string{
		"ssm:GetParameter":                     {x.ParameterArn, x.JWKSURLParameterArn},
		"events:DescribeConnection":            {"arn:aws:events:us-east-1:123456789012:connection/conn-jwks-dev/*"},
		"ssm:PutParameter":                     {x.ParameterArn},
		"states:InvokeHTTPEndpoint":            {"*"},
		"events:RetrieveConnectionCredentials": {"arn:aws:events:us-east-1:123456789012:connection/conn-jwks-dev/*"},
		"secretsmanager:DescribeSecret":        {"arn:aws:secretsmanager:us-east-1:123456789012:secret:events!connection/conn-jwks-dev/*"},
		"secretsmanager:GetSecretValue":        {"arn:aws:secretsmanager:us-east-1:123456789012:secret:events!connection/conn-jwks-dev/*"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("permissions\n got %v\nwant %v", got, want)
	}
	wantCond := map[string]map[string]any{
		"StringEquals": {"states:HTTPMethod": "GET"},
		"StringLike":   {"states:HTTPEndpoint": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_*/.well-known/jwks.json"},
	}
	if !reflect.DeepEqual(conds["states:InvokeHTTPEndpoint"], wantCond) {
		t.Errorf("states:InvokeHTTPEndpoint condition %v, want %v", conds["states:InvokeHTTPEndpoint"], wantCond)
	}
	// The pattern the policy allows matches a pool's JWKS URL, and no
	// other host or region.
	if !globMatch(x.JWKSURLPattern(), JWKSURL("us-east-1", "us-east-1_Example1")) {
		t.Errorf("%s does not match a user pool's JWKS URL", x.JWKSURLPattern())
	}
	for _, other := range []string{JWKSURL("eu-west-1", "eu-west-1_Example1"), "https://example.org/us-east-1_x/.well-known/jwks.json"} {
		if globMatch(x.JWKSURLPattern(), other) {
			t.Errorf("%s matches %s", x.JWKSURLPattern(), other)
		}
	}
}

// globMatch matches an IAM StringLike pattern with * only.
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(s, p)
		}
		j := strings.Index(s, p)
		if j < 0 {
			return false
		}
		s = s[j+len(p):]
	}
	return s == ""
}

func TestKeySyncTargetsValidate(t *testing.T) {
	x := ExampleKeySyncTargets()
	x.ConnectionName, x.ParameterArn, x.RetentionMinutes = "conn/x", "arn:aws:ssm:us-east-1:1:parameter/other", 0
	_, err := KeySync(x)
	if err == nil {
		t.Fatal("invalid targets accepted")
	}
	for _, want := range []string{`ConnectionName "conn/x"`, `ParameterArn "arn:aws:ssm:us-east-1:1:parameter/other" is not the ARN`, "RetentionMinutes 0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

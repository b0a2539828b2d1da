package smoke

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// contractServer is an in-memory implementation of CONTRACT.md's HTTP API,
// with switches to break it the ways a bad deploy would.
// It also plays the token endpoint (POST /oauth2/token, client credentials
// with HTTP Basic) and issues opaque tokens whose trader is the client id.
type contractServer struct {
	mu       sync.Mutex
	sessions map[string]string // session -> trader
	orders   map[string]map[string]any
	byKey    map[string]string
	tokens   map[string]string // token -> trader
	n        int

	tokenCalls  int
	tokenForms  []string
	userAgents  []string
	authHeaders []string // Authorization of each request, "METHOD path auth"

	healthOpen   bool // the listener forwards the health paths instead of answering 404
	newIDOnRetry bool // idempotency broken: a replay creates a new order
	notSynthetic bool // synthetic flag dropped
	rejectTokens bool // the service answers 401 to every token
	leakSession  bool // orders carry session_id
}

const (
	smokeClient = "smoke-client"
	smokeSecret = "smoke-secret"
)

func newContractServer() *contractServer {
	return &contractServer{sessions: map[string]string{}, orders: map[string]map[string]any{}, byKey: map[string]string{}, tokens: map[string]string{}}
}

func (s *contractServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	reply := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	s.userAgents = append(s.userAgents, r.UserAgent())
	s.authHeaders = append(s.authHeaders, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
	trader := ""
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && !s.rejectTokens {
		trader = s.tokens[tok]
	}
	// The stack's listener: the health paths answer 404 and the edge probe
	// 200 before anything reaches the service.
	health := strings.HasPrefix(r.URL.Path, "/healthz") || strings.HasPrefix(r.URL.Path, "/readyz")
	switch {
	case health && !s.healthOpen:
		reply(404, map[string]string{"code": "not_found"})
		return
	case r.URL.Path == EdgeProbePath:
		w.WriteHeader(200)
		_, _ = w.Write([]byte("ok"))
		return
	}
	open := health || r.URL.Path == "/oauth2/token"
	if !open && trader == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="trading", error="invalid_token"`)
		reply(401, map[string]string{"error": "unauthorized", "code": "unauthorized"})
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/oauth2/token":
		s.tokenCalls++
		_ = r.ParseForm()
		s.tokenForms = append(s.tokenForms, r.PostForm.Encode())
		id, secret, ok := r.BasicAuth()
		if !ok || id != smokeClient || secret != smokeSecret {
			reply(401, map[string]string{"error": "invalid_client"})
			return
		}
		s.n++
		tok := fmt.Sprintf("tok-%d", s.n)
		s.tokens[tok] = id
		reply(200, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
	case health:
		reply(200, map[string]string{"status": "ok"})
	case r.Method == http.MethodPost && r.URL.Path == "/sessions":
		if b, _ := io.ReadAll(r.Body); len(b) != 0 {
			reply(400, map[string]string{"error": "the smoke test sends an empty body", "field": "trader_id"})
			return
		}
		s.n++
		id := fmt.Sprintf("sess-%d", s.n)
		s.sessions[id] = trader
		reply(201, map[string]any{"session_id": id, "trader_id": trader, "created_at": "now", "expires_at": "later"})
	case r.Method == http.MethodGet && r.URL.Path == "/sessions/current":
		id := r.Header.Get("X-Session-ID")
		if s.sessions[id] != trader {
			reply(404, map[string]string{"error": "no session", "code": "session_invalid"})
			return
		}
		reply(200, map[string]any{"session_id": id, "trader_id": trader, "created_at": "now", "expires_at": "later"})
	case r.Method == http.MethodPost && r.URL.Path == "/orders":
		sess, key := r.Header.Get("X-Session-ID"), r.Header.Get("Idempotency-Key")
		if s.sessions[sess] != trader {
			reply(401, map[string]string{"error": "unknown session"})
			return
		}
		if key == "" || len(key) > 128 {
			reply(400, map[string]string{"error": "bad key", "field": "Idempotency-Key"})
			return
		}
		var body map[string]any
		if json.NewDecoder(r.Body).Decode(&body) != nil {
			reply(400, map[string]string{"error": "bad body"})
			return
		}
		if id, ok := s.byKey[sess+"/"+key]; ok && !s.newIDOnRetry {
			reply(200, s.orders[id])
			return
		}
		s.n++
		o := map[string]any{"trader_id": trader, "status": "accepted", "idempotency_key": key, "created_at": "now"}
		if s.leakSession {
			o["session_id"] = sess
		}
		for k, v := range body {
			o[k] = v
		}
		o["order_id"] = fmt.Sprintf("ord-%d", s.n)
		if s.notSynthetic {
			o["synthetic"] = false
		}
		s.orders[o["order_id"].(string)] = o
		s.byKey[sess+"/"+key] = o["order_id"].(string)
		code := 201
		if s.newIDOnRetry && len(s.orders) > 1 {
			code = 200
		}
		reply(code, o)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/orders/"):
		if o, ok := s.orders[strings.TrimPrefix(r.URL.Path, "/orders/")]; ok {
			reply(200, o)
			return
		}
		reply(404, map[string]string{"error": "not found"})
	default:
		reply(404, map[string]string{"error": "no route"})
	}
}

// fakeRunbook answers RUNNING for `running` polls, then final (or RUNNING
// forever when final is "").
type fakeRunbook struct {
	mu       sync.Mutex
	running  int
	final    string
	startErr error
	polls    int
	started  []string
}

func (f *fakeRunbook) Start(ctx context.Context, arn, name, input string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.startErr != nil {
		return "", f.startErr
	}
	f.started = append(f.started, arn+"|"+name+"|"+input)
	return strings.Replace(arn, ":stateMachine:", ":execution:", 1) + ":" + name, nil
}

func (f *fakeRunbook) Describe(ctx context.Context, arn string) (Execution, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.polls++
	if f.final == "" || f.polls <= f.running {
		return Execution{Status: "RUNNING"}, nil
	}
	ex := Execution{Status: f.final}
	if f.final != "SUCCEEDED" {
		ex.Error, ex.Cause = "States.TaskFailed", "readyz returned 503"
	}
	return ex, nil
}

const smArn = "arn:aws:states:us-east-1:123456789012:stateMachine:sfn-health-check-dev"

// runAgainst runs the smoke test against srv and rb with fast timings.
func runAgainst(t *testing.T, srv *contractServer, rb Runbooks) Report {
	t.Helper()
	ts := httptest.NewTLSServer(srv)
	t.Cleanup(ts.Close)
	client := ts.Client() // trusts the test server's self-signed certificate
	return Run(context.Background(), Config{
		Outputs: Outputs{EndpointURL: ts.URL, HealthCheckStateMachineArn: smArn, TokenURL: ts.URL + "/oauth2/token", SmokeClientID: smokeClient,
			MigrateLogGroup: migrateGroup},
		ClientSecret:   smokeSecret,
		HTTP:           client,
		Runbooks:       rb,
		MigrateLog:     goodMigrateLog(),
		RunbookTimeout: 300 * time.Millisecond,
		PollInterval:   5 * time.Millisecond,
		RunID:          "test-run",
	})
}

// stepErr returns the named step, failing the test when it is absent.
func stepNamed(t *testing.T, rep Report, name string) Step {
	t.Helper()
	for _, s := range rep.Steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no step %q in %+v", name, rep.Steps)
	return Step{}
}

func TestSmokePassesAgainstTheContract(t *testing.T) {
	rb := &fakeRunbook{running: 3, final: "SUCCEEDED"}
	rep := runAgainst(t, newContractServer(), rb)
	var out bytes.Buffer
	if err := rep.Write(&out); err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("smoke failed against a correct server:\n%s", out.String())
	}
	if len(rep.Steps) != 10 {
		t.Errorf("got %d steps, want 10:\n%s", len(rep.Steps), out.String())
	}
	for _, s := range rep.Steps {
		if s.Skipped || s.Err != nil {
			t.Errorf("step %s skipped=%v err=%v", s.Name, s.Skipped, s.Err)
		}
	}
	if rb.polls != 4 {
		t.Errorf("runbook polled %d times, want 4 (3 RUNNING then SUCCEEDED)", rb.polls)
	}
	if len(rb.started) != 1 || rb.started[0] != smArn+`|smoke-test-run|{"runId":"test-run","source":"smoke"}` {
		t.Errorf("StartExecution calls = %q", rb.started)
	}
	text := out.String()
	for _, want := range []string{`PASS\s+GET /edge-probe\s+\d`, `PASS\s+POST /orders replay \(same Idempotency-Key\)\s+\S+\s+same order ord-3`,
		`PASS\s+database audit: pgaudit \(migrate step log\)\s+\S+\s+pgaudit 1.6.2 \(migrate step of 2026-11-02T09:14:00Z\)`, `(?m)^PASSED\s+10 steps`} {
		if !regexp.MustCompile(want).MatchString(text) {
			t.Errorf("summary lacks %q:\n%s", want, text)
		}
	}
}

func TestSmokeFailures(t *testing.T) {
	cases := []struct {
		name     string
		srv      func(*contractServer)
		rb       *fakeRunbook
		failStep string
		msg      string
	}{
		{"health paths open at the edge", func(s *contractServer) { s.healthOpen = true }, &fakeRunbook{final: "SUCCEEDED"}, "GET /healthz, /readyz (closed at the edge)", "status 200, want 404"},
		{"idempotency broken", func(s *contractServer) { s.newIDOnRetry = true }, &fakeRunbook{final: "SUCCEEDED"}, "POST /orders replay (same Idempotency-Key)", "want the original ord-3"},
		{"token refused by the service", func(s *contractServer) { s.rejectTokens = true }, &fakeRunbook{final: "SUCCEEDED"}, "POST /sessions", "the service refused the access token: status 401"},
		{"order carries session_id", func(s *contractServer) { s.leakSession = true }, &fakeRunbook{final: "SUCCEEDED"}, "POST /orders (synthetic)", "carries session_id"},
		{"synthetic dropped", func(s *contractServer) { s.notSynthetic = true }, &fakeRunbook{final: "SUCCEEDED"}, "POST /orders (synthetic)", "synthetic = false"},
		{"runbook failed", nil, &fakeRunbook{running: 1, final: "FAILED"}, "runbook health check", "FAILED: States.TaskFailed readyz returned 503"},
		{"runbook timed out", nil, &fakeRunbook{final: "TIMED_OUT"}, "runbook health check", "TIMED_OUT"},
		{"runbook never finishes", nil, &fakeRunbook{}, "runbook health check", "still running after 300ms"},
		{"runbook cannot start", nil, &fakeRunbook{startErr: errors.New("AccessDenied")}, "runbook health check", "start execution: AccessDenied"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newContractServer()
			if tc.srv != nil {
				tc.srv(srv)
			}
			start := time.Now()
			rep := runAgainst(t, srv, tc.rb)
			if rep.OK() {
				t.Fatal("smoke passed, want a failure")
			}
			s := stepNamed(t, rep, tc.failStep)
			if s.Err == nil || !strings.Contains(s.Err.Error(), tc.msg) {
				t.Errorf("step %s error = %v, want it to contain %q", tc.failStep, s.Err, tc.msg)
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("run took %s: the deadline did not hold", time.Since(start))
			}
			var out bytes.Buffer
			_ = rep.Write(&out)
			if !regexp.MustCompile(`FAIL\s+`+regexp.QuoteMeta(tc.failStep)).MatchString(out.String()) || !regexp.MustCompile(`(?m)^FAILED\s+10 steps`).MatchString(out.String()) {
				t.Errorf("summary does not show the failure:\n%s", out.String())
			}
		})
	}
}

func TestSmokeSkipsDependentSteps(t *testing.T) {
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"down"}`, http.StatusBadGateway)
	}))
	defer ts.Close()
	rep := Run(context.Background(), Config{
		Outputs: Outputs{EndpointURL: ts.URL}, HTTP: ts.Client(), RunID: "x",
	})
	if rep.OK() {
		t.Fatal("passed against a 502 endpoint")
	}
	for _, name := range []string{"POST /orders (synthetic)", "POST /orders replay (same Idempotency-Key)", "GET /orders/{id}", "runbook health check"} {
		if s := stepNamed(t, rep, name); !s.Skipped {
			t.Errorf("step %s ran, want skipped", name)
		}
	}
}

func TestSmokeRejectsSelfSignedWithoutInsecure(t *testing.T) {
	ts := httptest.NewUnstartedServer(newContractServer())
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the rejected handshakes are the point
	ts.StartTLS()
	defer ts.Close()
	strict := &http.Client{Timeout: 2 * time.Second}
	rep := Run(context.Background(), Config{Outputs: Outputs{EndpointURL: ts.URL}, HTTP: strict, RunID: "x"})
	if s := stepNamed(t, rep, "GET /edge-probe"); s.Err == nil || !strings.Contains(s.Err.Error(), "certificate") {
		t.Errorf("edge probe against a self-signed cert: %v, want a certificate error", s.Err)
	}
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	rep = Run(context.Background(), Config{Outputs: Outputs{EndpointURL: ts.URL}, HTTP: insecure, RunID: "x"})
	if s := stepNamed(t, rep, "GET /edge-probe"); s.Err != nil {
		t.Errorf("edge probe with InsecureSkipVerify: %v", s.Err)
	}
}

func TestParseOutputs(t *testing.T) {
	const auth = `"oidcTokenUrl":"https://trading-dev.auth.us-east-1.amazoncognito.com/oauth2/token","smokeClientId":"5smokeclient",`
	good := `{` + auth + `"parameterRoot":"/trading/dev","endpointUrl":"https://trading.example.com/","healthCheckStateMachineArn":"` + smArn + `","dbPassword":"[secret]"}`
	out, err := ParseOutputs(strings.NewReader(good), false)
	if err != nil {
		t.Fatal(err)
	}
	if out.EndpointURL != "https://trading.example.com" || out.HealthCheckStateMachineArn != smArn ||
		out.TokenURL != "https://trading-dev.auth.us-east-1.amazoncognito.com/oauth2/token" || out.SmokeClientID != "5smokeclient" || out.ParameterRoot != "/trading/dev" {
		t.Errorf("parsed %+v", out)
	}
	if got := ClientSecretParameter(out.ParameterRoot); got != "/trading/dev/probes/smoke/client-secret" {
		t.Errorf("ClientSecretParameter = %q", got)
	}
	for _, tc := range []struct {
		in, want string
		skip     bool
	}{
		{`{}`, `"endpointUrl" is missing`, false},
		{`{}`, `"healthCheckStateMachineArn" is missing`, false},
		{`{}`, `"oidcTokenUrl" is missing`, true},
		{`{}`, `"smokeClientId" is missing`, true},
		{`{"oidcTokenUrl":"http://idp/oauth2/token"}`, `"oidcTokenUrl" = "http://idp/oauth2/token" is not an https:// URL`, true},
		{`{"endpointUrl":"http://x"}`, `is not an https:// URL`, true},
		{`{"endpointUrl":"https://x","healthCheckStateMachineArn":"sm"}`, `is not a state machine ARN`, false},
		{`not json`, `parse stack outputs`, false},
	} {
		if _, err := ParseOutputs(strings.NewReader(tc.in), tc.skip); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseOutputs(%s) = %v, want %q", tc.in, err, tc.want)
		}
	}
	if out, err := ParseOutputs(strings.NewReader(`{`+auth+`"endpointUrl":"https://x","migrateLogGroup":"/trading/ecs-migrate-dev"}`), true); err != nil ||
		out.MigrateLogGroup != "/trading/ecs-migrate-dev" {
		t.Errorf("migrateLogGroup: %+v %v", out, err)
	}
	if _, err := ParseOutputs(strings.NewReader(`{`+auth+`"endpointUrl":"https://x"}`), true); err != nil {
		t.Errorf("skipRunbook still requires the state machine: %v", err)
	}
}

// TestStepFunctionsAdapter drives the real SDK client against a local
// endpoint speaking Step Functions' JSON protocol.
func TestStepFunctionsAdapter(t *testing.T) {
	var targets []string
	var started map[string]any
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := r.Header.Get("X-Amz-Target")
		targets = append(targets, target)
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		switch target {
		case "AWSStepFunctions.StartExecution":
			_ = json.Unmarshal(body, &started)
			fmt.Fprint(w, `{"executionArn":"arn:aws:states:us-east-1:123456789012:execution:sm:smoke-1","startDate":1700000000}`)
		case "AWSStepFunctions.DescribeExecution":
			fmt.Fprint(w, `{"executionArn":"arn:aws:states:us-east-1:123456789012:execution:sm:smoke-1","stateMachineArn":"`+smArn+`","status":"FAILED","startDate":1700000000,"error":"States.Timeout","cause":"took too long"}`)
		default:
			w.WriteHeader(400)
			fmt.Fprint(w, `{"__type":"UnknownOperationException"}`)
		}
	}))
	defer ts.Close()
	client := sfn.New(sfn.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL), Credentials: aws.AnonymousCredentials{}})
	rb := StepFunctions{API: client}
	arn, err := rb.Start(context.Background(), smArn, "smoke-1", `{"source":"smoke"}`)
	if err != nil {
		t.Fatal(err)
	}
	if arn != "arn:aws:states:us-east-1:123456789012:execution:sm:smoke-1" {
		t.Errorf("execution arn %q", arn)
	}
	if started["stateMachineArn"] != smArn || started["name"] != "smoke-1" || started["input"] != `{"source":"smoke"}` {
		t.Errorf("StartExecution body %v", started)
	}
	ex, err := rb.Describe(context.Background(), arn)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Status != "FAILED" || ex.Error != "States.Timeout" || ex.Cause != "took too long" {
		t.Errorf("execution %+v", ex)
	}
	if strings.Join(targets, ",") != "AWSStepFunctions.StartExecution,AWSStepFunctions.DescribeExecution" {
		t.Errorf("targets %v", targets)
	}
}

// TestSmokeAuthenticatesEveryCall: one client-credentials token request
// (HTTP Basic, grant_type and scope), the bearer on every session and order
// call, none on the health endpoints, the User-Agent everywhere.
func TestSmokeAuthenticatesEveryCall(t *testing.T) {
	srv := newContractServer()
	rep := runAgainst(t, srv, nil)
	if !rep.OK() && rep.Steps[len(rep.Steps)-1].Err != nil {
		t.Fatalf("smoke failed: %+v", rep.Steps)
	}
	if srv.tokenCalls != 1 || rep.TokenRequests != 1 {
		t.Errorf("token requests: server %d, report %d; want 1", srv.tokenCalls, rep.TokenRequests)
	}
	if len(srv.tokenForms) != 1 || srv.tokenForms[0] != "grant_type=client_credentials&scope=trading%2Fprobe" {
		t.Errorf("token forms %q", srv.tokenForms)
	}
	want := []string{
		"GET /edge-probe ", "GET /healthz ", "GET /healthz/x ", "GET /readyz ", "GET /readyz/x ",
		"POST /oauth2/token Basic c21va2UtY2xpZW50OnNtb2tlLXNlY3JldA==",
		"POST /sessions Bearer tok-1", "GET /sessions/current Bearer tok-1",
		"POST /orders Bearer tok-1", "POST /orders Bearer tok-1", "GET /orders/ord-3 Bearer tok-1",
	}
	if strings.Join(srv.authHeaders, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests and their Authorization:\n%s\nwant\n%s", strings.Join(srv.authHeaders, "\n"), strings.Join(want, "\n"))
	}
	for i, ua := range srv.userAgents {
		if ua != UserAgent {
			t.Errorf("request %d User-Agent %q", i, ua)
		}
	}
	if rep.TraderID != smokeClient || rep.OrderID != "ord-3" {
		t.Errorf("report trader %q order %q", rep.TraderID, rep.OrderID)
	}
}

func TestSmokeWrongSecretSkipsTheBusinessSteps(t *testing.T) {
	ts := httptest.NewTLSServer(newContractServer())
	defer ts.Close()
	rep := Run(context.Background(), Config{
		Outputs:      Outputs{EndpointURL: ts.URL, TokenURL: ts.URL + "/oauth2/token", SmokeClientID: smokeClient},
		ClientSecret: "wrong", HTTP: ts.Client(), RunID: "x",
	})
	s := stepNamed(t, rep, "POST oauth2/token (client credentials)")
	if s.Err == nil || !strings.Contains(s.Err.Error(), "refused the client credentials of smoke-client for scope trading/probe: status 401 (error: invalid_client)") {
		t.Errorf("token step error %v", s.Err)
	}
	for _, name := range []string{"POST /sessions", "GET /sessions/current", "POST /orders (synthetic)", "GET /orders/{id}"} {
		if st := stepNamed(t, rep, name); !st.Skipped || st.Detail != "no access token" {
			t.Errorf("step %s: skipped=%v detail=%q, want skipped for no access token", name, st.Skipped, st.Detail)
		}
	}
}

// TestReadClientSecret drives the real SDK client against a local endpoint
// speaking SSM's JSON protocol.
func TestReadClientSecret(t *testing.T) {
	var got map[string]any
	var target string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target = r.Header.Get("X-Amz-Target")
		_ = json.NewDecoder(r.Body).Decode(&got)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if got["Name"] == "/trading/dev/probes/smoke/client-secret" {
			fmt.Fprint(w, `{"Parameter":{"Name":"/trading/dev/probes/smoke/client-secret","Type":"SecureString","Value":"s3cr3t","Version":1}}`)
			return
		}
		w.WriteHeader(400)
		fmt.Fprint(w, `{"__type":"ParameterNotFound","message":"not found"}`)
	}))
	defer ts.Close()
	api := ssm.New(ssm.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL), Credentials: aws.AnonymousCredentials{}})
	secret, err := ReadClientSecret(context.Background(), api, ClientSecretParameter("/trading/dev"))
	if err != nil || secret != "s3cr3t" {
		t.Fatalf("ReadClientSecret = %q, %v", secret, err)
	}
	if target != "AmazonSSM.GetParameter" || got["WithDecryption"] != true {
		t.Errorf("target %q body %v, want GetParameter WithDecryption", target, got)
	}
	if _, err := ReadClientSecret(context.Background(), api, "/nope"); err == nil || !strings.Contains(err.Error(), "SSM parameter /nope") || !strings.Contains(err.Error(), "ParameterNotFound") {
		t.Errorf("missing parameter: %v", err)
	}
}

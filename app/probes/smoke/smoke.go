// Package smoke is the post-deploy smoke test of a trading-ha stack: it
// reads the stack outputs, checks the public endpoint over HTTPS (the edge
// probe answers, the service's health paths do not: the listener answers
// them 404) and against the app's contract (a synthetic order placed,
// replayed and read back), runs the health-check runbook to completion,
// checks that database audit is on (the migrate step's log line names the
// pgaudit version, audit.go) and checks the account-wide prerequisites the
// stack does not own (prereq.go). Every session
// and order call carries a bearer token the smoke test gets from the stack's
// Cognito token endpoint by client credentials (CONTRACT.md section 1). It is written
// against small interfaces (an HTTP doer, a Runbooks client) so it is tested
// offline against local fakes; scripts/smoke wires the real clients.
//
// It is proof, not product, kept in the service's module beside the live
// test that runs it against the real service (package probes says why);
// neither the service binary nor its image contains it.
package smoke

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
)

// Stack output names the smoke test reads (infra/deploy.go exports them).
const (
	OutputEndpointURL    = "endpointUrl"
	OutputHealthCheckSFN = "healthCheckStateMachineArn"
	// OutputTokenURL is the Cognito token endpoint,
	// https://<domain>.auth.<region>.amazoncognito.com/oauth2/token.
	OutputTokenURL = "oidcTokenUrl"
	// OutputSmokeClientID is the smoke test's client-credentials app client.
	OutputSmokeClientID = "smokeClientId"
	// OutputParameterRoot is /trading/<suffix>; the client secret is the
	// SecureString parameter <root>/probes/smoke/client-secret.
	OutputParameterRoot   = "parameterRoot"
	maxResponseBodyToRead = 1 << 20
)

// UserAgent is sent on every request: the WAF's core rule set blocks
// requests without one (NoUserAgent_HEADER), as the canary's README notes.
const UserAgent = "trading-ha-smoke/1"

// DefaultScope is the OAuth2 scope the smoke client holds: the probes'
// scope (CONTRACT.md section 1), under which every order is synthetic.
const DefaultScope = "trading/probe"

// ClientSecretParameter is the SSM SecureString parameter holding the smoke
// test's client secret under a stack's parameter root (/trading/<suffix>).
func ClientSecretParameter(parameterRoot string) string {
	return strings.TrimRight(parameterRoot, "/") + "/probes/smoke/client-secret"
}

// Outputs are the stack outputs the smoke test needs.
type Outputs struct {
	// EndpointURL is the public HTTPS base URL, e.g. https://trading.example.com.
	EndpointURL string
	// HealthCheckStateMachineArn is the health-check runbook.
	HealthCheckStateMachineArn string
	// TokenURL is the OAuth2 token endpoint (client credentials).
	TokenURL string
	// SmokeClientID is the smoke test's app client id.
	SmokeClientID string
	// ParameterRoot is /trading/<suffix> (optional: only needed to find
	// the client secret in SSM).
	ParameterRoot string
	// MigrateLogGroup is the migrate task's log group (the audit step
	// reads the migrate step's last line there).
	MigrateLogGroup string
}

// ParseOutputs reads `pulumi stack output --json --show-secrets=false`.
// It fails naming every missing output; with skipRunbook the state
// machine output is optional.
func ParseOutputs(r io.Reader, skipRunbook bool) (Outputs, error) {
	var raw map[string]any
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		return Outputs{}, fmt.Errorf("parse stack outputs (want the JSON of `pulumi stack output --json`): %w", err)
	}
	str := func(k string) string {
		s, _ := raw[k].(string)
		return strings.TrimSpace(s)
	}
	out := Outputs{EndpointURL: strings.TrimRight(str(OutputEndpointURL), "/"), HealthCheckStateMachineArn: str(OutputHealthCheckSFN),
		TokenURL: str(OutputTokenURL), SmokeClientID: str(OutputSmokeClientID), ParameterRoot: str(OutputParameterRoot),
		MigrateLogGroup: str(OutputMigrateLogGroup)}
	var errs []error
	if out.TokenURL == "" {
		errs = append(errs, fmt.Errorf("stack output %q is missing or not a string", OutputTokenURL))
	} else if u, err := url.Parse(out.TokenURL); err != nil || u.Scheme != "https" || u.Host == "" {
		errs = append(errs, fmt.Errorf("stack output %q = %q is not an https:// URL", OutputTokenURL, out.TokenURL))
	}
	if out.SmokeClientID == "" {
		errs = append(errs, fmt.Errorf("stack output %q is missing or not a string", OutputSmokeClientID))
	}
	if out.EndpointURL == "" {
		errs = append(errs, fmt.Errorf("stack output %q is missing or not a string", OutputEndpointURL))
	} else if u, err := url.Parse(out.EndpointURL); err != nil || u.Scheme != "https" || u.Host == "" {
		errs = append(errs, fmt.Errorf("stack output %q = %q is not an https:// URL", OutputEndpointURL, out.EndpointURL))
	}
	if !skipRunbook {
		switch arn := out.HealthCheckStateMachineArn; {
		case arn == "":
			errs = append(errs, fmt.Errorf("stack output %q is missing or not a string", OutputHealthCheckSFN))
		case !strings.HasPrefix(arn, "arn:") || !strings.Contains(arn, ":stateMachine:"):
			errs = append(errs, fmt.Errorf("stack output %q = %q is not a state machine ARN", OutputHealthCheckSFN, arn))
		}
	}
	return out, errors.Join(errs...)
}

// Doer sends HTTP requests; *http.Client is one.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Execution is the state of a runbook execution.
type Execution struct {
	// Status is RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED or
	// PENDING_REDRIVE (Step Functions' ExecutionStatus).
	Status string
	Output string
	Error  string
	Cause  string
}

// Runbooks starts and inspects state machine executions (Step Functions'
// StartExecution and DescribeExecution).
type Runbooks interface {
	Start(ctx context.Context, stateMachineArn, name, input string) (executionArn string, err error)
	Describe(ctx context.Context, executionArn string) (Execution, error)
}

// Config is one smoke run.
type Config struct {
	Outputs  Outputs
	HTTP     Doer
	Runbooks Runbooks // nil skips the runbook step
	// MigrateLog reads the migrate task's log group; nil skips the
	// database audit step.
	MigrateLog MigrateLog
	// RunbookTimeout bounds the wait for the execution (default 5m);
	// PollInterval is the DescribeExecution cadence (default 5s).
	RunbookTimeout time.Duration
	PollInterval   time.Duration
	// RequestTimeout bounds each HTTP request (default 15s).
	RequestTimeout time.Duration
	// RunID names the idempotency key and execution; random when empty.
	RunID string
	// ClientSecret is the secret of Outputs.SmokeClientID at Outputs.TokenURL.
	ClientSecret string
	// Scope is the OAuth2 scope requested (default DefaultScope).
	Scope string
	// Prerequisites are the account- and region-wide settings the stack
	// relies on but does not own; each is one step after the runbook.
	Prerequisites []Prerequisite
}

// Step is the result of one check.
type Step struct {
	Name     string
	Duration time.Duration
	Err      error
	Skipped  bool
	Detail   string
}

// Report is the outcome of a run.
type Report struct {
	Steps []Step
	Total time.Duration
	// TraderID and OrderID are the session's trader and the order placed
	// (empty when those steps failed), for checks downstream of the API.
	TraderID, OrderID string
	// TokenRequests counts token endpoint calls (one per run).
	TokenRequests int
}

// OK reports whether every step passed (skipped steps do not count as
// passed: a skip only happens after a failure or when asked for).
func (r Report) OK() bool {
	for _, s := range r.Steps {
		if s.Err != nil {
			return false
		}
	}
	return len(r.Steps) > 0
}

// Write prints the pass/fail summary with the time each step took.
func (r Report) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range r.Steps {
		status, detail := "PASS", s.Detail
		switch {
		case s.Err != nil:
			status, detail = "FAIL", s.Err.Error()
		case s.Skipped:
			status = "SKIP"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", status, s.Name, s.Duration.Round(time.Millisecond), detail)
	}
	verdict := "PASSED"
	if !r.OK() {
		verdict = "FAILED"
	}
	fmt.Fprintf(tw, "%s\t%d steps\t%s\t\n", verdict, len(r.Steps), r.Total.Round(time.Millisecond))
	return tw.Flush()
}

// Run performs every check in order and returns the report; it never
// stops early except where a step needs an earlier one's result.
func Run(ctx context.Context, cfg Config) Report {
	if cfg.RunbookTimeout <= 0 {
		cfg.RunbookTimeout = 5 * time.Minute
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 5 * time.Second
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 15 * time.Second
	}
	if cfg.RunID == "" {
		cfg.RunID = randomID()
	}
	if cfg.Scope == "" {
		cfg.Scope = DefaultScope
	}
	c := &client{cfg: cfg}
	start := time.Now()
	var rep Report
	step := func(name string, skip string, fn func() (string, error)) bool {
		if skip != "" {
			rep.Steps = append(rep.Steps, Step{Name: name, Skipped: true, Detail: skip})
			return false
		}
		t := time.Now()
		detail, err := fn()
		rep.Steps = append(rep.Steps, Step{Name: name, Duration: time.Since(t), Err: err, Detail: detail})
		return err == nil
	}

	step("GET "+EdgeProbePath, "", func() (string, error) { return c.edgeProbe(ctx) })
	step("GET /healthz, /readyz (closed at the edge)", "", func() (string, error) { return c.healthClosed(ctx) })
	tokenOK := step("POST oauth2/token (client credentials)", "", func() (string, error) {
		if err := c.fetchToken(ctx); err != nil {
			return "", err
		}
		return "token for client " + cfg.Outputs.SmokeClientID, nil
	})
	skip := ""
	if !tokenOK {
		skip = "no access token"
	}
	var session string
	sessionOK := step("POST /sessions", skip, func() (string, error) {
		var err error
		session, c.trader, err = c.createSession(ctx)
		return "session for trader " + c.trader, err
	})
	if !sessionOK && skip == "" {
		skip = "no session"
	}
	step("GET /sessions/current", skip, func() (string, error) { return c.currentSession(ctx, session) })
	var order map[string]any
	key := "smoke-" + cfg.RunID
	placed := step("POST /orders (synthetic)", skip, func() (string, error) {
		var err error
		order, err = c.placeOrder(ctx, session, key, http.StatusCreated)
		return fmt.Sprintf("order %v", order["order_id"]), err
	})
	if !placed && skip == "" {
		skip = "no order"
	}
	step("POST /orders replay (same Idempotency-Key)", skip, func() (string, error) {
		again, err := c.placeOrder(ctx, session, key, http.StatusOK)
		if err != nil {
			return "", err
		}
		if again["order_id"] != order["order_id"] {
			return "", fmt.Errorf("replay returned order_id %v, want the original %v", again["order_id"], order["order_id"])
		}
		if again["created_at"] != order["created_at"] {
			return "", fmt.Errorf("replay created_at %v, want the original %v", again["created_at"], order["created_at"])
		}
		return fmt.Sprintf("same order %v", again["order_id"]), nil
	})
	step("GET /orders/{id}", skip, func() (string, error) {
		return c.readOrder(ctx, order)
	})
	runbookSkip := ""
	if cfg.Runbooks == nil {
		runbookSkip = "runbook check disabled"
	}
	step("runbook health check", runbookSkip, func() (string, error) {
		return c.runbook(ctx)
	})
	auditSkip := ""
	if cfg.MigrateLog == nil {
		auditSkip = "database audit check disabled"
	}
	step("database audit: pgaudit (migrate step log)", auditSkip, func() (string, error) {
		return c.checkAudit(ctx)
	})
	for _, p := range cfg.Prerequisites {
		step("prerequisite: "+p.Name, "", func() (string, error) { return p.Check(ctx) })
	}
	rep.Total = time.Since(start)
	rep.TraderID, rep.TokenRequests = c.trader, c.tokenRequests
	if placed {
		rep.OrderID, _ = order["order_id"].(string)
	}
	return rep
}

// client holds the helpers the steps share.
type client struct {
	cfg           Config
	token         string
	trader        string
	tokenRequests int
}

// fetchToken gets an access token by the client-credentials grant:
// form-encoded grant_type and scope, HTTP Basic client authentication
// (Amazon Cognito, "The token issuer endpoint"). One per run: the run is
// far shorter than the token's life.
func (c *client) fetchToken(ctx context.Context) error {
	o := c.cfg.Outputs
	if o.TokenURL == "" || o.SmokeClientID == "" || c.cfg.ClientSecret == "" {
		return errors.New("no token endpoint, client id or client secret configured")
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {c.cfg.Scope}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.TokenURL, strings.NewReader(form))
	if err != nil {
		return fmt.Errorf("build token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.SetBasicAuth(url.QueryEscape(o.SmokeClientID), url.QueryEscape(c.cfg.ClientSecret))
	c.tokenRequests++
	resp, err := c.cfg.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", o.TokenURL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBodyToRead))
	var t struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
		Error       string `json:"error"`
	}
	_ = json.Unmarshal(b, &t)
	switch {
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("the token endpoint refused the client credentials of %s for scope %s: status %d (error: %s)", o.SmokeClientID, c.cfg.Scope, resp.StatusCode, t.Error)
	case t.AccessToken == "":
		return fmt.Errorf("token response has no access_token: %s", snippet(b))
	case t.TokenType != "" && !strings.EqualFold(t.TokenType, "Bearer"):
		return fmt.Errorf("token_type %q, want Bearer", t.TokenType)
	}
	c.token = t.AccessToken
	return nil
}

// EdgeProbePath is what the Route 53 health check requests; the HTTPS
// listener answers it 200 itself (config.EdgeProbePath).
const EdgeProbePath = "/edge-probe"

// HealthPaths are the service's health paths, which the public listener
// answers 404 (config.EdgeBlockedPaths): the smoke test asks for each and
// for a path under it.
var HealthPaths = []string{"/healthz", "/healthz/x", "/readyz", "/readyz/x"}

func (c *client) edgeProbe(ctx context.Context) (string, error) {
	_, err := c.call(ctx, http.MethodGet, EdgeProbePath, nil, nil, http.StatusOK)
	return "200 from the listener", err
}

// healthClosed asks for every health path and wants 404 from each: the
// listener's fixed response, before any request reaches a task.
func (c *client) healthClosed(ctx context.Context) (string, error) {
	for _, p := range HealthPaths {
		if _, err := c.call(ctx, http.MethodGet, p, nil, nil, http.StatusNotFound); err != nil {
			return "", fmt.Errorf("%w: the public listener must answer the service's health paths 404 (docs/service.md, Listeners)", err)
		}
	}
	return fmt.Sprintf("404 for %s", strings.Join(HealthPaths, ", ")), nil
}

// createSession opens a session for the token's trader (empty body).
func (c *client) createSession(ctx context.Context) (session, trader string, err error) {
	body, err := c.call(ctx, http.MethodPost, "/sessions", nil, nil, http.StatusCreated)
	if err != nil {
		return "", "", err
	}
	var s struct {
		SessionID string `json:"session_id"`
		TraderID  string `json:"trader_id"`
	}
	if err := json.Unmarshal(body, &s); err != nil || s.SessionID == "" || s.TraderID == "" {
		return "", "", fmt.Errorf("session response lacks session_id or trader_id: %s", snippet(body))
	}
	return s.SessionID, s.TraderID, nil
}

func (c *client) currentSession(ctx context.Context, session string) (string, error) {
	body, err := c.call(ctx, http.MethodGet, "/sessions/current", nil, map[string]string{"X-Session-ID": session}, http.StatusOK)
	if err != nil {
		return "", err
	}
	var s struct {
		SessionID string `json:"session_id"`
		TraderID  string `json:"trader_id"`
	}
	if err := json.Unmarshal(body, &s); err != nil || s.SessionID != session || s.TraderID != c.trader {
		return "", fmt.Errorf("current session %s, want session of trader %s", snippet(body), c.trader)
	}
	return "session of trader " + s.TraderID, nil
}

// orderBody is the synthetic order: consumers and reports filter on
// synthetic=true, so smoke runs never count as trading.
func orderBody() map[string]any {
	return map[string]any{"symbol": "SMOKE", "side": "buy", "quantity": 1, "limit_price": "1.00", "synthetic": true}
}

func (c *client) placeOrder(ctx context.Context, session, key string, want int) (map[string]any, error) {
	headers := map[string]string{"X-Session-ID": session, "Idempotency-Key": key}
	body, err := c.call(ctx, http.MethodPost, "/orders", orderBody(), headers, want)
	if err != nil {
		return nil, err
	}
	var o map[string]any
	if err := json.Unmarshal(body, &o); err != nil {
		return nil, fmt.Errorf("order response is not JSON: %w", err)
	}
	id, _ := o["order_id"].(string)
	switch {
	case id == "":
		return nil, fmt.Errorf("order response has no order_id: %s", snippet(body))
	case o["status"] != "accepted":
		return nil, fmt.Errorf("order status %v, want accepted", o["status"])
	case o["synthetic"] != true:
		return nil, fmt.Errorf("order synthetic = %v, want true", o["synthetic"])
	case o["idempotency_key"] != key:
		return nil, fmt.Errorf("order idempotency_key = %v, want %q", o["idempotency_key"], key)
	case o["trader_id"] != c.trader:
		return nil, fmt.Errorf("order trader_id = %v, want the session's %q", o["trader_id"], c.trader)
	}
	if _, leaked := o["session_id"]; leaked {
		return nil, errors.New("order carries session_id (the contract never returns it with an order)")
	}
	return o, nil
}

func (c *client) readOrder(ctx context.Context, order map[string]any) (string, error) {
	id, _ := order["order_id"].(string)
	body, err := c.call(ctx, http.MethodGet, "/orders/"+url.PathEscape(id), nil, nil, http.StatusOK)
	if err != nil {
		return "", err
	}
	var o map[string]any
	if err := json.Unmarshal(body, &o); err != nil {
		return "", fmt.Errorf("order is not JSON: %w", err)
	}
	if o["order_id"] != id || o["synthetic"] != true || o["symbol"] != "SMOKE" || o["trader_id"] != c.trader {
		return "", fmt.Errorf("read back %s, want order %s (synthetic SMOKE)", snippet(body), id)
	}
	return "order " + id + " read back", nil
}

func (c *client) runbook(ctx context.Context) (string, error) {
	rb := c.cfg.Runbooks
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RunbookTimeout)
	defer cancel()
	input, _ := json.Marshal(map[string]any{"source": "smoke", "runId": c.cfg.RunID}) // plain map marshals
	arn, err := rb.Start(ctx, c.cfg.Outputs.HealthCheckStateMachineArn, "smoke-"+c.cfg.RunID, string(input))
	if err != nil {
		return "", fmt.Errorf("start execution: %w", err)
	}
	tick := time.NewTicker(c.cfg.PollInterval)
	defer tick.Stop()
	for {
		ex, err := rb.Describe(ctx, arn)
		switch {
		case err != nil && ctx.Err() == nil:
			return "", fmt.Errorf("describe execution %s: %w", arn, err)
		case err == nil && ex.Status == "SUCCEEDED":
			return "execution " + arn + " SUCCEEDED", nil
		case err == nil && ex.Status != "RUNNING" && ex.Status != "":
			return "", fmt.Errorf("execution %s %s: %s %s", arn, ex.Status, ex.Error, ex.Cause)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("execution %s still running after %s", arn, c.cfg.RunbookTimeout)
		case <-tick.C:
		}
	}
}

// call sends one request and returns the body when the status is want.
func (c *client) call(ctx context.Context, method, path string, body any, headers map[string]string, want int) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.Outputs.EndpointURL+path, rd)
	if err != nil {
		return nil, fmt.Errorf("build %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.cfg.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBodyToRead))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	if resp.StatusCode == http.StatusUnauthorized && want != http.StatusUnauthorized {
		return nil, fmt.Errorf("%s %s: the service refused the access token: status 401 (WWW-Authenticate: %s): check that it accepts client %s (OIDC_CLIENT_IDS), its issuer matches %s and scope %s: %s",
			method, path, resp.Header.Get("WWW-Authenticate"), c.cfg.Outputs.SmokeClientID, c.cfg.Outputs.TokenURL, c.cfg.Scope, snippet(b))
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, snippet(b))
	}
	return b, nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// randomID is a run id usable as an execution name (80 chars max,
// [A-Za-z0-9-_]) and an idempotency key: UTC time plus 6 random bytes.
func randomID() string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return fmt.Sprintf("%d", time.Now().UnixNano())
	}
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b)
}

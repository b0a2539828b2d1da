// Package smoke is the post-deploy smoke test of a trading-ha stack: it
// reads the stack outputs, checks the public endpoint over HTTPS against the
// app's contract (health, readiness, a synthetic order placed, replayed and
// read back) and runs the health-check runbook to completion. It is written
// against small interfaces (an HTTP doer, a Runbooks client) so it is tested
// offline against local fakes; scripts/smoke wires the real clients.
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
	OutputEndpointURL     = "endpointUrl"
	OutputHealthCheckSFN  = "healthCheckStateMachineArn"
	synthTraderPrefix     = "smoke-"
	maxResponseBodyToRead = 1 << 20
)

// Outputs are the stack outputs the smoke test needs.
type Outputs struct {
	// EndpointURL is the public HTTPS base URL, e.g. https://trading.example.com.
	EndpointURL string
	// HealthCheckStateMachineArn is the health-check runbook.
	HealthCheckStateMachineArn string
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
	out := Outputs{EndpointURL: strings.TrimRight(str(OutputEndpointURL), "/"), HealthCheckStateMachineArn: str(OutputHealthCheckSFN)}
	var errs []error
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
	// RunbookTimeout bounds the wait for the execution (default 5m);
	// PollInterval is the DescribeExecution cadence (default 5s).
	RunbookTimeout time.Duration
	PollInterval   time.Duration
	// RequestTimeout bounds each HTTP request (default 15s).
	RequestTimeout time.Duration
	// RunID names the synthetic trader, idempotency key and execution;
	// random when empty.
	RunID string
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

	step("GET /healthz", "", func() (string, error) { return c.healthz(ctx) })
	step("GET /readyz", "", func() (string, error) { return c.readyz(ctx) })
	var session string
	sessionOK := step("POST /sessions", "", func() (string, error) {
		var err error
		session, err = c.createSession(ctx)
		return "session " + session, err
	})
	var order map[string]any
	skip := ""
	if !sessionOK {
		skip = "no session"
	}
	key := "smoke-" + cfg.RunID
	placed := step("POST /orders (synthetic)", skip, func() (string, error) {
		var err error
		order, err = c.placeOrder(ctx, session, key, http.StatusCreated)
		return fmt.Sprintf("order %v", order["order_id"]), err
	})
	if !placed {
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
	rep.Total = time.Since(start)
	return rep
}

// client holds the helpers the steps share.
type client struct {
	cfg Config
}

func (c *client) healthz(ctx context.Context) (string, error) {
	_, err := c.call(ctx, http.MethodGet, "/healthz", nil, nil, http.StatusOK)
	return "200", err
}

func (c *client) readyz(ctx context.Context) (string, error) {
	body, err := c.call(ctx, http.MethodGet, "/readyz", nil, nil, http.StatusOK)
	if err != nil {
		return "", err
	}
	var r struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return "", fmt.Errorf("readyz body is not JSON: %w", err)
	}
	if r.Status != "ready" {
		return "", fmt.Errorf("readyz status %q, want \"ready\" (checks %v)", r.Status, r.Checks)
	}
	return fmt.Sprintf("ready %v", r.Checks), nil
}

func (c *client) createSession(ctx context.Context) (string, error) {
	body, err := c.call(ctx, http.MethodPost, "/sessions", map[string]any{"trader_id": synthTraderPrefix + c.cfg.RunID}, nil, http.StatusCreated)
	if err != nil {
		return "", err
	}
	var s struct {
		SessionID string `json:"session_id"`
	}
	if err := json.Unmarshal(body, &s); err != nil || s.SessionID == "" {
		return "", fmt.Errorf("session response has no session_id: %s", snippet(body))
	}
	return s.SessionID, nil
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
	if o["order_id"] != id || o["synthetic"] != true || o["symbol"] != "SMOKE" {
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

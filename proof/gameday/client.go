package gameday

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// attempt is one HTTP request of the desk client.
type attempt struct {
	At       time.Time // when the response (or error) arrived
	OK       bool
	Scenario int
	// Answer is the failure as the desk saw it: the status and the
	// service's error code ("503 unavailable"), or "transport" ("" when OK).
	Answer string
}

// placed is one logical order: a unique key, retried with the same key.
type placed struct {
	Key      string
	Desk     string
	Scenario int
	OrderID  string // "" when the desk gave up
	Attempts int
}

// desks is the trading-desk load: each desk authenticates with client
// credentials, opens a session and places orders with unique idempotency
// keys, retrying a failed attempt with the same key (bounded in count and
// time), like the drill's client.
type desks struct {
	base     string
	http     *http.Client
	retries  int
	scenario atomic.Int64
	runID    string

	mu       sync.Mutex
	attempts []attempt
	orders   []placed
}

type deskCred struct{ id, secret, token, session string }

func clientCredentials(ctx context.Context, c *http.Client, tokenURL, id, secret string) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"trading/orders"}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	req.SetBasicAuth(id, secret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		return "", fmt.Errorf("token for %s: status %d %v", id, resp.StatusCode, err)
	}
	return out.AccessToken, nil
}

func (d *desks) openSession(ctx context.Context, cr *deskCred) error {
	return poll(ctx, 60*time.Second, 500*time.Millisecond, "session for "+cr.id, func() (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, d.base+"/sessions", strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+cr.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := d.http.Do(req)
		if err != nil {
			return false, nil
		}
		defer resp.Body.Close()
		var s struct {
			SessionID string `json:"session_id"`
		}
		if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&s) != nil {
			return false, nil
		}
		cr.session = s.SessionID
		return true, nil
	})
}

// run places orders until ctx ends.
func (d *desks) run(ctx context.Context, w int, cr *deskCred) {
	for i := 0; ctx.Err() == nil; i++ {
		sc := int(d.scenario.Load())
		p := placed{Key: fmt.Sprintf("gd-%s-%d-%d", d.runID, w, i), Desk: cr.id, Scenario: sc}
		body := fmt.Sprintf(`{"symbol":"GD%d","side":"buy","quantity":%d,"limit_price":"10.25"}`, w, 1+i%50)
		backoff := 100 * time.Millisecond
		deadline := time.Now().Add(60 * time.Second)
		for p.Attempts < d.retries && time.Now().Before(deadline) {
			p.Attempts++
			id, ok, retryable, answer := d.post(cr, p.Key, body)
			d.mu.Lock()
			d.attempts = append(d.attempts, attempt{At: time.Now(), OK: ok, Scenario: sc, Answer: answer})
			d.mu.Unlock()
			if ok {
				p.OrderID = id
				break
			}
			if !retryable {
				break
			}
			// Retries continue through a cancelled ctx: an order in flight is
			// finished, within its own bounds, before the verdict.
			time.Sleep(backoff)
			backoff = min(backoff*2, time.Second)
		}
		d.mu.Lock()
		d.orders = append(d.orders, p)
		d.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (d *desks) post(cr *deskCred, key, body string) (orderID string, ok, retryable bool, answer string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, d.base+"/orders", bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bearer "+cr.token)
	req.Header.Set("X-Session-ID", cr.session)
	req.Header.Set("Idempotency-Key", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.http.Do(req)
	if err != nil {
		return "", false, true, "transport"
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	var o struct {
		OrderID string `json:"order_id"`
		Code    string `json:"code"`
	}
	_ = json.Unmarshal(b, &o)
	if resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusOK {
		if o.OrderID != "" {
			return o.OrderID, true, false, ""
		}
		return "", false, true, strconv.Itoa(resp.StatusCode) + " without an order"
	}
	answer = strings.TrimSpace(strconv.Itoa(resp.StatusCode) + " " + o.Code)
	// 5xx and 429 are transient; other 4xx are the request's fault.
	return "", false, resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests, answer
}

// answers counts a scenario's failed attempts by answer, most frequent
// first: "503 unavailable x12, transport x3".
func answers(as []attempt, sc int) string {
	n := map[string]int{}
	for _, a := range as {
		if a.Scenario == sc && !a.OK {
			n[a.Answer]++
		}
	}
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return n[keys[i]] > n[keys[j]] || n[keys[i]] == n[keys[j]] && keys[i] < keys[j] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s x%d", k, n[k])
	}
	return strings.Join(parts, ", ")
}

func (d *desks) snapshot() ([]attempt, []placed) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]attempt(nil), d.attempts...), append([]placed(nil), d.orders...)
}

func (d *desks) lastFailure() (time.Time, time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var fail, ok time.Time
	for i := len(d.attempts) - 1; i >= 0 && (fail.IsZero() || ok.IsZero()); i-- {
		a := d.attempts[i]
		if !a.OK && fail.IsZero() {
			fail = a.At
		}
		if a.OK && ok.IsZero() {
			ok = a.At
		}
	}
	return fail, ok
}

// window is the client-visible error window of a scenario: from the last
// success before its first failure to the first success after its last
// failure (0 when nothing failed), and the number of failed attempts.
func window(as []attempt, sc int) (time.Duration, int) {
	first, last := -1, -1
	failed := 0
	for i, a := range as {
		if a.Scenario == sc && !a.OK {
			if first < 0 {
				first = i
			}
			last = i
			failed++
		}
	}
	if first < 0 {
		return 0, 0
	}
	start := as[first].At
	for i := first - 1; i >= 0; i-- {
		if as[i].OK {
			start = as[i].At
			break
		}
	}
	end := as[last].At
	for i := last + 1; i < len(as); i++ {
		if as[i].OK {
			end = as[i].At
			break
		}
	}
	return end.Sub(start), failed
}

// postSession opens a session with token and returns the status code.
func postSession(ctx context.Context, c *http.Client, base, token string) (int, error) {
	code, _, err := postSessionAnswer(ctx, c, base, token)
	return code, err
}

// tokenAccepted asks the service whether it accepts token without writing
// anything: GET /orders?idempotency_key=<a key nobody used> is 404 once
// the token verifies and 401 when it does not. Session creation would
// spend the trader's budget of new sessions (CONTRACT.md section 2), which
// a probe every second on every task outruns.
func tokenAccepted(ctx context.Context, c *http.Client, base, token string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/orders?idempotency_key=gameday-token-probe", nil)
	if err != nil {
		return false, fmt.Errorf("token probe request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return false, fmt.Errorf("get /orders: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusNotFound, nil
}

// postSessionAnswer is postSession with the Retry-After header.
func postSessionAnswer(ctx context.Context, c *http.Client, base, token string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/sessions", strings.NewReader("{}"))
	if err != nil {
		return 0, "", fmt.Errorf("session request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("post /sessions: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), nil
}

// canaryJourney is one canary run: a new session, then an order with a
// new idempotency key; it passes when both answer 201.
func canaryJourney(ctx context.Context, c *http.Client, base string, cr *deskCred, key string) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/sessions", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer "+cr.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	var sess struct {
		SessionID string `json:"session_id"`
	}
	err = json.NewDecoder(resp.Body).Decode(&sess)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || err != nil {
		return false
	}
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, base+"/orders", strings.NewReader(`{"symbol":"GDCANARY","side":"buy","quantity":1,"limit_price":"10.25"}`))
	req.Header.Set("Authorization", "Bearer "+cr.token)
	req.Header.Set("X-Session-ID", sess.SessionID)
	req.Header.Set("Idempotency-Key", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err = c.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusCreated
}

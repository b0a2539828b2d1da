package probes_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trading-ha/trading-ha/app/internal/testkit"
	"github.com/trading-ha/trading-ha/app/internal/testkit/stack"
	"github.com/trading-ha/trading-ha/app/probes/smoke"
)

// Parameter names as the infrastructure creates them (/trading/<suffix>/probes/...).
const (
	canarySecretParameter = stack.ParametersPath + "/probes/canary/client-secret"
	smokeSecretParameter  = stack.ParametersPath + "/probes/smoke/client-secret"
)

// secureStringSSM serves SSM's GetParameter (AWS JSON 1.1) for SecureString
// parameters, insisting on WithDecryption as the probes' KMS-encrypted
// parameters need. testkit.FakeSSM serves only GetParametersByPath.
type secureStringSSM struct {
	mu     sync.Mutex
	params map[string]string
	reads  []string
}

func (f *secureStringSSM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	var in struct {
		Name           string
		WithDecryption bool
	}
	if r.Header.Get("X-Amz-Target") != "AmazonSSM.GetParameter" || json.NewDecoder(r.Body).Decode(&in) != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"UnknownOperationException"}`)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads = append(f.reads, in.Name)
	v, ok := f.params[in.Name]
	switch {
	case !ok:
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":"ParameterNotFound","message":"%s"}`, in.Name)
	case !in.WithDecryption:
		// What a SecureString without decryption returns: ciphertext.
		_ = json.NewEncoder(w).Encode(map[string]any{"Parameter": map[string]any{"Name": in.Name, "Type": "SecureString", "Value": "AQICAHg-ciphertext"}})
	default:
		_ = json.NewEncoder(w).Encode(map[string]any{"Parameter": map[string]any{"Name": in.Name, "Type": "SecureString", "Value": v, "Version": 1}})
	}
}

func (f *secureStringSSM) Reads() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.reads...)
}

// canaryDir is infra/monitoring/canary; it fails (or skips) when node or
// the SSM SDK (npm ci there) is missing.
func canaryDir(t *testing.T) (node, dir string) {
	t.Helper()
	root, err := testkit.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(root, "infra", "monitoring", "canary")
	node, err = exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules", "@aws-sdk", "client-ssm", "package.json"))
		if err != nil {
			err = fmt.Errorf("@aws-sdk/client-ssm not installed in %s (npm ci there; scripts/test.sh does): %v", dir, err)
		}
	}
	if err != nil {
		testkit.SkipOrFail(t, fmt.Errorf("%w: %v", testkit.ErrUnavailable, err))
	}
	return node, dir
}

// waitForOrderPlaced polls the fake bus for the order's OrderPlaced event.
func waitForOrderPlaced(t *testing.T, bus *testkit.FakeBus, orderID, trader string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		for _, e := range bus.Events() {
			var d map[string]any
			if json.Unmarshal([]byte(e.Detail), &d) != nil || d["order_id"] != orderID {
				continue
			}
			if e.Source != "trading.orders" || e.DetailType != "OrderPlaced" || e.EventBusName != "events-test" {
				t.Errorf("order %s event: source %q detail-type %q bus %q", orderID, e.Source, e.DetailType, e.EventBusName)
			}
			if d["trader_id"] != trader || d["synthetic"] != true || d["status"] != "accepted" {
				t.Errorf("order %s event detail %s: want trader %s, synthetic, accepted", orderID, e.Detail, trader)
			}
			for _, k := range []string{"session_id", "idempotency_key"} {
				if _, ok := d[k]; ok {
					t.Errorf("order %s event carries %s: %s", orderID, k, e.Detail)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no OrderPlaced event for order %s within 15s; bus has %d events", orderID, len(bus.Events()))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestProbesAgainstTheRealService(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test skipped in -short mode")
	}
	node, dir := canaryDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The probes are app clients of their own, like the desks.
	st, err := stack.Start(ctx, stack.Options{Clients: []string{"desk-a", "canary-client", "smoke-client"}, TLS: true,
		// Probe app clients are allowed scope trading/probe only.
		ProbeClients: []string{"canary-client", "smoke-client"},
		Env:          map[string]string{"OIDC_TRADER_MAP": "canary-client=SYNTHETIC-CANARY,smoke-client=SYNTHETIC-SMOKE"}})
	testkit.SkipOrFail(t, err)
	t.Cleanup(st.Close)

	params := &secureStringSSM{params: map[string]string{
		canarySecretParameter: st.ClientSecrets["canary-client"],
		smokeSecretParameter:  st.ClientSecrets["smoke-client"],
	}}
	ssmSrv := httptest.NewServer(params)
	t.Cleanup(ssmSrv.Close)
	insecure := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // loopback self-signed test certificate

	// The probes run against the load balancer's public listener, which
	// answers the edge probe itself and the health paths 404 before any
	// request reaches a task; edge stands in for those two rules (their
	// recorded form: tests/edge_test.go) and forwards the rest.
	edge := edgeListener(t, st.BaseURL)

	t.Run("smoke", func(t *testing.T) {
		// The secret as scripts/smoke reads it: SSM GetParameter WithDecryption.
		secret, err := smoke.ReadClientSecret(ctx, ssmClient(ssmSrv.URL), smoke.ClientSecretParameter(stack.ParametersPath))
		if err != nil {
			t.Fatal(err)
		}
		rep := smoke.Run(ctx, smoke.Config{
			Outputs:      smoke.Outputs{EndpointURL: edge, TokenURL: st.Issuer.TokenURL, SmokeClientID: "smoke-client", ParameterRoot: stack.ParametersPath},
			ClientSecret: secret, HTTP: insecure, RunID: "live-" + time.Now().UTC().Format("150405.000"), Scope: testkit.ProbeScope,
		})
		var out strings.Builder
		_ = rep.Write(&out)
		t.Logf("smoke report:\n%s", out.String())
		for _, s := range rep.Steps {
			if s.Err != nil {
				t.Errorf("step %s failed: %v", s.Name, s.Err)
			}
			// The runbook and the migrate step's log live in AWS only.
			if s.Skipped && s.Name != "runbook health check" && !strings.HasPrefix(s.Name, "database audit") {
				t.Errorf("step %s skipped: %s", s.Name, s.Detail)
			}
		}
		if rep.TraderID != "SYNTHETIC-SMOKE" || rep.TokenRequests != 1 || rep.OrderID == "" {
			t.Fatalf("trader %q, token requests %d, order %q", rep.TraderID, rep.TokenRequests, rep.OrderID)
		}
		waitForOrderPlaced(t, st.Bus, rep.OrderID, "SYNTHETIC-SMOKE")
	})

	t.Run("canary", func(t *testing.T) {
		cctx, ccancel := context.WithTimeout(ctx, 60*time.Second)
		defer ccancel()
		cmd := exec.CommandContext(cctx, node, "apiCanary.js")
		cmd.Dir = dir
		// A clean environment: only what the canary's runConfig sets, plus the
		// SDK's region, static credentials and the local SSM endpoint.
		cmd.Env = []string{
			"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
			"TARGET_URL=" + edge, "TLS_INSECURE=true", "STEP_TIMEOUT_MS=5000",
			"TOKEN_URL=" + st.Issuer.TokenURL, "CLIENT_ID=canary-client",
			"CLIENT_SECRET_PARAMETER=" + canarySecretParameter,
			"AWS_REGION=" + testkit.Region, "AWS_ACCESS_KEY_ID=AKIDTESTTESTTEST", "AWS_SECRET_ACCESS_KEY=test-secret",
			"AWS_ENDPOINT_URL_SSM=" + ssmSrv.URL, "AWS_EC2_METADATA_DISABLED=true",
		}
		outb, err := cmd.CombinedOutput()
		out := string(outb)
		t.Logf("canary output:\n%s", out)
		if err != nil {
			t.Fatalf("canary failed: %v", err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		var res struct {
			Canary        string `json:"canary"`
			OrderID       string `json:"order_id"`
			TraderID      string `json:"trader_id"`
			TokenRequests int    `json:"token_requests"`
		}
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil || res.Canary != "passed" {
			t.Fatalf("last line %q is not the canary's JSON result: %v", lines[len(lines)-1], err)
		}
		for _, step := range []string{"token", "createSession", "getSession", "placeOrder", "replayOrder", "getOrder"} {
			if !strings.Contains(out, "PASSED "+step+" (") {
				t.Errorf("no passed step %s in the output", step)
			}
		}
		if res.TraderID != "SYNTHETIC-CANARY" || res.TokenRequests != 1 {
			t.Errorf("trader %q token requests %d, want SYNTHETIC-CANARY and 1", res.TraderID, res.TokenRequests)
		}
		if reads := params.Reads(); !contains(reads, canarySecretParameter) {
			t.Errorf("SSM reads %q: the canary did not read %s", reads, canarySecretParameter)
		}
		waitForOrderPlaced(t, st.Bus, res.OrderID, "SYNTHETIC-CANARY")
	})

	t.Run("canary with a refused token", func(t *testing.T) {
		// A client the issuer knows but the service does not accept: the
		// canary must fail saying so.
		cctx, ccancel := context.WithTimeout(ctx, 60*time.Second)
		defer ccancel()
		rogue := st.Issuer.AddProbeClient("rogue-client")
		cmd := exec.CommandContext(cctx, node, "apiCanary.js")
		cmd.Dir = dir
		cmd.Env = []string{
			"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
			"TARGET_URL=" + st.BaseURL, "TLS_INSECURE=true",
			"TOKEN_URL=" + st.Issuer.TokenURL, "CLIENT_ID=rogue-client", "LOCAL_CLIENT_SECRET=" + rogue,
		}
		outb, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Fatalf("canary with a refused token: %v\n%s", err, outb)
		}
		if !strings.Contains(string(outb), "step createSession failed: the service refused the access token: HTTP 401 (code: unauthorized)") {
			t.Errorf("output lacks the 401 message:\n%s", outb)
		}
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// edgeListener serves the public listener's two fixed responses in front
// of the service at target: smoke.EdgeProbePath 200, and 404 for the
// health paths and anything under them.
func edgeListener(t *testing.T, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // loopback self-signed test certificate
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == smoke.EdgeProbePath {
			_, _ = w.Write([]byte("ok"))
			return
		}
		for _, p := range []string{"/healthz", "/readyz"} {
			if strings.HasPrefix(r.URL.Path, p) {
				http.NotFound(w, r)
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/proof/listener"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// edgeAnswer is what the stack's public HTTPS listener does with a GET of
// path (proof/listener): "forward" or "fixed <status>", and the deciding rule.
func edgeAnswer(t *testing.T, rec *offline.Recording, path string) (string, string) {
	t.Helper()
	l, err := listener.Load(rec)
	if err != nil {
		t.Fatal(err)
	}
	a, rule := l.Answer("GET", path)
	return a.String(), rule
}

// canaryPaths are the API paths the canary script requests relative to its
// TARGET_URL (its `path: '...'` literals), template parts replaced by "x".
func canaryPaths(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "infra", "monitoring", "canary", "apiCanary.js"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile("path: ['`](/[^'`]*)['`]").FindAllStringSubmatch(string(src), -1) {
		out = append(out, regexp.MustCompile(`\$\{[^}]*\}`).ReplaceAllString(m[1], "x"))
	}
	if len(out) == 0 {
		t.Fatal("no request path found in the canary script")
	}
	return out
}

// TestHealthPathsClosedAtTheEdge: from the internet, the service's health
// paths answer 404 at the ALB in both stacks, whatever follows the name
// (/healthz/x, /readyzfoo), while the API paths reach the tasks and the
// target group keeps checking /readyz on the tasks directly. Port 80 is
// closed: no listener, no security group ingress. What probes the endpoint
// from outside (the Route 53 health check, the canary) asks for paths the
// listener does not block.
func TestHealthPathsClosedAtTheEdge(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		for _, p := range []string{"/healthz", "/healthz/", "/healthz/deep", "/healthzx", "/readyz", "/readyz/", "/readyz/x"} {
			if got, rule := edgeAnswer(t, rec, p); got != "fixed 404" {
				t.Errorf("GET %s from the internet: %s (%s), want a fixed 404 from the ALB", p, got, rule)
			}
		}
		for _, p := range []string{"/orders", "/orders/ord-1", "/sessions", "/sessions/current"} {
			if got, rule := edgeAnswer(t, rec, p); got != "forward" {
				t.Errorf("GET %s: %s (%s), want it forwarded to the tasks", p, got, rule)
			}
		}
		eq(t, one(t, rec, "aws:lb/targetGroup:TargetGroup", "app"), "healthCheck.path", "/readyz")

		for _, l := range rec.ByType("aws:lb/listener:Listener") {
			if get(t, l, "port") != float64(443) {
				t.Errorf("listener %s on port %v: only HTTPS 443 is open", l.Name, get(t, l, "port"))
			}
		}
		for _, r := range rec.ByType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
			if r.Inputs["cidrIpv4"] == "0.0.0.0/0" || r.Inputs["cidrIpv6"] == "::/0" {
				if r.Inputs["fromPort"] != float64(443) || r.Inputs["toPort"] != float64(443) {
					t.Errorf("ingress %s opens %v-%v to the internet, want 443 only", r.Name, r.Inputs["fromPort"], r.Inputs["toPort"])
				}
			}
		}

		hc := one(t, rec, "aws:route53/healthCheck:HealthCheck", "endpoint")
		probe := get(t, hc, "resourcePath").(string)
		if got, rule := edgeAnswer(t, rec, probe); got != "forward" && !strings.HasPrefix(got, "fixed 2") {
			t.Errorf("the Route 53 health check requests %s, which the ALB answers %s (%s): the check fails", probe, got, rule)
		}
		for _, p := range canaryPaths(t) {
			if got, rule := edgeAnswer(t, rec, p); got != "forward" {
				t.Errorf("the canary requests %s, which the ALB answers %s (%s)", p, got, rule)
			}
		}
	})
}

// TestHTTPRedirectOnRequest: httpRedirect true keeps a port-80 listener
// that only redirects to HTTPS, and opens port 80 for it.
func TestHTTPRedirectOnRequest(t *testing.T) {
	rec, err := recordWith(t, "dev", map[string]string{"trading-ha:httpRedirect": "true"})
	if err != nil {
		t.Fatal(err)
	}
	http := one(t, rec, "aws:lb/listener:Listener", "http")
	eq(t, http, "port", 80)
	eq(t, http, "defaultActions", []any{map[string]any{
		"type": "redirect", "redirect": map[string]any{"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"},
	}})
	open := 0
	for _, r := range rec.ByType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
		if r.Inputs["fromPort"] == float64(80) {
			open++
		}
	}
	if open != 2 {
		t.Errorf("%d ingress rules on port 80 with httpRedirect, want IPv4 and IPv6", open)
	}
}

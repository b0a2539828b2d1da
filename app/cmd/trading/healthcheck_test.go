package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestHealthcheckFollowsAPPTLS: the container health check reaches the
// server beside it in the mode the task sets. Against a TLS port it must
// speak TLS (APP_TLS=self-signed) or ECS would replace every task; against
// a plain port, plain HTTP; an unknown mode fails the check by name.
func TestHealthcheckFollowsAPPTLS(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
		}
	})
	secure := httptest.NewTLSServer(ok)
	defer secure.Close()
	plain := httptest.NewServer(ok)
	defer plain.Close()
	port := func(s *httptest.Server) string {
		_, p, _ := net.SplitHostPort(s.Listener.Addr().String())
		return p
	}
	env := func(mode string) func(string) (string, bool) {
		return func(k string) (string, bool) {
			if k == "APP_TLS" && mode != "" {
				return mode, true
			}
			return "", false
		}
	}
	for _, c := range []struct {
		name, mode string
		srv        *httptest.Server
		want       int
	}{
		{"TLS port, APP_TLS=self-signed", "self-signed", secure, 0},
		{"TLS port, APP_TLS unset", "", secure, 1},
		{"plain port, APP_TLS unset", "", plain, 0},
		{"plain port, APP_TLS=off", "off", plain, 0},
		{"APP_TLS=on", "on", secure, 1},
	} {
		if got := runHealthcheck(port(c.srv), env(c.mode)); got != c.want {
			t.Errorf("%s: exit %d, want %d", c.name, got, c.want)
		}
	}
}

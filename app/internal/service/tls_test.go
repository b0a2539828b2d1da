package service

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trading-ha/trading-ha/app/internal/config"
	"github.com/trading-ha/trading-ha/app/internal/testkit"
)

// TestSelfSignedTLS: the certificate a task makes is P-256, for server
// authentication, valid now and for SelfSignedValidity, and a client
// limited to TLS 1.2 with ECDHE-ECDSA-AES128-GCM-SHA256 (in every ELB
// security policy) completes a handshake with it.
func TestSelfSignedTLS(t *testing.T) {
	now := time.Now()
	cfg, err := selfSignedTLS(now)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("public key %T, want ECDSA P-256", cert.PublicKey)
	}
	if now.Before(cert.NotBefore) || cert.NotAfter.Sub(now) < SelfSignedValidity-time.Second {
		t.Errorf("valid %s to %s, want now to now+%s", cert.NotBefore, cert.NotAfter, SelfSignedValidity)
	}
	if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Errorf("extended key usage %v", cert.ExtKeyUsage)
	}
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("min version %x", cfg.MinVersion)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			_ = c.(*tls.Conn).Handshake()
			_ = c.Close()
		}
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true, //nolint:gosec // the load balancer does not verify either
		MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}})
	if err != nil {
		t.Fatalf("TLS 1.2 ECDHE-ECDSA-AES128-GCM-SHA256 handshake: %v", err)
	}
	_ = c.Close()
	second, err := selfSignedTLS(now)
	if err != nil {
		t.Fatal(err)
	}
	if string(second.Certificates[0].Certificate[0]) == string(cfg.Certificates[0].Certificate[0]) {
		t.Error("two tasks got the same certificate")
	}
}

// TestServerSpeaksTLSWhenAsked: with APP_TLS=self-signed the service's port
// answers HTTPS (what the HTTPS target group and its health check send)
// and refuses plain HTTP; without it, plain HTTP as before.
func TestServerSpeaksTLSWhenAsked(t *testing.T) {
	for _, mode := range []string{config.TLSSelfSigned, config.TLSOff} {
		t.Run(mode, func(t *testing.T) {
			env := map[string]string{
				"AWS_REGION": testkit.Region, "DB_WRITER_HOST": "127.0.0.1", "DB_READER_HOST": "127.0.0.1", "DB_PORT": "1",
				"DB_NAME": "trading", "DB_USERNAME": "trading_app", "DB_AUTH_MODE": "password", "DB_PASSWORD": "unused",
				"SESSIONS_TABLE": "sessions", "EVENT_BUS_NAME": "bus", "OIDC_ISSUER": "https://issuer.invalid",
				"OIDC_CLIENT_IDS": "desk", "OIDC_JWKS_URL": "https://issuer.invalid/jwks", "APP_TLS": mode, "DRAIN_DELAY": "0s",
			}
			cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			svc, err := New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{Listener: ln, AWSCredentials: testkit.Credentials()})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- svc.Run(ctx) }()
			defer func() { cancel(); <-done }()

			client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // as the load balancer: it does not verify targets
			get := func(scheme string) (int, error) {
				resp, err := client.Get(scheme + "://" + svc.Addr() + "/healthz")
				if err != nil {
					return 0, err
				}
				defer resp.Body.Close()
				_, _ = io.Copy(io.Discard, resp.Body)
				return resp.StatusCode, nil
			}
			secure, errS := get("https")
			plain, errP := get("http")
			if mode == config.TLSSelfSigned {
				if errS != nil || secure != http.StatusOK {
					t.Errorf("https /healthz: %d, %v; want 200", secure, errS)
				}
				// Go's TLS server answers a plain request 400 ("Client sent
				// an HTTP request to an HTTPS server").
				if errP == nil && plain == http.StatusOK {
					t.Errorf("plain http /healthz answered 200 on a TLS port")
				}
				return
			}
			if errP != nil || plain != http.StatusOK {
				t.Errorf("http /healthz: %d, %v; want 200", plain, errP)
			}
			if errS == nil || !strings.Contains(errS.Error(), "http: server gave HTTP response to HTTPS client") && !strings.Contains(errS.Error(), "tls") {
				t.Errorf("https on a plain port: %d, %v; want a TLS error", secure, errS)
			}
		})
	}
}

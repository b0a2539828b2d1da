package config

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func valid() map[string]string {
	return map[string]string{
		"AWS_REGION": "us-east-1", "DB_WRITER_HOST": "w", "DB_READER_HOST": "r", "DB_NAME": "trading",
		"DB_USERNAME": "u", "DB_AUTH_MODE": "password", "DB_PASSWORD": "secret-pw", "SESSIONS_TABLE": "sessions-dev",
		"EVENT_BUS_NAME": "events-dev", "OIDC_ISSUER": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_X",
		"OIDC_CLIENT_IDS": "desk1,desk2",
	}
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(valid()))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 8080 || c.DBPort != 5432 || c.DBSSLMode != SSLModeRequire || c.SessionTTL != 8*time.Hour ||
		c.ShutdownTimeout != 15*time.Second || c.LogLevel != slog.LevelInfo || c.DrainDelay != 10*time.Second ||
		c.OIDCScope != "trading/orders" || len(c.OIDCClientIDs) != 2 || c.DBMigrations != MigrationsWait ||
		c.IdempotencyRetention != 24*time.Hour || c.OutboxMaxAttempts != 10 || c.ParametersRefresh != 5*time.Second {
		t.Fatalf("defaults not applied: %+v", c)
	}
}

func TestLoadListsEveryProblem(t *testing.T) {
	m := map[string]string{"APP_PORT": "99999", "DB_SSLMODE": "prefer", "SESSION_TTL": "forever",
		"SHUTDOWN_TIMEOUT": "1ms", "LOG_LEVEL": "loud", "DYNAMODB_ENDPOINT": "not a url", "DB_AUTH_MODE": "password",
		"OIDC_TRADER_MAP": "nope", "SSM_PARAMETERS_PATH": "trading"}
	_, err := Load(env(m))
	var ce *Error
	if !errors.As(err, &ce) || !ErrInvalid(err) {
		t.Fatalf("want *Error, got %v", err)
	}
	want := []string{"APP_PORT", "AWS_REGION", "DB_WRITER_HOST", "DB_READER_HOST", "DB_NAME", "DB_USERNAME",
		"DB_PASSWORD_FILE", "SESSIONS_TABLE", "EVENT_BUS_NAME", "SESSION_TTL", "SHUTDOWN_TIMEOUT", "LOG_LEVEL",
		"DYNAMODB_ENDPOINT", "DB_SSLMODE", "OIDC_ISSUER", "OIDC_TRADER_MAP", "SSM_PARAMETERS_PATH"}
	got := map[string]bool{}
	for _, f := range ce.Fields {
		got[f.Var] = true
	}
	for _, v := range want {
		if !got[v] {
			t.Errorf("%s not reported; error: %v", v, err)
		}
		if !strings.Contains(err.Error(), v) {
			t.Errorf("message does not name %s", v)
		}
	}
	if len(ce.Fields) != len(want) {
		t.Errorf("got %d problems, want %d: %v", len(ce.Fields), len(want), err)
	}
}

func TestSSLMode(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte("pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, mode, bundle, want string
		wantErr                  string
	}{
		{name: "default require", want: SSLModeRequire},
		{name: "bundle implies verify-full", bundle: ca, want: SSLModeVerifyFull},
		{name: "explicit require with bundle", mode: "require", bundle: ca, want: SSLModeRequire},
		{name: "verify-full without bundle", mode: "verify-full", wantErr: "DB_SSLMODE"},
		{name: "missing bundle file", bundle: "/nonexistent/ca.pem", wantErr: "DB_CA_BUNDLE"},
		{name: "builtin RDS bundle", bundle: "rds", want: SSLModeVerifyFull},
		{name: "builtin RDS bundle without verification", mode: "require", bundle: "rds", wantErr: "DB_CA_BUNDLE"},
		{name: "disable refused", mode: "disable", wantErr: "DB_SSLMODE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := valid()
			if tt.mode != "" {
				m["DB_SSLMODE"] = tt.mode
			}
			if tt.bundle != "" {
				m["DB_CA_BUNDLE"] = tt.bundle
			}
			c, err := Load(env(m))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("want error naming %s, got %v", tt.wantErr, err)
				}
				return
			}
			if err != nil || c.DBSSLMode != tt.want {
				t.Fatalf("got %q, %v; want %q", c.DBSSLMode, err, tt.want)
			}
		})
	}
}

func TestLogValueHidesPassword(t *testing.T) {
	c, err := Load(env(valid()))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("cfg", slog.Any("config", c))
	if strings.Contains(b.String(), "secret-pw") {
		t.Fatalf("password logged: %s", b.String())
	}
}

func TestIAMModeNeedsVerifyFullAndNoPassword(t *testing.T) {
	m := valid()
	m["DB_AUTH_MODE"] = "iam"
	_, err := Load(env(m))
	if err == nil || !strings.Contains(err.Error(), "DB_AUTH_MODE") || !strings.Contains(err.Error(), "DB_CA_BUNDLE") {
		t.Fatalf("iam with a password and no CA bundle: %v", err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	_ = os.WriteFile(ca, []byte("pem"), 0o600)
	delete(m, "DB_PASSWORD")
	m["DB_CA_BUNDLE"] = ca
	if c, err := Load(env(m)); err != nil || c.DBAuthMode != AuthIAM {
		t.Fatalf("iam: %+v %v", c, err)
	}
	m = valid()
	delete(m, "OIDC_CLIENT_IDS")
	if _, err := Load(env(m)); err == nil || !strings.Contains(err.Error(), "OIDC_CLIENT_IDS") {
		t.Fatalf("no audience or client ids: %v", err)
	}
}

func TestJWKSParameter(t *testing.T) {
	m := valid()
	m["OIDC_JWKS_PARAMETER"] = "/trading/dev/identity/jwks"
	c, err := Load(env(m))
	if err != nil {
		t.Fatal(err)
	}
	if c.OIDCJWKSParameter != "/trading/dev/identity/jwks" || c.OIDCJWKSRefresh != time.Minute {
		t.Fatalf("parameter mode: %+v", c)
	}
	m["OIDC_JWKS_URL"] = "https://issuer.example.net/jwks.json"
	m["OIDC_JWKS_REFRESH_INTERVAL"] = "1s"
	_, err = Load(env(m))
	if err == nil || !strings.Contains(err.Error(), "OIDC_JWKS_URL") || !strings.Contains(err.Error(), "OIDC_JWKS_REFRESH_INTERVAL") {
		t.Fatalf("want OIDC_JWKS_URL and OIDC_JWKS_REFRESH_INTERVAL reported, got %v", err)
	}
	delete(m, "OIDC_JWKS_URL")
	delete(m, "OIDC_JWKS_REFRESH_INTERVAL")
	m["OIDC_JWKS_PARAMETER"] = "trading/jwks"
	if _, err := Load(env(m)); err == nil || !strings.Contains(err.Error(), "OIDC_JWKS_PARAMETER") {
		t.Fatalf("relative parameter name accepted: %v", err)
	}
}

// TestServerTLS: APP_TLS is off by default, self-signed when the stacks
// ask for it, and anything else is refused by name (by Load and by
// ServerTLS, which the container health check uses).
func TestServerTLS(t *testing.T) {
	c, err := Load(env(valid()))
	if err != nil || c.TLS != TLSOff {
		t.Fatalf("default APP_TLS: %q, %v; want off", c.TLS, err)
	}
	m := valid()
	m["APP_TLS"] = "self-signed"
	if c, err = Load(env(m)); err != nil || c.TLS != TLSSelfSigned {
		t.Fatalf("APP_TLS=self-signed: %q, %v", c.TLS, err)
	}
	if mode, err := ServerTLS(env(m)); err != nil || mode != TLSSelfSigned {
		t.Fatalf("ServerTLS: %q, %v", mode, err)
	}
	m["APP_TLS"] = "on"
	if _, err = Load(env(m)); err == nil || !strings.Contains(err.Error(), `APP_TLS: must be one of off, self-signed, got "on"`) {
		t.Fatalf("APP_TLS=on: %v", err)
	}
	if _, err = ServerTLS(env(m)); err == nil || !strings.Contains(err.Error(), "APP_TLS") {
		t.Fatalf("ServerTLS(on): %v", err)
	}
}

package store

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/trading-ha/trading-ha/app/rdsca"
)

// TestBuiltinBundle: DB_CA_BUNDLE=rds verifies every TLS attempt against
// the embedded RDS bundle (no sslrootcert file), and refuses a mode that
// would not verify.
func TestBuiltinBundle(t *testing.T) {
	d := DSN{Host: "db.example.internal", Port: 5432, Database: "trading", User: "app", SSLMode: "verify-full", RootCert: rdsca.Builtin}
	if strings.Contains(d.String(), "sslrootcert") {
		t.Fatalf("builtin bundle rendered as a file: %s", d.String())
	}
	cfg, err := pgxpool.ParseConfig(d.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.trustBuiltin(&cfg.ConnConfig.Config); err != nil {
		t.Fatal(err)
	}
	want, err := rdsca.Pool()
	if err != nil {
		t.Fatal(err)
	}
	tc := cfg.ConnConfig.TLSConfig
	if tc == nil || tc.RootCAs == nil || !tc.RootCAs.Equal(want) || tc.InsecureSkipVerify {
		t.Fatalf("TLS config does not verify against the RDS bundle: %+v", tc)
	}
	for i, fb := range cfg.ConnConfig.Fallbacks {
		if fb.TLSConfig != nil && !fb.TLSConfig.RootCAs.Equal(want) {
			t.Errorf("fallback %d trusts another pool", i)
		}
	}

	d.SSLMode = "require"
	cfg, err = pgxpool.ParseConfig(d.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.trustBuiltin(&cfg.ConnConfig.Config); err == nil {
		t.Error("builtin bundle accepted with sslmode require, which does not verify")
	}
}

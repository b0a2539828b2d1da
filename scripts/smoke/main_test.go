package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCognitoRegion(t *testing.T) {
	for in, want := range map[string]string{
		"https://trading-dev.auth.us-east-1.amazoncognito.com/oauth2/token": "us-east-1",
		"https://auth.example.com/oauth2/token":                             "",
		"::":                                                                "",
	} {
		if got := cognitoRegion(in); got != want {
			t.Errorf("cognitoRegion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRunNeedsASecretSource(t *testing.T) {
	p := filepath.Join(t.TempDir(), "outputs.json")
	outs := `{"endpointUrl":"https://x","oidcTokenUrl":"https://d.auth.us-east-1.amazoncognito.com/oauth2/token","smokeClientId":"c"}`
	if err := os.WriteFile(p, []byte(outs), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := run(context.Background(), io.Discard, options{outputs: p, skipRunbook: true})
	if err == nil || !strings.Contains(err.Error(), "no client secret") || !strings.Contains(err.Error(), "parameterRoot") {
		t.Errorf("run without a secret source: %v", err)
	}
}

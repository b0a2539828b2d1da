package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/app/probes/smoke"
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

// TestStackRegion: the prerequisite checks go to the stack's region (the
// state machine's, else the token endpoint's), not the profile's.
func TestStackRegion(t *testing.T) {
	for _, tc := range []struct {
		outs     smoke.Outputs
		fallback string
		want     string
	}{
		{smoke.Outputs{HealthCheckStateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:sm", TokenURL: "https://d.auth.eu-west-1.amazoncognito.com/oauth2/token"}, "eu-central-1", "us-east-1"},
		{smoke.Outputs{TokenURL: "https://d.auth.eu-west-1.amazoncognito.com/oauth2/token"}, "eu-central-1", "eu-west-1"},
		{smoke.Outputs{}, "eu-central-1", "eu-central-1"},
	} {
		if got := stackRegion(tc.outs, tc.fallback); got != tc.want {
			t.Errorf("stackRegion(%+v, %q) = %q, want %q", tc.outs, tc.fallback, got, tc.want)
		}
	}
}

// Package testkit starts real dependencies on loopback for integration tests
// and the failover drill: a PostgreSQL server (initdb into a temporary
// directory, TLS on, password auth), dynalite (the DynamoDB API) and a
// recording fake EventBridge endpoint.
package testkit

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RequireEnv is the environment variable that turns "dependency missing"
// from a skip into a failure (set it in CI).
const RequireEnv = "TRADING_REQUIRE_INTEGRATION"

// ErrUnavailable wraps every "a required binary is not installed" error.
var ErrUnavailable = errors.New("integration dependency unavailable")

// SkipOrFail ends the test when err reports a missing dependency: a skip
// normally, a failure when TRADING_REQUIRE_INTEGRATION=1. Other errors fail.
func SkipOrFail(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if errors.Is(err, ErrUnavailable) && os.Getenv(RequireEnv) != "1" {
		t.Skipf("skipping integration test: %v (run app/testdata/setup-integration.sh; set %s=1 to make this a failure)", err, RequireEnv)
	}
	t.Fatalf("integration dependency: %v", err)
}

// FreePort returns a currently unused loopback TCP port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// RepoRoot finds the repository root from the working directory upwards:
// the directory holding go.mod and app/go.mod. The service is a module of
// its own (app/go.mod) inside the root module, so the nearest go.mod above
// a package of app/ is the service's, not the repository's.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("getwd: %w", err)
	}
	for {
		if isFile(filepath.Join(dir, "go.mod")) && isFile(filepath.Join(dir, "app", "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no directory above the working directory holds go.mod and app/go.mod (the repository root)")
		}
		dir = parent
	}
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}

func lookPath(candidates ...string) (string, error) {
	for _, c := range candidates {
		if filepath.IsAbs(c) {
			if st, err := os.Stat(c); err == nil && !st.IsDir() {
				return c, nil
			}
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: none of %v found", ErrUnavailable, candidates)
}

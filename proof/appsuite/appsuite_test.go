package appsuite

import (
	"context"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestAppModule runs the service module's tests (`go test ./...` in app/)
// with this run's -short, -v, -count and -failfast and the time left before
// its own timeout.
func TestAppModule(t *testing.T) {
	app, err := filepath.Abs(filepath.Join("..", "..", "app"))
	if err != nil {
		t.Fatal(err)
	}
	recordInputs(t, app)

	args := []string{"test"}
	if testing.Short() {
		args = append(args, "-short")
	}
	if testing.Verbose() {
		args = append(args, "-v")
	}
	flag.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "test.count":
			args = append(args, "-count="+f.Value.String())
		case "test.failfast":
			args = append(args, "-failfast="+f.Value.String())
		}
	})
	ctx := context.Background()
	if deadline, ok := t.Deadline(); ok {
		// Leave this binary time to report a nested timeout itself.
		left := time.Until(deadline) - 30*time.Second
		if left < 10*time.Second {
			t.Fatalf("%s left before the timeout: too little to run the app module's tests", time.Until(deadline).Round(time.Second))
		}
		args = append(args, "-timeout="+left.Round(time.Second).String())
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-10*time.Second))
		defer cancel()
	}
	args = append(args, "./...")

	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = app
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("go %s in app/ (%s):\n%s", strings.Join(args, " "), time.Since(start).Round(time.Second), out)
	if err != nil {
		t.Fatalf("the app module's tests failed: %v (output above)", err)
	}
}

// envName matches a quoted upper-case name with an underscore, as the app's
// sources spell the environment variables they read (TRADING_DYNALITE).
var envName = regexp.MustCompile(`"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"`)

// recordInputs reads, through the calls go test watches, what the nested run
// depends on, so that go test's cache keeps this test's result only while
// they are unchanged: every file of app/ (node_modules aside) and every
// environment variable that is set, or that the app's sources name. The
// nested run's own cache then decides package by package. What it finds
// elsewhere (PostgreSQL, node) is not watched: -count=1 runs it regardless.
func recordInputs(t *testing.T, app string) {
	t.Helper()
	names := map[string]bool{}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		names[name] = true
	}
	err := filepath.WalkDir(app, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			_, err := os.Stat(path)
			return err
		}
		src, err := os.ReadFile(path)
		for _, m := range envName.FindAllSubmatch(src, -1) {
			names[string(m[1])] = true
		}
		return err
	})
	if err != nil {
		t.Fatalf("read app/: %v", err)
	}
	for name := range names {
		os.Getenv(name)
	}
}

// Command mutate is the repeatable mutation run: it applies each mutant of
// mutants.go (one realistic regression: a condition dropped, a bound
// loosened, a retry widened) to the source through a go build overlay, so
// the checkout is never modified, runs the tests that should notice, and
// reports which mutants the suite killed and the score.
//
//	go run ./scripts/mutate            # every mutant, score must be >= 95%
//	go run ./scripts/mutate -run KMS   # mutants whose ID contains KMS
//	go run ./scripts/mutate -list      # the list, without running
//
// A mutant whose original text no longer occurs exactly once in its file is
// stale (the code moved on): it is reported and fails the run, so the list
// is kept in step with the code. A mutant that does not compile is invalid
// (it tests the compiler, not the suite) and fails the run too.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Mutant is one regression applied to one file.
type Mutant struct {
	// ID names the mutant (component and what it breaks).
	ID string
	// File is relative to the repository root.
	File string
	// Old must occur exactly once in File; New replaces it.
	Old, New string
	// Pkgs are the test packages run against the mutant (default ./tests/).
	Pkgs []string
}

// outcome of one mutant.
type outcome string

const (
	killed   outcome = "killed"
	survived outcome = "SURVIVED"
	stale    outcome = "STALE"
	invalid  outcome = "INVALID"
)

func main() {
	run := flag.String("run", "", "only mutants whose ID contains this")
	list := flag.Bool("list", false, "print the mutants and exit")
	min := flag.Float64("min", 95, "minimum score (percent of valid mutants killed)")
	timeout := flag.Duration("timeout", 10*time.Minute, "per-mutant test timeout")
	flag.Parse()
	if err := mutate(os.Stdout, ".", *run, *list, *min, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		os.Exit(1)
	}
}

func mutate(w io.Writer, root, filter string, list bool, min float64, timeout time.Duration) error {
	var selected []Mutant
	for _, m := range Mutants {
		if strings.Contains(m.ID, filter) {
			selected = append(selected, m)
		}
	}
	if list {
		for _, m := range selected {
			fmt.Fprintf(w, "%-40s %s\n", m.ID, m.File)
		}
		return nil
	}
	tmp, err := os.MkdirTemp("", "mutate-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)

	counts := map[outcome]int{}
	for i, m := range selected {
		start := time.Now()
		o, detail, err := runMutant(root, tmp, i, m, timeout)
		if err != nil {
			return fmt.Errorf("mutant %s: %w", m.ID, err)
		}
		counts[o]++
		fmt.Fprintf(w, "%-9s %-40s %5.0fs %s\n", o, m.ID, time.Since(start).Seconds(), detail)
	}
	valid := counts[killed] + counts[survived]
	score := 0.0
	if valid > 0 {
		score = 100 * float64(counts[killed]) / float64(valid)
	}
	fmt.Fprintf(w, "\n%d mutants: %d killed, %d survived, %d stale, %d invalid; score %.1f%% (%d/%d)\n",
		len(selected), counts[killed], counts[survived], counts[stale], counts[invalid], score, counts[killed], valid)
	switch {
	case counts[stale]+counts[invalid] > 0:
		return errors.New("stale or invalid mutants: update mutants.go to the code")
	case filter == "" && score < min:
		return fmt.Errorf("score %.1f%% is below %.0f%%", score, min)
	}
	return nil
}

// runMutant writes the mutated file into tmp, points a build overlay at it
// and runs the mutant's packages. Exit status 0 means the suite missed it.
func runMutant(root, tmp string, i int, m Mutant, timeout time.Duration) (outcome, string, error) {
	path, err := filepath.Abs(filepath.Join(root, m.File))
	if err != nil {
		return "", "", err
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("read %s: %w", m.File, err)
	}
	if n := strings.Count(string(src), m.Old); n != 1 {
		return stale, fmt.Sprintf("original text occurs %d times in %s", n, m.File), nil
	}
	mutated := filepath.Join(tmp, fmt.Sprintf("m%03d.go", i))
	if err := os.WriteFile(mutated, []byte(strings.Replace(string(src), m.Old, m.New, 1)), 0o644); err != nil {
		return "", "", fmt.Errorf("write mutant: %w", err)
	}
	overlay := filepath.Join(tmp, fmt.Sprintf("m%03d.json", i))
	spec, err := json.Marshal(map[string]map[string]string{"Replace": {path: mutated}})
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(overlay, spec, 0o644); err != nil {
		return "", "", fmt.Errorf("write overlay: %w", err)
	}

	pkgs := m.Pkgs
	if len(pkgs) == 0 {
		pkgs = []string{"./tests/"}
	}
	// Build the mutated package first: a mutant that does not compile is
	// invalid, not killed.
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", os.DevNull, "-overlay", overlay, "./"+filepath.ToSlash(filepath.Dir(m.File)))
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return invalid, firstLine(string(out)), nil
	}
	test := exec.CommandContext(ctx, "go", append([]string{"test", "-overlay", overlay, "-count=1", "-failfast"}, pkgs...)...)
	test.Dir = root
	// Tests that build a binary themselves (the policy pack) see the mutant
	// through GOFLAGS, which their go build inherits.
	test.Env = append(os.Environ(), "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -overlay="+overlay))
	out, err := test.CombinedOutput()
	if err == nil {
		return survived, "", nil
	}
	if ctx.Err() != nil {
		return killed, "timeout", nil
	}
	return killed, firstFailure(string(out)), nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// firstFailure is the first failing test's name, for the report.
func firstFailure(s string) string {
	for _, line := range strings.Split(s, "\n") {
		if t := strings.TrimSpace(line); strings.HasPrefix(t, "--- FAIL:") {
			return strings.TrimPrefix(t, "--- FAIL: ")
		}
	}
	return firstLine(s)
}

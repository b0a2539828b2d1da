package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestMutantsApply: every mutant's original text occurs exactly once in
// its file, so the list stays in step with the code (go test runs this;
// the mutation run itself is scripts/mutate).
func TestMutantsApply(t *testing.T) {
	for _, m := range Mutants {
		src, err := os.ReadFile("../../" + m.File)
		if err != nil {
			t.Errorf("%s: %v", m.ID, err)
			continue
		}
		if n := strings.Count(string(src), m.Old); n != 1 {
			t.Errorf("%s: original text occurs %d times in %s", m.ID, n, m.File)
		}
	}
}

// TestDocsCountMutants: README and docs/validation.md state the number of
// mutants; it is the length of Mutants.
func TestDocsCountMutants(t *testing.T) {
	for file, phrase := range map[string]string{
		"README.md":          "mutation run: %d regressions",
		"docs/validation.md": "each of the %d mutants",
	} {
		src, err := os.ReadFile("../../" + file)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf(phrase, len(Mutants)); !strings.Contains(string(src), want) {
			t.Errorf("%s does not say %q", file, want)
		}
	}
}

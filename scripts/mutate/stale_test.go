package main

import (
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

package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// docs/security.md is the threat model: every control it claims names the
// test that holds it, as `<directory>.<TestName>` (directory relative to
// the repository root). A row whose control has no test says "gap" in its
// test column instead, so a reviewer sees what is not proven.
var (
	testRef = regexp.MustCompile("`([a-z0-9_./-]+)\\.(Test[A-Za-z0-9_]+)`")
)

// threatRow is one row of a threat table in docs/security.md.
type threatRow struct {
	line    int
	threat  string
	control string
	tests   string
}

// threatRows returns the rows of every table in md whose header starts
// with "| threat".
func threatRows(md string) []threatRow {
	var rows []threatRow
	in := false
	for i, l := range strings.Split(md, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(strings.ToLower(t), "| threat"):
			in = true
		case !strings.HasPrefix(t, "|"):
			in = false
		case in && strings.HasPrefix(t, "|--") || in && strings.HasPrefix(t, "| --"):
		case in:
			cells := strings.Split(strings.Trim(t, "|"), "|")
			if len(cells) < 3 {
				rows = append(rows, threatRow{line: i + 1, threat: t})
				continue
			}
			rows = append(rows, threatRow{line: i + 1, threat: strings.TrimSpace(cells[0]),
				control: strings.TrimSpace(cells[1]), tests: strings.TrimSpace(cells[len(cells)-1])})
		}
	}
	return rows
}

// threatModelProblems lists rows without a test or a declared gap, and
// test references that name no test function in the repository.
func threatModelProblems(root, md string) []string {
	var out []string
	rows := threatRows(md)
	if len(rows) == 0 {
		return []string{"no threat table (a table whose header starts with \"| threat\")"}
	}
	seen := map[string]bool{}
	for _, r := range rows {
		refs := testRef.FindAllStringSubmatch(r.tests, -1)
		gap := strings.Contains(strings.ToLower(r.tests), "gap")
		if len(refs) == 0 && !gap {
			out = append(out, fmt.Sprintf("line %d (%s): no test named and no gap declared", r.line, r.threat))
		}
		for _, m := range refs {
			dir, name := m[1], m[2]
			key := dir + "." + name
			if seen[key] {
				continue
			}
			seen[key] = true
			files, _ := filepath.Glob(filepath.Join(root, dir, "*_test.go"))
			found := false
			for _, f := range files {
				src, err := os.ReadFile(f)
				if err == nil && regexp.MustCompile(`(?m)^func `+name+`\(`).Match(src) {
					found = true
					break
				}
			}
			if !found {
				out = append(out, fmt.Sprintf("line %d: %s names %s, which is not a test in %s/", r.line, r.threat, key, dir))
			}
		}
	}
	return out
}

// TestThreatModelControlsAreTested holds docs/security.md to the suite:
// every control names a test that exists, or says it is a gap.
func TestThreatModelControlsAreTested(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "docs", "security.md"))
	if err != nil {
		t.Fatalf("read the threat model: %v", err)
	}
	for _, p := range threatModelProblems("..", string(src)) {
		t.Error(p)
	}
}

// TestThreatModelCheckCanFail feeds the check a table with a missing test,
// a renamed test and an untested control.
func TestThreatModelCheckCanFail(t *testing.T) {
	md := "| threat | control | test |\n|---|---|---|\n" +
		"| a | b | `tests.TestThreatModelControlsAreTested` |\n" +
		"| c | d | `tests.TestNoSuchTest` |\n" +
		"| e | f | none |\n" +
		"| g | h | gap: not proven offline |\n"
	got := threatModelProblems("..", md)
	if len(got) != 2 || !strings.Contains(got[0], "TestNoSuchTest") || !strings.Contains(got[1], "no test named") {
		t.Fatalf("want the missing test and the untested control reported, got %q", got)
	}
}

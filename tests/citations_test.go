package tests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// The repository explains itself: no comment, doc or string points at our
// own issue tracker or at a file outside the repository; it says the
// reason instead. Public sources are cited by title or, for an upstream
// project's issue or pull request, as owner/repo#number
// (pulumi/pulumi#18509), which nothing below matches.
//
// The patterns are assembled from parts so that this file, which is
// checked like every other, does not match them itself.
var (
	hash = "#"
	// A tracker reference: the word, optional number sign, a number.
	citeIssue = regexp.MustCompile(`(?i)\b` + "issue" + `s?[\s_-]*` + hash + `?\d+`)
	// A pull-request style reference in parentheses: "(" + "#24)".
	citeParen = regexp.MustCompile(`\(` + hash + `\d+\)`)
	// The shared design document, its sections and its path.
	citeGuide  = regexp.MustCompile(`\b` + "GUI" + `DE\b`)
	citeShared = regexp.MustCompile(`(?i)` + "shared" + `/` + "GUI" + `DE|\.\./` + "shared" + `/`)
	citeDevs   = regexp.MustCompile("DEVEL" + `OPERS\.md`)
	// The same documents by description.
	citeDesign = regexp.MustCompile(`(?i)\bdesign ` + "gui" + `de\b`)
	citeBrief  = regexp.MustCompile(`(?i)\bthe ` + "bri" + `ef\b`)

	citations = []*regexp.Regexp{citeIssue, citeParen, citeGuide, citeShared, citeDevs, citeDesign, citeBrief}

	// An upstream reference written with its owner/repo just before the
	// word ("hashicorp/terraform-provider-aws issue 20858") is public.
	ownerRepoBefore = regexp.MustCompile(`[\w.-]+/[\w.-]+\s*$`)
	// Comment and quote markers dropped from the start of a continuation
	// line, so that a reference split over two comment lines is caught.
	lineLead = regexp.MustCompile(`^\s*(?://+|#+|\*+|--|>+|;+)?\s*`)
)

// citationSkipped are tracked files not checked: generated data, lockfiles
// and recordings.
func citationSkipped(file string) bool {
	switch path.Base(file) {
	case "go.sum", "package-lock.json", "yarn.lock", "pnpm-lock.yaml":
		return true
	}
	return file == "proof/iamcheck/data/iamdata.json" ||
		strings.Contains("/"+file, "/testdata/recordings/")
}

// citationHits returns "file:line: text" for every reference in src.
func citationHits(file string, src []byte) []string {
	var hits []string
	lines := strings.Split(string(src), "\n")
	report := func(i int, text string) {
		hits = append(hits, fmt.Sprintf("%s:%d: %s", file, i+1, strings.TrimSpace(text)))
	}
	for i, line := range lines {
		line = strings.TrimRight(line, "\r")
		next := ""
		if i+1 < len(lines) {
			next = lineLead.ReplaceAllString(strings.TrimRight(lines[i+1], "\r"), "")
		}
		joined := line + " " + next
		for _, re := range citations {
			for _, m := range re.FindAllStringIndex(joined, -1) {
				if m[0] >= len(line) {
					continue // starts on the next line: reported there
				}
				if re == citeIssue && ownerRepoBefore.MatchString(joined[:m[0]]) {
					continue
				}
				report(i, joined[m[0]:m[1]]+"  «"+line+"»")
			}
		}
	}
	return hits
}

// TestNoInternalCitations walks every file git tracks and fails on
// references to our issue tracker or to files outside the repository.
func TestNoInternalCitations(t *testing.T) {
	root := ".."
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	var hits []string
	checked := 0
	for _, file := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if file == "" || citationSkipped(file) {
			continue
		}
		src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(file)))
		if err != nil {
			if os.IsNotExist(err) {
				continue // deleted in the work tree, not yet committed
			}
			t.Fatalf("%s: %v", file, err)
		}
		head := src
		if len(head) > 8000 {
			head = head[:8000]
		}
		if bytes.IndexByte(head, 0) >= 0 || !utf8.Valid(src) {
			continue // binary
		}
		checked++
		hits = append(hits, citationHits(file, src)...)
	}
	if checked == 0 {
		t.Fatal("no files checked: is the test run from tests/ in a git checkout?")
	}
	if len(hits) > 0 {
		t.Errorf("%d citation(s) of our issue tracker or of files outside the repository; "+
			"say the reason instead (an upstream issue is owner/repo#number):\n%s",
			len(hits), strings.Join(hits, "\n"))
	}
}

// TestCitationPatterns pins what the check catches and what it lets by.
func TestCitationPatterns(t *testing.T) {
	bad := []string{
		"// keep the URNs (" + "iss" + "ue 18).",
		"naming kinds added for " + "Iss" + "ue #16: audit",
		"see " + "iss" + "ues 7 and 9",
		"the " + "iss" + "ue-16 kinds",
		"fixed in (" + hash + "24)",
		"GUI" + "DE section 4's budget",
		"GUI" + "DE § 4",
		"read GUI" + "DE.md",
		"../" + "shared/notes.md",
		"DEVEL" + "OPERS.md",
		"the design " + "guide's table",
		"where the " + "brief asks for more",
		"// the name it had before (" + "iss" + "ue\n// 18)",
		"terraform-provider-aws " + "iss" + "ue 20858",
	}
	good := []string{
		"pulumi/pulumi" + hash + "18509",
		"(hashicorp/terraform-provider-aws" + hash + "20858)",
		"hashicorp/terraform-provider-aws " + "iss" + "ue 20858",
		"Amazon ECS Developer Guide, \"Service load balancing\"",
		"the failure-mode table's budget (docs/resilience.md)",
		"TestCacheServesLiveSessionsBriefly",
		"an issue with 3 retries",
	}
	for _, s := range bad {
		if len(citationHits("x", []byte(s))) == 0 {
			t.Errorf("not caught: %q", s)
		}
	}
	for _, s := range good {
		if h := citationHits("x", []byte(s)); len(h) > 0 {
			t.Errorf("caught but allowed: %q: %v", s, h)
		}
	}
}

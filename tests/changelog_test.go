package tests

import (
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/trading-ha/trading-ha/infra/version"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// releaseHeading is a CHANGELOG.md release: "## X.Y.Z — ...".
var releaseHeading = regexp.MustCompile(`(?m)^## (\d+)\.(\d+)\.(\d+) — `)

// TestChangelogNamesTheVersion: CHANGELOG.md's newest release is
// infra/version's, every release heading is a semantic version, newest
// first, and each has upgrade notes or says which stacks its notes are for.
func TestChangelogNamesTheVersion(t *testing.T) {
	b, err := os.ReadFile("../CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	releases := releaseHeading.FindAllStringSubmatch(string(b), -1)
	if len(releases) == 0 {
		t.Fatal("CHANGELOG.md has no release heading (## X.Y.Z — date)")
	}
	if got := releases[0][1] + "." + releases[0][2] + "." + releases[0][3]; got != version.Version {
		t.Errorf("CHANGELOG.md's newest release is %s, infra/version says %s", got, version.Version)
	}
	prev := [3]int{1 << 30, 0, 0}
	for _, r := range releases {
		var v [3]int
		for i := range v {
			v[i], _ = strconv.Atoi(r[i+1])
		}
		if v[0] > prev[0] || (v[0] == prev[0] && (v[1] > prev[1] || (v[1] == prev[1] && v[2] >= prev[2]))) {
			t.Errorf("release %v is not older than the one above it %v", v, prev)
		}
		prev = v
	}
	if !regexp.MustCompile(`(?m)^### Upgrade notes$`).Match(b) {
		t.Error("CHANGELOG.md has no upgrade notes")
	}
}

// TestStackCarriesTheVersion: both stacks tag every resource of every aws
// provider with the version, and a stack cannot set that tag itself.
func TestStackCarriesTheVersion(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		providers := 0
		for _, p := range rec.ByType("pulumi:providers:aws") {
			providers++
			eq(t, p, "defaultTags.tags."+version.TagKey, version.Version)
		}
		if providers == 0 {
			t.Error("no aws provider recorded")
		}
	})
	rejects(t, "dev", map[string]string{"aws:defaultTags": `{"tags":{"Application":"a","Environment":"dev","Owner":"o","CostCenter":"c","DataClassification":"internal","PlatformVersion":"9"}}`},
		[]string{"aws:defaultTags", "must not set the tag PlatformVersion"})
}

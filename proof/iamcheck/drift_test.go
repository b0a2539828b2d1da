package iamcheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestDataMatchesPinnedPackage regenerates the subset from the pinned npm
// package and compares it with the checked-in data/iamdata.json. It needs
// data/node_modules (scripts/test.sh runs npm ci there) and node; without
// them it skips, as the embedded file is all the validator reads.
func TestDataMatchesPinnedPackage(t *testing.T) {
	if _, err := os.Stat(filepath.Join("data", "node_modules", "@cloud-copilot", "iam-data")); err != nil {
		t.Skip("data/node_modules absent: run npm ci in proof/iamcheck/data to check for drift")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not on PATH")
	}
	cmd := exec.Command(node, "gen.mjs", "--check")
	cmd.Dir = "data"
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("data/iamdata.json drifted from the pinned package: %v\n%s", err, out)
	}
}

package testkit

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRepoRootAboveTheServiceModule: from a package of app/, whose nearest
// go.mod is the service module's, RepoRoot is still the repository root
// (where dynalite and the canary's node packages are found).
func TestRepoRootAboveTheServiceModule(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "app", "internal", "testkit"); wd != want {
		t.Errorf("RepoRoot() = %s; the working directory %s is not its app/internal/testkit", root, wd)
	}
}

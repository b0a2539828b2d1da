package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/proof/docgen"
)

// TestGeneratedDocsAreCurrent fails when docs/architecture.md,
// docs/service.md, docs/events.md and docs/monitoring.md (between their
// markers) or docs/config.md differ from what the generator produces from
// the program (every stack's recording), the dependency table and config
// as they are now.
func TestGeneratedDocsAreCurrent(t *testing.T) {
	files, err := docgen.Generate("..", "dev")
	if err != nil {
		t.Fatalf("generate docs: %v", err)
	}
	if len(files) != 5 {
		t.Fatalf("generator returned %d files, want 5", len(files))
	}
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join("..", f.Path))
		if err != nil {
			t.Errorf("%s: %v; run `%s`", f.Path, err, docgen.Command)
			continue
		}
		if string(got) != f.Content {
			t.Errorf("%s is out of date (first difference at line %d); run `%s`", f.Path, firstDiff(string(got), f.Content), docgen.Command)
		}
	}
}

// TestConfigReferenceCoversEveryKey ties the reference to the schema: every
// key Pulumi.yaml declares has a row.
func TestConfigReferenceCoversEveryKey(t *testing.T) {
	ref, err := docgen.ConfigReference("..")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := config.ProjectKeys("..")
	if err != nil || len(keys) == 0 {
		t.Fatalf("Pulumi.yaml keys: %v (%d)", err, len(keys))
	}
	for _, k := range keys {
		if !strings.Contains(ref, "| `"+k.Name+"` |") {
			t.Errorf("docs/config.md has no row for %s", k.Name)
		}
	}
}

// TestArchitectureShowsEveryComponent ties the picture to the recording:
// every trading:* component of the dev stack is a subgraph.
func TestArchitectureShowsEveryComponent(t *testing.T) {
	rec := record(t, "dev")
	d := docgen.Diagram(rec)
	for _, c := range rec.Components() {
		if !strings.Contains(d, `["`+c+`"]`) {
			t.Errorf("diagram has no subgraph for %s", c)
		}
	}
}

func firstDiff(a, b string) int {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return i + 1
		}
	}
	return min(len(al), len(bl)) + 1
}

package asl

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLeafPackage keeps infra/asl a leaf: it imports the standard library
// only (no Pulumi, no other trading-ha package), so the components that
// build workflows (infra/runbooks, infra/backup) and the one that deploys
// them (infra/statemachine) can all import it without importing each other.
func TestLeafPackage(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range ast.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.Contains(path, ".") {
				t.Errorf("%s imports %s: infra/asl must import the standard library only", f, path)
			}
		}
	}
}

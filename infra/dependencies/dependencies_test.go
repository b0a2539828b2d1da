package dependencies

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/naming"
)

// TestLeafPackage keeps the table a leaf: besides the standard library it
// imports only naming, config and the ARN and parameter tables, never a
// component, so components, tests and the docs generator can all read it.
func TestLeafPackage(t *testing.T) {
	allowed := []string{
		"github.com/trading-ha/trading-ha/infra/arn",
		"github.com/trading-ha/trading-ha/infra/config",
		"github.com/trading-ha/trading-ha/infra/naming",
		"github.com/trading-ha/trading-ha/infra/paramtable",
	}
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
			if strings.Contains(path, ".") && !slices.Contains(allowed, path) {
				t.Errorf("%s imports %s: infra/dependencies may import only %v", f, path, allowed)
			}
		}
	}
}

// TestRowsAreComplete: every row has a unique key, says what it is, who
// calls it, what happens when it fails and who answers; names a path, a
// grant with actions and resources, an app test or why none, an alarm or
// why none.
func TestRowsAreComplete(t *testing.T) {
	seen := map[string]bool{}
	s := Scope{Region: config.Region, Account: "123456789012", Names: naming.New("dev"), ClusterResourceID: "cluster-X", DBSecretArn: "arn:secret"}
	for _, r := range Rows() {
		if r.Key == "" || seen[r.Key] {
			t.Errorf("row key %q empty or repeated", r.Key)
		}
		seen[r.Key] = true
		if r.Dependency == "" || r.Caller == "" || r.OnFailure == "" || r.Answer == "" {
			t.Errorf("%s: dependency, caller, on-failure and answer are all required", r.Key)
		}
		if len(r.Paths) == 0 || len(r.Grants) == 0 {
			t.Errorf("%s: needs a path and a grant", r.Key)
		}
		for _, p := range r.Paths {
			if p.Route < Interface || p.Route > ViaService || p.Service == "" || (p.Route == InVPC) != (p.Port != 0) {
				t.Errorf("%s: path %+v", r.Key, p)
			}
		}
		for _, g := range r.Grants {
			if g.Role.Type == "" || len(g.Actions) == 0 || g.Resources == nil || len(g.Resources(s)) == 0 || slices.Contains(g.Resources(s), "") {
				t.Errorf("%s: grant %+v", r.Key, g)
			}
		}
		if (len(r.AppTests) == 0) == (r.NoAppTest == "") {
			t.Errorf("%s: app tests %v and NoAppTest %q: exactly one is needed", r.Key, r.AppTests, r.NoAppTest)
		}
		if (len(r.Alarms) == 0) == (r.Unwatched == "") {
			t.Errorf("%s: alarms %v and Unwatched %q: exactly one is needed", r.Key, r.Alarms, r.Unwatched)
		}
	}
	rows := Rows()
	rows[0].Key = "changed"
	if Rows()[0].Key == "changed" {
		t.Error("Rows shares its slice between calls")
	}
}

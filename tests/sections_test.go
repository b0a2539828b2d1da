package tests

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// configImport is the import path of the stack configuration.
const configImport = "github.com/trading-ha/trading-ha/infra/config"

// componentSections are the config types each component package's Args
// may take besides config.Shared: its own section and, named in a field
// of its own, a part of another section that sets the same thing for it
// (the trail bucket follows the stack's bucket lifecycle, the deployment
// gates the traffic alarms' thresholds). A package not listed takes no
// config type at all (explicit inputs only).
var componentSections = map[string][]string{
	"audit":      {"Audit", "Lifecycle"},
	"backup":     {"Backup"},
	"database":   {"Database"},
	"dns":        {"DNS"},
	"drills":     {"Drills"},
	"events":     {"Events"},
	"monitoring": {"Monitoring"},
	"network":    {"Network"},
	"runbooks":   {"Runbooks"},
	"service":    {"Service", "Traffic"},
	"storage":    {"Storage"},
}

// TestComponentsTakeTheirOwnSection: no package under infra/ but the
// composition root and config itself names config.Config, so no
// component can read a setting its signature does not show; and the
// config types in a component's Args (any struct type whose name ends in
// Args) are config.Shared and the sections componentSections gives it.
func TestComponentsTakeTheirOwnSection(t *testing.T) {
	dirs, err := os.ReadDir("../infra")
	if err != nil {
		t.Fatal(err)
	}
	types := configTypes(t)
	seen := map[string][]string{}
	for _, d := range dirs {
		if !d.IsDir() || d.Name() == "config" {
			continue
		}
		pkg := d.Name()
		files, err := filepath.Glob(filepath.Join("../infra", pkg, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			for _, use := range configUses(t, path, types) {
				switch {
				case use.typ == "Config":
					t.Errorf("%s: names config.Config; a component takes config.Shared and its own section (tests/sections_test.go)", use.pos)
				case use.inArgs && use.typ != "Shared" && !slices.Contains(componentSections[pkg], use.typ):
					t.Errorf("%s: %s takes config.%s; package %s may take config.Shared and %v", use.pos, use.args, use.typ, pkg, componentSections[pkg])
				case use.inArgs:
					seen[pkg] = append(seen[pkg], use.typ)
				}
			}
		}
	}
	// The table is not stale: every section it grants is taken.
	for pkg, want := range componentSections {
		for _, s := range want {
			if !slices.Contains(seen[pkg], s) {
				t.Errorf("no Args in infra/%s takes config.%s: drop it from componentSections", pkg, s)
			}
		}
	}
}

// configUse is one reference to a type of the config package.
type configUse struct {
	pos    token.Position
	typ    string
	args   string // the enclosing *Args struct, when the use is a field type of one
	inArgs bool
}

// configUses lists the references to infra/config's exported names in a
// file that are types (config.X used as a field, parameter or variable
// type, or in a composite literal), and marks those that are field types
// of an Args struct.
func configUses(t *testing.T, path string, types map[string]bool) []configUse {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	local := ""
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == configImport {
			local = "config"
			if imp.Name != nil {
				local = imp.Name.Name
			}
		}
	}
	if local == "" {
		return nil
	}
	isConfig := func(e ast.Expr) (string, bool) {
		for {
			switch x := e.(type) {
			case *ast.StarExpr:
				e = x.X
				continue
			case *ast.ArrayType:
				e = x.Elt
				continue
			case *ast.SelectorExpr:
				if id, ok := x.X.(*ast.Ident); ok && id.Name == local {
					return x.Sel.Name, true
				}
			}
			return "", false
		}
	}
	var out []configUse
	argsFields := map[ast.Expr]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || !strings.HasSuffix(ts.Name.Name, "Args") {
			return true
		}
		if st, ok := ts.Type.(*ast.StructType); ok {
			for _, field := range st.Fields.List {
				argsFields[field.Type] = ts.Name.Name
			}
		}
		return true
	})
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		name, ok := isConfig(sel)
		if !ok || !types[name] {
			return true
		}
		u := configUse{pos: fset.Position(sel.Pos()), typ: name}
		for expr, args := range argsFields {
			if expr.Pos() <= sel.Pos() && sel.End() <= expr.End() {
				u.args, u.inArgs = args, true
			}
		}
		out = append(out, u)
		return true
	})
	return out
}

// configTypes are the config package's exported types, read from its
// source.
func configTypes(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("../infra/config/*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.TYPE {
				for _, s := range g.Specs {
					out[s.(*ast.TypeSpec).Name.Name] = true
				}
			}
		}
	}
	if !out["Config"] {
		t.Fatalf("infra/config declares no Config type: %v", out)
	}
	return out
}

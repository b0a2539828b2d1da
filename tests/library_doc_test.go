package tests

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestReadmeComponentTable holds README's table of the components a
// program of its own can use ("Using the components") to the code: each
// row's constructors exist, its type tokens are the ones those packages
// register, and the Args fields it names are exactly the fields of the
// constructors' Args structs, none missing and none that no longer exist.
// The last row, which sends the reader to the packages themselves, names
// constructors and a type token only.
func TestReadmeComponentTable(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	sources := map[string]pkgSource{}
	source := func(pkg string) pkgSource {
		if _, ok := sources[pkg]; !ok {
			sources[pkg] = readPackage(t, pkg)
		}
		return sources[pkg]
	}
	rows := componentTableRows(string(b))
	if len(rows) < 8 {
		t.Fatalf("README's component table has %d rows, want at least 8 (header \"| component | type token | Args: what it needs |\")", len(rows))
	}
	ident := regexp.MustCompile("`([A-Za-z][A-Za-z0-9]*)`")
	ctor := regexp.MustCompile("`([a-z]+)\\.(New[A-Za-z]*)`")
	token := regexp.MustCompile("`(trading:[a-z]+:[A-Za-z]+)`")
	for _, row := range rows {
		cells := strings.Split(strings.Trim(row, "| "), " | ")
		if len(cells) != 3 {
			t.Errorf("row %q: %d cells, want 3", row, len(cells))
			continue
		}
		var fields []string
		var pkgs []string
		for _, m := range ctor.FindAllStringSubmatch(cells[0], -1) {
			pkg, fn := m[1], m[2]
			src := source(pkg)
			args := fn[len("New"):] + "Args"
			got, ok := src.structs[args]
			if !ok || !src.funcs[fn] {
				t.Errorf("README names %s.%s taking %s: no such constructor or Args struct in infra/%s", pkg, fn, args, pkg)
				continue
			}
			fields = append(fields, got...)
			pkgs = append(pkgs, pkg)
		}
		for _, m := range token.FindAllStringSubmatch(cells[1], -1) {
			if !slices.ContainsFunc(pkgs, func(p string) bool { return strings.Contains(source(p).text, `"`+m[1]+`"`) }) {
				t.Errorf("README gives type token %s for %s: none of %v registers it", m[1], cells[0], pkgs)
			}
		}
		if strings.Contains(cells[2], "see each package's `Args`") {
			continue
		}
		named := map[string]bool{}
		for _, m := range ident.FindAllStringSubmatch(cells[2], -1) {
			named[m[1]] = true
			if !slices.Contains(fields, m[1]) {
				t.Errorf("README says %s takes %s: no such Args field (fields %v)", cells[0], m[1], fields)
			}
		}
		for _, f := range fields {
			if words := descriptionOf(f); !named[f] && (words == "" || !strings.Contains(cells[2], words)) {
				t.Errorf("README's row for %s does not name Args field %s", cells[0], f)
			}
		}
	}
}

// descriptionOf is how a row may describe a field in words rather than by
// name: the dns rows say "the ALB's DNS name" and "zone ID"; "" for a
// field a row must name.
func descriptionOf(field string) string {
	switch field {
	case "ALBDNSName":
		return "the ALB's DNS name"
	case "ALBZoneID":
		return "zone ID"
	case "Zone", "After":
		return "for the records"
	}
	return ""
}

// componentTableRows are the body rows of README's component table.
func componentTableRows(readme string) []string {
	const header = "| component | type token | Args: what it needs |"
	i := strings.Index(readme, header)
	if i < 0 {
		return nil
	}
	var rows []string
	for _, line := range strings.Split(readme[i:], "\n")[2:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		rows = append(rows, line)
	}
	return rows
}

// pkgSource is what the table test reads of one infra package: its
// source text, its functions and its structs' field names.
type pkgSource struct {
	text    string
	funcs   map[string]bool
	structs map[string][]string
}

// readPackage reads infra/<pkg>'s non-test sources.
func readPackage(t *testing.T, pkg string) pkgSource {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("../infra", pkg, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("infra/%s: no Go files (%v)", pkg, err)
	}
	s := pkgSource{funcs: map[string]bool{}, structs: map[string][]string{}}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		s.text += string(b)
		f, err := parser.ParseFile(fset, path, b, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					s.funcs[d.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					ts, ok := spec.(*ast.TypeSpec)
					if !ok {
						continue
					}
					st, ok := ts.Type.(*ast.StructType)
					if !ok {
						continue
					}
					var names []string
					for _, field := range st.Fields.List {
						for _, n := range field.Names {
							names = append(names, n.Name)
						}
					}
					s.structs[ts.Name.Name] = names
				}
			}
		}
	}
	return s
}

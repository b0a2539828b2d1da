package tests

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// mixedInitialism matches an initialism written as a word (Alb, Vpc, Dns,
// Id...) inside a Go name. Go style writes initialisms in one case
// (ALBDNSName, VPCID; Go Code Review Comments, "Initialisms"). Arn is the
// one exception the house keeps: it is the pulumi-aws SDK's spelling
// (Role.Arn, ...), which most of our Arn fields are assigned from.
var mixedInitialism = regexp.MustCompile(`(^|[a-z0-9])(Alb|Vpc|Dns|Ecs|Kms|Url|Http|Https|Sqs|Sns|Db|Iam|Ssm|Waf|Acm|Ecr|Fis|Oidc|Cidr|Id)([A-Z0-9]|$)`)

// TestOneInitialismStyle scans the exported names declared in infra/ and
// proof/ (types, functions, methods, fields, constants, variables).
func TestOneInitialismStyle(t *testing.T) {
	bad := exportedMixedInitialisms(t, "../infra", "../proof")
	for _, b := range bad {
		t.Errorf("%s: write the initialism in one case (ALBDNSName, VPCID)", b)
	}
	// The check fires on mixed-case names that were once exported here.
	for _, n := range []string{"AlbDNSName", "VpcID", "TokenUrl", "DbName"} {
		if !mixedInitialism.MatchString(n) {
			t.Errorf("%s passes the initialism check", n)
		}
	}
	for _, n := range []string{"ALBDNSName", "VPCID", "TokenURL", "DataKeyArn", "Identifier", "Idle", "Dbx"} {
		if mixedInitialism.MatchString(n) {
			t.Errorf("%s fails the initialism check", n)
		}
	}
}

func exportedMixedInitialisms(t *testing.T, roots ...string) []string {
	t.Helper()
	var bad []string
	check := func(pos token.Position, name string) {
		if ast.IsExported(name) && mixedInitialism.MatchString(name) {
			bad = append(bad, pos.String()+" "+name)
		}
	}
	fset := token.NewFileSet()
	for _, root := range roots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.FuncDecl:
					check(fset.Position(n.Pos()), n.Name.Name)
				case *ast.TypeSpec:
					check(fset.Position(n.Pos()), n.Name.Name)
				case *ast.ValueSpec:
					for _, id := range n.Names {
						check(fset.Position(id.Pos()), id.Name)
					}
				case *ast.Field:
					for _, id := range n.Names {
						check(fset.Position(id.Pos()), id.Name)
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return bad
}

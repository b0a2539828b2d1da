// Command export writes every runbook definition, built from
// asl.ExampleTargets, to <dir>/<name>.json, and the derived IAM statements
// to <dir>/<name>.permissions.json, for the external validators in
// tests/asl.
//
// Usage: go run ./tests/asl/export [-out build/asl]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/trading-ha/trading-ha/infra/runbooks/asl"
)

func main() {
	out := flag.String("out", "build/asl", "output directory")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "export:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	targets := asl.ExampleTargets()
	for _, rb := range asl.Runbooks() {
		sm, err := rb.Build(targets)
		if err != nil {
			return fmt.Errorf("build %s: %w", rb.Name, err)
		}
		def, err := sm.JSON()
		if err != nil {
			return fmt.Errorf("render %s: %w", rb.Name, err)
		}
		perms, err := json.MarshalIndent(sm.Permissions(), "", "  ")
		if err != nil {
			return fmt.Errorf("render %s permissions: %w", rb.Name, err)
		}
		files := map[string][]byte{
			rb.Name + ".json":             []byte(def),
			rb.Name + ".permissions.json": append(perms, '\n'),
		}
		for name, data := range files {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, data, 0o644); err != nil {
				return fmt.Errorf("write %s: %w", path, err)
			}
			fmt.Println("wrote", path)
		}
	}
	return nil
}

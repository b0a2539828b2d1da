// Command docs regenerates the documentation that is derived from the
// program: the architecture diagram, flows and inventory between the
// markers of docs/architecture.md (from the offline recording of a stack),
// the per-stack values table there, the event rules of docs/events.md, the
// alarms of docs/monitoring.md and the security group rules of
// docs/service.md (from every stack's offline recording), the
// configuration reference docs/config.md (from Pulumi.yaml and the stack
// files) and the dependency table between the markers of docs/service.md
// (from infra/dependencies and each stack's privateEgress).
// tests/docs_test.go fails when the checked-in files differ;
// tests/docs_facts_test.go checks the hand-written facts around them.
//
//	go run ./scripts/docs             # rewrite the files (stack dev)
//	go run ./scripts/docs -check      # exit 1 if they are out of date
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/trading-ha/trading-ha/proof/docgen"
)

func main() {
	stack := flag.String("stack", "dev", "stack whose offline recording the diagram shows")
	dir := flag.String("dir", ".", "project directory holding Pulumi.yaml")
	check := flag.Bool("check", false, "do not write; exit 1 when a generated file is out of date")
	flag.Parse()
	stale, err := run(*dir, *stack, *check)
	if err != nil {
		fmt.Fprintln(os.Stderr, "docs:", err)
		os.Exit(1)
	}
	if *check && stale > 0 {
		fmt.Fprintf(os.Stderr, "docs: %d file(s) out of date; run `%s`\n", stale, docgen.Command)
		os.Exit(1)
	}
}

// run generates the files and writes (or, with check, compares) them. It
// returns how many differed from what is on disk.
func run(dir, stack string, check bool) (int, error) {
	files, err := docgen.Generate(dir, stack)
	if err != nil {
		return 0, err
	}
	stale := 0
	for _, f := range files {
		path := filepath.Join(dir, f.Path)
		old, err := os.ReadFile(path)
		if err == nil && string(old) == f.Content {
			fmt.Printf("%s: up to date\n", f.Path)
			continue
		}
		stale++
		if check {
			fmt.Printf("%s: out of date\n", f.Path)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return stale, fmt.Errorf("create %s: %w", filepath.Dir(path), err)
		}
		if err := os.WriteFile(path, []byte(f.Content), 0o644); err != nil {
			return stale, fmt.Errorf("write %s: %w", f.Path, err)
		}
		fmt.Printf("%s: written\n", f.Path)
	}
	return stale, nil
}

// Command export runs a stack (default dev) under the offline mocks
// (proof/offline, the same run the mock suite records) and writes every
// recorded aws:sfn/stateMachine definition — the four runbooks, the
// backup component's snapshot workflow and identity's key sync — verbatim to <dir>/<logical
// name>.json, and the inline policy of the machine's role to <dir>/<logical
// name>.permissions.json. The external validators in tests/asl therefore
// check exactly what would deploy.
//
// Usage: go run ./tests/asl/export [-root .] [-stack dev] [-out build/asl]
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/trading-ha/trading-ha/proof/offline"
)

func main() {
	root := flag.String("root", ".", "project directory (holds Pulumi.yaml)")
	stack := flag.String("stack", "dev", "stack whose recorded definitions are exported")
	out := flag.String("out", "build/asl", "output directory")
	flag.Parse()
	if err := run(*root, *stack, *out); err != nil {
		fmt.Fprintln(os.Stderr, "export:", err)
		os.Exit(1)
	}
}

func run(root, stack, dir string) error {
	rec, err := offline.Run(root, stack, nil)
	if err != nil {
		return fmt.Errorf("mocked run of stack %s: %w", stack, err)
	}
	machines := rec.ByType("aws:sfn/stateMachine:StateMachine")
	if len(machines) == 0 {
		return fmt.Errorf("stack %s records no state machines", stack)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	// Definitions of an earlier run must not be validated again.
	stale, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return fmt.Errorf("list %s: %w", dir, err)
	}
	for _, f := range stale {
		if err := os.Remove(f); err != nil {
			return fmt.Errorf("remove %s: %w", f, err)
		}
	}
	for _, sm := range machines {
		def, ok := sm.Inputs["definition"].(string)
		if !ok || !json.Valid([]byte(def)) {
			return fmt.Errorf("state machine %s: definition is not a JSON string", sm.Name)
		}
		policy, err := rolePolicy(rec, sm)
		if err != nil {
			return err
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, []byte(policy), "", "  "); err != nil {
			return fmt.Errorf("state machine %s: role policy is not JSON: %w", sm.Name, err)
		}
		// Files are named by the machine's key within its component
		// (offline.Resource.Key: health-check, snapshot, ...), which the
		// node tests load by.
		files := map[string][]byte{
			sm.Key + ".json":             []byte(def),
			sm.Key + ".permissions.json": append(pretty.Bytes(), '\n'),
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

// rolePolicy returns the inline policy of the role a state machine runs as.
func rolePolicy(rec *offline.Recording, sm *offline.Resource) (string, error) {
	arn, _ := sm.Inputs["roleArn"].(string)
	role := arn[strings.LastIndex(arn, "/")+1:]
	var found []string
	for _, p := range rec.ByType("aws:iam/rolePolicy:RolePolicy") {
		if p.Inputs["role"] == role {
			if doc, ok := p.Inputs["policy"].(string); ok {
				found = append(found, doc)
			}
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("state machine %s: role %q has %d inline policies, want 1", sm.Name, role, len(found))
	}
	return found[0], nil
}

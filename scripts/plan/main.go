// Command plan is the offline plan: it runs the real program for a stack
// under Pulumi's mocks (no AWS account, no Pulumi CLI) and prints what the
// stack would deploy, grouped by component, with each resource's key settings.
//
//	go run ./scripts/plan -stack dev
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/trading-ha/trading-ha/internal/offline"
	"github.com/trading-ha/trading-ha/internal/policy"
	"github.com/trading-ha/trading-ha/internal/resilience"
)

func main() {
	stack := flag.String("stack", "dev", "stack to plan (a Pulumi.<stack>.yaml must exist)")
	dir := flag.String("dir", ".", "project directory holding Pulumi.yaml")
	flag.Parse()
	if err := run(os.Stdout, *dir, *stack); err != nil {
		fmt.Fprintln(os.Stderr, "plan:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, dir, stack string) error {
	start := time.Now()
	rec, err := offline.Run(dir, stack, nil)
	if err != nil {
		return fmt.Errorf("stack %s: %w", stack, err)
	}
	fmt.Fprintf(w, "offline plan of stack %q: %d resources in %d components (%s)\n",
		stack, len(rec.Resources), len(rec.Components()), time.Since(start).Round(time.Millisecond))
	groups := map[string][]*offline.Resource{}
	for _, r := range rec.Resources {
		c := r.Component
		if c == "" {
			c = "(stack)"
		}
		groups[c] = append(groups[c], r)
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, c := range keys {
		fmt.Fprintf(w, "\n%s\n", c)
		for _, r := range groups[c] {
			if r.Type == c {
				continue
			}
			fmt.Fprintf(w, "  %-58s %-28s %s\n", r.Type, r.Name, summary(r))
		}
	}

	fmt.Fprintf(w, "\n%s", resilience.Compute(rec).Table())

	open, exempt, deferred := policy.Evaluate(rec.Policy())
	fmt.Fprintf(w, "\npolicy: %d rules, %d open finding(s), %d exemption(s), %d deferred (a value unknown until create)\n",
		len(policy.Rules), len(open), len(exempt), len(deferred))
	for _, f := range open {
		fmt.Fprintf(w, "  OPEN     %s\n", f)
	}
	for _, f := range exempt {
		fmt.Fprintf(w, "  EXEMPT   %s\n", f)
	}
	for _, f := range deferred {
		fmt.Fprintf(w, "  DEFERRED %s\n", f)
	}
	return nil
}

// summary prints the settings that matter for a resource at a glance.
func summary(r *offline.Resource) string {
	var parts []string
	for _, k := range offline.KeySettings(r.Type) {
		if v, ok := r.Inputs[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%v", k, compact(v)))
		}
	}
	return strings.Join(parts, " ")
}

func compact(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

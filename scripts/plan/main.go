// Command plan is the offline plan: it runs the real program for a stack
// under Pulumi's mocks (no AWS account, no Pulumi CLI) and prints what the
// stack would deploy, grouped by component, with each resource's key settings.
//
//	go run ./scripts/plan -stack dev
//	go run ./scripts/plan -stack dev -preview
//
// With -json FILE it also writes every resource of the recording, one JSON
// object a line sorted by URN (type, inputs, parent, provider), so two
// versions of the program compare with diff:
//
//	go run ./scripts/plan -stack prod -json before.jsonl
//
// With -preview it runs the program as the first preview of a new stack
// (offline.RunPreview: every value computed on create unknown), as the
// pull-request preview and its policy pack see it: the policy findings
// then include the deferred ones, and the resilience report, which needs
// the resolved values, is left out.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/trading-ha/trading-ha/proof/offline"
	"github.com/trading-ha/trading-ha/proof/policy"
	"github.com/trading-ha/trading-ha/proof/resilience"
)

func main() {
	stack := flag.String("stack", "dev", "stack to plan (a Pulumi.<stack>.yaml must exist)")
	dir := flag.String("dir", ".", "project directory holding Pulumi.yaml")
	preview := flag.Bool("preview", false, "plan the first preview of a new stack (values computed on create unknown)")
	dump := flag.String("json", "", "also write the recording to this file, one resource a line sorted by URN")
	flag.Parse()
	if err := run(os.Stdout, *dir, *stack, *preview, *dump); err != nil {
		fmt.Fprintln(os.Stderr, "plan:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, dir, stack string, preview bool, dump string) error {
	start := time.Now()
	runStack, kind := offline.Run, "offline plan"
	if preview {
		runStack, kind = offline.RunPreview, "offline plan (first preview: values computed on create unknown)"
	}
	rec, err := runStack(dir, stack, nil)
	if err != nil {
		return fmt.Errorf("stack %s: %w", stack, err)
	}
	if dump != "" {
		if err := writeRecording(dump, rec); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "%s of stack %q: %d resources in %d components (%s)\n",
		kind, stack, len(rec.Resources), len(rec.Components()), time.Since(start).Round(time.Millisecond))
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

	if !preview {
		fmt.Fprintf(w, "\n%s", resilience.Compute(rec).Table())
	}

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

// summary prints the settings that matter for a resource at a glance; a
// setting unknown at a first preview prints as [unknown].
func summary(r *offline.Resource) string {
	var parts []string
	for _, k := range offline.KeySettings(r.Type) {
		if v, ok := r.Inputs[k]; ok {
			if slices.Contains(r.Unknown, k) {
				v = policy.Unknown{}
			}
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

// writeRecording writes rec's resources to path, one JSON object a line,
// sorted by URN.
func writeRecording(path string, rec *offline.Recording) error {
	type line struct {
		URN      string         `json:"urn"`
		Type     string         `json:"type"`
		Parent   string         `json:"parent,omitempty"`
		Provider string         `json:"provider,omitempty"`
		Inputs   map[string]any `json:"inputs"`
	}
	lines := make([]string, 0, len(rec.Resources))
	for _, r := range rec.Resources {
		b, err := json.Marshal(line{URN: r.URN, Type: r.Type, Parent: r.ParentURN, Provider: r.Provider, Inputs: r.Inputs})
		if err != nil {
			return fmt.Errorf("encode %s: %w", r.URN, err)
		}
		lines = append(lines, string(b))
	}
	sort.Strings(lines)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return fmt.Errorf("write recording: %w", err)
	}
	return nil
}

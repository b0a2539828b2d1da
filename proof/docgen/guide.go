package docgen

import (
	"bytes"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// configGuide renders the parts of docs/config.md a newcomer reads before
// the reference table: the minimal stack of each stack file (from
// config.MinimalKeys and the stack files' values) and how the ALB health
// check's timing moves the task's drain (from infra/config's timings).
func configGuide(dir string, stacks []string) (string, error) {
	var b strings.Builder
	b.WriteString("## Minimal stack\n\n")
	b.WriteString("A new stack sets only the keys below; every other key has a default in `Pulumi.yaml` and is\n")
	b.WriteString("tuning. The list is `config.MinimalKeys` (`infra/config/minimal.go`): `tests/minimal_test.go`\n")
	b.WriteString("records a stack file holding only these keys, removes each *required* one and expects the program\n")
	b.WriteString("to refuse the stack naming it, and holds each stack file to listing them first, above its\n")
	b.WriteString("`# --- tuning` marker.\n\n")
	b.WriteString("- **required**: the program refuses the stack without it (no default, a prod rule, or a switch\n")
	b.WriteString("  the stack sets needs it).\n")
	b.WriteString("- **switch**: the stack's choice, what makes prod a production stack; the program accepts the\n")
	b.WriteString("  stack without it, but with it on the keys that name it are required.\n")
	b.WriteString("- **guard**: the program does not read it; every stack file carries it.\n\n")
	b.WriteString("A stack named `prod` takes the prod keys; any other name (a new `qa`, your own `dev`) takes the\n")
	b.WriteString("dev set. A missing key's error prints the command that sets it.\n\n")
	for _, stack := range stacks {
		keys := config.Minimal(stack)
		set, err := offline.StackOverrides(dir, stack)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "### %s: %d keys\n\n", stack, len(keys))
		b.WriteString("| key | kind | why |\n|---|---|---|\n")
		file := &yaml.Node{Kind: yaml.MappingNode}
		for _, m := range keys {
			kind := m.Kind
			if m.Because != "" {
				kind += ", needs `" + shortKey(m.Because) + "`"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", m.Key, kind, cell(m.Why))
			v, ok := set[m.Key]
			if !ok {
				return "", fmt.Errorf("Pulumi.%s.yaml does not set %s, a key of its minimal stack (infra/config.MinimalKeys)", stack, m.Key)
			}
			var val yaml.Node
			if err := val.Encode(v); err != nil {
				return "", fmt.Errorf("Pulumi.%s.yaml %s: %w", stack, m.Key, err)
			}
			if val.Kind == yaml.SequenceNode {
				val.Style = yaml.FlowStyle
			}
			file.Content = append(file.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: m.Key}, &val)
		}
		doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: "config"}, file}}
		var out bytes.Buffer
		enc := yaml.NewEncoder(&out)
		enc.SetIndent(2)
		if err := enc.Encode(doc); err != nil {
			return "", fmt.Errorf("render the minimal %s stack: %w", stack, err)
		}
		fmt.Fprintf(&b, "\n`Pulumi.%s.yaml` cut down to them, with its values", stack)
		if stack == config.ProdStack {
			b.WriteString(": replace the placeholders (account\n`123456789012`, domain, certificate, paging endpoint) with yours, the endpoint with\n`pulumi config set --secret pageHttpsEndpoint <URL>`")
		}
		b.WriteString(":\n\n```yaml\n")
		b.Write(out.Bytes())
		b.WriteString("```\n\n")
	}

	b.WriteString("## Health-check timing and the drain delay\n\n")
	fmt.Fprintf(&b, "`healthCheckIntervalSeconds` and `unhealthyThreshold` change together within the %d s detection\n", config.DetectionBudgetSeconds)
	b.WriteString("budget (interval x unhealthyThreshold: the ALB stops routing to a failed task within it), and the\n")
	b.WriteString("task follows them. At SIGTERM the app fails `/readyz` at once and keeps serving for `DRAIN_DELAY`,\n")
	b.WriteString("which the program sets to interval x unhealthyThreshold, the longest the ALB takes to see the\n")
	fmt.Fprintf(&b, "failing check; then in-flight requests get `SHUTDOWN_TIMEOUT` (%d s), and the container's\n", config.ShutdownTimeoutSeconds)
	fmt.Fprintf(&b, "`stopTimeout` is the two plus %d s (CONTRACT.md section 9). Changing either key registers a new\n", config.StopMarginSeconds)
	b.WriteString("task definition revision, and a slower check makes every task stop slower by as much.\n\n")
	b.WriteString("| interval x unhealthyThreshold | `DRAIN_DELAY` | `stopTimeout` |\n|---|---|---|\n")
	for _, c := range [][2]int{{5, 2}, {10, 2}, {5, 3}, {15, 2}, {5, 6}} {
		s := config.Service{HealthCheckInterval: c[0], UnhealthyThreshold: c[1]}
		note := ""
		if c == [2]int{5, 2} {
			note = " (the defaults)"
		}
		fmt.Fprintf(&b, "| %d x %d%s | %d s | %d s |\n", c[0], c[1], note, s.DrainDelaySeconds(), s.StopTimeoutSeconds())
	}
	b.WriteString("\nWhy the drain delay follows the check rather than the keys leaving the schema: with a drain delay\n")
	b.WriteString("fixed at 10 s the only pair the program could accept was 5 x 2, so both keys were advertised with\n")
	b.WriteString("ranges they could not use. Deriving the app's `DRAIN_DELAY` and the `stopTimeout` in `infra/config`\n")
	b.WriteString("is one small rule the app already honours (it reads `DRAIN_DELAY`), keeps the guarantee the fixed\n")
	b.WriteString("value gave (a draining task leaves the target group before it stops serving), and leaves the stock\n")
	b.WriteString("stacks' target group, `DRAIN_DELAY` and `stopTimeout` as they were. Within the budget `stopTimeout` is\n")
	fmt.Fprintf(&b, "at most %d s, inside Fargate's 120 s. `deregistrationDelaySeconds` stays its own key; its default,\n",
		config.Service{HealthCheckInterval: config.DetectionBudgetSeconds, UnhealthyThreshold: 1}.StopTimeoutSeconds())
	b.WriteString("30, equals the default `stopTimeout`.\n\n")
	return b.String(), nil
}

// shortKey drops the namespace of a fully qualified key.
func shortKey(key string) string {
	if i := strings.LastIndex(key, ":"); i >= 0 {
		return key[i+1:]
	}
	return key
}

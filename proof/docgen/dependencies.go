package docgen

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/dependencies"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// Markers delimit the generated dependency table in docs/service.md.
const (
	BeginDependencies = "<!-- BEGIN GENERATED DEPENDENCIES -->"
	EndDependencies   = "<!-- END GENERATED DEPENDENCIES -->"
)

// StackEgress is one stack and its privateEgress mode.
type StackEgress struct {
	Stack, Mode string
}

// serviceDoc splices the dependency table and the security group rules
// into the current docs/service.md.
func serviceDoc(dir string, recs []*offline.Recording) (string, error) {
	stacks, err := stackEgress(dir)
	if err != nil {
		return "", err
	}
	current, err := os.ReadFile(filepath.Join(dir, ServicePath))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", ServicePath, err)
	}
	doc, err := SpliceBetween(string(current), BeginDependencies, EndDependencies, Dependencies(dependencies.Rows(), stacks))
	if err != nil {
		return "", fmt.Errorf("%s: %w", ServicePath, err)
	}
	if doc, err = SpliceBetween(doc, BeginGroupRules, EndGroupRules, SecurityGroupRules(recs)); err != nil {
		return "", fmt.Errorf("%s: %w", ServicePath, err)
	}
	return doc, nil
}

// stackEgress reads every stack file's privateEgress (Pulumi.yaml's
// default where the stack sets none), dev first.
func stackEgress(dir string) ([]StackEgress, error) {
	project, err := projectName(dir)
	if err != nil {
		return nil, err
	}
	stacks, err := stackFiles(dir)
	if err != nil {
		return nil, err
	}
	out := make([]StackEgress, 0, len(stacks))
	for _, s := range stacks {
		cfg, err := offline.LoadStack(dir, s)
		if err != nil {
			return nil, fmt.Errorf("stack %s: %w", s, err)
		}
		out = append(out, StackEgress{Stack: s, Mode: cfg[project+":privateEgress"]})
	}
	return out, nil
}

// Dependencies renders the dependency table: one row per dependency with
// its path in each stack, the grants, the failure behaviour and its app
// test, the alarms and who answers; then the interface endpoints no row
// uses.
func Dependencies(rows []dependencies.Row, stacks []StackEgress) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- generated from infra/dependencies and the stack files by `%s`; do not edit by hand -->\n\n", Command)
	b.WriteString("| dependency | caller |")
	for _, s := range stacks {
		fmt.Fprintf(&b, " path in %s (`%s`) |", s.Stack, s.Mode)
	}
	b.WriteString(" IAM | when it fails | app test | alarms | who answers |\n|---|---|")
	for range stacks {
		b.WriteString("---|")
	}
	b.WriteString("---|---|---|---|---|\n")
	scope := dependencies.Placeholders
	for _, r := range rows {
		fmt.Fprintf(&b, "| **%s**: %s | %s |", r.Key, mdCell(r.Dependency), mdCell(r.Caller))
		for _, s := range stacks {
			fmt.Fprintf(&b, " %s |", mdCell(reach(r.Paths, s.Mode, scope.Region, r.Groups())))
		}
		fmt.Fprintf(&b, " %s | %s | %s | %s | %s |\n", mdCell(grants(r.Grants, scope)), mdCell(r.OnFailure),
			mdCell(appTestCell(r)), mdCell(alarmCell(r, scope.Names)), mdCell(r.Answer))
	}
	b.WriteString("\nAlarms marked (pages) are members of the composite `alarm-degraded-<suffix>`, which pages on customer impact;\n")
	b.WriteString("the others here notify. `tests/dependencies_test.go` derives every row from each stack's recording.\n\n")
	fmt.Fprintf(&b, "Interface endpoints that closed egress (`%s`) builds with no row calling through them:\n\n", config.EgressEndpoints)
	for _, s := range dependencies.SpareEndpoints {
		fmt.Fprintf(&b, "- `%s`: %s\n", s.Service, s.Reason)
	}
	return b.String()
}

// reach describes a row's paths in a mode from the row's groups, the
// services that call for the caller (ViaService) in one phrase.
func reach(paths []dependencies.Path, mode, region, groups string) string {
	var out, via []string
	for _, p := range paths {
		if p.Route == dependencies.ViaService {
			via = append(via, "`"+p.Service+"`")
			continue
		}
		out = append(out, p.Reach(mode, region, groups))
	}
	if len(via) > 0 {
		out = append(out, "none of its own: "+strings.Join(via, ", ")+" call it for the caller, over their own paths")
	}
	return strings.Join(out, "; ")
}

func grants(gs []dependencies.Grant, scope dependencies.Scope) string {
	parts := make([]string, 0, len(gs))
	for _, g := range gs {
		acts := make([]string, len(g.Actions))
		for i, a := range g.Actions {
			acts[i] = "`" + a + "`"
		}
		res := g.Resources(scope)
		for i := range res {
			res[i] = "`" + res[i] + "`"
		}
		s := fmt.Sprintf("`%s`: %s on %s", scope.Names.Name(g.Role), strings.Join(acts, ", "), strings.Join(res, ", "))
		if g.Conditions != nil {
			var conds []string
			for k, vs := range g.Conditions(scope) {
				conds = append(conds, "`"+k+"` "+strings.Join(quoted(vs), ", "))
			}
			sort.Strings(conds)
			s += " if " + strings.Join(conds, " and ")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func appTestCell(r dependencies.Row) string {
	if len(r.AppTests) == 0 {
		return "none: " + r.NoAppTest
	}
	return strings.Join(quoted(r.AppTests), ", ")
}

func alarmCell(r dependencies.Row, names naming.Namer) string {
	if len(r.Alarms) == 0 {
		return "none: " + r.Unwatched
	}
	out := make([]string, len(r.Alarms))
	for i, a := range r.Alarms {
		out[i] = "`" + names.Member(naming.Alarm, a.Key) + "`"
		if a.Pages {
			out[i] += " (pages)"
		}
	}
	return strings.Join(out, ", ")
}

func quoted(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = "`" + s + "`"
	}
	return out
}

// mdCell makes text safe in a Markdown table cell, keeping the angle
// brackets of <suffix> (they stand in code spans, which show them as is).
func mdCell(s string) string {
	return strings.NewReplacer("\n", " ", "|", `\|`).Replace(s)
}

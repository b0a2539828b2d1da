package docgen

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// Markers delimit the generated part of docs/architecture.md; the prose
// around them is hand-written and kept as it is.
const (
	BeginArchitecture = "<!-- BEGIN GENERATED ARCHITECTURE -->"
	EndArchitecture   = "<!-- END GENERATED ARCHITECTURE -->"
)

// The files the generator owns, relative to the project directory; of
// docs/architecture.md and docs/service.md only the part between their
// markers.
const (
	ArchitecturePath = "docs/architecture.md"
	ConfigPath       = "docs/config.md"
	ServicePath      = "docs/service.md"
)

// Command is how to regenerate the files; docs and test failures quote it.
const Command = "go run ./scripts/docs"

// File is one generated document.
type File struct {
	Path    string // relative to the project directory
	Content string
}

// Generate renders every generated document for the project in dir: the
// diagram from the given stack's offline recording, the per-stack tables
// (stack values, event rules, alarms, security group rules) from every
// stack's recording, and the dependency table from infra/dependencies and
// every stack's privateEgress. It reads the current documents to keep
// their hand-written prose around the markers.
func Generate(dir, stack string) ([]File, error) {
	recs, err := RecordStacks(dir)
	if err != nil {
		return nil, err
	}
	var rec *offline.Recording
	for _, r := range recs {
		if r.Stack == stack {
			rec = r
		}
	}
	if rec == nil {
		if rec, err = offline.Run(dir, stack, nil); err != nil {
			return nil, fmt.Errorf("offline run of stack %s: %w", stack, err)
		}
	}
	arch, err := splice(dir, ArchitecturePath, []section{
		{BeginArchitecture, EndArchitecture, Architecture(rec)},
		{BeginStacks, EndStacks, StackValuesTable(recs)},
	})
	if err != nil {
		return nil, err
	}
	cfg, err := ConfigReference(dir)
	if err != nil {
		return nil, err
	}
	svc, err := serviceDoc(dir, recs)
	if err != nil {
		return nil, err
	}
	events, err := splice(dir, EventsPath, []section{{BeginEventRules, EndEventRules, EventRules(recs)}})
	if err != nil {
		return nil, err
	}
	mon, err := splice(dir, MonitoringPath, []section{{BeginAlarms, EndAlarms, Alarms(recs)}})
	if err != nil {
		return nil, err
	}
	return []File{
		{Path: ArchitecturePath, Content: arch},
		{Path: ConfigPath, Content: cfg},
		{Path: ServicePath, Content: svc},
		{Path: EventsPath, Content: events},
		{Path: MonitoringPath, Content: mon},
	}, nil
}

// section is one generated part of a document, between its markers.
type section struct {
	begin, end, content string
}

// splice reads the document at path under dir and replaces each section
// between its markers.
func splice(dir, path string, sections []section) (string, error) {
	current, err := os.ReadFile(filepath.Join(dir, path))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	doc := string(current)
	for _, s := range sections {
		if doc, err = SpliceBetween(doc, s.begin, s.end, s.content); err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
	}
	return doc, nil
}

// Splice replaces what lies between the architecture markers in doc with
// generated, keeping everything outside them.
func Splice(doc, generated string) (string, error) {
	return SpliceBetween(doc, BeginArchitecture, EndArchitecture, generated)
}

// SpliceBetween replaces what lies between the begin and end markers in
// doc with generated, keeping everything outside them. Each marker must
// appear exactly once, begin first.
func SpliceBetween(doc, begin, end, generated string) (string, error) {
	b := strings.Index(doc, begin)
	e := strings.Index(doc, end)
	if b < 0 || e < 0 || e < b {
		return "", errors.New("missing or misordered markers " + begin + " ... " + end)
	}
	if strings.Count(doc, begin) != 1 || strings.Count(doc, end) != 1 {
		return "", errors.New("the markers " + begin + " ... " + end + " must appear exactly once")
	}
	return doc[:b+len(begin)] + "\n" + generated + doc[e:], nil
}

// Architecture is the generated part of docs/architecture.md: the diagram,
// the flows as text and the inventory per component.
func Architecture(rec *offline.Recording) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- generated from the offline recording of stack %q by `%s`; do not edit by hand -->\n\n", rec.Stack, Command)
	b.WriteString("```mermaid\n")
	b.WriteString(Diagram(rec))
	b.WriteString("```\n\n")
	b.WriteString("Solid arrows are the data and event flows (labelled); dotted arrows are other references between\n")
	b.WriteString("key resources found in the recorded inputs. References to KMS keys, the VPC, IAM roles, security\n")
	b.WriteString("groups and log groups are left out: nearly every resource has them.\n\n")

	b.WriteString("### Flows\n\n")
	flows := Flows(rec)
	if len(flows) == 0 {
		b.WriteString("(none recorded yet)\n")
	}
	for _, f := range flows {
		fmt.Fprintf(&b, "- %s\n", f)
	}

	b.WriteString("\n### Inventory\n\n")
	b.WriteString("| component | resources | by type |\n|---|---:|---|\n")
	total := 0
	for _, c := range rec.Components() {
		types := map[string]int{}
		n := 0
		for _, r := range rec.Resources {
			if r.Component != c || r.Type == c {
				continue
			}
			types[shortName(r.Type)]++
			n++
		}
		total += n
		names := make([]string, 0, len(types))
		for t := range types {
			names = append(names, t)
		}
		sort.Strings(names)
		parts := make([]string, len(names))
		for i, t := range names {
			parts[i] = fmt.Sprintf("%s ×%d", t, types[t])
		}
		fmt.Fprintf(&b, "| `%s` | %d | %s |\n", c, n, strings.Join(parts, ", "))
	}
	fmt.Fprintf(&b, "| **total** | **%d** | |\n", total)
	return b.String()
}

// shortName turns "aws:rds/cluster:Cluster" into "rds/cluster".
func shortName(typ string) string {
	parts := strings.Split(typ, ":")
	if len(parts) != 3 {
		return typ
	}
	mod := parts[1]
	if strings.Contains(mod, "/") {
		if parts[0] == "aws" {
			return mod
		}
		return parts[0] + ":" + mod
	}
	return typ
}

// ConfigReference renders docs/config.md from Pulumi.yaml's schema
// (config.ProjectKeys) and every Pulumi.<stack>.yaml in dir: one row per
// key with its type, default, each stack's override and the description.
func ConfigReference(dir string) (string, error) {
	keys, err := config.ProjectKeys(dir)
	if err != nil {
		return "", fmt.Errorf("project keys: %w", err)
	}
	project, err := projectName(dir)
	if err != nil {
		return "", err
	}
	stacks, err := stackFiles(dir)
	if err != nil {
		return "", err
	}
	overrides := map[string]map[string]any{}
	for _, s := range stacks {
		cfg, err := offline.StackOverrides(dir, s)
		if err != nil {
			return "", err
		}
		overrides[s] = cfg
	}

	var b strings.Builder
	b.WriteString("# Configuration reference\n\n")
	fmt.Fprintf(&b, "<!-- generated by `%s` from Pulumi.yaml and the stack files; do not edit by hand -->\n\n", Command)
	b.WriteString("Every key the program reads is declared in `Pulumi.yaml` with its type, description and default;\n")
	b.WriteString("a stack file (`Pulumi.<stack>.yaml`) sets only what differs. A stack column shows the stack's\n")
	b.WriteString("value where it overrides the default and `·` where the default applies. `infra/config`\n")
	b.WriteString("validates every key and reports all problems at once, before any resource is created.\n")
	b.WriteString("Set a key with `pulumi config set <key> <value>`, a list entry with\n")
	b.WriteString("`pulumi config set --path '<key>[0]' --type string <value>` (without `--type string` the CLI stores a\n")
	b.WriteString("`--path` value of digits as a number, which a list of strings refuses), or edit the stack file.\n\n")

	if project == config.Project {
		guide, err := configGuide(dir, stacks)
		if err != nil {
			return "", err
		}
		b.WriteString(guide)
		b.WriteString("## Every key\n\n")
	}
	b.WriteString("| key | type | default |")
	for _, s := range stacks {
		fmt.Fprintf(&b, " %s |", s)
	}
	b.WriteString(" description |\n|---|---|---|")
	for range stacks {
		b.WriteString("---|")
	}
	b.WriteString("---|\n")
	declared := map[string]bool{}
	for _, k := range keys {
		declared[project+":"+k.Name] = true
		def := "*(required)*"
		if k.HasDefault {
			def = code(k.Default)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |", k.Name, cell(typeOf(k)), def)
		for _, s := range stacks {
			if v, ok := overrides[s][project+":"+k.Name]; ok {
				fmt.Fprintf(&b, " %s |", code(v))
			} else {
				b.WriteString(" · |")
			}
		}
		fmt.Fprintf(&b, " %s |\n", cell(k.Description))
	}

	// Keys of other namespaces (the AWS provider's region and default tags)
	// and anything a stack sets that the project does not declare.
	other := map[string]bool{}
	for _, s := range stacks {
		for k := range overrides[s] {
			if !declared[k] {
				other[k] = true
			}
		}
	}
	if len(other) > 0 {
		names := make([]string, 0, len(other))
		for k := range other {
			names = append(names, k)
		}
		sort.Strings(names)
		b.WriteString("\n## Provider and other namespaced settings\n\n")
		b.WriteString("Set in the stack files, read by the provider configuration (`aws:defaultTags` become the default\n")
		b.WriteString("tags of every resource).\n\n| key |")
		for _, s := range stacks {
			fmt.Fprintf(&b, " %s |", s)
		}
		b.WriteString("\n|---|")
		for range stacks {
			b.WriteString("---|")
		}
		b.WriteString("\n")
		for _, k := range names {
			fmt.Fprintf(&b, "| `%s` |", k)
			for _, s := range stacks {
				if v, ok := overrides[s][k]; ok {
					fmt.Fprintf(&b, " %s |", code(v))
				} else {
					b.WriteString(" · |")
				}
			}
			b.WriteString("\n")
		}
	}
	return b.String(), nil
}

func typeOf(k config.Key) string {
	if k.Type == "" {
		return "string"
	}
	return k.Type
}

// code renders a config value as inline code: scalars as written, lists and
// maps as JSON.
func code(v any) string {
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case nil:
		s = "null"
	case map[string]any, []any:
		j, err := json.Marshal(t)
		if err != nil {
			s = fmt.Sprint(t)
		} else {
			s = string(j)
		}
	default:
		s = fmt.Sprint(t)
	}
	if s == "" {
		return `""`
	}
	return "`" + strings.ReplaceAll(s, "|", `\|`) + "`"
}

// cell makes text safe in a Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("\n", " ", "|", `\|`, "<", "&lt;", ">", "&gt;").Replace(s)
}

func projectName(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "Pulumi.yaml"))
	if err != nil {
		return "", fmt.Errorf("read Pulumi.yaml: %w", err)
	}
	var p struct {
		Name string `yaml:"name"`
	}
	if err := yaml.Unmarshal(b, &p); err != nil {
		return "", fmt.Errorf("parse Pulumi.yaml: %w", err)
	}
	if p.Name == "" {
		return "", errors.New("Pulumi.yaml has no name")
	}
	return p.Name, nil
}

// stackFiles returns the stack names with a Pulumi.<stack>.yaml in dir,
// dev first, prod next, then the rest sorted.
func stackFiles(dir string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "Pulumi.*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("list stack files: %w", err)
	}
	var out []string
	for _, m := range matches {
		out = append(out, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), "Pulumi."), ".yaml"))
	}
	rank := func(s string) string {
		switch s {
		case "dev":
			return "0"
		case "prod":
			return "1"
		}
		return "2" + s
	}
	sort.Slice(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out, nil
}

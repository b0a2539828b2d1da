package docgen

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/trading-ha/trading-ha/proof/offline"
)

// The per-stack sections the generator owns, each between its markers.
const (
	BeginStacks      = "<!-- BEGIN GENERATED STACK VALUES -->"
	EndStacks        = "<!-- END GENERATED STACK VALUES -->"
	BeginEventRules  = "<!-- BEGIN GENERATED EVENT RULES -->"
	EndEventRules    = "<!-- END GENERATED EVENT RULES -->"
	BeginAlarms      = "<!-- BEGIN GENERATED ALARMS -->"
	EndAlarms        = "<!-- END GENERATED ALARMS -->"
	BeginGroupRules  = "<!-- BEGIN GENERATED SECURITY GROUP RULES -->"
	EndGroupRules    = "<!-- END GENERATED SECURITY GROUP RULES -->"
	EventsPath       = "docs/events.md"
	MonitoringPath   = "docs/monitoring.md"
	stacksGenComment = "<!-- generated from the offline recordings of every stack by `" + Command + "`; do not edit by hand -->\n\n"
)

// RecordStacks runs the program offline for every stack file in dir, dev
// first, prod next.
func RecordStacks(dir string) ([]*offline.Recording, error) {
	stacks, err := stackFiles(dir)
	if err != nil {
		return nil, err
	}
	out := make([]*offline.Recording, 0, len(stacks))
	for _, s := range stacks {
		rec, err := offline.Run(dir, s, nil)
		if err != nil {
			return nil, fmt.Errorf("offline run of stack %s: %w", s, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

// Suffix is the environmentSuffix a recording was made with.
func Suffix(rec *offline.Recording) string {
	for k, v := range rec.Config {
		if strings.HasSuffix(k, ":environmentSuffix") {
			return v
		}
	}
	return rec.Stack
}

// Generic writes a value of one stack the way the docs write it for every
// stack: the environment suffix as <s>, the account as <acct>.
func Generic(rec *offline.Recording, s string) string {
	s = strings.ReplaceAll(s, offline.AccountID, "<acct>")
	suffix := regexp.QuoteMeta(Suffix(rec))
	re := regexp.MustCompile(`(^|[^a-z0-9])` + suffix + `([^a-z0-9]|$)`)
	// Twice: adjacent matches share their delimiter.
	for i := 0; i < 2; i++ {
		s = re.ReplaceAllString(s, "${1}<s>${2}")
	}
	return s
}

// stackRow is one rendered table row and the stacks that have it.
type stackRow struct {
	cells  []string
	stacks []string
}

// mergeRows renders rows of every stack: a row every stack has the same
// appears once, others once per distinct content with the stacks having
// it. Order: first appearance, dev first.
func mergeRows(recs []*offline.Recording, rowsOf func(rec *offline.Recording) [][]string) []stackRow {
	var out []stackRow
	index := map[string]int{}
	for _, rec := range recs {
		for _, cells := range rowsOf(rec) {
			k := strings.Join(cells, "\x00")
			if i, ok := index[k]; ok {
				if !contains(out[i].stacks, rec.Stack) {
					out[i].stacks = append(out[i].stacks, rec.Stack)
				}
				continue
			}
			index[k] = len(out)
			out = append(out, stackRow{cells: cells, stacks: []string{rec.Stack}})
		}
	}
	return out
}

// stacksCell names the stacks of a row; "all" when every stack has it.
func stacksCell(row stackRow, recs []*offline.Recording) string {
	if len(row.stacks) == len(recs) {
		return "all"
	}
	return strings.Join(row.stacks, ", ")
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// str returns a recorded input as a string ("" when absent or not a string).
func str(r *offline.Resource, path string) string {
	s, _ := unwrap(r.Input(path)).(string)
	return s
}

// num returns a recorded input as a number and whether it was one.
func num(r *offline.Resource, path string) (float64, bool) {
	f, ok := unwrap(r.Input(path)).(float64)
	return f, ok
}

// fmtNum prints a recorded number without a needless decimal point.
func fmtNum(f float64) string {
	if f == float64(int64(f)) {
		return fmt.Sprintf("%d", int64(f))
	}
	return fmt.Sprintf("%g", f)
}

// physicalName is a resource's physical name from its usual inputs.
func physicalName(r *offline.Resource) string {
	for _, k := range []string{"name", "alarmName", "bucket", "identifier", "clusterIdentifier", "family"} {
		if s := str(r, k); s != "" {
			return s
		}
	}
	return r.Name
}

// arnName turns an ARN into what the docs call the resource: the part
// after the resource type (a topic, queue or state machine name, a log
// group name).
func arnName(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return arn
	}
	res := parts[5]
	switch parts[2] {
	case "sns", "sqs":
		return res
	case "logs":
		return strings.TrimSuffix(strings.TrimPrefix(res, "log-group:"), ":*")
	}
	if i := strings.IndexAny(res, ":/"); i >= 0 {
		return res[i+1:]
	}
	return res
}

// arnKind names the service of an ARN the way the tables say it.
func arnKind(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	switch parts[2] {
	case "sns":
		return "topic"
	case "sqs":
		return "queue"
	case "states":
		return "state machine"
	case "logs":
		return "log group"
	case "lambda":
		return "function"
	}
	return parts[2]
}

// compactJSON renders a value as JSON with sorted keys, no HTML escaping.
func compactJSON(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(b.String())
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ticks wraps a value in backticks for a table cell.
func ticks(s string) string {
	if s == "" {
		return ""
	}
	return "`" + strings.ReplaceAll(s, "|", `\|`) + "`"
}

func jsonUnmarshal(s string, into any) error {
	return json.Unmarshal([]byte(s), into)
}

package docgen

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/trading-ha/trading-ha/proof/offline"
)

const (
	ruleType   = "aws:cloudwatch/eventRule:EventRule"
	targetType = "aws:cloudwatch/eventTarget:EventTarget"
)

// EventRules renders every EventBridge rule of every stack with its bus,
// pattern and targets (retry policy, dead-letter queue, role, input
// transformer), and the counts per stack.
func EventRules(recs []*offline.Recording) string {
	var b strings.Builder
	b.WriteString(stacksGenComment)
	for _, rec := range recs {
		rules := rec.ByType(ruleType)
		targets := rec.ByType(targetType)
		custom, noDLQ := 0, 0
		for _, r := range rules {
			if bus := str(r, "eventBusName"); bus != "" && bus != "default" {
				custom++
			}
		}
		for _, t := range targets {
			if str(t, "deadLetterConfig.arn") == "" {
				noDLQ++
			}
		}
		fmt.Fprintf(&b, "- %s: **%d rules** (%d on the custom bus, %d on the default bus), **%d targets** (%d without a dead-letter queue)\n",
			rec.Stack, len(rules), custom, len(rules)-custom, len(targets), noDLQ)
	}
	b.WriteString("\n| rule | component | bus | matches | targets | stacks |\n|---|---|---|---|---|---|\n")
	rows := mergeRows(recs, func(rec *offline.Recording) [][]string {
		var out [][]string
		for _, r := range sortByName(rec.ByType(ruleType)) {
			bus := str(r, "eventBusName")
			if bus == "" {
				bus = "default"
			}
			out = append(out, []string{
				ticks(Generic(rec, str(r, "name"))),
				ticks(pkgOf(r.Component)),
				ticks(Generic(rec, bus)),
				patternCell(rec, str(r, "eventPattern")),
				targetsCell(rec, r),
			})
		}
		return out
	})
	for _, row := range rows {
		fmt.Fprintf(&b, "| %s | %s |\n", strings.Join(row.cells, " | "), stacksCell(row, recs))
	}
	return b.String()
}

func sortByName(rs []*offline.Resource) []*offline.Resource {
	out := append([]*offline.Resource(nil), rs...)
	sort.SliceStable(out, func(i, j int) bool { return physicalName(out[i]) < physicalName(out[j]) })
	return out
}

// patternCell renders an event pattern: source / detail-type, then every
// other field and its allowed values.
func patternCell(rec *offline.Recording, pattern string) string {
	var p map[string]any
	if err := json.Unmarshal([]byte(pattern), &p); err != nil {
		return ticks(Generic(rec, pattern))
	}
	var parts []string
	parts = append(parts, ticks(strings.Join(values(p["source"]), ", "))+" / "+ticks(strings.Join(values(p["detail-type"]), ", ")))
	var fields []string
	var flatten func(prefix string, v any)
	flatten = func(prefix string, v any) {
		m, ok := v.(map[string]any)
		if !ok {
			fields = append(fields, prefix+" "+matcher(rec, v))
			return
		}
		for _, k := range sortedKeys(m) {
			flatten(prefix+"."+k, m[k])
		}
	}
	for _, k := range sortedKeys(p) {
		if k == "source" || k == "detail-type" {
			continue
		}
		if m, ok := p[k].(map[string]any); ok {
			for _, kk := range sortedKeys(m) {
				flatten(k+"."+kk, m[kk])
			}
			continue
		}
		fields = append(fields, k+" "+matcher(rec, p[k]))
	}
	if len(fields) > 0 {
		parts = append(parts, strings.Join(fields, "; "))
	}
	return strings.Join(parts, "; ")
}

// matcher renders one field's pattern values: "= x", "in x, y", "absent".
func matcher(rec *offline.Recording, v any) string {
	xs, ok := v.([]any)
	if !ok {
		return "= " + ticks(Generic(rec, fmt.Sprint(v)))
	}
	var out []string
	for _, x := range xs {
		if m, ok := x.(map[string]any); ok {
			if e, ok := m["exists"].(bool); ok && !e {
				out = append(out, "absent")
				continue
			}
			if pre, ok := m["prefix"].(string); ok && len(m) == 1 {
				out = append(out, ticks(Generic(rec, pre)+"*"))
				continue
			}
			out = append(out, compactJSON(m))
			continue
		}
		out = append(out, ticks(Generic(rec, fmt.Sprint(x))))
	}
	if len(out) == 1 {
		if out[0] == "absent" {
			return "absent"
		}
		return "= " + out[0]
	}
	return "in " + strings.Join(out, ", ")
}

func values(v any) []string {
	xs, _ := v.([]any)
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// targetsCell lists a rule's targets: what each delivers to, its retry
// policy, dead-letter queue, role and input transformer.
func targetsCell(rec *offline.Recording, rule *offline.Resource) string {
	name := str(rule, "name")
	var parts []string
	for _, t := range sortByArn(rec.ByType(targetType)) {
		if str(t, "rule") != name {
			continue
		}
		arn := str(t, "arn")
		s := arnKind(arn) + " " + ticks(Generic(rec, arnName(arn)))
		var extra []string
		if n, ok := num(t, "retryPolicy.maximumRetryAttempts"); ok {
			age, _ := num(t, "retryPolicy.maximumEventAgeInSeconds")
			extra = append(extra, fmt.Sprintf("retry %s× / %s s", fmtNum(n), fmtNum(age)))
		}
		if dlq := str(t, "deadLetterConfig.arn"); dlq != "" {
			extra = append(extra, "DLQ "+ticks(Generic(rec, arnName(dlq))))
		} else {
			extra = append(extra, "no DLQ")
		}
		if role := str(t, "roleArn"); role != "" {
			extra = append(extra, "role "+ticks(Generic(rec, arnName(role))))
		}
		if str(t, "inputTransformer.inputTemplate") != "" {
			extra = append(extra, "input transformer")
		}
		parts = append(parts, s+" ("+strings.Join(extra, ", ")+")")
	}
	return strings.Join(parts, "; ")
}

func sortByArn(rs []*offline.Resource) []*offline.Resource {
	out := append([]*offline.Resource(nil), rs...)
	sort.SliceStable(out, func(i, j int) bool { return str(out[i], "arn") < str(out[j], "arn") })
	return out
}

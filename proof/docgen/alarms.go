package docgen

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/trading-ha/trading-ha/proof/offline"
)

const (
	metricAlarmType    = "aws:cloudwatch/metricAlarm:MetricAlarm"
	compositeAlarmType = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
)

var (
	azInName       = regexp.MustCompile(`-[a-z]{2}-[a-z]+-\d[a-z]-`)
	instanceInName = regexp.MustCompile(`-aurora-\d+-`)
	alarmRef       = regexp.MustCompile(`ALARM\("([^"]+)"\)`)
)

// alarmPattern writes an alarm name with its per-AZ and per-instance part
// as <az> and <n>, so the alarms of one kind share a row.
func alarmPattern(rec *offline.Recording, name string) string {
	name = azInName.ReplaceAllString(name, "-<az>-")
	name = instanceInName.ReplaceAllString(name, "-aurora-<n>-")
	return Generic(rec, name)
}

// maxExpression is the longest metric math expression the table shows;
// longer ones (the per-AZ outlier and per-operation sums) are named by
// their metrics only, so the alarms of one kind share a row.
const maxExpression = 60

var comparisons = map[string]string{
	"GreaterThanThreshold":                         ">",
	"GreaterThanOrEqualToThreshold":                "≥",
	"LessThanThreshold":                            "<",
	"LessThanOrEqualToThreshold":                   "≤",
	"LessThanLowerOrGreaterThanUpperThreshold":     "outside band",
	"LessThanLowerThreshold":                       "< band",
	"GreaterThanUpperThreshold":                    "> band",
	"LessThanOrEqualToThresholdOrGreaterThanUpper": "outside",
}

// Alarms renders every CloudWatch alarm of every stack: what it measures,
// when it fires, how it treats missing data, whom it notifies and whether
// a composite alarm watches it. Alarms that differ only by AZ or Aurora
// instance share a row, with their count per stack.
func Alarms(recs []*offline.Recording) string {
	var b strings.Builder
	b.WriteString(stacksGenComment)
	for _, rec := range recs {
		fmt.Fprintf(&b, "- %s: **%d metric alarms**, **%d composite**\n", rec.Stack, len(rec.ByType(metricAlarmType)), len(rec.ByType(compositeAlarmType)))
	}
	b.WriteString("\n| alarm | component | measures | statistic, period | fires when | datapoints | missing data | actions | composite | count |\n|---|---|---|---|---|---|---|---|---|---|\n")

	type group struct {
		cells  []string
		counts map[string]int
		order  int
	}
	groups := map[string]*group{}
	n := 0
	for _, rec := range recs {
		watchers := map[string][]string{} // alarm name -> composites watching it
		for _, c := range rec.ByType(compositeAlarmType) {
			for _, m := range alarmRef.FindAllStringSubmatch(str(c, "alarmRule"), -1) {
				watchers[m[1]] = append(watchers[m[1]], str(c, "alarmName"))
			}
		}
		var rows [][]string
		for _, a := range rec.ByType(metricAlarmType) {
			rows = append(rows, metricAlarmRow(rec, a, watchers[str(a, "name")]))
		}
		for _, c := range rec.ByType(compositeAlarmType) {
			rows = append(rows, compositeAlarmRow(rec, c, watchers[str(c, "alarmName")]))
		}
		for _, cells := range rows {
			k := strings.Join(cells, "\x00")
			g, ok := groups[k]
			if !ok {
				g = &group{cells: cells, counts: map[string]int{}, order: n}
				n++
				groups[k] = g
			}
			g.counts[rec.Stack]++
		}
	}
	list := make([]*group, 0, len(groups))
	for _, g := range groups {
		list = append(list, g)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].cells[0] != list[j].cells[0] {
			return list[i].cells[0] < list[j].cells[0]
		}
		return list[i].order < list[j].order
	})
	for _, g := range list {
		var counts []string
		same := len(g.counts) == len(recs)
		first := -1
		for _, rec := range recs {
			c, ok := g.counts[rec.Stack]
			if !ok {
				continue
			}
			if first >= 0 && c != first {
				same = false
			}
			if first < 0 {
				first = c
			}
			counts = append(counts, fmt.Sprintf("%s %d", rec.Stack, c))
		}
		count := strings.Join(counts, ", ")
		if same {
			count = fmt.Sprintf("%d each", first)
		}
		fmt.Fprintf(&b, "| %s | %s |\n", strings.Join(g.cells, " | "), count)
	}
	return b.String()
}

func metricAlarmRow(rec *offline.Recording, a *offline.Resource, watchers []string) []string {
	measures, stat, period := "", str(a, "statistic"), ""
	if s := str(a, "extendedStatistic"); s != "" {
		stat = s
	}
	if p, ok := num(a, "period"); ok {
		period = fmtNum(p) + " s"
	}
	if m := str(a, "metricName"); m != "" {
		measures = ticks(Generic(rec, str(a, "namespace"))) + " " + ticks(m) + dimensionKeys(a.Input("dimensions"))
	} else if qs, ok := unwrap(a.Input("metricQueries")).([]any); ok {
		var expr string
		var metrics []string
		for _, q := range qs {
			qm, _ := q.(map[string]any)
			if e, _ := qm["expression"].(string); e != "" {
				if rd, _ := qm["returnData"].(bool); rd {
					expr = e
				}
				continue
			}
			if mm, ok := qm["metric"].(map[string]any); ok {
				name := fmt.Sprint(mm["metricName"])
				if !contains(metrics, name) {
					metrics = append(metrics, name)
				}
				if stat == "" {
					stat = fmt.Sprint(mm["stat"])
				}
				if p, ok := mm["period"].(float64); ok && period == "" {
					period = fmtNum(p) + " s"
				}
			}
		}
		if stat == "" || stat == "<nil>" {
			stat = "math"
		}
		measures = "math over " + strings.Join(quoted(metrics), ", ")
		if len(expr) <= maxExpression {
			measures = "math " + ticks(Generic(rec, expr)) + " over " + strings.Join(quoted(metrics), ", ")
		}
	}
	cond := comparisons[str(a, "comparisonOperator")]
	if t, ok := num(a, "threshold"); ok {
		cond += " " + fmtNum(t)
	} else if id := str(a, "thresholdMetricId"); id != "" {
		cond += " " + ticks(id)
	}
	eval, _ := num(a, "evaluationPeriods")
	dp, ok := num(a, "datapointsToAlarm")
	if !ok {
		dp = eval
	}
	missing := str(a, "treatMissingData")
	if missing == "" {
		missing = "missing"
	}
	return []string{
		ticks(alarmPattern(rec, str(a, "name"))),
		ticks(pkgOf(a.Component)),
		measures,
		strings.TrimSpace(stat + ", " + period),
		cond,
		fmt.Sprintf("%s of %s", fmtNum(dp), fmtNum(eval)),
		missing,
		actionsCell(rec, a),
		watchersCell(rec, watchers),
	}
}

func compositeAlarmRow(rec *offline.Recording, c *offline.Resource, watchers []string) []string {
	var members []string
	for _, m := range alarmRef.FindAllStringSubmatch(str(c, "alarmRule"), -1) {
		members = append(members, ticks(alarmPattern(rec, m[1])))
	}
	measures := "composite: any of " + strings.Join(members, ", ")
	if s := str(c, "actionsSuppressor.alarm"); s != "" {
		w, _ := num(c, "actionsSuppressor.waitPeriod")
		e, _ := num(c, "actionsSuppressor.extensionPeriod")
		measures += fmt.Sprintf("; actions suppressed by %s (wait %s s, extension %s s)", ticks(Generic(rec, s)), fmtNum(w), fmtNum(e))
	}
	return []string{
		ticks(alarmPattern(rec, str(c, "alarmName"))),
		ticks(pkgOf(c.Component)),
		measures,
		"",
		"a member in ALARM",
		"",
		"",
		actionsCell(rec, c),
		watchersCell(rec, watchers),
	}
}

// dimensionKeys lists a metric's dimension names, " (A, B)".
func dimensionKeys(v any) string {
	m, ok := unwrap(v).(map[string]any)
	if !ok || len(m) == 0 {
		return ""
	}
	return " (" + strings.Join(sortedKeys(m), ", ") + ")"
}

// actionsCell names the topics an alarm notifies on ALARM.
func actionsCell(rec *offline.Recording, a *offline.Resource) string {
	if enabled, ok := unwrap(a.Input("actionsEnabled")).(bool); ok && !enabled {
		return "none (disabled)"
	}
	xs, _ := unwrap(a.Input("alarmActions")).([]any)
	var out []string
	for _, x := range xs {
		out = append(out, ticks(Generic(rec, arnName(fmt.Sprint(x)))))
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

func watchersCell(rec *offline.Recording, watchers []string) string {
	var out []string
	for _, w := range watchers {
		out = append(out, ticks(Generic(rec, w)))
	}
	return strings.Join(out, ", ")
}

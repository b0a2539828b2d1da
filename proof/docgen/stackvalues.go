package docgen

import (
	"fmt"
	"sort"
	"strings"

	"github.com/trading-ha/trading-ha/proof/offline"
)

// StackValue is one per-stack fact the docs state: a label and how to read
// it from a stack's recording.
type StackValue struct {
	Label string
	Of    func(rec *offline.Recording) string
}

// StackValues are the per-stack facts of docs/architecture.md's table, each
// read from the recording (the resources' recorded inputs), not from config.
var StackValues = []StackValue{
	{"Availability zones", func(rec *offline.Recording) string {
		return joinAny(first(rec, "awsx:ec2:Vpc").Input("availabilityZoneNames"))
	}},
	{"NAT gateways (awsx `natGateways`)", NATGateways},
	{"Interface VPC endpoints", func(rec *offline.Recording) string {
		return endpoints(rec, "Interface")
	}},
	{"Gateway VPC endpoints", func(rec *offline.Recording) string {
		return endpoints(rec, "Gateway")
	}},
	{"Security groups", func(rec *offline.Recording) string {
		var roles []string
		for _, g := range rec.ByType(groupType) {
			roles = append(roles, groupRole(rec, g))
		}
		sort.Strings(roles)
		return fmt.Sprintf("%d: %s", len(roles), strings.Join(roles, ", "))
	}},
	{"Aurora instances", func(rec *offline.Recording) string {
		insts := rec.ByType("aws:rds/clusterInstance:ClusterInstance")
		classes := map[string]bool{}
		for _, i := range insts {
			classes[str(i, "instanceClass")] = true
		}
		return fmt.Sprintf("%d (writer + readers: %d), `%s`", len(insts), len(insts)-1, strings.Join(sortedKeys(classes), ", "))
	}},
	{"Aurora readers (autoscaling min-max)", func(rec *offline.Recording) string {
		return scalingRange(rec, "rds:cluster:ReadReplicaCount")
	}},
	{"Aurora backup retention (days)", func(rec *offline.Recording) string {
		return numOf(first(rec, "aws:rds/cluster:Cluster"), "backupRetentionPeriod")
	}},
	{"Aurora deletion protection", func(rec *offline.Recording) string {
		return boolOf(first(rec, "aws:rds/cluster:Cluster"), "deletionProtection")
	}},
	{"Aurora final snapshot", func(rec *offline.Recording) string {
		c := first(rec, "aws:rds/cluster:Cluster")
		if skip, _ := unwrap(c.Input("skipFinalSnapshot")).(bool); skip {
			return "none (`skipFinalSnapshot`)"
		}
		return ticks(str(c, "finalSnapshotIdentifier"))
	}},
	{"ECS desired count", func(rec *offline.Recording) string {
		return numOf(first(rec, "aws:ecs/service:Service"), "desiredCount")
	}},
	{"ECS tasks (autoscaling min-max)", func(rec *offline.Recording) string {
		return scalingRange(rec, "ecs:service:DesiredCount")
	}},
	{"Task CPU / memory", func(rec *offline.Recording) string {
		td := serviceTask(rec)
		return str(td, "cpu") + " / " + str(td, "memory")
	}},
	{"Health check grace period (s)", func(rec *offline.Recording) string {
		return numOf(first(rec, "aws:ecs/service:Service"), "healthCheckGracePeriodSeconds")
	}},
	{"Container health check start period (s)", ContainerStartPeriod},
	{"Log group retention (days)", func(rec *offline.Recording) string {
		seen := map[string]bool{}
		for _, lg := range rec.ByType("aws:cloudwatch/logGroup:LogGroup") {
			seen[numOf(lg, "retentionInDays")] = true
		}
		return strings.Join(sortedKeys(seen), ", ")
	}},
	{"KMS keys (deletion window, days)", func(rec *offline.Recording) string {
		keys := rec.ByType("aws:kms/key:Key")
		windows := map[string]bool{}
		for _, k := range keys {
			windows[numOf(k, "deletionWindowInDays")] = true
		}
		return fmt.Sprintf("%d (%s)", len(keys), strings.Join(sortedKeys(windows), ", "))
	}},
	{"DynamoDB deletion protection", func(rec *offline.Recording) string {
		return boolOf(first(rec, "aws:dynamodb/table:Table"), "deletionProtectionEnabled")
	}},
	{"ALB deletion protection", func(rec *offline.Recording) string {
		return boolOf(first(rec, "aws:lb/loadBalancer:LoadBalancer"), "enableDeletionProtection")
	}},
	{"Cognito user pool deletion protection", func(rec *offline.Recording) string {
		return str(first(rec, "aws:cognito/userPool:UserPool"), "deletionProtection")
	}},
	{"S3 buckets force-destroyed", func(rec *offline.Recording) string {
		return forceDestroy(rec, "aws:s3/bucketV2:BucketV2", "bucket")
	}},
	{"Backup vaults force-destroyed", func(rec *offline.Recording) string {
		return forceDestroy(rec, "aws:backup/vault:Vault", "name")
	}},
	{"Daily / continuous backup retention (days)", func(rec *offline.Recording) string {
		daily, continuous := "—", "—"
		for _, p := range rec.ByType("aws:backup/plan:Plan") {
			rules, _ := unwrap(p.Input("rules")).([]any)
			for _, r := range rules {
				m, _ := r.(map[string]any)
				d := "—"
				if lc, ok := m["lifecycle"].(map[string]any); ok {
					if f, ok := lc["deleteAfter"].(float64); ok {
						d = fmtNum(f)
					}
				}
				if c, _ := m["enableContinuousBackup"].(bool); c {
					continuous = d
				} else {
					daily = d
				}
			}
		}
		return daily + " / " + continuous
	}},
	{"Cross-region backup copy", func(rec *offline.Recording) string {
		var dest []string
		for _, p := range rec.ByType("aws:backup/plan:Plan") {
			rules, _ := unwrap(p.Input("rules")).([]any)
			for _, r := range rules {
				m, _ := r.(map[string]any)
				acts, _ := m["copyActions"].([]any)
				for _, a := range acts {
					am, _ := a.(map[string]any)
					d := ticks(Generic(rec, arnName(fmt.Sprint(am["destinationVaultArn"]))))
					if !contains(dest, d) {
						dest = append(dest, d)
					}
				}
			}
		}
		if len(dest) == 0 {
			return "none"
		}
		return strings.Join(dest, ", ") + " in " + configValue(rec, "drRegion")
	}},
	{"Event archive retention (days)", func(rec *offline.Recording) string {
		return numOf(first(rec, "aws:cloudwatch/eventArchive:EventArchive"), "retentionDays")
	}},
	{"Canary schedule", func(rec *offline.Recording) string {
		return ticks(str(first(rec, "aws:synthetics/canary:Canary"), "schedule.expression"))
	}},
	{"WAF rate limit (requests per IP per 5 min)", func(rec *offline.Recording) string {
		acl := first(rec, "aws:wafv2/webAcl:WebAcl")
		rules, _ := unwrap(acl.Input("rules")).([]any)
		for _, r := range rules {
			m, _ := r.(map[string]any)
			if l, err := offline.Walk(m, "statement.rateBasedStatement.limit"); err == nil {
				if f, ok := l.(float64); ok {
					return fmtNum(f)
				}
			}
		}
		return "—"
	}},
	{"Scheduler schedules", func(rec *offline.Recording) string {
		var out []string
		for _, s := range sortByName(rec.ByType("aws:scheduler/schedule:Schedule")) {
			out = append(out, ticks(Generic(rec, str(s, "name")))+" "+ticks(str(s, "scheduleExpression")))
		}
		return strings.Join(out, ", ")
	}},
	{"Hosted zone", func(rec *offline.Recording) string {
		zs := rec.ByType("aws:route53/zone:Zone")
		if len(zs) == 0 {
			return "none"
		}
		return ticks(str(zs[0], "name"))
	}},
	{"Resources registered", func(rec *offline.Recording) string {
		return fmt.Sprint(len(rec.Resources))
	}},
}

// NATGateways reads the awsx VPC's NAT gateway strategy: how many NAT
// gateways the stack has.
func NATGateways(rec *offline.Recording) string {
	vpc := first(rec, "awsx:ec2:Vpc")
	azs, _ := unwrap(vpc.Input("availabilityZoneNames")).([]any)
	switch s := str(vpc, "natGateways.strategy"); s {
	case "OnePerAz":
		return fmt.Sprintf("%d, one per AZ (`OnePerAz`)", len(azs))
	case "Single":
		return "1 (`Single`)"
	case "None":
		return "none (`None`)"
	default:
		return ticks(s)
	}
}

// ContainerStartPeriod is the trading container's health check start
// period in seconds, from the recorded container definitions.
func ContainerStartPeriod(rec *offline.Recording) string {
	td := serviceTask(rec)
	var defs []map[string]any
	if err := jsonUnmarshal(str(td, "containerDefinitions"), &defs); err != nil {
		return "—"
	}
	for _, d := range defs {
		if hc, ok := d["healthCheck"].(map[string]any); ok {
			if f, ok := hc["startPeriod"].(float64); ok {
				return fmtNum(f)
			}
		}
	}
	return "—"
}

// StackValuesTable renders StackValues: a row per fact, a column per stack.
func StackValuesTable(recs []*offline.Recording) string {
	var b strings.Builder
	b.WriteString(stacksGenComment)
	b.WriteString("| |")
	for _, rec := range recs {
		fmt.Fprintf(&b, " %s |", rec.Stack)
	}
	b.WriteString("\n|---|")
	for range recs {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, v := range StackValues {
		fmt.Fprintf(&b, "| %s |", v.Label)
		for _, rec := range recs {
			fmt.Fprintf(&b, " %s |", mdCell(v.Of(rec)))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// first returns the first resource of a type, or an empty one so a
// missing resource reads as absent values.
// serviceTask is the service's task definition (key "app"), not the
// migrate task's.
func serviceTask(rec *offline.Recording) *offline.Resource {
	if td, err := rec.One("aws:ecs/taskDefinition:TaskDefinition", "app"); err == nil {
		return td
	}
	return &offline.Resource{Type: "aws:ecs/taskDefinition:TaskDefinition", Inputs: map[string]any{}, Outputs: map[string]any{}}
}

func first(rec *offline.Recording, typ string) *offline.Resource {
	if rs := rec.ByType(typ); len(rs) > 0 {
		return rs[0]
	}
	return &offline.Resource{Type: typ, Inputs: map[string]any{}, Outputs: map[string]any{}}
}

func numOf(r *offline.Resource, path string) string {
	if f, ok := num(r, path); ok {
		return fmtNum(f)
	}
	return "—"
}

func boolOf(r *offline.Resource, path string) string {
	if v, ok := unwrap(r.Input(path)).(bool); ok {
		if v {
			return "on"
		}
		return "off"
	}
	return "—"
}

func joinAny(v any) string {
	xs, _ := unwrap(v).([]any)
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, fmt.Sprint(x))
	}
	return strings.Join(out, ", ")
}

func endpoints(rec *offline.Recording, kind string) string {
	var svcs []string
	for _, e := range rec.ByType("aws:ec2/vpcEndpoint:VpcEndpoint") {
		if str(e, "vpcEndpointType") != kind {
			continue
		}
		svc := strings.TrimPrefix(str(e, "serviceName"), "com.amazonaws.")
		if i := strings.Index(svc, "."); i >= 0 {
			svc = svc[i+1:]
		}
		svcs = append(svcs, svc)
	}
	sort.Strings(svcs)
	if len(svcs) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d: %s", len(svcs), strings.Join(svcs, ", "))
}

func scalingRange(rec *offline.Recording, dimension string) string {
	for _, t := range rec.ByType("aws:appautoscaling/target:Target") {
		if str(t, "scalableDimension") == dimension {
			return numOf(t, "minCapacity") + "-" + numOf(t, "maxCapacity")
		}
	}
	return "—"
}

func forceDestroy(rec *offline.Recording, typ, nameKey string) string {
	var yes, no []string
	for _, r := range sortByName(rec.ByType(typ)) {
		n := ticks(Generic(rec, str(r, nameKey)))
		if v, _ := unwrap(r.Input("forceDestroy")).(bool); v {
			yes = append(yes, n)
		} else {
			no = append(no, n)
		}
	}
	switch {
	case len(no) == 0:
		return "all: " + strings.Join(yes, ", ")
	case len(yes) == 0:
		return "none: " + strings.Join(no, ", ") + " kept"
	}
	return strings.Join(yes, ", ") + "; not " + strings.Join(no, ", ")
}

// configValue is a key's effective value in the recording's config.
func configValue(rec *offline.Recording, key string) string {
	for k, v := range rec.Config {
		if strings.HasSuffix(k, ":"+key) {
			return v
		}
	}
	return ""
}

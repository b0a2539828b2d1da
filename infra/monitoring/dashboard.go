package monitoring

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumix"

	"github.com/trading-ha/trading-ha/infra/naming"
)

// Tiers are the dashboard's rows, top to bottom; every widget title starts
// with its tier.
var Tiers = []string{"edge", "app", "data", "synthetics"}

// Widget is one CloudWatch dashboard widget (the dashboard body format).
type Widget struct {
	Type       string           `json:"type"`
	X          int              `json:"x"`
	Y          int              `json:"y"`
	Width      int              `json:"width"`
	Height     int              `json:"height"`
	Properties WidgetProperties `json:"properties"`
}

// WidgetProperties are a widget's properties: metric graphs or markdown.
type WidgetProperties struct {
	Title    string  `json:"title,omitempty"`
	Region   string  `json:"region,omitempty"`
	View     string  `json:"view,omitempty"`
	Stacked  bool    `json:"stacked,omitempty"`
	Period   int     `json:"period,omitempty"`
	Stat     string  `json:"stat,omitempty"`
	Metrics  [][]any `json:"metrics,omitempty"`
	Markdown string  `json:"markdown,omitempty"`
}

// Body is the dashboard body.
type Body struct {
	Widgets []Widget `json:"widgets"`
}

// dashboardValues are the resolved identifiers the widgets plot.
type dashboardValues struct {
	region, canary                             string
	lb, tg, cluster, service, table, dbCluster string
	instances                                  []string
	stateMachines                              []string
}

// graph is one metric widget before layout.
type graph struct {
	tier, title, stat string
	metrics           [][]any
}

// dashboardBody builds the golden-signals dashboard: a markdown header and
// a row of graphs per tier.
func dashboardBody(v dashboardValues, period int) Body {
	rds := func(name string) [][]any {
		var ms [][]any
		for _, id := range v.instances {
			ms = append(ms, []any{"AWS/RDS", name, "DBInstanceIdentifier", id})
		}
		return ms
	}
	ddb := func(name string) [][]any {
		var ms [][]any
		for _, op := range []string{"GetItem", "PutItem", "UpdateItem", "DeleteItem"} {
			ms = append(ms, []any{"AWS/DynamoDB", name, "TableName", v.table, "Operation", op})
		}
		return ms
	}
	var sfn [][]any
	for _, arn := range v.stateMachines {
		sfn = append(sfn, []any{"AWS/States", "ExecutionsFailed", "StateMachineArn", arn})
	}
	graphs := []graph{
		{"edge", "requests", "Sum", [][]any{{"AWS/ApplicationELB", "RequestCount", "LoadBalancer", v.lb}}},
		{"edge", "5xx (ELB and targets)", "Sum", [][]any{
			{"AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", v.lb},
			{"AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", v.lb},
		}},
		{"edge", "target response time p99 (s)", "p99", [][]any{{"AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", v.lb}}},
		{"edge", "healthy / unhealthy targets", "Minimum", [][]any{
			{"AWS/ApplicationELB", "HealthyHostCount", "TargetGroup", v.tg, "LoadBalancer", v.lb},
			{"AWS/ApplicationELB", "UnHealthyHostCount", "TargetGroup", v.tg, "LoadBalancer", v.lb},
		}},
		{"app", "running vs desired tasks", "Average", [][]any{
			{"ECS/ContainerInsights", "RunningTaskCount", "ClusterName", v.cluster, "ServiceName", v.service},
			{"ECS/ContainerInsights", "DesiredTaskCount", "ClusterName", v.cluster, "ServiceName", v.service},
		}},
		{"app", "CPU and memory utilisation (%)", "Average", [][]any{
			{"AWS/ECS", "CPUUtilization", "ClusterName", v.cluster, "ServiceName", v.service},
			{"AWS/ECS", "MemoryUtilization", "ClusterName", v.cluster, "ServiceName", v.service},
		}},
		{"app", "runbook executions failed", "Sum", sfn},
		{"data", "Aurora CPU (%)", "Average", rds("CPUUtilization")},
		{"data", "Aurora connections", "Maximum", rds("DatabaseConnections")},
		{"data", "Aurora replica lag (ms)", "Maximum", rds("AuroraReplicaLag")},
		{"data", "Aurora cluster commit latency (ms)", "Average", [][]any{{"AWS/RDS", "CommitLatency", "DBClusterIdentifier", v.dbCluster}}},
		{"data", "DynamoDB latency (ms)", "Average", ddb("SuccessfulRequestLatency")},
		{"data", "DynamoDB throttles", "Sum", ddb("ThrottledRequests")},
		{"synthetics", "canary success (%)", "Average", [][]any{{CanaryMetricNamespace, "SuccessPercent", "CanaryName", v.canary}}},
		{"synthetics", "canary duration (ms)", "Average", [][]any{{CanaryMetricNamespace, "Duration", "CanaryName", v.canary}}},
	}

	const width, height, perRow = 6, 6, 4
	var b Body
	y := 0
	for _, tier := range Tiers {
		b.Widgets = append(b.Widgets, Widget{Type: "text", X: 0, Y: y, Width: 24, Height: 1,
			Properties: WidgetProperties{Markdown: "## " + tier}})
		y++
		col := 0
		for _, g := range graphs {
			if g.tier != tier {
				continue
			}
			if col == perRow {
				col, y = 0, y+height
			}
			b.Widgets = append(b.Widgets, Widget{Type: "metric", X: col * width, Y: y, Width: width, Height: height,
				Properties: WidgetProperties{
					Title: tier + ": " + g.title, Region: v.region, View: "timeSeries",
					Period: period, Stat: g.stat, Metrics: g.metrics,
				}})
			col++
		}
		y += height
	}
	return b
}

// newDashboard creates the dashboard once every identifier resolves. The
// ALB and target group dimensions (app/<name>/<id>, targetgroup/<name>/<id>)
// hold ids AWS makes at create time, so the body is built in an apply; the
// typed ApplyN keeps each value in its place.
func newDashboard(ctx *pulumi.Context, kids naming.Children, args Args, name, canaryName string, parent pulumi.ResourceOption) error {
	tableName := pulumi.StringInput(pulumi.String(""))
	if len(args.Tables) > 0 {
		tableName = args.Tables[0].Name
	}
	machines := pulumi.StringArray{}
	for _, sm := range args.StateMachines {
		machines = append(machines, sm.Arn)
	}
	str := func(in pulumi.StringInput) pulumi.StringOutput { return in.ToStringOutput() }
	body := pulumix.Cast[pulumi.StringOutput](pulumix.Apply7Err[string, string, string, string, string, string, []string](
		str(args.LoadBalancer.ArnSuffix), str(args.LoadBalancer.TargetGroupArnSuffix),
		str(args.Service.ClusterName), str(args.Service.ServiceName), str(args.Database.ClusterIdentifier), str(tableName),
		machines.ToStringArrayOutput(),
		func(lb, tg, cluster, service, dbCluster, table string, stateMachines []string) (string, error) {
			out, err := json.Marshal(dashboardBody(dashboardValues{
				region: args.Shared.Region, canary: canaryName,
				lb: lb, tg: tg, cluster: cluster, service: service, dbCluster: dbCluster, table: table,
				instances: args.Database.InstanceIdentifiers, stateMachines: stateMachines,
			}, args.Monitoring.AlarmPeriodSeconds))
			if err != nil {
				return "", fmt.Errorf("marshal dashboard body: %w", err)
			}
			return string(out), nil
		}))
	if _, err := cloudwatch.NewDashboard(ctx, kids.Name("dashboard"), &cloudwatch.DashboardArgs{
		DashboardName: pulumi.String(name), DashboardBody: body,
	}, parent); err != nil {
		return fmt.Errorf("create dashboard %s: %w", name, err)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

package monitoring

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/naming"
)

// TreatMissingData values.
const (
	missingBreaching    = "breaching"
	missingNotBreaching = "notBreaching"
)

// AZAlarmPeriodSeconds and AZAlarmEvaluationPeriods are fixed for the per-AZ
// healthy-host alarms: ALB metrics have one-minute resolution, so one
// 60-second datapoint is the fastest CloudWatch can see an AZ go dark.
const (
	AZAlarmPeriodSeconds     = 60
	AZAlarmEvaluationPeriods = 1
)

// DynamoDBOperations are the Operation dimension values ThrottledRequests and
// SystemErrors are published under (TableName + Operation; there is no
// table-only series). Ten is also the most metrics one alarm may reference.
var DynamoDBOperations = []string{
	"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan",
	"BatchGetItem", "BatchWriteItem", "TransactGetItems", "TransactWriteItems",
}

// metric is one metric an alarm reads.
type metric struct {
	namespace, name string
	dims            pulumi.StringMap
	stat            string // Sum, Average, Minimum, Maximum or pNN
}

// alarmSpec is one metric alarm, as data; the resource is built from it.
type alarmSpec struct {
	// key is the alarm's detail ("canary-success"); name is alarm-<key>-<suffix>.
	key, name   string
	description string
	// Either single (a metric) or expression over metrics (metric math).
	single     *metric
	expression string
	inputs     map[string]metric
	comparison string
	threshold  pulumi.Float64Input
	period     int
	evaluation int
	datapoints int
	missing    string
	// degraded alarms are customer impact: they feed the composite that
	// pages. The others are causes and notify, except those routed to the
	// paging topics (route): what no automation can answer.
	degraded bool
	route    route
}

// alarmSpecs builds every metric alarm from the config and the args.
func alarmSpecs(args Args, canaryName string) []alarmSpec {
	cfg := args.Monitoring
	period, evals, dta := cfg.AlarmPeriodSeconds, cfg.AlarmEvaluationPeriods, cfg.AlarmDatapointsToAlarm
	f := func(v float64) pulumi.Float64Input { return pulumi.Float64(v) }
	named := func(s alarmSpec) alarmSpec {
		s.name = args.Names.Member(naming.Alarm, s.key)
		if s.evaluation == 0 {
			s.period, s.evaluation, s.datapoints = period, evals, dta
		}
		return s
	}
	lb := args.LoadBalancer
	alb := func(name, stat string, extra pulumi.StringMap) *metric {
		dims := pulumi.StringMap{"LoadBalancer": lb.ArnSuffix}
		for k, v := range extra {
			dims[k] = v
		}
		return &metric{namespace: "AWS/ApplicationELB", name: name, dims: dims, stat: stat}
	}
	tg := pulumi.StringMap{"TargetGroup": lb.TargetGroupArnSuffix}

	// The canary publishes one SuccessPercent datapoint per run, so its
	// period is at least the schedule interval. A canary sparser than the
	// alarm period (dev: every 5 minutes) judges each run on its own (1 of
	// 1): "M of N" over 5-minute periods would put its detection path past
	// the RTO (docs/resilience.md).
	canaryPeriod := max(period, cfg.CanaryScheduleMinutes*60)
	canaryEvals, canaryDTA := evals, dta
	if canaryPeriod > period {
		canaryEvals, canaryDTA = 1, 1
	}
	var specs []alarmSpec
	add := func(s alarmSpec) { specs = append(specs, named(s)) }

	// --- edge: what a customer sees ---
	add(alarmSpec{
		key: "canary-success", degraded: true,
		description: "The API canary failed a run: a customer journey (health, session, order, replay, read) is broken from the internet.",
		single: &metric{namespace: CanaryMetricNamespace, name: "SuccessPercent",
			dims: pulumi.StringMap{"CanaryName": pulumi.String(canaryName)}, stat: "Average"},
		comparison: "LessThanThreshold", threshold: f(100),
		period: canaryPeriod, evaluation: canaryEvals, datapoints: canaryDTA,
		// A canary that stops reporting leaves us blind to the customer
		// journey: treat silence as failure.
		missing: missingBreaching,
	})
	add(alarmSpec{
		key: "r53-health", degraded: true,
		description: "Route 53 health checkers in several regions cannot reach the endpoint's edge probe over HTTPS (DNS, TLS, WAF or the ALB listener).",
		single: &metric{namespace: "AWS/Route53", name: "HealthCheckStatus",
			dims: pulumi.StringMap{"HealthCheckId": args.Endpoint.HealthCheckID}, stat: "Minimum"},
		comparison: "LessThanThreshold", threshold: f(1),
		// The metric is published every minute while the health check
		// exists; missing data means the check is gone or broken.
		missing: missingBreaching,
	})
	add(alarmSpec{
		key: "alb-5xx-rate", degraded: true,
		description: "The ALB itself answers 5xx (no healthy target, target timeouts) for more than the configured share of requests.",
		expression:  "100 * FILL(elb5xx, 0) / requests",
		inputs: map[string]metric{
			"elb5xx":   *alb("HTTPCode_ELB_5XX_Count", "Sum", nil),
			"requests": *alb("RequestCount", "Sum", nil),
		},
		comparison: "GreaterThanThreshold", threshold: f(float64(cfg.ALB5xxRatePercent)),
		// No requests means no rate; reachability is the canary's and
		// Route 53's job, so an idle ALB must not page.
		missing: missingNotBreaching,
	})
	add(alarmSpec{
		key:         "target-5xx",
		description: "The tasks return 5xx: the application or one of its dependencies is failing.",
		single:      alb("HTTPCode_Target_5XX_Count", "Sum", nil),
		comparison:  "GreaterThanThreshold", threshold: f(float64(cfg.Target5xxCount)),
		// The count is only published when there were 5xx responses.
		missing: missingNotBreaching,
	})
	add(alarmSpec{
		key: "p99-latency", degraded: true,
		description: "p99 time from the ALB sending a request to the task answering exceeds the threshold.",
		single:      alb("TargetResponseTime", "p99", nil),
		comparison:  "GreaterThanThreshold", threshold: f(float64(cfg.P99LatencyMs) / 1000),
		// No requests, no latency: nothing to judge.
		missing: missingNotBreaching,
	})
	add(alarmSpec{
		key:         "unhealthy-hosts",
		description: "At least one registered task fails the ALB health check (crash, hang or failing /healthz).",
		single:      alb("UnHealthyHostCount", "Maximum", tg),
		comparison:  "GreaterThanThreshold", threshold: f(0),
		// Without data there is no unhealthy target to report; the per-AZ
		// healthy-host alarms catch a target group that goes silent.
		missing: missingNotBreaching,
	})
	for _, az := range args.Shared.AvailabilityZones {
		add(alarmSpec{
			key:         "healthy-hosts-" + az,
			description: "No healthy task behind the ALB in " + az + ": the AZ is lost for the app tier; the ALB routes to the other AZs and ECS replaces the tasks.",
			single:      alb("HealthyHostCount", "Minimum", pulumi.StringMap{"TargetGroup": lb.TargetGroupArnSuffix, "AvailabilityZone": pulumi.String(az)}),
			comparison:  "LessThanThreshold", threshold: f(1),
			period: AZAlarmPeriodSeconds, evaluation: AZAlarmEvaluationPeriods, datapoints: AZAlarmEvaluationPeriods,
			// An AZ whose targets are all deregistered may stop reporting
			// altogether; that is the failure this alarm exists for.
			missing: missingBreaching,
		})
	}

	// --- a gray AZ: one AZ's targets fail or slow down while they pass
	// their health checks (no healthy-host alarm fires) ---
	for _, s := range zonalOutlierSpecs(args.Shared.AvailabilityZones, alb,
		float64(cfg.ALB5xxRatePercent), float64(cfg.P99LatencyMs)/1000) {
		add(s)
	}

	// --- app ---
	add(alarmSpec{
		key:         "ecs-running-tasks",
		description: "Fewer tasks run than the service's desired count (Container Insights).",
		single: &metric{namespace: "ECS/ContainerInsights", name: "RunningTaskCount",
			dims: pulumi.StringMap{"ClusterName": args.Service.ClusterName, "ServiceName": args.Service.ServiceName}, stat: "Minimum"},
		comparison: "LessThanThreshold",
		threshold:  args.Service.DesiredCount.ToIntOutput().ApplyT(func(n int) float64 { return float64(n) }).(pulumi.Float64Output),
		// Container Insights reports the count every minute, zero included;
		// silence means the service or its telemetry is gone.
		missing: missingBreaching,
	})

	// --- data: Aurora, per instance (any instance may be the writer) ---
	for i, id := range args.Database.InstanceIdentifiers {
		n := strconv.Itoa(i + 1)
		dims := pulumi.StringMap{"DBInstanceIdentifier": pulumi.String(id)}
		rds := func(name, stat string) *metric {
			return &metric{namespace: "AWS/RDS", name: name, dims: dims, stat: stat}
		}
		// Instance metrics go missing while an instance reboots or fails
		// over; Aurora recovers that on its own and the canary sees any
		// customer impact, so these resource alarms do not page on silence.
		add(alarmSpec{key: "aurora-" + n + "-cpu", description: "Aurora instance " + id + " CPU is high.",
			single: rds("CPUUtilization", "Average"), comparison: "GreaterThanThreshold",
			threshold: f(float64(cfg.AuroraCPUPercent)), missing: missingNotBreaching})
		add(alarmSpec{key: "aurora-" + n + "-memory", description: "Aurora instance " + id + " is running out of freeable memory.",
			single: rds("FreeableMemory", "Minimum"), comparison: "LessThanThreshold",
			threshold: f(float64(cfg.AuroraFreeableMemoryMB) * 1024 * 1024), missing: missingNotBreaching})
		add(alarmSpec{key: "aurora-" + n + "-connections", description: "Aurora instance " + id + " holds too many connections.",
			single: rds("DatabaseConnections", "Maximum"), comparison: "GreaterThanThreshold",
			threshold: f(float64(cfg.AuroraConnections)), missing: missingNotBreaching})
		// Only readers publish AuroraReplicaLag: whichever instance is the
		// writer has no data, which is normal.
		add(alarmSpec{key: "aurora-" + n + "-replica-lag", description: "Aurora reader " + id + " lags the writer (stale reads; slower failover).",
			single: rds("AuroraReplicaLag", "Maximum"), comparison: "GreaterThanThreshold",
			threshold: f(float64(cfg.AuroraReplicaLagMs)), missing: missingNotBreaching})
	}

	// --- data: DynamoDB, summed over operations ---
	for _, t := range args.Tables {
		for _, m := range []struct{ key, metric, what string }{
			{"throttles", "ThrottledRequests", "requests are throttled"},
			{"system-errors", "SystemErrors", "DynamoDB returns 500s (service-side errors)"},
		} {
			inputs := map[string]metric{}
			ids := make([]string, len(DynamoDBOperations))
			for i, op := range DynamoDBOperations {
				ids[i] = "op" + strconv.Itoa(i)
				inputs[ids[i]] = metric{namespace: "AWS/DynamoDB", name: m.metric, stat: "Sum",
					dims: pulumi.StringMap{"TableName": t.Name, "Operation": pulumi.String(op)}}
			}
			add(alarmSpec{
				key: "ddb-" + t.Key + "-" + m.key, description: "DynamoDB table " + t.Key + ": " + m.what + ".",
				expression: "SUM([" + strings.Join(fillAll(ids), ", ") + "])",
				inputs:     inputs, comparison: "GreaterThanThreshold", threshold: f(0),
				// Both metrics exist only when something went wrong.
				missing: missingNotBreaching,
			})
		}
	}

	// --- runbooks: a failed execution needs a human ---
	for _, sm := range args.StateMachines {
		description := "A " + sm.Kind.Type + " execution failed: the automated recovery did not finish."
		if sm.Description != "" {
			description = sm.Description
		}
		failed := max(1, sm.FailedPeriods)
		add(alarmSpec{
			key: sm.Kind.Type + "-failed", description: description,
			single: &metric{namespace: "AWS/States", name: "ExecutionsFailed",
				dims: pulumi.StringMap{"StateMachineArn": sm.Arn}, stat: "Sum"},
			comparison: "GreaterThanThreshold", threshold: f(0),
			period: period, evaluation: failed, datapoints: failed,
			// Published only when executions run; no executions, no failure.
			missing: missingNotBreaching,
		})
	}
	return specs
}

// ZonalOutlierFactor is how much worse than every other AZ one AZ's error
// rate or p99 latency must be before it is called an outlier: a failure
// everywhere (a dependency, a bad deploy) raises every AZ together and is
// the fleet-wide alarms' job, not a reason to shift away from one AZ.
const ZonalOutlierFactor = 2

// ZonalMinRequests is the fewest requests an AZ must serve in a period for
// its error rate to count: one failed request of one is not a gray AZ.
const ZonalMinRequests = 20

// ZonalOutlierKeys are the keys of the two per-AZ outlier alarms of az.
func ZonalOutlierKeys(az string) (errors, latency string) {
	return "zonal-5xx-" + az, "zonal-latency-" + az
}

// zonalOutlierSpecs are, per AZ, an error-rate and a p99-latency outlier
// alarm: the AZ is worse than the stack's own threshold AND worse than
// ZonalOutlierFactor times every other AZ. They read the ALB's per-AZ
// series (dimensions LoadBalancer and AvailabilityZone: ELB User Guide,
// "CloudWatch metrics for your Application Load Balancer", metric
// dimensions), which count what the ALB's node in that AZ sent to targets,
// so with cross-zone load balancing a gray AZ shows in every node's
// series only through its own targets' share. The answer is an ARC zonal
// shift away from the AZ (the ALB has zonal shift enabled; docs/runbooks.md,
// "A gray AZ"); a person starts it, because only the healthy-host and
// outlier alarms together tell a sick AZ from a sick deploy.
func zonalOutlierSpecs(azs []string, alb func(name, stat string, extra pulumi.StringMap) *metric,
	errorRatePercent, p99Seconds float64) []alarmSpec {
	if len(azs) < 2 {
		return nil
	}
	var specs []alarmSpec
	for x, az := range azs {
		errKey, latKey := ZonalOutlierKeys(az)
		errIn, latIn := map[string]metric{}, map[string]metric{}
		rate := func(i int) string {
			return fmt.Sprintf("IF(FILL(req%[1]d, 0) >= %[2]d, 100 * FILL(err%[1]d, 0) / FILL(req%[1]d, 1), 0)", i, ZonalMinRequests)
		}
		lat := func(i int) string { return fmt.Sprintf("FILL(lat%d, 0)", i) }
		errCond := []string{fmt.Sprintf("%s > %g", rate(x), errorRatePercent)}
		latCond := []string{fmt.Sprintf("%s > %g", lat(x), p99Seconds)}
		for i, other := range azs {
			zone := pulumi.StringMap{"AvailabilityZone": pulumi.String(other)}
			errIn[fmt.Sprintf("err%d", i)] = *alb("HTTPCode_Target_5XX_Count", "Sum", zone)
			errIn[fmt.Sprintf("req%d", i)] = *alb("RequestCount", "Sum", zone)
			latIn[fmt.Sprintf("lat%d", i)] = *alb("TargetResponseTime", "p99", zone)
			if i != x {
				errCond = append(errCond, fmt.Sprintf("%s > %d * %s", rate(x), ZonalOutlierFactor, rate(i)))
				latCond = append(latCond, fmt.Sprintf("%s > %d * %s", lat(x), ZonalOutlierFactor, lat(i)))
			}
		}
		specs = append(specs,
			alarmSpec{
				key:         errKey,
				description: "Targets behind the ALB in " + az + " answer 5xx far more often than the other AZs while passing health checks: a gray failure of " + az + ". Start an ARC zonal shift away from " + az + " (docs/runbooks.md, \"A gray AZ\").",
				expression:  "IF(" + strings.Join(errCond, " AND ") + ", 1, 0)",
				inputs:      errIn, comparison: "GreaterThanOrEqualToThreshold", threshold: pulumi.Float64(1),
				// No traffic in a period is no evidence of a gray AZ.
				missing: missingNotBreaching,
			},
			alarmSpec{
				key:         latKey,
				description: "p99 response time of the targets in " + az + " is far above the other AZs' while they pass health checks: a gray failure of " + az + ". Start an ARC zonal shift away from " + az + " (docs/runbooks.md, \"A gray AZ\").",
				expression:  "IF(" + strings.Join(latCond, " AND ") + ", 1, 0)",
				inputs:      latIn, comparison: "GreaterThanOrEqualToThreshold", threshold: pulumi.Float64(1),
				missing: missingNotBreaching,
			})
	}
	return specs
}

func fillAll(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = "FILL(" + id + ", 0)"
	}
	return out
}

// newAlarms creates the metric alarms; each alarms and clears through the
// topics of its route. It returns them by name for the composite alarm to
// depend on.
func newAlarms(ctx *pulumi.Context, kids naming.Children, specs []alarmSpec, t topics, parent pulumi.ResourceOption) (map[string]pulumi.Resource, error) {
	created := map[string]pulumi.Resource{}
	for _, s := range specs {
		actions := t.actions(s.route)
		a := &cloudwatch.MetricAlarmArgs{
			Name:               pulumi.String(s.name),
			AlarmDescription:   pulumi.String(s.description),
			ComparisonOperator: pulumi.String(s.comparison),
			Threshold:          s.threshold,
			EvaluationPeriods:  pulumi.Int(s.evaluation),
			DatapointsToAlarm:  pulumi.Int(s.datapoints),
			TreatMissingData:   pulumi.String(s.missing),
			ActionsEnabled:     pulumi.Bool(true),
			AlarmActions:       actions,
			OkActions:          actions,
		}
		if s.single != nil {
			a.Namespace, a.MetricName, a.Dimensions = pulumi.String(s.single.namespace), pulumi.String(s.single.name), s.single.dims
			a.Period = pulumi.Int(s.period)
			if strings.HasPrefix(s.single.stat, "p") {
				a.ExtendedStatistic = pulumi.String(s.single.stat)
				// Too few requests for a percentile say nothing about latency.
				a.EvaluateLowSampleCountPercentiles = pulumi.String("ignore")
			} else {
				a.Statistic = pulumi.String(s.single.stat)
			}
		} else {
			queries := cloudwatch.MetricAlarmMetricQueryArray{&cloudwatch.MetricAlarmMetricQueryArgs{
				Id: pulumi.String("e1"), Expression: pulumi.String(s.expression), Label: pulumi.String(s.key), ReturnData: pulumi.Bool(true),
			}}
			for _, id := range sortedKeys(s.inputs) {
				in := s.inputs[id]
				queries = append(queries, &cloudwatch.MetricAlarmMetricQueryArgs{
					Id: pulumi.String(id), ReturnData: pulumi.Bool(false),
					Metric: &cloudwatch.MetricAlarmMetricQueryMetricArgs{
						Namespace: pulumi.String(in.namespace), MetricName: pulumi.String(in.name),
						Dimensions: in.dims, Stat: pulumi.String(in.stat), Period: pulumi.Int(s.period),
					},
				})
			}
			a.MetricQueries = queries
		}
		alarm, err := cloudwatch.NewMetricAlarm(ctx, kids.Name("alarm-"+s.key), a, parent)
		if err != nil {
			return nil, fmt.Errorf("create alarm %s: %w", s.name, err)
		}
		created[s.name] = alarm
	}
	return created, nil
}

// CompositeRule is the "customer-facing service degraded" rule: any of the
// named alarms in ALARM.
func CompositeRule(names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("ALARM(%q)", n)
	}
	return strings.Join(parts, " OR ")
}

// newComposite creates the composite alarm over the degraded alarms. The
// rule names its members literally; a rule takes alarms "that you have
// created", and an alarm a composite rule names cannot be deleted while
// the composite exists (CloudWatch API Reference, PutCompositeAlarm). So
// the composite depends on its members: created after them, deleted
// before them.
func newComposite(ctx *pulumi.Context, kids naming.Children, name string, specs []alarmSpec, alarms map[string]pulumi.Resource,
	suppressor *cloudwatch.MetricAlarm, t topics, parent pulumi.ResourceOption) (*cloudwatch.CompositeAlarm, error) {
	var names []string
	var members []pulumi.Resource
	for _, s := range specs {
		if s.degraded {
			a, ok := alarms[s.name]
			if !ok {
				return nil, fmt.Errorf("composite alarm %s: member alarm %s was not created", name, s.name)
			}
			names = append(names, s.name)
			members = append(members, a)
		}
	}
	// Both paging topics: the page survives the loss of either one's key.
	actions := pulumi.StringArray{t.page, t.backstop}
	c, err := cloudwatch.NewCompositeAlarm(ctx, kids.Name("degraded"), &cloudwatch.CompositeAlarmArgs{
		AlarmName: pulumi.String(name),
		AlarmDescription: pulumi.String("Customers are affected: the canary's journey fails, Route 53 cannot reach /healthz, the ALB answers 5xx, or p99 latency is high. " +
			"This alarm alone pages; EventBridge starts the service recovery runbook on its ALARM unless a maintenance window suppresses it."),
		AlarmRule:      pulumi.String(CompositeRule(names)),
		ActionsEnabled: pulumi.Bool(true),
		AlarmActions:   actions,
		OkActions:      actions,
		// During a maintenance window or a drill the suppressor alarm is in
		// ALARM: the composite still changes state (so FIS stop conditions
		// and dashboards see it) but does not page, and its state change
		// event carries actionsSuppressedBy, which the recovery rule skips.
		ActionsSuppressor: &cloudwatch.CompositeAlarmActionsSuppressorArgs{
			Alarm:           suppressor.Name,
			WaitPeriod:      pulumi.Int(SuppressorWaitSeconds),
			ExtensionPeriod: pulumi.Int(SuppressorExtensionSeconds),
		},
	}, parent, pulumi.DependsOn(append(members, suppressor)))
	if err != nil {
		return nil, fmt.Errorf("create composite alarm %s: %w", name, err)
	}
	return c, nil
}

// Maintenance window: the composite's actions suppressor.
const (
	// MaintenanceNamespace and MaintenanceMetric are the metric operators
	// publish (value 1, every minute, dimension Stack=<suffix>) while a
	// deployment window or a drill must not page or start recovery
	// (docs/operations.md, docs/gameday.md).
	MaintenanceNamespace = "TradingHA/Operations"
	MaintenanceMetric    = "MaintenanceWindow"
	// SuppressorWaitSeconds is how long the composite, entering ALARM while
	// the suppressor is OK, waits for the suppressor to reach ALARM before it
	// pages (PutCompositeAlarm ActionsSuppressorWaitPeriod; the composite's
	// state change event carries actionsSuppressedBy=WaitPeriod until then,
	// and the recovery rule matches the follow-up event without it). Every
	// real page pays it, so it is the shortest that covers the suppressor's
	// own 60 s evaluation (and CDK's default): proof/resilience adds it
	// to every paging path.
	SuppressorWaitSeconds = 60
	// SuppressorExtensionSeconds keeps actions suppressed after the window
	// closes, while the platform settles (ActionsSuppressorExtensionPeriod).
	SuppressorExtensionSeconds = 300
)

// newMaintenanceAlarm creates the suppressor: in ALARM while the
// maintenance metric is published with value 1, OK within a minute of the
// last datapoint (missing data is not breaching), so a forgotten window
// closes by itself. It has no actions.
func newMaintenanceAlarm(ctx *pulumi.Context, kids naming.Children, args Args, parent pulumi.ResourceOption) (*cloudwatch.MetricAlarm, error) {
	name := args.Names.Member(naming.Alarm, "maintenance")
	a, err := cloudwatch.NewMetricAlarm(ctx, kids.Name("alarm-maintenance"), &cloudwatch.MetricAlarmArgs{
		Name:               pulumi.String(name),
		AlarmDescription:   pulumi.String("A maintenance window or drill is open (metric " + MaintenanceNamespace + "/" + MaintenanceMetric + "): the customer-impact composite does not page and recovery does not start."),
		Namespace:          pulumi.String(MaintenanceNamespace),
		MetricName:         pulumi.String(MaintenanceMetric),
		Dimensions:         pulumi.StringMap{"Stack": pulumi.String(args.Names.Suffix())},
		Statistic:          pulumi.String("Maximum"),
		Period:             pulumi.Int(60),
		EvaluationPeriods:  pulumi.Int(1),
		DatapointsToAlarm:  pulumi.Int(1),
		ComparisonOperator: pulumi.String("GreaterThanOrEqualToThreshold"),
		Threshold:          pulumi.Float64(1),
		TreatMissingData:   pulumi.String(missingNotBreaching),
		ActionsEnabled:     pulumi.Bool(false),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create maintenance alarm %s: %w", name, err)
	}
	return a, nil
}

// CustomerImpactAlarmKeys are the keys of the metric alarms that mean
// customer impact: the composite's members (alarmSpecs marks exactly these
// degraded; New fails otherwise). Their names are known at program time, so
// the runbooks can name them.
var CustomerImpactAlarmKeys = []string{"canary-success", "r53-health", "alb-5xx-rate", "p99-latency"}

// CustomerImpactAlarmNames returns the names of the customer-impact metric
// alarms (alarm-<key>-<suffix>), in CustomerImpactAlarmKeys order.
func CustomerImpactAlarmNames(names naming.Namer) []string {
	out := make([]string, len(CustomerImpactAlarmKeys))
	for i, k := range CustomerImpactAlarmKeys {
		out[i] = names.Member(naming.Alarm, k)
	}
	return out
}

// DependencyAlarmNames returns the names of the alarms that mean a shared
// dependency of the service is failing — DynamoDB throttling and system
// errors on each table key (alarmSpecs, "ddb-<table>-throttles" and
// "ddb-<table>-system-errors"). A new task definition cannot fix these.
func DependencyAlarmNames(names naming.Namer, tableKeys []string) []string {
	var out []string
	for _, t := range tableKeys {
		out = append(out, names.Member(naming.Alarm, "ddb-"+t+"-throttles"), names.Member(naming.Alarm, "ddb-"+t+"-system-errors"))
	}
	return out
}

// ZonalAlarmNames returns the names of the per-AZ healthy-host alarms
// (alarmSpecs, "healthy-hosts-<az>"), in zone order.
func ZonalAlarmNames(names naming.Namer, zones []string) []string {
	out := make([]string, len(zones))
	for i, az := range zones {
		out[i] = names.Member(naming.Alarm, "healthy-hosts-"+az)
	}
	return out
}

// checkNamedAlarms holds the exported name lists equal to the specs: the
// customer-impact names to the degraded specs, and every dependency and
// zonal name to an alarm that is created.
func checkNamedAlarms(args Args, specs []alarmSpec) error {
	var degraded []string
	created := map[string]bool{}
	for _, s := range specs {
		created[s.name] = true
		if s.degraded {
			degraded = append(degraded, s.name)
		}
	}
	if want := CustomerImpactAlarmNames(args.Names); !slices.Equal(degraded, want) {
		return fmt.Errorf("monitoring: customer-impact alarms %v differ from CustomerImpactAlarmNames %v", degraded, want)
	}
	var keys []string
	for _, t := range args.Tables {
		keys = append(keys, t.Key)
	}
	for _, n := range append(DependencyAlarmNames(args.Names, keys), ZonalAlarmNames(args.Names, args.Shared.AvailabilityZones)...) {
		if !created[n] {
			return fmt.Errorf("monitoring: alarm %s is named for the runbooks but not created", n)
		}
	}
	return nil
}

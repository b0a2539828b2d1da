package service

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/naming"
)

// DeploymentGateKeys are the alarms a deployment of the service must not
// trip: the share of 5xx answers of the service's own target group and
// its p99 response time, at monitoring's thresholds (alarmAlb5xxRatePercent,
// alarmP99LatencyMs) and evaluation (alarmPeriodSeconds, M of N). ECS
// fails a deployment when one of them moves to ALARM during the deployment
// or its bake time, which ECS derives from the alarms' own evaluation
// settings, and rolls it back to the last completed deployment (ECS API
// Reference, ServiceDeploymentAlarms; Amazon ECS Developer Guide, "How
// CloudWatch alarms detect Amazon ECS deployment failures").
//
// They are the service's own, created before the ECS service that names
// them, and they have no actions: ECS reads their state, and the
// customer-impact composite (infra/monitoring) pages. Missing data is not
// breaching: a first deployment has no traffic yet and no completed
// deployment to roll back to, so an alarm that breached on silence would
// fail it.
var DeploymentGateKeys = []string{"deploy-5xx-rate", "deploy-p99"}

// deploymentGates creates the gate alarms, which the ECS service names
// and waits for.
func (b *builder) deploymentGates() error {
	mon := b.args.Gates
	dims := pulumi.StringMap{"LoadBalancer": b.s.ALBArnSuffix, "TargetGroup": b.s.TargetGroupArnSuffix}
	tg := func(name, stat string) *cloudwatch.MetricAlarmMetricQueryMetricArgs {
		return &cloudwatch.MetricAlarmMetricQueryMetricArgs{
			Namespace: pulumi.String("AWS/ApplicationELB"), MetricName: pulumi.String(name), Stat: pulumi.String(stat),
			Period:     pulumi.Int(mon.AlarmPeriodSeconds),
			Dimensions: dims,
		}
	}
	gates := []struct {
		key  string
		args cloudwatch.MetricAlarmArgs
	}{
		{DeploymentGateKeys[0], cloudwatch.MetricAlarmArgs{
			AlarmDescription: pulumi.String("Deployment gate: the service's tasks answer more than the configured share of requests with 5xx. ECS rolls back a deployment that trips it."),
			Threshold:        pulumi.Float64(float64(mon.ALB5xxRatePercent)),
			MetricQueries: cloudwatch.MetricAlarmMetricQueryArray{
				&cloudwatch.MetricAlarmMetricQueryArgs{Id: pulumi.String("e1"), Expression: pulumi.String("100 * FILL(t5xx, 0) / requests"), Label: pulumi.String("target 5xx %"), ReturnData: pulumi.Bool(true)},
				&cloudwatch.MetricAlarmMetricQueryArgs{Id: pulumi.String("requests"), Metric: tg("RequestCount", "Sum"), ReturnData: pulumi.Bool(false)},
				&cloudwatch.MetricAlarmMetricQueryArgs{Id: pulumi.String("t5xx"), Metric: tg("HTTPCode_Target_5XX_Count", "Sum"), ReturnData: pulumi.Bool(false)},
			},
		}},
		{DeploymentGateKeys[1], cloudwatch.MetricAlarmArgs{
			AlarmDescription: pulumi.String("Deployment gate: the service's p99 response time exceeds the configured bound. ECS rolls back a deployment that trips it."),
			Threshold:        pulumi.Float64(float64(mon.P99LatencyMs) / 1000),
			Namespace:        pulumi.String("AWS/ApplicationELB"), MetricName: pulumi.String("TargetResponseTime"),
			Dimensions: dims, Period: pulumi.Int(mon.AlarmPeriodSeconds),
			ExtendedStatistic: pulumi.String("p99"),
			// Too few requests for a percentile say nothing about latency.
			EvaluateLowSampleCountPercentiles: pulumi.String("ignore"),
		}},
	}
	for _, g := range gates {
		name := b.args.Names.Member(naming.Alarm, g.key)
		a := g.args
		a.Name = pulumi.String(name)
		a.ComparisonOperator = pulumi.String("GreaterThanThreshold")
		a.EvaluationPeriods = pulumi.Int(mon.AlarmEvaluationPeriods)
		a.DatapointsToAlarm = pulumi.Int(mon.AlarmDatapointsToAlarm)
		a.TreatMissingData = pulumi.String("notBreaching")
		alarm, err := cloudwatch.NewMetricAlarm(b.ctx, b.kids.Name("alarm-"+g.key), &a, b.parent)
		if err != nil {
			return fmt.Errorf("create deployment gate %s: %w", name, err)
		}
		b.gates = append(b.gates, alarm)
		b.gateNames = append(b.gateNames, name)
	}
	return nil
}

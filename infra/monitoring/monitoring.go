// Package monitoring owns what watches the platform and pages: the
// KMS-encrypted SNS alarm topic, the API canary (CloudWatch Synthetics, script
// in infra/monitoring/canary), the metric alarms per tier, the composite
// "customer-facing service degraded" alarm, and the golden-signals dashboard.
//
// It never imports another component: the composition root hands it the ALB,
// ECS, Aurora, DynamoDB, Route 53 and Step Functions identifiers through Args.
package monitoring

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/naming"
)

// Args configures monitoring.
type Args struct {
	Names     naming.Namer
	Config    *config.Config
	AccountID string
	// TelemetryKeyArn encrypts the topic and the canary artifacts.
	TelemetryKeyArn pulumi.StringInput
	// LogsBucket and LogsBucketArn hold the canary code and artifacts.
	LogsBucket    pulumi.StringInput
	LogsBucketArn pulumi.StringInput
	// ArtifactsPrefix and CodePrefix are the canary's prefixes in the logs
	// bucket (no slashes at either end).
	ArtifactsPrefix string
	CodePrefix      string

	Endpoint      Endpoint
	LoadBalancer  LoadBalancer
	Service       Service
	Database      Database
	Tables        []Table
	StateMachines []StateMachine
}

// Endpoint is the public endpoint as the dns component probes it.
type Endpoint struct {
	// TargetURL is the canary's TARGET_URL (https://<app FQDN or ALB name>).
	TargetURL pulumi.StringInput
	// TLSInsecure makes the canary accept the self-signed fallback certificate.
	TLSInsecure bool
	// HealthCheckID is the Route 53 health check of the endpoint.
	HealthCheckID pulumi.StringInput
}

// LoadBalancer is the ALB and its target group.
type LoadBalancer struct {
	// ArnSuffix is the ALB's "app/<name>/<id>", the LoadBalancer dimension.
	ArnSuffix pulumi.StringInput
	// TargetGroupArnSuffix is "targetgroup/<name>/<id>", the TargetGroup dimension.
	TargetGroupArnSuffix pulumi.StringInput
}

// Service is the ECS service.
type Service struct {
	ClusterName  pulumi.StringInput
	ServiceName  pulumi.StringInput
	DesiredCount pulumi.IntInput
}

// Database is the Aurora cluster.
type Database struct {
	ClusterIdentifier pulumi.StringInput
	// InstanceIdentifiers are every instance; any of them can be the writer
	// after a failover, so every alarm is per instance.
	InstanceIdentifiers []string
}

// Table is a DynamoDB table to alarm on; Key names its alarms.
type Table struct {
	Key  string
	Name pulumi.StringInput
}

// StateMachine is a runbook (or scheduled job) whose failed executions page.
type StateMachine struct {
	// Kind is the naming kind the state machine's name comes from.
	Kind naming.Kind
	Arn  pulumi.StringInput
}

// Monitoring is the component.
type Monitoring struct {
	pulumi.ResourceState

	// TopicArn is the SNS topic every alarm pages through.
	TopicArn pulumi.StringOutput
	// CompositeAlarmName and CompositeAlarmArn are "customer-facing service degraded".
	CompositeAlarmName string
	CompositeAlarmArn  pulumi.StringOutput
	// AlarmNames are the metric alarms' names, in creation order.
	AlarmNames []string
	// CanaryName is the API canary.
	CanaryName string
	// DashboardName and DashboardURL locate the golden-signals dashboard.
	DashboardName string
	DashboardURL  string
	// Detection holds the numbers the resilience report computes detection from.
	Detection Detection
}

// New creates the topic, canary, alarms and dashboard.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Monitoring, error) {
	m := &Monitoring{}
	if err := ctx.RegisterComponentResource("trading:monitoring:Monitoring", name, m, opts...); err != nil {
		return nil, fmt.Errorf("register monitoring component: %w", err)
	}
	parent := pulumi.Parent(m)

	topic, err := newTopic(ctx, args, parent)
	if err != nil {
		return nil, err
	}
	m.TopicArn = topic

	m.CanaryName = args.Names.Name(naming.Canary)
	if err := newCanary(ctx, args, m.CanaryName, parent); err != nil {
		return nil, err
	}

	specs := alarmSpecs(args, m.CanaryName)
	alarms, err := newAlarms(ctx, specs, topic, parent)
	if err != nil {
		return nil, err
	}
	m.Detection = detection(args.Config, specs)
	for _, s := range specs {
		m.AlarmNames = append(m.AlarmNames, s.name)
	}

	m.CompositeAlarmName = args.Names.Name(naming.CompositeAlarm)
	if m.CompositeAlarmArn, err = newComposite(ctx, m.CompositeAlarmName, specs, alarms, topic, parent); err != nil {
		return nil, err
	}

	m.DashboardName = args.Names.Name(naming.Dashboard)
	m.DashboardURL = DashboardURL(args.Config.Region, m.DashboardName)
	if err := newDashboard(ctx, args, m.DashboardName, m.CanaryName, parent); err != nil {
		return nil, err
	}

	if err := ctx.RegisterResourceOutputs(m, pulumi.Map{
		"topicArn": m.TopicArn, "compositeAlarmName": pulumi.String(m.CompositeAlarmName),
		"compositeAlarmArn": m.CompositeAlarmArn, "alarmNames": pulumi.ToStringArray(m.AlarmNames),
		"canaryName": pulumi.String(m.CanaryName), "dashboardName": pulumi.String(m.DashboardName),
	}); err != nil {
		return nil, fmt.Errorf("register monitoring outputs: %w", err)
	}
	return m, nil
}

// DashboardURL is the console address of a dashboard.
func DashboardURL(region, name string) string {
	return fmt.Sprintf("https://%s.console.aws.amazon.com/cloudwatch/home?region=%s#dashboards:name=%s", region, region, name)
}

// alarmPublishers are the services allowed to publish to the topic: alarms,
// EventBridge rules and AWS Backup notifications.
var alarmPublishers = []string{"cloudwatch.amazonaws.com", "events.amazonaws.com", "backup.amazonaws.com"}

// newTopic creates the KMS-encrypted alarm topic, its policy and the optional
// email subscription.
func newTopic(ctx *pulumi.Context, args Args, parent pulumi.ResourceOption) (pulumi.StringOutput, error) {
	topic, err := sns.NewTopic(ctx, "alarms", &sns.TopicArgs{
		Name:           pulumi.String(args.Names.Name(naming.AlarmTopic)),
		KmsMasterKeyId: args.TelemetryKeyArn,
	}, parent)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("create alarm topic: %w", err)
	}
	doc := topic.Arn.ApplyT(func(arn string) (string, error) {
		return iamdoc.New(
			iamdoc.DenyInsecureTransport([]string{"sns:*"}, []string{arn}),
			iamdoc.Statement{
				Sid: "AlarmPublishers", Effect: "Allow",
				Principal: map[string]any{"Service": alarmPublishers},
				Action:    []string{"sns:Publish"},
				Resource:  []string{arn},
				Condition: map[string]map[string]any{"StringEquals": {"aws:SourceAccount": args.AccountID}},
			},
		).JSON()
	}).(pulumi.StringOutput)
	if _, err := sns.NewTopicPolicy(ctx, "alarms-policy", &sns.TopicPolicyArgs{Arn: topic.Arn, Policy: doc}, parent); err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("attach alarm topic policy: %w", err)
	}
	if email := args.Config.Monitoring.AlarmEmail; email != "" {
		if _, err := sns.NewTopicSubscription(ctx, "alarms-email", &sns.TopicSubscriptionArgs{
			Topic: topic.Arn, Protocol: pulumi.String("email"), Endpoint: pulumi.String(email),
		}, parent); err != nil {
			return pulumi.StringOutput{}, fmt.Errorf("subscribe %s to the alarm topic: %w", email, err)
		}
	}
	return topic.Arn, nil
}

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
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	awsarn "github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/naming"
)

// Args configures monitoring.
type Args struct {
	Names naming.Namer
	// Shared are the stack-wide settings (region, zones, deletion protection, log retention).
	Shared config.Shared
	// Monitoring is the monitoring section: paging, budget, canary and alarm thresholds.
	Monitoring config.Monitoring
	AccountID  string
	// TelemetryKeyArn encrypts the topic and the canary artifacts;
	// TelemetryKey is the same key as identity policies name it (by
	// alias, iamdoc.Key).
	TelemetryKeyArn pulumi.StringInput
	TelemetryKey    iamdoc.Key
	// PagingKeyArn encrypts the backstop paging topic and nothing else.
	PagingKeyArn pulumi.StringInput
	// LogsBucket and LogsBucketArn hold the canary code and artifacts;
	// the ARN is the one the bucket's name gives (infra/arn), known at
	// program time (an IAM Resource element is matched at request time,
	// so the canary's policy need not wait for the bucket).
	LogsBucket    pulumi.StringInput
	LogsBucketArn string
	// ArtifactsPrefix and CodePrefix are the canary's prefixes in the logs
	// bucket (no slashes at either end).
	ArtifactsPrefix string
	CodePrefix      string

	Endpoint      Endpoint
	Probe         Probe
	LoadBalancer  LoadBalancer
	Service       Service
	Database      Database
	Tables        []Table
	StateMachines []StateMachine
	// DeadLetterQueues are the names of every dead-letter queue of the
	// stack (the scheduler's, created here, is added); each gets a depth
	// alarm.
	DeadLetterQueues []string
	// EventRules are every EventBridge rule; each gets a failed-delivery alarm.
	EventRules []EventRule
}

// Endpoint is the public endpoint as the dns component probes it.
type Endpoint struct {
	// TargetURL is the canary's TARGET_URL (https://<app FQDN or ALB name>).
	TargetURL pulumi.StringInput
	// TLSInsecure makes the canary accept the self-signed fallback certificate.
	TLSInsecure bool
	// HealthCheckID is the Route 53 health check of the endpoint.
	HealthCheckID pulumi.StringInput
	// CertificateArn is the HTTPS listener's certificate, watched for expiry.
	CertificateArn pulumi.StringInput
}

// Probe is the canary's identity: its Cognito client and where its secret is.
type Probe struct {
	// TokenURL is the OAuth2 token endpoint; ClientID the canary's client.
	TokenURL pulumi.StringInput
	ClientID pulumi.StringInput
	// SecretParameter is the full name of the SecureString holding the
	// client secret; the canary's policy names it by the ARN its name
	// gives (infra/arn) and waits for SecretParameterResource, so the
	// canary does too. DataKey encrypts it (named by alias, iamdoc.Key).
	SecretParameter         string
	SecretParameterResource pulumi.Resource
	DataKey                 iamdoc.Key
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
	// FailedPeriods is how many consecutive alarm periods must each have a
	// failed execution before the alarm fires; 0 means 1 (a runbook's
	// single failure needs a human). A job scheduled every minute that
	// retries on its next run (the key sync) waits for a few.
	FailedPeriods int
	// Description replaces the alarm's default description.
	Description string
}

// Known are identities of the monitoring tier that naming fixes: the
// documents later tiers build from them (runbook definitions and roles,
// vault notifications) stay known at the first preview, which the
// resources' outputs are not.
type Known struct {
	// SchedulerDLQName is the schedules' dead-letter queue.
	SchedulerDLQName string
	// NotifyTopicName and NotifyTopicArn are the notify topic;
	// PageTopicArn the paging topic.
	NotifyTopicName, NotifyTopicArn, PageTopicArn string
}

// Monitoring is the component.
type Monitoring struct {
	pulumi.ResourceState

	// TopicArn is the paging topic, under the telemetry key;
	// BackstopTopicArn is the backstop paging topic, under the paging key.
	// Every page goes to both: the customer-impact composite, the alarms
	// no automation can answer and the KMS key-state rule.
	TopicArn         pulumi.StringOutput
	BackstopTopicArn pulumi.StringOutput
	// NotifyTopicArn is the notification topic: component alarms,
	// operational events, backup notifications and runbook reports.
	NotifyTopicArn pulumi.StringOutput
	// CompositeAlarmName and CompositeAlarmArn are the customer-impact
	// composite ("customers affected"), the one alarm that pages.
	CompositeAlarmName string
	CompositeAlarmArn  pulumi.StringOutput
	// MaintenanceAlarmName suppresses the composite's actions during a
	// maintenance window or drill.
	MaintenanceAlarmName string
	// BeforeTraffic are the resources that must exist before DNS routes
	// customers: the canary, the paging composite and its members.
	BeforeTraffic []pulumi.Resource
	// SchedulerDLQArn is the dead-letter queue of every schedule.
	SchedulerDLQArn pulumi.StringOutput
	// Known are the queue's and topics' identities at program time.
	Known Known
	// AlarmNames are the metric alarms' names, in creation order.
	AlarmNames []string
	// CanaryName is the API canary.
	CanaryName string
	// DashboardName and DashboardURL locate the golden-signals dashboard.
	DashboardName string
	DashboardURL  string
}

// New creates the topic, canary, alarms and dashboard.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Monitoring, error) {
	m := &Monitoring{Known: Known{
		SchedulerDLQName: args.Names.Name(naming.SchedulerDLQ),
		NotifyTopicName:  args.Names.Name(naming.NotifyTopic),
		NotifyTopicArn:   topicArn(args, naming.NotifyTopic),
		PageTopicArn:     topicArn(args, naming.AlarmTopic),
	}}
	if err := ctx.RegisterComponentResource("trading:monitoring:Monitoring", name, m, opts...); err != nil {
		return nil, fmt.Errorf("register monitoring component: %w", err)
	}
	parent := pulumi.Parent(m)
	// Children are named from the component (naming.ChildrenOf).
	kids := naming.ChildrenOf(name)

	cfg := args.Monitoring
	page, err := newTopic(ctx, kids, args, "alarms", naming.AlarmTopic, args.TelemetryKeyArn, cfg.PageEmails, cfg.PageHTTPSEndpoint, parent)
	if err != nil {
		return nil, err
	}
	backstop, err := newTopic(ctx, kids, args, "alarms-backstop", naming.PageBackstopTopic, args.PagingKeyArn, cfg.PageEmails, cfg.PageHTTPSEndpoint, parent)
	if err != nil {
		return nil, err
	}
	notify, err := newTopic(ctx, kids, args, "notify", naming.NotifyTopic, args.TelemetryKeyArn, cfg.NotifyEmails, "", parent)
	if err != nil {
		return nil, err
	}
	m.TopicArn, m.BackstopTopicArn, m.NotifyTopicArn = page, backstop, notify
	routes := topics{page: page, backstop: backstop, notify: notify}
	if err := newKeyStateRule(ctx, kids, args, routes, parent); err != nil {
		return nil, err
	}
	if err := newRiskParamsRule(ctx, kids, args, routes, parent); err != nil {
		return nil, err
	}
	if err := newBudget(ctx, kids, args, parent); err != nil {
		return nil, err
	}

	m.CanaryName = args.Names.Name(naming.Canary)
	canary, err := newCanary(ctx, kids, args, m.CanaryName, parent)
	if err != nil {
		return nil, err
	}

	schedDLQ, err := newSchedulerDLQ(ctx, kids, args, m.Known.SchedulerDLQName, parent)
	if err != nil {
		return nil, err
	}
	m.SchedulerDLQArn = schedDLQ.Arn

	args.EventRules = append(slices.Clone(args.EventRules), EventRule{Name: args.Names.Name(naming.RuleKMSKeyState)}, EventRule{Name: args.Names.Name(naming.RuleRiskParams)})
	specs := append(alarmSpecs(args, m.CanaryName), deliverySpecs(args, m.Known.SchedulerDLQName)...)
	specs = append(specs, named(args, append(certificateSpecs(args), topicFailureSpecs(args)...))...)
	if err := checkNamedAlarms(args, specs); err != nil {
		return nil, err
	}
	alarms, err := newAlarms(ctx, kids, specs, routes, parent)
	if err != nil {
		return nil, err
	}
	for _, s := range specs {
		m.AlarmNames = append(m.AlarmNames, s.name)
	}

	suppressor, err := newMaintenanceAlarm(ctx, kids, args, parent)
	if err != nil {
		return nil, err
	}
	m.MaintenanceAlarmName = args.Names.Member(naming.Alarm, "maintenance")
	m.CompositeAlarmName = args.Names.Name(naming.CompositeAlarm)
	composite, err := newComposite(ctx, kids, m.CompositeAlarmName, specs, alarms, suppressor, routes, parent)
	if err != nil {
		return nil, err
	}
	m.CompositeAlarmArn = composite.Arn
	m.BeforeTraffic = []pulumi.Resource{canary, composite}
	for _, s := range specs {
		if s.degraded {
			m.BeforeTraffic = append(m.BeforeTraffic, alarms[s.name])
		}
	}

	m.DashboardName = args.Names.Name(naming.Dashboard)
	m.DashboardURL = DashboardURL(args.Shared.Region, m.DashboardName)
	if err := newDashboard(ctx, kids, args, m.DashboardName, m.CanaryName, parent); err != nil {
		return nil, err
	}

	if err := ctx.RegisterResourceOutputs(m, pulumi.Map{
		"topicArn": m.TopicArn, "backstopTopicArn": m.BackstopTopicArn, "notifyTopicArn": m.NotifyTopicArn, "compositeAlarmName": pulumi.String(m.CompositeAlarmName),
		"schedulerDlqArn":   m.SchedulerDLQArn,
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

// topicArn is the ARN of the stack's topic of kind, which its name fixes.
func topicArn(args Args, kind naming.Kind) string {
	return awsarn.In(args.Shared.Region, args.AccountID).Topic(args.Names.Name(kind))
}

// newTopic creates a topic encrypted with key, its policy (TLS only; our
// alarms, rules and vault may publish) and its subscriptions: email
// addresses and an optional HTTPS endpoint (a paging service). Email
// subscriptions stay PendingConfirmation until the address confirms
// (docs/operations.md).
func newTopic(ctx *pulumi.Context, kids naming.Children, args Args, logical string, kind naming.Kind, key pulumi.StringInput, emails []string, https string, parent pulumi.ResourceOption) (pulumi.StringOutput, error) {
	topic, err := sns.NewTopic(ctx, kids.Name(logical), &sns.TopicArgs{
		Name:           pulumi.String(args.Names.Name(kind)),
		KmsMasterKeyId: key,
	}, parent)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("create %s topic: %w", logical, err)
	}
	// The topic's ARN follows from its name, so the policy is a plain
	// string at preview; the policy resource names the topic through its
	// output and so waits for it.
	arn := topicArn(args, kind)
	doc, err := iamdoc.New(
		iamdoc.DenyInsecureTransport([]string{"sns:*"}, []string{arn}),
		iamdoc.Statement{
			Sid: "AlarmPublishers", Effect: "Allow",
			Principal: map[string]any{"Service": alarmPublishers},
			Action:    []string{"sns:Publish"},
			Resource:  []string{arn},
			Condition: map[string]map[string]any{"StringEquals": {"aws:SourceAccount": args.AccountID}},
		},
	).JSON()
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("%s topic policy: %w", logical, err)
	}
	if _, err := sns.NewTopicPolicy(ctx, kids.Name(logical+"-policy"), &sns.TopicPolicyArgs{Arn: topic.Arn, Policy: pulumi.String(doc)}, parent); err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("attach %s topic policy: %w", logical, err)
	}
	for _, email := range emails {
		// Keyed by the address, so removing one address does not move the
		// others (a moved subscription is deleted and re-created, and the
		// address must confirm again).
		if _, err := sns.NewTopicSubscription(ctx, kids.Name(logical+"-email-"+email), &sns.TopicSubscriptionArgs{
			Topic: topic.Arn, Protocol: pulumi.String("email"), Endpoint: pulumi.String(email),
		}, parent); err != nil {
			return pulumi.StringOutput{}, fmt.Errorf("subscribe %s to the %s topic: %w", email, logical, err)
		}
	}
	if https != "" {
		if _, err := sns.NewTopicSubscription(ctx, kids.Name(logical+"-https"), &sns.TopicSubscriptionArgs{
			// The URL carries the paging service's integration key: secret
			// in the state and in every preview.
			Topic: topic.Arn, Protocol: pulumi.String("https"), Endpoint: pulumi.ToSecret(pulumi.String(https)).(pulumi.StringOutput),
			// Paging services' SNS integrations confirm the subscription
			// themselves; the provider then waits for the confirmation.
			EndpointAutoConfirms: pulumi.Bool(true),
		}, parent); err != nil {
			return pulumi.StringOutput{}, fmt.Errorf("subscribe %s to the %s topic: %w", https, logical, err)
		}
	}
	return topic.Arn, nil
}

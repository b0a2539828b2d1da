// Package events owns the EventBridge side of the platform: the custom bus
// the trading service publishes OrderPlaced events to (resource policy,
// archive and audit log of every event, consumer queue of real orders), and the default-bus rules that
// turn AWS operational events about our resources (Aurora failover, backup
// job failures, ECS deployment failures and task crashes, the composite
// alarm) into pages and runbook executions. Every target retries with a
// bounded policy and dead-letters into an SQS queue.
package events

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	awsarn "github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/naming"
)

// The application's events (CONTRACT.md).
const (
	OrdersSource     = "trading.orders"
	OrderPlacedType  = "OrderPlaced"
	dlqRetentionSecs = 1209600 // 14 days, the SQS maximum: time to inspect and redrive
)

// Args configures the component. Every ARN comes from the composition root.
type Args struct {
	Names naming.Namer
	// Shared are the stack-wide settings (region, zones, deletion protection, log retention).
	Shared config.Shared
	// Events is the events section: archive, retries, dead letters.
	Events    config.Events
	AccountID string
	// TelemetryKeyArn encrypts the audit log group and the queues.
	TelemetryKeyArn pulumi.StringInput
	// TaskRoleArn is the only principal allowed to put events on the bus:
	// its name-derived ARN (infra/arn), so the bus policy is a plain string
	// at preview (a condition value; EventBridge does not look it up).
	TaskRoleArn string
	// AlarmTopicArn receives the operational events.
	AlarmTopicArn pulumi.StringInput
	// The rule patterns' scopes are names and name-derived ARNs
	// (infra/arn), so every pattern is known at the first preview. An
	// event pattern only matches events; EventBridge does not look its
	// values up, so a rule needs nothing to exist before it.
	//
	// AuroraClusterArn scopes the RDS failover/failure rule.
	AuroraClusterArn string
	// ECSClusterArn and ECSServiceArn scope the ECS rules; ECSServiceName
	// builds the task group "service:<name>".
	ECSClusterArn, ECSServiceArn, ECSServiceName string
	// BackupVaultName scopes the backup job failure rule.
	BackupVaultName string
	// CompositeAlarmArn is the alarm whose ALARM state starts recovery.
	CompositeAlarmArn string
	// RecoveryStateMachineArn is the runbook the composite alarm starts.
	RecoveryStateMachineArn pulumi.StringInput
	// HealthCheckStateMachineArn is the health check runbook, also started
	// by the composite alarm so the page comes with a full health report.
	HealthCheckStateMachineArn pulumi.StringInput
}

// RunbookInputPaths and RunbookInputTemplate turn the alarm event into the
// runbooks' input contract ({"requestedBy", "reason"}); <rule> is replaced
// by the rule's name.
var RunbookInputPaths = map[string]string{"alarm": "$.detail.alarmName", "time": "$.time"}

// RunbookInputTemplate is the input transformer template of the runbook targets.
const RunbookInputTemplate = `{"requestedBy":"eventbridge:<rule>","reason":"<alarm> entered ALARM at <time>"}`

// Events is the component and what operators and other tiers use.
type Events struct {
	pulumi.ResourceState

	BusName       pulumi.StringOutput
	BusArn        pulumi.StringOutput
	ArchiveArn    pulumi.StringOutput
	QueueURL      pulumi.StringOutput
	QueueArn      pulumi.StringOutput
	DLQArn        pulumi.StringOutput
	AuditLogGroup pulumi.StringOutput
}

// Pattern is an EventBridge event pattern as a Go value.
type Pattern map[string]any

// Rule names an EventBridge rule and its bus ("" is the default bus).
type Rule struct {
	Name, Bus string
}

// operationalRules are the default-bus rules' kinds, in creation order.
var operationalRules = []naming.Kind{
	naming.RuleAurora, naming.RuleBackupFailed, naming.RuleRestoreFailed, naming.RuleCopyFailed,
	naming.RuleECSDeploy, naming.RuleECSTaskStopped, naming.RuleDegraded,
}

// RuleNames are every rule the component creates, so monitoring can alarm
// on their failed deliveries before the rules exist (metric dimensions are
// names, not references); TestDeliveryFailureAlarms (tests/monitoring_test.go)
// holds it to the recorded rules in both directions.
func RuleNames(names naming.Namer) []Rule {
	bus := names.Name(naming.EventBus)
	out := []Rule{{Name: names.Name(naming.RuleOrders), Bus: bus}, {Name: names.Name(naming.RuleOrdersAudit), Bus: bus}}
	for _, k := range operationalRules {
		out = append(out, Rule{Name: names.Name(k)})
	}
	return out
}

// DeadLetterQueueNames are the component's dead-letter queues: the rule
// targets' and the orders consumer's.
func DeadLetterQueueNames(names naming.Namer) []string {
	return []string{names.Name(naming.DeadLetterQueue), names.Name(naming.OrdersDLQ)}
}

// JSON marshals the pattern.
func (p Pattern) JSON() (string, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("marshal event pattern: %w", err)
	}
	return string(b), nil
}

// OrdersPattern matches the trading service's OrderPlaced events of real
// orders: the canary's and the smoke test's synthetic orders (detail
// "synthetic": true, always present in the order JSON, CONTRACT.md) stay
// out of the consumers. Only the consumer rule filters: the audit log and
// the archive take every event (AuditPattern).
func OrdersPattern() Pattern {
	return Pattern{"source": []string{OrdersSource}, "detail-type": []string{OrderPlacedType}, "detail": map[string]any{"synthetic": []bool{false}}}
}

// AuditPattern is what the audit log and the archive keep: every event of
// the trading service, whatever its detail-type, synthetic probes
// included. An audit trail that drops the orders a probe placed cannot
// show what the probe did, and an attacker who marks an order synthetic
// would keep it out of the record; readers who want real orders only
// filter on detail.synthetic themselves.
func AuditPattern() Pattern {
	return Pattern{"source": []string{OrdersSource}}
}

// ArchivePattern is what the archive keeps: the audit log's events
// (AuditPattern). A replay re-delivers them to the bus, where the consumer
// rule still drops the synthetic ones.
func ArchivePattern() Pattern { return AuditPattern() }

// AuroraPattern matches failover and failure events of our cluster. RDS
// puts the cluster ARN in resources[] and in detail.SourceArn; we match the
// envelope's resources.
func AuroraPattern(clusterArn string) Pattern {
	return Pattern{
		"source": []string{"aws.rds"}, "detail-type": []string{"RDS DB Cluster Event"},
		"resources": []string{clusterArn},
		"detail":    map[string]any{"EventCategories": []string{"failover", "failure"}},
	}
}

// BackupFailedPattern matches backup jobs of our vault that did not complete.
func BackupFailedPattern(vaultName string) Pattern {
	return Pattern{
		"source": []string{"aws.backup"}, "detail-type": []string{"Backup Job State Change"},
		"detail": map[string]any{"state": []string{"FAILED", "ABORTED", "EXPIRED"}, "backupVaultName": []string{vaultName}},
	}
}

// RestoreFailedPattern matches restore jobs (the weekly restore test and
// the verification runbook's restores) that failed or were aborted.
// Restore events report "status", backup and copy events "state" (AWS
// Backup Developer Guide, Monitoring AWS Backup events using EventBridge;
// DescribeRestoreJob Status: PENDING | RUNNING | COMPLETED | ABORTED | FAILED).
func RestoreFailedPattern() Pattern {
	return Pattern{
		"source": []string{"aws.backup"}, "detail-type": []string{"Restore Job State Change"},
		"detail": map[string]any{"status": []string{"FAILED", "ABORTED"}},
	}
}

// CopyFailedPattern matches copy jobs out of our vault (the DR copies) that
// failed or copied only part (DescribeCopyJob State: CREATED | RUNNING |
// COMPLETED | FAILED | PARTIAL).
func CopyFailedPattern(vaultArn string) Pattern {
	return Pattern{
		"source": []string{"aws.backup"}, "detail-type": []string{"Copy Job State Change"},
		"detail": map[string]any{"state": []string{"FAILED", "PARTIAL"}, "sourceBackupVaultArn": []string{vaultArn}},
	}
}

// ECSDeployFailedPattern matches failed deployments of our service.
func ECSDeployFailedPattern(serviceArn string) Pattern {
	return Pattern{
		"source": []string{"aws.ecs"}, "detail-type": []string{"ECS Deployment State Change"},
		"resources": []string{serviceArn},
		"detail":    map[string]any{"eventName": []string{"SERVICE_DEPLOYMENT_FAILED"}},
	}
}

// UnexpectedStopCodes are the task stop codes that mean a crash: the
// essential container exited or the task never started. Deployments and
// scale-in (ServiceSchedulerInitiated) and operators (UserInitiated) are
// expected and not paged.
var UnexpectedStopCodes = []string{"EssentialContainerExited", "TaskFailedToStart"}

// ECSTaskStoppedPattern matches our service's tasks stopping unexpectedly.
func ECSTaskStoppedPattern(clusterArn, serviceName string) Pattern {
	return Pattern{
		"source": []string{"aws.ecs"}, "detail-type": []string{"ECS Task State Change"},
		"detail": map[string]any{
			"clusterArn": []string{clusterArn}, "group": []string{"service:" + serviceName},
			"lastStatus": []string{"STOPPED"}, "stopCode": UnexpectedStopCodes,
		},
	}
}

// AlarmPattern matches the composite alarm entering ALARM with its actions
// live. While the maintenance suppressor holds the composite's actions (a
// deployment window or a drill) the state change event carries
// detail.state.actionsSuppressedBy (Amazon CloudWatch User Guide, Alarm
// events and EventBridge: composite alarm with a suppressor alarm), and
// recovery must not fight the window: such events do not match.
func AlarmPattern(alarmArn string) Pattern {
	return Pattern{
		"source": []string{"aws.cloudwatch"}, "detail-type": []string{"CloudWatch Alarm State Change"},
		"resources": []string{alarmArn},
		"detail": map[string]any{"state": map[string]any{
			"value":               []string{"ALARM"},
			"actionsSuppressedBy": []map[string]bool{{"exists": false}},
		}},
	}
}

// New creates the bus, archive, rules and targets.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Events, error) {
	e := &Events{}
	if err := ctx.RegisterComponentResource("trading:events:Events", name, e, opts...); err != nil {
		return nil, fmt.Errorf("register events component: %w", err)
	}
	parent := pulumi.Parent(e)
	// Children are named from the component (naming.ChildrenOf).
	kids := naming.ChildrenOf(name)
	cfg := args.Events
	root := fmt.Sprintf("arn:aws:iam::%s:root", args.AccountID)
	// Documents name the component's resources by their name-derived ARNs
	// (infra/arn), so they are plain strings at preview.
	at := awsarn.In(args.Shared.Region, args.AccountID)

	bus, err := cloudwatch.NewEventBus(ctx, kids.Name("bus"), &cloudwatch.EventBusArgs{
		Name: pulumi.String(args.Names.Name(naming.EventBus)),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create event bus: %w", err)
	}

	// Only our account may put events, and within it only the task role.
	// The Deny covers same-account principals whose identity policies would
	// otherwise suffice; it applies only where aws:PrincipalArn exists, so
	// EventBridge's own replays from the archive are not affected.
	busArn, task := at.EventBus(args.Names.Name(naming.EventBus)), args.TaskRoleArn
	busPolicy, err := iamdoc.New(
		iamdoc.Statement{
			Sid: "TaskRolePutsEvents", Effect: "Allow",
			Principal: map[string]any{"AWS": root},
			Action:    []string{"events:PutEvents"}, Resource: []string{busArn},
			Condition: map[string]map[string]any{"StringEquals": {"aws:PrincipalArn": task, "aws:PrincipalAccount": args.AccountID}},
		},
		iamdoc.Statement{
			Sid: "OnlyTaskRolePutsEvents", Effect: "Deny",
			Principal: map[string]any{"AWS": "*"},
			Action:    []string{"events:PutEvents"}, Resource: []string{busArn},
			Condition: map[string]map[string]any{
				"StringNotEquals": {"aws:PrincipalArn": task},
				"Null":            {"aws:PrincipalArn": "false"},
			},
		},
	).JSON()
	if err != nil {
		return nil, fmt.Errorf("event bus policy: %w", err)
	}
	if _, err := cloudwatch.NewEventBusPolicy(ctx, kids.Name("bus-policy"), &cloudwatch.EventBusPolicyArgs{
		EventBusName: bus.Name, Policy: pulumi.String(busPolicy),
	}, parent); err != nil {
		return nil, fmt.Errorf("attach event bus policy: %w", err)
	}

	archivePattern, err := ArchivePattern().JSON()
	if err != nil {
		return nil, err
	}
	archive, err := cloudwatch.NewEventArchive(ctx, kids.Name("archive"), &cloudwatch.EventArchiveArgs{
		Name:           pulumi.String(args.Names.Name(naming.EventArchive)),
		Description:    pulumi.String("every trading.orders event, synthetic probes included, for audit and replay"),
		EventSourceArn: bus.Arn,
		EventPattern:   pulumi.String(archivePattern),
		RetentionDays:  pulumi.Int(cfg.ArchiveRetentionDays),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create event archive: %w", err)
	}

	// The dead-letter queue of every target, on both buses.
	dlq, err := sqs.NewQueue(ctx, kids.Name("dlq"), &sqs.QueueArgs{
		Name:                    pulumi.String(args.Names.Name(naming.DeadLetterQueue)),
		KmsMasterKeyId:          args.TelemetryKeyArn,
		MessageRetentionSeconds: pulumi.Int(dlqRetentionSecs),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create events dead-letter queue: %w", err)
	}
	retry := &cloudwatch.EventTargetRetryPolicyArgs{
		MaximumRetryAttempts:     pulumi.Int(cfg.TargetRetryAttempts),
		MaximumEventAgeInSeconds: pulumi.Int(cfg.TargetMaxEventAgeSeconds),
	}
	deadLetter := &cloudwatch.EventTargetDeadLetterConfigArgs{Arn: dlq.Arn}

	// --- the application's events on the custom bus ---
	ordersPattern, err := OrdersPattern().JSON()
	if err != nil {
		return nil, err
	}
	orders, err := cloudwatch.NewEventRule(ctx, kids.Name("rule-orders"), &cloudwatch.EventRuleArgs{
		Name:         pulumi.String(args.Names.Name(naming.RuleOrders)),
		Description:  pulumi.String("OrderPlaced events of real orders to the consumer queue"),
		EventBusName: bus.Name,
		EventPattern: pulumi.String(ordersPattern),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create orders rule: %w", err)
	}
	auditPattern, err := AuditPattern().JSON()
	if err != nil {
		return nil, err
	}
	auditRule, err := cloudwatch.NewEventRule(ctx, kids.Name("rule-orders-audit"), &cloudwatch.EventRuleArgs{
		Name:         pulumi.String(args.Names.Name(naming.RuleOrdersAudit)),
		Description:  pulumi.String("every trading.orders event, synthetic probes included, to the audit log"),
		EventBusName: bus.Name,
		EventPattern: pulumi.String(auditPattern),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create orders audit rule: %w", err)
	}

	audit, err := cloudwatch.NewLogGroup(ctx, kids.Name("audit"), &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(args.Names.Name(naming.AuditLogGroup)),
		RetentionInDays: pulumi.Int(args.Shared.LogRetentionDays),
		KmsKeyId:        args.TelemetryKeyArn,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create audit log group: %w", err)
	}
	// EventBridge writes to CloudWatch Logs through the log group's
	// resource policy, not a role.
	ordersArn := at.EventRule(args.Names.Name(naming.EventBus), args.Names.Name(naming.RuleOrders))
	auditArn := at.EventRule(args.Names.Name(naming.EventBus), args.Names.Name(naming.RuleOrdersAudit))
	logPolicy, err := iamdoc.New(iamdoc.Statement{
		Sid: "EventBridgeWritesAudit", Effect: "Allow",
		Principal: map[string]any{"Service": []string{"events.amazonaws.com", "delivery.logs.amazonaws.com"}},
		Action:    []string{"logs:CreateLogStream", "logs:PutLogEvents"},
		Resource:  []string{at.LogGroup(args.Names.Name(naming.AuditLogGroup)) + ":*"},
		Condition: map[string]map[string]any{"ArnEquals": {"aws:SourceArn": auditArn}},
	}).JSON()
	if err != nil {
		return nil, fmt.Errorf("audit log resource policy: %w", err)
	}
	// A log resource policy names no resource AWS looks up; it still waits
	// for the group and the rule it names, as when it was built from them.
	if _, err := cloudwatch.NewLogResourcePolicy(ctx, kids.Name("audit-policy"), &cloudwatch.LogResourcePolicyArgs{
		PolicyName: pulumi.String(args.Names.Name(naming.AuditLogPolicy)), PolicyDocument: pulumi.String(logPolicy),
	}, parent, pulumi.DependsOn([]pulumi.Resource{audit, auditRule})); err != nil {
		return nil, fmt.Errorf("attach audit log resource policy: %w", err)
	}

	ordersDLQ, err := sqs.NewQueue(ctx, kids.Name("orders-dlq"), &sqs.QueueArgs{
		Name:                    pulumi.String(args.Names.Name(naming.OrdersDLQ)),
		KmsMasterKeyId:          args.TelemetryKeyArn,
		MessageRetentionSeconds: pulumi.Int(dlqRetentionSecs),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create orders dead-letter queue: %w", err)
	}
	redrive := ordersDLQ.Arn.ApplyT(func(arn string) (string, error) {
		b, err := json.Marshal(map[string]any{"deadLetterTargetArn": arn, "maxReceiveCount": cfg.QueueMaxReceiveCount})
		if err != nil {
			return "", fmt.Errorf("marshal redrive policy: %w", err)
		}
		return string(b), nil
	}).(pulumi.StringOutput)
	queue, err := sqs.NewQueue(ctx, kids.Name("orders"), &sqs.QueueArgs{
		Name:                         pulumi.String(args.Names.Name(naming.ConsumerQueue)),
		KmsMasterKeyId:               args.TelemetryKeyArn,
		KmsDataKeyReusePeriodSeconds: pulumi.Int(300),
		VisibilityTimeoutSeconds:     pulumi.Int(60),
		RedrivePolicy:                redrive,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create orders queue: %w", err)
	}
	if err := queuePolicy(ctx, kids, "orders", queue, at.Queue(args.Names.Name(naming.ConsumerQueue)), []string{ordersArn}, parent); err != nil {
		return nil, err
	}
	// Only SQS itself moves messages into the orders DLQ; the policy just
	// refuses plain-text access.
	if err := queuePolicy(ctx, kids, "orders-dlq", ordersDLQ, at.Queue(args.Names.Name(naming.OrdersDLQ)), nil, parent); err != nil {
		return nil, err
	}

	targets := []target{
		{"orders-audit", auditRule, audit.Arn, bus.Name, nil},
		{"orders-queue", orders, queue.Arn, bus.Name, nil},
	}

	// --- AWS operational events on the default bus ---
	type opRule struct {
		logical string
		kind    naming.Kind
		desc    string
		pattern Pattern
	}
	ops := []opRule{
		{"rule-aurora", naming.RuleAurora, "Aurora cluster failover and failure events", AuroraPattern(args.AuroraClusterArn)},
		{"rule-backup-failed", naming.RuleBackupFailed, "AWS Backup jobs of our vault that failed, aborted or expired",
			BackupFailedPattern(args.BackupVaultName)},
		{"rule-restore-failed", naming.RuleRestoreFailed, "AWS Backup restore jobs (restore tests, verification) that failed or were aborted",
			RestoreFailedPattern()},
		{"rule-copy-failed", naming.RuleCopyFailed, "AWS Backup copy jobs out of our vault that failed or copied only part",
			CopyFailedPattern(at.BackupVault(args.BackupVaultName))},
		{"rule-ecs-deploy", naming.RuleECSDeploy, "failed deployments of the trading service", ECSDeployFailedPattern(args.ECSServiceArn)},
		{"rule-ecs-task-stopped", naming.RuleECSTaskStopped, "trading service tasks that crashed or failed to start",
			ECSTaskStoppedPattern(args.ECSClusterArn, args.ECSServiceName)},
		{"rule-degraded", naming.RuleDegraded, "composite alarm in ALARM starts the service recovery runbook", AlarmPattern(args.CompositeAlarmArn)},
	}
	rules := map[string]*cloudwatch.EventRule{}
	for _, op := range ops {
		pattern, err := op.pattern.JSON()
		if err != nil {
			return nil, fmt.Errorf("%s pattern: %w", op.logical, err)
		}
		r, err := cloudwatch.NewEventRule(ctx, kids.Name(op.logical), &cloudwatch.EventRuleArgs{
			Name:         pulumi.String(args.Names.Name(op.kind)),
			Description:  pulumi.String(op.desc),
			EventBusName: pulumi.String("default"),
			EventPattern: pulumi.String(pattern),
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", op.logical, err)
		}
		rules[op.logical] = r
	}

	// The role EventBridge assumes to start the recovery and health check
	// runbooks: exactly one action on exactly those two state machines. SNS targets need no role:
	// the topic policy lets events.amazonaws.com publish.
	// Only for the rule whose targets use it: "For EventBridge event bus
	// rule targets, the value of aws:SourceArn must be the rule ARN"
	// (Amazon EventBridge User Guide, "Cross-service confused deputy
	// prevention in Amazon EventBridge").
	trust, err := iamdoc.AssumeRoleFrom("events.amazonaws.com", args.AccountID, at.EventRule("default", args.Names.Name(naming.RuleDegraded))).JSON()
	if err != nil {
		return nil, err
	}
	role, err := iam.NewRole(ctx, kids.Name("events-role"), &iam.RoleArgs{
		Name:             pulumi.String(args.Names.Name(naming.EventsRole)),
		AssumeRolePolicy: pulumi.String(trust),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create events role: %w", err)
	}
	rolePolicy, err := iamdoc.New(iamdoc.Allow("StartRunbooks", []string{"states:StartExecution"}, []string{
		at.StateMachine(args.Names.Name(naming.ServiceRecoverySM)), at.StateMachine(args.Names.Name(naming.HealthCheckSM)),
	})).JSON()
	if err != nil {
		return nil, fmt.Errorf("events role policy: %w", err)
	}
	if _, err := iam.NewRolePolicy(ctx, kids.Name("events-role"), &iam.RolePolicyArgs{Role: role.Name, Policy: pulumi.String(rolePolicy)}, parent); err != nil {
		return nil, fmt.Errorf("attach events role policy: %w", err)
	}

	def := pulumi.String("default")
	for _, t := range []struct {
		logical, rule string
		arn           pulumi.StringInput
		role          pulumi.StringInput
	}{
		{"aurora-sns", "rule-aurora", args.AlarmTopicArn, nil},
		{"backup-failed-sns", "rule-backup-failed", args.AlarmTopicArn, nil},
		{"restore-failed-sns", "rule-restore-failed", args.AlarmTopicArn, nil},
		{"copy-failed-sns", "rule-copy-failed", args.AlarmTopicArn, nil},
		{"ecs-deploy-sns", "rule-ecs-deploy", args.AlarmTopicArn, nil},
		{"ecs-task-stopped-sns", "rule-ecs-task-stopped", args.AlarmTopicArn, nil},
		{"degraded-recovery", "rule-degraded", args.RecoveryStateMachineArn, role.Arn},
		{"degraded-health-check", "rule-degraded", args.HealthCheckStateMachineArn, role.Arn},
	} {
		targets = append(targets, target{t.logical, rules[t.rule], t.arn, def, t.role})
	}

	ruleArns := []string{ordersArn, auditArn}
	for _, op := range ops {
		ruleArns = append(ruleArns, at.EventRule("default", args.Names.Name(op.kind)))
	}
	for _, t := range targets {
		ta := &cloudwatch.EventTargetArgs{
			Rule: t.rule.Name, EventBusName: t.bus, Arn: t.arn, TargetId: pulumi.String(t.logical),
			RetryPolicy: retry, DeadLetterConfig: deadLetter,
		}
		if t.role != nil {
			ta.RoleArn = t.role
			// Runbooks require {"requestedBy": ...}; the raw event has no such field.
			ta.InputTransformer = &cloudwatch.EventTargetInputTransformerArgs{
				InputPaths:    pulumi.ToStringMap(RunbookInputPaths),
				InputTemplate: pulumi.String(strings.ReplaceAll(RunbookInputTemplate, "<rule>", args.Names.Name(naming.RuleDegraded))),
			}
		}
		key := "target-" + t.logical
		if _, err := cloudwatch.NewEventTarget(ctx, kids.Name(key), ta, parent); err != nil {
			return nil, fmt.Errorf("create target %s: %w", t.logical, err)
		}
	}
	// Every rule may dead-letter into the DLQ.
	if err := queuePolicy(ctx, kids, "dlq", dlq, at.Queue(args.Names.Name(naming.DeadLetterQueue)), ruleArns, parent); err != nil {
		return nil, err
	}

	e.BusName, e.BusArn, e.ArchiveArn = bus.Name, bus.Arn, archive.Arn
	e.QueueURL, e.QueueArn, e.DLQArn = queue.Url, queue.Arn, dlq.Arn
	e.AuditLogGroup = audit.Name
	if err := ctx.RegisterResourceOutputs(e, pulumi.Map{
		"busName": e.BusName, "busArn": e.BusArn, "archiveArn": e.ArchiveArn,
		"queueUrl": e.QueueURL, "queueArn": e.QueueArn, "dlqArn": e.DLQArn, "auditLogGroup": e.AuditLogGroup,
	}); err != nil {
		return nil, fmt.Errorf("register events outputs: %w", err)
	}
	return e, nil
}

// target is one rule target; role is nil where a resource policy grants
// EventBridge access (logs, SQS, SNS).
type target struct {
	logical string
	rule    *cloudwatch.EventRule
	arn     pulumi.StringInput
	bus     pulumi.StringInput
	role    pulumi.StringInput
}

// queuePolicy refuses non-TLS access and, for senders (rule ARNs), lets
// events.amazonaws.com send only on behalf of the given rules. arn is the
// queue's name-derived ARN; the policy names the queue through its URL
// output and so waits for it.
func queuePolicy(ctx *pulumi.Context, kids naming.Children, logical string, q *sqs.Queue, arn string, senders []string, parent pulumi.ResourceOption) error {
	stmts := []iamdoc.Statement{iamdoc.DenyInsecureTransport([]string{"sqs:*"}, []string{arn})}
	if len(senders) > 0 {
		stmts = append(stmts, iamdoc.Statement{
			Sid: "EventBridgeSends", Effect: "Allow",
			Principal: map[string]any{"Service": "events.amazonaws.com"},
			Action:    []string{"sqs:SendMessage"}, Resource: []string{arn},
			Condition: map[string]map[string]any{"ArnEquals": {"aws:SourceArn": senders}},
		})
	}
	doc, err := iamdoc.New(stmts...).JSON()
	if err != nil {
		return fmt.Errorf("%s queue policy: %w", logical, err)
	}
	key := logical + "-policy"
	if _, err := sqs.NewQueuePolicy(ctx, kids.Name(key), &sqs.QueuePolicyArgs{QueueUrl: q.Url, Policy: pulumi.String(doc)}, parent); err != nil {
		return fmt.Errorf("attach %s queue policy: %w", logical, err)
	}
	return nil
}

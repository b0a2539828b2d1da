// Package statemachine deploys one typed ASL definition (infra/asl)
// the way every trading-ha workflow runs: a STANDARD Step Functions state
// machine with its own role (trust states.amazonaws.com from our account,
// for this machine only;
// inline policy derived from the definition's Task permissions plus the
// telemetry key, log delivery and X-Ray), a KMS-encrypted log group
// (level ALL with execution data), X-Ray tracing and, optionally, an
// EventBridge Scheduler schedule with a role that may start exactly this
// machine.
//
// It is a leaf helper, not a component: New creates its resources under
// the parent the calling component passes, named from that component
// (naming.Children) with the machine's key: <component>-<key>,
// <component>-<key>-logs, -<key>-role (role and inline policy),
// -<key>-schedule and -<key>-schedule-role (role and inline policy), each
// aliased to the bare name it had before (<key>, <key>-logs, ...).
package statemachine

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/scheduler"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sfn"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	awsarn "github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/asl"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/naming"
)

// Spec describes one state machine. Physical names come from the caller's
// naming.Namer.
type Spec struct {
	// Name, LogGroupName and RoleName are the physical names of the state
	// machine, its log group and its role.
	Name, LogGroupName, RoleName string
	// At is where the machine deploys: its account scopes the trust
	// policies (aws:SourceAccount), and the role and log group ARNs are
	// built from their names (infra/arn), so the state machine's inputs
	// are known at the first preview.
	At awsarn.At
	// LogRetentionDays is the log group's retention.
	LogRetentionDays int
	// TelemetryKeyArn encrypts the log group; the role may also use it to
	// publish to the encrypted alarm topic.
	TelemetryKeyArn pulumi.StringInput
	// TelemetryKey is the same key as the role policies name it: by alias
	// (iamdoc.Key), known at program time.
	TelemetryKey iamdoc.Key
	// Plan is the machine's validated definition and its role's policy,
	// made at program time (NewPlan), so a first preview shows both.
	Plan Plan
	// Schedule, when set, starts the machine on an EventBridge Scheduler
	// schedule.
	Schedule *Schedule
}

// Schedule runs a machine on an EventBridge Scheduler schedule.
type Schedule struct {
	// Name and RoleName are the physical names of the schedule and its role.
	Name, RoleName string
	// Description and Expression (cron(...) or rate(...)) of the schedule.
	Description, Expression string
	// Input is the execution input the schedule passes.
	Input string
	// MaxEventAgeSeconds bounds the target's retries.
	MaxEventAgeSeconds int
	// DeadLetterArn is the SQS queue (telemetry key) that receives the
	// invocations Scheduler could not deliver after its retries; the
	// schedule's role sends to it (EventBridge Scheduler User Guide,
	// Configuring a dead-letter queue: the execution role needs
	// sqs:SendMessage on the queue).
	DeadLetterArn pulumi.StringInput
	// DeadLetterQueueName is that queue's name: the role's policy names
	// the queue by the ARN its name gives (infra/arn), known at program
	// time; the schedule's target keeps DeadLetterArn, so the schedule
	// waits for the queue.
	DeadLetterQueueName string
}

// ScheduleGroup is the group of every schedule: created without a group, a
// schedule is in the account's "default" group (EventBridge Scheduler API
// Reference, CreateSchedule, GroupName: "If you omit this, the default
// schedule group is used").
const ScheduleGroup = "default"

// Machine is what New created.
type Machine struct {
	// StateMachine is the Step Functions state machine.
	StateMachine *sfn.StateMachine
	// Arn and Name are the state machine's.
	Arn, Name pulumi.StringOutput
}

// LogDeliveryActions are the CloudWatch Logs vended-log delivery actions
// Step Functions logging needs; none supports resource-level permissions.
var LogDeliveryActions = []string{
	"logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
	"logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
}

// XRayActions are the tracing actions; none supports resource-level permissions.
var XRayActions = []string{"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"}

// Policy is a state machine role's inline policy: one statement per
// permission the definition derives (asl.StateMachine.Permissions; keys are
// granted by alias there, as iamdoc.Key writes them), the telemetry key for
// the encrypted alarm topic when the machine publishes (sns:Publish), log
// delivery and X-Ray.
func Policy(sm *asl.StateMachine, telemetryKey iamdoc.Key) iamdoc.Document {
	var stmts []iamdoc.Statement
	publishes := false
	for i, p := range sm.Permissions() {
		s := iamdoc.Allow(fmt.Sprintf("Runbook%d", i), p.Actions, p.Resources)
		s.Condition = p.Condition
		stmts = append(stmts, s)
		publishes = publishes || slices.Contains(p.Actions, "sns:Publish")
	}
	if publishes {
		// The alarm topic is encrypted with the telemetry key; publishers
		// need it (a machine that publishes nothing gets no key grant).
		stmts = append(stmts, telemetryKey.Allow("EncryptNotification", []string{"kms:GenerateDataKey", "kms:Decrypt"}, nil))
	}
	return iamdoc.New(append(stmts,
		// CloudWatch Logs vended-log delivery actions support no resource-level permissions: "*" only.
		iamdoc.Allow("LogDelivery", LogDeliveryActions, []string{"*"}),
		// X-Ray segment and sampling actions support no resource-level permissions: "*" only.
		iamdoc.Allow("XRay", XRayActions, []string{"*"}),
	)...)
}

// Plan is a definition validated and rendered at program time, with the
// role policy derived from it (Policy).
type Plan struct {
	Definition, Policy string
}

// NewPlan validates sm (asl.StateMachine.Validate: every Next and Default
// names a declared state, every Task retries and catches, ...), renders it
// and derives its role policy. Callers plan before they register anything,
// so a broken definition fails Deploy before any resource registers.
func NewPlan(name string, sm *asl.StateMachine, telemetryKey iamdoc.Key) (Plan, error) {
	if sm == nil {
		return Plan{}, fmt.Errorf("render %s: no definition", name)
	}
	if err := sm.Validate(); err != nil {
		return Plan{}, fmt.Errorf("validate %s: %w", name, err)
	}
	def, err := sm.JSON()
	if err != nil {
		return Plan{}, fmt.Errorf("render %s: %w", name, err)
	}
	policy, err := Policy(sm, telemetryKey).JSON()
	if err != nil {
		return Plan{}, fmt.Errorf("%s role policy: %w", name, err)
	}
	return Plan{Definition: def, Policy: policy}, nil
}

// New creates the log group, role, inline policy, state machine and, if
// spec.Schedule is set, the schedule and its role, all under parent and
// named kids.Name(key...) (see the package comment).
func New(ctx *pulumi.Context, kids naming.Children, key string, spec Spec, parent pulumi.ResourceOption) (*Machine, error) {
	if spec.Plan.Definition == "" || spec.Plan.Policy == "" {
		return nil, fmt.Errorf("state machine %s: a Plan (NewPlan) is required", key)
	}

	logs, err := cloudwatch.NewLogGroup(ctx, kids.Name(key+"-logs"), &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(spec.LogGroupName),
		RetentionInDays: pulumi.Int(spec.LogRetentionDays),
		KmsKeyId:        spec.TelemetryKeyArn,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create %s log group: %w", key, err)
	}
	// Step Functions assumes the role for this machine only: aws:SourceArn
	// is the machine's name-derived ARN (Step Functions Developer Guide,
	// "Creating an IAM role for your state machine", Prevent cross-service
	// confused deputy issue).
	trust, err := iamdoc.AssumeRoleFrom("states.amazonaws.com", spec.At.Account, spec.At.StateMachine(spec.Name)).JSON()
	if err != nil {
		return nil, fmt.Errorf("%s trust policy: %w", key, err)
	}
	role, err := iam.NewRole(ctx, kids.Name(key+"-role"), &iam.RoleArgs{
		Name:             pulumi.String(spec.RoleName),
		AssumeRolePolicy: pulumi.String(trust),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create %s role: %w", key, err)
	}
	rolePolicy, err := iam.NewRolePolicy(ctx, kids.Name(key+"-role"), &iam.RolePolicyArgs{Role: role.Name, Policy: pulumi.String(spec.Plan.Policy)},
		parent)
	if err != nil {
		return nil, fmt.Errorf("attach %s role policy: %w", key, err)
	}
	// The role and log group ARNs are name-derived (plain strings at the
	// first preview) and so carry no dependency: the machine depends on the
	// role, its policy and the log group explicitly (tests/references_test.go).
	sm, err := sfn.NewStateMachine(ctx, kids.Name(key), &sfn.StateMachineArgs{
		Name:       pulumi.String(spec.Name),
		Type:       pulumi.String("STANDARD"),
		RoleArn:    pulumi.String(spec.At.Role(spec.RoleName)),
		Definition: pulumi.String(spec.Plan.Definition),
		LoggingConfiguration: &sfn.StateMachineLoggingConfigurationArgs{
			Level: pulumi.String("ALL"), IncludeExecutionData: pulumi.Bool(true),
			LogDestination: pulumi.String(spec.At.LogGroup(spec.LogGroupName) + ":*"),
		},
		TracingConfiguration: &sfn.StateMachineTracingConfigurationArgs{Enabled: pulumi.Bool(true)},
	}, parent, pulumi.DependsOn([]pulumi.Resource{logs, role, rolePolicy}))
	if err != nil {
		return nil, fmt.Errorf("create %s state machine: %w", key, err)
	}
	if spec.Schedule != nil {
		if err := schedule(ctx, kids, key, spec, sm, parent); err != nil {
			return nil, err
		}
	}
	return &Machine{StateMachine: sm, Arn: sm.Arn, Name: sm.Name}, nil
}

// schedule runs sm on an EventBridge Scheduler schedule through a role
// allowed to start exactly that machine and to dead-letter into the
// schedule's DLQ (encrypted with the telemetry key).
func schedule(ctx *pulumi.Context, kids naming.Children, key string, spec Spec, sm *sfn.StateMachine, parent pulumi.ResourceOption) error {
	s := *spec.Schedule
	if s.DeadLetterArn == nil || s.DeadLetterQueueName == "" {
		return fmt.Errorf("%s schedule: a dead-letter queue is required (Schedule.DeadLetterArn and DeadLetterQueueName)", key)
	}
	// Scheduler assumes the role for schedules of one group: aws:SourceArn
	// is the schedule group's ARN (EventBridge Scheduler User Guide,
	// "Confused deputy prevention in EventBridge Scheduler").
	trust, err := iamdoc.AssumeRoleFrom("scheduler.amazonaws.com", spec.At.Account, spec.At.ScheduleGroup(ScheduleGroup)).JSON()
	if err != nil {
		return fmt.Errorf("%s schedule trust policy: %w", key, err)
	}
	role, err := iam.NewRole(ctx, kids.Name(key+"-schedule-role"), &iam.RoleArgs{
		Name:             pulumi.String(s.RoleName),
		AssumeRolePolicy: pulumi.String(trust),
	}, parent)
	if err != nil {
		return fmt.Errorf("create %s schedule role: %w", key, err)
	}
	policy, err := SchedulePolicy(spec.At, spec.Name, s.DeadLetterQueueName, spec.TelemetryKey).JSON()
	if err != nil {
		return fmt.Errorf("%s schedule role policy: %w", key, err)
	}
	if _, err := iam.NewRolePolicy(ctx, kids.Name(key+"-schedule-role"), &iam.RolePolicyArgs{Role: role.Name, Policy: pulumi.String(policy)},
		parent); err != nil {
		return fmt.Errorf("attach %s schedule role policy: %w", key, err)
	}
	if _, err := scheduler.NewSchedule(ctx, kids.Name(key+"-schedule"), &scheduler.ScheduleArgs{
		Name:               pulumi.String(s.Name),
		Description:        pulumi.String(s.Description),
		ScheduleExpression: pulumi.String(s.Expression),
		FlexibleTimeWindow: &scheduler.ScheduleFlexibleTimeWindowArgs{Mode: pulumi.String("OFF")},
		Target: &scheduler.ScheduleTargetArgs{
			Arn: sm.Arn, RoleArn: role.Arn, Input: pulumi.String(s.Input),
			RetryPolicy: &scheduler.ScheduleTargetRetryPolicyArgs{
				MaximumRetryAttempts: pulumi.Int(3), MaximumEventAgeInSeconds: pulumi.Int(s.MaxEventAgeSeconds),
			},
			DeadLetterConfig: &scheduler.ScheduleTargetDeadLetterConfigArgs{Arn: s.DeadLetterArn},
		},
	}, parent); err != nil {
		return fmt.Errorf("create %s schedule: %w", key, err)
	}
	return nil
}

// SchedulePolicy is a schedule role's policy: start exactly the machine
// named stateMachine, dead-letter into the queue named deadLetterQueue,
// and use the telemetry key that encrypts that queue only through SQS.
// Every ARN comes from a name (infra/arn), so the document is known at
// program time.
func SchedulePolicy(at awsarn.At, stateMachine, deadLetterQueue string, telemetryKey iamdoc.Key) iamdoc.Document {
	return iamdoc.New(
		iamdoc.Allow("StartRunbook", []string{"states:StartExecution"}, []string{at.StateMachine(stateMachine)}),
		iamdoc.Allow("DeadLetter", []string{"sqs:SendMessage"}, []string{at.Queue(deadLetterQueue)}),
		telemetryKey.Allow("DeadLetterEncryption", []string{"kms:GenerateDataKey", "kms:Decrypt"},
			map[string]map[string]any{"StringEquals": {"kms:ViaService": "sqs." + at.Region + ".amazonaws.com"}}),
	)
}

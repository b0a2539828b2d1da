// Package statemachine deploys one typed ASL definition (infra/asl)
// the way every trading-ha workflow runs: a STANDARD Step Functions state
// machine with its own role (trust states.amazonaws.com from our account;
// inline policy derived from the definition's Task permissions plus the
// telemetry key, log delivery and X-Ray), a KMS-encrypted log group
// (level ALL with execution data), X-Ray tracing and, optionally, an
// EventBridge Scheduler schedule with a role that may start exactly this
// machine.
//
// It is a leaf helper, not a component: New creates its resources under
// the parent the calling component passes. Logical names are <name>,
// <name>-logs, <name>-role (role and inline policy), <name>-schedule and
// <name>-schedule-role (role and inline policy).
package statemachine

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/scheduler"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sfn"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumix"

	awsarn "github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/asl"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
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
	// Definition is the machine's ASL, rendered by Render (validated).
	// Built from names at program time it is a plain pulumi.String, shown
	// by a first preview.
	Definition pulumi.StringInput
	// Policy is the role's inline policy (Policy over the definition and
	// the resolved key ARNs).
	Policy pulumi.StringInput
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
}

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
// permission the definition derives (asl.StateMachine.Permissions), the
// telemetry key for the encrypted alarm topic, log delivery and X-Ray.
func Policy(sm *asl.StateMachine, telemetryKeyArn string) iamdoc.Document {
	var stmts []iamdoc.Statement
	for i, p := range sm.Permissions() {
		s := iamdoc.Allow(fmt.Sprintf("Runbook%d", i), p.Actions, p.Resources)
		s.Condition = p.Condition
		stmts = append(stmts, s)
	}
	return iamdoc.New(append(stmts,
		// The alarm topic is encrypted with the telemetry key; publishers need it.
		iamdoc.Allow("EncryptNotification", []string{"kms:GenerateDataKey", "kms:Decrypt"}, []string{telemetryKeyArn}),
		// CloudWatch Logs vended-log delivery actions support no resource-level permissions: "*" only.
		iamdoc.Allow("LogDelivery", LogDeliveryActions, []string{"*"}),
		// X-Ray segment and sampling actions support no resource-level permissions: "*" only.
		iamdoc.Allow("XRay", XRayActions, []string{"*"}),
	)...)
}

// Render validates a definition (asl.StateMachine.Validate: every Next
// and Default names a declared state, every Task retries and catches, ...)
// and returns its JSON. Callers render at program time, so a broken
// definition fails Deploy before any resource registers.
func Render(name string, sm *asl.StateMachine) (string, error) {
	if sm == nil {
		return "", fmt.Errorf("render %s: no definition", name)
	}
	if err := sm.Validate(); err != nil {
		return "", fmt.Errorf("validate %s: %w", name, err)
	}
	def, err := sm.JSON()
	if err != nil {
		return "", fmt.Errorf("render %s: %w", name, err)
	}
	return def, nil
}

// New creates the log group, role, inline policy, state machine and, if
// spec.Schedule is set, the schedule and its role, all under parent.
func New(ctx *pulumi.Context, name string, spec Spec, parent pulumi.ResourceOption) (*Machine, error) {
	if spec.Definition == nil || spec.Policy == nil {
		return nil, fmt.Errorf("state machine %s: Definition and Policy are required", name)
	}

	logs, err := cloudwatch.NewLogGroup(ctx, name+"-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(spec.LogGroupName),
		RetentionInDays: pulumi.Int(spec.LogRetentionDays),
		KmsKeyId:        spec.TelemetryKeyArn,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create %s log group: %w", name, err)
	}
	trust, err := iamdoc.AssumeRole("states.amazonaws.com", spec.At.Account).JSON()
	if err != nil {
		return nil, fmt.Errorf("%s trust policy: %w", name, err)
	}
	role, err := iam.NewRole(ctx, name+"-role", &iam.RoleArgs{
		Name:             pulumi.String(spec.RoleName),
		AssumeRolePolicy: pulumi.String(trust),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create %s role: %w", name, err)
	}
	rolePolicy, err := iam.NewRolePolicy(ctx, name+"-role", &iam.RolePolicyArgs{Role: role.Name, Policy: spec.Policy}, parent)
	if err != nil {
		return nil, fmt.Errorf("attach %s role policy: %w", name, err)
	}
	// The role and log group ARNs are name-derived (plain strings at the
	// first preview) and so carry no dependency: the machine depends on the
	// role, its policy and the log group explicitly (tests/references_test.go).
	sm, err := sfn.NewStateMachine(ctx, name, &sfn.StateMachineArgs{
		Name:       pulumi.String(spec.Name),
		Type:       pulumi.String("STANDARD"),
		RoleArn:    pulumi.String(spec.At.Role(spec.RoleName)),
		Definition: spec.Definition,
		LoggingConfiguration: &sfn.StateMachineLoggingConfigurationArgs{
			Level: pulumi.String("ALL"), IncludeExecutionData: pulumi.Bool(true),
			LogDestination: pulumi.String(spec.At.LogGroup(spec.LogGroupName) + ":*"),
		},
		TracingConfiguration: &sfn.StateMachineTracingConfigurationArgs{Enabled: pulumi.Bool(true)},
	}, parent, pulumi.DependsOn([]pulumi.Resource{logs, role, rolePolicy}))
	if err != nil {
		return nil, fmt.Errorf("create %s state machine: %w", name, err)
	}
	if spec.Schedule != nil {
		if err := schedule(ctx, name, spec.At.Account, spec.TelemetryKeyArn, *spec.Schedule, sm, parent); err != nil {
			return nil, err
		}
	}
	return &Machine{StateMachine: sm, Arn: sm.Arn, Name: sm.Name}, nil
}

// schedule runs sm on an EventBridge Scheduler schedule through a role
// allowed to start exactly that machine and to dead-letter into the
// schedule's DLQ (encrypted with the telemetry key).
func schedule(ctx *pulumi.Context, name, accountID string, telemetryKeyArn pulumi.StringInput, s Schedule, sm *sfn.StateMachine, parent pulumi.ResourceOption) error {
	if s.DeadLetterArn == nil {
		return fmt.Errorf("%s schedule: a dead-letter queue is required (Schedule.DeadLetterArn)", name)
	}
	trust, err := iamdoc.AssumeRole("scheduler.amazonaws.com", accountID).JSON()
	if err != nil {
		return fmt.Errorf("%s schedule trust policy: %w", name, err)
	}
	role, err := iam.NewRole(ctx, name+"-schedule-role", &iam.RoleArgs{
		Name:             pulumi.String(s.RoleName),
		AssumeRolePolicy: pulumi.String(trust),
	}, parent)
	if err != nil {
		return fmt.Errorf("create %s schedule role: %w", name, err)
	}
	policy := pulumix.Cast[pulumi.StringOutput](pulumix.Apply3Err(sm.Arn, s.DeadLetterArn.ToStringOutput(), telemetryKeyArn.ToStringOutput(),
		func(machineArn, dlqArn, keyArn string) (string, error) {
			return iamdoc.New(
				iamdoc.Allow("StartRunbook", []string{"states:StartExecution"}, []string{machineArn}),
				iamdoc.Allow("DeadLetter", []string{"sqs:SendMessage"}, []string{dlqArn}),
				iamdoc.Statement{Sid: "DeadLetterEncryption", Effect: "Allow",
					Action: []string{"kms:GenerateDataKey", "kms:Decrypt"}, Resource: []string{keyArn},
					Condition: map[string]map[string]any{"StringEquals": {"kms:ViaService": "sqs." + regionOf(keyArn) + ".amazonaws.com"}}},
			).JSON()
		}))
	if _, err := iam.NewRolePolicy(ctx, name+"-schedule-role", &iam.RolePolicyArgs{Role: role.Name, Policy: policy}, parent); err != nil {
		return fmt.Errorf("attach %s schedule role policy: %w", name, err)
	}
	if _, err := scheduler.NewSchedule(ctx, name+"-schedule", &scheduler.ScheduleArgs{
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
		return fmt.Errorf("create %s schedule: %w", name, err)
	}
	return nil
}

// regionOf is the region field of an ARN.
func regionOf(arn string) string {
	parts := strings.SplitN(arn, ":", 5)
	if len(parts) < 5 {
		return ""
	}
	return parts[3]
}

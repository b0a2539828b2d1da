// Package runbooks deploys the four Step Functions runbooks built by
// infra/runbooks/asl — health check, backup verification, database
// failover and service recovery — as STANDARD state machines, each with its
// own role (policy derived from the definition), a KMS-encrypted log group
// (level ALL with execution data) and X-Ray tracing. The health check and
// the backup verification also run on EventBridge Scheduler schedules.
package runbooks

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/scheduler"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sfn"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/runbooks/asl"
)

// Args configures the component. Every name and ARN comes from the
// composition root; they are resolved into an asl.Targets value.
type Args struct {
	Names     naming.Namer
	Config    *config.Config
	AccountID string
	// TelemetryKeyArn encrypts the log groups and the alarm topic the
	// runbooks publish to.
	TelemetryKeyArn pulumi.StringInput
	// DataKeyArn encrypts the table the backup verification restores.
	DataKeyArn pulumi.StringInput
	// TopicArn receives every runbook report.
	TopicArn pulumi.StringInput

	// ClusterIdentifier, ClusterArn and the instance identifiers are the
	// Aurora cluster's.
	ClusterIdentifier         pulumi.StringInput
	ClusterArn                pulumi.StringInput
	WriterInstanceIdentifier  pulumi.StringInput
	ReaderInstanceIdentifiers pulumi.StringArrayInput
	// ECSClusterArn, ECSServiceName, ECSServiceArn and TargetGroupArns are
	// the trading service's.
	ECSClusterArn   pulumi.StringInput
	ECSServiceName  pulumi.StringInput
	ECSServiceArn   pulumi.StringInput
	TargetGroupArns pulumi.StringArrayInput
	// TableName and TableArn are the sessions table's.
	TableName pulumi.StringInput
	TableArn  pulumi.StringInput
	// BackupVaultName, ProtectedResourceArns and RestoreRoleArn come from
	// the backup component; TableArn must be a protected resource.
	BackupVaultName       pulumi.StringInput
	ProtectedResourceArns pulumi.StringArrayInput
	RestoreRoleArn        pulumi.StringInput
	// CanaryName and AlarmNames come from monitoring.
	CanaryName pulumi.StringInput
	AlarmNames pulumi.StringArrayInput
}

// Runbooks is the component: the state machines' ARNs and names.
type Runbooks struct {
	pulumi.ResourceState

	HealthCheckArn      pulumi.StringOutput
	HealthCheckName     pulumi.StringOutput
	BackupVerifyArn     pulumi.StringOutput
	BackupVerifyName    pulumi.StringOutput
	DBFailoverArn       pulumi.StringOutput
	DBFailoverName      pulumi.StringOutput
	ServiceRecoveryArn  pulumi.StringOutput
	ServiceRecoveryName pulumi.StringOutput
}

// Machine ties a runbook to its physical names.
type Machine struct {
	// Runbook is the asl runbook; its Name is the resources' logical name.
	Runbook asl.Runbook
	// StateMachine, Logs and Role are the naming kinds of the machine.
	StateMachine, Logs, Role naming.Kind
}

// Machines lists the four runbooks in a fixed order.
func Machines() []Machine {
	byName := map[string]asl.Runbook{}
	for _, rb := range asl.Runbooks() {
		byName[rb.Name] = rb
	}
	return []Machine{
		{byName[asl.HealthCheckName], naming.HealthCheckSM, naming.HealthCheckLogs, naming.HealthCheckRole},
		{byName[asl.BackupVerificationName], naming.BackupVerifySM, naming.BackupVerifyLogs, naming.BackupVerifyRole},
		{byName[asl.DatabaseFailoverName], naming.DBFailoverSM, naming.DBFailoverLogs, naming.DBFailoverRole},
		{byName[asl.ServiceRecoveryName], naming.ServiceRecoverySM, naming.ServiceRecoveryLogs, naming.ServiceRecoveryRole},
	}
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

// New creates the state machines, their roles, log groups and schedules.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Runbooks, error) {
	c := &Runbooks{}
	if err := ctx.RegisterComponentResource("trading:runbooks:Runbooks", name, c, opts...); err != nil {
		return nil, fmt.Errorf("register runbooks component: %w", err)
	}
	parent := pulumi.Parent(c)
	cfg := args.Config.Runbooks

	targets := pulumi.All(
		args.ClusterIdentifier, args.ClusterArn, args.WriterInstanceIdentifier, args.ReaderInstanceIdentifiers,
		args.ECSClusterArn, args.ECSServiceName, args.ECSServiceArn, args.TargetGroupArns,
		args.TableName, args.TableArn, args.BackupVaultName, args.ProtectedResourceArns, args.RestoreRoleArn, args.DataKeyArn,
		args.CanaryName, args.AlarmNames, args.TopicArn,
	).ApplyT(func(v []any) (asl.Targets, error) {
		t := asl.Targets{
			ClusterIdentifier: v[0].(string), ClusterArn: v[1].(string),
			WriterInstanceIdentifier: v[2].(string), ReaderInstanceIdentifiers: v[3].([]string),
			EcsClusterArn: v[4].(string), EcsServiceName: v[5].(string), EcsServiceArn: v[6].(string),
			TargetGroupArns: v[7].([]string), TableName: v[8].(string), TableArn: v[9].(string),
			BackupVaultName: v[10].(string), ProtectedResourceArns: v[11].([]string), RestoreRoleArn: v[12].(string),
			RestoreKmsKeyArn: v[13].(string), CanaryName: v[14].(string), AlarmNames: v[15].([]string), TopicArn: v[16].(string),
			RpoThresholdMinutes:      cfg.BackupMaxAgeMinutes,
			FailoverTimeoutSeconds:   cfg.FailoverTimeoutSeconds,
			DeploymentTimeoutSeconds: cfg.DeploymentTimeoutSeconds,
			RestoreTimeoutSeconds:    cfg.RestoreTimeoutSeconds,
		}
		if err := t.Validate(); err != nil {
			return asl.Targets{}, fmt.Errorf("runbook targets: %w", err)
		}
		return t, nil
	})

	trust, err := iamdoc.AssumeRole("states.amazonaws.com", args.AccountID).JSON()
	if err != nil {
		return nil, err
	}
	machines := map[string]*sfn.StateMachine{}
	for _, m := range Machines() {
		sm, err := machine(ctx, args, m, targets, trust, parent)
		if err != nil {
			return nil, err
		}
		machines[m.Runbook.Name] = sm
	}

	for _, s := range []struct {
		runbook    string
		kind, role naming.Kind
		expression string
		desc       string
		maxAge     int
	}{
		{asl.HealthCheckName, naming.HealthCheckSchedule, naming.HealthCheckSchedRole, cfg.HealthCheckSchedule,
			"trading-ha health check runbook", 300},
		{asl.BackupVerificationName, naming.BackupVerifySchedule, naming.BackupVerifySchedRole, cfg.BackupVerifySchedule,
			"trading-ha backup verification runbook", 3600},
	} {
		if err := schedule(ctx, args, s.runbook, s.kind, s.role, s.expression, s.desc, s.maxAge, machines[s.runbook], parent); err != nil {
			return nil, err
		}
	}

	hc, bv := machines[asl.HealthCheckName], machines[asl.BackupVerificationName]
	fo, sr := machines[asl.DatabaseFailoverName], machines[asl.ServiceRecoveryName]
	c.HealthCheckArn, c.HealthCheckName = hc.Arn, hc.Name
	c.BackupVerifyArn, c.BackupVerifyName = bv.Arn, bv.Name
	c.DBFailoverArn, c.DBFailoverName = fo.Arn, fo.Name
	c.ServiceRecoveryArn, c.ServiceRecoveryName = sr.Arn, sr.Name
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"healthCheckArn": c.HealthCheckArn, "healthCheckName": c.HealthCheckName,
		"backupVerifyArn": c.BackupVerifyArn, "backupVerifyName": c.BackupVerifyName,
		"dbFailoverArn": c.DBFailoverArn, "dbFailoverName": c.DBFailoverName,
		"serviceRecoveryArn": c.ServiceRecoveryArn, "serviceRecoveryName": c.ServiceRecoveryName,
	}); err != nil {
		return nil, fmt.Errorf("register runbooks outputs: %w", err)
	}
	return c, nil
}

// machine creates one runbook's log group, role, policy and state machine.
func machine(ctx *pulumi.Context, args Args, m Machine, targets pulumi.Output, trust string, parent pulumi.ResourceOption) (*sfn.StateMachine, error) {
	rb := m.Runbook
	built := targets.ApplyT(func(v any) (*asl.StateMachine, error) {
		sm, err := rb.Build(v.(asl.Targets))
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", rb.Name, err)
		}
		if err := sm.Validate(); err != nil {
			return nil, fmt.Errorf("validate %s: %w", rb.Name, err)
		}
		return sm, nil
	})
	definition := built.ApplyT(func(v any) (string, error) {
		return v.(*asl.StateMachine).JSON()
	}).(pulumi.StringOutput)
	policy := pulumi.All(built, args.TelemetryKeyArn).ApplyT(func(v []any) (string, error) {
		return Policy(v[0].(*asl.StateMachine), v[1].(string)).JSON()
	}).(pulumi.StringOutput)

	logs, err := cloudwatch.NewLogGroup(ctx, rb.Name+"-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(args.Names.Name(m.Logs)),
		RetentionInDays: pulumi.Int(args.Config.LogRetentionDays),
		KmsKeyId:        args.TelemetryKeyArn,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create %s log group: %w", rb.Name, err)
	}
	role, err := iam.NewRole(ctx, rb.Name+"-role", &iam.RoleArgs{
		Name:             pulumi.String(args.Names.Name(m.Role)),
		AssumeRolePolicy: pulumi.String(trust),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create %s role: %w", rb.Name, err)
	}
	rolePolicy, err := iam.NewRolePolicy(ctx, rb.Name+"-role", &iam.RolePolicyArgs{Role: role.Name, Policy: policy}, parent)
	if err != nil {
		return nil, fmt.Errorf("attach %s role policy: %w", rb.Name, err)
	}
	sm, err := sfn.NewStateMachine(ctx, rb.Name, &sfn.StateMachineArgs{
		Name:       pulumi.String(args.Names.Name(m.StateMachine)),
		Type:       pulumi.String("STANDARD"),
		RoleArn:    role.Arn,
		Definition: definition,
		LoggingConfiguration: &sfn.StateMachineLoggingConfigurationArgs{
			Level: pulumi.String("ALL"), IncludeExecutionData: pulumi.Bool(true),
			LogDestination: pulumi.Sprintf("%s:*", logs.Arn),
		},
		TracingConfiguration: &sfn.StateMachineTracingConfigurationArgs{Enabled: pulumi.Bool(true)},
	}, parent, pulumi.DependsOn([]pulumi.Resource{rolePolicy}))
	if err != nil {
		return nil, fmt.Errorf("create %s state machine: %w", rb.Name, err)
	}
	return sm, nil
}

// ScheduleInput is the execution input a schedule passes: the runbooks'
// input contract needs requestedBy.
func ScheduleInput(scheduleName string) string {
	return `{"requestedBy":"scheduler:` + scheduleName + `"}`
}

// schedule runs a machine on an EventBridge Scheduler schedule through a
// role allowed to start exactly that machine.
func schedule(ctx *pulumi.Context, args Args, runbook string, kind, roleKind naming.Kind, expression, desc string,
	maxAgeSeconds int, sm *sfn.StateMachine, parent pulumi.ResourceOption) error {
	trust, err := iamdoc.AssumeRole("scheduler.amazonaws.com", args.AccountID).JSON()
	if err != nil {
		return err
	}
	role, err := iam.NewRole(ctx, runbook+"-schedule-role", &iam.RoleArgs{
		Name:             pulumi.String(args.Names.Name(roleKind)),
		AssumeRolePolicy: pulumi.String(trust),
	}, parent)
	if err != nil {
		return fmt.Errorf("create %s schedule role: %w", runbook, err)
	}
	policy := sm.Arn.ApplyT(func(arn string) (string, error) {
		return iamdoc.New(iamdoc.Allow("StartRunbook", []string{"states:StartExecution"}, []string{arn})).JSON()
	}).(pulumi.StringOutput)
	if _, err := iam.NewRolePolicy(ctx, runbook+"-schedule-role", &iam.RolePolicyArgs{Role: role.Name, Policy: policy}, parent); err != nil {
		return fmt.Errorf("attach %s schedule role policy: %w", runbook, err)
	}
	name := args.Names.Name(kind)
	if _, err := scheduler.NewSchedule(ctx, runbook+"-schedule", &scheduler.ScheduleArgs{
		Name:               pulumi.String(name),
		Description:        pulumi.String(desc),
		ScheduleExpression: pulumi.String(expression),
		FlexibleTimeWindow: &scheduler.ScheduleFlexibleTimeWindowArgs{Mode: pulumi.String("OFF")},
		Target: &scheduler.ScheduleTargetArgs{
			Arn: sm.Arn, RoleArn: role.Arn, Input: pulumi.String(ScheduleInput(name)),
			RetryPolicy: &scheduler.ScheduleTargetRetryPolicyArgs{
				MaximumRetryAttempts: pulumi.Int(3), MaximumEventAgeInSeconds: pulumi.Int(maxAgeSeconds),
			},
		},
	}, parent); err != nil {
		return fmt.Errorf("create %s schedule: %w", runbook, err)
	}
	return nil
}

// Package runbooks deploys the four Step Functions runbooks built by
// infra/asl — health check, backup verification, database
// failover and service recovery — as STANDARD state machines, each with its
// own role (policy derived from the definition), a KMS-encrypted log group
// (level ALL with execution data) and X-Ray tracing. The health check and
// the backup verification also run on EventBridge Scheduler schedules.
package runbooks

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/asl"
	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/statemachine"
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
	// SchedulerDLQArn receives the schedules' undeliverable invocations;
	// SchedulerDLQName is that queue's name (the schedule roles' policies
	// name the queue by the ARN it gives).
	SchedulerDLQArn  pulumi.StringInput
	SchedulerDLQName string
	// TelemetryKey and DataKey are the keys as identity policies name
	// them: by alias (iamdoc.Key).
	TelemetryKey, DataKey iamdoc.Key

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
	// ECSTaskRoleArn and ECSExecutionRoleArn are the roles of the service's
	// task definitions: the service recovery's rollback passes them to ECS
	// (iam:PassRole on exactly these two).
	ECSTaskRoleArn      pulumi.StringInput
	ECSExecutionRoleArn pulumi.StringInput
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
		args.CanaryName, args.AlarmNames, args.TopicArn, args.ECSTaskRoleArn, args.ECSExecutionRoleArn,
	).ApplyT(func(v []any) (asl.Targets, error) {
		t := asl.Targets{
			ClusterIdentifier: v[0].(string), ClusterArn: v[1].(string),
			WriterInstanceIdentifier: v[2].(string), ReaderInstanceIdentifiers: v[3].([]string),
			EcsClusterArn: v[4].(string), EcsServiceName: v[5].(string), EcsServiceArn: v[6].(string),
			TargetGroupArns: v[7].([]string), TableName: v[8].(string), TableArn: v[9].(string),
			BackupVaultName: v[10].(string), ProtectedResourceArns: v[11].([]string), RestoreRoleArn: v[12].(string),
			RestoreKmsKeyArn: v[13].(string), CanaryName: v[14].(string), AlarmNames: v[15].([]string), TopicArn: v[16].(string),
			TaskRoleArn: v[17].(string), ExecutionRoleArn: v[18].(string),
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

	schedules := map[string]*statemachine.Schedule{
		asl.HealthCheckName: {
			Name: args.Names.Name(naming.HealthCheckSchedule), RoleName: args.Names.Name(naming.HealthCheckSchedRole),
			Description: "trading-ha health check runbook", Expression: cfg.HealthCheckSchedule,
			Input: ScheduleInput(args.Names.Name(naming.HealthCheckSchedule)), MaxEventAgeSeconds: 300,
			DeadLetterArn: args.SchedulerDLQArn, DeadLetterQueueName: args.SchedulerDLQName,
		},
		asl.BackupVerificationName: {
			Name: args.Names.Name(naming.BackupVerifySchedule), RoleName: args.Names.Name(naming.BackupVerifySchedRole),
			Description: "trading-ha backup verification runbook", Expression: cfg.BackupVerifySchedule,
			Input: ScheduleInput(args.Names.Name(naming.BackupVerifySchedule)), MaxEventAgeSeconds: 3600,
			DeadLetterArn: args.SchedulerDLQArn, DeadLetterQueueName: args.SchedulerDLQName,
		},
	}
	machines := map[string]*statemachine.Machine{}
	for _, m := range Machines() {
		rb := m.Runbook
		sm, err := statemachine.New(ctx, rb.Name, statemachine.Spec{
			Name:             args.Names.Name(m.StateMachine),
			LogGroupName:     args.Names.Name(m.Logs),
			RoleName:         args.Names.Name(m.Role),
			AccountID:        args.AccountID,
			Region:           args.Config.Region,
			LogRetentionDays: args.Config.LogRetentionDays,
			TelemetryKeyArn:  args.TelemetryKeyArn,
			TelemetryKey:     args.TelemetryKey,
			Definition: targets.ApplyT(func(v any) (*asl.StateMachine, error) {
				sm, err := rb.Build(v.(asl.Targets))
				if err != nil {
					return nil, fmt.Errorf("build %s: %w", rb.Name, err)
				}
				return sm, nil
			}),
			Schedule: schedules[rb.Name],
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("runbook %s: %w", rb.Name, err)
		}
		machines[rb.Name] = sm
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

// ScheduleInput is the execution input a schedule passes: the runbooks'
// input contract needs requestedBy.
func ScheduleInput(scheduleName string) string {
	return `{"requestedBy":"scheduler:` + scheduleName + `"}`
}

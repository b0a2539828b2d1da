// Package runbooks deploys the five Step Functions runbooks built by
// infra/asl — health check, backup verification, database
// failover, service recovery and migrate — as STANDARD state machines, each with its
// own role (policy derived from the definition), a KMS-encrypted log group
// (level ALL with execution data) and X-Ray tracing. The health check and
// the backup verification also run on EventBridge Scheduler schedules.
package runbooks

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	awsarn "github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/asl"
	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/statemachine"
)

// Args configures the component. Names and name-derived ARNs (infra/arn)
// are plain strings, so the definitions are built and validated at program
// time; only the values AWS makes at create time are outputs.
type Args struct {
	Names naming.Namer
	// Shared are the stack-wide settings (region, zones, deletion protection, log retention).
	Shared config.Shared
	// Runbooks is the runbooks section: schedules and timeouts.
	Runbooks config.Runbooks
	// At is where the runbooks deploy (partition, region, account).
	At awsarn.At
	// TelemetryKeyArn encrypts the log groups and the alarm topic the
	// runbooks publish to.
	TelemetryKeyArn pulumi.StringInput
	// TopicArn receives every runbook report.
	TopicArn string
	// SchedulerDLQArn receives the schedules' undeliverable invocations;
	// SchedulerDLQName is that queue's name (the schedule roles' policies
	// name the queue by the ARN it gives).
	SchedulerDLQArn  pulumi.StringInput
	SchedulerDLQName string
	// TelemetryKey and DataKey are the keys as identity policies name
	// them: by alias (iamdoc.Key). The data key encrypts the sessions table
	// and the table the backup verification restores.
	TelemetryKey, DataKey iamdoc.Key

	// ClusterIdentifier, ClusterArn and the instance identifiers are the
	// Aurora cluster's.
	ClusterIdentifier         string
	ClusterArn                string
	WriterInstanceIdentifier  string
	ReaderInstanceIdentifiers []string
	// ECSClusterArn, ECSServiceName, ECSServiceArn and TargetGroupNames are
	// the trading service's; the runbooks look the target groups' ARNs up
	// by name at run time (asl.Targets.TargetGroupNames).
	ECSClusterArn    string
	ECSServiceName   string
	ECSServiceArn    string
	TargetGroupNames []string
	// ECSTaskRoleArn and ECSExecutionRoleArn are the roles of the service's
	// task definitions: the service recovery's rollback passes them to ECS
	// (iam:PassRole on exactly these two).
	ECSTaskRoleArn      string
	ECSExecutionRoleArn string
	// MigrateTaskFamily, MigrateExecutionRoleArn and MigrateNetworkParameter
	// are the one-off migrate task's family, its execution role (the migrate
	// runbook passes it to ECS) and the full name of the parameter holding
	// its network (asl.MigrateNetworkPath).
	MigrateTaskFamily, MigrateExecutionRoleArn, MigrateNetworkParameter string
	// TableName and TableArn are the sessions table's.
	TableName string
	TableArn  string
	// BackupVaultName, ProtectedResourceArns and RestoreRoleArn come from
	// the backup component; TableArn must be a protected resource.
	BackupVaultName       string
	ProtectedResourceArns []string
	RestoreRoleArn        string
	// CanaryName and AlarmNames come from monitoring.
	CanaryName string
	AlarmNames []string
	// CustomerImpactAlarmNames, DependencyAlarmNames and ZonalAlarmNames
	// are the metric alarms the service recovery judges by
	// (monitoring.CustomerImpactAlarmNames, DependencyAlarmNames,
	// ZonalAlarmNames).
	CustomerImpactAlarmNames, DependencyAlarmNames, ZonalAlarmNames []string
	// PageTopicArn is the paging topic: the service recovery publishes
	// NOT_RECOVERED and ROLLBACK_FAILED there.
	PageTopicArn string
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
	MigrateArn          pulumi.StringOutput
	MigrateName         pulumi.StringOutput
}

// Machine ties a runbook to its physical names.
type Machine struct {
	// Runbook is the asl runbook; its Name is the resources' logical name.
	Runbook asl.Runbook
	// StateMachine, Logs and Role are the naming kinds of the machine.
	StateMachine, Logs, Role naming.Kind
}

// Machines lists the five runbooks in a fixed order.
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
		{byName[asl.MigrateName], naming.MigrateSM, naming.MigrateLogs, naming.MigrateRole},
	}
}

// New creates the state machines, their roles, log groups and schedules.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Runbooks, error) {
	cfg := args.Runbooks

	targets := asl.Targets{
		ClusterIdentifier: args.ClusterIdentifier, ClusterArn: args.ClusterArn,
		WriterInstanceIdentifier: args.WriterInstanceIdentifier, ReaderInstanceIdentifiers: args.ReaderInstanceIdentifiers,
		ECSClusterArn: args.ECSClusterArn, ECSServiceName: args.ECSServiceName, ECSServiceArn: args.ECSServiceArn,
		TargetGroupNames: args.TargetGroupNames, TableName: args.TableName, TableArn: args.TableArn,
		BackupVaultName: args.BackupVaultName, ProtectedResourceArns: args.ProtectedResourceArns, RestoreRoleArn: args.RestoreRoleArn,
		CanaryName: args.CanaryName, AlarmNames: args.AlarmNames, TopicArn: args.TopicArn,
		CustomerImpactAlarmNames: args.CustomerImpactAlarmNames, DependencyAlarmNames: args.DependencyAlarmNames,
		ZonalAlarmNames: args.ZonalAlarmNames, PageTopicArn: args.PageTopicArn,
		TaskRoleArn: args.ECSTaskRoleArn, ExecutionRoleArn: args.ECSExecutionRoleArn,
		MigrateTaskFamily: args.MigrateTaskFamily, MigrateExecutionRoleArn: args.MigrateExecutionRoleArn,
		MigrateNetworkParameter:  args.MigrateNetworkParameter,
		DataKeyAlias:             args.DataKey.Alias,
		RpoThresholdMinutes:      cfg.BackupMaxAgeMinutes,
		FailoverTimeoutSeconds:   cfg.FailoverTimeoutSeconds,
		DeploymentTimeoutSeconds: cfg.DeploymentTimeoutSeconds,
		RestoreTimeoutSeconds:    cfg.RestoreTimeoutSeconds,
	}
	// Every definition is built and validated now, before the component or
	// any of its resources registers: a broken definition or target fails Deploy
	// at the first preview.
	// Every target is a name or a name-derived ARN (asl.Targets; the data
	// key is named by its alias), so each plan is plain strings.
	plans := map[string]statemachine.Plan{}
	for _, m := range Machines() {
		sm, err := m.Runbook.Build(targets)
		if err != nil {
			return nil, fmt.Errorf("runbook %s: build: %w", m.Runbook.Name, err)
		}
		if plans[m.Runbook.Name], err = statemachine.NewPlan(m.Runbook.Name, sm, args.TelemetryKey); err != nil {
			return nil, fmt.Errorf("runbook %s: %w", m.Runbook.Name, err)
		}
	}

	c := &Runbooks{}
	if err := ctx.RegisterComponentResource("trading:runbooks:Runbooks", name, c, opts...); err != nil {
		return nil, fmt.Errorf("register runbooks component: %w", err)
	}
	parent := pulumi.Parent(c)
	// Children are named from the component (naming.ChildrenOf).
	kids := naming.ChildrenOf(name)

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
		sm, err := statemachine.New(ctx, kids, rb.Name, statemachine.Spec{
			Name:             args.Names.Name(m.StateMachine),
			LogGroupName:     args.Names.Name(m.Logs),
			RoleName:         args.Names.Name(m.Role),
			At:               args.At,
			LogRetentionDays: args.Shared.LogRetentionDays,
			TelemetryKeyArn:  args.TelemetryKeyArn,
			TelemetryKey:     args.TelemetryKey,
			Plan:             plans[rb.Name],
			Schedule:         schedules[rb.Name],
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
	mg := machines[asl.MigrateName]
	c.MigrateArn, c.MigrateName = mg.Arn, mg.Name
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"migrateArn": c.MigrateArn, "migrateName": c.MigrateName,
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

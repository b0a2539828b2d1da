package infra

import (
	"github.com/trading-ha/trading-ha/infra/asl"
	"github.com/trading-ha/trading-ha/infra/backup"
	"github.com/trading-ha/trading-ha/infra/drills"
	"github.com/trading-ha/trading-ha/infra/events"
	"github.com/trading-ha/trading-ha/infra/monitoring"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/runbooks"
	"github.com/trading-ha/trading-ha/infra/storage"
)

// recoveryTier builds what recovers: backup, the runbooks, the event bus and
// its rules, and the game-day drills.
func (p *platform) recoveryTier() error {
	ctx := p.ctx
	var err error
	// Names and name-derived ARNs the backup, runbooks and events
	// components share, though the producers' outputs exist by now: each
	// feeds a document a reviewer reads in the pull request's first
	// preview (the runbooks' ASL and roles, the vault and bus policies,
	// the rule patterns), and an output would leave it unknown there.
	ecsCluster, ecsService := p.names.Name(naming.ECSCluster), p.names.Name(naming.ECSService)
	ecsClusterArn, ecsServiceArn := p.at.ECSCluster(ecsCluster), p.at.ECSService(ecsCluster, ecsService)
	dbClusterArn := p.at.DBCluster(p.db.Identifier)
	tableName, vaultName := p.names.Name(naming.SessionsTable), p.names.Name(naming.BackupVault)
	targetGroupName := p.svc.TargetGroupName

	// --- backup ---

	p.vault, err = backup.New(ctx, "backup", backup.Args{
		Names: p.names, Shared: p.cfg.Shared, Backup: p.cfg.Backup, AccountID: p.account,
		DataKeyArn: p.keys.DataKeyArn, TelemetryKeyArn: p.keys.TelemetryKeyArn, AlarmTopicArn: p.watch.NotifyTopicArn,
		SchedulerDLQArn: p.watch.SchedulerDLQArn, SchedulerDLQName: p.names.Name(naming.SchedulerDLQ),
		TelemetryKey: p.telemetryKey, DataKey: p.dataKey,
		AuroraClusterArn: p.db.Arn, TableArn: p.table.Arn, DataBucketArn: p.buckets.DataArn,
		DataBucket: p.buckets.DataBucketName, SnapshotPrefix: storage.ServiceSnapshotsPrefix,
		DBSubnetGroupName: p.db.SubnetGroupName, DBSecurityGroupID: p.net.DBSecurityGroupID,
		AlarmTopicName: p.names.Name(naming.NotifyTopic),
		ECSClusterArn:  ecsClusterArn, ECSServiceArn: ecsServiceArn,
		TargetGroupName: targetGroupName,
		DRProvider:      p.drProvider,
	}, p.withAWS)
	if err != nil {
		return err
	}

	// --- runbooks ---

	// The composite alarm aggregates the metric alarms, so the health check
	// watches it alone.
	p.rb, err = runbooks.New(ctx, "runbooks", runbooks.Args{
		Names: p.names, Shared: p.cfg.Shared, Runbooks: p.cfg.Runbooks, At: p.at,
		TelemetryKeyArn:  p.keys.TelemetryKeyArn,
		TopicArn:         p.at.Topic(p.names.Name(naming.NotifyTopic)),
		SchedulerDLQArn:  p.watch.SchedulerDLQArn,
		SchedulerDLQName: p.names.Name(naming.SchedulerDLQ),
		TelemetryKey:     p.telemetryKey, DataKey: p.dataKey,
		ClusterIdentifier:         p.db.Identifier,
		ClusterArn:                dbClusterArn,
		WriterInstanceIdentifier:  p.db.Writer(),
		ReaderInstanceIdentifiers: p.db.Readers(),
		ECSClusterArn:             ecsClusterArn,
		ECSServiceName:            ecsService,
		ECSServiceArn:             ecsServiceArn,
		ECSTaskRoleArn:            p.at.Role(p.names.Name(naming.TaskRole)),
		ECSExecutionRoleArn:       p.at.Role(p.names.Name(naming.TaskExecutionRole)),
		MigrateTaskFamily:         p.names.Name(naming.MigrateTaskFamily),
		MigrateExecutionRoleArn:   p.at.Role(p.names.Name(naming.MigrateExecutionRole)),
		MigrateNetworkParameter:   p.names.Parameter(asl.MigrateNetworkPath),
		TargetGroupNames:          []string{targetGroupName},
		TableName:                 tableName,
		TableArn:                  p.at.Table(tableName),
		BackupVaultName:           vaultName,
		ProtectedResourceArns: []string{
			dbClusterArn, p.at.Table(tableName), p.at.Bucket(p.buckets.DataBucketName),
		},
		RestoreRoleArn: p.at.Role(p.names.Name(naming.BackupRole)),
		CanaryName:     p.watch.CanaryName,
		AlarmNames:     []string{p.watch.CompositeAlarmName},
		// The service recovery judges by metric alarms, named at program
		// time (monitoring checks they are created).
		CustomerImpactAlarmNames: monitoring.CustomerImpactAlarmNames(p.names),
		DependencyAlarmNames:     monitoring.DependencyAlarmNames(p.names, []string{"sessions"}),
		ZonalAlarmNames:          monitoring.ZonalAlarmNames(p.names, p.cfg.AvailabilityZones),
		PageTopicArn:             p.at.Topic(p.names.Name(naming.AlarmTopic)),
	}, p.withAWS)
	if err != nil {
		return err
	}

	// --- events ---

	p.bus, err = events.New(ctx, "events", events.Args{
		Names: p.names, Shared: p.cfg.Shared, Events: p.cfg.Events, AccountID: p.account,
		TelemetryKeyArn: p.keys.TelemetryKeyArn, AlarmTopicArn: p.watch.NotifyTopicArn,
		// Name-derived, so the bus policy is known at preview.
		TaskRoleArn: p.at.Role(p.names.Name(naming.TaskRole)),
		// The rule patterns' scopes are name-derived too: known at preview.
		AuroraClusterArn: dbClusterArn, ECSClusterArn: ecsClusterArn, ECSServiceArn: ecsServiceArn,
		ECSServiceName: ecsService, BackupVaultName: vaultName,
		CompositeAlarmArn: p.at.Alarm(p.watch.CompositeAlarmName), RecoveryStateMachineArn: p.rb.ServiceRecoveryArn,
		HealthCheckStateMachineArn: p.rb.HealthCheckArn,
	}, p.withAWS)
	if err != nil {
		return err
	}

	// --- resilience ---
	p.drill, err = drills.New(ctx, "resilience", drills.Args{
		Names: p.names, Shared: p.cfg.Shared, Drills: p.cfg.Drills, Stack: p.cfg.Stack, RTO: p.cfg.RTO, RPO: p.cfg.RPO,
		AccountID: p.account, TelemetryKeyArn: p.keys.TelemetryKeyArn,
		VPCID: p.net.VPCID, PublicSubnetIDs: p.net.PublicSubnetIDs,
		PrivateSubnetIDs: p.net.PrivateSubnetIDs, IsolatedSubnetIDs: p.net.IsolatedSubnetIDs,
		ECSClusterName:    p.svc.ClusterName,
		ECSClusterArn:     p.svc.ClusterArn,
		ECSServiceName:    p.svc.ServiceName,
		AuroraClusterArn:  p.db.Arn,
		CompositeAlarmArn: p.watch.CompositeAlarmArn,
	}, p.withAWS)
	if err != nil {
		return err
	}
	return nil
}

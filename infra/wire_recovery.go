package infra

import (
	"github.com/trading-ha/trading-ha/infra/asl"
	"github.com/trading-ha/trading-ha/infra/backup"
	"github.com/trading-ha/trading-ha/infra/drills"
	"github.com/trading-ha/trading-ha/infra/events"
	"github.com/trading-ha/trading-ha/infra/monitoring"
	"github.com/trading-ha/trading-ha/infra/runbooks"
	"github.com/trading-ha/trading-ha/infra/storage"
)

// recoveryTier builds what recovers: backup, the runbooks, the event bus and
// its rules, and the game-day drills.
func (p *platform) recoveryTier() error {
	ctx := p.ctx
	var err error
	// Program-time identities (each producer's Known) rather than the
	// resources' outputs: each feeds a document a reviewer reads in the
	// pull request's first preview (the runbooks' ASL and roles, the vault
	// and bus policies, the rule patterns), and an output would leave it
	// unknown there.
	ecs := p.svc.Known
	dbClusterArn := p.at.DBCluster(p.db.Identifier)
	tableName := p.table.KnownName

	// --- backup ---

	p.vault, err = backup.New(ctx, "backup", backup.Args{
		Names: p.names, Shared: p.cfg.Shared, Backup: p.cfg.Backup, AccountID: p.account,
		DataKeyArn: p.keys.DataKeyArn, TelemetryKeyArn: p.keys.TelemetryKeyArn, AlarmTopicArn: p.watch.NotifyTopicArn,
		SchedulerDLQArn: p.watch.SchedulerDLQArn, SchedulerDLQName: p.watch.Known.SchedulerDLQName,
		TelemetryKey: p.telemetryKey, DataKey: p.dataKey,
		AuroraClusterArn: p.db.Arn, TableArn: p.table.Arn, DataBucketArn: p.buckets.DataArn,
		DataBucket: p.buckets.DataBucketName, SnapshotPrefix: storage.ServiceSnapshotsPrefix,
		DBSubnetGroupName: p.db.SubnetGroupName, DBSecurityGroupID: p.net.DBSecurityGroupID,
		AlarmTopicName: p.watch.Known.NotifyTopicName,
		ECSClusterArn:  ecs.ClusterArn, ECSServiceArn: ecs.ServiceArn,
		TargetGroupName: p.svc.TargetGroupName,
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
		TopicArn:         p.watch.Known.NotifyTopicArn,
		SchedulerDLQArn:  p.watch.SchedulerDLQArn,
		SchedulerDLQName: p.watch.Known.SchedulerDLQName,
		TelemetryKey:     p.telemetryKey, DataKey: p.dataKey,
		ClusterIdentifier:         p.db.Identifier,
		ClusterArn:                dbClusterArn,
		WriterInstanceIdentifier:  p.db.Writer(),
		ReaderInstanceIdentifiers: p.db.Readers(),
		ECSClusterArn:             ecs.ClusterArn,
		ECSServiceName:            ecs.ServiceName,
		ECSServiceArn:             ecs.ServiceArn,
		ECSTaskRoleArn:            ecs.TaskRoleArn,
		ECSExecutionRoleArn:       ecs.ExecutionRoleArn,
		MigrateTaskFamily:         p.svc.MigrateTaskFamily,
		MigrateExecutionRoleArn:   ecs.MigrateExecutionRoleArn,
		MigrateNetworkParameter:   p.names.Parameter(asl.MigrateNetworkPath),
		TargetGroupNames:          []string{p.svc.TargetGroupName},
		TableName:                 tableName,
		TableArn:                  p.at.Table(tableName),
		BackupVaultName:           p.vault.Known.VaultName,
		ProtectedResourceArns: []string{
			dbClusterArn, p.at.Table(tableName), p.at.Bucket(p.buckets.DataBucketName),
		},
		RestoreRoleArn: p.vault.Known.RoleArn,
		CanaryName:     p.watch.CanaryName,
		AlarmNames:     []string{p.watch.CompositeAlarmName},
		// The service recovery judges by metric alarms, named at program
		// time (monitoring checks they are created).
		CustomerImpactAlarmNames: monitoring.CustomerImpactAlarmNames(p.names),
		DependencyAlarmNames:     monitoring.DependencyAlarmNames(p.names, []string{"sessions"}),
		ZonalAlarmNames:          monitoring.ZonalAlarmNames(p.names, p.cfg.AvailabilityZones),
		PageTopicArn:             p.watch.Known.PageTopicArn,
	}, p.withAWS)
	if err != nil {
		return err
	}

	// --- events ---

	p.bus, err = events.New(ctx, "events", events.Args{
		Names: p.names, Shared: p.cfg.Shared, Events: p.cfg.Events, AccountID: p.account,
		TelemetryKeyArn: p.keys.TelemetryKeyArn, AlarmTopicArn: p.watch.NotifyTopicArn,
		// Name-derived, so the bus policy is known at preview.
		TaskRoleArn: ecs.TaskRoleArn,
		// The rule patterns' scopes are name-derived too: known at preview.
		AuroraClusterArn: dbClusterArn, ECSClusterArn: ecs.ClusterArn, ECSServiceArn: ecs.ServiceArn,
		ECSServiceName: ecs.ServiceName, BackupVaultName: p.vault.Known.VaultName,
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

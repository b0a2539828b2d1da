// Package infra is the composition root of trading-ha: Deploy loads and
// validates the stack configuration, then builds every component in
// dependency order, handing each the IDs and ARNs it needs, and exports the
// outputs operators use.
package infra

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/backup"
	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/events"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/network"
	"github.com/trading-ha/trading-ha/infra/params"
	"github.com/trading-ha/trading-ha/infra/runbooks"
	"github.com/trading-ha/trading-ha/infra/security"
	"github.com/trading-ha/trading-ha/infra/sessions"
	"github.com/trading-ha/trading-ha/infra/storage"
)

// Deploy is the Pulumi program. Invalid configuration fails here, before
// any resource is registered.
func Deploy(ctx *pulumi.Context) error {
	cfg, err := config.Load(ctx)
	if err != nil {
		return err
	}
	names := naming.New(cfg.EnvironmentSuffix)

	// One explicit provider carries the region and the default tags, so
	// every resource is tagged and the mock suite sees the tags.
	provider, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{
		Region:      pulumi.String(cfg.Region),
		DefaultTags: &aws.ProviderDefaultTagsArgs{Tags: pulumi.ToStringMap(cfg.DefaultTags)},
	})
	if err != nil {
		return fmt.Errorf("create aws provider: %w", err)
	}
	withAWS := pulumi.Providers(provider)
	caller, err := aws.GetCallerIdentity(ctx, nil, pulumi.Provider(provider))
	if err != nil {
		return fmt.Errorf("look up the AWS account: %w", err)
	}
	account := caller.AccountId

	keys, err := security.New(ctx, "security", security.Args{Names: names, AccountID: account, Region: cfg.Region}, withAWS)
	if err != nil {
		return err
	}
	net, err := network.New(ctx, "network", network.Args{
		Names: names, Config: cfg, AccountID: account, TelemetryKeyArn: keys.TelemetryKeyArn,
	}, withAWS)
	if err != nil {
		return err
	}
	buckets, err := storage.New(ctx, "storage", storage.Args{
		Names: names, Config: cfg, AccountID: account, DataKeyArn: keys.DataKeyArn,
	}, withAWS)
	if err != nil {
		return err
	}
	table, err := sessions.New(ctx, "sessions", sessions.Args{
		Names: names, DataKeyArn: keys.DataKeyArn, DeletionProtection: cfg.DeletionProtection,
	}, withAWS)
	if err != nil {
		return err
	}

	// Composition order (each block below is one component; a later block
	// may use an earlier one's outputs, never the reverse):
	//   database -> params -> service -> dns -> monitoring -> backup -> runbooks -> events -> resilience
	// The event bus and state machine names are fixed by naming, so the
	// service's task role and the alarms can scope to their ARNs before
	// those components exist in the order.

	// --- database ---

	entries := []params.Entry{
		{Path: "env/region", Value: pulumi.String(cfg.Region), Description: "AWS region of the stack"},
		{Path: "env/suffix", Value: pulumi.String(cfg.EnvironmentSuffix), Description: "environmentSuffix of the stack"},
		{Path: "env/availability-zones", Value: pulumi.String(jsonList(cfg.AvailabilityZones)), Description: "availability zones the stack spans"},
		{Path: "sessions/table", Value: table.Name, Description: "DynamoDB sessions table"},
		{Path: "sessions/ttl", Value: pulumi.String(cfg.Sessions.TTL.String()), Description: "session lifetime (Go duration)"},
		{Path: "storage/data-bucket", Value: buckets.DataBucket, Description: "application data bucket"},
	}
	for _, f := range cfg.Params.FeatureFlags {
		entries = append(entries, params.Entry{Path: "flags/" + f, Value: pulumi.String("on"), Description: "feature flag"})
	}
	store, err := params.New(ctx, "params", params.Args{Names: names, DataKeyArn: keys.DataKeyArn, Entries: entries}, withAWS)
	if err != nil {
		return err
	}

	// --- service ---

	// --- dns ---

	// --- monitoring ---

	// --- backup ---

	// Until the database, service and monitoring components merge, their
	// outputs are built from naming + account: the same values AWS (and the
	// offline mocks) produce.
	arnIn := func(service, res string) pulumi.StringInput {
		return pulumi.String(fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, cfg.Region, account, res))
	}
	auroraClusterArn := arnIn("rds", "cluster:"+names.Name(naming.AuroraCluster))                                      // MERGE: database ClusterArn
	dbSubnetGroupName := pulumi.String(names.Name(naming.DBSubnetGroup))                                               // MERGE: database SubnetGroupName
	alarmTopicArn := arnIn("sns", names.Name(naming.AlarmTopic))                                                       // MERGE: monitoring TopicArn
	ecsClusterArn := arnIn("ecs", "cluster/"+names.Name(naming.ECSCluster))                                            // MERGE: service ClusterArn
	ecsServiceArn := arnIn("ecs", "service/"+names.Name(naming.ECSCluster)+"/"+names.Name(naming.ECSService))          // MERGE: service ServiceArn
	ecsServiceName := pulumi.String(names.Name(naming.ECSService))                                                     // MERGE: service ServiceName
	targetGroupArn := arnIn("elasticloadbalancing", "targetgroup/"+names.Name(naming.TargetGroup)+"/73e2d6bc24d8a067") // MERGE: service TargetGroupArn (placeholder id = the mock's)
	compositeAlarmArn := arnIn("cloudwatch", "alarm:"+names.Name(naming.CompositeAlarm))                               // MERGE: monitoring CompositeAlarmArn
	taskRoleArn := pulumi.String(fmt.Sprintf("arn:aws:iam::%s:role/%s", account, names.Name(naming.TaskRole)))         // MERGE: service TaskRoleArn

	vault, err := backup.New(ctx, "backup", backup.Args{
		Names: names, Config: cfg, AccountID: account, Region: cfg.Region,
		DataKeyArn: keys.DataKeyArn, TelemetryKeyArn: keys.TelemetryKeyArn, AlarmTopicArn: alarmTopicArn,
		AuroraClusterArn: auroraClusterArn, TableArn: table.Arn, DataBucketArn: buckets.DataArn,
		DataBucket: buckets.DataBucket, SnapshotPrefix: storage.ServiceSnapshotsPrefix,
		DBSubnetGroupName: dbSubnetGroupName, DBSecurityGroupID: net.DBSecurityGroupID,
		ECSClusterArn: ecsClusterArn, ECSServiceArn: ecsServiceArn, TargetGroupArn: targetGroupArn,
	}, withAWS)
	if err != nil {
		return err
	}

	// --- runbooks ---

	// The database identifiers follow the database component's naming
	// (aurora-<suffix>, instances aurora-<suffix>-1..N, one per AZ, the
	// first created as writer); the canary and the composite alarm follow
	// monitoring's. The composite alarm aggregates the metric alarms, so the
	// health check watches it alone.
	auroraID := names.Name(naming.AuroraCluster)
	readerIDs := pulumi.StringArray{}
	for i := 2; i <= len(cfg.AvailabilityZones); i++ {
		readerIDs = append(readerIDs, pulumi.String(fmt.Sprintf("%s-%d", auroraID, i))) // MERGE: database ReaderInstanceIdentifiers
	}
	rb, err := runbooks.New(ctx, "runbooks", runbooks.Args{
		Names: names, Config: cfg, AccountID: account,
		TelemetryKeyArn: keys.TelemetryKeyArn, DataKeyArn: keys.DataKeyArn, TopicArn: alarmTopicArn,
		ClusterIdentifier:         pulumi.String(auroraID), // MERGE: database ClusterIdentifier
		ClusterArn:                auroraClusterArn,
		WriterInstanceIdentifier:  pulumi.String(auroraID + "-1"), // MERGE: database WriterInstanceIdentifier
		ReaderInstanceIdentifiers: readerIDs,
		ECSClusterArn:             ecsClusterArn, ECSServiceName: ecsServiceName, ECSServiceArn: ecsServiceArn,
		TargetGroupArns: pulumi.StringArray{targetGroupArn},
		TableName:       table.Name, TableArn: table.Arn,
		BackupVaultName:       vault.VaultName,
		ProtectedResourceArns: pulumi.StringArray{auroraClusterArn, table.Arn, buckets.DataArn},
		RestoreRoleArn:        vault.RoleArn,
		CanaryName:            pulumi.String(names.Name(naming.Canary)),                             // MERGE: monitoring CanaryName
		AlarmNames:            pulumi.StringArray{pulumi.String(names.Name(naming.CompositeAlarm))}, // MERGE: monitoring CompositeAlarmName
	}, withAWS)
	if err != nil {
		return err
	}

	// --- events ---

	bus, err := events.New(ctx, "events", events.Args{
		Names: names, Config: cfg, AccountID: account, Region: cfg.Region,
		TelemetryKeyArn: keys.TelemetryKeyArn, TaskRoleArn: taskRoleArn, AlarmTopicArn: alarmTopicArn,
		AuroraClusterArn: auroraClusterArn, ECSClusterArn: ecsClusterArn, ECSServiceArn: ecsServiceArn,
		ECSServiceName: ecsServiceName, BackupVaultName: vault.VaultName,
		CompositeAlarmArn: compositeAlarmArn, RecoveryStateMachineArn: rb.ServiceRecoveryArn,
		HealthCheckStateMachineArn: rb.HealthCheckArn,
	}, withAWS)
	if err != nil {
		return err
	}

	// --- resilience ---

	ctx.Export("vpcId", net.VpcID)
	ctx.Export("privateSubnetIds", net.PrivateSubnetIDs)
	ctx.Export("dataKeyArn", keys.DataKeyArn)
	ctx.Export("dataBucket", buckets.DataBucket)
	ctx.Export("logsBucket", buckets.LogsBucket)
	ctx.Export("sessionsTable", table.Name)
	ctx.Export("parameterRoot", pulumi.String(names.ParameterPath()))
	ctx.Export("eventBusName", bus.BusName)
	ctx.Export("ordersQueueUrl", bus.QueueURL)
	ctx.Export("backupVaultName", vault.VaultName)
	ctx.Export("serviceSnapshotStateMachineArn", vault.SnapshotStateMachineArn)
	ctx.Export("healthCheckStateMachineArn", rb.HealthCheckArn)
	ctx.Export("backupVerifyStateMachineArn", rb.BackupVerifyArn)
	ctx.Export("dbFailoverStateMachineArn", rb.DBFailoverArn)
	ctx.Export("serviceRecoveryStateMachineArn", rb.ServiceRecoveryArn)
	_ = store
	return nil
}

func jsonList(items []string) string {
	b, _ := json.Marshal(items) // a []string always marshals
	return string(b)
}

// Package infra is the composition root of trading-ha: Deploy loads and
// validates the stack configuration, then builds every component in
// dependency order, handing each the IDs and ARNs it needs, and exports the
// outputs operators use.
package infra

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	awsarn "github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/audit"
	"github.com/trading-ha/trading-ha/infra/backup"
	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/database"
	"github.com/trading-ha/trading-ha/infra/dns"
	"github.com/trading-ha/trading-ha/infra/drills"
	"github.com/trading-ha/trading-ha/infra/events"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/identity"
	"github.com/trading-ha/trading-ha/infra/monitoring"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/network"
	"github.com/trading-ha/trading-ha/infra/params"
	"github.com/trading-ha/trading-ha/infra/paramtable"
	"github.com/trading-ha/trading-ha/infra/runbooks"
	"github.com/trading-ha/trading-ha/infra/security"
	"github.com/trading-ha/trading-ha/infra/service"
	"github.com/trading-ha/trading-ha/infra/sessions"
	"github.com/trading-ha/trading-ha/infra/storage"
	"github.com/trading-ha/trading-ha/infra/version"
)

// Deploy is the Pulumi program. Invalid configuration fails here, before
// any resource is registered.
func Deploy(ctx *pulumi.Context) error {
	cfg, err := config.Load(ctx)
	if err != nil {
		return err
	}
	names := naming.New(cfg.EnvironmentSuffix)
	// The project root (where Pulumi.yaml is): the image's build context.
	root := ctx.RootDirectory()
	if root == "" {
		if root, err = os.Getwd(); err != nil {
			return fmt.Errorf("project directory: %w", err)
		}
	}

	// Explicit providers (infra/providers.go): the aws one carries the
	// region, the default tags and allowedAccountIds, so every resource is
	// tagged and stays in the stack's accounts; default providers are
	// disabled in the stack files.
	providers, err := newProviders(ctx, cfg)
	if err != nil {
		return err
	}
	withAWS := pulumi.Providers(providers.All...)
	drProvider, err := drRegionProvider(ctx, cfg)
	if err != nil {
		return err
	}
	caller, err := aws.GetCallerIdentity(ctx, nil, pulumi.Provider(providers.AWS))
	if err != nil {
		return fmt.Errorf("look up the AWS account: %w", err)
	}
	account := caller.AccountId
	if err := checkAccount(cfg, account); err != nil {
		return err
	}
	if err := checkVaultRoles(cfg, account); err != nil {
		return err
	}
	if err := warnCaller(ctx, cfg, caller.Arn, backup.PrincipalsOf(cfg, names, account)); err != nil {
		return err
	}

	// The keys as identity policies name them: by alias (iamdoc.Key), so
	// the policies that use a key are known at program time.
	at := awsarn.In(cfg.Region, account)
	dataKey := iamdoc.Key{Keys: at.Keys(), Alias: names.Name(naming.KMSDataAlias)}
	telemetryKey := iamdoc.Key{Keys: at.Keys(), Alias: names.Name(naming.KMSTelemetryAlias)}

	keys, err := security.New(ctx, "security", security.Args{
		Names: names, AccountID: account, Region: cfg.Region, DeletionWindowDays: cfg.KMSDeletionWindowDays(),
		TelemetryServices: trailKeyStatements(cfg, names, account),
	}, withAWS)
	if err != nil {
		return err
	}
	net, err := network.New(ctx, "network", network.Args{
		Names: names, Config: cfg, AccountID: account, TelemetryKeyArn: keys.TelemetryKeyArn,
		Providers: providers.All,
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
	db, err := database.New(ctx, "database", database.Args{
		Names: names, Config: cfg, AccountID: account,
		DataKeyArn: keys.DataKeyArn, TelemetryKeyArn: keys.TelemetryKeyArn,
		IsolatedSubnetIDs: net.IsolatedSubnetIDs,
		DBSecurityGroupID: net.DBSecurityGroupID, TasksSecurityGroupID: net.TasksSecurityGroupID,
	}, withAWS)
	if err != nil {
		return err
	}

	// --- identity ---
	who, err := identity.New(ctx, "identity", identity.Args{
		Names: names, Region: cfg.Region, Desks: cfg.Identity.Desks, DeletionProtection: cfg.DeletionProtection,
	}, withAWS)
	if err != nil {
		return err
	}

	// Plain settings, then the parameters the container reads through
	// valueFrom (infra/paramtable), which are SecureStrings under the data
	// key; the values those rows name come from here.
	entries := []params.Entry{
		{Path: "env/region", Value: pulumi.String(cfg.Region), Description: "AWS region of the stack"},
		{Path: "env/suffix", Value: pulumi.String(cfg.EnvironmentSuffix), Description: "environmentSuffix of the stack"},
		{Path: "env/availability-zones", Value: pulumi.String(jsonList(cfg.AvailabilityZones)), Description: "availability zones the stack spans"},
		{Path: "storage/data-bucket", Value: buckets.DataBucket, Description: "application data bucket"},
		{Path: "db/secret-arn", Value: db.SecretArn, Description: "RDS-managed master user secret (username, password)"},
		{Path: "identity/token-url", Value: who.TokenURL, Description: "OAuth2 token endpoint (client credentials, scope " + identity.Scope + ")"},
		{Path: identity.JWKSURLPath, Value: who.JWKSURL, Description: "the user pool's JWKS URL, which the key sync copies into " + paramtable.KeySetPath},
		{Path: paramtable.KeySetPath, Value: pulumi.String(paramtable.KeySetPlaceholder), Written: true,
			Description: "signing keys of the user pool (JWKS) for the service, kept by the key sync workflow"},
	}
	// The probes' clients: ids in plain text, secrets as SecureStrings the
	// canary (and the operator running the smoke test) read.
	for _, probe := range []string{identity.CanaryClient, identity.SmokeClient} {
		entries = append(entries,
			params.Entry{Path: ProbeParameter(probe, "client-id"), Value: who.ProbeClientIDs[probe], Description: probe + " app client id"},
			params.Entry{Path: ProbeParameter(probe, "client-secret"), Value: who.ProbeSecrets[probe], Description: probe + " app client secret", Secure: true},
		)
	}
	injected := paramtable.Values{
		DBWriterHost:  db.WriterEndpoint,
		DBReaderHost:  db.ReaderEndpoint,
		DBPort:        pulumi.String(strconv.Itoa(db.Port)),
		DBName:        pulumi.String(db.DatabaseName),
		DBSSLMode:     pulumi.String("verify-full"),
		SessionsTable: table.Name,
		EventBusName:  pulumi.String(names.Name(naming.EventBus)),
		SessionTTL:    pulumi.String(cfg.Sessions.TTL.String()),
		OIDCIssuer:    who.Issuer,
		OIDCClientIDs: who.ClientIDs,
		OIDCTraderMap: who.TraderMap,
	}
	for _, row := range paramtable.Rows {
		v := row.Value(injected)
		if v == nil {
			return fmt.Errorf("parameter %s (for %s): paramtable.Values has no value for it", row.Path, row.Env)
		}
		entries = append(entries, params.Entry{Path: row.Path, Value: v, Description: row.Description, Secure: true})
	}
	for _, f := range cfg.Params.FeatureFlags {
		entries = append(entries, params.Entry{Path: "flags/" + f, Value: pulumi.String("on"), Description: "feature flag"})
	}
	entries = append(entries, tradingEntries(cfg)...)
	store, err := params.New(ctx, "params", params.Args{Names: names, DataKeyArn: keys.DataKeyArn, Entries: entries}, withAWS)
	if err != nil {
		return err
	}

	// --- service ---
	svc, err := service.New(ctx, "service", service.Args{
		Names: names, Config: cfg, AccountID: account,
		VPCID: net.VPCID, PublicSubnetIDs: net.PublicSubnetIDs, PrivateSubnetIDs: net.PrivateSubnetIDs,
		ALBSecurityGroupID: net.ALBSecurityGroupID, TasksSecurityGroupID: net.TasksSecurityGroupID,
		S3PrefixListID: net.S3PrefixListID, DynamoDBPrefixListID: net.DynamoDBPrefixListID,
		EndpointSecurityGroupID: endpointGroup(cfg, net),
		DataKeyArn:              keys.DataKeyArn, TelemetryKeyArn: keys.TelemetryKeyArn, DataKey: dataKey,
		LogsBucket: buckets.LogsBucket, ALBLogsPrefix: storage.ALBLogsPrefix, LogsBucketPolicy: buckets.LogsPolicy,
		DataBucketArn: buckets.DataArn, SessionsTableArn: table.Arn,
		DBSecretArn: db.SecretArn, DBClusterResourceID: db.ResourceID,
		ParameterArns: store.Arns,
		// dns certificates validate in an already delegated zone (config
		// hostedZoneId): the stack's own zone is created after the ALB.
		HostedZoneID: pulumi.String(cfg.Service.HostedZoneID),
		SourceRoot:   root,
	}, withAWS)
	if err != nil {
		return err
	}

	// --- dns ---
	zone, err := dns.New(ctx, "dns", dns.Args{
		Names: names, Config: cfg,
		ALBDNSName: svc.ALBDNSName,
	}, withAWS)
	if err != nil {
		return err
	}

	// --- monitoring ---
	// The runbooks come later in the order (they watch these alarms); their
	// names are fixed by naming, so the failed-execution alarms scope to the
	// ARNs those names give (tests/runbooks_test.go checks they match).
	stateMachineArn := func(k naming.Kind) pulumi.StringInput {
		return pulumi.String(at.StateMachine(names.Name(k)))
	}
	watch, err := monitoring.New(ctx, "monitoring", monitoring.Args{
		Names: names, Config: cfg, AccountID: account, TelemetryKeyArn: keys.TelemetryKeyArn, TelemetryKey: telemetryKey,
		PagingKeyArn: keys.PagingKeyArn,
		LogsBucket:   buckets.LogsBucket, LogsBucketArn: at.Bucket(buckets.LogsBucketName),
		ArtifactsPrefix: storage.CanaryPrefix, CodePrefix: storage.CanaryCodePrefix,
		Endpoint: monitoring.Endpoint{TargetURL: zone.TargetURL, TLSInsecure: zone.TLSInsecure, HealthCheckID: zone.HealthCheckID,
			CertificateArn: svc.CertificateArn},
		Probe: monitoring.Probe{
			TokenURL: who.TokenURL, ClientID: who.ProbeClientIDs[identity.CanaryClient],
			SecretParameter:         store.Names[ProbeParameter(identity.CanaryClient, "client-secret")],
			SecretParameterResource: store.Parameters[ProbeParameter(identity.CanaryClient, "client-secret")],
			DataKey:                 dataKey,
		},
		LoadBalancer: monitoring.LoadBalancer{
			ArnSuffix:            svc.ALBArnSuffix,
			TargetGroupArnSuffix: svc.TargetGroupArnSuffix,
		},
		Service: monitoring.Service{
			ClusterName:  svc.ClusterName,
			ServiceName:  svc.ServiceName,
			DesiredCount: pulumi.Int(svc.DesiredCount),
		},
		Database: monitoring.Database{
			ClusterIdentifier:   pulumi.String(db.Identifier),
			InstanceIdentifiers: db.InstanceIdentifiers,
		},
		Tables: []monitoring.Table{{Key: "sessions", Name: table.Name}},
		StateMachines: []monitoring.StateMachine{
			{Kind: naming.HealthCheckSM, Arn: stateMachineArn(naming.HealthCheckSM)},
			{Kind: naming.BackupVerifySM, Arn: stateMachineArn(naming.BackupVerifySM)},
			{Kind: naming.DBFailoverSM, Arn: stateMachineArn(naming.DBFailoverSM)},
			{Kind: naming.ServiceRecoverySM, Arn: stateMachineArn(naming.ServiceRecoverySM)},
			{Kind: naming.ServiceSnapshotSM, Arn: stateMachineArn(naming.ServiceSnapshotSM)},
			// The key sync runs every minute and tries again on its next
			// run: a few failed periods in a row page, one does not.
			{Kind: naming.KeySyncSM, Arn: stateMachineArn(naming.KeySyncSM), FailedPeriods: identity.KeySyncFailedPeriods,
				Description: "The key sync keeps failing: the key set parameter no longer follows the user pool's JWKS, and tokens signed with a new key will be refused (401)."},
		},
		// The events component comes later; its queue and rule names are
		// fixed by naming (metric dimensions are not resolved at create).
		DeadLetterQueues: events.DeadLetterQueueNames(names),
		EventRules:       eventRules(names),
	}, withAWS)
	if err != nil {
		return err
	}

	// --- identity's key sync: the pool's JWKS into the key set parameter
	// the tasks read (they have no path to the JWKS URL). It needs the
	// parameter and the schedules' dead-letter queue (monitoring). ---
	if _, err := identity.NewKeySync(ctx, "identity-keys", identity.KeySyncArgs{
		Names: names, At: at, LogRetentionDays: cfg.LogRetentionDays,
		TelemetryKeyArn: keys.TelemetryKeyArn, TelemetryKey: telemetryKey,
		SchedulerDLQArn: watch.SchedulerDLQArn, SchedulerDLQName: names.Name(naming.SchedulerDLQ),
		ParameterName:        store.Names[paramtable.KeySetPath],
		JWKSURLParameterName: store.Names[identity.JWKSURLPath],
		Parameters:           []pulumi.Resource{store.Parameters[paramtable.KeySetPath], store.Parameters[identity.JWKSURLPath]},
	}, withAWS); err != nil {
		return err
	}

	// --- dns records: customers are routed only once the health check,
	// the paging alarms and the canary exist ---
	if cfg.DNS.DomainName != "" {
		if _, err := dns.NewRecords(ctx, "dns-records", dns.RecordsArgs{
			Config: cfg, Zone: zone, ALBDNSName: svc.ALBDNSName, ALBZoneID: svc.ALBZoneID, After: watch.BeforeTraffic,
		}, withAWS); err != nil {
			return err
		}
	}

	// --- audit ---
	if _, err := audit.New(ctx, "audit", audit.Args{
		Names: names, Config: cfg, AccountID: account, Region: cfg.Region,
		TelemetryKeyArn: keys.TelemetryKeyArn, AlarmTopicArn: watch.NotifyTopicArn,
		DataBucketArn: buckets.DataArn, SessionsTableArn: table.Arn,
		LogsBucket: buckets.LogsBucket, AccessLogsPrefix: storage.AccessLogsPrefix,
	}, withAWS); err != nil {
		return err
	}

	// Names and name-derived ARNs the backup, runbooks and events
	// components share, known at program time.
	ecsCluster, ecsService := names.Name(naming.ECSCluster), names.Name(naming.ECSService)
	ecsClusterArn, ecsServiceArn := at.ECSCluster(ecsCluster), at.ECSService(ecsCluster, ecsService)
	dbClusterArn := at.DBCluster(db.Identifier)
	tableName, vaultName := names.Name(naming.SessionsTable), names.Name(naming.BackupVault)
	targetGroupName := service.TargetGroupName(names, cfg)

	// --- backup ---

	vault, err := backup.New(ctx, "backup", backup.Args{
		Names: names, Config: cfg, AccountID: account, Region: cfg.Region,
		DataKeyArn: keys.DataKeyArn, TelemetryKeyArn: keys.TelemetryKeyArn, AlarmTopicArn: watch.NotifyTopicArn,
		SchedulerDLQArn: watch.SchedulerDLQArn, SchedulerDLQName: names.Name(naming.SchedulerDLQ),
		TelemetryKey: telemetryKey, DataKey: dataKey,
		AuroraClusterArn: db.Arn, TableArn: table.Arn, DataBucketArn: buckets.DataArn,
		DataBucket: buckets.DataBucketName, SnapshotPrefix: storage.ServiceSnapshotsPrefix,
		DBSubnetGroupName: db.SubnetGroupName, DBSecurityGroupID: net.DBSecurityGroupID,
		AlarmTopicName: names.Name(naming.NotifyTopic),
		ECSClusterArn:  ecsClusterArn, ECSServiceArn: ecsServiceArn,
		TargetGroupName: targetGroupName,
		DRProvider:      drProvider,
	}, withAWS)
	if err != nil {
		return err
	}

	// --- runbooks ---

	// The composite alarm aggregates the metric alarms, so the health check
	// watches it alone.
	rb, err := runbooks.New(ctx, "runbooks", runbooks.Args{
		Names: names, Config: cfg, At: at,
		TelemetryKeyArn:  keys.TelemetryKeyArn,
		TopicArn:         at.Topic(names.Name(naming.NotifyTopic)),
		SchedulerDLQArn:  watch.SchedulerDLQArn,
		SchedulerDLQName: names.Name(naming.SchedulerDLQ),
		TelemetryKey:     telemetryKey, DataKey: dataKey,
		ClusterIdentifier:         db.Identifier,
		ClusterArn:                dbClusterArn,
		WriterInstanceIdentifier:  db.Writer(),
		ReaderInstanceIdentifiers: db.Readers(),
		ECSClusterArn:             ecsClusterArn,
		ECSServiceName:            ecsService,
		ECSServiceArn:             ecsServiceArn,
		ECSTaskRoleArn:            at.Role(names.Name(naming.TaskRole)),
		ECSExecutionRoleArn:       at.Role(names.Name(naming.TaskExecutionRole)),
		TargetGroupNames:          []string{targetGroupName},
		TableName:                 tableName,
		TableArn:                  at.Table(tableName),
		BackupVaultName:           vaultName,
		ProtectedResourceArns: []string{
			dbClusterArn, at.Table(tableName), at.Bucket(buckets.DataBucketName),
		},
		RestoreRoleArn: at.Role(names.Name(naming.BackupRole)),
		CanaryName:     watch.CanaryName,
		AlarmNames:     []string{watch.CompositeAlarmName},
		// The service recovery judges by metric alarms, named at program
		// time (monitoring checks they are created).
		CustomerImpactAlarmNames: monitoring.CustomerImpactAlarmNames(names),
		DependencyAlarmNames:     monitoring.DependencyAlarmNames(names, []string{"sessions"}),
		ZonalAlarmNames:          monitoring.ZonalAlarmNames(names, cfg.AvailabilityZones),
		PageTopicArn:             at.Topic(names.Name(naming.AlarmTopic)),
	}, withAWS)
	if err != nil {
		return err
	}

	// --- events ---

	bus, err := events.New(ctx, "events", events.Args{
		Names: names, Config: cfg, AccountID: account, Region: cfg.Region,
		TelemetryKeyArn: keys.TelemetryKeyArn, AlarmTopicArn: watch.NotifyTopicArn,
		// Name-derived, so the bus policy is known at preview.
		TaskRoleArn: at.Role(names.Name(naming.TaskRole)),
		// The rule patterns' scopes are name-derived too: known at preview.
		AuroraClusterArn: dbClusterArn, ECSClusterArn: ecsClusterArn, ECSServiceArn: ecsServiceArn,
		ECSServiceName: ecsService, BackupVaultName: vaultName,
		CompositeAlarmArn: at.Alarm(watch.CompositeAlarmName), RecoveryStateMachineArn: rb.ServiceRecoveryArn,
		HealthCheckStateMachineArn: rb.HealthCheckArn,
	}, withAWS)
	if err != nil {
		return err
	}

	// --- resilience ---
	drill, err := drills.New(ctx, "resilience", drills.Args{
		Names: names, Config: cfg, AccountID: account, TelemetryKeyArn: keys.TelemetryKeyArn,
		VPCID: net.VPCID, PublicSubnetIDs: net.PublicSubnetIDs,
		PrivateSubnetIDs: net.PrivateSubnetIDs, IsolatedSubnetIDs: net.IsolatedSubnetIDs,
		ECSClusterName:    svc.ClusterName,
		ECSClusterArn:     svc.ClusterArn,
		ECSServiceName:    svc.ServiceName,
		AuroraClusterArn:  db.Arn,
		CompositeAlarmArn: watch.CompositeAlarmArn,
	}, withAWS)
	if err != nil {
		return err
	}

	ctx.Export("vpcId", net.VPCID)
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
	ctx.Export("clusterEndpoint", db.WriterEndpoint)
	ctx.Export("readerEndpoint", db.ReaderEndpoint)
	ctx.Export("clusterIdentifier", pulumi.String(db.Identifier))
	ctx.Export("hostedZoneNameServers", zone.NameServers)
	ctx.Export("appFqdn", pulumi.String(zone.AppFQDN))
	ctx.Export("canaryName", pulumi.String(watch.CanaryName))
	ctx.Export("platformVersion", pulumi.String(version.Version))
	ctx.Export("alarmTopicArn", watch.TopicArn)
	ctx.Export("backstopTopicArn", watch.BackstopTopicArn)
	ctx.Export("notifyTopicArn", watch.NotifyTopicArn)
	ctx.Export("oidcTokenUrl", who.TokenURL)
	ctx.Export("oidcIssuer", who.Issuer)
	ctx.Export("smokeClientId", who.ProbeClientIDs[identity.SmokeClient])
	ctx.Export("maintenanceAlarmName", pulumi.String(watch.MaintenanceAlarmName))
	ctx.Export("dashboardUrl", pulumi.String(watch.DashboardURL))
	ctx.Export("albDnsName", svc.ALBDNSName)
	ctx.Export("albArn", svc.ALBArn)
	// The public endpoint: the app name once the zone is delegated
	// (dnsDelegated), the ALB's own name until then.
	ctx.Export("endpointUrl", zone.TargetURL)
	ctx.Export("ecsClusterName", svc.ClusterName)
	ctx.Export("ecsServiceName", svc.ServiceName)
	ctx.Export("fisTemplateIds", drill.TemplateIDs)
	ctx.Export("resiliencyPolicyArn", drill.ResiliencyPolicyArn)
	ctx.Export("healthCheckStateMachineArn", rb.HealthCheckArn)
	ctx.Export("backupVerifyStateMachineArn", rb.BackupVerifyArn)
	ctx.Export("dbFailoverStateMachineArn", rb.DBFailoverArn)
	ctx.Export("serviceRecoveryStateMachineArn", rb.ServiceRecoveryArn)
	return nil
}

// eventRules are the events component's rules as the monitoring alarms
// name them: the orders rule on the stack's bus, the operational rules on
// the default bus.
func eventRules(names naming.Namer) []monitoring.EventRule {
	var out []monitoring.EventRule
	for _, r := range events.RuleNames(names) {
		out = append(out, monitoring.EventRule{Name: r.Name, Bus: r.Bus})
	}
	return out
}

// endpointGroup is the interface endpoints' security group, nil in nat mode.
func endpointGroup(cfg *config.Config, net *network.Network) pulumi.StringInput {
	if !cfg.Network.ClosedEgress() {
		return nil
	}
	return net.EndpointSecurityGroupID
}

// ProbeParameter is a probe client's parameter below /trading/<suffix>:
// probes/<canary|smoke>/<client-id|client-secret>.
func ProbeParameter(probe, what string) string { return "probes/" + probe + "/" + what }

func jsonList(items []string) string {
	b, _ := json.Marshal(items) // a []string always marshals
	return string(b)
}

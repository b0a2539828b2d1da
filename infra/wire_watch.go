package infra

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/audit"
	"github.com/trading-ha/trading-ha/infra/dns"
	"github.com/trading-ha/trading-ha/infra/events"
	"github.com/trading-ha/trading-ha/infra/identity"
	"github.com/trading-ha/trading-ha/infra/monitoring"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/paramtable"
	"github.com/trading-ha/trading-ha/infra/storage"
)

// watchTier builds what watches and pages (monitoring), the key sync, the
// DNS records customers follow once the paging exists, and the audit trail.
func (p *platform) watchTier() error {
	ctx := p.ctx
	var err error
	// --- monitoring ---
	// The runbooks come later in the order (they watch these alarms); their
	// names are fixed by naming, so the failed-execution alarms scope to the
	// ARNs those names give (tests/runbooks_test.go checks they match).
	stateMachineArn := func(k naming.Kind) pulumi.StringInput {
		return pulumi.String(p.at.StateMachine(p.names.Name(k)))
	}
	p.watch, err = monitoring.New(ctx, "monitoring", monitoring.Args{
		Names: p.names, Shared: p.cfg.Shared, Monitoring: p.cfg.Monitoring,
		AccountID: p.account, TelemetryKeyArn: p.keys.TelemetryKeyArn, TelemetryKey: p.telemetryKey,
		PagingKeyArn: p.keys.PagingKeyArn,
		LogsBucket:   p.buckets.LogsBucket, LogsBucketArn: p.at.Bucket(p.buckets.LogsBucketName),
		ArtifactsPrefix: storage.CanaryPrefix, CodePrefix: storage.CanaryCodePrefix,
		Endpoint: monitoring.Endpoint{TargetURL: p.zone.TargetURL, TLSInsecure: p.zone.TLSInsecure, HealthCheckID: p.zone.HealthCheckID,
			CertificateArn: p.svc.CertificateArn},
		Probe: monitoring.Probe{
			TokenURL: p.who.TokenURL, ClientID: p.who.ProbeClientIDs[identity.CanaryClient],
			SecretParameter:         p.store.Names[ProbeParameter(identity.CanaryClient, "client-secret")],
			SecretParameterResource: p.store.Parameters[ProbeParameter(identity.CanaryClient, "client-secret")],
			DataKey:                 p.dataKey,
		},
		LoadBalancer: monitoring.LoadBalancer{
			ArnSuffix:            p.svc.ALBArnSuffix,
			TargetGroupArnSuffix: p.svc.TargetGroupArnSuffix,
		},
		Service: monitoring.Service{
			ClusterName:  p.svc.ClusterName,
			ServiceName:  p.svc.ServiceName,
			DesiredCount: pulumi.Int(p.svc.DesiredCount),
		},
		Database: monitoring.Database{
			ClusterIdentifier:   pulumi.String(p.db.Identifier),
			InstanceIdentifiers: p.db.InstanceIdentifiers,
		},
		Tables: []monitoring.Table{{Key: "sessions", Name: p.table.Name}},
		StateMachines: []monitoring.StateMachine{
			{Kind: naming.HealthCheckSM, Arn: stateMachineArn(naming.HealthCheckSM)},
			{Kind: naming.BackupVerifySM, Arn: stateMachineArn(naming.BackupVerifySM)},
			{Kind: naming.DBFailoverSM, Arn: stateMachineArn(naming.DBFailoverSM)},
			{Kind: naming.ServiceRecoverySM, Arn: stateMachineArn(naming.ServiceRecoverySM)},
			{Kind: naming.ServiceSnapshotSM, Arn: stateMachineArn(naming.ServiceSnapshotSM)},
			// The deploy runs the migrate runbook before the rollout and
			// stops when it fails; the alarm tells whoever did not watch.
			{Kind: naming.MigrateSM, Arn: stateMachineArn(naming.MigrateSM),
				Description: "The migrate runbook failed: the release's schema was not applied. New tasks would stay not ready until it is; do not roll the service out before it succeeds (docs/deploy.md, section 3)."},
			// The key sync runs every minute and tries again on its next
			// run: a few failed periods in a row page, one does not.
			{Kind: naming.KeySyncSM, Arn: stateMachineArn(naming.KeySyncSM), FailedPeriods: identity.KeySyncFailedPeriods,
				Description: "The key sync keeps failing: the key set parameter no longer follows the user pool's JWKS, and tokens signed with a new key will be refused (401)."},
		},
		// The events component comes later; its queue and rule names are
		// fixed by naming (metric dimensions are not resolved at create).
		DeadLetterQueues: events.DeadLetterQueueNames(p.names),
		EventRules:       eventRules(p.names),
	}, p.withAWS)
	if err != nil {
		return err
	}

	// --- identity's key sync: the pool's JWKS into the key set parameter
	// the tasks read (they have no path to the JWKS URL). It needs the
	// parameter and the schedules' dead-letter queue (monitoring). ---
	if _, err := identity.NewKeySync(ctx, "identity-keys", identity.KeySyncArgs{
		Names: p.names, At: p.at, LogRetentionDays: p.cfg.LogRetentionDays,
		TelemetryKeyArn: p.keys.TelemetryKeyArn, TelemetryKey: p.telemetryKey,
		SchedulerDLQArn: p.watch.SchedulerDLQArn, SchedulerDLQName: p.watch.Known.SchedulerDLQName,
		ParameterName:        p.store.Names[paramtable.KeySetPath],
		JWKSURLParameterName: p.store.Names[identity.JWKSURLPath],
		Parameters:           []pulumi.Resource{p.store.Parameters[paramtable.KeySetPath], p.store.Parameters[identity.JWKSURLPath]},
	}, p.withAWS); err != nil {
		return err
	}

	// --- dns records: customers are routed only once the health check,
	// the paging alarms and the canary exist ---
	if p.cfg.DNS.DomainName != "" {
		if _, err := dns.NewRecords(ctx, "dns-records", dns.RecordsArgs{
			DNS: p.cfg.DNS, Zone: p.zone, ALBDNSName: p.svc.ALBDNSName, ALBZoneID: p.svc.ALBZoneID, After: p.watch.BeforeTraffic,
		}, p.withAWS); err != nil {
			return err
		}
	}

	// --- audit ---
	if _, err := audit.New(ctx, "audit", audit.Args{
		Names: p.names, Shared: p.cfg.Shared, Audit: p.cfg.Audit, Lifecycle: p.cfg.Storage.Lifecycle, AccountID: p.account,
		TelemetryKeyArn: p.keys.TelemetryKeyArn, AlarmTopicArn: p.watch.NotifyTopicArn,
		DataBucketArn: p.buckets.DataArn, SessionsTableArn: p.table.Arn,
		LogsBucket: p.buckets.LogsBucket, AccessLogsPrefix: storage.AccessLogsPrefix,
	}, p.withAWS); err != nil {
		return err
	}
	return nil
}

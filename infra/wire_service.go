package infra

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/dns"
	"github.com/trading-ha/trading-ha/infra/service"
	"github.com/trading-ha/trading-ha/infra/storage"
)

// serviceTier builds the ECS service behind its load balancer, and the
// hosted zone and health check of its endpoint.
func (p *platform) serviceTier() error {
	ctx := p.ctx
	var err error
	// --- service ---
	p.svc, err = service.New(ctx, "service", service.Args{
		Names: p.names, Shared: p.cfg.Shared, Service: p.cfg.Service, AccountID: p.account,
		ClosedEgress: p.cfg.Network.ClosedEgress(), Gates: p.cfg.Monitoring.Traffic,
		VPCID: p.net.VPCID, VPCCIDR: p.net.VPCCIDR, PublicSubnetIDs: p.net.PublicSubnetIDs, PrivateSubnetIDs: p.net.PrivateSubnetIDs,
		ALBSecurityGroupID: p.net.ALBSecurityGroupID, TasksSecurityGroupID: p.net.TasksSecurityGroupID,
		MigrateSecurityGroupID: p.net.MigrateSecurityGroupID,
		S3PrefixListID:         p.net.S3PrefixListID, DynamoDBPrefixListID: p.net.DynamoDBPrefixListID,
		EndpointSecurityGroupID: endpointGroup(p.cfg, p.net),
		DataKeyArn:              p.keys.DataKeyArn, TelemetryKeyArn: p.keys.TelemetryKeyArn, DataKey: p.dataKey,
		LogsBucket: p.buckets.LogsBucket, ALBLogsPrefix: storage.ALBLogsPrefix, LogsBucketPolicy: p.buckets.LogsPolicy,
		DataBucketArn: p.buckets.DataArn, SessionsTableArn: p.table.Arn,
		DBSecretArn: p.db.SecretArn, DBClusterResourceID: p.db.ResourceID,
		ParameterArns: p.store.Arns,
		// dns certificates validate in an already delegated zone (config
		// hostedZoneId): the stack's own zone is created after the ALB.
		HostedZoneID: pulumi.String(p.cfg.Service.HostedZoneID),
		SourceRoot:   p.root,
	}, p.withAWS)
	if err != nil {
		return err
	}

	// --- dns ---
	p.zone, err = dns.New(ctx, "dns", dns.Args{
		Names: p.names, DNS: p.cfg.DNS,
		ALBDNSName: p.svc.ALBDNSName,
	}, p.withAWS)
	if err != nil {
		return err
	}
	return nil
}

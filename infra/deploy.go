// Package infra is the composition root of trading-ha: Deploy loads and
// validates the stack configuration, then builds every component in
// dependency order, tier by tier (one wiring file each), handing each
// component the IDs and ARNs it needs, and exports the outputs operators
// use.
package infra

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	awsarn "github.com/trading-ha/trading-ha/infra/arn"
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
	"github.com/trading-ha/trading-ha/infra/runbooks"
	"github.com/trading-ha/trading-ha/infra/security"
	"github.com/trading-ha/trading-ha/infra/service"
	"github.com/trading-ha/trading-ha/infra/sessions"
	"github.com/trading-ha/trading-ha/infra/storage"
	"github.com/trading-ha/trading-ha/infra/version"
)

// Deploy is the Pulumi program. Invalid configuration fails here, before
// any resource is registered.
//
// Composition order (each tier may use an earlier tier's outputs, never
// the reverse):
//
//	foundation (keys, network, buckets, sessions table) -> data (Aurora)
//	-> identity (user pool, parameters) -> service (ECS, ALB, zone)
//	-> watch (monitoring, key sync, DNS records, audit)
//	-> recovery (backup, runbooks, events, drills)
//
// The event bus and state machine names are fixed by naming, so the
// service's task role and the alarms can scope to their ARNs before those
// components exist in the order.
func Deploy(ctx *pulumi.Context) error {
	p, err := newPlatform(ctx)
	if err != nil {
		return err
	}
	for _, tier := range []func() error{p.foundationTier, p.dataTier, p.identityTier, p.serviceTier, p.watchTier, p.recoveryTier} {
		if err := tier(); err != nil {
			return err
		}
	}
	p.export()
	return nil
}

// platform is what the tiers hand on: the stack's settings, providers and
// account, then each component once built.
type platform struct {
	ctx        *pulumi.Context
	cfg        *config.Config
	names      naming.Namer
	root       string
	providers  *Providers
	withAWS    pulumi.ResourceOption
	drProvider pulumi.ProviderResource
	account    string
	at         awsarn.At
	// dataKey and telemetryKey are the keys as identity policies name
	// them: by alias (iamdoc.Key), so the policies that use a key are
	// known at program time.
	dataKey, telemetryKey iamdoc.Key

	keys    *security.Keys
	net     *network.Network
	buckets *storage.Buckets
	table   *sessions.Table
	db      *database.Cluster
	who     *identity.Identity
	store   *params.Store
	svc     *service.Service
	zone    *dns.Zone
	watch   *monitoring.Monitoring
	vault   *backup.Backup
	rb      *runbooks.Runbooks
	bus     *events.Events
	drill   *drills.Drills
}

// newPlatform loads the config, creates the providers and checks the
// account, before any resource is registered.
func newPlatform(ctx *pulumi.Context) (*platform, error) {
	p := &platform{ctx: ctx}
	var err error
	p.cfg, err = config.Load(ctx)
	if err != nil {
		return nil, err
	}
	p.names = naming.New(p.cfg.EnvironmentSuffix)
	// The project root (where Pulumi.yaml is), which holds the image's
	// build context (service.BuildContext).
	p.root = ctx.RootDirectory()
	if p.root == "" {
		if p.root, err = os.Getwd(); err != nil {
			return nil, fmt.Errorf("project directory: %w", err)
		}
	}

	// Explicit providers (infra/providers.go): the aws one carries the
	// region, the default tags and allowedAccountIds, so every resource is
	// tagged and stays in the stack's accounts; default providers are
	// disabled in the stack files.
	p.providers, err = newProviders(ctx, p.cfg)
	if err != nil {
		return nil, err
	}
	p.withAWS = pulumi.Providers(p.providers.All...)
	p.drProvider, err = drRegionProvider(ctx, p.cfg)
	if err != nil {
		return nil, err
	}
	caller, err := aws.GetCallerIdentity(ctx, nil, pulumi.Provider(p.providers.AWS))
	if err != nil {
		return nil, fmt.Errorf("look up the AWS account: %w", err)
	}
	p.account = caller.AccountId
	if err := checkAccount(p.cfg, p.account); err != nil {
		return nil, err
	}
	if err := checkVaultRoles(p.cfg, p.account); err != nil {
		return nil, err
	}
	if err := warnCaller(ctx, p.cfg, caller.Arn, p.principals()); err != nil {
		return nil, err
	}

	// The keys as identity policies name them: by alias (iamdoc.Key), so
	// the policies that use a key are known at program time.
	p.at = awsarn.In(p.cfg.Region, p.account)
	p.dataKey = iamdoc.Key{Keys: p.at.Keys(), Alias: p.names.Name(naming.KMSDataAlias)}
	p.telemetryKey = iamdoc.Key{Keys: p.at.Keys(), Alias: p.names.Name(naming.KMSTelemetryAlias)}
	return p, nil
}

// principals are the roles the vault policies and the protected keys'
// guard exempt: break-glass and the deploy role.
func (p *platform) principals() backup.Principals {
	return backup.PrincipalsOf(p.cfg.Backup, p.cfg.Region, p.names, p.account)
}

// export exports the outputs operators use.
func (p *platform) export() {
	ctx := p.ctx
	ctx.Export("vpcId", p.net.VPCID)
	ctx.Export("privateSubnetIds", p.net.PrivateSubnetIDs)
	ctx.Export("dataKeyArn", p.keys.DataKeyArn)
	ctx.Export("dataBucket", p.buckets.DataBucket)
	ctx.Export("logsBucket", p.buckets.LogsBucket)
	ctx.Export("sessionsTable", p.table.Name)
	ctx.Export("parameterRoot", pulumi.String(p.names.ParameterPath()))
	ctx.Export("eventBusName", p.bus.BusName)
	ctx.Export("ordersQueueUrl", p.bus.QueueURL)
	ctx.Export("backupVaultName", p.vault.VaultName)
	ctx.Export("serviceSnapshotStateMachineArn", p.vault.SnapshotStateMachineArn)
	ctx.Export("clusterEndpoint", p.db.WriterEndpoint)
	ctx.Export("readerEndpoint", p.db.ReaderEndpoint)
	ctx.Export("clusterIdentifier", pulumi.String(p.db.Identifier))
	ctx.Export("hostedZoneNameServers", p.zone.NameServers)
	ctx.Export("appFqdn", pulumi.String(p.zone.AppFQDN))
	ctx.Export("canaryName", pulumi.String(p.watch.CanaryName))
	ctx.Export("platformVersion", pulumi.String(version.Version))
	ctx.Export("alarmTopicArn", p.watch.TopicArn)
	ctx.Export("backstopTopicArn", p.watch.BackstopTopicArn)
	ctx.Export("notifyTopicArn", p.watch.NotifyTopicArn)
	ctx.Export("oidcTokenUrl", p.who.TokenURL)
	ctx.Export("oidcIssuer", p.who.Issuer)
	ctx.Export("smokeClientId", p.who.ProbeClientIDs[identity.SmokeClient])
	ctx.Export("maintenanceAlarmName", pulumi.String(p.watch.MaintenanceAlarmName))
	ctx.Export("dashboardUrl", pulumi.String(p.watch.DashboardURL))
	ctx.Export("albDnsName", p.svc.ALBDNSName)
	ctx.Export("albArn", p.svc.ALBArn)
	// The public endpoint: the app name once the zone is delegated
	// (dnsDelegated), the ALB's own name until then.
	ctx.Export("endpointUrl", p.zone.TargetURL)
	ctx.Export("ecsClusterName", p.svc.ClusterName)
	ctx.Export("ecsServiceName", p.svc.ServiceName)
	ctx.Export("fisTemplateIds", p.drill.TemplateIDs)
	ctx.Export("resiliencyPolicyArn", p.drill.ResiliencyPolicyArn)
	ctx.Export("healthCheckStateMachineArn", p.rb.HealthCheckArn)
	ctx.Export("backupVerifyStateMachineArn", p.rb.BackupVerifyArn)
	ctx.Export("dbFailoverStateMachineArn", p.rb.DBFailoverArn)
	ctx.Export("serviceRecoveryStateMachineArn", p.rb.ServiceRecoveryArn)
	// The deploy runs the migrate runbook before the service rolls out
	// (docs/deploy.md); its task's log group holds the step's last line,
	// which the smoke test reads.
	ctx.Export(service.MigrateRunbookOutput, p.rb.MigrateArn)
	ctx.Export(service.MigrateLogGroupOutput, pulumi.String(p.svc.MigrateLogGroupName))
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

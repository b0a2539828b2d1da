// Package dns owns the stack's public Route 53 hosted zone, the app's alias
// records to the ALB, and the Route 53 health check that probes the public
// endpoint over HTTPS from several regions.
//
// Until the parent zone delegates the stack's domain (config dnsDelegated
// false), nothing on the internet resolves the app name, so the health check
// and the canary probe the ALB's own DNS name instead; Zone.ProbeHost and
// Zone.TLSInsecure tell the monitoring component which.
package dns

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/naming"
)

// Health check constants: the endpoint the checkers request.
const (
	// HealthCheckType is HTTPS: the ALB listens on 443 only.
	HealthCheckType = "HTTPS"
	// HealthCheckPort is the ALB's HTTPS listener.
	HealthCheckPort = 443
	// ProbePath is what the checkers request: the ALB's edge probe, which
	// the HTTPS listener answers itself (config.EdgeProbePath). The
	// service's health paths answer 404 from the internet
	// (config.EdgeBlockedPaths), and every other path needs a bearer token
	// a Route 53 health check cannot send, so the check proves the
	// endpoint reachable (DNS, TLS, WAF, listener) and the tasks' health is
	// the canary's and the target group's.
	ProbePath = config.EdgeProbePath
	// RequestIntervalSeconds is Route 53's fast interval (10 s; the other choice is 30 s).
	RequestIntervalSeconds = config.HealthCheckIntervalSeconds
)

// Args configures the zone.
type Args struct {
	Names naming.Namer
	// DNS is the dns section: domain, record, health check.
	DNS config.DNS
	// ALBDNSName is the load balancer's DNS name: the probe target until
	// the zone is delegated.
	ALBDNSName pulumi.StringInput
}

// Zone is the component and what monitoring needs to probe the endpoint.
type Zone struct {
	pulumi.ResourceState

	// ZoneID is the hosted zone's ID.
	ZoneID pulumi.StringOutput
	// NameServers are the zone's name servers, to delegate to from the parent zone.
	NameServers pulumi.StringArrayOutput
	// AppFQDN is <appRecordName>.<domainName>; empty without domainName.
	AppFQDN string
	// HealthCheckID is the Route 53 health check of the public endpoint.
	HealthCheckID pulumi.StringOutput
	// ProbeHost is what the health check and the canary request: AppFQDN
	// when delegated, else the ALB's DNS name.
	ProbeHost pulumi.StringOutput
	// TargetURL is https://<ProbeHost>, the canary's TARGET_URL.
	TargetURL pulumi.StringOutput
	// TLSInsecure is true when the probe goes to the ALB name, whose
	// certificate (the self-signed fallback) cannot match it.
	TLSInsecure bool

	healthCheck pulumi.Resource
}

// New creates the zone and the health check (the records come later, from
// NewRecords, once monitoring is in place). With no
// domainName (the default) there is no zone: the health check and the
// canary probe the ALB's own DNS name, so a fresh account deploys without a
// domain of its own.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Zone, error) {
	cfg := args.DNS
	z := &Zone{TLSInsecure: !cfg.Delegated}
	if cfg.DomainName != "" {
		z.AppFQDN = cfg.AppRecordName + "." + cfg.DomainName
	}
	if err := ctx.RegisterComponentResource("trading:dns:Zone", name, z, opts...); err != nil {
		return nil, fmt.Errorf("register dns component: %w", err)
	}
	parent := pulumi.Parent(z)
	// Children are named from the component (naming.ChildrenOf).
	kids := naming.ChildrenOf(name)

	z.ZoneID = pulumi.String("").ToStringOutput()
	z.NameServers = pulumi.StringArray{}.ToStringArrayOutput()
	if cfg.DomainName != "" {
		if err := z.zone(ctx, kids, args, parent); err != nil {
			return nil, err
		}
	}

	z.ProbeHost = pulumi.String(z.AppFQDN).ToStringOutput()
	if !cfg.Delegated {
		z.ProbeHost = args.ALBDNSName.ToStringOutput()
	}
	z.TargetURL = z.ProbeHost.ApplyT(func(h string) string { return "https://" + h }).(pulumi.StringOutput)

	// Route 53 health checkers do not validate the certificate, so the
	// check works against the self-signed fallback too; SNI sends the
	// probed name so an ALB with several certificates picks the right one.
	hc, err := route53.NewHealthCheck(ctx, kids.Name("endpoint"), &route53.HealthCheckArgs{
		Type:             pulumi.String(HealthCheckType),
		Fqdn:             z.ProbeHost,
		Port:             pulumi.Int(HealthCheckPort),
		ResourcePath:     pulumi.String(ProbePath),
		RequestInterval:  pulumi.Int(RequestIntervalSeconds),
		FailureThreshold: pulumi.Int(cfg.HealthCheckFailureThreshold),
		MeasureLatency:   pulumi.Bool(true),
		EnableSni:        pulumi.Bool(true),
		Regions:          pulumi.ToStringArray(cfg.HealthCheckRegions),
		Tags:             pulumi.StringMap{"Name": pulumi.String(args.Names.Name(naming.HealthCheck))},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create endpoint health check: %w", err)
	}

	z.HealthCheckID, z.healthCheck = hc.ID().ToStringOutput(), hc
	if err := ctx.RegisterResourceOutputs(z, pulumi.Map{
		"zoneId": z.ZoneID, "nameServers": z.NameServers, "appFqdn": pulumi.String(z.AppFQDN),
		"healthCheckId": z.HealthCheckID, "targetUrl": z.TargetURL,
	}); err != nil {
		return nil, fmt.Errorf("register dns outputs: %w", err)
	}
	return z, nil
}

// zone creates the public hosted zone of domainName.
func (z *Zone) zone(ctx *pulumi.Context, kids naming.Children, args Args, parent pulumi.ResourceOption) error {
	cfg := args.DNS
	zone, err := route53.NewZone(ctx, kids.Name("zone"), &route53.ZoneArgs{
		Name:         pulumi.String(cfg.DomainName),
		Comment:      pulumi.String(args.Names.Name(naming.HostedZoneComment) + ": trading-ha public zone"),
		ForceDestroy: pulumi.Bool(true),
	}, parent)
	if err != nil {
		return fmt.Errorf("create hosted zone %s: %w", cfg.DomainName, err)
	}
	z.ZoneID, z.NameServers = zone.ZoneId, zone.NameServers
	return nil
}

// Records is the component of the app's alias records: the step that
// routes customers. It comes after monitoring in the composition order, so
// every health check, paging alarm and the canary is in place before DNS
// sends traffic: customers are routed only to an endpoint that is already
// watched.
type Records struct {
	pulumi.ResourceState
}

// RecordsArgs configures the alias records.
type RecordsArgs struct {
	// DNS is the dns section.
	DNS config.DNS
	// Zone is the stack's zone component.
	Zone *Zone
	// ALBDNSName and ALBZoneID are the load balancer's DNS name and canonical
	// hosted zone, the target of the alias records.
	ALBDNSName pulumi.StringInput
	ALBZoneID  pulumi.StringInput
	// After are the resources that must exist before customers are routed,
	// besides the health check: the canary and the paging alarms.
	After []pulumi.Resource
}

// NewRecords creates the A and AAAA aliases app.<domainName> -> ALB; the
// composition root calls it only when domainName is set.
func NewRecords(ctx *pulumi.Context, name string, args RecordsArgs, opts ...pulumi.ResourceOption) (*Records, error) {
	r := &Records{}
	if err := ctx.RegisterComponentResource("trading:dns:Records", name, r, opts...); err != nil {
		return nil, fmt.Errorf("register dns records component: %w", err)
	}
	// Children are named from the component (naming.ChildrenOf).
	kids := naming.ChildrenOf(name)
	after := append([]pulumi.Resource{args.Zone.healthCheck}, args.After...)
	// A and AAAA aliases: Route 53 answers with the ALB's addresses and,
	// with evaluate-target-health, stops answering if the ALB has no
	// healthy targets at all. AAAA answers only if the ALB is dualstack.
	for _, typ := range []string{"A", "AAAA"} {
		key := "app-" + typ
		if _, err := route53.NewRecord(ctx, kids.Name(key), &route53.RecordArgs{
			ZoneId: args.Zone.ZoneID,
			Name:   pulumi.String(args.Zone.AppFQDN),
			Type:   pulumi.String(typ),
			Aliases: route53.RecordAliasArray{&route53.RecordAliasArgs{
				Name:                 args.ALBDNSName,
				ZoneId:               args.ALBZoneID,
				EvaluateTargetHealth: pulumi.Bool(true),
			}},
		}, pulumi.Parent(r), pulumi.DependsOn(after)); err != nil {
			return nil, fmt.Errorf("create %s alias record %s: %w", typ, args.Zone.AppFQDN, err)
		}
	}
	if err := ctx.RegisterResourceOutputs(r, pulumi.Map{"appFqdn": pulumi.String(args.Zone.AppFQDN)}); err != nil {
		return nil, fmt.Errorf("register dns records outputs: %w", err)
	}
	return r, nil
}

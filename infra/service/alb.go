package service

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/acm"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi-tls/sdk/v5/go/tls"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/tags"
)

// DesyncMitigationMode is the ALB's HTTP desync protection: strictest
// rejects every request that is not RFC 7230 compliant (the API serves
// JSON clients only, no legacy browsers).
const DesyncMitigationMode = "strictest"

// Self-signed certificate lifetime: a year, renewed by the next pulumi up
// in its last 30 days.
const (
	SelfSignedValidityHours = 365 * 24
	SelfSignedEarlyRenewal  = 30 * 24
)

// loadBalancer creates the internet-facing ALB in the three public subnets
// and the IP target group the tasks register in.
func (b *builder) loadBalancer() error {
	cfg := b.cfg
	var exempt pulumi.StringMap
	if !b.args.Shared.DeletionProtection {
		var err error
		if exempt, err = tags.Exempt(tags.Exemption{Rule: "ELB.6",
			Reason: "deletion protection follows config deletionProtection: off so the stack destroys cleanly"}); err != nil {
			return err
		}
	}
	// Enabling access logs makes ELB check that it can write to the bucket
	// ("Access Denied for bucket" otherwise): the bucket policy granting the
	// regional ELB account must exist first (ELB User Guide, "Enable access
	// logs for your Application Load Balancer").
	if b.args.LogsBucketPolicy == nil {
		return fmt.Errorf("create load balancer: access logs need the logs bucket policy (Args.LogsBucketPolicy)")
	}
	logsReady := []pulumi.Resource{b.args.LogsBucketPolicy}
	alb, err := lb.NewLoadBalancer(b.ctx, b.kids.Name("alb"), &lb.LoadBalancerArgs{
		Tags:                         exempt,
		Name:                         pulumi.String(b.args.Names.Name(naming.ALB)),
		LoadBalancerType:             pulumi.String("application"),
		Internal:                     pulumi.Bool(false),
		IpAddressType:                pulumi.String("ipv4"),
		Subnets:                      b.args.PublicSubnetIDs,
		SecurityGroups:               pulumi.StringArray{b.args.ALBSecurityGroupID},
		EnableCrossZoneLoadBalancing: pulumi.Bool(true),
		// ARC zonal shift is off by default per load balancer and is
		// supported with cross-zone load balancing on (ELB User Guide,
		// "Zonal shift for your Application Load Balancer"); on, a zonal
		// shift away from a gray AZ is one command (docs/runbooks.md).
		EnableZonalShift:         pulumi.Bool(true),
		DropInvalidHeaderFields:  pulumi.Bool(true),
		DesyncMitigationMode:     pulumi.String(DesyncMitigationMode),
		EnableHttp2:              pulumi.Bool(true),
		EnableDeletionProtection: pulumi.Bool(b.args.Shared.DeletionProtection),
		IdleTimeout:              pulumi.Int(cfg.IdleTimeout),
		AccessLogs: &lb.LoadBalancerAccessLogsArgs{
			Bucket:  b.args.LogsBucket,
			Prefix:  pulumi.String(b.args.ALBLogsPrefix),
			Enabled: pulumi.Bool(true),
		},
	}, b.parent, pulumi.DependsOn(logsReady))
	if err != nil {
		return fmt.Errorf("create load balancer: %w", err)
	}
	b.s.ALBArn, b.s.ALBArnSuffix, b.s.ALBDNSName, b.s.ALBZoneID = alb.Arn, alb.ArnSuffix, alb.DnsName, alb.ZoneId

	var slowStart pulumi.IntPtrInput
	if cfg.SlowStart > 0 {
		slowStart = pulumi.Int(cfg.SlowStart)
	}
	tg, err := lb.NewTargetGroup(b.ctx, b.kids.Name("app"), &lb.TargetGroupArgs{
		// Keyed on the inputs whose change replaces the group (all but the
		// VPC, which is unknown until applied and follows vpcCidr), so a
		// replacement gets a new name (naming.Replacements).
		Name:            pulumi.String(b.s.TargetGroupName),
		TargetType:      pulumi.String("ip"),
		Protocol:        pulumi.String(TargetProtocol),
		ProtocolVersion: pulumi.String("HTTP1"),
		Port:            pulumi.Int(cfg.AppPort),
		VpcId:           b.args.VPCID,
		// Matches the container's 30 s stopTimeout: in-flight requests
		// finish before ECS signals the task.
		DeregistrationDelay: pulumi.Int(cfg.DeregistrationDelay),
		SlowStart:           slowStart,
		HealthCheck: &lb.TargetGroupHealthCheckArgs{
			Enabled:            pulumi.Bool(true),
			Protocol:           pulumi.String(TargetProtocol),
			Port:               pulumi.String("traffic-port"),
			Path:               pulumi.String(cfg.HealthCheckPath),
			Matcher:            pulumi.String("200"),
			Interval:           pulumi.Int(cfg.HealthCheckInterval),
			Timeout:            pulumi.Int(cfg.HealthCheckTimeout),
			HealthyThreshold:   pulumi.Int(cfg.HealthyThreshold),
			UnhealthyThreshold: pulumi.Int(cfg.UnhealthyThreshold),
		},
	}, b.parent)
	if err != nil {
		return fmt.Errorf("create target group: %w", err)
	}
	b.s.TargetGroupArn, b.s.TargetGroupArnSuffix = tg.Arn, tg.ArnSuffix
	return nil
}

// certificate provides the HTTPS listener's certificate in the configured mode.
func (b *builder) certificate() error {
	switch b.cfg.CertificateMode {
	case config.CertExisting:
		b.s.CertificateArn = pulumi.String(b.cfg.CertificateArn).ToStringOutput()
		return nil
	case config.CertDNS:
		return b.dnsCertificate()
	default:
		return b.selfSignedCertificate()
	}
}

// dnsCertificate requests an ACM certificate for domainName and validates
// it with a CNAME in the stack's delegated zone. The listener waits for the
// validation, so only use this mode once the zone's delegation is live.
func (b *builder) dnsCertificate() error {
	cert, err := acm.NewCertificate(b.ctx, b.kids.Name("app"), &acm.CertificateArgs{
		DomainName:       pulumi.String(b.cfg.DomainName),
		ValidationMethod: pulumi.String("DNS"),
		KeyAlgorithm:     pulumi.String("EC_prime256v1"),
	}, b.parent)
	if err != nil {
		return fmt.Errorf("request ACM certificate: %w", err)
	}
	dvo := cert.DomainValidationOptions.Index(pulumi.Int(0))
	record, err := route53.NewRecord(b.ctx, b.kids.Name("cert-validation"), &route53.RecordArgs{
		ZoneId:         b.args.HostedZoneID,
		Name:           dvo.ResourceRecordName().Elem(),
		Type:           dvo.ResourceRecordType().Elem(),
		Records:        pulumi.StringArray{dvo.ResourceRecordValue().Elem()},
		Ttl:            pulumi.Int(60),
		AllowOverwrite: pulumi.Bool(true),
	}, b.parent)
	if err != nil {
		return fmt.Errorf("create certificate validation record: %w", err)
	}
	validation, err := acm.NewCertificateValidation(b.ctx, b.kids.Name("app"), &acm.CertificateValidationArgs{
		CertificateArn:        cert.Arn,
		ValidationRecordFqdns: pulumi.StringArray{record.Fqdn},
	}, b.parent)
	if err != nil {
		return fmt.Errorf("validate ACM certificate: %w", err)
	}
	b.s.CertificateArn = validation.CertificateArn
	return nil
}

// selfSignedCertificate makes an ECDSA P-256 key and a one-year self-signed
// certificate for the ALB's DNS name and imports it into ACM: HTTPS works
// from the first deploy without a domain, clients must skip verification.
func (b *builder) selfSignedCertificate() error {
	key, err := tls.NewPrivateKey(b.ctx, b.kids.Name("app"), &tls.PrivateKeyArgs{
		Algorithm:  pulumi.String("ECDSA"),
		EcdsaCurve: pulumi.String("P256"),
	}, b.parent)
	if err != nil {
		return fmt.Errorf("create private key: %w", err)
	}
	dnsNames := pulumi.StringArray{b.s.ALBDNSName}
	if b.cfg.DomainName != "" {
		dnsNames = append(dnsNames, pulumi.String(b.cfg.DomainName))
	}
	cert, err := tls.NewSelfSignedCert(b.ctx, b.kids.Name("app"), &tls.SelfSignedCertArgs{
		PrivateKeyPem:       key.PrivateKeyPem,
		ValidityPeriodHours: pulumi.Int(SelfSignedValidityHours),
		EarlyRenewalHours:   pulumi.Int(SelfSignedEarlyRenewal),
		AllowedUses:         pulumi.ToStringArray([]string{"key_encipherment", "digital_signature", "server_auth"}),
		DnsNames:            dnsNames,
		Subject: &tls.SelfSignedCertSubjectArgs{
			// The CN stays short (X.509 allows 64 characters); the ALB name
			// is in the SAN list above.
			CommonName:   pulumi.String("trading-ha " + b.args.Names.Suffix()),
			Organization: pulumi.String("trading-ha"),
		},
	}, b.parent)
	if err != nil {
		return fmt.Errorf("create self-signed certificate: %w", err)
	}
	imported, err := acm.NewCertificate(b.ctx, b.kids.Name("app"), &acm.CertificateArgs{
		PrivateKey:      key.PrivateKeyPem,
		CertificateBody: cert.CertPem,
	}, b.parent)
	if err != nil {
		return fmt.Errorf("import self-signed certificate into ACM: %w", err)
	}
	b.s.CertificateArn = imported.Arn
	return nil
}

// Listener rule priorities on the HTTPS listener: the lowest number is
// evaluated first and the default action comes last (Elastic Load
// Balancing, Application Load Balancers, "Listener rules": "rules are
// evaluated in priority order, from the lowest value to the highest
// value"), so nothing added later can route a health path to the tasks.
const (
	PriorityBlockHealth = 1
	PriorityEdgeProbe   = 2
)

// listeners: HTTPS on 443 forwards to the target group, except the
// service's health paths, which it answers 404 itself, and the edge probe,
// which it answers 200 itself (config.EdgeBlockedPaths, EdgeProbePath). No
// port-80 listener unless config httpRedirect asks for one that only
// redirects to HTTPS with a 301.
func (b *builder) listeners() error {
	https, err := lb.NewListener(b.ctx, b.kids.Name("https"), &lb.ListenerArgs{
		LoadBalancerArn: b.s.ALBArn,
		Port:            pulumi.Int(443),
		Protocol:        pulumi.String("HTTPS"),
		SslPolicy:       pulumi.String(b.cfg.SSLPolicy),
		CertificateArn:  b.s.CertificateArn,
		DefaultActions: lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{
			Type: pulumi.String("forward"), TargetGroupArn: b.s.TargetGroupArn,
		}},
	}, b.parent)
	if err != nil {
		return fmt.Errorf("create HTTPS listener: %w", err)
	}
	b.httpsListener = https
	b.s.HTTPSListenerArn = https.Arn
	fixed := func(status, contentType, body string) lb.ListenerRuleActionArray {
		return lb.ListenerRuleActionArray{&lb.ListenerRuleActionArgs{
			Type: pulumi.String("fixed-response"),
			FixedResponse: &lb.ListenerRuleActionFixedResponseArgs{
				StatusCode: pulumi.String(status), ContentType: pulumi.String(contentType), MessageBody: pulumi.String(body),
			},
		}}
	}
	path := func(patterns ...string) lb.ListenerRuleConditionArray {
		return lb.ListenerRuleConditionArray{&lb.ListenerRuleConditionArgs{
			PathPattern: &lb.ListenerRuleConditionPathPatternArgs{Values: pulumi.ToStringArray(patterns)},
		}}
	}
	// A path-pattern condition takes at most 5 values (Elastic Load
	// Balancing, "Listener rules": conditions per rule).
	if _, err := lb.NewListenerRule(b.ctx, b.kids.Name("https-health-blocked"), &lb.ListenerRuleArgs{
		ListenerArn: https.Arn, Priority: pulumi.Int(PriorityBlockHealth),
		Conditions: path(b.cfg.EdgeBlockedPaths()...),
		Actions:    fixed("404", "application/json", `{"code":"not_found"}`),
	}, b.parent); err != nil {
		return fmt.Errorf("create listener rule blocking the health paths: %w", err)
	}
	if _, err := lb.NewListenerRule(b.ctx, b.kids.Name("https-edge-probe"), &lb.ListenerRuleArgs{
		ListenerArn: https.Arn, Priority: pulumi.Int(PriorityEdgeProbe),
		Conditions: path(config.EdgeProbePath),
		Actions:    fixed("200", "text/plain", "ok"),
	}, b.parent); err != nil {
		return fmt.Errorf("create edge probe listener rule: %w", err)
	}
	if !b.cfg.HTTPRedirect {
		return nil
	}
	if _, err := lb.NewListener(b.ctx, b.kids.Name("http"), &lb.ListenerArgs{
		LoadBalancerArn: b.s.ALBArn,
		Port:            pulumi.Int(80),
		Protocol:        pulumi.String("HTTP"),
		DefaultActions: lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{
			Type: pulumi.String("redirect"),
			Redirect: &lb.ListenerDefaultActionRedirectArgs{
				Protocol: pulumi.String("HTTPS"), Port: pulumi.String("443"), StatusCode: pulumi.String("HTTP_301"),
			},
		}},
	}, b.parent); err != nil {
		return fmt.Errorf("create HTTP redirect listener: %w", err)
	}
	return nil
}

// TargetProtocol is the app target group's protocol and its health
// check's: the load balancer re-encrypts to the tasks, which serve TLS with
// a key and certificate each makes at start (AppTLS). The load balancer
// does not validate target certificates, so a self-signed one serves: "the
// load balancer establishes TLS connections with the targets using
// certificates that you install on the targets" and "does not validate
// these certificates" (Elastic Load Balancing User Guide, "Target groups for
// your Application Load Balancers", Routing configuration). It encrypts the
// hop inside the VPC; the security groups still decide who may open it.
const TargetProtocol = "HTTPS"

// AppTLS is the app's APP_TLS for TargetProtocol: the server makes its key
// and certificate in memory at start (app/internal/service, selfSignedTLS;
// CONTRACT.md section 3).
const AppTLS = "self-signed"

// TargetGroupName is the app target group's name, keyed on the inputs whose
// change replaces the group (target type, protocol, protocol version, port
// and the VPC, by its CIDR). Known at program time, it is how the runbooks
// find the group at run time (asl.Targets.TargetGroupNames).
func TargetGroupName(names naming.Namer, port int, vpcCIDR string) string {
	return names.Keyed(naming.TargetGroup, "ip", TargetProtocol, "HTTP1", port, vpcCIDR)
}

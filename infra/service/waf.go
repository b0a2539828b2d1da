package service

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/wafv2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/naming"
)

// WAFRule is one rule of the web ACL: an AWS managed rule group, or (with
// an empty Vendor) the per-IP rate limit.
type WAFRule struct {
	Name     string
	Priority int
	Vendor   string
}

// RateLimitRule is the name of the rate-based rule.
const RateLimitRule = "RateLimitPerIP"

// RateWindowSeconds is the rate rule's evaluation window (WAF's default).
const RateWindowSeconds = 300

// WAFRules are the web ACL's rules in priority order: the cheap IP
// reputation list first, then the rate limit, then the request inspection
// groups.
var WAFRules = []WAFRule{
	{Name: "AWSManagedRulesAmazonIpReputationList", Priority: 10, Vendor: "AWS"},
	{Name: RateLimitRule, Priority: 20},
	{Name: "AWSManagedRulesCommonRuleSet", Priority: 30, Vendor: "AWS"},
	{Name: "AWSManagedRulesKnownBadInputsRuleSet", Priority: 40, Vendor: "AWS"},
}

// SampledRequests is off on every rule and on the web ACL; metrics stay
// on. A sample keeps the whole request, its Authorization bearer token
// and session headers included, for the console and the GetSampledRequests
// API, and "any field redaction that you specify in
// your logging configuration doesn't affect sampling. You can only
// exclude fields from request sampling by disabling sampling in the web
// ACL visibility configuration or by configuring data protection for the
// web ACL" (AWS WAF API Reference, VisibilityConfig, SampledRequestsEnabled;
// LoggingConfiguration, RedactedFields). The logs (waflogs.go) keep the
// same requests with those headers redacted.
const SampledRequests = false

func visibility(metric string) *wafv2.WebAclRuleVisibilityConfigArgs {
	return &wafv2.WebAclRuleVisibilityConfigArgs{
		CloudwatchMetricsEnabled: pulumi.Bool(true), SampledRequestsEnabled: pulumi.Bool(SampledRequests), MetricName: pulumi.String(metric),
	}
}

// waf creates the regional web ACL and associates it with the ALB.
func (b *builder) waf() error {
	if !b.cfg.WAFEnabled {
		b.s.WebACLArn = pulumi.String("").ToStringOutput()
		return nil
	}
	name := b.args.Names.Name(naming.WebACL)
	rules := wafv2.WebAclRuleArray{}
	for _, r := range WAFRules {
		rule := &wafv2.WebAclRuleArgs{
			Name: pulumi.String(r.Name), Priority: pulumi.Int(r.Priority), VisibilityConfig: visibility(r.Name),
		}
		if r.Vendor != "" {
			rule.OverrideAction = &wafv2.WebAclRuleOverrideActionArgs{None: &wafv2.WebAclRuleOverrideActionNoneArgs{}}
			rule.Statement = &wafv2.WebAclRuleStatementArgs{
				ManagedRuleGroupStatement: &wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs{
					Name: pulumi.String(r.Name), VendorName: pulumi.String(r.Vendor),
				},
			}
		} else {
			rule.Action = &wafv2.WebAclRuleActionArgs{Block: &wafv2.WebAclRuleActionBlockArgs{}}
			rule.Statement = &wafv2.WebAclRuleStatementArgs{
				RateBasedStatement: &wafv2.WebAclRuleStatementRateBasedStatementArgs{
					Limit:               pulumi.Int(b.cfg.WAFRateLimit),
					AggregateKeyType:    pulumi.String("IP"),
					EvaluationWindowSec: pulumi.Int(RateWindowSeconds),
				},
			}
		}
		rules = append(rules, rule)
	}
	acl, err := wafv2.NewWebAcl(b.ctx, b.kids.Name("alb"), &wafv2.WebAclArgs{
		Name:          pulumi.String(name),
		Description:   pulumi.String("trading-ha ALB: AWS managed rule groups and a per-IP rate limit"),
		Scope:         pulumi.String("REGIONAL"),
		DefaultAction: &wafv2.WebAclDefaultActionArgs{Allow: &wafv2.WebAclDefaultActionAllowArgs{}},
		Rules:         rules,
		VisibilityConfig: &wafv2.WebAclVisibilityConfigArgs{
			CloudwatchMetricsEnabled: pulumi.Bool(true), SampledRequestsEnabled: pulumi.Bool(SampledRequests), MetricName: pulumi.String(name),
		},
	}, b.parent)
	if err != nil {
		return fmt.Errorf("create web ACL: %w", err)
	}
	if _, err := wafv2.NewWebAclAssociation(b.ctx, b.kids.Name("alb"), &wafv2.WebAclAssociationArgs{
		ResourceArn: b.s.ALBArn, WebAclArn: acl.Arn,
	}, b.parent); err != nil {
		return fmt.Errorf("associate web ACL with the ALB: %w", err)
	}
	b.s.WebACLArn = acl.Arn
	return b.wafLogging(acl)
}

package service

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/wafv2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/naming"
)

// RedactedHeaders are kept out of the WAF logs: the bearer token, cookies,
// and the service's session and idempotency headers (X-Session-ID and
// Idempotency-Key, CONTRACT.md), which let whoever reads them act on a
// trader's session or replay an order (WAF Developer Guide, "Log fields
// redaction": SingleHeader; AWS WAF API Reference, LoggingConfiguration,
// RedactedFields: at most 100 fields). Redaction
// covers the logs only; request sampling is off for the same reason
// (SampledRequests, waf.go).
var RedactedHeaders = []string{"authorization", "cookie", "x-session-id", "idempotency-key"}

// wafLogging sends the web ACL's logs to a KMS-encrypted log group whose
// name starts with aws-waf-logs- (naming.WAFLogGroup cites the rule); WAF
// adds the log group resource policy it needs itself
// (PutLoggingConfiguration).
func (b *builder) wafLogging(acl *wafv2.WebAcl) error {
	group, err := cloudwatch.NewLogGroup(b.ctx, b.kids.Name("waf"), &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(b.args.Names.Name(naming.WAFLogGroup)),
		RetentionInDays: pulumi.Int(b.args.Shared.LogRetentionDays),
		KmsKeyId:        b.args.TelemetryKeyArn,
	}, b.parent)
	if err != nil {
		return fmt.Errorf("create WAF log group: %w", err)
	}
	redacted := wafv2.WebAclLoggingConfigurationRedactedFieldArray{}
	for _, h := range RedactedHeaders {
		redacted = append(redacted, wafv2.WebAclLoggingConfigurationRedactedFieldArgs{
			SingleHeader: &wafv2.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs{Name: pulumi.String(h)},
		})
	}
	if _, err := wafv2.NewWebAclLoggingConfiguration(b.ctx, b.kids.Name("alb"), &wafv2.WebAclLoggingConfigurationArgs{
		ResourceArn:           acl.Arn,
		LogDestinationConfigs: pulumi.StringArray{group.Arn},
		RedactedFields:        redacted,
	}, b.parent); err != nil {
		return fmt.Errorf("enable WAF logging: %w", err)
	}
	return nil
}

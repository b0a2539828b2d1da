// Package cis holds the CIS metric filters the trail is watched with, as
// plain data: the audit component builds them and the policy suite (and
// its policy pack) checks them, without the pack linking the AWS SDK.
package cis

// Watch is one change the trail's log group is watched for: a CIS AWS
// Foundations Benchmark metric filter with an alarm, as AWS Security Hub
// CSPM's CloudWatch controls define them (Security Hub User Guide,
// "Security Hub CSPM controls for Amazon CloudWatch",
// https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html,
// each pattern as the control's remediation writes it).
type Watch struct {
	// Key names the filter and alarm (trail-<key>-<suffix>, alarm-trail-<key>-<suffix>).
	Key string
	// Control is the Security Hub control the filter satisfies.
	Control string
	// Metric is the metric the filter emits in MetricNamespace.
	Metric string
	// Pattern is the filter pattern.
	Pattern string
	// Description is the alarm description.
	Description string
}

// MetricNamespace holds the trail metrics.
const MetricNamespace = "trading-ha/CloudTrail"

// Watches are the changes alarmed on: root use, unauthorized
// API calls, IAM policy changes, CloudTrail configuration changes, KMS keys
// disabled or scheduled for deletion, security group and NACL changes.
var Watches = []Watch{
	{
		Key: "root-use", Control: "CloudWatch.1", Metric: "RootAccountUsage",
		Pattern:     `{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}`,
		Description: "the root user made an API call (CIS, Security Hub CloudWatch.1)",
	},
	{
		Key: "unauthorized-api", Control: "CloudWatch.2", Metric: "UnauthorizedAPICalls",
		Pattern:     `{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}`,
		Description: "API calls were refused as unauthorized (CIS, Security Hub CloudWatch.2)",
	},
	{
		Key: "iam-policy", Control: "CloudWatch.4", Metric: "IAMPolicyChanges",
		Pattern: `{($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) || ` +
			`($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || ` +
			`($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) || ` +
			`($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || ` +
			`($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) || ($.eventName=DetachGroupPolicy)}`,
		Description: "an IAM policy changed (CIS, Security Hub CloudWatch.4)",
	},
	{
		Key: "cloudtrail-config", Control: "CloudWatch.5", Metric: "CloudTrailConfigChanges",
		Pattern: `{($.eventName=CreateTrail) || ($.eventName=UpdateTrail) || ($.eventName=DeleteTrail) || ` +
			`($.eventName=StartLogging) || ($.eventName=StopLogging)}`,
		Description: "a CloudTrail trail was created, changed, deleted, started or stopped (CIS, Security Hub CloudWatch.5)",
	},
	{
		Key: "kms-key-disabled", Control: "CloudWatch.7", Metric: "KMSKeyDisabledOrScheduledForDeletion",
		Pattern:     `{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}`,
		Description: "a KMS key was disabled or scheduled for deletion (CIS, Security Hub CloudWatch.7)",
	},
	{
		Key: "security-group", Control: "CloudWatch.10", Metric: "SecurityGroupChanges",
		Pattern: `{($.eventName=AuthorizeSecurityGroupIngress) || ($.eventName=AuthorizeSecurityGroupEgress) || ` +
			`($.eventName=RevokeSecurityGroupIngress) || ($.eventName=RevokeSecurityGroupEgress) || ` +
			`($.eventName=CreateSecurityGroup) || ($.eventName=DeleteSecurityGroup)}`,
		Description: "a security group changed (CIS, Security Hub CloudWatch.10)",
	},
	{
		Key: "nacl", Control: "CloudWatch.11", Metric: "NetworkACLChanges",
		Pattern: `{($.eventName=CreateNetworkAcl) || ($.eventName=CreateNetworkAclEntry) || ($.eventName=DeleteNetworkAcl) || ` +
			`($.eventName=DeleteNetworkAclEntry) || ($.eventName=ReplaceNetworkAclEntry) || ($.eventName=ReplaceNetworkAclAssociation)}`,
		Description: "a network ACL changed (CIS, Security Hub CloudWatch.11)",
	},
}

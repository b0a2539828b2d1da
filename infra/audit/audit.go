// Package audit owns the stack's CloudTrail trail: management events of
// every region, data events on the data bucket and the sessions table, log
// file validation, KMS encryption, delivery to a dedicated versioned TLS-only
// bucket and to a CloudWatch Logs group, and CIS metric filters with alarms
// on that group. Config cloudTrailEnabled=false (an organization trail
// already covers the account) creates nothing.
package audit

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudtrail"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	awsarn "github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/tags"
)

// Principal is CloudTrail's service principal.
const Principal = "cloudtrail.amazonaws.com"

// Args configures the trail.
type Args struct {
	Names naming.Namer
	// Shared are the stack-wide settings (region, zones, deletion protection, log retention).
	Shared config.Shared
	// Audit is the audit section: the trail and its bucket's retention.
	Audit config.Audit
	// Lifecycle is the stack's bucket lifecycle (the storage section's),
	// which the trail bucket follows too.
	Lifecycle config.Lifecycle
	AccountID string
	// TelemetryKeyArn encrypts the log files, the bucket and the log group;
	// its key policy carries KeyPolicyStatements.
	TelemetryKeyArn pulumi.StringInput
	// AlarmTopicArn receives the metric-filter alarms.
	AlarmTopicArn pulumi.StringInput
	// DataBucketArn and SessionsTableArn get data events.
	DataBucketArn    pulumi.StringInput
	SessionsTableArn pulumi.StringInput
	// LogsBucket receives the trail bucket's server access logs under AccessLogsPrefix.
	LogsBucket       pulumi.StringInput
	AccessLogsPrefix string
}

// Trail is the component.
type Trail struct {
	pulumi.ResourceState

	// Arn is the trail ARN; empty when the trail is off.
	Arn pulumi.StringOutput
	// Bucket is the log bucket name; empty when off.
	Bucket pulumi.StringOutput
}

// TrailArn is the ARN the trail will have: its name is fixed by naming, so
// the key and bucket policies can scope to it before it exists.
func TrailArn(names naming.Namer, region, account string) string {
	return fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/%s", region, account, names.Name(naming.Trail))
}

// KeyPolicyStatements are the key policy statements CloudTrail needs on the
// key that encrypts the trail (CloudTrail User Guide, "Configure AWS KMS key
// policies for CloudTrail": "Granting encrypt permissions for trails" —
// kms:GenerateDataKey* with aws:SourceArn the trail and
// kms:EncryptionContext:aws:cloudtrail:arn; "Enable CloudTrail to describe
// KMS key properties" — kms:DescribeKey). Reading the log files goes
// through IAM (the account-root delegation with kms:ViaService s3).
func KeyPolicyStatements(trailArn, region, account string) []iamdoc.Statement {
	return []iamdoc.Statement{
		{
			Sid: "CloudTrailEncryptsLogs", Effect: "Allow",
			Principal: map[string]any{"Service": Principal},
			Action:    []string{"kms:GenerateDataKey*"},
			Resource:  []string{"*"},
			Condition: map[string]map[string]any{
				"StringEquals": {"aws:SourceArn": trailArn},
				"StringLike":   {"kms:EncryptionContext:aws:cloudtrail:arn": fmt.Sprintf("arn:aws:cloudtrail:*:%s:trail/*", account)},
			},
		},
		{
			Sid: "CloudTrailDescribesKey", Effect: "Allow",
			Principal: map[string]any{"Service": Principal},
			Action:    []string{"kms:DescribeKey"},
			Resource:  []string{"*"},
			Condition: map[string]map[string]any{"StringEquals": {"aws:SourceArn": trailArn}},
		},
	}
}

// BucketPolicy is the trail bucket's policy: TLS only, and CloudTrail's
// two statements scoped to our trail (CloudTrail User Guide, "Amazon S3
// bucket policy for CloudTrail": s3:GetBucketAcl on the bucket, s3:PutObject
// under AWSLogs/<account>/ with s3:x-amz-acl bucket-owner-full-control, both
// with aws:SourceArn of the trail).
func BucketPolicy(bucketArn, trailArn, account string) iamdoc.Document {
	source := map[string]any{"aws:SourceArn": trailArn}
	return iamdoc.New(
		iamdoc.DenyInsecureTransport([]string{"s3:*"}, []string{bucketArn, bucketArn + "/*"}),
		iamdoc.Statement{
			Sid: "AWSCloudTrailAclCheck", Effect: "Allow", Principal: map[string]any{"Service": Principal},
			Action: []string{"s3:GetBucketAcl"}, Resource: []string{bucketArn},
			Condition: map[string]map[string]any{"StringEquals": source},
		},
		iamdoc.Statement{
			Sid: "AWSCloudTrailWrite", Effect: "Allow", Principal: map[string]any{"Service": Principal},
			Action: []string{"s3:PutObject"}, Resource: []string{bucketArn + "/AWSLogs/" + account + "/*"},
			Condition: map[string]map[string]any{"StringEquals": {
				"aws:SourceArn": trailArn, "s3:x-amz-acl": "bucket-owner-full-control",
			}},
		},
	)
}

// LogsRolePolicy lets CloudTrail write its log streams in our group
// (CloudTrail User Guide, "Role policy document for CloudTrail to use
// CloudWatch Logs for monitoring": logs:CreateLogStream and
// logs:PutLogEvents on log-stream:<account>_CloudTrail_<region>*).
func LogsRolePolicy(logGroupArn, account, region string) iamdoc.Document {
	return iamdoc.New(iamdoc.Allow("CloudTrailWritesLogStreams",
		[]string{"logs:CreateLogStream", "logs:PutLogEvents"},
		[]string{fmt.Sprintf("%s:log-stream:%s_CloudTrail_%s*", logGroupArn, account, region)}))
}

// New creates the trail and everything it delivers to.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Trail, error) {
	t := &Trail{}
	if err := ctx.RegisterComponentResource("trading:audit:Trail", name, t, opts...); err != nil {
		return nil, fmt.Errorf("register audit component: %w", err)
	}
	if !args.Audit.CloudTrail {
		t.Arn, t.Bucket = pulumi.String("").ToStringOutput(), pulumi.String("").ToStringOutput()
		if err := ctx.RegisterResourceOutputs(t, pulumi.Map{}); err != nil {
			return nil, fmt.Errorf("register audit outputs: %w", err)
		}
		return t, nil
	}
	parent := pulumi.Parent(t)
	// Children are named from the component (naming.ChildrenOf).
	kids := naming.ChildrenOf(name)
	cfg := args.Shared
	trailArn := TrailArn(args.Names, args.Shared.Region, args.AccountID)

	bucket, ready, err := t.bucket(ctx, kids, args, trailArn, parent)
	if err != nil {
		return nil, err
	}
	logGroup, err := cloudwatch.NewLogGroup(ctx, kids.Name("trail"), &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(args.Names.Name(naming.TrailLogGroup)),
		RetentionInDays: pulumi.Int(cfg.LogRetentionDays),
		KmsKeyId:        args.TelemetryKeyArn,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create trail log group: %w", err)
	}
	trust, err := iamdoc.AssumeRole(Principal, args.AccountID).JSON()
	if err != nil {
		return nil, fmt.Errorf("trail role trust policy: %w", err)
	}
	role, err := iam.NewRole(ctx, kids.Name("trail"), &iam.RoleArgs{
		Name:             pulumi.String(args.Names.Name(naming.TrailRole)),
		Description:      pulumi.String("CloudTrail delivers the trail to its CloudWatch Logs group"),
		AssumeRolePolicy: pulumi.String(trust),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create trail role: %w", err)
	}
	// Name-derived log group ARN (infra/arn): a plain string at preview.
	logsPolicy, err := LogsRolePolicy(awsarn.In(args.Shared.Region, args.AccountID).LogGroup(args.Names.Name(naming.TrailLogGroup)), args.AccountID, args.Shared.Region).JSON()
	if err != nil {
		return nil, fmt.Errorf("trail role policy: %w", err)
	}
	rolePolicy, err := iam.NewRolePolicy(ctx, kids.Name("trail"), &iam.RolePolicyArgs{
		Role:   role.Name,
		Policy: pulumi.String(logsPolicy),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("attach trail role policy: %w", err)
	}

	trail, err := cloudtrail.NewTrail(ctx, kids.Name("trail"), &cloudtrail.TrailArgs{
		Name:                       pulumi.String(args.Names.Name(naming.Trail)),
		S3BucketName:               bucket.Bucket,
		IsMultiRegionTrail:         pulumi.Bool(true),
		IncludeGlobalServiceEvents: pulumi.Bool(true),
		EnableLogFileValidation:    pulumi.Bool(true),
		EnableLogging:              pulumi.Bool(true),
		KmsKeyId:                   args.TelemetryKeyArn,
		// CloudTrail expects the group ARN with its ":*" suffix.
		CloudWatchLogsGroupArn: logGroup.Arn.ApplyT(func(a string) string { return a + ":*" }).(pulumi.StringOutput),
		CloudWatchLogsRoleArn:  role.Arn,
		AdvancedEventSelectors: selectors(args),
	}, parent, pulumi.DependsOn(append(ready, rolePolicy)))
	if err != nil {
		return nil, fmt.Errorf("create trail: %w", err)
	}
	if err := watches(ctx, kids, args, logGroup, trail, parent); err != nil {
		return nil, err
	}
	t.Arn, t.Bucket = trail.Arn, bucket.Bucket
	if err := ctx.RegisterResourceOutputs(t, pulumi.Map{"trailArn": t.Arn, "bucket": t.Bucket}); err != nil {
		return nil, fmt.Errorf("register audit outputs: %w", err)
	}
	return t, nil
}

// selectors are the trail's advanced event selectors: every management
// event (read and write), and the data events of the data bucket's objects
// and of the sessions table (CloudTrail User Guide, "Logging data events":
// resources.type AWS::S3::Object / AWS::DynamoDB::Table, resources.ARN).
func selectors(args Args) cloudtrail.TrailAdvancedEventSelectorArray {
	field := func(f string, equals ...pulumi.StringInput) cloudtrail.TrailAdvancedEventSelectorFieldSelectorArgs {
		return cloudtrail.TrailAdvancedEventSelectorFieldSelectorArgs{Field: pulumi.String(f), Equals: pulumi.StringArray(equals)}
	}
	prefix := args.DataBucketArn.ToStringOutput().ApplyT(func(a string) string { return a + "/" }).(pulumi.StringOutput)
	return cloudtrail.TrailAdvancedEventSelectorArray{
		cloudtrail.TrailAdvancedEventSelectorArgs{
			Name:           pulumi.String("management-events"),
			FieldSelectors: cloudtrail.TrailAdvancedEventSelectorFieldSelectorArray{field("eventCategory", pulumi.String("Management"))},
		},
		cloudtrail.TrailAdvancedEventSelectorArgs{
			Name: pulumi.String("data-bucket-objects"),
			FieldSelectors: cloudtrail.TrailAdvancedEventSelectorFieldSelectorArray{
				field("eventCategory", pulumi.String("Data")),
				field("resources.type", pulumi.String("AWS::S3::Object")),
				cloudtrail.TrailAdvancedEventSelectorFieldSelectorArgs{Field: pulumi.String("resources.ARN"), StartsWiths: pulumi.StringArray{prefix}},
			},
		},
		cloudtrail.TrailAdvancedEventSelectorArgs{
			Name: pulumi.String("sessions-table"),
			FieldSelectors: cloudtrail.TrailAdvancedEventSelectorFieldSelectorArray{
				field("eventCategory", pulumi.String("Data")),
				field("resources.type", pulumi.String("AWS::DynamoDB::Table")),
				field("resources.ARN", args.SessionsTableArn),
			},
		},
	}
}

// bucket creates the dedicated log bucket: versioned, Object Lock with a
// default retention (objectLock), KMS-encrypted, public access blocked,
// ACLs disabled, access-logged, lifecycle-managed, TLS only;
// force-destroyed unless deletionProtection is on. It returns the bucket
// and what the trail must wait for: the bucket policy (CloudTrail checks
// it at CreateTrail) and the Object Lock configuration (no log file is
// written before the default retention applies).
func (t *Trail) bucket(ctx *pulumi.Context, kids naming.Children, args Args, trailArn string, parent pulumi.ResourceOption) (*s3.BucketV2, []pulumi.Resource, error) {
	cfg := args.Shared
	// trail-<suffix>-<account ID>, known at program time, or an existing
	// stack's random tail (config trailBucketNameTail; infra/storage).
	name := args.Names.Unique(naming.TrailBucket, config.BucketTail(args.Audit.TrailBucketNameTail, args.AccountID))
	doc, err := BucketPolicy(awsarn.In(args.Shared.Region, args.AccountID).Bucket(name), trailArn, args.AccountID).JSON()
	if err != nil {
		return nil, nil, fmt.Errorf("trail bucket policy: %w", err)
	}
	exemptions := []tags.Exemption{{Rule: "TH-BAK-1",
		Reason: "audit log files: versioned and integrity-checked by CloudTrail digest files - no business data"}}
	if cfg.DeletionProtection {
		exemptions = append(exemptions, tags.Exemption{Rule: "TH-DES-2",
			Reason: "deletionProtection is on: the audit trail outlives the stack"})
	}
	keep, err := tags.Exempt(exemptions...)
	if err != nil {
		return nil, nil, err
	}
	b, err := s3.NewBucketV2(ctx, kids.Name("trail"), &s3.BucketV2Args{
		Bucket:       pulumi.String(name),
		ForceDestroy: pulumi.Bool(!cfg.DeletionProtection),
		Tags:         keep,
	}, parent)
	if err != nil {
		return nil, nil, fmt.Errorf("create trail bucket: %w", err)
	}
	pab, err := s3.NewBucketPublicAccessBlock(ctx, kids.Name("trail-public-access"), &s3.BucketPublicAccessBlockArgs{
		Bucket: b.ID(), BlockPublicAcls: pulumi.Bool(true), BlockPublicPolicy: pulumi.Bool(true),
		IgnorePublicAcls: pulumi.Bool(true), RestrictPublicBuckets: pulumi.Bool(true),
	}, parent)
	if err != nil {
		return nil, nil, fmt.Errorf("block public access on trail bucket: %w", err)
	}
	ownership, err := s3.NewBucketOwnershipControls(ctx, kids.Name("trail-ownership"), &s3.BucketOwnershipControlsArgs{
		Bucket: b.ID(), Rule: &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, parent, pulumi.DependsOn([]pulumi.Resource{pab}))
	if err != nil {
		return nil, nil, fmt.Errorf("disable ACLs on trail bucket: %w", err)
	}
	versioning, err := s3.NewBucketVersioningV2(ctx, kids.Name("trail-versioning"), &s3.BucketVersioningV2Args{
		Bucket:                  b.ID(),
		VersioningConfiguration: &s3.BucketVersioningV2VersioningConfigurationArgs{Status: pulumi.String("Enabled")},
	}, parent)
	if err != nil {
		return nil, nil, fmt.Errorf("enable versioning on trail bucket: %w", err)
	}
	lock, err := objectLock(ctx, kids, args.Audit, b, versioning, parent)
	if err != nil {
		return nil, nil, err
	}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, kids.Name("trail-encryption"), &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: b.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{&s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
			ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
				SseAlgorithm: pulumi.String("aws:kms"), KmsMasterKeyId: args.TelemetryKeyArn,
			},
			BucketKeyEnabled: pulumi.Bool(true),
		}},
	}, parent); err != nil {
		return nil, nil, fmt.Errorf("encrypt trail bucket: %w", err)
	}
	if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, kids.Name("trail-lifecycle"), &s3.BucketLifecycleConfigurationV2Args{
		Bucket: b.ID(),
		Rules: s3.BucketLifecycleConfigurationV2RuleArray{&s3.BucketLifecycleConfigurationV2RuleArgs{
			Id: pulumi.String("trail-retention"), Status: pulumi.String("Enabled"),
			Filter:     &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String("")},
			Expiration: &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: pulumi.Int(args.Lifecycle.LogsExpirationDays)},
			NoncurrentVersionExpiration: &s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{
				NoncurrentDays: pulumi.Int(args.Lifecycle.NoncurrentExpirationDays),
			},
			AbortIncompleteMultipartUpload: &s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{
				DaysAfterInitiation: pulumi.Int(args.Lifecycle.AbortMultipartDays),
			},
		}},
	}, parent); err != nil {
		return nil, nil, fmt.Errorf("set lifecycle of trail bucket: %w", err)
	}
	if _, err := s3.NewBucketLoggingV2(ctx, kids.Name("trail-access-logs"), &s3.BucketLoggingV2Args{
		Bucket: b.Bucket, TargetBucket: args.LogsBucket, TargetPrefix: pulumi.String(args.AccessLogsPrefix + "trail/"),
	}, parent); err != nil {
		return nil, nil, fmt.Errorf("enable trail bucket access logging: %w", err)
	}
	// The policy waits for the public access block and the ownership
	// controls: S3 aborts concurrent configuration calls on one bucket
	// (infra/storage: OperationAborted).
	policy, err := s3.NewBucketPolicy(ctx, kids.Name("trail-policy"), &s3.BucketPolicyArgs{
		Bucket: b.ID(),
		Policy: pulumi.String(doc),
	}, parent, pulumi.DependsOn([]pulumi.Resource{pab, ownership}))
	if err != nil {
		return nil, nil, fmt.Errorf("attach trail bucket policy: %w", err)
	}
	ready := []pulumi.Resource{policy}
	if lock != nil {
		ready = append(ready, lock)
	}
	return b, ready, nil
}

// objectLock turns S3 Object Lock on for the trail bucket with a default
// retention of trailObjectLockDays in trailObjectLockMode (config:
// compliance in a protected stack, governance otherwise; off creates
// nothing). PutObjectLockConfiguration enables Object Lock "for new or
// existing buckets", after versioning (Amazon S3 API Reference,
// PutObjectLockConfiguration; Amazon S3 User Guide, "Configuring S3 Object
// Lock": "you must enable S3 Versioning and Object Lock"), so it waits for
// the versioning resource and the bucket is not recreated: the bucket's own
// objectLockEnabled argument would replace an existing stack's bucket, name
// and log files included. Once on, Object Lock "can't be disabled"; off
// later only drops the default retention.
//
// Destroy: in governance mode forceDestroy still empties the bucket, by
// deleting locked versions with the governance bypass (pulumi-aws BucketV2
// forceDestroy: "all objects (including any locked objects)"; the caller
// needs s3:BypassGovernanceRetention). In compliance mode no one can delete
// a version before its retention ends, so config allows it only with
// deletionProtection, whose bucket is kept on destroy (docs/destroy.md).
func objectLock(ctx *pulumi.Context, kids naming.Children, cfg config.Audit, b *s3.BucketV2, versioning pulumi.Resource, parent pulumi.ResourceOption) (pulumi.Resource, error) {
	mode := cfg.TrailObjectLockMode
	if mode == config.ObjectLockOff {
		return nil, nil
	}
	lock, err := s3.NewBucketObjectLockConfigurationV2(ctx, kids.Name("trail-object-lock"), &s3.BucketObjectLockConfigurationV2Args{
		Bucket:            b.ID(),
		ObjectLockEnabled: pulumi.String("Enabled"),
		Rule: &s3.BucketObjectLockConfigurationV2RuleArgs{
			DefaultRetention: &s3.BucketObjectLockConfigurationV2RuleDefaultRetentionArgs{
				// The API's modes are GOVERNANCE and COMPLIANCE.
				Mode: pulumi.String(strings.ToUpper(mode)),
				Days: pulumi.Int(cfg.TrailObjectLockDays),
			},
		},
	}, parent, pulumi.DependsOn([]pulumi.Resource{versioning}))
	if err != nil {
		return nil, fmt.Errorf("lock trail bucket objects: %w", err)
	}
	return lock, nil
}

// watches creates one metric filter and alarm per Watch on the trail's log group.
func watches(ctx *pulumi.Context, kids naming.Children, args Args, logGroup *cloudwatch.LogGroup, trail *cloudtrail.Trail, parent pulumi.ResourceOption) error {
	for _, w := range Watches {
		filter, err := cloudwatch.NewLogMetricFilter(ctx, kids.Name("trail-"+w.Key), &cloudwatch.LogMetricFilterArgs{
			Name:         pulumi.String(args.Names.Member(naming.TrailFilter, w.Key)),
			LogGroupName: logGroup.Name,
			Pattern:      pulumi.String(w.Pattern),
			MetricTransformation: &cloudwatch.LogMetricFilterMetricTransformationArgs{
				Name: pulumi.String(w.Metric), Namespace: pulumi.String(MetricNamespace), Value: pulumi.String("1"),
			},
		}, parent, pulumi.DependsOn([]pulumi.Resource{trail}))
		if err != nil {
			return fmt.Errorf("create metric filter %s: %w", w.Key, err)
		}
		if _, err := cloudwatch.NewMetricAlarm(ctx, kids.Name("trail-"+w.Key), &cloudwatch.MetricAlarmArgs{
			Name:               pulumi.String(args.Names.Member(naming.Alarm, "trail-"+w.Key)),
			AlarmDescription:   pulumi.String(w.Description),
			Namespace:          pulumi.String(MetricNamespace),
			MetricName:         pulumi.String(w.Metric),
			Statistic:          pulumi.String("Sum"),
			Period:             pulumi.Int(300),
			EvaluationPeriods:  pulumi.Int(1),
			Threshold:          pulumi.Float64(1),
			ComparisonOperator: pulumi.String("GreaterThanOrEqualToThreshold"),
			TreatMissingData:   pulumi.String("notBreaching"),
			AlarmActions:       pulumi.Array{args.AlarmTopicArn},
		}, parent, pulumi.DependsOn([]pulumi.Resource{filter})); err != nil {
			return fmt.Errorf("create alarm %s: %w", w.Key, err)
		}
	}
	return nil
}

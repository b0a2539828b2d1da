// Package storage owns the S3 buckets: the versioned, KMS-encrypted data
// bucket, and the logs/artifacts bucket that uses SSE-S3 because ALB access
// logs cannot be written with a customer managed key. Both block public
// access, refuse non-TLS requests, disable ACLs, expire old versions and
// abort stale multipart uploads, and are force-destroyed with the stack.
package storage

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	awsarn "github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/tags"
)

// ELBAccountUSEast1 is the Elastic Load Balancing account that writes ALB
// access logs in us-east-1 (regions before August 2022 use an account
// principal, not the log-delivery service principal).
const ELBAccountUSEast1 = "127311923021"

// Prefixes inside the logs bucket.
const (
	ALBLogsPrefix          = "alb"
	AccessLogsPrefix       = "s3-access/"
	CanaryPrefix           = "canary"
	CanaryCodePrefix       = "canary-code"
	ServiceSnapshotsPrefix = "ecs-snapshots"
)

// Canary artifacts (screenshots, HAR files, logs and reports of each run
// under CanaryPrefix/) have a lifecycle rule of their own in the logs
// bucket. Synthetics keeps its run records for canaryFailureRetentionDays
// (failed runs; successful ones for the shorter success retention), and an
// artifact outliving the record that points to it is dead weight, so the
// artifacts expire after the longer of that retention and
// CanaryArtifactsMinDays, a month to investigate a failure in. Overlapping
// expirations resolve to the shorter one ("if two expiration policies
// overlap, the shorter expiration policy is honored", Amazon S3 User Guide,
// "How Amazon S3 handles conflicts in lifecycle configurations"), so this
// rule wins over the bucket-wide logsExpirationDays for the prefix.
const (
	// CanaryArtifactsMinDays is the shortest life of a canary artifact.
	CanaryArtifactsMinDays = 31
	// CanaryArtifactsNoncurrentDays removes the expired (noncurrent)
	// versions the versioned bucket keeps, a day after they expire.
	CanaryArtifactsNoncurrentDays = 1
	// CanaryArtifactsRuleID is the canary rule's ID in the logs bucket.
	CanaryArtifactsRuleID = "canary-artifacts"
)

// CanaryArtifactsExpirationDays is how long canary artifacts live: the
// longer of the canary failure retention and CanaryArtifactsMinDays.
func CanaryArtifactsExpirationDays(failureRetentionDays int) int {
	return max(failureRetentionDays, CanaryArtifactsMinDays)
}

// CanaryArtifactsFilterPrefix is the canary rule's key prefix: the folder,
// so canary-code/ (the script the canary runs) is not matched.
const CanaryArtifactsFilterPrefix = CanaryPrefix + "/"

// Args configures the buckets.
type Args struct {
	Names naming.Namer
	// Shared are the stack-wide settings (region, zones, deletion protection, log retention).
	Shared config.Shared
	// Storage is the storage section: lifecycle and name tail.
	Storage config.Storage
	// CanaryFailureRetentionDays is how long the canary keeps failed runs
	// (the monitoring section's): its artifacts in the logs bucket live
	// that long.
	CanaryFailureRetentionDays int
	AccountID                  string
	DataKeyArn                 pulumi.StringInput
}

// Buckets is the component and the names and ARNs other tiers need.
type Buckets struct {
	pulumi.ResourceState

	DataBucket pulumi.StringOutput
	DataArn    pulumi.StringOutput
	LogsBucket pulumi.StringOutput
	LogsArn    pulumi.StringOutput
	// DataBucketName and LogsBucketName are the physical names, known at
	// program time: documents that only match them at request time (IAM
	// Resource elements) use the ARNs infra/arn builds from them.
	DataBucketName, LogsBucketName string
	// LogsPolicy is the logs bucket's policy, which grants the ELB account
	// and S3 log delivery their writes: a resource that enables delivery
	// into the bucket (ALB access logs) depends on it, because ELB tests
	// its write when access logs are enabled.
	LogsPolicy pulumi.Resource
}

// New creates the buckets.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Buckets, error) {
	b := &Buckets{}
	if err := ctx.RegisterComponentResource("trading:storage:Buckets", name, b, opts...); err != nil {
		return nil, fmt.Errorf("register storage component: %w", err)
	}
	parent := pulumi.Parent(b)
	// Children are named from the component (naming.ChildrenOf).
	kids := naming.ChildrenOf(name)

	// Bucket names are global: <type>-<suffix>-<account ID> is unique per
	// account and stack and known at program time (the account comes from
	// aws.GetCallerIdentity, which answers during preview), so the bucket
	// policies below are plain documents at the first preview. An existing
	// stack keeps its random tail through config bucketNameTail
	// (docs/deploy.md): a new name would replace the bucket.
	tail := config.BucketTail(args.Storage.BucketNameTail, args.AccountID)
	b.DataBucketName = args.Names.Unique(naming.DataBucket, tail)
	b.LogsBucketName = args.Names.Unique(naming.LogsBucket, tail)
	at := awsarn.In(args.Shared.Region, args.AccountID)

	logsExemptions, err := tags.Exempt(
		tags.Exemption{Rule: "S3.17", Reason: "ALB access logs can only be delivered to a bucket encrypted with SSE-S3"},
		tags.Exemption{Rule: "S3.9", Reason: "this bucket is the server access log target: logging it into itself would loop"},
		tags.Exemption{Rule: "TH-BAK-1", Reason: "operational logs and canary artifacts only: versioned with lifecycle and no business data"},
	)
	if err != nil {
		return nil, err
	}
	logs, logsControls, err := newBucket(ctx, kids, bucketSpec{
		logical: "logs", name: b.LogsBucketName, args: args, expireCurrentDays: args.Storage.LogsExpirationDays,
		tags: logsExemptions, canaryArtifactsDays: CanaryArtifactsExpirationDays(args.CanaryFailureRetentionDays),
	}, parent)
	if err != nil {
		return nil, err
	}
	// Business data survives a destroy of a protected stack (deletionProtection).
	var dataTags pulumi.StringMap
	if args.Shared.DeletionProtection {
		if dataTags, err = tags.Exempt(tags.Exemption{Rule: "TH-DES-2",
			Reason: "deletionProtection is on: the data bucket is not force-destroyed with the stack"}); err != nil {
			return nil, err
		}
	}
	data, dataControls, err := newBucket(ctx, kids, bucketSpec{logical: "data", name: b.DataBucketName, args: args, kmsKey: args.DataKeyArn,
		keep: args.Shared.DeletionProtection, tags: dataTags}, parent)
	if err != nil {
		return nil, err
	}

	if _, err := policy(ctx, kids, "data", data, at.Bucket(b.DataBucketName), nil, dataControls, parent); err != nil {
		return nil, err
	}
	logDelivery := func(arn string) []iamdoc.Statement {
		return []iamdoc.Statement{
			{
				Sid: "ALBAccessLogs", Effect: "Allow",
				Principal: map[string]any{"AWS": "arn:aws:iam::" + ELBAccountUSEast1 + ":root"},
				Action:    []string{"s3:PutObject"},
				Resource:  []string{arn + "/" + ALBLogsPrefix + "/AWSLogs/" + args.AccountID + "/*"},
			},
			{
				Sid: "S3ServerAccessLogs", Effect: "Allow",
				Principal: map[string]any{"Service": "logging.s3.amazonaws.com"},
				Action:    []string{"s3:PutObject"},
				Resource:  []string{arn + "/" + AccessLogsPrefix + "*"},
				Condition: map[string]map[string]any{"StringEquals": {"aws:SourceAccount": args.AccountID}},
			},
		}
	}
	logsPolicy, err := policy(ctx, kids, "logs", logs, at.Bucket(b.LogsBucketName), logDelivery, logsControls, parent)
	if err != nil {
		return nil, err
	}
	b.LogsPolicy = logsPolicy

	// Server access logs of the data bucket go to the logs bucket (FSBP
	// S3.9). The logs bucket's policy is what grants logging.s3.amazonaws.com
	// its writes (ACLs are disabled), so logging is enabled after it.
	if _, err := s3.NewBucketLoggingV2(ctx, kids.Name("data-access-logs"), &s3.BucketLoggingV2Args{
		Bucket: data.Bucket, TargetBucket: logs.Bucket, TargetPrefix: pulumi.String(AccessLogsPrefix),
	}, parent, pulumi.DependsOn([]pulumi.Resource{logsPolicy})); err != nil {
		return nil, fmt.Errorf("enable data bucket access logging: %w", err)
	}

	b.DataBucket, b.DataArn = data.Bucket, data.Arn
	b.LogsBucket, b.LogsArn = logs.Bucket, logs.Arn
	if err := ctx.RegisterResourceOutputs(b, pulumi.Map{
		"dataBucket": b.DataBucket, "logsBucket": b.LogsBucket,
	}); err != nil {
		return nil, fmt.Errorf("register storage outputs: %w", err)
	}
	return b, nil
}

type bucketSpec struct {
	logical           string
	name              string // the physical name (naming.Unique)
	args              Args
	kmsKey            pulumi.StringInput // nil: SSE-S3
	expireCurrentDays int                // 0: current versions never expire
	tags              pulumi.StringMap   // policy exemptions
	keep              bool               // not force-destroyed (protected stacks' data)
	// canaryArtifactsDays > 0 adds the canary artifacts rule (logs bucket).
	canaryArtifactsDays int
}

// newBucket creates a bucket and its configuration. It also returns the
// bucket's public access block and ownership controls: S3 answers
// OperationAborted ("A conflicting conditional operation is currently in
// progress against this resource") when a bucket policy is put while
// either is being set on the same bucket
// (hashicorp/terraform-provider-aws#7628 for the public access block,
// sevenwestmedia-labs/pulumi-components#46 for ownership controls), so the
// policy waits for them, and the ownership controls wait for the block.
func newBucket(ctx *pulumi.Context, kids naming.Children, spec bucketSpec, parent pulumi.ResourceOption) (*s3.BucketV2, []pulumi.Resource, error) {
	cfg := spec.args.Storage
	bucket, err := s3.NewBucketV2(ctx, kids.Name(spec.logical), &s3.BucketV2Args{
		Bucket:       pulumi.String(spec.name),
		ForceDestroy: pulumi.Bool(!spec.keep),
		Tags:         spec.tags,
	}, parent)
	if err != nil {
		return nil, nil, fmt.Errorf("create %s bucket: %w", spec.logical, err)
	}
	child := func(what string) string { return spec.logical + "-" + what }
	block, err := s3.NewBucketPublicAccessBlock(ctx, kids.Name(child("public-access")), &s3.BucketPublicAccessBlockArgs{
		Bucket: bucket.ID(), BlockPublicAcls: pulumi.Bool(true), BlockPublicPolicy: pulumi.Bool(true),
		IgnorePublicAcls: pulumi.Bool(true), RestrictPublicBuckets: pulumi.Bool(true),
	}, parent)
	if err != nil {
		return nil, nil, fmt.Errorf("block public access on %s bucket: %w", spec.logical, err)
	}
	ownership, err := s3.NewBucketOwnershipControls(ctx, kids.Name(child("ownership")), &s3.BucketOwnershipControlsArgs{
		Bucket: bucket.ID(),
		Rule:   &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, parent, pulumi.DependsOn([]pulumi.Resource{block}))
	if err != nil {
		return nil, nil, fmt.Errorf("disable ACLs on %s bucket: %w", spec.logical, err)
	}
	if _, err := s3.NewBucketVersioningV2(ctx, kids.Name(child("versioning")), &s3.BucketVersioningV2Args{
		Bucket:                  bucket.ID(),
		VersioningConfiguration: &s3.BucketVersioningV2VersioningConfigurationArgs{Status: pulumi.String("Enabled")},
	}, parent); err != nil {
		return nil, nil, fmt.Errorf("enable versioning on %s bucket: %w", spec.logical, err)
	}
	sse := &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
		SseAlgorithm: pulumi.String("AES256"),
	}
	if spec.kmsKey != nil {
		sse = &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
			SseAlgorithm: pulumi.String("aws:kms"), KmsMasterKeyId: spec.kmsKey,
		}
	}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, kids.Name(child("encryption")), &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{&s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
			ApplyServerSideEncryptionByDefault: sse,
			BucketKeyEnabled:                   pulumi.Bool(spec.kmsKey != nil),
		}},
	}, parent); err != nil {
		return nil, nil, fmt.Errorf("encrypt %s bucket: %w", spec.logical, err)
	}
	rule := &s3.BucketLifecycleConfigurationV2RuleArgs{
		Id:     pulumi.String("versions-and-uploads"),
		Status: pulumi.String("Enabled"),
		Filter: &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String("")},
		NoncurrentVersionTransitions: s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionTransitionArray{
			&s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionTransitionArgs{
				NoncurrentDays: pulumi.Int(cfg.NoncurrentTransitionDays), StorageClass: pulumi.String("STANDARD_IA"),
			},
		},
		NoncurrentVersionExpiration: &s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{
			NoncurrentDays: pulumi.Int(cfg.NoncurrentExpirationDays),
		},
		AbortIncompleteMultipartUpload: &s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{
			DaysAfterInitiation: pulumi.Int(cfg.AbortMultipartDays),
		},
	}
	if spec.expireCurrentDays > 0 {
		rule.Expiration = &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: pulumi.Int(spec.expireCurrentDays)}
	}
	rules := s3.BucketLifecycleConfigurationV2RuleArray{rule}
	if spec.canaryArtifactsDays > 0 {
		rules = append(rules, &s3.BucketLifecycleConfigurationV2RuleArgs{
			Id:         pulumi.String(CanaryArtifactsRuleID),
			Status:     pulumi.String("Enabled"),
			Filter:     &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String(CanaryArtifactsFilterPrefix)},
			Expiration: &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: pulumi.Int(spec.canaryArtifactsDays)},
			NoncurrentVersionExpiration: &s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{
				NoncurrentDays: pulumi.Int(CanaryArtifactsNoncurrentDays),
			},
		})
	}
	if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, kids.Name(child("lifecycle")), &s3.BucketLifecycleConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules:  rules,
	}, parent); err != nil {
		return nil, nil, fmt.Errorf("set lifecycle of %s bucket: %w", spec.logical, err)
	}
	return bucket, []pulumi.Resource{block, ownership}, nil
}

// policy attaches the bucket policy: TLS only, plus any extra statements.
// arn is the bucket's, from its name (infra/arn), so the document is known
// at program time; the policy still names the bucket by its ID output, so
// it waits for the bucket, and for the bucket's controls (see newBucket).
func policy(ctx *pulumi.Context, kids naming.Children, logical string, bucket *s3.BucketV2, arn string,
	extra func(arn string) []iamdoc.Statement, controls []pulumi.Resource, parent pulumi.ResourceOption) (*s3.BucketPolicy, error) {
	stmts := []iamdoc.Statement{iamdoc.DenyInsecureTransport([]string{"s3:*"}, []string{arn, arn + "/*"})}
	if extra != nil {
		stmts = append(stmts, extra(arn)...)
	}
	doc, err := iamdoc.New(stmts...).JSON()
	if err != nil {
		return nil, fmt.Errorf("%s bucket policy: %w", logical, err)
	}
	p, err := s3.NewBucketPolicy(ctx, kids.Name(logical+"-policy"), &s3.BucketPolicyArgs{
		Bucket: bucket.ID(), Policy: pulumi.String(doc),
	}, parent, pulumi.DependsOn(controls))
	if err != nil {
		return nil, fmt.Errorf("attach %s bucket policy: %w", logical, err)
	}
	return p, nil
}

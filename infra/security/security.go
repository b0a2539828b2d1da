// Package security owns the customer managed KMS keys: one for data at rest
// (Aurora, DynamoDB, S3, SSM, Secrets Manager, AWS Backup), one for
// telemetry and messaging (CloudWatch Logs, SNS, SQS, EventBridge, canary
// artifacts) and one for the backstop paging topic only, so that losing
// either of the first two never silences the page that reports it. All
// rotate yearly and have the configured deletion window.
package security

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/naming"
)

// UseActions are the cryptographic actions the account uses a key with.
var UseActions = []string{"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"}

// DataServices are the services that encrypt with the data key in the
// recording (tests/keyuse_test.go holds this list to the resources): Aurora
// and Performance Insights (rds), the sessions table (dynamodb), the data
// bucket (s3), the SecureString parameters (ssm), the RDS-managed master
// secret (secretsmanager), the vault (backup) and the image repository
// (ecr).
var DataServices = []string{"rds", "dynamodb", "s3", "ssm", "secretsmanager", "backup", "ecr"}

// TelemetryServices are the services account principals use the telemetry
// key through: the topics (sns), the queues (sqs) and the canary artifacts
// and trail buckets (s3). CloudWatch Logs, CloudTrail and the deliveries
// use it with their own service principals.
var TelemetryServices = []string{"sns", "sqs", "s3"}

// DeletionWindowDays is the KMS key deletion window: the shortest AWS
// allows, so destroyed stacks do not linger, yet a week to cancel a mistake.
const DeletionWindowDays = 7

// Args configures the keys.
type Args struct {
	Names     naming.Namer
	AccountID string
	Region    string
	// DeletionWindowDays is the keys' deletion window (config: 30 days
	// when deletionProtection is on, 7 otherwise).
	DeletionWindowDays int
	// TelemetryServices are further service statements of the telemetry
	// key (CloudTrail's, with the conditions CloudTrail documents).
	TelemetryServices []iamdoc.Statement
	// DataKeyGuard are further statements of the data key's policy: in a
	// protected stack iamdoc.KeyGuard (only break-glass may disable the key
	// or schedule its deletion); none where the stack must destroy, since
	// `pulumi destroy` schedules the key's deletion.
	DataKeyGuard []iamdoc.Statement
}

// Keys is the component: the two keys and their aliases.
type Keys struct {
	pulumi.ResourceState

	// DataKeyArn encrypts data at rest.
	DataKeyArn pulumi.StringOutput
	// TelemetryKeyArn encrypts logs, topics, queues and artifacts.
	TelemetryKeyArn pulumi.StringOutput
	// PagingKeyArn encrypts the backstop paging topic and nothing else.
	PagingKeyArn pulumi.StringOutput
}

// New creates the keys.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Keys, error) {
	k := &Keys{}
	if err := ctx.RegisterComponentResource("trading:security:Keys", name, k, opts...); err != nil {
		return nil, fmt.Errorf("register security component: %w", err)
	}
	parent := pulumi.Parent(k)
	// Children are named from the component (naming.ChildrenOf).
	kids := naming.ChildrenOf(name)

	root := fmt.Sprintf("arn:aws:iam::%s:root", args.AccountID)
	// Key administration and key use are separate statements. The account
	// (its IAM policies) administers each key with the administration
	// actions of KMS's default key policy only (AWS KMS Developer Guide,
	// "Default key policy": "Allows key administrators to administer the
	// KMS key"); it uses a key only through the AWS services that encrypt
	// with it, kms:ViaService with kms:CallerAccount (AWS KMS Developer
	// Guide, "kms:ViaService" and "kms:CallerAccount" condition keys; the
	// default policy's "Allows key users to use the KMS key with AWS
	// services" pattern). A role's own kms: grant works only inside these
	// (tests/keyuse_test.go walks every identity policy naming a key).
	admin := iamdoc.Statement{
		Sid: "AccountAdministersKey", Effect: "Allow",
		Principal: map[string]any{"AWS": root},
		Action:    iamdoc.KMSKeyAdminActions, Resource: []string{"*"},
	}
	via := func(sid string, actions, services []string) iamdoc.Statement {
		names := make([]string, 0, len(services))
		for _, svc := range services {
			names = append(names, svc+"."+args.Region+".amazonaws.com")
		}
		return iamdoc.Statement{
			Sid: sid, Effect: "Allow",
			Principal: map[string]any{"AWS": root},
			Action:    actions, Resource: []string{"*"},
			Condition: map[string]map[string]any{"StringEquals": {
				"kms:CallerAccount": args.AccountID, "kms:ViaService": names,
			}},
		}
	}

	// Data services create grants for their own later use (RDS, DynamoDB,
	// AWS Backup, ECR: "Amazon ECR encryption at rest" - DescribeKey and
	// two CreateGrant calls at repository creation).
	dataPolicy := iamdoc.New(append([]iamdoc.Statement{admin, via("AccountUsesKeyViaDataServices", append(slices.Clone(UseActions), "kms:CreateGrant", "kms:ListGrants"), DataServices)},
		args.DataKeyGuard...)...)
	statements := []iamdoc.Statement{admin, via("AccountUsesKeyViaTelemetryServices", UseActions, TelemetryServices), {
		Sid: "CloudWatchLogs", Effect: "Allow",
		Principal: map[string]any{"Service": "logs." + args.Region + ".amazonaws.com"},
		// Not kms:DescribeKey: it carries no encryption context, so the
		// condition below never matched it (proof/iamcheck).
		Action:   []string{"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"},
		Resource: []string{"*"},
		Condition: map[string]map[string]any{"ArnLike": {
			"kms:EncryptionContext:aws:logs:arn": fmt.Sprintf("arn:aws:logs:%s:%s:log-group:*", args.Region, args.AccountID),
		}},
	}}
	for _, d := range Deliveries {
		statements = append(statements, d.Statement())
	}
	statements = append(statements, args.TelemetryServices...)
	telemetryPolicy := iamdoc.New(statements...)

	var err error
	if k.DataKeyArn, err = newKey(ctx, kids, "data", "trading-ha data at rest", args.Names.Name(naming.KMSDataAlias), args.window(), dataPolicy, parent); err != nil {
		return nil, err
	}
	if k.TelemetryKeyArn, err = newKey(ctx, kids, "telemetry", "trading-ha logs, alarms and messaging", args.Names.Name(naming.KMSTelemetryAlias), args.window(), telemetryPolicy, parent); err != nil {
		return nil, err
	}
	// The paging key: the account uses it only through SNS, and only the
	// services that publish pages (CloudWatch alarms, EventBridge rules)
	// may encrypt with it.
	paging := []iamdoc.Statement{admin, via("AccountUsesKeyViaSNS", UseActions, []string{"sns"})}
	for _, d := range Deliveries {
		if slices.Contains(PagePublishers, d.Principal) {
			paging = append(paging, d.Statement())
		}
	}
	if k.PagingKeyArn, err = newKey(ctx, kids, "paging", "trading-ha backstop paging topic", args.Names.Name(naming.KMSPagingAlias), args.window(), iamdoc.New(paging...), parent); err != nil {
		return nil, err
	}
	if err := ctx.RegisterResourceOutputs(k, pulumi.Map{
		"dataKeyArn": k.DataKeyArn, "telemetryKeyArn": k.TelemetryKeyArn, "pagingKeyArn": k.PagingKeyArn,
	}); err != nil {
		return nil, fmt.Errorf("register security outputs: %w", err)
	}
	return k, nil
}

// window is the configured deletion window, DeletionWindowDays if unset.
func (a Args) window() int {
	if a.DeletionWindowDays == 0 {
		return DeletionWindowDays
	}
	return a.DeletionWindowDays
}

func newKey(ctx *pulumi.Context, kids naming.Children, name, description, alias string, window int, policy iamdoc.Document, parent pulumi.ResourceOption) (pulumi.StringOutput, error) {
	doc, err := policy.JSON()
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("%s key policy: %w", name, err)
	}
	key, err := kms.NewKey(ctx, kids.Name("key-"+name), &kms.KeyArgs{
		Description:          pulumi.String(description),
		EnableKeyRotation:    pulumi.Bool(true),
		RotationPeriodInDays: pulumi.Int(365),
		DeletionWindowInDays: pulumi.Int(window),
		KeyUsage:             pulumi.String("ENCRYPT_DECRYPT"),
		Policy:               pulumi.String(doc),
	}, parent)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("create %s key: %w", name, err)
	}
	if _, err := kms.NewAlias(ctx, kids.Name("alias-"+name), &kms.AliasArgs{
		Name:        pulumi.String(alias),
		TargetKeyId: key.KeyId,
	}, parent); err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("create %s key alias: %w", name, err)
	}
	return key.Arn, nil
}

// Delivery is an AWS service that publishes into our encrypted topics and
// queues with its own service principal, so the telemetry key policy must
// let it use the key. Each states exactly what the service's documentation
// writes: a condition the service does not document in the key policy is
// not evaluated as we hope, and a failed KMS call drops the delivery
// without an error anywhere we look. Confused-deputy scoping lives in the
// topic and queue policies (aws:SourceArn/aws:SourceAccount), which these
// services do document.
type Delivery struct {
	// Sid names the statement.
	Sid string
	// Principal is the service principal.
	Principal string
	// Actions are the KMS actions the documentation lists.
	Actions []string
	// Conditions are the condition keys the documentation supports in
	// the key policy for this delivery; none for every service we use.
	Conditions map[string]map[string]any
	// Source is the documentation the statement follows.
	Source string
}

// Statement is the key policy statement of the delivery.
func (d Delivery) Statement() iamdoc.Statement {
	return iamdoc.Statement{
		Sid: d.Sid, Effect: "Allow",
		Principal: map[string]any{"Service": d.Principal},
		Action:    d.Actions, Resource: []string{"*"},
		Condition: d.Conditions,
	}
}

// PagePublishers are the services that publish pages: CloudWatch alarms
// and EventBridge rules (the KMS key-state rule). The paging key trusts
// only these.
var PagePublishers = []string{"cloudwatch.amazonaws.com", "events.amazonaws.com"}

// Deliveries are the services that publish into resources the telemetry
// key encrypts: the alarm topic (CloudWatch alarms, EventBridge rules,
// AWS Backup vault notifications) and the consumer and dead-letter queues
// (EventBridge rule targets and DLQs).
var Deliveries = []Delivery{
	{
		Sid: "CloudWatchAlarmsPublishToTopic", Principal: "cloudwatch.amazonaws.com",
		Actions: []string{"kms:Decrypt", "kms:GenerateDataKey*"},
		Source:  "Amazon SNS Developer Guide, Key management: enable compatibility between event sources from AWS services and encrypted topics (CloudWatch: cloudwatch.amazonaws.com); AWS Knowledge Center cloudwatch-receive-sns-for-alarm-trigger",
	},
	{
		Sid: "EventBridgeDeliversToTargets", Principal: "events.amazonaws.com",
		Actions: []string{"kms:Decrypt", "kms:GenerateDataKey"},
		Source:  "Amazon EventBridge User Guide, Using resource-based policies: Amazon SNS and Amazon SQS permissions for encrypted topics, queues and dead-letter queues",
	},
	{
		Sid: "BackupNotifiesTopic", Principal: "backup.amazonaws.com",
		Actions: []string{"kms:Decrypt", "kms:GenerateDataKey*"},
		Source:  "AWS Backup Developer Guide, Notification options with AWS Backup: encrypted Amazon SNS topics (the SNS key-management statement with backup.amazonaws.com)",
	},
}

package monitoring

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/synthetics"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	awsarn "github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/monitoring/canary"
	"github.com/trading-ha/trading-ha/infra/naming"
)

// Canary settings that are not configuration.
const (
	// CanaryMemoryMB is the canary Lambda's memory (a multiple of 64; 960 is
	// the Synthetics console default and plenty for HTTP steps).
	CanaryMemoryMB = 960
	// CanaryMetricNamespace is where Synthetics publishes SuccessPercent.
	CanaryMetricNamespace = "CloudWatchSynthetics"
)

// CanaryLogGroupPattern matches the log group the canary's Lambda writes
// to: /aws/lambda/cwsyn-<canary name>-<canary id>. The id is a UUID
// Synthetics assigns at creation, so the stack creates the group (KMS,
// retention) right after the canary, named from its engine ARN
// (canaryLogGroup); the role's log statement is scoped to this pattern.
func CanaryLogGroupPattern(canaryName string) string {
	return naming.LambdaLogGroup("cwsyn-" + canaryName + "-*")
}

// CanaryFunction returns the name of the canary's Lambda function from its
// engine ARN, the function's ARN with or without a version
// (arn:aws:lambda:<region>:<account>:function:<name>[:<version>]; Lambda
// Developer Guide, "Resources and conditions for Lambda actions").
func CanaryFunction(engineArn string) (string, error) {
	_, rest, ok := strings.Cut(engineArn, ":function:")
	if !ok || !strings.HasPrefix(engineArn, "arn:") {
		return "", fmt.Errorf("canary engine ARN %q is not a Lambda function ARN", engineArn)
	}
	name, _, _ := strings.Cut(rest, ":")
	if name == "" {
		return "", fmt.Errorf("canary engine ARN %q names no function", engineArn)
	}
	return name, nil
}

// newCanary uploads the script and creates the canary with its role.
func newCanary(ctx *pulumi.Context, kids naming.Children, args Args, name string, parent pulumi.ResourceOption) (pulumi.Resource, error) {
	cfg := args.Monitoring

	code, err := s3.NewBucketObjectv2(ctx, kids.Name("canary-code"), &s3.BucketObjectv2Args{
		Bucket: args.LogsBucket,
		Key:    pulumi.String(args.CodePrefix + "/" + name + ".zip"),
		Source: pulumi.NewAssetArchive(map[string]any{
			canary.ScriptPath: pulumi.NewStringAsset(string(canary.Script())),
		}),
		ContentType: pulumi.String("application/zip"),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("upload canary code: %w", err)
	}

	role, rolePolicy, err := newCanaryRole(ctx, kids, args, name, parent)
	if err != nil {
		return nil, err
	}

	// The canary trades as its own Cognito client: it fetches a
	// client-credentials token at TOKEN_URL with CLIENT_ID and the secret it
	// reads from CLIENT_SECRET_PARAMETER (infra/monitoring/canary).
	env := pulumi.StringMap{
		"TARGET_URL":              args.Endpoint.TargetURL,
		"TOKEN_URL":               args.Probe.TokenURL,
		"CLIENT_ID":               args.Probe.ClientID,
		"CLIENT_SECRET_PARAMETER": pulumi.String(args.Probe.SecretParameter),
	}
	if args.Endpoint.TLSInsecure {
		// Only while the zone is not delegated: the probe goes to the ALB's
		// name, which the self-signed fallback certificate cannot match.
		env["TLS_INSECURE"] = pulumi.String("true")
	}
	artifacts := pulumi.Sprintf("s3://%s/%s/", args.LogsBucket, args.ArtifactsPrefix)
	c, err := synthetics.NewCanary(ctx, kids.Name("api"), &synthetics.CanaryArgs{
		Name:               pulumi.String(name),
		RuntimeVersion:     pulumi.String(canary.Runtime),
		Handler:            pulumi.String(canary.Handler),
		S3Bucket:           args.LogsBucket,
		S3Key:              code.Key,
		S3Version:          code.VersionId,
		ExecutionRoleArn:   role,
		ArtifactS3Location: artifacts,
		ArtifactConfig: &synthetics.CanaryArtifactConfigArgs{
			S3Encryption: &synthetics.CanaryArtifactConfigS3EncryptionArgs{
				EncryptionMode: pulumi.String("SSE_KMS"),
				KmsKeyArn:      args.TelemetryKeyArn,
			},
		},
		Schedule: &synthetics.CanaryScheduleArgs{Expression: pulumi.String(cfg.CanarySchedule)},
		RunConfig: &synthetics.CanaryRunConfigArgs{
			TimeoutInSeconds:     pulumi.Int(cfg.CanaryTimeoutSeconds),
			MemoryInMb:           pulumi.Int(CanaryMemoryMB),
			ActiveTracing:        pulumi.Bool(true),
			EnvironmentVariables: env,
		},
		SuccessRetentionPeriod: pulumi.Int(cfg.CanarySuccessRetentionDays),
		FailureRetentionPeriod: pulumi.Int(cfg.CanaryFailureRetentionDays),
		// Destroy removes the canary's Lambda function and layers too.
		DeleteLambda: pulumi.Bool(true),
		StartCanary:  pulumi.Bool(true),
		// The canary starts on creation and its first run writes artifacts
		// and logs with the role's permissions: the inline policy must be in
		// place first, and destroy must stop the canary before revoking it.
	}, parent, pulumi.DependsOn([]pulumi.Resource{rolePolicy}))
	if err != nil {
		return nil, fmt.Errorf("create canary %s: %w", name, err)
	}
	if err := canaryLogGroup(ctx, kids, args, c, parent); err != nil {
		return nil, err
	}
	return c, nil
}

// canaryLogGroup creates the log group the canary's Lambda writes to,
// /aws/lambda/<function>, with the telemetry key and the stack's
// retention. Synthetics names the function when it creates the canary, and
// DeleteCanary does not delete the group ("CloudWatch Logs log groups
// created for the canary" are among the resources "not automatically
// deleted", Synthetics API Reference, DeleteCanary), so it is created here,
// after the canary, from the engine ARN. The role may not create log groups
// (CanaryPolicy), so the function cannot create it first and make this
// create fail; a run before the group exists loses its log lines (seconds,
// on the first deploy). The group depends on the canary: destroy deletes it
// first, and the canary, running until it is deleted, cannot bring it back.
func canaryLogGroup(ctx *pulumi.Context, kids naming.Children, args Args, c *synthetics.Canary, parent pulumi.ResourceOption) error {
	name := c.EngineArn.ApplyT(func(arn string) (string, error) {
		fn, err := CanaryFunction(arn)
		if err != nil {
			return "", err
		}
		return naming.LambdaLogGroup(fn), nil
	}).(pulumi.StringOutput)
	if _, err := cloudwatch.NewLogGroup(ctx, kids.Name("canary-logs"), &cloudwatch.LogGroupArgs{
		Name:            name,
		RetentionInDays: pulumi.Int(args.Shared.LogRetentionDays),
		KmsKeyId:        args.TelemetryKeyArn,
	}, parent); err != nil {
		return fmt.Errorf("create canary log group: %w", err)
	}
	return nil
}

// newCanaryRole creates the canary's least-privilege execution role and
// its inline policy, which the canary must wait for.
func newCanaryRole(ctx *pulumi.Context, kids naming.Children, args Args, canaryName string, parent pulumi.ResourceOption) (pulumi.StringOutput, pulumi.Resource, error) {
	// The trust statement the Synthetics documentation requires (CloudWatch
	// User Guide, "Required roles and permissions for canaries"), limited
	// to our account with aws:SourceAccount, the confused-deputy guard of
	// a service role (IAM User Guide, "The confused deputy problem"). No
	// aws:SourceArn: the Lambda Developer Guide keeps that key for policies
	// on the function, and documents none for the execution role's trust.
	// Neither page shows the aws:SourceAccount condition either: the first
	// deploy's canary creation (Lambda checks it can assume the role) and
	// first run prove it (docs/deploy.md).
	trust, err := iamdoc.AssumeRole("lambda.amazonaws.com", args.AccountID).JSON()
	if err != nil {
		return pulumi.StringOutput{}, nil, fmt.Errorf("canary trust policy: %w", err)
	}
	role, err := iam.NewRole(ctx, kids.Name("canary-role"), &iam.RoleArgs{
		Name:             pulumi.String(args.Names.Name(naming.CanaryRole)),
		Description:      pulumi.String("Runs the " + canaryName + " API canary"),
		AssumeRolePolicy: pulumi.String(trust),
	}, parent)
	if err != nil {
		return pulumi.StringOutput{}, nil, fmt.Errorf("create canary role: %w", err)
	}
	region, account := args.Shared.Region, args.AccountID
	d := CanaryPolicy(args.LogsBucketArn, args.ArtifactsPrefix, args.TelemetryKey, region, account, canaryName)
	d.Statement = append(d.Statement, ProbeSecretStatements(awsarn.In(region, account).Parameter(args.Probe.SecretParameter), args.Probe.DataKey, region)...)
	doc, err := d.JSON()
	if err != nil {
		return pulumi.StringOutput{}, nil, fmt.Errorf("canary policy: %w", err)
	}
	var waits []pulumi.Resource
	if args.Probe.SecretParameterResource != nil {
		waits = append(waits, args.Probe.SecretParameterResource)
	}
	policy, err := iam.NewRolePolicy(ctx, kids.Name("canary-policy"), &iam.RolePolicyArgs{
		Role: role.Name, Name: pulumi.String(args.Names.Name(naming.CanaryPolicy)), Policy: pulumi.String(doc),
	}, parent, pulumi.DependsOn(waits))
	if err != nil {
		return pulumi.StringOutput{}, nil, fmt.Errorf("attach canary policy: %w", err)
	}
	return role.Arn, policy, nil
}

// ProbeSecretStatements let the canary read its client secret: the one
// SecureString parameter, decrypted with the data key only through SSM.
func ProbeSecretStatements(parameterArn string, dataKey iamdoc.Key, region string) []iamdoc.Statement {
	return []iamdoc.Statement{
		iamdoc.Allow("ReadClientSecret", []string{"ssm:GetParameter"}, []string{parameterArn}),
		dataKey.Allow("DecryptClientSecret", []string{"kms:Decrypt"},
			map[string]map[string]any{"StringEquals": {"kms:ViaService": "ssm." + region + ".amazonaws.com"}}),
	}
}

// CanaryPolicy is the canary role's permissions, from "Required roles and
// permissions for canaries" (CloudWatch User Guide, the variant with a KMS
// key for artifacts and no VPC access), narrowed to our bucket prefix, log
// groups and key.
func CanaryPolicy(bucketArn, artifactsPrefix string, key iamdoc.Key, region, account, canaryName string) iamdoc.Document {
	return iamdoc.New(
		iamdoc.Allow("WriteArtifacts", []string{"s3:PutObject"}, []string{bucketArn + "/" + artifactsPrefix + "/*"}),
		iamdoc.Allow("LocateArtifactsBucket", []string{"s3:GetBucketLocation"}, []string{bucketArn}),
		// AWS's required canary permissions list s3:ListAllMyBuckets in every
		// variant (basic, KMS, VPC), so we keep it; the action has no
		// resource type and only takes "*".
		iamdoc.Allow("ListBucketsForArtifacts", []string{"s3:ListAllMyBuckets"}, []string{"*"}),
		// AWS's required permissions include logs:CreateLogGroup; the
		// group is the stack's (canaryLogGroup), and a function able to
		// create it could do so before the stack, failing the deploy, or
		// after a destroy deleted it, leaving it behind.
		iamdoc.Allow("CanaryLogs", []string{"logs:CreateLogStream", "logs:PutLogEvents"},
			[]string{fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", region, account, CanaryLogGroupPattern(canaryName))}),
		// PutMetricData's only resource type (dataset) is optional, so a put
		// outside a dataset is authorized on "*" (policy.StarExceptions); the
		// namespace condition keeps the canary to Synthetics' own metrics.
		iamdoc.Statement{
			Sid: "CanaryMetrics", Effect: "Allow", Action: []string{"cloudwatch:PutMetricData"}, Resource: []string{"*"},
			Condition: map[string]map[string]any{"StringEquals": {"cloudwatch:namespace": CanaryMetricNamespace}},
		},
		// X-Ray's PutTraceSegments has no resource type ("*" only).
		iamdoc.Allow("ActiveTracing", []string{"xray:PutTraceSegments"}, []string{"*"}),
		key.Allow("EncryptArtifacts", []string{"kms:GenerateDataKey", "kms:Decrypt"}, nil),
	)
}

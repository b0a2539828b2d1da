package service

import (
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	ecrx "github.com/pulumi/pulumi-awsx/sdk/v2/go/awsx/ecr"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/naming"
)

// Build settings of the reference service image (app/Dockerfile, built
// with the repository root as context).
const (
	BuildContext = "."
	Dockerfile   = "app/Dockerfile"
)

// Platform is the docker platform of a task CPU architecture.
func Platform(arch string) string {
	if arch == "X86_64" {
		return "linux/amd64"
	}
	return "linux/arm64"
}

// ecrImage matches an image in ECR: account, region and repository.
var ecrImage = regexp.MustCompile(`^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:@]+)`)

// logGroup creates the app's log group: explicit, so destroy removes it,
// encrypted with the telemetry key, with the stack's retention.
func (b *builder) logGroup() error {
	group, err := cloudwatch.NewLogGroup(b.ctx, b.kids.Name("app-logs"), &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(b.s.LogGroupName),
		RetentionInDays: pulumi.Int(b.args.Config.LogRetentionDays),
		KmsKeyId:        b.args.TelemetryKeyArn,
	}, b.parent, b.kids.Keep("app-logs"))
	if err != nil {
		return fmt.Errorf("create log group: %w", err)
	}
	b.logGroupArn, b.logGroupRes = group.Arn, group
	return nil
}

// LifecyclePolicy is the ECR lifecycle policy keeping the newest keep images.
func LifecyclePolicy(keep int) (string, error) {
	doc := map[string]any{"rules": []any{map[string]any{
		"rulePriority": 1,
		"description":  fmt.Sprintf("keep the newest %d images", keep),
		"selection":    map[string]any{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep},
		"action":       map[string]any{"type": "expire"},
	}}}
	out, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("marshal ECR lifecycle policy: %w", err)
	}
	return string(out), nil
}

// image decides what the task runs: the configured appImage as is, or the
// reference service built from app/Dockerfile and pushed into a repository
// of our own at pulumi up.
func (b *builder) image() error {
	if b.cfg.AppImage != "" {
		b.s.Image = pulumi.String(b.cfg.AppImage).ToStringOutput()
		if m := ecrImage.FindStringSubmatch(b.cfg.AppImage); m != nil {
			b.imageRepoArn = fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", m[2], m[1], m[3])
		}
		return nil
	}
	repo, err := ecr.NewRepository(b.ctx, b.kids.Name("app"), &ecr.RepositoryArgs{
		Name:               pulumi.String(b.args.Names.Name(naming.ECRRepository)),
		ImageTagMutability: pulumi.String("IMMUTABLE"),
		ForceDelete:        pulumi.Bool(true),
		ImageScanningConfiguration: &ecr.RepositoryImageScanningConfigurationArgs{
			ScanOnPush: pulumi.Bool(true),
		},
		EncryptionConfigurations: ecr.RepositoryEncryptionConfigurationArray{
			&ecr.RepositoryEncryptionConfigurationArgs{EncryptionType: pulumi.String("KMS"), KmsKey: b.args.DataKeyArn},
		},
	}, b.parent, b.kids.Keep("app"))
	if err != nil {
		return fmt.Errorf("create ECR repository: %w", err)
	}
	policy, err := LifecyclePolicy(b.cfg.ECRKeepImages)
	if err != nil {
		return err
	}
	if _, err := ecr.NewLifecyclePolicy(b.ctx, b.kids.Name("app"), &ecr.LifecyclePolicyArgs{
		Repository: repo.Name, Policy: pulumi.String(policy),
	}, b.parent, b.kids.Keep("app")); err != nil {
		return fmt.Errorf("create ECR lifecycle policy: %w", err)
	}
	img, err := ecrx.NewImage(b.ctx, b.kids.Name("app"), &ecrx.ImageArgs{
		RepositoryUrl: repo.RepositoryUrl,
		Context:       pulumi.String(BuildContext),
		Dockerfile:    pulumi.String(Dockerfile),
		Platform:      pulumi.String(Platform(b.cfg.CPUArchitecture)),
	}, b.parent, pulumi.Providers(b.args.Providers...), b.kids.Keep("app"))
	if err != nil {
		return fmt.Errorf("build and push the app image: %w", err)
	}
	b.hasRepository = true
	b.repositoryArn = repo.Arn
	b.s.Image = img.ImageUri
	return nil
}

package service

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi-docker-build/sdk/go/dockerbuild"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/imagesrc"
	"github.com/trading-ha/trading-ha/infra/naming"
)

// Build settings of the reference service image: app/Dockerfile, built
// with app/ as context (the service's own Go module, so no stack file or doc
// is part of the build input), narrowed by app/Dockerfile.dockerignore.
// BuildContext is relative to the project root (SourceRoot; relative, so
// the builder's inputs are the same on every machine that runs the
// program); Dockerfile is relative to the context, as imagesrc reads it.
// imagesrc holds the two to one contract.
const (
	BuildContext = "app"
	Dockerfile   = "Dockerfile"
)

// DockerfileLocation is the Dockerfile as the docker-build provider is
// given it: relative to the working directory (the project root), like
// docker buildx build -f, not to the context.
const DockerfileLocation = BuildContext + "/" + Dockerfile

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
		RetentionInDays: pulumi.Int(b.args.Shared.LogRetentionDays),
		KmsKeyId:        b.args.TelemetryKeyArn,
	}, b.parent)
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
	}, b.parent)
	if err != nil {
		return fmt.Errorf("create ECR repository: %w", err)
	}
	policy, err := LifecyclePolicy(b.cfg.ECRKeepImages)
	if err != nil {
		return err
	}
	if _, err := ecr.NewLifecyclePolicy(b.ctx, b.kids.Name("app"), &ecr.LifecyclePolicyArgs{
		Repository: repo.Name, Policy: pulumi.String(policy),
	}, b.parent); err != nil {
		return fmt.Errorf("create ECR lifecycle policy: %w", err)
	}
	// Content-addressed tag: the repository is IMMUTABLE (a pushed tag is
	// never overwritten, ECR User Guide, "Image tag mutability"), so every
	// build the provider runs must push a tag that cannot exist yet. The
	// docker-build provider rebuilds when the context's files, the
	// Dockerfile or the platform change (pulumi-docker-build
	// provider/internal/image.go, Image.Diff: contextHash, dockerfile,
	// platforms; registry password changes are ignored), which is exactly
	// what the tag digests (imagesrc.Source.Tag). A new tag is an update of
	// this one resource (Image.Diff answers Update, never a replacement),
	// and an update pushes without deleting what was pushed before (the
	// provider deletes pushed digests only on Delete): the previous image,
	// which a deployment rollback returns to, stays in ECR until the
	// lifecycle policy expires it.
	src := imagesrc.Source{Context: filepath.Join(b.args.SourceRoot, BuildContext), Dockerfile: Dockerfile}
	platform := Platform(b.cfg.CPUArchitecture)
	tag, err := src.Tag(platform)
	if err != nil {
		return fmt.Errorf("image content tag: %w", err)
	}
	auth := ecr.GetAuthorizationTokenOutput(b.ctx, ecr.GetAuthorizationTokenOutputArgs{RegistryId: repo.RegistryId}, pulumi.Parent(b.s))
	img, err := dockerbuild.NewImage(b.ctx, b.kids.Name("app-image"), &dockerbuild.ImageArgs{
		Context:    &dockerbuild.BuildContextArgs{Location: pulumi.String(BuildContext)},
		Dockerfile: &dockerbuild.DockerfileArgs{Location: pulumi.String(DockerfileLocation)},
		Platforms:  dockerbuild.PlatformArray{dockerbuild.Platform(platform)},
		Tags:       pulumi.StringArray{pulumi.Sprintf("%s:%s", repo.RepositoryUrl, tag)},
		Push:       pulumi.Bool(true),
		// Previews (pull requests) need no Docker daemon: the build runs at up.
		BuildOnPreview: pulumi.Bool(false),
		Registries: dockerbuild.RegistryArray{&dockerbuild.RegistryArgs{
			Address:  auth.ProxyEndpoint(),
			Username: auth.UserName(),
			Password: auth.Password(),
		}},
	}, b.parent)
	if err != nil {
		return fmt.Errorf("build and push the app image: %w", err)
	}
	b.hasRepository = true
	b.repositoryArn = repo.Arn
	// By digest: the task definition names exactly the image built.
	b.s.Image = pulumi.Sprintf("%s@%s", repo.RepositoryUrl, img.Digest)
	return nil
}

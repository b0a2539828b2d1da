package infra

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-awsx/sdk/v2/go/awsx"
	"github.com/pulumi/pulumi-docker-build/sdk/go/dockerbuild"
	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi-tls/sdk/v5/go/tls"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	awsarn "github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/backup"
	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/version"
)

// Providers are the stack's explicit providers, one per package the
// program uses. The stack files set pulumi:disable-default-providers ["*"],
// so the engine refuses any resource or invoke that would fall back to a
// default provider (pulumi/pulumi#8829, "Allow disabling default
// providers"); tests/providers_test.go holds the recording to the same rule.
type Providers struct {
	// AWS carries the region, the default tags and allowedAccountIds.
	AWS *aws.Provider
	// All is every provider, for pulumi.Providers on each component (its
	// children inherit them) and for the awsx children, which as remote
	// components inherit nothing from their parent.
	All []pulumi.ProviderResource
}

// newProviders creates the providers from config.
func newProviders(ctx *pulumi.Context, cfg *config.Config) (*Providers, error) {
	p := &Providers{}
	var err error
	p.AWS, err = aws.NewProvider(ctx, "aws", awsProviderArgs(cfg, cfg.Region))
	if err != nil {
		return nil, fmt.Errorf("create aws provider: %w", err)
	}
	rnd, err := random.NewProvider(ctx, "random", &random.ProviderArgs{})
	if err != nil {
		return nil, fmt.Errorf("create random provider: %w", err)
	}
	cert, err := tls.NewProvider(ctx, "tls", &tls.ProviderArgs{})
	if err != nil {
		return nil, fmt.Errorf("create tls provider: %w", err)
	}
	x, err := awsx.NewProvider(ctx, "awsx", &awsx.ProviderArgs{})
	if err != nil {
		return nil, fmt.Errorf("create awsx provider: %w", err)
	}
	// docker-build builds and pushes the service image. It and docker are
	// also packages awsx's children may belong to: awsx's Go SDK requires
	// both (pulumi-awsx sdk go.mod; every awsx module imports them), and a
	// remote component's children get only the providers it is handed.
	// TestAwsxChildrenProviders (tests/image_test.go) derives that list from
	// awsx's go.mod.
	build, err := dockerbuild.NewProvider(ctx, "docker-build", &dockerbuild.ProviderArgs{})
	if err != nil {
		return nil, fmt.Errorf("create docker-build provider: %w", err)
	}
	classic, err := docker.NewProvider(ctx, "docker", &docker.ProviderArgs{})
	if err != nil {
		return nil, fmt.Errorf("create docker provider: %w", err)
	}
	p.All = []pulumi.ProviderResource{p.AWS, rnd, cert, x, build, classic}
	return p, nil
}

// awsProviderArgs are an aws provider's settings in region: the default
// tags (the stack's aws:defaultTags and the platform's version; config
// refuses a stack that sets the version tag itself) and, when config names them, the only accounts it may act in (the
// provider fails to configure for credentials of any other account).
func awsProviderArgs(cfg *config.Config, region string) *aws.ProviderArgs {
	tags := map[string]string{version.TagKey: version.Version}
	for k, v := range cfg.DefaultTags {
		tags[k] = v
	}
	args := &aws.ProviderArgs{
		Region:      pulumi.String(region),
		DefaultTags: &aws.ProviderDefaultTagsArgs{Tags: pulumi.ToStringMap(tags)},
	}
	if len(cfg.AllowedAccountIDs) > 0 {
		args.AllowedAccountIds = pulumi.ToStringArray(cfg.AllowedAccountIDs)
	}
	return args
}

// checkAccount refuses an account outside allowedAccountIds. The aws
// provider refuses it first in a real preview; this check says so in the
// program's words, and lets the mock suite see the rule.
func checkAccount(cfg *config.Config, account string) error {
	if len(cfg.AllowedAccountIDs) == 0 || slices.Contains(cfg.AllowedAccountIDs, account) {
		return nil
	}
	return &config.Error{
		Key: config.Project + ":allowedAccountIds", Value: fmt.Sprint(cfg.AllowedAccountIDs),
		Rule: fmt.Sprintf("does not include %s, the account of the current credentials: nothing is deployed outside the stack's accounts", account),
	}
}

// checkVaultRoles refuses a deploy or break-glass role of another account
// than the credentials': AWS Backup rejects cross-account calls to a vault
// other than copies into it (AWS Backup Developer Guide, "Vault access
// policies"), so the vault access policies could never let such a role act.
// Config checks the same against allowedAccountIds; this covers stacks
// without them (dev).
func checkVaultRoles(cfg *config.Config, account string) error {
	var errs config.Errors
	for _, kv := range [][2]string{{"deployRoleArn", cfg.Backup.DeployRole}, {"backupBreakGlassRoleArn", cfg.Backup.BreakGlassPrincipal}} {
		if role, ok := awsarn.ParseRole(kv[1]); ok && role.Account != account {
			errs = append(errs, &config.Error{
				Key: config.Project + ":" + kv[0], Value: kv[1],
				Rule: fmt.Sprintf("must be a role in account %s, the account of the current credentials: AWS Backup rejects every call to a vault from another account but copies into it", account),
			})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// warnCaller logs backup.CallerWarning, if any: a warning, not an error,
// so a read-only preview (the preview workflow's role) still runs.
func warnCaller(ctx *pulumi.Context, cfg *config.Config, callerArn string, who backup.Principals) error {
	msg := backup.CallerWarning(cfg.DeletionProtection, callerArn, who)
	if msg == "" {
		return nil
	}
	if err := ctx.Log.Warn(msg, nil); err != nil {
		return fmt.Errorf("log the caller warning: %w", err)
	}
	return nil
}

// drRegionProvider is the second aws provider, for config drRegion, with
// the same default tags and allowedAccountIds as the home provider; nil when drRegion is empty.
func drRegionProvider(ctx *pulumi.Context, cfg *config.Config) (pulumi.ProviderResource, error) {
	if cfg.Backup.DRRegion == "" {
		return nil, nil
	}
	p, err := aws.NewProvider(ctx, "aws-dr", awsProviderArgs(cfg, cfg.Backup.DRRegion))
	if err != nil {
		return nil, fmt.Errorf("create aws provider for drRegion %s: %w", cfg.Backup.DRRegion, err)
	}
	return p, nil
}

package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/audit"
	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/naming"
)

// trailKeyStatements are CloudTrail's telemetry-key statements when the
// stack has its own trail.
func trailKeyStatements(cfg *config.Config, names naming.Namer, account string) []iamdoc.Statement {
	if !cfg.Audit.CloudTrail {
		return nil
	}
	return audit.KeyPolicyStatements(audit.TrailArn(names, cfg.Region, account), cfg.Region, account)
}

// drRegionProvider is the second aws provider, for config drRegion, with
// the same default tags as the home provider; nil when drRegion is empty.
func drRegionProvider(ctx *pulumi.Context, cfg *config.Config) (pulumi.ProviderResource, error) {
	if cfg.Audit.DRRegion == "" {
		return nil, nil
	}
	p, err := aws.NewProvider(ctx, "aws-dr", &aws.ProviderArgs{
		Region:      pulumi.String(cfg.Audit.DRRegion),
		DefaultTags: &aws.ProviderDefaultTagsArgs{Tags: pulumi.ToStringMap(cfg.DefaultTags)},
	})
	if err != nil {
		return nil, fmt.Errorf("create aws provider for drRegion %s: %w", cfg.Audit.DRRegion, err)
	}
	return p, nil
}

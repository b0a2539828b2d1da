package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/audit"
	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/params"
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

// tradingEntries are the trading service's flag and limits
// (/trading/<suffix>/flags/trading-enabled, /limits/...), plain String
// parameters: operators change them in Parameter Store, the service reads
// them with GetParametersByPath and falls back to the same defaults.
func tradingEntries(cfg *config.Config) []params.Entry {
	var out []params.Entry
	for _, p := range cfg.Trading.Params() {
		out = append(out, params.Entry{Path: p[0], Value: pulumi.String(p[1]), Description: "trading service " + p[0] + " (initial value from config; operators own it)"})
	}
	return out
}

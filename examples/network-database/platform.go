package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/config"
)

// loadConfig builds the config.Config the components take: each key from
// this stack's config ("trading-ha:<key>" in the stack file, as the
// platform's stacks set them) or, when the stack does not set it, the
// default the platform's Pulumi.yaml declares (config.LoadWithDefaults).
// Parse validates every key and reports all problems at once. A relative
// platformDir is taken from the project directory (where this example's
// Pulumi.yaml is).
func loadConfig(ctx *pulumi.Context, platformDir string) (*config.Config, error) {
	dir := platformDir
	if !filepath.IsAbs(dir) {
		root := ctx.RootDirectory()
		if root == "" {
			wd, err := os.Getwd()
			if err != nil {
				return nil, fmt.Errorf("project directory: %w", err)
			}
			root = wd
		}
		dir = filepath.Join(root, dir)
	}
	return config.LoadWithDefaults(ctx, dir)
}

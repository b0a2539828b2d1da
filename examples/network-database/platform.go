package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pconfig "github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
	"gopkg.in/yaml.v3"

	"github.com/trading-ha/trading-ha/infra/config"
)

// loadConfig builds the config.Config the components take. config.Parse
// validates the platform's whole configuration, every key of it, and the
// defaults of those keys live in the platform's Pulumi.yaml, not in Go; so
// each key is read from this stack's config ("trading-ha:<key>" in the
// stack file, as the platform's stacks set them) and, when the stack does
// not set it, from the default the platform declares. A relative
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
	defaults, err := platformDefaults(dir)
	if err != nil {
		return nil, err
	}
	lookup := func(key string) (string, bool) {
		if v, err := pconfig.Try(ctx, key); err == nil {
			return v, true
		}
		v, ok := defaults[key]
		return v, ok
	}
	// Parse reports every invalid key at once, naming key, value and rule.
	return config.Parse(ctx.Stack(), lookup)
}

// platformDefaults reads the defaults the platform's Pulumi.yaml (in dir)
// declares, keyed "trading-ha:<key>", with values encoded as the engine
// hands config to a Go program: scalars as text, lists and objects as JSON.
func platformDefaults(dir string) (map[string]string, error) {
	path := filepath.Join(dir, "Pulumi.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the platform's project file: %w", err)
	}
	var project struct {
		Name   string `yaml:"name"`
		Config map[string]struct {
			Default any `yaml:"default"`
		} `yaml:"config"`
	}
	if err := yaml.Unmarshal(b, &project); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if project.Name != config.Project {
		return nil, fmt.Errorf("%s is project %q, not the platform (%s)", path, project.Name, config.Project)
	}
	if len(project.Config) == 0 {
		return nil, errors.New(path + " declares no config keys")
	}
	out := make(map[string]string, len(project.Config))
	for key, spec := range project.Config {
		if spec.Default == nil {
			continue
		}
		v, err := encode(spec.Default)
		if err != nil {
			return nil, fmt.Errorf("%s: default of %s: %w", path, key, err)
		}
		out[config.Project+":"+key] = v
	}
	return out, nil
}

// encode renders one YAML value as the engine passes it to the program.
func encode(v any) (string, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case bool:
		return strconv.FormatBool(t), nil
	case int:
		return strconv.Itoa(t), nil
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), nil
	default:
		b, err := json.Marshal(t)
		if err != nil {
			return "", fmt.Errorf("encode %T: %w", v, err)
		}
		return string(b), nil
	}
}

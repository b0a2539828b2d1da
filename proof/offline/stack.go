// Package offline runs the real infra.Deploy under Pulumi's mocks and
// records every resource with its inputs, the way the engine would see a
// stack: the mock suite (tests/) asserts on the recording and the offline
// plan (scripts/plan) prints it. No AWS account or Pulumi CLI is needed.
package offline

import (
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/trading-ha/trading-ha/infra/config"
)

// LoadStack returns the config the engine would hand the program for a
// stack: Pulumi.yaml's defaults, overridden by Pulumi.<stack>.yaml, keyed
// "project:key" with structured values JSON-encoded.
func LoadStack(dir, stack string) (map[string]string, error) {
	out, err := config.ProjectDefaults(dir)
	if err != nil {
		return nil, err
	}
	overrides, err := StackOverrides(dir, stack)
	if err != nil {
		return nil, err
	}
	for key, val := range overrides {
		v, err := config.Encode(val)
		if err != nil {
			return nil, fmt.Errorf("Pulumi.%s.yaml %s: %w", stack, key, err)
		}
		out[key] = v
	}
	return out, nil
}

// StackOverrides returns the raw config values one stack file sets
// (Pulumi.<stack>.yaml), keyed as written ("trading-ha:key", "aws:region").
func StackOverrides(dir, stack string) (map[string]any, error) {
	b, err := os.ReadFile(filepath.Join(dir, "Pulumi."+stack+".yaml"))
	if err != nil {
		return nil, fmt.Errorf("read stack file: %w", err)
	}
	var sf struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(b, &sf); err != nil {
		return nil, fmt.Errorf("parse Pulumi.%s.yaml: %w", stack, err)
	}
	if sf.Config == nil {
		sf.Config = map[string]any{}
	}
	return sf.Config, nil
}

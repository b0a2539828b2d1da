// Package offline runs the real infra.Deploy under Pulumi's mocks and
// records every resource with its inputs, the way the engine would see a
// stack: the mock suite (tests/) asserts on the recording and the offline
// plan (scripts/plan) prints it. No AWS account or Pulumi CLI is needed.
package offline

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"gopkg.in/yaml.v3"
)

// project mirrors the parts of Pulumi.yaml the loader needs.
type project struct {
	Name   string                `yaml:"name"`
	Config map[string]configSpec `yaml:"config"`
}

// ConfigSpec is one key of Pulumi.yaml's typed config schema.
type configSpec struct {
	Type        string `yaml:"type"`
	Description string `yaml:"description"`
	Default     any    `yaml:"default"`
}

// Key is a declared config key, as documentation and tests see it.
type Key struct {
	Name        string
	Type        string
	Description string
	Default     any
	HasDefault  bool
}

// ProjectKeys returns the keys Pulumi.yaml declares, sorted by name.
func ProjectKeys(dir string) ([]Key, error) {
	p, err := readProject(dir)
	if err != nil {
		return nil, err
	}
	out := make([]Key, 0, len(p.Config))
	for name, spec := range p.Config {
		out = append(out, Key{Name: name, Type: spec.Type, Description: spec.Description, Default: spec.Default, HasDefault: spec.Default != nil})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func readProject(dir string) (*project, error) {
	b, err := os.ReadFile(filepath.Join(dir, "Pulumi.yaml"))
	if err != nil {
		return nil, fmt.Errorf("read project file: %w", err)
	}
	var p project
	if err := yaml.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("parse Pulumi.yaml: %w", err)
	}
	return &p, nil
}

// LoadStack returns the config the engine would hand the program for a
// stack: Pulumi.yaml's defaults, overridden by Pulumi.<stack>.yaml, keyed
// "project:key" with structured values JSON-encoded.
func LoadStack(dir, stack string) (map[string]string, error) {
	p, err := readProject(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for key, spec := range p.Config {
		if spec.Default == nil {
			continue
		}
		v, err := encode(spec.Default)
		if err != nil {
			return nil, fmt.Errorf("Pulumi.yaml default of %s: %w", key, err)
		}
		out[p.Name+":"+key] = v
	}
	overrides, err := StackOverrides(dir, stack)
	if err != nil {
		return nil, err
	}
	for key, val := range overrides {
		v, err := encode(val)
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

// encode renders a YAML value the way the Pulumi engine passes config to a
// Go program: scalars as text, lists and maps as JSON.
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

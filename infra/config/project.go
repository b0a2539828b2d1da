package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"
)

// Key is a config key the platform's Pulumi.yaml declares: its typed
// schema entry.
type Key struct {
	Name        string
	Type        string
	Description string
	Default     any
	HasDefault  bool
}

// ProjectKeys returns the keys the Pulumi.yaml in dir declares, sorted by
// name.
func ProjectKeys(dir string) ([]Key, error) {
	_, keys, err := readProject(dir)
	return keys, err
}

// ProjectDefaults returns the defaults the Pulumi.yaml in dir declares,
// keyed "<project>:<key>" and encoded as the engine hands config to a Go
// program (Encode): what a program reads for a key its stack does not set.
func ProjectDefaults(dir string) (map[string]string, error) {
	name, keys, err := readProject(dir)
	if err != nil {
		return nil, err
	}
	return defaultsOf(name, keys)
}

// LoadWithDefaults is Load for a program in a project of its own that
// uses the platform's components: a key its stack does not set takes the
// default the platform's Pulumi.yaml in platformDir declares, which the
// engine would otherwise have supplied. It refuses a Pulumi.yaml of
// another project.
func LoadWithDefaults(ctx *pulumi.Context, platformDir string) (*Config, error) {
	name, keys, err := readProject(platformDir)
	if err != nil {
		return nil, err
	}
	if name != Project {
		return nil, fmt.Errorf("%s is project %q, not the platform (%s)", filepath.Join(platformDir, "Pulumi.yaml"), name, Project)
	}
	defaults, err := defaultsOf(name, keys)
	if err != nil {
		return nil, err
	}
	return Parse(ctx.Stack(), stackLookup(ctx, defaults))
}

// readProject reads the project name and the declared keys of the
// Pulumi.yaml in dir.
func readProject(dir string) (string, []Key, error) {
	path := filepath.Join(dir, "Pulumi.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		return "", nil, fmt.Errorf("read project file: %w", err)
	}
	var p struct {
		Name   string `yaml:"name"`
		Config map[string]struct {
			Type        string `yaml:"type"`
			Description string `yaml:"description"`
			Default     any    `yaml:"default"`
		} `yaml:"config"`
	}
	if err := yaml.Unmarshal(b, &p); err != nil {
		return "", nil, fmt.Errorf("parse %s: %w", path, err)
	}
	keys := make([]Key, 0, len(p.Config))
	for name, spec := range p.Config {
		keys = append(keys, Key{Name: name, Type: spec.Type, Description: spec.Description, Default: spec.Default, HasDefault: spec.Default != nil})
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Name < keys[j].Name })
	return p.Name, keys, nil
}

// defaultsOf encodes the declared defaults of project's keys.
func defaultsOf(project string, keys []Key) (map[string]string, error) {
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		if !k.HasDefault {
			continue
		}
		v, err := Encode(k.Default)
		if err != nil {
			return nil, fmt.Errorf("Pulumi.yaml default of %s: %w", k.Name, err)
		}
		out[project+":"+k.Name] = v
	}
	return out, nil
}

// Encode renders a YAML value the way the Pulumi engine passes config to a
// Go program: scalars as text, lists and maps as JSON.
func Encode(v any) (string, error) {
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

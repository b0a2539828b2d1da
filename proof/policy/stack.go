package policy

import (
	"strconv"
	"strings"

	"github.com/trading-ha/trading-ha/infra/config"
)

// Stack is the shape every rule reads: the resources of one stack and its
// config. The suite builds it from a mocked run (offline.Recording.Policy)
// and the policy pack (policy/) from what the Pulumi engine sends an
// analyzer, so both run the same rules on the same shape.
type Stack struct {
	Name string
	// Config is the stack config keyed "project:key" (structured values as
	// JSON), as the engine hands it to a program or an analyzer.
	Config    map[string]string
	Resources []*Resource
}

// Resource is one resource as the rules see it.
type Resource struct {
	Type string
	Name string
	URN  string
	ID   string
	// Parent is the parent resource's URN ("" for none).
	Parent string
	// Provider is the provider reference "<provider urn>::<provider id>"
	// (rules compare the URN part only).
	Provider string
	// Providers are the per-package providers a remote component received.
	// Nil means not visible: the analyzer protocol carries no component
	// providers (pulumirpc.AnalyzerResource has only provider), and the
	// component's children are checked through their own provider instead.
	Providers map[string]string
	// Inputs are the plain input values; Outputs the plain output values.
	// A value the engine knows only after create is Unknown{} (unknown.go).
	Inputs  map[string]any
	Outputs map[string]any
	// PropertyDeps says which input carried which dependencies (URNs).
	PropertyDeps map[string][]string
	Protect      bool
	// RetainOnDelete is only known to the suite: the analyzer protocol's
	// AnalyzerResourceOptions carry protect but no retainOnDelete.
	RetainOnDelete bool
}

// ByType returns the resources of one type token.
func (s *Stack) ByType(typ string) []*Resource {
	var out []*Resource
	for _, r := range s.Resources {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// lookup walks a dotted path ("rules.0.id") through plain values, map keys
// and list indices; a missing step gives nil, and a step through an
// unknown value gives Unknown{} (what lies below an unknown is unknown).
func lookup(root any, path string) any {
	cur := root
	for _, part := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case Unknown:
			return c
		case map[string]any:
			cur = c[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

// ConfigKeys are the stack config keys the rules read. An analyzer gets
// the stack config only key by key (pulumi.Context.GetConfig), so the
// policy pack copies exactly these into its Stack.
var ConfigKeys = []string{
	config.Project + ":environmentSuffix",
	config.Project + ":deletionProtection",
	config.Project + ":cloudTrailEnabled",
}

package offline

import (
	"maps"

	"github.com/trading-ha/trading-ha/internal/policy"
)

// Policy is the recording in the shape the policy suite reads (the same
// shape the policy pack builds from what the engine sends an analyzer).
// The recorder sees the providers a component received, so Providers is
// never nil here: a component given none is a finding, not unknown.
func (r *Recording) Policy() *policy.Stack {
	s := &policy.Stack{Name: r.Stack, Config: r.Config, Resources: make([]*policy.Resource, 0, len(r.Resources))}
	for _, res := range r.Resources {
		providers := map[string]string{}
		maps.Copy(providers, res.Providers)
		s.Resources = append(s.Resources, &policy.Resource{
			Type: res.Type, Name: res.Name, URN: res.URN, ID: res.ID,
			Provider: res.Provider, Providers: providers,
			Inputs: res.Inputs, Outputs: res.Outputs, PropertyDeps: res.PropertyDeps,
			Protect: res.Protect, RetainOnDelete: res.RetainOnDelete,
		})
	}
	return s
}

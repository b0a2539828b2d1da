package offline

import (
	"maps"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/trading-ha/trading-ha/proof/policy"
)

// Policy is the recording in the shape the policy suite reads (the same
// shape the policy pack builds from what the engine sends an analyzer).
// The recorder sees the providers a component received, so Providers is
// never nil here: a component given none is a finding, not unknown.
//
// A resource's inputs and outputs are its plain values (Inputs, Outputs),
// unless its property map (Raw, RawOutputs) holds an unknown value, as at
// a first preview (RunPreview): then they come from the property map, so
// an unknown value is policy.Unknown{} here too, as the pack sees it, and
// not the nil of the plain values. (A test that edits a resolved
// resource's Inputs is thus read as edited.)
func (r *Recording) Policy() *policy.Stack {
	s := &policy.Stack{Name: r.Stack, Config: r.Config, Resources: make([]*policy.Resource, 0, len(r.Resources))}
	for _, res := range r.Resources {
		providers := map[string]string{}
		maps.Copy(providers, res.Providers)
		s.Resources = append(s.Resources, &policy.Resource{
			Type: res.Type, Name: res.Name, URN: res.URN, ID: res.ID, Parent: res.ParentURN,
			Provider: res.Provider, Providers: providers,
			Inputs: policyValues(res.Raw, res.Inputs), Outputs: policyValues(res.RawOutputs, res.Outputs),
			PropertyDeps: res.PropertyDeps,
			Protect:      res.Protect, RetainOnDelete: res.RetainOnDelete,
		})
	}
	return s
}

// policyValues is raw as the policy suite reads it (policyMap) when it
// holds an unknown value, else plain.
func policyValues(raw resource.PropertyMap, plain map[string]any) map[string]any {
	if raw == nil || !raw.ContainsUnknowns() {
		return plain
	}
	return policyMap(raw)
}

// policyMap turns a property map into the values the policy rules read:
// as Plain, but an unknown value (computed, or an output not known) is
// policy.Unknown{}, the same value the pack's conversion gives it.
func policyMap(m resource.PropertyMap) map[string]any {
	return valuesOf(m, policy.Unknown{})
}

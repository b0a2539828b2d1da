package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/trading-ha/trading-ha/proof/policy"
)

// fromAnalyzer converts a resource as the engine sends it to an analyzer
// into the suite's shape. The engine sends one property map: the inputs to
// Analyze, the outputs (which carry the inputs and "id") to AnalyzeStack,
// so both Inputs and Outputs are that map. The provider's ID is not sent;
// the rules compare provider URNs only. A value unknown until create
// becomes policy.Unknown{} (see plain); an unknown "id" leaves ID empty.
func fromAnalyzer(r policyx.AnalyzerResource) *policy.Resource {
	props := plainMap(r.Properties)
	id, _ := props["id"].(string)
	provider := ""
	if r.Provider.URN != "" {
		provider = r.Provider.URN + "::"
	}
	return &policy.Resource{
		Type: r.Type, Name: r.Name, URN: r.URN, ID: id, Parent: r.Parent,
		Provider: provider, Inputs: props, Outputs: props,
		PropertyDeps: r.PropertyDependencies, Protect: r.Options.Protect,
	}
}

func plainMap(m property.Map) map[string]any {
	out := make(map[string]any, m.Len())
	for k, v := range m.All {
		out[k] = plain(v)
	}
	return out
}

// plain turns a property value into the plain Go values the rules read
// (as offline.Recording.Policy does for a recording): secrets unwrapped
// (a secret is a flag on the value: property.Value.Secret), null nil, and
// an unknown policy.Unknown{}, never nil or "": the engine marshals an
// unknown as the sentinel plugin.UnknownStringValue
// ("04da6b54-80e4-46f7-96ec-b56ff0331ba9", or its bool/number/array/
// object siblings; sdk/go/common/resource/plugin/rpc.go
// marshalUnknownProperty), which policyx unmarshals with KeepUnknowns into
// a computed value (resource.Computed, then property.Computed by
// resource.FromResourcePropertyValue in
// sdk/go/common/resource/property_compatibility.go), secret or not.
func plain(v property.Value) any {
	switch {
	case v.IsComputed():
		return policy.Unknown{}
	case v.IsNull():
		return nil
	case v.IsBool():
		return v.AsBool()
	case v.IsNumber():
		return v.AsNumber()
	case v.IsString():
		return v.AsString()
	case v.IsMap():
		return plainMap(v.AsMap())
	case v.IsArray():
		out := make([]any, 0, v.AsArray().Len())
		for _, e := range v.AsArray().All {
			out = append(out, plain(e))
		}
		return out
	case v.IsResourceReference():
		ref := v.AsResourceReference()
		if id := plain(ref.ID); id != nil {
			return id
		}
		return string(ref.URN)
	}
	return nil
}

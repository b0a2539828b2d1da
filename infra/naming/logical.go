package naming

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// Children derives the logical names of a component's children from the
// component's own name, <component>-<key>, so two instances of a component
// can live in one stack without their children's URNs colliding (a URN is
// stack, project, parent type chain, type and name: the parent's name is not
// in it, so only the child's own name can tell two instances apart).
type Children struct {
	component string
	legacy    bool
}

// ChildrenOf returns the namer for the children of the component called
// name. legacy is the name the stacks gave the component before its children
// carried it; the instance with that name keeps its children's
// old URNs through aliases, any other instance is new and claims none (two
// resources claiming one old URN is an engine error, "Duplicate resource
// alias", pulumi/pulumi pkg/diag/errors.go GetDuplicateResourceAliasError).
func ChildrenOf(name, legacy string) Children {
	return Children{component: name, legacy: name == legacy}
}

// Name is the logical name of the child key: <component>-<key>.
func (c Children) Name(key string) string { return c.component + "-" + key }

// Keep is the option that keeps the URN the child had when it was called
// key alone. An Alias with only Name set means the same type, parent,
// stack and project as the resource now (pulumi sdk go/pulumi/alias.go:
// "If not provided, the current ... of the resource is used"), so the
// engine moves the old state to the new name instead of replacing it.
func (c Children) Keep(key string) pulumi.ResourceOption { return c.Was(key) }

// Was is Keep for a child whose old bare name differs from its key (a
// loop-index name replaced by a stable key).
func (c Children) Was(old string) pulumi.ResourceOption {
	if !c.legacy {
		return pulumi.Aliases(nil)
	}
	return pulumi.Aliases([]pulumi.Alias{{Name: pulumi.String(old)}})
}

// KeepTyped is Keep for a child whose SDK also aliases it to another type
// token (pulumi-aws v6: BucketV2 to aws:s3/bucket:Bucket, BucketObjectv2 to
// aws:s3/BucketObject:BucketObject, the lb kinds to their
// elasticloadbalancingv2 tokens): the old name under that type stays
// claimed too.
func (c Children) KeepTyped(key, typ string) pulumi.ResourceOption {
	if !c.legacy {
		return pulumi.Aliases(nil)
	}
	return pulumi.Aliases([]pulumi.Alias{{Name: pulumi.String(key), Type: pulumi.String(typ)}})
}

package naming

// Children derives the logical names of a component's children from the
// component's own name, <component>-<key>, so two instances of a component
// can live in one stack without their children's URNs colliding (a URN is
// stack, project, parent type chain, type and name: the parent's name is not
// in it, so only the child's own name can tell two instances apart).
// Renaming a child changes its URN, which the engine treats as a delete and
// a create: the golden URN lists (tests/testdata/urns-*.txt) catch it, and
// a rename of a released resource needs an alias at that resource.
type Children struct {
	component string
}

// ChildrenOf returns the namer for the children of the component called
// name.
func ChildrenOf(name string) Children {
	return Children{component: name}
}

// Name is the logical name of the child key: <component>-<key>.
func (c Children) Name(key string) string { return c.component + "-" + key }

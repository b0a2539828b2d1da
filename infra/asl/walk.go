package asl

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// WildcardActions lists the IAM actions used by the runbooks and the service
// snapshot that do not support resource-level permissions (the Service
// Authorization Reference lists no resource type for them), so their
// statements must use "*".
// Every other action is scoped to our ARNs.
var WildcardActions = map[string]string{
	"elasticloadbalancing:DescribeTargetHealth": "Describe* actions of Elastic Load Balancing v2 have no resource types",
	"backup:StartRestoreJob":                    "authorized against the recovery point's source resource, which the request names only at run time",
	"backup:ListRecoveryPointsByResource":       "no resource type; the resource ARN is a request parameter",
	"backup:DescribeRestoreJob":                 "no resource type; restore jobs have no ARN",
	"ecs:DescribeTaskDefinition":                "supports no resource-level permissions: \"*\" is the only valid resource",
	"elasticloadbalancing:DescribeTargetGroups": "Describe* actions of Elastic Load Balancing v2 have no resource types",
	"elasticloadbalancing:DescribeListeners":    "Describe* actions of Elastic Load Balancing v2 have no resource types",
	"states:InvokeHTTPEndpoint":                 "no resource type; the HTTP Task's grant is conditioned on states:HTTPMethod and states:HTTPEndpoint",
}

// VisitFunc is called for every state of a definition, including states
// nested in Parallel branches and Map item processors. scope is the branch
// that holds the state.
type VisitFunc func(name string, s State, scope *Branch)

// Walk calls fn for every state, sorted by name within each scope, depth
// first.
func (sm *StateMachine) Walk(fn VisitFunc) {
	walkBranch(&Branch{StartAt: sm.StartAt, States: sm.States}, fn)
}

func walkBranch(b *Branch, fn VisitFunc) {
	names := make([]string, 0, len(b.States))
	for n := range b.States {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := b.States[n]
		fn(n, s, b)
		switch v := s.(type) {
		case *Parallel:
			for i := range v.Branches {
				walkBranch(&v.Branches[i], fn)
			}
		case *Map:
			walkBranch(&v.ItemProcessor, fn)
		}
	}
}

// Tasks returns every Task state by name.
func (sm *StateMachine) Tasks() map[string]*Task {
	out := map[string]*Task{}
	sm.Walk(func(name string, s State, _ *Branch) {
		if t, ok := s.(*Task); ok {
			out[name] = t
		}
	})
	return out
}

// Permissions returns the IAM statements the machine's Task states need,
// merged by resource set and condition: one Permission per distinct
// (resources, condition) pair, with sorted, de-duplicated actions. The
// result is deterministic.
func (sm *StateMachine) Permissions() []Permission {
	byResources := map[string]*Permission{}
	var keys []string
	sm.Walk(func(_ string, s State, _ *Branch) {
		t, ok := s.(*Task)
		if !ok {
			return
		}
		for _, p := range t.Policy {
			res := slices.Clone(p.Resources)
			sort.Strings(res)
			res = slices.Compact(res)
			key := strings.Join(res, "\n")
			if len(p.Condition) > 0 {
				cond, _ := json.Marshal(p.Condition) // maps of strings and JSON values always marshal
				key += "\n?" + string(cond)
			}
			cur, ok := byResources[key]
			if !ok {
				cur = &Permission{Resources: res, Condition: p.Condition}
				byResources[key] = cur
				keys = append(keys, key)
			}
			cur.Actions = append(cur.Actions, p.Actions...)
		}
	})
	sort.Strings(keys)
	out := make([]Permission, 0, len(keys))
	for _, k := range keys {
		p := byResources[k]
		sort.Strings(p.Actions)
		p.Actions = slices.Compact(p.Actions)
		out = append(out, *p)
	}
	return out
}

// Validate checks structural rules every runbook must satisfy: StartAt and
// every transition name an existing state of the same scope, every
// non-terminal, non-Choice state has Next, state names are unique across
// the whole machine (local test handlers are keyed by name), and every Task
// has Retry, Catch and an IAM policy. All problems are reported together.
func (sm *StateMachine) Validate() error {
	var errs []error
	seen := map[string]bool{}
	check := func(b *Branch, where string) {
		if _, ok := b.States[b.StartAt]; !ok {
			errs = append(errs, fmt.Errorf("%s: StartAt %q is not a state", where, b.StartAt))
		}
	}
	check(&Branch{StartAt: sm.StartAt, States: sm.States}, "machine")
	sm.Walk(func(name string, s State, scope *Branch) {
		if seen[name] {
			errs = append(errs, fmt.Errorf("state %q: name is used more than once", name))
		}
		seen[name] = true
		for _, next := range s.Transitions() {
			if _, ok := scope.States[next]; !ok {
				errs = append(errs, fmt.Errorf("state %q: transition to unknown state %q", name, next))
			}
		}
		if len(s.Transitions()) == 0 && !s.Terminal() {
			errs = append(errs, fmt.Errorf("state %q: neither Next nor End", name))
		}
		switch v := s.(type) {
		case *Task:
			if len(v.Retry) == 0 {
				errs = append(errs, fmt.Errorf("task %q: no Retry", name))
			}
			if len(v.Catch) == 0 {
				errs = append(errs, fmt.Errorf("task %q: no Catch", name))
			}
			if len(v.Policy) == 0 {
				errs = append(errs, fmt.Errorf("task %q: no IAM policy", name))
			}
			if strings.Contains(v.Resource, ":lambda:") {
				errs = append(errs, fmt.Errorf("task %q: Lambda resources are not allowed", name))
			}
		case *Parallel:
			for i := range v.Branches {
				check(&v.Branches[i], fmt.Sprintf("state %q branch %d", name, i))
			}
		case *Map:
			check(&v.ItemProcessor, fmt.Sprintf("state %q item processor", name))
		}
	})
	return errors.Join(errs...)
}

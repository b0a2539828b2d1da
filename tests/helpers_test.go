// Package tests is the mock-engine suite: it runs the real infra.Deploy for
// each stack file under Pulumi's mocks (proof/offline) and asserts the
// values that matter. It is one package so pulumi-aws compiles once.
package tests

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/trading-ha/trading-ha/proof/offline"
)

// acct is the account the mocks deploy into.
const acct = offline.AccountID

// out returns a computed (mock) output of a resource as a string.
func out(t *testing.T, r *offline.Resource, key string) string {
	t.Helper()
	s, ok := r.Outputs[key].(string)
	if !ok {
		t.Fatalf("%s %s: output %s is %T, want string", r.Type, r.Name, key, r.Outputs[key])
	}
	return s
}

// Stacks are the stack files every test runs against.
var Stacks = []string{"dev", "prod"}

var (
	cacheMu sync.Mutex
	cache   = map[string]*offline.Recording{}
)

// record runs a stack once per test binary and caches the recording.
func record(t *testing.T, stack string) *offline.Recording {
	t.Helper()
	return cached(t, "stack "+stack, func() (*offline.Recording, error) { return offline.Run("..", stack, nil) })
}

// cached runs a recording once per test binary under key.
func cached(t *testing.T, key string, run func() (*offline.Recording, error)) *offline.Recording {
	t.Helper()
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if rec, ok := cache[key]; ok {
		return rec
	}
	rec, err := run()
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	cache[key] = rec
	return rec
}

// recordWith runs a stack with config overrides (not cached). An empty
// override value removes the key.
func recordWith(t *testing.T, stack string, overrides map[string]string) (*offline.Recording, error) {
	t.Helper()
	return offline.Run("..", stack, overrides)
}

// forStacks runs fn as a subtest per stack.
func forStacks(t *testing.T, fn func(t *testing.T, stack string, rec *offline.Recording)) {
	for _, s := range Stacks {
		t.Run(s, func(t *testing.T) { fn(t, s, record(t, s)) })
	}
}

// one returns the single resource of a type and logical name or fails.
func one(t *testing.T, rec *offline.Recording, typ, name string) *offline.Resource {
	t.Helper()
	r, err := rec.One(typ, name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// get walks a dotted path ("serverSideEncryption.kmsKeyArn", "rules.0.id")
// through a resource's inputs.
func get(t *testing.T, r *offline.Resource, path string) any {
	t.Helper()
	v, err := offline.Walk(r.Inputs, path)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Type, r.Name, err)
	}
	return v
}

// eq asserts an input equals want; numbers compare as float64.
func eq(t *testing.T, r *offline.Resource, path string, want any) {
	t.Helper()
	got := get(t, r, path)
	if !same(got, want) {
		t.Errorf("%s %s: %s = %#v, want %#v", r.Type, r.Name, path, got, want)
	}
}

func same(got, want any) bool {
	switch w := want.(type) {
	case int:
		want = float64(w)
	case []string:
		xs := make([]any, len(w))
		for i, s := range w {
			xs[i] = s
		}
		want = xs
	}
	return reflect.DeepEqual(got, want)
}

// jsonInput parses a JSON-string input (policies, container definitions, ASL).
func jsonInput(t *testing.T, r *offline.Resource, path string, into any) {
	t.Helper()
	s, ok := get(t, r, path).(string)
	if !ok {
		t.Fatalf("%s %s: %s is not a string", r.Type, r.Name, path)
	}
	if err := json.Unmarshal([]byte(s), into); err != nil {
		t.Fatalf("%s %s: %s is not JSON: %v", r.Type, r.Name, path, err)
	}
}

// policyDoc is an IAM policy as tests read it; Action/Resource may be a
// string or a list in AWS syntax, our generator always writes lists.
type policyDoc struct {
	Version   string
	Statement []policyStatement
}

// policyStatement is one statement of a policyDoc.
type policyStatement struct {
	Sid       string
	Effect    string
	Principal map[string]any
	Action    []string
	Resource  []string
	Condition map[string]map[string]any
}

// rejects runs a stack with invalid config and asserts the program fails
// before registering anything, with an error holding every wanted phrase
// (the key, the value and the rule).
func rejects(t *testing.T, stack string, overrides map[string]string, want []string) {
	t.Helper()
	rec, err := recordWith(t, stack, overrides)
	refused(t, rec, err, want)
}

// refused asserts a program run failed with an error containing every want
// and registered no resource before it.
func refused(t *testing.T, rec *offline.Recording, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error containing %q, got none", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if rec == nil {
		t.Fatalf("no recording: the program did not run (%v)", err)
	}
	if len(rec.Resources) != 0 {
		t.Errorf("%d resources registered before the error; want 0", len(rec.Resources))
	}
}

package tests

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/proof/iamcheck"
	"github.com/trading-ha/trading-ha/proof/offline"
	"github.com/trading-ha/trading-ha/proof/policy"
)

// iamAllowlist holds findings the validator makes in the program that are
// not fixed yet. A key is a prefix of "<type> <logical name> <input path>:
// <finding>" as the test prints it, with the stack name replaced by <env>;
// the value says why it is here. Delete an entry when the program is fixed:
// the test fails on entries that no longer match, so the list cannot go
// stale.
var iamAllowlist = map[string]string{}

// policyInput is one IAM document found in a resource's inputs.
type policyInput struct {
	res  *offline.Resource
	path string
	doc  string
}

// policyDocs walks every input of every resource and returns the JSON
// strings that hold a "Statement" key: role trust and inline policies, key,
// bucket, topic, queue, bus and log resource policies, and any other.
func policyDocs(rec *offline.Recording) []policyInput {
	var out []policyInput
	for _, r := range rec.Resources {
		var walk func(path string, v any)
		walk = func(path string, v any) {
			switch x := v.(type) {
			case map[string]any:
				keys := make([]string, 0, len(x))
				for k := range x {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					walk(strings.TrimPrefix(path+"."+k, "."), x[k])
				}
			case []any:
				for i, e := range x {
					walk(fmt.Sprintf("%s.%d", path, i), e)
				}
			case string:
				var m map[string]json.RawMessage
				if json.Unmarshal([]byte(x), &m) == nil {
					if _, ok := m["Statement"]; ok {
						out = append(out, policyInput{res: r, path: path, doc: x})
					}
				}
			}
		}
		walk("", r.Inputs)
	}
	return out
}

// policyKind tells trust, identity and resource policies apart by where the
// document sits.
func policyKind(p policyInput) iamcheck.Kind {
	switch {
	case p.res.Type == "aws:iam/role:Role" && p.path == "assumeRolePolicy":
		return iamcheck.Trust
	case p.res.Type == "aws:iam/role:Role", p.res.Type == "aws:iam/rolePolicy:RolePolicy",
		p.res.Type == "aws:iam/policy:Policy", p.res.Type == "aws:iam/userPolicy:UserPolicy",
		p.res.Type == "aws:iam/groupPolicy:GroupPolicy":
		return iamcheck.Identity
	}
	return iamcheck.Resource
}

// TestIAMDocumentsValidate validates every IAM document both stacks build
// against AWS's service authorization reference (proof/iamcheck):
// errors and warnings both fail, except allowlisted findings.
func TestIAMDocumentsValidate(t *testing.T) {
	data, err := iamcheck.Load()
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		docs := policyDocs(rec)
		if len(docs) < 20 {
			t.Fatalf("found %d policy documents; the walk is broken", len(docs))
		}
		kinds := map[iamcheck.Kind]int{}
		var total iamcheck.Stats
		for _, p := range docs {
			kind := policyKind(p)
			kinds[kind]++
			fs, st, err := data.Validate(p.doc, kind)
			if err != nil {
				t.Errorf("%s %s %s: %v", p.res.Type, p.res.Name, p.path, err)
				continue
			}
			total.Add(st)
			for _, f := range fs {
				key := fmt.Sprintf("%s %s %s: %s", p.res.Type, p.res.Name, p.path, f)
				if entry, ok := allowed(stack, key); ok {
					used[entry] = true
					continue
				}
				t.Errorf("%s (%s policy)", key, kind)
			}
		}
		t.Logf("stack %s: %d documents (%d trust, %d identity, %d resource), %d statements, %d actions, %d resources, %d condition keys, %d principals checked",
			stack, len(docs), kinds[iamcheck.Trust], kinds[iamcheck.Identity], kinds[iamcheck.Resource],
			total.Statements, total.Actions, total.Resources, total.Conditions, total.Principals)
	})
	for k := range iamAllowlist {
		if !used[k] && !t.Failed() {
			t.Errorf("allowlist entry no longer matches a finding, delete it: %s", k)
		}
	}
}

// allowed returns the allowlist entry a finding falls under. Names carry
// the environment suffix, so -<stack> reads as -<env>.
func allowed(stack, finding string) (string, bool) {
	f := strings.ReplaceAll(finding, "-"+stack, "-<env>")
	for entry := range iamAllowlist {
		if strings.HasPrefix(f, entry) {
			return entry, true
		}
	}
	return "", false
}

// TestNoResourceLevelActionsMatchReference holds the policy suite's list of
// "*"-only actions (TH-IAM-1) to the service authorization reference: each
// must exist and have no resource types.
func TestNoResourceLevelActionsMatchReference(t *testing.T) {
	data, err := iamcheck.Load()
	if err != nil {
		t.Fatal(err)
	}
	for name, why := range policy.StarExceptions {
		a, err := data.Action(name)
		if err != nil {
			t.Error(err)
			continue
		}
		if len(a.ResourceTypes) == 0 {
			t.Errorf("policy.StarExceptions lists %s (%s), but the reference gives it no resource types: move it to NoResourceLevelActions", name, why)
		}
	}
	for _, name := range policy.NoResourceLevelActions {
		a, err := data.Action(name)
		if err != nil {
			t.Error(err)
			continue
		}
		if len(a.ResourceTypes) > 0 {
			var types []string
			for _, rt := range a.ResourceTypes {
				types = append(types, rt.Name)
			}
			t.Errorf("policy.NoResourceLevelActions lists %s, but the reference gives it resource types %s", name, strings.Join(types, ", "))
		}
	}
}

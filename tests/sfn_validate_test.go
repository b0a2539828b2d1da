package tests

import (
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/proof/offline"
	"github.com/trading-ha/trading-ha/proof/sfncheck"
)

// TestStateMachineSDKTasks validates every SDK integration Task of every
// recorded state machine (the five runbooks — the migrate runbook's ECS
// RunTask run as a job included — the backup component's service snapshot
// and identity's key sync, whose HTTP Task sfncheck checks too) against the aws-sdk-go-v2 input shapes and the inline
// policy of the machine's role (proof/sfncheck): no findings allowed.
func TestStateMachineSDKTasks(t *testing.T) {
	env := sfncheck.Env{Partition: "aws", Region: offline.Region, Account: acct}
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		machines := rec.ByType("aws:sfn/stateMachine:StateMachine")
		if len(machines) != 7 {
			t.Errorf("%d state machines, want 7 (five runbooks, the service snapshot and the key sync)", len(machines))
		}
		total := 0
		for _, sm := range machines {
			def, ok := sm.Inputs["definition"].(string)
			if !ok {
				t.Errorf("state machine %s: definition is %T, want a string", sm.Name, sm.Inputs["definition"])
				continue
			}
			res, err := sfncheck.Check(env, sfncheck.Machine{Name: sm.Name, Definition: def, Policies: roleInlinePolicies(t, rec, sm)})
			if err != nil {
				t.Error(err)
				continue
			}
			if len(res.Tasks) == 0 {
				t.Errorf("state machine %s: no SDK task validated", sm.Name)
			}
			for _, s := range res.Skipped {
				t.Errorf("state machine %s: task %s (%s) is not an integration sfncheck validates", sm.Name, s.State, s.Resource)
			}
			for _, f := range res.Findings {
				t.Error(f)
			}
			total += len(res.Tasks)
			t.Logf("%s: %d tasks", sm.Name, len(res.Tasks))
		}
		t.Logf("stack %s: %d SDK tasks validated in %d state machines", stack, total, len(machines))
	})
}

// roleInlinePolicies returns the inline policies of the role a state
// machine runs as; it must have at least one and no managed attachment.
func roleInlinePolicies(t *testing.T, rec *offline.Recording, sm *offline.Resource) []string {
	t.Helper()
	arn, _ := sm.Inputs["roleArn"].(string)
	role := arn[strings.LastIndex(arn, "/")+1:]
	var docs []string
	for _, p := range rec.ByType("aws:iam/rolePolicy:RolePolicy") {
		if p.Inputs["role"] == role {
			doc, ok := p.Inputs["policy"].(string)
			if !ok {
				t.Fatalf("role policy %s: policy is %T, want a string", p.Name, p.Inputs["policy"])
			}
			docs = append(docs, doc)
		}
	}
	for _, a := range rec.ByType("aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
		if a.Inputs["role"] == role {
			t.Errorf("state machine %s: role %s has managed policy %v attached; sfncheck sees inline policies only", sm.Name, role, a.Inputs["policyArn"])
		}
	}
	if len(docs) == 0 {
		t.Fatalf("state machine %s: role %q (from roleArn %q) has no inline policy", sm.Name, role, arn)
	}
	return docs
}

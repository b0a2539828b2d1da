package tests

import (
	"reflect"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/proof/offline"
	"github.com/trading-ha/trading-ha/proof/policy"
)

// The tests in this file kill the regressions an earlier mutation review
// found alive (scripts/mutate lists them first): each pins the value the
// regression changes, for both stacks where the value is per stack.

// TestTaskRolesTrustOnlyThisAccountsECS: both task roles carry the
// confused-deputy conditions of the ECS Developer Guide ("Amazon ECS task
// IAM role", trust policy example): aws:SourceAccount equal to our account
// and aws:SourceArn like arn:aws:ecs:<region>:<account>:*, so a task of
// another account cannot assume them through ECS.
func TestTaskRolesTrustOnlyThisAccountsECS(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		for _, role := range []string{"task", "task-execution"} {
			var trust policyDoc
			jsonInput(t, one(t, rec, "aws:iam/role:Role", role), "assumeRolePolicy", &trust)
			if len(trust.Statement) != 1 {
				t.Fatalf("%s trust has %d statements, want 1", role, len(trust.Statement))
			}
			c := trust.Statement[0].Condition
			if got := c["ArnLike"]["aws:SourceArn"]; got != "arn:aws:ecs:us-east-1:"+acct+":*" {
				t.Errorf("%s trust aws:SourceArn = %v, want arn:aws:ecs:us-east-1:%s:*", role, got, acct)
			}
			if got := c["StringEquals"]["aws:SourceAccount"]; got != acct {
				t.Errorf("%s trust aws:SourceAccount = %v, want %s", role, got, acct)
			}
		}
	})
}

// namedState is one state of a parsed definition.
type namedState struct {
	name  string
	state map[string]any
}

// states returns every state of a parsed definition, nested Parallel
// branches and Map item processors included (a slice: a name repeated in
// two branches is visited twice).
func states(def map[string]any) []namedState {
	var out []namedState
	var walk func(m map[string]any)
	walk = func(m map[string]any) {
		for name, v := range m {
			s := v.(map[string]any)
			out = append(out, namedState{name, s})
			if br, ok := s["Branches"].([]any); ok {
				for _, b := range br {
					walk(b.(map[string]any)["States"].(map[string]any))
				}
			}
			if ip, ok := s["ItemProcessor"].(map[string]any); ok {
				walk(ip["States"].(map[string]any))
			}
		}
	}
	walk(def["States"].(map[string]any))
	return out
}

// eachState calls fn for every state of every recorded state machine.
func eachState(t *testing.T, rec *offline.Recording, fn func(sm *offline.Resource, name string, s map[string]any)) {
	t.Helper()
	for _, sm := range rec.ByType("aws:sfn/stateMachine:StateMachine") {
		var def map[string]any
		jsonInput(t, sm, "definition", &def)
		for _, ns := range states(def) {
			fn(sm, ns.name, ns.state)
		}
	}
}

// TestFailoverRetriesThrottlingOnly: the database failover runbook
// requests FailoverDBCluster once; only a throttled request (the API was
// not executed) is retried. Step Functions names SDK integration errors
// <Service>.<Error> with the Exception suffix even where the service's own
// code lacks it (Step Functions Developer Guide, "AWS SDK service
// integrations", error names): RDS's Throttling is Rds.ThrottlingException.
// A wider retrier (States.TaskFailed, States.ALL) could request a second
// failover while the first one runs.
func TestFailoverRetriesThrottlingOnly(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		found := 0
		eachState(t, rec, func(sm *offline.Resource, name string, s map[string]any) {
			if s["Resource"] != "arn:aws:states:::aws-sdk:rds:failoverDBCluster" {
				return
			}
			found++
			retry, _ := s["Retry"].([]any)
			var errs []any
			for _, r := range retry {
				errs = append(errs, r.(map[string]any)["ErrorEquals"].([]any)...)
			}
			if !reflect.DeepEqual(errs, []any{"Rds.ThrottlingException"}) {
				t.Errorf("%s/%s retries %v, want [Rds.ThrottlingException] only", sm.Name, name, errs)
			}
		})
		if found != 1 {
			t.Errorf("%d FailoverDBCluster tasks, want 1", found)
		}
	})
}

// TestMapAndParallelStatesCatch: a Map or Parallel state fails its whole
// execution when an iteration or branch fails (Amazon States Language:
// "If any iteration fails ... the Map state fails"), so each catches
// States.ALL last, like every Task (checkTasks), and the runbook reports
// instead of dying.
func TestMapAndParallelStatesCatch(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		n := 0
		eachState(t, rec, func(sm *offline.Resource, name string, s map[string]any) {
			if s["Type"] != "Map" && s["Type"] != "Parallel" {
				return
			}
			n++
			catch, _ := s["Catch"].([]any)
			if len(catch) == 0 {
				t.Errorf("%s/%s (%s) has no Catch", sm.Name, name, s["Type"])
				return
			}
			if last := catch[len(catch)-1].(map[string]any)["ErrorEquals"]; !reflect.DeepEqual(last, []any{"States.ALL"}) {
				t.Errorf("%s/%s: last catcher %v is not States.ALL", sm.Name, name, last)
			}
		})
		if n == 0 {
			t.Error("no Map or Parallel state found; the runbooks use both")
		}
	})
}

// TestSuffixOneOverTheLimitRefused: the boundary of environmentSuffix: 14
// characters deploy (TestSuffixLimitComesFromNamingTable), 15 fail before
// any resource with the limit and the kind that sets it (Synthetics canary
// names, 21 characters).
func TestSuffixOneOverTheLimitRefused(t *testing.T) {
	rejects(t, "dev", map[string]string{"trading-ha:environmentSuffix": "a" + strings.Repeat("b", 14)},
		[]string{"trading-ha:environmentSuffix", "at most 14 characters", "canary names allow 21"})
}

// TestKMS4FiresOnEachBranch: the KMS.4 rule fires on rotation off with the
// right deletion window, and on the wrong window with rotation on, so
// neither branch can be dropped unnoticed.
func TestKMS4FiresOnEachBranch(t *testing.T) {
	var rule policy.Rule
	for _, r := range policy.Rules {
		if r.ID == "KMS.4" {
			rule = r
		}
	}
	if rule.Check == nil {
		t.Fatal("no KMS.4 rule")
	}
	for name, c := range map[string]struct {
		inputs map[string]any
		want   string
	}{
		"rotation off": {map[string]any{"enableKeyRotation": false, "deletionWindowInDays": float64(7)}, "rotation off"},
		"window":       {map[string]any{"enableKeyRotation": true, "deletionWindowInDays": float64(30)}, "deletion window 30 days, want 7"},
		"compliant":    {map[string]any{"enableKeyRotation": true, "deletionWindowInDays": float64(7)}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			rec := &offline.Recording{Stack: "t", Config: map[string]string{"trading-ha:environmentSuffix": "dev"},
				Resources: []*offline.Resource{res("aws:kms/key:Key", "k", c.inputs)}}
			got := rule.Check(rec.Policy())
			switch {
			case c.want == "" && len(got) != 0:
				t.Errorf("compliant key flagged: %v", got)
			case c.want != "" && (len(got) != 1 || !strings.Contains(got[0].Message, c.want)):
				t.Errorf("KMS.4 found %v, want one %q", got, c.want)
			}
		})
	}
}

package asl

import (
	"encoding/json"
	"strings"
	"testing"
)

func buildAll(t *testing.T) map[string]*StateMachine {
	t.Helper()
	out := map[string]*StateMachine{}
	for _, rb := range Runbooks() {
		sm, err := rb.Build(ExampleTargets())
		if err != nil {
			t.Fatalf("%s: %v", rb.Name, err)
		}
		out[rb.Name] = sm
	}
	return out
}

func TestRunbooksStructure(t *testing.T) {
	for name, sm := range buildAll(t) {
		t.Run(name, func(t *testing.T) {
			if err := sm.Validate(); err != nil {
				t.Fatal(err)
			}
			if sm.States["ValidateInput"] == nil || sm.StartAt != "ValidateInput" {
				t.Errorf("must start with input validation, StartAt=%q", sm.StartAt)
			}
		})
	}
}

func TestEveryTaskRetriesAndCatches(t *testing.T) {
	for name, sm := range buildAll(t) {
		for tn, task := range sm.Tasks() {
			t.Run(name+"/"+tn, func(t *testing.T) {
				if strings.Contains(task.Resource, "lambda") {
					t.Errorf("Lambda resource %q", task.Resource)
				}
				// The optimized integrations in use: SNS publish, and ECS
				// RunTask as a job (.sync) in the migrate runbook.
				if !strings.HasPrefix(task.Resource, "arn:aws:states:::aws-sdk:") && task.Resource != "arn:aws:states:::sns:publish" &&
					task.Resource != ecsRunTaskSync {
					t.Errorf("resource %q is not an SDK or optimized integration", task.Resource)
				}
				if len(task.Retry) == 0 || task.Retry[0].BackoffRate < 1 || task.Retry[0].MaxAttempts < 1 {
					t.Errorf("retry with backoff missing: %+v", task.Retry)
				}
				// States.ALL must be the last catcher (ASL); specific ones may precede it.
				if len(task.Catch) == 0 || task.Catch[len(task.Catch)-1].ErrorEquals[0] != "States.ALL" {
					t.Errorf("catch-all missing: %+v", task.Catch)
				}
			})
		}
	}
}

func TestPermissionsScoped(t *testing.T) {
	for name, sm := range buildAll(t) {
		perms := sm.Permissions()
		if len(perms) == 0 {
			t.Fatalf("%s: no permissions", name)
		}
		for _, p := range perms {
			for _, r := range p.Resources {
				if r != "*" && !strings.HasPrefix(r, "arn:aws:") {
					t.Errorf("%s: resource %q is not an ARN", name, r)
				}
				if strings.Contains(r, "*") {
					for _, a := range p.Actions {
						if _, ok := WildcardActions[a]; !ok && r == "*" {
							t.Errorf("%s: %s granted on %q but supports resource scoping", name, a, r)
						}
					}
				}
			}
		}
	}
}

func TestPermissionsContent(t *testing.T) {
	sm := buildAll(t)[HealthCheckName]
	got := map[string][]string{}
	for _, p := range sm.Permissions() {
		for _, a := range p.Actions {
			got[a] = p.Resources
		}
	}
	x := ExampleTargets()
	want := map[string][]string{
		"elasticloadbalancing:DescribeTargetGroups": {"*"},
		"rds:DescribeDBClusters":                    {x.ClusterArn},
		"ecs:DescribeServices":                      {x.ECSServiceArn},
		"dynamodb:DescribeTable":                    {x.TableArn},
		"sns:Publish":                               {x.TopicArn},
		"synthetics:GetCanaryRuns":                  {"arn:aws:synthetics:us-east-1:123456789012:canary:canary-dev"},
		"elasticloadbalancing:DescribeTargetHealth": {"*"},
	}
	for a, res := range want {
		if strings.Join(got[a], ",") != strings.Join(res, ",") {
			t.Errorf("%s: got %v, want %v", a, got[a], res)
		}
	}
	if len(got["cloudwatch:DescribeAlarms"]) != len(x.AlarmNames) {
		t.Errorf("DescribeAlarms resources %v", got["cloudwatch:DescribeAlarms"])
	}
}

func TestJSONDeterministic(t *testing.T) {
	for _, rb := range Runbooks() {
		var first string
		for i := 0; i < 5; i++ {
			sm, err := rb.Build(ExampleTargets())
			if err != nil {
				t.Fatal(err)
			}
			js, err := sm.JSON()
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				first = js
				var v map[string]any
				if err := json.Unmarshal([]byte(js), &v); err != nil {
					t.Fatalf("%s: invalid JSON: %v", rb.Name, err)
				}
				if strings.Contains(js, `\u003e`) || !strings.Contains(js, "\n  ") {
					t.Errorf("%s: expected indented, unescaped JSON", rb.Name)
				}
			} else if js != first {
				t.Fatalf("%s: JSON differs between builds", rb.Name)
			}
		}
	}
}

func TestTargetsValidation(t *testing.T) {
	cases := map[string]func(*Targets){
		"missing cluster":     func(x *Targets) { x.ClusterArn = "" },
		"table not protected": func(x *Targets) { x.ProtectedResourceArns = x.ProtectedResourceArns[:1] },
		"no target groups":    func(x *Targets) { x.TargetGroupNames = nil },
		"target group arn": func(x *Targets) {
			x.TargetGroupNames = []string{"arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/tg/0123456789abcdef"}
		},
		"zero rpo":               func(x *Targets) { x.RpoThresholdMinutes = 0 },
		"topic not an arn":       func(x *Targets) { x.TopicArn = "alerts" },
		"cluster arn not parsed": func(x *Targets) { x.ClusterArn = "arn:aws:rds" },
		// The short format names no cluster: the service's revisions could
		// not be scoped.
		"short service arn":      func(x *Targets) { x.ECSServiceArn = "arn:aws:ecs:us-east-1:123456789012:service/svc-dev" },
		"service arn of another": func(x *Targets) { x.ECSServiceArn = "arn:aws:ecs:us-east-1:123456789012:service/ecs-dev/other" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			x := ExampleTargets()
			mutate(&x)
			for _, rb := range Runbooks() {
				if _, err := rb.Build(x); err == nil {
					t.Errorf("%s: expected an error", rb.Name)
				}
			}
		})
	}
}

func TestValidateCatchesBrokenDefinitions(t *testing.T) {
	sm := &StateMachine{StartAt: "A", States: map[string]State{
		"A": &Task{Resource: "arn:aws:states:::lambda:invoke", Next: "Missing"},
		"B": &Pass{},
	}}
	err := sm.Validate()
	if err == nil {
		t.Fatal("expected errors")
	}
	for _, want := range []string{"unknown state \"Missing\"", "no Retry", "no Catch", "Lambda", "neither Next nor End"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}

// permissionsOf indexes a machine's derived statements by action (the
// last statement wins for an action granted on two resource sets).
func permissionsOf(t *testing.T, sm *StateMachine) map[string]Permission {
	t.Helper()
	out := map[string]Permission{}
	for _, p := range sm.Permissions() {
		for _, a := range p.Actions {
			out[a] = p
		}
	}
	return out
}

func TestFailoverPermissions(t *testing.T) {
	x := ExampleTargets()
	got := permissionsOf(t, buildAll(t)[DatabaseFailoverName])
	instances := []string{
		"arn:aws:rds:us-east-1:123456789012:db:aurora-dev-1",
		"arn:aws:rds:us-east-1:123456789012:db:aurora-dev-2",
		"arn:aws:rds:us-east-1:123456789012:db:aurora-dev-3",
	}
	// FailoverDBCluster names its target instance, a resource of the action
	// too (a grant on the cluster alone is denied): the cluster and every
	// instance are granted.
	want := map[string][]string{
		"rds:DescribeDBClusters":                    {x.ClusterArn},
		"rds:FailoverDBCluster":                     append([]string{x.ClusterArn}, instances...),
		"rds:DescribeDBInstances":                   instances,
		"sns:Publish":                               {x.TopicArn},
		"elasticloadbalancing:DescribeTargetHealth": {"*"},
		"elasticloadbalancing:DescribeTargetGroups": {"*"},
	}
	if len(got) != len(want) {
		t.Errorf("actions %v, want exactly %v", keys(got), want)
	}
	for a, res := range want {
		if strings.Join(got[a].Resources, ",") != strings.Join(res, ",") {
			t.Errorf("%s: got %v, want %v", a, got[a].Resources, res)
		}
	}
}

// TestServiceRecoveryPermissions: the ECS calls are scoped to the service
// and, for DescribeServiceRevisions (resource types service and
// service-revision), to the service's own revisions.
func TestServiceRecoveryPermissions(t *testing.T) {
	x := ExampleTargets()
	got := permissionsOf(t, buildAll(t)[ServiceRecoveryName])
	want := map[string][]string{
		"ecs:DescribeServices":         {x.ECSServiceArn},
		"ecs:ListServiceDeployments":   {x.ECSServiceArn},
		"ecs:UpdateService":            {x.ECSServiceArn},
		"ecs:DescribeServiceRevisions": {"arn:aws:ecs:us-east-1:123456789012:service-revision/ecs-dev/svc-dev/*", x.ECSServiceArn},
		"iam:PassRole":                 {x.ExecutionRoleArn, x.TaskRoleArn},
	}
	for a, res := range want {
		if strings.Join(got[a].Resources, ",") != strings.Join(res, ",") {
			t.Errorf("%s: got %v, want %v", a, got[a].Resources, res)
		}
	}
	for a := range got {
		if strings.HasPrefix(a, "ecs:") && want[a] == nil {
			t.Errorf("unexpected ECS action %s on %v", a, got[a].Resources)
		}
	}
}

func TestBackupVerificationPermissions(t *testing.T) {
	x := ExampleTargets()
	got := permissionsOf(t, buildAll(t)[BackupVerificationName])
	verify := x.TableArn + "-verify-*"
	want := map[string][]string{
		"backup:ListRecoveryPointsByBackupVault": {"arn:aws:backup:us-east-1:123456789012:backup-vault:vault-dev"},
		"backup:StartRestoreJob":                 {"arn:aws:backup:us-east-1:123456789012:recovery-point:*"},
		"backup:DescribeRestoreJob":              {"*"},
		"iam:PassRole":                           {x.RestoreRoleArn},
		"dynamodb:DeleteTable":                   {verify},
		"sns:Publish":                            {x.TopicArn},
	}
	for a, res := range want {
		if strings.Join(got[a].Resources, ",") != strings.Join(res, ",") {
			t.Errorf("%s: got %v, want %v", a, got[a].Resources, res)
		}
	}
	// DescribeTable on the source and on the restored tables: two statements merged.
	var describe []string
	for _, p := range buildAll(t)[BackupVerificationName].Permissions() {
		for _, a := range p.Actions {
			if a == "dynamodb:DescribeTable" {
				describe = append(describe, p.Resources...)
			}
		}
	}
	if strings.Join(describe, ",") != x.TableArn+","+verify && strings.Join(describe, ",") != verify+","+x.TableArn {
		t.Errorf("DescribeTable resources %v", describe)
	}
	if c := got["iam:PassRole"].Condition["StringEquals"]["iam:PassedToService"]; c != "backup.amazonaws.com" {
		t.Errorf("PassRole condition = %v", got["iam:PassRole"].Condition)
	}
	// The data key is read by alias: DescribeKey on key/* of the account,
	// only for the key with that alias.
	dk := got["kms:DescribeKey"]
	if strings.Join(dk.Resources, ",") != "arn:aws:kms:us-east-1:123456789012:key/*" ||
		dk.Condition["ForAnyValue:StringEquals"]["kms:ResourceAliases"] != x.DataKeyAlias || len(dk.Condition) != 1 {
		t.Errorf("kms:DescribeKey = %+v", dk)
	}
}

// TestBackupVerificationResolvesTheKey: the restore is encrypted with the
// key ARN DescribeKey returns for the alias, read before the restore and
// only when the key is Enabled; the definition embeds no key ARN.
func TestBackupVerificationResolvesTheKey(t *testing.T) {
	x := ExampleTargets()
	sm := buildAll(t)[BackupVerificationName]
	src := sm.States["DescribeSourceTable"].(*Task)
	key, ok := sm.States[src.Next].(*Task)
	if !ok || key.Resource != "arn:aws:states:::aws-sdk:kms:describeKey" || key.Parameters["KeyId"] != x.DataKeyAlias {
		t.Fatalf("after DescribeSourceTable: %s = %+v", src.Next, sm.States[src.Next])
	}
	if key.ResultSelector["arn.$"] != "$.KeyMetadata.Arn" || key.ResultPath != "$.restoreKey" {
		t.Errorf("DescribeKey result = %v at %s", key.ResultSelector, key.ResultPath)
	}
	gate, ok := sm.States[key.Next].(*Choice)
	if !ok || len(gate.Choices) != 1 || gate.Choices[0].StringEquals == nil || *gate.Choices[0].StringEquals != "Enabled" ||
		gate.Choices[0].Next != "PrepareRestore" || !strings.HasPrefix(gate.Default, "RestoreKeyUnusable") {
		t.Errorf("key gate %s = %+v", key.Next, sm.States[key.Next])
	}
	meta := sm.States["StartRestore"].(*Task).Parameters["Metadata"].(map[string]any)
	if meta["kmsMasterKeyArn.$"] != "$.restoreKey.arn" {
		t.Errorf("restore metadata = %v", meta)
	}
	def, err := json.Marshal(sm)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(def), ":key/") {
		t.Errorf("the definition embeds a key ARN")
	}
}

func TestCutoffExpression(t *testing.T) {
	got := CutoffExpression(90)
	for _, want := range []string{"{% ", "$states.input", "'thresholdMinutes': 90", "$states.context.Execution.StartTime) - 5400000", " %}"} {
		if !strings.Contains(got, want) {
			t.Errorf("cutoff expression %q lacks %q", got, want)
		}
	}
	sm := buildAll(t)[BackupVerificationName]
	p, ok := sm.States[CutoffState].(*Pass)
	if !ok || p.QueryLanguage != "JSONata" || p.Output != CutoffExpression(ExampleTargets().RpoThresholdMinutes) {
		t.Errorf("cutoff state = %+v", sm.States[CutoffState])
	}
}

func keys(m map[string]Permission) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

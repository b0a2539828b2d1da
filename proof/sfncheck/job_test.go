package sfncheck

import (
	"strings"
	"testing"
)

// runTaskJob is the migrate runbook's call: RunTask of a family's latest
// revision as a job (.sync), its network from the state.
func runTaskJob(params map[string]any) map[string]any {
	p := map[string]any{
		"Cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/ecs-dev", "TaskDefinition": "task-migrate-dev",
		"LaunchType": "FARGATE", "Count": 1,
		"NetworkConfiguration": map[string]any{"AwsvpcConfiguration": map[string]any{
			"Subnets.$": "$.net.subnets", "SecurityGroups.$": "$.net.groups", "AssignPublicIp": "DISABLED",
		}},
	}
	for k, v := range params {
		p[k] = v
	}
	return map[string]any{"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync", "Parameters": p, "End": true}
}

// jobGrants is a correct role for runTaskJob.
func jobGrants() map[string][]string {
	rule := []string{"arn:aws:events:us-east-1:123456789012:rule/StepFunctionsGetEventsForECSTaskRule"}
	tasks := []string{"arn:aws:ecs:us-east-1:123456789012:task/ecs-dev/*"}
	return map[string][]string{
		"ecs:RunTask":       {"arn:aws:ecs:us-east-1:123456789012:task-definition/task-migrate-dev:*"},
		"ecs:StopTask":      tasks,
		"ecs:DescribeTasks": tasks,
		"events:PutTargets": rule, "events:PutRule": rule, "events:DescribeRule": rule,
		"iam:PassRole": {"arn:aws:iam::123456789012:role/role-migrate-execution-dev"},
	}
}

// TestRunTaskJobIsValidated: ECS RunTask run as a job is checked like an
// SDK Task (RunTask's input shape, its grants) plus what Step Functions
// needs to watch the job; other .sync integrations stay skipped.
func TestRunTaskJobIsValidated(t *testing.T) {
	r := check(t, map[string]any{"Run": runTaskJob(nil)}, jobGrants())
	if len(r.Tasks) != 1 || len(r.Skipped) != 0 || r.Tasks[0].IAMAction != "ecs:RunTask" {
		t.Fatalf("tasks %v skipped %v", r.Tasks, r.Skipped)
	}
	for _, f := range r.Findings {
		t.Error(f)
	}
	r = check(t, map[string]any{"Glue": map[string]any{
		"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync", "Parameters": map[string]any{"JobName": "j"}, "End": true,
	}}, nil)
	if len(r.Skipped) != 1 || len(r.Tasks) != 0 {
		t.Errorf("a .sync job sfncheck does not know: tasks %v skipped %v", r.Tasks, r.Skipped)
	}
}

func TestRunTaskJobFixturesFail(t *testing.T) {
	without := func(action string) map[string][]string {
		g := jobGrants()
		delete(g, action)
		return g
	}
	with := func(action string, res ...string) map[string][]string {
		g := jobGrants()
		g[action] = res
		return g
	}
	for _, tc := range []struct {
		name   string
		state  map[string]any
		grants map[string][]string
		kind   Kind
		detail string
	}{
		{"unknown member of the network", runTaskJob(map[string]any{"NetworkConfiguration": map[string]any{
			"AwsvpcConfiguration": map[string]any{"Subnet": []any{"s"}}}}), jobGrants(), UnknownMember, "AwsvpcConfiguration.Subnet is not a member"},
		{"missing task definition", runTaskJob(map[string]any{"TaskDefinition": nil}), jobGrants(), MissingRequired, "TaskDefinition"},
		{"RunTask on another family", runTaskJob(nil), with("ecs:RunTask", "arn:aws:ecs:us-east-1:123456789012:task-definition/task-trading-dev:*"),
			ResourceNotGranted, "task-definition/task-migrate-dev:"},
		{"execution role not passable", runTaskJob(nil), without("iam:PassRole"), ActionNotGranted, "iam:PassRole"},
		{"the job cannot be watched", runTaskJob(nil), without("ecs:DescribeTasks"), ActionNotGranted, "ecs:DescribeTasks"},
		{"the job cannot be stopped in its cluster", runTaskJob(nil), with("ecs:StopTask", "arn:aws:ecs:us-east-1:123456789012:task/other/*"),
			ResourceNotGranted, "task/ecs-dev/"},
		{"no managed rule", runTaskJob(nil), without("events:PutRule"), ActionNotGranted, "events:PutRule"},
		{"another rule", runTaskJob(nil), with("events:PutTargets", "arn:aws:events:us-east-1:123456789012:rule/mine"),
			ResourceNotGranted, "StepFunctionsGetEventsForECSTaskRule"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if p := tc.state["Parameters"].(map[string]any); p["TaskDefinition"] == nil {
				delete(p, "TaskDefinition")
			}
			r := check(t, map[string]any{"Run": tc.state}, tc.grants)
			for _, f := range r.Findings {
				if f.Kind == tc.kind && strings.Contains(f.Detail, tc.detail) {
					return
				}
			}
			t.Errorf("want a %s finding containing %q, got %v", tc.kind, tc.detail, r.Findings)
		})
	}
}

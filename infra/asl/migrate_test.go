package asl

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestMigrateRunsTheTaskAsAJob: the migrate runbook reads the task's
// network from its parameter, runs the migrate family on Fargate without a
// public IP as a job (.sync), retries RunTask on capacity errors only, and
// catches everything else into the failure report.
func TestMigrateRunsTheTaskAsAJob(t *testing.T) {
	x := ExampleTargets()
	sm, err := Migrate(x)
	if err != nil {
		t.Fatal(err)
	}
	if err := sm.Validate(); err != nil {
		t.Fatal(err)
	}
	read := sm.States["ReadNetwork"].(*Task)
	if read.Resource != "arn:aws:states:::aws-sdk:ssm:getParameter" || read.Parameters["Name"] != "/trading/dev/migrate/network" {
		t.Errorf("ReadNetwork %s %v", read.Resource, read.Parameters)
	}
	run := sm.States["RunMigration"].(*Task)
	if run.Resource != "arn:aws:states:::ecs:runTask.sync" {
		t.Errorf("RunMigration resource %q, want the run-a-job integration", run.Resource)
	}
	p := run.Parameters
	if p["Cluster"] != x.ECSClusterArn || p["TaskDefinition"] != "task-migrate-dev" || p["LaunchType"] != "FARGATE" {
		t.Errorf("RunMigration parameters %v", p)
	}
	vpc := p["NetworkConfiguration"].(map[string]any)["AwsvpcConfiguration"].(map[string]any)
	if vpc["AssignPublicIp"] != "DISABLED" || vpc["Subnets.$"] != "$.network.value.subnets" || vpc["SecurityGroups.$"] != "$.network.value.securityGroups" {
		t.Errorf("network configuration %v", vpc)
	}
	if len(run.Retry) != 1 || !slices.Equal(run.Retry[0].ErrorEquals, []string{"ECS.AmazonECSException", "AmazonECS.Unknown"}) || run.Retry[0].MaxAttempts < 3 {
		t.Errorf("retry %+v, want the capacity errors only, several attempts", run.Retry)
	}
	if len(run.Catch) != 1 || run.Catch[0].ErrorEquals[0] != "States.ALL" || run.Catch[0].Next != "MigrationNotRunReport" {
		t.Errorf("catch %+v", run.Catch)
	}
	if run.TimeoutSeconds != MigrateTaskTimeoutSeconds || sm.TimeoutSeconds <= run.TimeoutSeconds {
		t.Errorf("timeouts: task %d, machine %d", run.TimeoutSeconds, sm.TimeoutSeconds)
	}
	// The network document the stack writes is the one the runbook reads.
	doc, _ := json.Marshal(MigrateNetwork{Subnets: []string{"subnet-a"}, SecurityGroups: []string{"sg-m"}})
	if string(doc) != `{"subnets":["subnet-a"],"securityGroups":["sg-m"]}` {
		t.Errorf("network document %s", doc)
	}
}

// TestMigrateSucceedsOnlyOnExitCodeZero: after the task stopped, the
// runbook succeeds only when the container's exit code is present and 0;
// a missing or other exit code goes to the failure report.
func TestMigrateSucceedsOnlyOnExitCodeZero(t *testing.T) {
	sm, err := Migrate(ExampleTargets())
	if err != nil {
		t.Fatal(err)
	}
	exited := sm.States["MigrationExited"].(*Choice)
	if len(exited.Choices) != 1 || exited.Choices[0].Variable != "$.migration.Containers[0].ExitCode" || exited.Choices[0].IsPresent == nil ||
		!*exited.Choices[0].IsPresent || exited.Default != "MigrationFailedReport" {
		t.Errorf("MigrationExited %+v", exited)
	}
	code := sm.States["MigrationExitCode"].(*Choice)
	if len(code.Choices) != 1 || code.Choices[0].NumericEquals == nil || *code.Choices[0].NumericEquals != 0 ||
		code.Choices[0].Next != "MigratedReport" || code.Default != "MigrationFailedReport" {
		t.Errorf("MigrationExitCode %+v", code)
	}
	if f := sm.States["MigrationFailed"].(*Fail); f.Error != "Migrate.Failed" {
		t.Errorf("MigrationFailed %+v", f)
	}
}

// TestMigratePermissions: RunTask on the migrate family only and only into
// our cluster, the started tasks of our cluster, the managed rule of .sync
// and PassRole of the migrate execution role to ECS tasks.
func TestMigratePermissions(t *testing.T) {
	x := ExampleTargets()
	sm, err := Migrate(x)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Permission{}
	for _, p := range sm.Permissions() {
		for _, a := range p.Actions {
			got[a] = p
		}
	}
	for action, want := range map[string]string{
		"ecs:RunTask":       "arn:aws:ecs:us-east-1:123456789012:task-definition/task-migrate-dev:*",
		"ecs:DescribeTasks": "arn:aws:ecs:us-east-1:123456789012:task/ecs-dev/*",
		"ecs:StopTask":      "arn:aws:ecs:us-east-1:123456789012:task/ecs-dev/*",
		"events:PutRule":    "arn:aws:events:us-east-1:123456789012:rule/StepFunctionsGetEventsForECSTaskRule",
		"events:PutTargets": "arn:aws:events:us-east-1:123456789012:rule/StepFunctionsGetEventsForECSTaskRule",
		"iam:PassRole":      x.MigrateExecutionRoleArn,
		"ssm:GetParameter":  "arn:aws:ssm:us-east-1:123456789012:parameter/trading/dev/migrate/network",
	} {
		if p, ok := got[action]; !ok || !slices.Equal(p.Resources, []string{want}) {
			t.Errorf("%s on %v, want exactly %s", action, p.Resources, want)
		}
	}
	if c := got["ecs:RunTask"].Condition["ArnEquals"]["ecs:cluster"]; c != x.ECSClusterArn {
		t.Errorf("RunTask condition ecs:cluster %v, want %s", c, x.ECSClusterArn)
	}
	if c := got["iam:PassRole"].Condition["StringEquals"]["iam:PassedToService"]; c != "ecs-tasks.amazonaws.com" {
		t.Errorf("PassRole to %v", c)
	}
	for a := range got {
		if strings.HasPrefix(a, "ecs:") && !slices.Contains([]string{"ecs:RunTask", "ecs:DescribeTasks", "ecs:StopTask"}, a) {
			t.Errorf("unexpected %s", a)
		}
	}
}

// TestMigrateTargetsValidated: the migrate fields are required and shaped.
func TestMigrateTargetsValidated(t *testing.T) {
	x := ExampleTargets()
	x.MigrateTaskFamily = "arn:aws:ecs:us-east-1:123456789012:task-definition/task-migrate-dev:3"
	x.MigrateNetworkParameter = "trading/dev/network"
	x.MigrateExecutionRoleArn = ""
	err := x.Validate()
	for _, want := range []string{"MigrateTaskFamily", "MigrateNetworkParameter", "MigrateExecutionRoleArn is required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v, want it to name %s", err, want)
		}
	}
}

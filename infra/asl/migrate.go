package asl

import (
	"fmt"
	"strings"
)

// MigrateName is the runbook name used in reports.
const MigrateName = "migrate"

// MigrateNetworkPath is the parameter, below /trading/<suffix>, that holds
// the migrate task's network as a MigrateNetwork JSON document. Subnet and
// security group IDs are values AWS makes, so the definition cannot embed
// them and stay known at the first preview; the runbook reads them at run
// time instead (the stack writes the parameter, infra/wire_identity.go).
const MigrateNetworkPath = "migrate/network"

// MigrateNetwork is the document at MigrateNetworkPath: where the migrate
// task runs (the private subnets) and its security group.
type MigrateNetwork struct {
	Subnets        []string `json:"subnets"`
	SecurityGroups []string `json:"securityGroups"`
}

// MigrateTaskTimeoutSeconds bounds the wait for the migrate task: the
// image pull and start, the step's own MIGRATE_TIMEOUT (5 min, retries
// included) and the DDL, with margin.
const MigrateTaskTimeoutSeconds = 1800

// MigrateCapacityErrors are the run-a-job ECS errors the migrate runbook
// retries: RunTask failing for lack of Fargate capacity is recorded as
// ECS.AmazonECSException (AWS re:Post Knowledge Center,
// "ecs-fargate-runtask-capacity"), and a RunTask answer with a non-empty
// Failures list fails the Task with AmazonECS.Unknown (Step Functions
// Developer Guide, "Run Amazon ECS or Fargate tasks with Step Functions").
// In both cases no task started, so a retry cannot run the step twice.
var MigrateCapacityErrors = []string{"ECS.AmazonECSException", "AmazonECS.Unknown"}

// ecsRunTaskSync is the optimized ECS integration that starts a task and
// waits for it to stop (Run a Job, .sync).
const ecsRunTaskSync = "arn:aws:states:::ecs:runTask.sync"

// ECSTaskEventsRule is the EventBridge rule Step Functions manages in the
// account to learn that a task it started has stopped; a .sync RunTask's
// role needs events:PutTargets, PutRule and DescribeRule on it (Step
// Functions Developer Guide, "IAM policies for Amazon ECS/AWS Fargate",
// Run a Job (.sync)).
const ECSTaskEventsRule = "StepFunctionsGetEventsForECSTaskRule"

// Migrate builds the migrate runbook, which the deploy runs before the
// service rolls out (docs/deploy.md, section 3). Input:
// {"requestedBy": string}.
//
// It reads the task's network (MigrateNetworkPath), runs the latest
// revision of the migrate task definition family on Fargate in those
// subnets with that group and no public IP, and waits for it to stop
// (ecs:runTask.sync). RunTask is retried on capacity errors
// (MigrateCapacityErrors). The run succeeds only when the migrate
// container exited 0; a task that stopped with another exit code, or
// without one (it never ran: image pull, secret or log group errors), is
// reported to the topic and fails the execution. The definition does not
// count on the integration to fail on a non-zero exit code: it checks it.
func Migrate(t Targets) (*StateMachine, error) {
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	a := t.account()
	states := map[string]State{}
	addInputValidation(states, `{"requestedBy": non-empty string}`, "ReadNetwork", requiredString("$.requestedBy"))
	fail := func(name, outcome, reason, errorName string) string {
		return addFailurePath(states, MigrateName, t.TopicArn, name, outcome, reason, errorName)
	}
	logs := "see the migrate task's log group and details.migration"
	notRun := fail("MigrationNotRun", "NOT_RUN",
		"the migrate task could not be started or watched (after the capacity retries); the schema is unchanged, the service must not roll out",
		"Migrate.NotRun")
	failed := fail("MigrationFailed", "FAILED",
		"the migrate task exited non-zero or stopped without running; the schema is unchanged (the step is one transaction), the service must not roll out: "+logs,
		"Migrate.Failed")

	read, err := sdkTask("ssm", "GetParameter", map[string]any{"Name": t.MigrateNetworkParameter},
		[]string{a.arn("ssm", "parameter/"+strings.TrimPrefix(t.MigrateNetworkParameter, "/"))}, notRun)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	read.Comment = "The task's subnets and security group: values AWS made, which the stack wrote to this parameter"
	read.ResultSelector = map[string]any{"json.$": "$.Parameter.Value"}
	read.ResultPath = "$.network"
	read.Next = "ParseNetwork"
	states["ReadNetwork"] = read
	states["ParseNetwork"] = &Pass{
		Parameters: map[string]any{"value.$": "States.StringToJson($.network.json)"},
		ResultPath: "$.network",
		Next:       "RunMigration",
	}

	states["RunMigration"] = &Task{
		Comment:  "Start the latest revision of the migrate task family and wait until it stops",
		Resource: ecsRunTaskSync,
		Parameters: map[string]any{
			"Cluster":         t.ECSClusterArn,
			"TaskDefinition":  t.MigrateTaskFamily,
			"LaunchType":      "FARGATE",
			"PlatformVersion": "LATEST",
			"Count":           1,
			"NetworkConfiguration": map[string]any{"AwsvpcConfiguration": map[string]any{
				"Subnets.$":        "$.network.value.subnets",
				"SecurityGroups.$": "$.network.value.securityGroups",
				"AssignPublicIp":   "DISABLED",
			}},
			"EnableECSManagedTags": true,
			"PropagateTags":        "TASK_DEFINITION",
		},
		ResultPath:     "$.migration",
		TimeoutSeconds: MigrateTaskTimeoutSeconds,
		Retry: []Retrier{{
			ErrorEquals: MigrateCapacityErrors, IntervalSeconds: 30, MaxAttempts: 6, BackoffRate: 2,
			MaxDelaySeconds: 300, JitterStrategy: "FULL",
		}},
		Catch:  catchAll(notRun),
		Next:   "MigrationExited",
		Policy: t.migratePermissions(),
	}
	states["MigrationExited"] = &Choice{
		Comment: "A task that never ran its container has no exit code: checked before it is compared",
		Choices: []ChoiceRule{next(isPresent("$.migration.Containers[0].ExitCode"), "MigrationExitCode")},
		Default: failed,
	}
	states["MigrationExitCode"] = &Choice{
		Choices: []ChoiceRule{next(numEq("$.migration.Containers[0].ExitCode", 0), "MigratedReport")},
		Default: failed,
	}
	states["MigratedReport"] = &Pass{
		Parameters: map[string]any{
			"runbook":       MigrateName,
			"outcome":       "MIGRATED",
			"requestedBy.$": "$.requestedBy",
			"executionId.$": "$$.Execution.Id",
			"startedAt.$":   "$$.Execution.StartTime",
			"taskArn.$":     "$.migration.TaskArn",
			"exitCode.$":    "$.migration.Containers[0].ExitCode",
		},
		ResultPath: "$.report",
		Next:       "Migrated",
	}
	states["Migrated"] = &Succeed{}

	return &StateMachine{
		Comment:        "trading-ha migrate: run the one-off schema task before the service rolls out; succeed only on exit code 0",
		StartAt:        "ValidateInput",
		TimeoutSeconds: MigrateTaskTimeoutSeconds + 600,
		States:         states,
	}, nil
}

// migratePermissions are what the run-a-job RunTask needs (Step Functions
// Developer Guide, "IAM policies for Amazon ECS/AWS Fargate", Run a Job
// (.sync), static resources): ecs:RunTask on the task definition, here
// every revision of the migrate family and only into our cluster
// (ecs:cluster, a condition key of RunTask, StopTask and DescribeTasks in
// the Service Authorization Reference); ecs:StopTask and ecs:DescribeTasks
// on the tasks it started, scoped to our cluster's tasks
// (task/<cluster>/<id>) where AWS's example uses "*"; the managed rule
// (ECSTaskEventsRule); and iam:PassRole on the task's execution role, to
// ECS tasks only.
func (t Targets) migratePermissions() []Permission {
	a := t.account()
	cluster := t.ECSClusterArn[strings.LastIndex(t.ECSClusterArn, "/")+1:]
	inCluster := map[string]map[string]any{"ArnEquals": {"ecs:cluster": t.ECSClusterArn}}
	return []Permission{
		{Actions: []string{"ecs:RunTask"}, Resources: []string{a.arn("ecs", "task-definition/"+t.MigrateTaskFamily+":*")}, Condition: inCluster},
		{Actions: []string{"ecs:DescribeTasks", "ecs:StopTask"}, Resources: []string{a.arn("ecs", "task/"+cluster+"/*")}},
		{Actions: []string{"events:DescribeRule", "events:PutRule", "events:PutTargets"}, Resources: []string{a.arn("events", "rule/"+ECSTaskEventsRule)}},
		{
			Actions: []string{"iam:PassRole"}, Resources: []string{t.MigrateExecutionRoleArn},
			Condition: map[string]map[string]any{"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
		},
	}
}

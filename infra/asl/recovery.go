package asl

import (
	"fmt"
	"strings"
)

// ServiceRecoveryName is the runbook name used in reports.
const ServiceRecoveryName = "service-recovery"

// deploymentPollSeconds is the interval between rollout polls.
const deploymentPollSeconds = 30

// The service recovery's lock is one item of the sessions table (see
// ServiceRecovery). LockPartitionKey and LockTTLAttribute must be that
// table's partition key and TTL attribute (infra/sessions.PartitionKey and
// TTLAttribute; tests/runbooks_test.go holds them equal — infra/asl is a
// leaf and cannot import the component).
const (
	LockPartitionKey = "session_id"
	LockTTLAttribute = "expires_at_epoch"
	// lockOwnerAttribute holds the execution ARN that holds the lock.
	lockOwnerAttribute = "lock_owner"
)

// LockLeaseState and KnownGoodState are the service recovery's JSONata
// states (the lock lease needs date arithmetic, the known-good choice a
// sort, neither of which JSONPath has). The local tests evaluate their
// Output with the jsonata library against the state's real input.
const (
	LockLeaseState = "ComputeLockLease"
	KnownGoodState = "FindKnownGood"
)

// ServiceRecoveryLockKey is the partition key value of the service's
// recovery lock item: one lock per ECS service.
func ServiceRecoveryLockKey(t Targets) string {
	return "runbook-lock#" + ServiceRecoveryName + "#" + t.ECSServiceArn
}

// ServiceRecovery builds the ECS service recovery runbook. Input:
// {"requestedBy": string, "reason"?: string}.
//
// One execution per service at a time. Step Functions has no concurrency
// limit for STANDARD executions, and ListExecutions is documented as
// eventually consistent ("the results are best effort and may not reflect
// very recent updates", Step Functions API reference, ListExecutions), so
// two executions started together could each miss the other. The runbook
// therefore takes a lock with a DynamoDB conditional PutItem (atomic) on
// an item of the sessions table keyed ServiceRecoveryLockKey: the put
// succeeds when no lock exists, when the lock's lease has expired, or when
// this execution already holds it (so a retried put is idempotent). The
// lease ends when the state machine's TimeoutSeconds would stop the holder,
// so an execution that could never release the lock (timed out, stopped)
// blocks no one past that; the item also carries the table's TTL attribute.
// A second execution gets ConditionalCheckFailedException and ends in
// AlreadyRunning without any ECS call. The holder releases the lock (a
// DeleteItem conditioned on its ownership) whatever the outcome: the work
// runs inside a one-branch Parallel whose Catch releases the lock and then
// fails with the branch's own error.
//
// The work: record the service (its task definition and its deployments),
// pick the last known-good task definition — the newest deployment whose
// rolloutState is COMPLETED ("when the service reaches a steady state, the
// deployment transitions to a COMPLETED state", ECS API reference,
// Deployment) — then force a new deployment of the current task definition
// and poll the PRIMARY deployment at most DeploymentTimeoutSeconds.
// COMPLETED with healthy targets succeeds and notifies. FAILED, a replaced
// deployment, a timeout, unhealthy targets or an API error roll back: if
// the service's PRIMARY deployment already runs the known-good task
// definition (the deployment circuit breaker's own rollback goes "to the
// last deployment that completed successfully", ECS API reference,
// DeploymentCircuitBreaker — the same definition), the runbook does not
// start another deployment; otherwise it calls UpdateService with the
// known-good task definition. Either way it waits, verifies target health
// and notifies, ending in a Fail state. With no COMPLETED deployment at the
// start there is nothing known-good: the runbook reports NOT_ROLLED_BACK.
func ServiceRecovery(t Targets) (*StateMachine, error) {
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("service recovery: %w", err)
	}
	timeout := t.DeploymentTimeoutSeconds + 1800
	states := map[string]State{}
	addInputValidation(states, `{"requestedBy": non-empty string, "reason"?: non-empty string}`, "Initialize",
		requiredString("$.requestedBy"), optionalString("$.reason"))
	states["Initialize"] = &Pass{
		Result:     map[string]any{"targetGroupNames": t.TargetGroupNames},
		ResultPath: "$.config",
		Next:       "Recover",
	}

	work, err := recoveryBranch(t, timeout)
	if err != nil {
		return nil, fmt.Errorf("service recovery: %w", err)
	}
	states["Recover"] = &Parallel{
		Comment:    "The whole recovery, so that every outcome passes through the lock release below",
		Branches:   []Branch{work},
		ResultPath: "$.recovery",
		Catch:      []Catcher{{ErrorEquals: []string{"States.ALL"}, Next: "ReleaseLockAfterFailure", ResultPath: "$.outcome"}},
		Next:       "LockWasHeld",
	}
	states["LockWasHeld"] = &Choice{
		Choices: []ChoiceRule{next(strEq("$.recovery[0].report.outcome", "ALREADY_RUNNING"), "AlreadyRunning")},
		Default: "ReleaseLock",
	}
	states["AlreadyRunning"] = &Succeed{Comment: "Another execution holds the service's recovery lock; this one changed nothing"}

	release := func(onDone string) (*Task, error) {
		task, err := lockTask(t, "DeleteItem", map[string]any{
			"TableName":           t.TableName,
			"Key":                 map[string]any{LockPartitionKey: map[string]any{"S": ServiceRecoveryLockKey(t)}},
			"ConditionExpression": lockOwnerAttribute + " = :owner",
			"ExpressionAttributeValues": map[string]any{
				":owner": map[string]any{"S.$": "$$.Execution.Id"},
			},
		}, onDone)
		if err != nil {
			return nil, err
		}
		task.Comment = "Release the lock if this execution holds it; a lock taken over after its lease is not touched"
		task.ResultSelector = map[string]any{"released": true}
		task.ResultPath = "$.lockRelease"
		task.Catch[0].ResultPath = "$.lockReleaseError"
		task.Next = onDone
		return task, nil
	}
	if states["ReleaseLock"], err = release("RecoveryComplete"); err != nil {
		return nil, fmt.Errorf("service recovery: %w", err)
	}
	states["RecoveryComplete"] = &Succeed{}
	if states["ReleaseLockAfterFailure"], err = release("RecoveryEnded"); err != nil {
		return nil, fmt.Errorf("service recovery: %w", err)
	}
	states["RecoveryEnded"] = &Fail{
		Comment:   "The recovery's own error (RolledBack, RollbackFailed, ...), after the lock release",
		ErrorPath: "$.outcome.Error",
		CausePath: "$.outcome.Cause",
	}

	return &StateMachine{
		Comment:        "trading-ha service recovery: one execution per service, force a new ECS deployment, roll back to the last known-good task definition on failure",
		StartAt:        "ValidateInput",
		TimeoutSeconds: timeout,
		States:         states,
	}, nil
}

// lockTask is a DynamoDB item call on the lock item. DynamoDB's own
// throttling and 5xx errors are retried (both lock calls are idempotent:
// the put accepts its own lock, the delete is conditioned on ownership).
// The role may write only the lock item of the sessions table
// (dynamodb:LeadingKeys) and use the table's key through DynamoDB only
// (kms:ViaService): the data key's policy delegates use through DynamoDB to
// IAM policies (infra/security), as for the service's task role.
func lockTask(t Targets, action string, params map[string]any, onError string) (*Task, error) {
	task, err := sdkTask("dynamodb", action, params, []string{t.TableArn}, onError)
	if err != nil {
		return nil, err
	}
	task.Policy[0].Condition = map[string]map[string]any{
		"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": []string{ServiceRecoveryLockKey(t)}},
	}
	task.Policy = append(task.Policy, t.dataKey([]string{"kms:Decrypt", "kms:GenerateDataKey"},
		map[string]map[string]any{"StringEquals": {"kms:ViaService": "dynamodb." + t.region() + ".amazonaws.com"}}))
	return task, nil
}

// LockLeaseExpression is the JSONata Output of LockLeaseState: the state
// input with lock = {key, owner (the execution ARN), now and expiresAt
// (epoch seconds, as strings for DynamoDB N values)}, expiresAt being the
// execution start plus leaseSeconds.
func LockLeaseExpression(key string, leaseSeconds int) string {
	return fmt.Sprintf("{%% ( $start := $floor($toMillis($states.context.Execution.StartTime) / 1000); "+
		"$merge([$states.input, {'lock': {'key': '%s', 'owner': $states.context.Execution.Id, "+
		"'now': $string($start), 'expiresAt': $string($start + %d)}}]) ) %%}",
		strings.ReplaceAll(key, "'", `\'`), leaseSeconds)
}

// KnownGoodExpression is the JSONata Output of KnownGoodState: the state
// input with knownGood = {found, taskDefinition, deploymentId} of the
// newest (by CreatedAt) deployment in before.deployments whose
// RolloutState is COMPLETED, or {found: false}.
func KnownGoodExpression() string {
	return "{% ( $done := $states.input.before.deployments[RolloutState = 'COMPLETED']; " +
		"$good := $count($done) > 0 ? $sort($done, function($a, $b) { $a.CreatedAt < $b.CreatedAt })[0] : null; " +
		"$merge([$states.input, {'knownGood': $exists($good.TaskDefinition) " +
		"? {'found': true, 'taskDefinition': $good.TaskDefinition, 'deploymentId': $good.Id, 'status': $good.Status} " +
		": {'found': false}}]) ) %}"
}

// recoveryBranch is the recovery proper, run inside the Recover Parallel.
func recoveryBranch(t Targets, leaseSeconds int) (Branch, error) {
	states := map[string]State{}
	svc := []string{t.ECSServiceArn}
	lockFailed := addFailurePath(states, ServiceRecoveryName, t.TopicArn, "LockFailed", "LOCK_FAILED",
		"could not take the service's recovery lock; the service was not changed", "ServiceRecovery.LockFailed")
	errorEntry := addFailurePath(states, ServiceRecoveryName, t.TopicArn, "RecoveryFailed", "FAILED",
		"could not read the service before changing it", "ServiceRecovery.Failed")

	// --- one execution per service ---
	states[LockLeaseState] = &Pass{
		Comment:       "The lock item's key, owner and lease (execution start + the machine's TimeoutSeconds)",
		QueryLanguage: "JSONata",
		Output:        LockLeaseExpression(ServiceRecoveryLockKey(t), leaseSeconds),
		Next:          "AcquireLock",
	}
	acquire, err := lockTask(t, "PutItem", map[string]any{
		"TableName": t.TableName,
		"Item": map[string]any{
			LockPartitionKey:   map[string]any{"S.$": "$.lock.key"},
			lockOwnerAttribute: map[string]any{"S.$": "$.lock.owner"},
			LockTTLAttribute:   map[string]any{"N.$": "$.lock.expiresAt"},
			"requested_by":     map[string]any{"S.$": "$.requestedBy"},
		},
		"ConditionExpression": fmt.Sprintf("attribute_not_exists(%s) OR %s < :now OR %s = :owner",
			LockPartitionKey, LockTTLAttribute, lockOwnerAttribute),
		"ExpressionAttributeValues": map[string]any{
			":now":   map[string]any{"N.$": "$.lock.now"},
			":owner": map[string]any{"S.$": "$.lock.owner"},
		},
	}, lockFailed)
	if err != nil {
		return Branch{}, err
	}
	// AWS SDK integration errors are named <Service>.<Exception>
	// (Step Functions developer guide, AWS SDK service integrations);
	// PutItem's failed condition is ConditionalCheckFailedException.
	acquire.Catch = append([]Catcher{{
		ErrorEquals: []string{"DynamoDb.ConditionalCheckFailedException"}, Next: "AlreadyRunningReport", ResultPath: "$.lockHeldBy",
	}}, acquire.Catch...)
	acquire.ResultSelector = map[string]any{"held": true}
	acquire.ResultPath = "$.lockState"
	acquire.Next = "RecordTaskDefinition"
	states["AcquireLock"] = acquire
	states["AlreadyRunningReport"] = &Pass{
		Parameters: map[string]any{
			"runbook":       ServiceRecoveryName,
			"outcome":       "ALREADY_RUNNING",
			"requestedBy.$": "$.requestedBy",
			"executionId.$": "$$.Execution.Id",
			"lock.$":        "$.lock.key",
		},
		ResultPath: "$.report",
		Next:       "ExitAlreadyRunning",
	}
	states["ExitAlreadyRunning"] = &Succeed{Comment: "Another execution is recovering this service"}

	// --- record the service and its last known-good task definition ---
	record, err := sdkTask("ecs", "DescribeServices", map[string]any{
		"Cluster": t.ECSClusterArn, "Services": []string{t.ECSServiceName},
	}, svc, errorEntry)
	if err != nil {
		return Branch{}, err
	}
	record.ResultSelector = map[string]any{
		"taskDefinition.$": "$.Services[0].TaskDefinition",
		"desiredCount.$":   "$.Services[0].DesiredCount",
		"deployments.$":    "$.Services[0].Deployments",
	}
	record.ResultPath = "$.before"
	record.Next = KnownGoodState
	states["RecordTaskDefinition"] = record
	states[KnownGoodState] = &Pass{
		Comment:       "The newest COMPLETED deployment's task definition: what ECS last saw steady",
		QueryLanguage: "JSONata",
		Output:        KnownGoodExpression(),
		Next:          "ForceNewDeployment",
	}

	markFailure := func(name, reason, nextState string) {
		states[name] = &Pass{Result: map[string]any{"reason": reason}, ResultPath: "$.failure", Next: nextState}
	}
	markFailure("DeploymentError", "an API call failed during the deployment", "ChooseRollback")
	markFailure("DeploymentFailed", "the deployment failed or was replaced (circuit breaker)", "ChooseRollback")
	markFailure("DeploymentTimedOut", fmt.Sprintf("the deployment did not complete within %d seconds", t.DeploymentTimeoutSeconds), "ChooseRollback")
	markFailure("TargetsUnhealthy", "the new deployment's targets are not healthy", "ChooseRollback")

	deploy, err := sdkTask("ecs", "UpdateService", map[string]any{
		"Cluster": t.ECSClusterArn, "Service": t.ECSServiceName, "ForceNewDeployment": true,
	}, svc, "DeploymentError")
	if err != nil {
		return Branch{}, err
	}
	// Every accepted forceNewDeployment starts a deployment: a retry after a
	// server error that was in fact applied would start a second one.
	// Retry throttling only (a throttled request was not applied).
	deploy.Retry = retryPolicy([]string{"Ecs.ThrottlingException"})
	deploy.ResultSelector = map[string]any{"primaryIds.$": "$.Service.Deployments[?(@.Status == 'PRIMARY')].Id"}
	deploy.ResultPath = "$.deployment"
	deploy.Next = "InitDeploymentPoll"
	states["ForceNewDeployment"] = deploy
	states["InitDeploymentPoll"] = &Pass{Result: map[string]any{"attempt": 0}, ResultPath: "$.poll", Next: "WaitForDeployment"}
	states["WaitForDeployment"] = &Wait{Seconds: deploymentPollSeconds, Next: "DescribeDeployment"}

	poll, err := sdkTask("ecs", "DescribeServices", map[string]any{
		"Cluster": t.ECSClusterArn, "Services": []string{t.ECSServiceName},
	}, svc, "DeploymentError")
	if err != nil {
		return Branch{}, err
	}
	poll.ResultSelector = map[string]any{"primary.$": "$.Services[0].Deployments[?(@.Status == 'PRIMARY')]"}
	poll.ResultPath = "$.rollout"
	poll.Next = "DeploymentState"
	states["DescribeDeployment"] = poll

	ours := ChoiceRule{Variable: "$.rollout.primary[0].Id", StringEqualsPath: "$.deployment.primaryIds[0]"}
	states["DeploymentState"] = &Choice{
		Choices: []ChoiceRule{
			next(or(not(ours), strEq("$.rollout.primary[0].RolloutState", "FAILED")), "DeploymentFailed"),
			next(strEq("$.rollout.primary[0].RolloutState", "COMPLETED"), "SrResolveTargetGroups"),
		},
		Default: "CountDeploymentPoll",
	}
	states["CountDeploymentPoll"] = &Pass{
		Parameters: map[string]any{"attempt.$": "States.MathAdd($.poll.attempt, 1)"},
		ResultPath: "$.poll",
		Next:       "DeploymentPollBudget",
	}
	states["DeploymentPollBudget"] = &Choice{
		Choices: []ChoiceRule{next(numGte("$.poll.attempt", float64(pollAttempts(t.DeploymentTimeoutSeconds, deploymentPollSeconds))), "DeploymentTimedOut")},
		Default: "WaitForDeployment",
	}
	if _, err := addTargetHealthCheck(states, "Sr", "targetHealth", t.TargetGroupNames,
		"RecoveredReport", "TargetsUnhealthy", "DeploymentError"); err != nil {
		return Branch{}, err
	}
	states["RecoveredReport"] = &Pass{
		Parameters: map[string]any{
			"runbook":                  ServiceRecoveryName,
			"outcome":                  "RECOVERED",
			"requestedBy.$":            "$.requestedBy",
			"executionId.$":            "$$.Execution.Id",
			"previousTaskDefinition.$": "$.before.taskDefinition",
			"knownGood.$":              "$.knownGood",
			"targetHealth.$":           "$.targetHealth",
		},
		ResultPath: "$.report",
		Next:       "NotifyRecovered",
	}
	states["NotifyRecovered"] = notifyTask(t.TopicArn, subject(ServiceRecoveryName, "RECOVERED"), "$.report", "Recovered", "NotificationFailed")
	states["Recovered"] = &Succeed{}

	// --- roll back to the last known-good task definition ---
	noKnownGood := addFailurePath(states, ServiceRecoveryName, t.TopicArn, "NoKnownGood", "NOT_ROLLED_BACK",
		"the recovery failed and no deployment of the service had reached COMPLETED when the runbook started: "+
			"there is no known-good task definition to roll back to", "ServiceRecovery.NoKnownGood")
	states["ChooseRollback"] = &Choice{
		Choices: []ChoiceRule{next(boolEq("$.knownGood.found", true), "RbDescribeService")},
		Default: noKnownGood,
	}
	current, err := sdkTask("ecs", "DescribeServices", map[string]any{
		"Cluster": t.ECSClusterArn, "Services": []string{t.ECSServiceName},
	}, svc, "RollBack")
	if err != nil {
		return Branch{}, err
	}
	current.Comment = "Which task definition the PRIMARY deployment runs now (after a circuit breaker rollback, the known-good one)"
	current.ResultSelector = map[string]any{"primary.$": "$.Services[0].Deployments[?(@.Status == 'PRIMARY')].TaskDefinition"}
	current.ResultPath = "$.current"
	current.Catch[0].ResultPath = "$.currentError"
	current.Next = "RbHasPrimary"
	states["RbDescribeService"] = current
	states["RbHasPrimary"] = &Choice{
		Choices: []ChoiceRule{next(isPresent("$.current.primary[0]"), "RbOnKnownGood")},
		Default: "RollBack",
	}
	states["RbOnKnownGood"] = &Choice{
		Choices: []ChoiceRule{next(ChoiceRule{Variable: "$.current.primary[0]", StringEqualsPath: "$.knownGood.taskDefinition"}, "AlreadyOnKnownGood")},
		Default: "RollBack",
	}
	states["AlreadyOnKnownGood"] = &Pass{
		Comment: "ECS (circuit breaker) already deploys the known-good task definition: no second deployment",
		Parameters: map[string]any{
			"taskDefinition.$": "$.knownGood.taskDefinition",
			"updatedService":   false,
		},
		ResultPath: "$.rollback",
		Next:       "WaitForRollback",
	}
	rollback, err := sdkTask("ecs", "UpdateService", map[string]any{
		"Cluster": t.ECSClusterArn, "Service": t.ECSServiceName,
		"TaskDefinition.$": "$.knownGood.taskDefinition",
	}, svc, "RollbackFailedReport")
	if err != nil {
		return Branch{}, err
	}
	// A deployment is a side effect: retry throttling only, as above.
	rollback.Retry = retryPolicy([]string{"Ecs.ThrottlingException"})
	// UpdateService with a task definition hands its task role and
	// execution role to ECS, which needs iam:PassRole on both ("to pass a
	// role to an AWS service, a user must have permissions to pass the
	// role", IAM user guide, id_roles_use_passrole), scoped to ECS tasks,
	// the service principal those roles trust.
	rollback.Policy = append(rollback.Policy, Permission{
		Actions:   []string{"iam:PassRole"},
		Resources: []string{t.TaskRoleArn, t.ExecutionRoleArn},
		Condition: map[string]map[string]any{"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
	})
	rollback.ResultSelector = map[string]any{"taskDefinition.$": "$.Service.TaskDefinition", "updatedService": true}
	rollback.ResultPath = "$.rollback"
	rollback.Next = "WaitForRollback"
	states["RollBack"] = rollback
	states["WaitForRollback"] = &Wait{Seconds: 60, Next: "RbResolveTargetGroups"}
	addFailurePath(states, ServiceRecoveryName, t.TopicArn, "RollbackFailed", "ROLLBACK_FAILED",
		"the rollback to the last known-good task definition failed", "ServiceRecovery.RollbackFailed")
	addFailurePath(states, ServiceRecoveryName, t.TopicArn, "RolledBack", "ROLLED_BACK",
		"$.failure.reason", "ServiceRecovery.RolledBack")
	addFailurePath(states, ServiceRecoveryName, t.TopicArn, "RolledBackUnhealthy", "ROLLED_BACK_UNHEALTHY",
		"$.failure.reason", "ServiceRecovery.RolledBackUnhealthy")
	if _, err := addTargetHealthCheck(states, "Rb", "rollbackHealth", t.TargetGroupNames,
		"RolledBackReport", "RolledBackUnhealthyReport", "RolledBackUnhealthyReport"); err != nil {
		return Branch{}, err
	}
	return Branch{StartAt: LockLeaseState, States: states}, nil
}

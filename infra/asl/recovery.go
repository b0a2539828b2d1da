package asl

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ServiceRecoveryName is the runbook name used in reports.
const ServiceRecoveryName = "service-recovery"

// recoveryPollSeconds is the interval between checks of the customer
// signal after a rollback.
const recoveryPollSeconds = 30

// RecentDeploymentMinutes is N: the service recovery rolls back only when
// the customer impact started at most this many minutes after the
// service's PRIMARY deployment was created. It covers a rollout (bounded by
// deploymentTimeoutSeconds, 15 min by default) plus ECS's bake time and the
// alarms' own detection; impact that starts later is not attributed to the
// deployment (a new version that served customers for half an hour is
// unlikely to be the cause, and rolling it back would undo a good change).
const RecentDeploymentMinutes = 30

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

// LockLeaseState and JudgeState are the service recovery's JSONata states
// (the lock lease needs date arithmetic, the judgement date arithmetic, a
// sort and set membership, none of which JSONPath has). The local tests
// evaluate their Output with the jsonata library against the state's real
// input.
const (
	LockLeaseState = "ComputeLockLease"
	JudgeState     = "Judge"
)

// Service recovery outcomes. Only RollingBack leads to a change; the
// others are reported and the runbook ends without touching the service.
const (
	// OutcomeRecovered: the runbook rolled back and every customer-impact
	// alarm was OK again within the bound.
	OutcomeRecovered = "RECOVERED"
	// OutcomeNotRecovered: the runbook rolled back and customers are still
	// affected at the bound (pages).
	OutcomeNotRecovered = "NOT_RECOVERED"
	// OutcomeNewerDeployment: a deployment newer than the one judged (or
	// than the runbook's rollback) appeared; it is left alone.
	OutcomeNewerDeployment = "NEWER_DEPLOYMENT"
	// OutcomeNoCustomerImpact: no customer-impact alarm is in ALARM.
	OutcomeNoCustomerImpact = "NO_CUSTOMER_IMPACT"
	// OutcomeECSRolledBack: ECS (deployment alarms or circuit breaker)
	// already failed the deployment and rolls it back.
	OutcomeECSRolledBack = "ECS_ROLLED_BACK"
	// OutcomeDependencyOutage: a dependency alarm is in ALARM.
	OutcomeDependencyOutage = "DEPENDENCY_OUTAGE"
	// OutcomeAZImpaired: some, not all, per-AZ healthy-host alarms are in ALARM.
	OutcomeAZImpaired = "AZ_IMPAIRED"
	// OutcomeDeploymentInProgress: the PRIMARY deployment is still rolling
	// out; ECS's deployment alarms judge it.
	OutcomeDeploymentInProgress = "DEPLOYMENT_IN_PROGRESS"
	// OutcomeNoRecentDeployment: no deployment was created within
	// RecentDeploymentMinutes before the impact started.
	OutcomeNoRecentDeployment = "NO_RECENT_DEPLOYMENT"
	// OutcomeNoHealthyPrevious: the deployment list holds no earlier
	// COMPLETED deployment of another task definition.
	OutcomeNoHealthyPrevious = "NO_HEALTHY_PREVIOUS"
	// judgeRollBack is the judgement's outcome when it rolls back.
	judgeRollBack = "ROLL_BACK"
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
// The work acts only where a rollback can help. It reads the service's
// deployments (ECS DescribeServices) and the customer-impact, dependency
// and per-AZ alarms (CloudWatch DescribeAlarms, metric alarms), and Judge
// decides, in this order: no customer-impact alarm in ALARM
// (NO_CUSTOMER_IMPACT); ECS already failed the deployment and rolls it back
// — a FAILED deployment or a rollout reason that says so (ECS_ROLLED_BACK;
// ECS deployment alarms and the circuit breaker roll back "to the last
// deployment that completed successfully", ECS API Reference,
// DeploymentAlarms); a dependency alarm in ALARM (DEPENDENCY_OUTAGE); some
// but not all per-AZ healthy-host alarms in ALARM (AZ_IMPAIRED: the ALB and
// ECS recover an AZ, a new task definition does not); the PRIMARY
// deployment still IN_PROGRESS (DEPLOYMENT_IN_PROGRESS: ECS's deployment
// alarms judge a rollout and its bake time); the impact (the earliest
// StateTransitionedTimestamp of a customer-impact alarm in ALARM) did not
// start within RecentDeploymentMinutes after the PRIMARY deployment was
// created (NO_RECENT_DEPLOYMENT); no earlier deployment of another task
// definition reached COMPLETED ("when the service reaches a steady state,
// the deployment transitions to a COMPLETED state", ECS API Reference,
// Deployment) in the deployment list (NO_HEALTHY_PREVIOUS). Each of those
// is reported and the service is not touched. Otherwise the runbook reads
// the service again and rolls back (UpdateService with the previous task
// definition) only if the PRIMARY deployment is still the one it judged,
// else NEWER_DEPLOYMENT; then it polls, at most DeploymentTimeoutSeconds,
// the service (a PRIMARY deployment other than its rollback's: stop,
// NEWER_DEPLOYMENT, the newer one is left alone) and the customer-impact
// alarms: all OK is RECOVERED, still in ALARM at the bound is
// NOT_RECOVERED, published to the paging topic, and the execution fails.
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
		Comment:   "The recovery's own error (NotRecovered, RollbackFailed, ...), after the lock release",
		ErrorPath: "$.outcome.Error",
		CausePath: "$.outcome.Cause",
	}

	return &StateMachine{
		Comment:        "trading-ha service recovery: one execution per service; roll back to the previous healthy task definition only when customer impact follows a recent deployment, otherwise report why not",
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

// JudgementExpression is the JSONata Output of JudgeState: the state input
// with judgement = {action ("ROLL_BACK" or "NONE"), outcome, reason, the
// alarms in ALARM by kind, impactStartedAt, the PRIMARY deployment (id,
// task definition, createdAt, rolloutState) and, for a rollback, the
// previous task definition}. It reads service.deployments (DescribeServices)
// and alarms.metricAlarms (DescribeAlarms); see ServiceRecovery for the
// order of the rules.
func JudgementExpression(t Targets) (string, error) {
	list := func(names []string) (string, error) {
		if names == nil {
			names = []string{}
		}
		b, err := json.Marshal(names)
		if err != nil {
			return "", fmt.Errorf("judgement: %w", err)
		}
		return string(b), nil
	}
	customer, err := list(t.CustomerImpactAlarmNames)
	if err != nil {
		return "", err
	}
	dependency, err := list(t.DependencyAlarmNames)
	if err != nil {
		return "", err
	}
	zonal, err := list(t.ZonalAlarmNames)
	if err != nil {
		return "", err
	}
	none := func(outcome, reason string) string {
		return fmt.Sprintf("{'action': 'NONE', 'outcome': '%s', 'reason': %s}", outcome, reason)
	}
	return "{% ( $in := $states.input; " +
		"$alarms := [$in.alarms.metricAlarms]; " +
		"$firing := function($names) { [$alarms[StateValue = 'ALARM' and AlarmName in $names]] }; " +
		"$customer := $firing(" + customer + "); " +
		"$dependency := $firing(" + dependency + "); " +
		"$zonal := $firing(" + zonal + "); " +
		"$since := function($a) { $toMillis($exists($a.StateTransitionedTimestamp) ? $a.StateTransitionedTimestamp : $a.StateUpdatedTimestamp) }; " +
		"$impactMs := $count($customer) > 0 ? $min($map($customer, $since)) : null; " +
		"$deps := [$in.service.deployments]; " +
		"$primary := $deps[Status = 'PRIMARY'][0]; " +
		"$earlier := [$deps[Status != 'PRIMARY' and RolloutState = 'COMPLETED' and TaskDefinition != $primary.TaskDefinition]]; " +
		"$previous := $count($earlier) > 0 ? $sort($earlier, function($a, $b) { $toMillis($a.CreatedAt) < $toMillis($b.CreatedAt) })[0] : null; " +
		"$ecsRollback := $count([$deps[RolloutState = 'FAILED']]) > 0 or " +
		"($exists($primary.RolloutStateReason) and $contains($primary.RolloutStateReason, /roll(ing|ed)? ?back/i)); " +
		"$age := $exists($primary.CreatedAt) and $impactMs != null ? $impactMs - $toMillis($primary.CreatedAt) : null; " +
		fmt.Sprintf("$window := %d * 60000; ", RecentDeploymentMinutes) +
		"$verdict := $count($customer) = 0 ? " + none(OutcomeNoCustomerImpact, "'no customer-impact alarm is in ALARM; nothing to recover'") + " : " +
		"$ecsRollback ? " + none(OutcomeECSRolledBack, "'ECS failed the deployment (deployment alarms or circuit breaker) and rolls it back itself: ' & $string($primary.RolloutStateReason)") + " : " +
		"$count($dependency) > 0 ? " + none(OutcomeDependencyOutage, "'a dependency alarm is in ALARM; a rollback cannot fix a dependency and would only add churn'") + " : " +
		fmt.Sprintf("($count($zonal) > 0 and $count($zonal) < %d) ? ", len(t.ZonalAlarmNames)) +
		none(OutcomeAZImpaired, "'an availability zone has no healthy task; the ALB and ECS recover an AZ, a rollback does not'") + " : " +
		"$not($exists($primary)) ? " + none(OutcomeNoRecentDeployment, "'the service has no PRIMARY deployment'") + " : " +
		"$primary.RolloutState = 'IN_PROGRESS' ? " + none(OutcomeDeploymentInProgress, "'the PRIMARY deployment is still rolling out; ECS deployment alarms judge it'") + " : " +
		"($age = null or $age < 0 or $age > $window) ? " + none(OutcomeNoRecentDeployment,
		fmt.Sprintf("'the impact did not start within %d minutes after the PRIMARY deployment was created'", RecentDeploymentMinutes)) + " : " +
		"$count($earlier) = 0 ? " + none(OutcomeNoHealthyPrevious, "'no earlier deployment of another task definition reached COMPLETED in the deployment list'") + " : " +
		"{'action': '" + judgeRollBack + "', 'outcome': 'ROLLING_BACK', " +
		"'reason': 'customer impact started within the window after the PRIMARY deployment; rolling back to the previous COMPLETED task definition', " +
		"'previousTaskDefinition': $previous.TaskDefinition, 'previousDeploymentId': $previous.Id}; " +
		"$merge([$in, {'judgement': $merge([{" +
		"'customerAlarms': [$customer.AlarmName], 'dependencyAlarms': [$dependency.AlarmName], 'zonalAlarms': [$zonal.AlarmName], " +
		"'impactStartedAt': $impactMs != null ? $fromMillis($impactMs) : null, " +
		"'deploymentId': $primary.Id, 'taskDefinition': $primary.TaskDefinition, 'deploymentCreatedAt': $primary.CreatedAt, " +
		"'rolloutState': $primary.RolloutState, " + fmt.Sprintf("'windowMinutes': %d", RecentDeploymentMinutes) +
		"}, $verdict])}]) ) %}", nil
}

// recoveryBranch is the recovery proper, run inside the Recover Parallel.
func recoveryBranch(t Targets, leaseSeconds int) (Branch, error) {
	states := map[string]State{}
	svc := []string{t.ECSServiceArn}
	lockFailed := addFailurePath(states, ServiceRecoveryName, t.TopicArn, "LockFailed", "LOCK_FAILED",
		"could not take the service's recovery lock; the service was not changed", "ServiceRecovery.LockFailed")
	errorEntry := addFailurePath(states, ServiceRecoveryName, t.TopicArn, "RecoveryFailed", "FAILED",
		"could not read the service or its alarms; the service was not changed", "ServiceRecovery.Failed")

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
	acquire.Next = "DescribeService"
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

	// --- read the service and the alarms, then judge ---
	describe := func(name, onError string, selector map[string]any, resultPath, nextState string) error {
		task, err := sdkTask("ecs", "DescribeServices", map[string]any{
			"Cluster": t.ECSClusterArn, "Services": []string{t.ECSServiceName},
		}, svc, onError)
		if err != nil {
			return err
		}
		task.ResultSelector, task.ResultPath, task.Next = selector, resultPath, nextState
		states[name] = task
		return nil
	}
	if err := describe("DescribeService", errorEntry, map[string]any{
		"taskDefinition.$": "$.Services[0].TaskDefinition",
		"deployments.$":    "$.Services[0].Deployments",
	}, "$.service", "ReadAlarms"); err != nil {
		return Branch{}, err
	}
	judged := append(append(append([]string{}, t.CustomerImpactAlarmNames...), t.DependencyAlarmNames...), t.ZonalAlarmNames...)
	alarms, err := sdkTask("cloudwatch", "DescribeAlarms", map[string]any{
		"AlarmNames": judged,
		"AlarmTypes": []string{"MetricAlarm"},
	}, t.alarmArnsOf(judged), errorEntry)
	if err != nil {
		return Branch{}, err
	}
	alarms.Comment = "Customer-impact, dependency and per-AZ metric alarms: their states and when they changed"
	alarms.ResultSelector = map[string]any{"metricAlarms.$": "$.MetricAlarms"}
	alarms.ResultPath = "$.alarms"
	alarms.Next = JudgeState
	states["ReadAlarms"] = alarms
	judgement, err := JudgementExpression(t)
	if err != nil {
		return Branch{}, err
	}
	states[JudgeState] = &Pass{
		Comment:       fmt.Sprintf("Roll back only when the impact started within %d minutes after the PRIMARY deployment and a previous COMPLETED version exists", RecentDeploymentMinutes),
		QueryLanguage: "JSONata",
		Output:        judgement,
		Next:          "Decide",
	}
	states["Decide"] = &Choice{
		Choices: []ChoiceRule{next(strEq("$.judgement.action", judgeRollBack), "ConfirmJudgedDeployment")},
		Default: "NoActionReport",
	}
	states["NoActionReport"] = &Pass{
		Parameters: map[string]any{
			"runbook":       ServiceRecoveryName,
			"outcome.$":     "$.judgement.outcome",
			"reason.$":      "$.judgement.reason",
			"requestedBy.$": "$.requestedBy",
			"executionId.$": "$$.Execution.Id",
			"judgement.$":   "$.judgement",
		},
		ResultPath: "$.report",
		Next:       "NotifyNoAction",
	}
	states["NotifyNoAction"] = notifyTask(t.TopicArn, subject(ServiceRecoveryName, "NO_ACTION"), "$.report", "NoAction", "NotificationFailed")
	states["NoAction"] = &Succeed{Comment: "A rollback would not help; the report says why and the service was not changed"}

	// --- never undo a newer deployment ---
	if err := describe("ConfirmJudgedDeployment", errorEntry, map[string]any{
		"primaryIds.$": "$.Services[0].Deployments[?(@.Status == 'PRIMARY')].Id",
	}, "$.confirm", "StillJudgedDeployment"); err != nil {
		return Branch{}, err
	}
	states["StillJudgedDeployment"] = &Choice{
		Choices: []ChoiceRule{next(ChoiceRule{Variable: "$.confirm.primaryIds[0]", StringEqualsPath: "$.judgement.deploymentId"}, "RollBack")},
		Default: "NewerBeforeRollbackReport",
	}
	newer := func(name, reason string) {
		states[name] = &Pass{
			Parameters: map[string]any{
				"runbook":       ServiceRecoveryName,
				"outcome":       OutcomeNewerDeployment,
				"reason":        reason,
				"requestedBy.$": "$.requestedBy",
				"executionId.$": "$$.Execution.Id",
				"judgement.$":   "$.judgement",
			},
			ResultPath: "$.report",
			Next:       "NotifyNewerDeployment",
		}
	}
	newer("NewerBeforeRollbackReport", "a deployment newer than the one judged appeared before the rollback; it is left alone")
	newer("NewerDuringWatchReport", "a deployment newer than the runbook's rollback appeared while it watched; it is left alone")
	states["NotifyNewerDeployment"] = notifyTask(t.TopicArn, subject(ServiceRecoveryName, OutcomeNewerDeployment), "$.report", "LeftAlone", "NotificationFailed")
	states["LeftAlone"] = &Succeed{Comment: "Someone deployed after the judged deployment; the runbook does not undo it"}

	// --- roll back to the previous task definition ---
	rollbackFailed := addFailurePath(states, ServiceRecoveryName, t.PageTopicArn, "RollbackFailed", "ROLLBACK_FAILED",
		"the rollback to the previous task definition failed; customers are affected", "ServiceRecovery.RollbackFailed")
	rollback, err := sdkTask("ecs", "UpdateService", map[string]any{
		"Cluster": t.ECSClusterArn, "Service": t.ECSServiceName,
		"TaskDefinition.$": "$.judgement.previousTaskDefinition",
	}, svc, rollbackFailed)
	if err != nil {
		return Branch{}, err
	}
	// Every accepted update starts a deployment: a retry after a server
	// error that was in fact applied would start a second one. Retry
	// throttling only (a throttled request was not applied).
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
	rollback.ResultSelector = map[string]any{
		"taskDefinition.$": "$.Service.TaskDefinition",
		"deploymentIds.$":  "$.Service.Deployments[?(@.Status == 'PRIMARY')].Id",
	}
	rollback.ResultPath = "$.rollback"
	rollback.Next = "InitWatch"
	states["RollBack"] = rollback

	// --- watch the customer signal, never past a newer deployment ---
	watchFailed := addFailurePath(states, ServiceRecoveryName, t.PageTopicArn, "WatchFailed", OutcomeNotRecovered,
		"the runbook rolled back but could not read the service or the alarms afterwards; recovery is not confirmed", "ServiceRecovery.NotRecovered")
	notRecovered := addFailurePath(states, ServiceRecoveryName, t.PageTopicArn, "NotRecovered", OutcomeNotRecovered,
		fmt.Sprintf("customer-impact alarms are still in ALARM %d seconds after the rollback", t.DeploymentTimeoutSeconds), "ServiceRecovery.NotRecovered")
	states["InitWatch"] = &Pass{Result: map[string]any{"attempt": 0}, ResultPath: "$.poll", Next: "WaitForRecovery"}
	states["WaitForRecovery"] = &Wait{Seconds: recoveryPollSeconds, Next: "WatchService"}
	if err := describe("WatchService", watchFailed, map[string]any{
		"primaryIds.$": "$.Services[0].Deployments[?(@.Status == 'PRIMARY')].Id",
	}, "$.watch", "StillOurRollback"); err != nil {
		return Branch{}, err
	}
	states["StillOurRollback"] = &Choice{
		Choices: []ChoiceRule{next(ChoiceRule{Variable: "$.watch.primaryIds[0]", StringEqualsPath: "$.rollback.deploymentIds[0]"}, "WatchAlarms")},
		Default: "NewerDuringWatchReport",
	}
	signal, err := sdkTask("cloudwatch", "DescribeAlarms", map[string]any{
		"AlarmNames": t.CustomerImpactAlarmNames,
		"AlarmTypes": []string{"MetricAlarm"},
		"StateValue": "ALARM",
	}, t.alarmArnsOf(t.CustomerImpactAlarmNames), watchFailed)
	if err != nil {
		return Branch{}, err
	}
	signal.Comment = "The customer signal: the composite's members still in ALARM"
	signal.ResultSelector = map[string]any{
		"inAlarm.$": "States.ArrayLength($.MetricAlarms)",
		"alarms.$":  "$.MetricAlarms",
	}
	signal.ResultPath = "$.signal"
	signal.Next = "CustomersRecovered"
	states["WatchAlarms"] = signal
	states["CustomersRecovered"] = &Choice{
		Choices: []ChoiceRule{next(numEq("$.signal.inAlarm", 0), "RecoveredReport")},
		Default: "CountRecoveryPoll",
	}
	addPollBudget(states, "Recovery", t.DeploymentTimeoutSeconds, recoveryPollSeconds, notRecovered, "WaitForRecovery")
	states["RecoveredReport"] = &Pass{
		Parameters: map[string]any{
			"runbook":       ServiceRecoveryName,
			"outcome":       OutcomeRecovered,
			"requestedBy.$": "$.requestedBy",
			"executionId.$": "$$.Execution.Id",
			"judgement.$":   "$.judgement",
			"rollback.$":    "$.rollback",
		},
		ResultPath: "$.report",
		Next:       "NotifyRecovered",
	}
	states["NotifyRecovered"] = notifyTask(t.TopicArn, subject(ServiceRecoveryName, OutcomeRecovered), "$.report", "Recovered", "NotificationFailed")
	states["Recovered"] = &Succeed{}
	return Branch{StartAt: LockLeaseState, States: states}, nil
}

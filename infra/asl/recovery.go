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

// LockLeaseState, JudgeState, HistoryState and PreviousState are the
// service recovery's JSONata states (the lock lease needs date arithmetic,
// the judgement date arithmetic and set membership, the history a sort and
// a de-duplication, the choice of the previous version a join of two API
// results, none of which JSONPath has). The local tests evaluate their
// Output with the jsonata library against the state's real input.
const (
	LockLeaseState = "ComputeLockLease"
	JudgeState     = "Judge"
	HistoryState   = "CollectHistory"
	PreviousState  = "ChoosePrevious"
)

// The previous healthy version comes from ECS's service deployment
// history, not from DescribeServices: a service's deployments list is "the
// current state of deployments for the service", and a deployment that "has
// been completely replaced" is INACTIVE (ECS API Reference, Service and
// Deployment), so once a rollout completed DescribeServices shows the
// PRIMARY deployment only. ListServiceDeployments lists the service's
// deployments with their status and target service revision (ECS API
// Reference, ListServiceDeployments, ServiceDeploymentBrief) and
// DescribeServiceRevisions gives each revision's task definition (ECS API
// Reference, DescribeServiceRevisions, ServiceRevision).
const (
	// historyPageSize is ListServiceDeployments' maxResults: "between 1
	// and 100" (ECS API Reference, ListServiceDeployments).
	historyPageSize = 100
	// HistoryMaxPages bounds the pages of SUCCESSFUL deployments read. The
	// API does not document the order of its results, so the runbook reads
	// every page and sorts by createdAt; a history longer than this many
	// pages is not guessed at (NO_HEALTHY_PREVIOUS).
	HistoryMaxPages = 10
	// HistoryRevisions is how many of the newest distinct target revisions
	// created before the PRIMARY deployment are described: at most 20 ARNs
	// per DescribeServiceRevisions call (ECS API Reference,
	// DescribeServiceRevisions, serviceRevisionArns).
	HistoryRevisions = 20
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
	// OutcomeNoHealthyPrevious: the service's deployment history holds no
	// SUCCESSFUL deployment, created before the PRIMARY one, of another
	// task definition (or is longer than HistoryMaxPages pages).
	OutcomeNoHealthyPrevious = "NO_HEALTHY_PREVIOUS"
	// judgeRollBack is the judgement's action when it rolls back.
	judgeRollBack = "ROLL_BACK"
	// judgeFindPrevious is Judge's action when every rule allows a
	// rollback: the deployment history decides whether there is a version
	// to roll back to (PreviousState).
	judgeFindPrevious = "FIND_PREVIOUS"
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
// current deployments (ECS DescribeServices) and the customer-impact,
// dependency and per-AZ alarms (CloudWatch DescribeAlarms, metric alarms),
// and Judge decides, in this order: no customer-impact alarm in ALARM
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
// created (NO_RECENT_DEPLOYMENT). Each of those is reported and the service
// is not touched. Otherwise the previous healthy version is looked up in
// the service's deployment history: every page of ListServiceDeployments
// with status SUCCESSFUL (a completed deployment that was not rolled back:
// one that ECS rolled back ends ROLLBACK_SUCCESSFUL or ROLLBACK_FAILED, a
// stopped one STOPPED; ECS Developer Guide, "View service history using
// Amazon ECS service deployments"), at most HistoryMaxPages pages; the
// newest HistoryRevisions distinct target revisions created before the
// PRIMARY deployment are described (DescribeServiceRevisions) and
// ChoosePrevious takes the newest of them whose task definition differs
// from the PRIMARY's; none is NO_HEALTHY_PREVIOUS, reported without a
// change. Then the runbook reads
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
// with judgement = {action ("FIND_PREVIOUS" or "NONE"), outcome, reason,
// the alarms in ALARM by kind, impactStartedAt, the PRIMARY deployment (id,
// task definition, createdAt, rolloutState)}. It reads service.deployments
// (DescribeServices) and alarms.metricAlarms (DescribeAlarms); see
// ServiceRecovery for the order of the rules. FIND_PREVIOUS means every
// rule allows a rollback; PreviousExpression decides whether there is a
// version to roll back to.
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
		"{'action': '" + judgeFindPrevious + "', 'outcome': 'FINDING_PREVIOUS', " +
		"'reason': 'customer impact started within the window after the PRIMARY deployment; looking up the previous healthy version in the deployment history'}; " +
		"$merge([$in, {'judgement': $merge([{" +
		"'customerAlarms': [$customer.AlarmName], 'dependencyAlarms': [$dependency.AlarmName], 'zonalAlarms': [$zonal.AlarmName], " +
		"'impactStartedAt': $impactMs != null ? $fromMillis($impactMs) : null, " +
		"'deploymentId': $primary.Id, 'taskDefinition': $primary.TaskDefinition, 'deploymentCreatedAt': $primary.CreatedAt, " +
		"'rolloutState': $primary.RolloutState, " + fmt.Sprintf("'windowMinutes': %d", RecentDeploymentMinutes) +
		"}, $verdict])}]) ) %}", nil
}

// HistoryExpression is the JSONata Output of HistoryState, run after each
// page of ListServiceDeployments (at $.historyPage, dropped here): the
// state input with history = {candidates, revisionArns, count, pages,
// nextToken?}. candidates are the newest HistoryRevisions SUCCESSFUL
// deployments created before the PRIMARY deployment
// (judgement.deploymentCreatedAt), one per target service revision (the
// newest), newest first, over every page read so far: {serviceDeploymentArn,
// serviceRevisionArn, createdAt, finishedAt}. revisionArns are their
// revisions, count their number, pages the pages read; nextToken is the
// page's NextToken when more pages remain.
func HistoryExpression() string {
	return "{% ( $in := $states.input; " +
		"$before := $toMillis($in.judgement.deploymentCreatedAt); " +
		"$page := [$in.historyPage.ServiceDeployments[Status = 'SUCCESSFUL' and $exists(TargetServiceRevisionArn) and $exists(CreatedAt) and $toMillis(CreatedAt) < $before]" +
		".{'serviceDeploymentArn': ServiceDeploymentArn, 'serviceRevisionArn': TargetServiceRevisionArn, 'createdAt': CreatedAt, 'finishedAt': FinishedAt}]; " +
		"$newestFirst := $sort($append([$in.history.candidates], $page), function($a, $b) { $toMillis($a.createdAt) < $toMillis($b.createdAt) }); " +
		"$oneEach := $reduce($newestFirst, function($acc, $d) { $d.serviceRevisionArn in $acc.serviceRevisionArn ? $acc : $append($acc, $d) }, []); " +
		fmt.Sprintf("$kept := [$oneEach[[0..%d]]]; ", HistoryRevisions-1) +
		"$merge([$sift($in, function($v, $k) { $k != 'historyPage' }), {'history': {" +
		"'candidates': $kept, 'revisionArns': [$kept.serviceRevisionArn], 'count': $count($kept), " +
		"'pages': ($exists($in.history.pages) ? $in.history.pages : 0) + 1, 'nextToken': $in.historyPage.NextToken}}]) ) %}"
}

// PreviousExpression is the JSONata Output of PreviousState: the state
// input without $.revisions (the DescribeServiceRevisions result, absent
// when the history had no candidate), each history candidate with its
// revision's taskDefinition, and judgement completed with action
// ("ROLL_BACK" or "NONE"), outcome, reason and, for a rollback, the
// previous version: the newest candidate whose task definition differs
// from the PRIMARY deployment's (previousTaskDefinition,
// previousServiceDeploymentArn, previousServiceRevisionArn,
// previousCreatedAt). A history longer than HistoryMaxPages pages
// (history.nextToken still set) is NO_HEALTHY_PREVIOUS: the unread pages
// might hold a newer deployment.
func PreviousExpression() string {
	none := func(reason string) string {
		return fmt.Sprintf("{'action': 'NONE', 'outcome': '%s', 'reason': '%s'}", OutcomeNoHealthyPrevious, reason)
	}
	return "{% ( $in := $states.input; $j := $in.judgement; " +
		"$revisions := [$in.revisions.ServiceRevisions]; " +
		"$described := [$in.history.candidates.( $c := $; $merge([$c, {'taskDefinition': $revisions[ServiceRevisionArn = $c.serviceRevisionArn][0].TaskDefinition}]) )]; " +
		"$previous := [$described[$exists(taskDefinition) and taskDefinition != $j.taskDefinition]][0]; " +
		"$verdict := $exists($in.history.nextToken) ? " +
		none(fmt.Sprintf("the deployment history has more than %d pages of SUCCESSFUL deployments; the previous version is not guessed from part of it", HistoryMaxPages)) + " : " +
		"$not($exists($previous)) ? " +
		none("no SUCCESSFUL deployment of another task definition created before the PRIMARY deployment in the service deployment history") + " : " +
		"{'action': '" + judgeRollBack + "', 'outcome': 'ROLLING_BACK', " +
		"'reason': 'customer impact started within the window after the PRIMARY deployment; rolling back to the task definition of the newest earlier SUCCESSFUL deployment', " +
		"'previousTaskDefinition': $previous.taskDefinition, 'previousServiceDeploymentArn': $previous.serviceDeploymentArn, " +
		"'previousServiceRevisionArn': $previous.serviceRevisionArn, 'previousCreatedAt': $previous.createdAt}; " +
		"$merge([$sift($in, function($v, $k) { $k != 'revisions' }), {" +
		"'history': $merge([$in.history, {'candidates': $described}]), 'judgement': $merge([$j, $verdict])}]) ) %}"
}

// recoveryBranch is the recovery proper, run inside the Recover Parallel.
func recoveryBranch(t Targets, leaseSeconds int) (Branch, error) {
	states := map[string]State{}
	svc := []string{t.ECSServiceArn}
	lockFailed := addFailurePath(states, ServiceRecoveryName, t.TopicArn, "LockFailed", "LOCK_FAILED",
		"could not take the service's recovery lock; the service was not changed", "ServiceRecovery.LockFailed")
	errorEntry := addFailurePath(states, ServiceRecoveryName, t.TopicArn, "RecoveryFailed", "FAILED",
		"could not read the service, its alarms or its deployment history; the service was not changed", "ServiceRecovery.Failed")

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
		Comment:       fmt.Sprintf("Look for a version to roll back to only when the impact started within %d minutes after the PRIMARY deployment and nothing else explains it", RecentDeploymentMinutes),
		QueryLanguage: "JSONata",
		Output:        judgement,
		Next:          "Decide",
	}
	states["Decide"] = &Choice{
		Choices: []ChoiceRule{next(strEq("$.judgement.action", judgeFindPrevious), "ListSuccessfulDeployments")},
		Default: "NoActionReport",
	}

	// --- the previous healthy version, from the deployment history ---
	list := func(name string, params map[string]any) error {
		params["Cluster"], params["Service"] = t.ECSClusterArn, t.ECSServiceName
		params["Status"] = []string{"SUCCESSFUL"}
		params["MaxResults"] = historyPageSize
		task, err := sdkTask("ecs", "ListServiceDeployments", params, svc, errorEntry)
		if err != nil {
			return err
		}
		// The whole page: an absent NextToken (the last page) would fail a
		// ResultSelector path; HistoryState reads the page and drops it.
		task.Comment = "One page of the service's SUCCESSFUL deployments (ECS keeps the history of replaced deployments here, not in DescribeServices)"
		task.ResultPath = "$.historyPage"
		task.Next = HistoryState
		states[name] = task
		return nil
	}
	if err := list("ListSuccessfulDeployments", map[string]any{}); err != nil {
		return Branch{}, err
	}
	if err := list("ListMoreSuccessfulDeployments", map[string]any{"NextToken.$": "$.history.nextToken"}); err != nil {
		return Branch{}, err
	}
	states[HistoryState] = &Pass{
		Comment:       fmt.Sprintf("The newest %d distinct revisions of SUCCESSFUL deployments created before the PRIMARY deployment, over the pages read", HistoryRevisions),
		QueryLanguage: "JSONata",
		Output:        HistoryExpression(),
		Next:          "MoreHistory",
	}
	states["MoreHistory"] = &Choice{
		Choices: []ChoiceRule{next(and(isPresent("$.history.nextToken"), ChoiceRule{Variable: "$.history.nextToken", IsString: ptr(true)},
			ChoiceRule{Variable: "$.history.pages", NumericLessThan: ptr(float64(HistoryMaxPages))}), "ListMoreSuccessfulDeployments")},
		Default: "HasHistory",
	}
	states["HasHistory"] = &Choice{
		Choices: []ChoiceRule{next(numGte("$.history.count", 1), "DescribeHistoryRevisions")},
		Default: PreviousState,
	}
	revisions, err := sdkTask("ecs", "DescribeServiceRevisions", map[string]any{
		"ServiceRevisionArns.$": "$.history.revisionArns",
	}, []string{t.ECSServiceArn, t.serviceRevisionArns()}, errorEntry)
	if err != nil {
		return Branch{}, err
	}
	revisions.Comment = "The task definition of each candidate revision; PreviousState reads them and drops the rest"
	revisions.ResultPath = "$.revisions"
	revisions.Next = PreviousState
	states["DescribeHistoryRevisions"] = revisions
	states[PreviousState] = &Pass{
		Comment:       "The newest earlier SUCCESSFUL deployment of another task definition, or NO_HEALTHY_PREVIOUS",
		QueryLanguage: "JSONata",
		Output:        PreviousExpression(),
		Next:          "RollBackOrReport",
	}
	states["RollBackOrReport"] = &Choice{
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

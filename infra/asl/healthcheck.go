package asl

import "fmt"

// HealthCheckName is the runbook name used in reports.
const HealthCheckName = "health-check"

// HealthCheck builds the health check runbook. Input: {"requestedBy":
// string}. In parallel it checks ALB target health per target group, the
// ECS service (running = desired, a single COMPLETED deployment), the Aurora
// cluster (available, with a writer), the DynamoDB table (ACTIVE), the
// canary's newest completed run (PASSED; RUNNING runs are skipped) and our alarms (none in ALARM). The per-check
// results are aggregated into $.report; an unhealthy report is published to
// SNS. A check whose API call fails counts as unhealthy. Output: the state
// data with $.report.
func HealthCheck(t Targets) (*StateMachine, error) {
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("health check: %w", err)
	}
	states := map[string]State{}
	addInputValidation(states, `{"requestedBy": non-empty string}`, "Initialize", requiredString("$.requestedBy"))
	states["Initialize"] = &Pass{
		Result:     map[string]any{"targetGroupNames": t.TargetGroupNames},
		ResultPath: "$.config",
		Next:       "RunChecks",
	}
	errorEntry := addFailurePath(states, HealthCheckName, t.TopicArn, "HealthCheckFailed", "FAILED",
		"the health check itself failed", "HealthCheck.Failed")

	var branches []Branch
	for _, build := range []func(Targets) (Branch, error){
		targetsBranch, ecsBranch, auroraBranch, tableBranch, canaryBranch, alarmsBranch,
	} {
		b, err := build(t)
		if err != nil {
			return nil, fmt.Errorf("health check: %w", err)
		}
		branches = append(branches, b)
	}
	states["RunChecks"] = &Parallel{
		Comment:    "One branch per component; each returns {component, healthy, detail}",
		Branches:   branches,
		ResultPath: "$.checks",
		Catch:      catchAll(errorEntry),
		Next:       "CollectHealthFlags",
	}
	states["CollectHealthFlags"] = &Pass{
		Parameters: map[string]any{"flags.$": "$.checks[*].healthy"},
		ResultPath: "$.summary",
		Next:       "SummarizeHealth",
	}
	states["SummarizeHealth"] = &Pass{
		Parameters: map[string]any{
			"flags.$":     "$.summary.flags",
			"unhealthy.$": "States.ArrayContains($.summary.flags, false)",
		},
		ResultPath: "$.summary",
		Next:       "IsHealthy",
	}
	states["IsHealthy"] = &Choice{
		Choices: []ChoiceRule{next(boolEq("$.summary.unhealthy", false), "HealthyReport")},
		Default: "UnhealthyReport",
	}
	report := func(healthy bool, nextState string) *Pass {
		return &Pass{
			Parameters: map[string]any{
				"runbook":       HealthCheckName,
				"healthy":       healthy,
				"requestedBy.$": "$.requestedBy",
				"executionId.$": "$$.Execution.Id",
				"startedAt.$":   "$$.Execution.StartTime",
				"checks.$":      "$.checks",
			},
			ResultPath: "$.report",
			Next:       nextState,
		}
	}
	states["HealthyReport"] = report(true, "Healthy")
	states["Healthy"] = &Succeed{}
	states["UnhealthyReport"] = report(false, "NotifyUnhealthy")
	states["NotifyUnhealthy"] = notifyTask(t.TopicArn, subject(HealthCheckName, "UNHEALTHY"), "$.report", "ReportedUnhealthy", "NotificationFailed")
	states["ReportedUnhealthy"] = &Succeed{Comment: "The check ran; the platform is unhealthy and the report was published"}
	addNotificationFailed(states)

	return &StateMachine{
		Comment:        "trading-ha health check: ALB targets, ECS, Aurora, DynamoDB, canary and alarms",
		StartAt:        "ValidateInput",
		TimeoutSeconds: 900,
		States:         states,
	}, nil
}

// componentStates returns the ok / bad / error result states of one check
// branch, named <prefix>Healthy, <prefix>Unhealthy and <prefix>CheckFailed.
func componentStates(states map[string]State, prefix, component, detailPath string) {
	result := func(healthy bool) *Pass {
		return &Pass{
			Parameters: map[string]any{"component": component, "healthy": healthy, "detail.$": detailPath},
			End:        true,
		}
	}
	states[prefix+"Healthy"] = result(true)
	states[prefix+"Unhealthy"] = result(false)
	states[prefix+"CheckFailed"] = &Pass{
		Parameters: map[string]any{"component": component, "healthy": false, "error.$": ErrorPath},
		End:        true,
	}
}

func targetsBranch(t Targets) (Branch, error) {
	states := map[string]State{}
	componentStates(states, "HcTargets", "alb-targets", "$.targets.groups")
	entry, err := addTargetHealthCheck(states, "Hc", "targets", t.TargetGroupNames,
		"HcTargetsHealthy", "HcTargetsUnhealthy", "HcTargetsCheckFailed")
	return Branch{StartAt: entry, States: states}, err
}

func ecsBranch(t Targets) (Branch, error) {
	states := map[string]State{}
	componentStates(states, "HcService", "ecs-service", "$.service")
	task, err := sdkTask("ecs", "DescribeServices", map[string]any{
		"Cluster":  t.ECSClusterArn,
		"Services": []string{t.ECSServiceName},
	}, []string{t.ECSServiceArn}, "HcServiceCheckFailed")
	if err != nil {
		return Branch{}, err
	}
	task.ResultSelector = map[string]any{
		"status.$":          "$.Services[0].Status",
		"runningCount.$":    "$.Services[0].RunningCount",
		"desiredCount.$":    "$.Services[0].DesiredCount",
		"taskDefinition.$":  "$.Services[0].TaskDefinition",
		"deploymentCount.$": "States.ArrayLength($.Services[0].Deployments)",
		"rolloutState.$":    "$.Services[0].Deployments[0].RolloutState",
	}
	task.ResultPath = "$.service"
	task.Next = "HcEvaluateService"
	states["HcDescribeService"] = task
	states["HcEvaluateService"] = &Choice{
		Choices: []ChoiceRule{next(and(
			strEq("$.service.status", "ACTIVE"),
			ChoiceRule{Variable: "$.service.runningCount", NumericEqualsPath: "$.service.desiredCount"},
			ChoiceRule{Variable: "$.service.deploymentCount", NumericEquals: ptr(1.0)},
			strEq("$.service.rolloutState", "COMPLETED"),
		), "HcServiceHealthy")},
		Default: "HcServiceUnhealthy",
	}
	return Branch{StartAt: "HcDescribeService", States: states}, nil
}

// clusterSelector extracts status and members from DescribeDBClusters.
var clusterSelector = map[string]any{
	"status.$":      "$.DbClusters[0].Status",
	"members.$":     "$.DbClusters[0].DbClusterMembers",
	"memberCount.$": "States.ArrayLength($.DbClusters[0].DbClusterMembers)",
}

// addClusterRoles adds <prefix>ClusterRoles and <prefix>ClusterRoleFlags,
// which set <key>.roles = {hasWriter, hasReader} from <key>.members, and
// continue with nextState. The cluster must have at least one member (check
// IsPresent first): projections of empty arrays fail.
func addClusterRoles(states map[string]State, prefix, key, nextState string) string {
	states[prefix+"ClusterRoles"] = &Pass{
		Parameters: map[string]any{"writerFlags.$": key + ".members[*].IsClusterWriter"},
		ResultPath: key + ".roles",
		Next:       prefix + "ClusterRoleFlags",
	}
	states[prefix+"ClusterRoleFlags"] = &Pass{
		Parameters: map[string]any{
			"hasWriter.$": "States.ArrayContains(" + key + ".roles.writerFlags, true)",
			"hasReader.$": "States.ArrayContains(" + key + ".roles.writerFlags, false)",
		},
		ResultPath: key + ".roles",
		Next:       nextState,
	}
	return prefix + "ClusterRoles"
}

func describeCluster(t Targets, onError string) (*Task, error) {
	task, err := sdkTask("rds", "DescribeDBClusters",
		map[string]any{"DbClusterIdentifier": t.ClusterIdentifier}, []string{t.ClusterArn}, onError)
	if err != nil {
		return nil, err
	}
	task.ResultSelector = clusterSelector
	return task, nil
}

func auroraBranch(t Targets) (Branch, error) {
	states := map[string]State{}
	componentStates(states, "HcAurora", "aurora-cluster", "$.aurora")
	task, err := describeCluster(t, "HcAuroraCheckFailed")
	if err != nil {
		return Branch{}, err
	}
	task.ResultPath = "$.aurora"
	task.Next = "HcEvaluateAurora"
	states["HcDescribeCluster"] = task
	states["HcEvaluateAurora"] = &Choice{
		Choices: []ChoiceRule{next(and(strEq("$.aurora.status", "available"), numGte("$.aurora.memberCount", 1)),
			addClusterRoles(states, "Hc", "$.aurora", "HcAuroraHasWriter"))},
		Default: "HcAuroraUnhealthy",
	}
	states["HcAuroraHasWriter"] = &Choice{
		Choices: []ChoiceRule{next(boolEq("$.aurora.roles.hasWriter", true), "HcAuroraHealthy")},
		Default: "HcAuroraUnhealthy",
	}
	return Branch{StartAt: "HcDescribeCluster", States: states}, nil
}

func tableBranch(t Targets) (Branch, error) {
	states := map[string]State{}
	componentStates(states, "HcTable", "dynamodb-table", "$.table")
	task, err := sdkTask("dynamodb", "DescribeTable",
		map[string]any{"TableName": t.TableName}, []string{t.TableArn}, "HcTableCheckFailed")
	if err != nil {
		return Branch{}, err
	}
	task.ResultSelector = map[string]any{"status.$": "$.Table.TableStatus"}
	task.ResultPath = "$.table"
	task.Next = "HcEvaluateTable"
	states["HcDescribeTable"] = task
	states["HcEvaluateTable"] = &Choice{
		Choices: []ChoiceRule{next(strEq("$.table.status", "ACTIVE"), "HcTableHealthy")},
		Default: "HcTableUnhealthy",
	}
	return Branch{StartAt: "HcDescribeTable", States: states}, nil
}

// canaryRunsFetched is how many of the canary's runs the health check reads.
// GetCanaryRuns also returns the run in progress (CanaryRunStatus.State is
// RUNNING | PASSED | FAILED, Synthetics API reference, CanaryRunStatus), and
// its documentation promises no order (API_GetCanaryRuns: MaxResults 1..100,
// default 100). A canary starts a run per schedule tick (plus retries), so the
// newest five runs hold a completed one unless the canary has not finished a
// run for several periods, which is itself unhealthy.
const canaryRunsFetched = 5

// CanaryVerdictState is the JSONata state that picks the newest completed
// canary run. The local executor has no JSONata; the tests evaluate its
// Output with the jsonata library against the state's real input.
const CanaryVerdictState = "HcLatestCompletedRun"

// CanaryVerdictExpression is the JSONata Output of CanaryVerdictState: the
// state input with canary.latest = the run with the greatest
// Timeline.Completed among the runs whose Status.State is PASSED or FAILED
// (CanaryRunTimeline.Completed is "the end time of the run"), and
// canary.verdict = its state, or NO_COMPLETED_RUN. Sorting by the run's own
// end time does not depend on the order GetCanaryRuns returns.
func CanaryVerdictExpression() string {
	return "{% ( $done := $states.input.canary.runs[Status.State in ['PASSED', 'FAILED']]; " +
		"$latest := $count($done) > 0 ? $sort($done, function($a, $b) { $a.Timeline.Completed < $b.Timeline.Completed })[0] : null; " +
		"$merge([$states.input, {'canary': $merge([$states.input.canary, " +
		"{'latest': $latest, 'verdict': $exists($latest.Status.State) ? $latest.Status.State : 'NO_COMPLETED_RUN'}])}]) ) %}"
}

func canaryBranch(t Targets) (Branch, error) {
	states := map[string]State{}
	componentStates(states, "HcCanary", "canary", "$.canary")
	task, err := sdkTask("synthetics", "GetCanaryRuns",
		map[string]any{"Name": t.CanaryName, "MaxResults": canaryRunsFetched}, []string{t.canaryArn()}, "HcCanaryCheckFailed")
	if err != nil {
		return Branch{}, err
	}
	task.ResultSelector = map[string]any{"runs.$": "$.CanaryRuns"}
	task.ResultPath = "$.canary"
	task.Next = CanaryVerdictState
	states["HcGetCanaryRuns"] = task
	states[CanaryVerdictState] = &Pass{
		Comment:       "The newest completed (PASSED or FAILED) run, by its end time; RUNNING runs are not judged",
		QueryLanguage: "JSONata",
		Output:        CanaryVerdictExpression(),
		Next:          "HcEvaluateCanary",
	}
	states["HcEvaluateCanary"] = &Choice{
		Comment: "Healthy only when the newest completed run PASSED; FAILED or no completed run is unhealthy",
		Choices: []ChoiceRule{next(strEq("$.canary.verdict", "PASSED"), "HcCanaryHealthy")},
		Default: "HcCanaryUnhealthy",
	}
	return Branch{StartAt: "HcGetCanaryRuns", States: states}, nil
}

func alarmsBranch(t Targets) (Branch, error) {
	states := map[string]State{}
	componentStates(states, "HcAlarms", "alarms", "$.alarms")
	task, err := sdkTask("cloudwatch", "DescribeAlarms", map[string]any{
		"AlarmNames": t.AlarmNames,
		"AlarmTypes": []string{"CompositeAlarm", "MetricAlarm"},
		"StateValue": "ALARM",
	}, t.alarmArns(), "HcAlarmsCheckFailed")
	if err != nil {
		return Branch{}, err
	}
	task.ResultSelector = map[string]any{
		"metricAlarms.$":     "$.MetricAlarms",
		"compositeAlarms.$":  "$.CompositeAlarms",
		"inAlarm.$":          "States.ArrayLength($.MetricAlarms)",
		"compositeInAlarm.$": "States.ArrayLength($.CompositeAlarms)",
	}
	task.ResultPath = "$.alarms"
	task.Next = "HcEvaluateAlarms"
	states["HcDescribeAlarms"] = task
	states["HcEvaluateAlarms"] = &Choice{
		Choices: []ChoiceRule{next(and(numEq("$.alarms.inAlarm", 0),
			numEq("$.alarms.compositeInAlarm", 0)), "HcAlarmsHealthy")},
		Default: "HcAlarmsUnhealthy",
	}
	return Branch{StartAt: "HcDescribeAlarms", States: states}, nil
}

package asl

import "fmt"

// ServiceRecoveryName is the runbook name used in reports.
const ServiceRecoveryName = "service-recovery"

// deploymentPollSeconds is the interval between rollout polls.
const deploymentPollSeconds = 30

// ServiceRecovery builds the ECS service recovery runbook. Input:
// {"requestedBy": string, "reason"?: string}. It records the current task
// definition, forces a new deployment and polls the PRIMARY deployment's
// rollout state at most DeploymentTimeoutSeconds. COMPLETED with healthy
// targets succeeds and notifies; FAILED, a replaced deployment, a timeout,
// unhealthy targets or an API error roll back to the recorded task
// definition, verify target health and notify, ending in a Fail state.
func ServiceRecovery(t Targets) (*StateMachine, error) {
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("service recovery: %w", err)
	}
	states := map[string]State{}
	addInputValidation(states, `{"requestedBy": non-empty string, "reason"?: non-empty string}`, "Initialize",
		requiredString("$.requestedBy"), optionalString("$.reason"))
	states["Initialize"] = &Pass{
		Result:     map[string]any{"targetGroupArns": t.TargetGroupArns},
		ResultPath: "$.config",
		Next:       "RecordTaskDefinition",
	}
	errorEntry := addFailurePath(states, ServiceRecoveryName, t.TopicArn, "RecoveryFailed", "FAILED",
		"could not read the service before changing it", "ServiceRecovery.Failed")
	svc := []string{t.EcsServiceArn}

	record, err := sdkTask("ecs", "DescribeServices", map[string]any{
		"Cluster": t.EcsClusterArn, "Services": []string{t.EcsServiceName},
	}, svc, errorEntry)
	if err != nil {
		return nil, fmt.Errorf("service recovery: %w", err)
	}
	record.ResultSelector = map[string]any{
		"taskDefinition.$": "$.Services[0].TaskDefinition",
		"desiredCount.$":   "$.Services[0].DesiredCount",
	}
	record.ResultPath = "$.before"
	record.Next = "ForceNewDeployment"
	states["RecordTaskDefinition"] = record

	markFailure := func(name, reason, nextState string) {
		states[name] = &Pass{Result: map[string]any{"reason": reason}, ResultPath: "$.failure", Next: nextState}
	}
	markFailure("DeploymentError", "an API call failed during the deployment", "RollBack")
	markFailure("DeploymentFailed", "the deployment failed or was replaced (circuit breaker)", "RollBack")
	markFailure("DeploymentTimedOut", fmt.Sprintf("the deployment did not complete within %d seconds", t.DeploymentTimeoutSeconds), "RollBack")
	markFailure("TargetsUnhealthy", "the new deployment's targets are not healthy", "RollBack")

	deploy, err := sdkTask("ecs", "UpdateService", map[string]any{
		"Cluster": t.EcsClusterArn, "Service": t.EcsServiceName, "ForceNewDeployment": true,
	}, svc, "DeploymentError")
	if err != nil {
		return nil, fmt.Errorf("service recovery: %w", err)
	}
	deploy.ResultSelector = map[string]any{"primaryIds.$": "$.Service.Deployments[?(@.Status == 'PRIMARY')].Id"}
	deploy.ResultPath = "$.deployment"
	deploy.Next = "InitDeploymentPoll"
	states["ForceNewDeployment"] = deploy
	states["InitDeploymentPoll"] = &Pass{Result: map[string]any{"attempt": 0}, ResultPath: "$.poll", Next: "WaitForDeployment"}
	states["WaitForDeployment"] = &Wait{Seconds: deploymentPollSeconds, Next: "DescribeDeployment"}

	poll, err := sdkTask("ecs", "DescribeServices", map[string]any{
		"Cluster": t.EcsClusterArn, "Services": []string{t.EcsServiceName},
	}, svc, "DeploymentError")
	if err != nil {
		return nil, fmt.Errorf("service recovery: %w", err)
	}
	poll.ResultSelector = map[string]any{"primary.$": "$.Services[0].Deployments[?(@.Status == 'PRIMARY')]"}
	poll.ResultPath = "$.rollout"
	poll.Next = "DeploymentState"
	states["DescribeDeployment"] = poll

	ours := ChoiceRule{Variable: "$.rollout.primary[0].Id", StringEqualsPath: "$.deployment.primaryIds[0]"}
	states["DeploymentState"] = &Choice{
		Choices: []ChoiceRule{
			next(or(not(ours), strEq("$.rollout.primary[0].RolloutState", "FAILED")), "DeploymentFailed"),
			next(strEq("$.rollout.primary[0].RolloutState", "COMPLETED"), "SrCheckTargetGroups"),
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
	if _, err := addTargetHealthCheck(states, "Sr", "targetHealth", "$.config.targetGroupArns",
		"RecoveredReport", "TargetsUnhealthy", "DeploymentError"); err != nil {
		return nil, fmt.Errorf("service recovery: %w", err)
	}
	states["RecoveredReport"] = &Pass{
		Parameters: map[string]any{
			"runbook":                  ServiceRecoveryName,
			"outcome":                  "RECOVERED",
			"requestedBy.$":            "$.requestedBy",
			"executionId.$":            "$$.Execution.Id",
			"previousTaskDefinition.$": "$.before.taskDefinition",
			"targetHealth.$":           "$.targetHealth",
		},
		ResultPath: "$.report",
		Next:       "NotifyRecovered",
	}
	states["NotifyRecovered"] = notifyTask(t.TopicArn, subject(ServiceRecoveryName, "RECOVERED"), "$.report", "Recovered", "NotificationFailed")
	states["Recovered"] = &Succeed{}

	rollback, err := sdkTask("ecs", "UpdateService", map[string]any{
		"Cluster": t.EcsClusterArn, "Service": t.EcsServiceName,
		"TaskDefinition.$": "$.before.taskDefinition", "ForceNewDeployment": true,
	}, svc, "RollbackFailedReport")
	if err != nil {
		return nil, fmt.Errorf("service recovery: %w", err)
	}
	rollback.ResultSelector = map[string]any{"taskDefinition.$": "$.Service.TaskDefinition"}
	rollback.ResultPath = "$.rollback"
	rollback.Next = "WaitForRollback"
	states["RollBack"] = rollback
	states["WaitForRollback"] = &Wait{Seconds: 60, Next: "RbCheckTargetGroups"}
	addFailurePath(states, ServiceRecoveryName, t.TopicArn, "RollbackFailed", "ROLLBACK_FAILED",
		"the rollback to the recorded task definition failed", "ServiceRecovery.RollbackFailed")
	addFailurePath(states, ServiceRecoveryName, t.TopicArn, "RolledBack", "ROLLED_BACK",
		"$.failure.reason", "ServiceRecovery.RolledBack")
	addFailurePath(states, ServiceRecoveryName, t.TopicArn, "RolledBackUnhealthy", "ROLLED_BACK_UNHEALTHY",
		"$.failure.reason", "ServiceRecovery.RolledBackUnhealthy")
	if _, err := addTargetHealthCheck(states, "Rb", "rollbackHealth", "$.config.targetGroupArns",
		"RolledBackReport", "RolledBackUnhealthyReport", "RolledBackUnhealthyReport"); err != nil {
		return nil, fmt.Errorf("service recovery: %w", err)
	}
	return &StateMachine{
		Comment:        "trading-ha service recovery: force a new ECS deployment, roll back on failure",
		StartAt:        "ValidateInput",
		TimeoutSeconds: t.DeploymentTimeoutSeconds + 1800,
		States:         states,
	}, nil
}

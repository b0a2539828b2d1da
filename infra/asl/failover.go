package asl

import "fmt"

// DatabaseFailoverName is the runbook name used in reports.
const DatabaseFailoverName = "database-failover"

// failoverPollSeconds is the interval between cluster polls after the
// failover was requested.
const failoverPollSeconds = 10

// DatabaseFailover builds the Aurora failover runbook. Input:
// {"requestedBy": string, "dryRun"?: boolean, "targetInstance"?: string}.
//
// Pre-checks: the cluster is available and has a writer and at least one
// reader; the readers are described one by one and the target is the
// requested targetInstance (which must be an available reader of our
// cluster) or else the first available reader. A dry run reports the
// pre-check results and the chosen target, then succeeds without touching
// the cluster. Otherwise FailoverDBCluster promotes the target and the
// cluster is polled every 10 s, at most FailoverTimeoutSeconds, until it is
// available with the target as writer; then the application's target
// groups must be healthy. Every outcome is published to SNS; every failure
// ends in a Fail state.
func DatabaseFailover(t Targets) (*StateMachine, error) {
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("database failover: %w", err)
	}
	states := map[string]State{}
	addInputValidation(states, `{"requestedBy": non-empty string, "dryRun"?: boolean, "targetInstance"?: non-empty string}`,
		"Initialize", requiredString("$.requestedBy"), optionalBool("$.dryRun"), optionalString("$.targetInstance"))
	states["Initialize"] = &Pass{
		Result: map[string]any{
			"clusterIdentifier": t.ClusterIdentifier,
			"targetGroupNames":  t.TargetGroupNames,
		},
		ResultPath: "$.config",
		Next:       "DescribeCluster",
	}
	fail := func(name, outcome, reason, errorName string) string {
		return addFailurePath(states, DatabaseFailoverName, t.TopicArn, name, outcome, reason, errorName)
	}
	precheckError := fail("PrecheckFailed", "PRECHECK_FAILED", "an API call failed during the pre-checks; the cluster was not changed",
		"DatabaseFailover.PrecheckFailed")
	notReady := fail("ClusterNotReady", "CLUSTER_NOT_READY",
		"the cluster is not available or lacks a writer and a reader; the cluster was not changed", "DatabaseFailover.ClusterNotReady")
	noReader := fail("NoAvailableReader", "NO_AVAILABLE_READER", "no reader instance is available to promote; the cluster was not changed",
		"DatabaseFailover.NoAvailableReader")
	badTarget := fail("TargetRejected", "TARGET_REJECTED",
		fmt.Sprintf("targetInstance is not an available reader of %s; the cluster was not changed", t.ClusterIdentifier),
		"DatabaseFailover.TargetRejected")
	failoverError := fail("FailoverFailed", "FAILOVER_FAILED", "FailoverDBCluster was refused or failed", "DatabaseFailover.FailoverFailed")
	timedOut := fail("FailoverTimedOut", "FAILOVER_TIMED_OUT",
		fmt.Sprintf("the target did not become the writer of an available cluster within %d seconds", t.FailoverTimeoutSeconds),
		"DatabaseFailover.TimedOut")
	pollError := fail("FailoverUnverified", "FAILOVER_UNVERIFIED", "an API call failed while waiting for the new writer",
		"DatabaseFailover.Unverified")
	appUnhealthy := fail("ApplicationUnhealthy", "FAILED_OVER_APP_UNHEALTHY",
		"the failover completed but the application's target groups are not healthy", "DatabaseFailover.ApplicationUnhealthy")

	// --- pre-checks ---
	describe, err := describeCluster(t, precheckError)
	if err != nil {
		return nil, fmt.Errorf("database failover: %w", err)
	}
	describe.ResultPath = "$.cluster"
	describe.Next = "EvaluateCluster"
	states["DescribeCluster"] = describe
	states["EvaluateCluster"] = &Choice{
		Comment: "available, and at least two members (checked before projecting the member list)",
		Choices: []ChoiceRule{next(and(strEq("$.cluster.status", "available"), numGte("$.cluster.memberCount", 2)),
			addClusterRoles(states, "Fo", "$.cluster", "ClusterHasWriterAndReader"))},
		Default: notReady,
	}
	states["ClusterHasWriterAndReader"] = &Choice{
		Choices: []ChoiceRule{next(and(boolEq("$.cluster.roles.hasWriter", true), boolEq("$.cluster.roles.hasReader", true)), "ListReaders")},
		Default: notReady,
	}
	// Both filters are non-empty: the flags above proved a writer and a reader.
	states["ListReaders"] = &Pass{
		Parameters: map[string]any{
			"writer.$":  "$.cluster.members[?(@.IsClusterWriter == true)].DbInstanceIdentifier",
			"readers.$": "$.cluster.members[?(@.IsClusterWriter == false)].DbInstanceIdentifier",
		},
		ResultPath: "$.members",
		Next:       "DescribeReaders",
	}

	describeInstance, err := sdkTask("rds", "DescribeDBInstances",
		map[string]any{"DbInstanceIdentifier.$": "$.instance"}, t.instanceArns(), "FoReaderUnknown")
	if err != nil {
		return nil, fmt.Errorf("database failover: %w", err)
	}
	describeInstance.ResultSelector = map[string]any{
		"instance.$":      "$.DbInstances[0].DbInstanceIdentifier",
		"status.$":        "$.DbInstances[0].DbInstanceStatus",
		"promotionTier.$": "$.DbInstances[0].PromotionTier",
	}
	describeInstance.Next = "FoReaderAvailable"
	reader := func(available bool) *Pass {
		return &Pass{
			Parameters: map[string]any{"instance.$": "$.instance", "status.$": "$.status", "available": available},
			End:        true,
		}
	}
	states["DescribeReaders"] = &Map{
		Comment:      "Status of every reader; an instance that cannot be described is not a candidate",
		ItemsPath:    "$.members.readers",
		ItemSelector: map[string]any{"instance.$": "$$.Map.Item.Value"},
		ItemProcessor: Branch{
			ProcessorConfig: &ProcessorConfig{Mode: "INLINE"},
			StartAt:         "FoDescribeReader",
			States: map[string]State{
				"FoDescribeReader": describeInstance,
				"FoReaderAvailable": &Choice{
					Choices: []ChoiceRule{next(strEq("$.status", "available"), "FoReaderCandidate")},
					Default: "FoReaderNotCandidate",
				},
				"FoReaderCandidate":    reader(true),
				"FoReaderNotCandidate": reader(false),
				"FoReaderUnknown": &Pass{
					Parameters: map[string]any{"instance.$": "$.instance", "status": "unknown", "available": false, "error.$": ErrorPath},
					End:        true,
				},
			},
		},
		MaxConcurrency: 5,
		ResultPath:     "$.readers",
		Catch:          catchAll(precheckError),
		Next:           "CollectReaderFlags",
	}
	states["CollectReaderFlags"] = &Pass{
		Parameters: map[string]any{"flags.$": "$.readers[*].available"},
		ResultPath: "$.candidates",
		Next:       "SummarizeReaders",
	}
	states["SummarizeReaders"] = &Pass{
		Parameters: map[string]any{"anyAvailable.$": "States.ArrayContains($.candidates.flags, true)"},
		ResultPath: "$.candidates",
		Next:       "AnyReaderAvailable",
	}
	states["AnyReaderAvailable"] = &Choice{
		Choices: []ChoiceRule{next(boolEq("$.candidates.anyAvailable", true), "ListCandidates")},
		Default: noReader,
	}
	// Non-empty: at least one reader is available.
	states["ListCandidates"] = &Pass{
		Parameters: map[string]any{"ids.$": "$.readers[?(@.available == true)].instance"},
		ResultPath: "$.candidates",
		Next:       "TargetRequested",
	}
	states["TargetRequested"] = &Choice{
		Choices: []ChoiceRule{next(isPresent("$.targetInstance"), "CheckRequestedTarget")},
		Default: "PickFirstCandidate",
	}
	states["CheckRequestedTarget"] = &Pass{
		Parameters: map[string]any{
			"instance.$":  "$.targetInstance",
			"eligible.$":  "States.ArrayContains($.candidates.ids, $.targetInstance)",
			"requested":   true,
			"oldWriter.$": "States.ArrayGetItem($.members.writer, 0)",
		},
		ResultPath: "$.target",
		Next:       "RequestedTargetEligible",
	}
	states["RequestedTargetEligible"] = &Choice{
		Choices: []ChoiceRule{next(boolEq("$.target.eligible", true), "IsDryRun")},
		Default: badTarget,
	}
	states["PickFirstCandidate"] = &Pass{
		Comment: "Readers in cluster member order; Aurora's own choice would follow promotion tiers, an explicit target makes the result verifiable",
		Parameters: map[string]any{
			"instance.$":  "States.ArrayGetItem($.candidates.ids, 0)",
			"eligible":    true,
			"requested":   false,
			"oldWriter.$": "States.ArrayGetItem($.members.writer, 0)",
		},
		ResultPath: "$.target",
		Next:       "IsDryRun",
	}
	states["IsDryRun"] = &Choice{
		Choices: []ChoiceRule{next(and(isPresent("$.dryRun"), boolEq("$.dryRun", true)), "DryRunReport")},
		Default: "FailoverCluster",
	}
	states["DryRunReport"] = &Pass{
		Parameters: map[string]any{
			"runbook":       DatabaseFailoverName,
			"outcome":       "DRY_RUN",
			"requestedBy.$": "$.requestedBy",
			"executionId.$": "$$.Execution.Id",
			"cluster.$":     "$.config.clusterIdentifier",
			"writer.$":      "$.target.oldWriter",
			"target.$":      "$.target.instance",
			"readers.$":     "$.readers",
		},
		ResultPath: "$.report",
		Next:       "NotifyDryRun",
	}
	states["NotifyDryRun"] = notifyTask(t.TopicArn, subject(DatabaseFailoverName, "DRY_RUN"), "$.report", "DryRunComplete", "NotificationFailed")
	states["DryRunComplete"] = &Succeed{Comment: "Pre-checks passed; the cluster was not changed"}

	// --- failover ---
	// FailoverDBCluster is authorized on the cluster and, because the call
	// names TargetDbInstanceIdentifier, on the target instance too (the
	// action's resource types are cluster and db): grant every instance of
	// the cluster, since the target is chosen at run time.
	failover, err := sdkTask("rds", "FailoverDBCluster", map[string]any{
		"DbClusterIdentifier":          t.ClusterIdentifier,
		"TargetDbInstanceIdentifier.$": "$.target.instance",
	}, append([]string{t.ClusterArn}, t.instanceArns()...), failoverError)
	if err != nil {
		return nil, fmt.Errorf("database failover: %w", err)
	}
	// A failover must not be requested twice: retry throttling only.
	failover.Retry = retryPolicy([]string{"Rds.ThrottlingException"})
	failover.ResultSelector = map[string]any{"status.$": "$.DbCluster.Status"}
	failover.ResultPath = "$.failover"
	failover.Next = "InitFailoverPoll"
	states["FailoverCluster"] = failover
	states["InitFailoverPoll"] = &Pass{Result: map[string]any{"attempt": 0}, ResultPath: "$.poll", Next: "WaitForFailover"}
	states["WaitForFailover"] = &Wait{Seconds: failoverPollSeconds, Next: "PollCluster"}
	poll, err := describeCluster(t, pollError)
	if err != nil {
		return nil, fmt.Errorf("database failover: %w", err)
	}
	poll.ResultPath = "$.after"
	poll.Next = "FailoverState"
	states["PollCluster"] = poll
	states["FailoverState"] = &Choice{
		Choices: []ChoiceRule{next(and(strEq("$.after.status", "available"), numGte("$.after.memberCount", 1)),
			addClusterRoles(states, "FoPoll", "$.after", "NewWriterElected"))},
		Default: "CountFailoverPoll",
	}
	states["NewWriterElected"] = &Choice{
		Choices: []ChoiceRule{next(boolEq("$.after.roles.hasWriter", true), "ListNewWriter")},
		Default: "CountFailoverPoll",
	}
	states["ListNewWriter"] = &Pass{
		Parameters: map[string]any{"writers.$": "$.after.members[?(@.IsClusterWriter == true)].DbInstanceIdentifier"},
		ResultPath: "$.after.writer",
		Next:       "CheckNewWriter",
	}
	states["CheckNewWriter"] = &Pass{
		Parameters: map[string]any{
			"writers.$":  "$.after.writer.writers",
			"isTarget.$": "States.ArrayContains($.after.writer.writers, $.target.instance)",
		},
		ResultPath: "$.after.writer",
		Next:       "TargetIsWriter",
	}
	states["TargetIsWriter"] = &Choice{
		Choices: []ChoiceRule{next(boolEq("$.after.writer.isTarget", true), "FoResolveTargetGroups")},
		Default: "CountFailoverPoll",
	}
	addPollBudget(states, "Failover", t.FailoverTimeoutSeconds, failoverPollSeconds, timedOut, "WaitForFailover")
	if _, err := addTargetHealthCheck(states, "Fo", "appHealth", t.TargetGroupNames,
		"FailedOverReport", appUnhealthy, appUnhealthy); err != nil {
		return nil, fmt.Errorf("database failover: %w", err)
	}
	states["FailedOverReport"] = &Pass{
		Parameters: map[string]any{
			"runbook":          DatabaseFailoverName,
			"outcome":          "FAILED_OVER",
			"requestedBy.$":    "$.requestedBy",
			"executionId.$":    "$$.Execution.Id",
			"startedAt.$":      "$$.Execution.StartTime",
			"cluster.$":        "$.config.clusterIdentifier",
			"previousWriter.$": "$.target.oldWriter",
			"newWriter.$":      "$.target.instance",
			"polls.$":          "$.poll.attempt",
			"appHealth.$":      "$.appHealth",
		},
		ResultPath: "$.report",
		Next:       "NotifyFailedOver",
	}
	states["NotifyFailedOver"] = notifyTask(t.TopicArn, subject(DatabaseFailoverName, "FAILED_OVER"), "$.report", "FailedOver", "NotificationFailed")
	states["FailedOver"] = &Succeed{}

	return &StateMachine{
		Comment:        "trading-ha database failover: pre-checks, optional dry run, Aurora failover to a chosen reader, bounded verification",
		StartAt:        "ValidateInput",
		TimeoutSeconds: t.FailoverTimeoutSeconds + 900,
		States:         states,
	}, nil
}

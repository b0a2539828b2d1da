package asl

import (
	"fmt"
	"strings"
)

// BackupVerificationName is the runbook name used in reports.
const BackupVerificationName = "backup-verification"

// VerifyTableInfix separates the source table name from the execution hash
// in the name of the temporary restored table: <table>-verify-<md5>.
const VerifyTableInfix = "-verify-"

// CutoffState is the name of the one JSONata state: it computes the
// recovery point cutoff (execution start minus RpoThresholdMinutes), date
// arithmetic JSONPath cannot do. The local executor has no JSONata, so the
// local tests evaluate its Output with the jsonata library and run the
// machine with that value.
const CutoffState = "ComputeCutoff"

// restorePollSeconds is the interval between restore job polls.
const restorePollSeconds = 30

// A restore job that has not ended when the runbook stops waiting for it
// (RestoreTimeoutSeconds, or DescribeRestoreJob failing) may still create
// the restored table later. AWS Backup's restore job states are PENDING |
// RUNNING | COMPLETED | ABORTED | FAILED (AWS Backup API reference,
// DescribeRestoreJob), and it offers no call to cancel a restore job, so the
// runbook keeps watching the job — every restoreWatchPollSeconds, at most
// restoreWatchFactor × RestoreTimeoutSeconds — and deletes the table once
// the job has ended. A job still running after that is reported
// (CLEANUP_UNCONFIRMED, with the job id and table name) for a later cleanup.
const (
	restoreWatchPollSeconds = 300
	restoreWatchFactor      = 3
)

// RestoreWatchSeconds is how long the backup verification keeps watching a
// restore job after it stopped waiting for the restore.
func RestoreWatchSeconds(t Targets) int { return restoreWatchFactor * t.RestoreTimeoutSeconds }

// BackupVerification builds the backup verification runbook. Input:
// {"requestedBy": string}.
//
// For every protected resource it lists the recovery points of our vault
// created after the cutoff (execution start minus RpoThresholdMinutes); each
// resource needs at least one COMPLETED point. Then the newest window's
// completed DynamoDB recovery point is restored into <table>-verify-<md5 of
// the execution ARN> (encrypted with the data key, whose ARN is read from
// DataKeyAlias at run time and must be Enabled, through the backup role),
// the restore job is polled every 30 s at most RestoreTimeoutSeconds, the
// restored table must be ACTIVE with the source table's key schema, and it
// is deleted. The report goes to SNS. Any
// failure after the restore was requested deletes the temporary table
// (a missing table counts as deleted; a failed delete is reported), notifies
// and fails. A restore still running when the runbook stops waiting is
// watched (RestoreWatchSeconds) so that its table is deleted once the job
// ends; a job that outlives the watch is reported as CLEANUP_UNCONFIRMED.
func BackupVerification(t Targets) (*StateMachine, error) {
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("backup verification: %w", err)
	}
	states := map[string]State{}
	addInputValidation(states, `{"requestedBy": non-empty string}`, "Initialize", requiredString("$.requestedBy"))
	states["Initialize"] = &Pass{
		Result: map[string]any{
			"vault":               t.BackupVaultName,
			"resources":           t.ProtectedResourceArns,
			"tableName":           t.TableName,
			"rpoThresholdMinutes": t.RpoThresholdMinutes,
		},
		ResultPath: "$.config",
		Next:       CutoffState,
	}
	states[CutoffState] = &Pass{
		Comment:       "execution start minus the RPO threshold, as an ISO-8601 timestamp at $.rpo.cutoff",
		QueryLanguage: "JSONata",
		Output:        CutoffExpression(t.RpoThresholdMinutes),
		Next:          "CheckRecoveryPoints",
	}

	fail := func(name, outcome, reason, errorName string) string {
		return addFailurePath(states, BackupVerificationName, t.TopicArn, name, outcome, reason, errorName)
	}
	checkError := fail("VerificationError", "ERROR", "an API call failed before the test restore; nothing was restored",
		"BackupVerification.Error")
	stale := fail("RecoveryPointsStale", "STALE",
		fmt.Sprintf("a protected resource has no COMPLETED recovery point in %s newer than %d minutes", t.BackupVaultName, t.RpoThresholdMinutes),
		"BackupVerification.RecoveryPointsStale")
	failed := fail("VerificationFailed", "FAILED", "$.failure.reason", "BackupVerification.Failed")
	cleanupFailed := fail("CleanupFailed", "CLEANUP_FAILED",
		"the temporary restored table could not be deleted; delete details.restore.tableName by hand",
		"BackupVerification.CleanupFailed")

	// --- freshness of every protected resource ---
	list, err := sdkTask("backup", "ListRecoveryPointsByBackupVault", map[string]any{
		"BackupVaultName":  t.BackupVaultName,
		"ByResourceArn.$":  "$.resourceArn",
		"ByCreatedAfter.$": "$.cutoff",
		"MaxResults":       100,
	}, []string{t.vaultArn()}, "BvResourceCheckFailed")
	if err != nil {
		return nil, fmt.Errorf("backup verification: %w", err)
	}
	list.ResultSelector = map[string]any{
		"points.$": "$.RecoveryPoints",
		"count.$":  "States.ArrayLength($.RecoveryPoints)",
	}
	list.ResultPath = "$.listing"
	list.Next = "BvHasRecoveryPoints"
	resource := func(fresh bool, extra map[string]any) *Pass {
		p := map[string]any{"resourceArn.$": "$.resourceArn", "fresh": fresh}
		for k, v := range extra {
			p[k] = v
		}
		return &Pass{Parameters: p, End: true}
	}
	states["CheckRecoveryPoints"] = &Map{
		Comment:      "Per protected resource: a COMPLETED recovery point created after the cutoff",
		ItemsPath:    "$.config.resources",
		ItemSelector: map[string]any{"resourceArn.$": "$$.Map.Item.Value", "cutoff.$": "$.rpo.cutoff"},
		ItemProcessor: Branch{
			ProcessorConfig: &ProcessorConfig{Mode: "INLINE"},
			StartAt:         "BvListRecoveryPoints",
			States: map[string]State{
				"BvListRecoveryPoints": list,
				"BvHasRecoveryPoints": &Choice{
					Choices: []ChoiceRule{next(numGte("$.listing.count", 1), "BvRecoveryPointStatuses")},
					Default: "BvResourceStale",
				},
				"BvRecoveryPointStatuses": &Pass{
					Parameters: map[string]any{"statuses.$": "$.listing.points[*].Status"},
					ResultPath: "$.flags",
					Next:       "BvRecoveryPointFlags",
				},
				"BvRecoveryPointFlags": &Pass{
					Parameters: map[string]any{"anyCompleted.$": "States.ArrayContains($.flags.statuses, 'COMPLETED')"},
					ResultPath: "$.flags",
					Next:       "BvEvaluateResource",
				},
				"BvEvaluateResource": &Choice{
					Choices: []ChoiceRule{next(boolEq("$.flags.anyCompleted", true), "BvResourceFresh")},
					Default: "BvResourceStale",
				},
				// Non-empty: anyCompleted is true.
				"BvResourceFresh": resource(true, map[string]any{
					"completed.$": "$.listing.points[?(@.Status == 'COMPLETED')].RecoveryPointArn",
				}),
				"BvResourceStale":       resource(false, map[string]any{"recoveryPointsInWindow.$": "$.listing.count"}),
				"BvResourceCheckFailed": resource(false, map[string]any{"error.$": ErrorPath}),
			},
		},
		MaxConcurrency: 5,
		ResultPath:     "$.recoveryPoints",
		Catch:          catchAll(checkError),
		Next:           "CollectFreshness",
	}
	states["CollectFreshness"] = &Pass{
		Parameters: map[string]any{"flags.$": "$.recoveryPoints[*].fresh"},
		ResultPath: "$.freshness",
		Next:       "SummarizeFreshness",
	}
	states["SummarizeFreshness"] = &Pass{
		Parameters: map[string]any{"anyStale.$": "States.ArrayContains($.freshness.flags, false)"},
		ResultPath: "$.freshness",
		Next:       "AllFresh",
	}
	states["AllFresh"] = &Choice{
		Choices: []ChoiceRule{next(boolEq("$.freshness.anyStale", false), "DescribeSourceTable")},
		Default: stale,
	}

	// --- test restore of the sessions table ---
	source, err := sdkTask("dynamodb", "DescribeTable", map[string]any{"TableName": t.TableName}, []string{t.TableArn}, checkError)
	if err != nil {
		return nil, fmt.Errorf("backup verification: %w", err)
	}
	source.ResultSelector = map[string]any{"keySchema.$": "$.Table.KeySchema"}
	source.ResultPath = "$.source"
	source.Next = "ResolveRestoreKey"
	states["DescribeSourceTable"] = source
	// StartRestoreJob takes the key ARN (kmsMasterKeyArn); the definition
	// names the data key by alias, so the ARN is read at run time. A key
	// that is not Enabled cannot encrypt the restored table: the restore
	// would fail after minutes, so it fails here, before anything is
	// restored (KeyState, AWS KMS API Reference, KeyMetadata).
	describeKey := t.dataKey([]string{"kms:DescribeKey"}, nil)
	key, err := sdkTask("kms", "DescribeKey", map[string]any{"KeyId": t.DataKeyAlias}, describeKey.Resources, checkError)
	if err != nil {
		return nil, fmt.Errorf("backup verification: %w", err)
	}
	key.Comment = "The data key's ARN for the restore's kmsMasterKeyArn, from its alias"
	key.Policy = []Permission{describeKey}
	key.ResultSelector = map[string]any{"arn.$": "$.KeyMetadata.Arn", "state.$": "$.KeyMetadata.KeyState"}
	key.ResultPath = "$.restoreKey"
	key.Next = "RestoreKeyEnabled"
	states["ResolveRestoreKey"] = key
	states["RestoreKeyEnabled"] = &Choice{
		Choices: []ChoiceRule{next(strEq("$.restoreKey.state", "Enabled"), "PrepareRestore")},
		Default: fail("RestoreKeyUnusable", "KEY_UNUSABLE",
			fmt.Sprintf("the data key %s is not Enabled (details.restoreKey.state); nothing was restored", t.DataKeyAlias),
			"BackupVerification.KeyUnusable"),
	}
	hash := "States.Hash($$.Execution.Id, 'MD5')"
	states["PrepareRestore"] = &Pass{
		Comment: "The MD5 of the execution ARN names the table (unique per execution, only [0-9a-f]) and makes StartRestoreJob retries idempotent",
		Parameters: map[string]any{
			"recoveryPointArn.$": fmt.Sprintf("States.ArrayGetItem($.recoveryPoints[%d].completed, 0)", t.tableIndex()),
			"token.$":            hash,
			"tableName.$":        fmt.Sprintf("States.Format('%s%s{}', %s)", escapeFormat(t.TableName), VerifyTableInfix, hash),
		},
		ResultPath: "$.restore",
		Next:       "StartRestore",
	}
	markFailureThen := func(name, reason, nextState string) string {
		states[name] = &Pass{Result: map[string]any{"reason": reason}, ResultPath: "$.failure", Next: nextState}
		return name
	}
	markFailure := func(name, reason string) string { return markFailureThen(name, reason, "CleanUp") }

	start, err := sdkTask("backup", "StartRestoreJob", map[string]any{
		"RecoveryPointArn.$": "$.restore.recoveryPointArn",
		"IamRoleArn":         t.RestoreRoleArn,
		"ResourceType":       "DynamoDB",
		"IdempotencyToken.$": "$.restore.token",
		"Metadata": map[string]any{
			"TargetTableName.$": "$.restore.tableName",
			"encryptionType":    "KMS",
			"kmsMasterKeyArn.$": "$.restoreKey.arn",
		},
	}, []string{t.recoveryPointArns()}, markFailure("RestoreNotStarted", "StartRestoreJob failed"))
	if err != nil {
		return nil, fmt.Errorf("backup verification: %w", err)
	}
	// Retrying StartRestoreJob on server errors cannot start a second
	// restore: "retrying a successful request with the same idempotency
	// token results in a success message with no action taken" (AWS Backup
	// API reference, StartRestoreJob, IdempotencyToken).
	start.Policy = append(start.Policy, Permission{
		Actions:   []string{"iam:PassRole"},
		Resources: []string{t.RestoreRoleArn},
		Condition: map[string]map[string]any{"StringEquals": {"iam:PassedToService": "backup.amazonaws.com"}},
	})
	start.ResultSelector = map[string]any{"id.$": "$.RestoreJobId"}
	start.ResultPath = "$.restore.job"
	start.Next = "InitRestorePoll"
	states["StartRestore"] = start
	states["InitRestorePoll"] = &Pass{Result: map[string]any{"attempt": 0}, ResultPath: "$.poll", Next: "WaitForRestore"}
	states["WaitForRestore"] = &Wait{Seconds: restorePollSeconds, Next: "DescribeRestoreJob"}
	pollJob, err := sdkTask("backup", "DescribeRestoreJob", map[string]any{"RestoreJobId.$": "$.restore.job.id"},
		[]string{"*"}, markFailureThen("RestorePollError", "DescribeRestoreJob failed while waiting for the restore", "InitRestoreWatch"))
	if err != nil {
		return nil, fmt.Errorf("backup verification: %w", err)
	}
	pollJob.ResultSelector = map[string]any{"status.$": "$.Status"}
	pollJob.ResultPath = "$.restore.state"
	pollJob.Next = "RestoreState"
	states["DescribeRestoreJob"] = pollJob
	states["RestoreState"] = &Choice{
		Choices: []ChoiceRule{
			next(strEq("$.restore.state.status", "COMPLETED"), "DescribeRestoredTable"),
			next(or(strEq("$.restore.state.status", "FAILED"), strEq("$.restore.state.status", "ABORTED")),
				markFailure("RestoreJobFailed", "the restore job FAILED or was ABORTED")),
		},
		Default: "CountRestorePoll",
	}
	addPollBudget(states, "Restore", t.RestoreTimeoutSeconds, restorePollSeconds,
		markFailureThen("RestoreTimedOut", fmt.Sprintf("the restore did not complete within %d seconds", t.RestoreTimeoutSeconds), "InitRestoreWatch"),
		"WaitForRestore")

	// --- a restore that outlives the wait: watch it, then delete its table ---
	unconfirmed := fail("CleanupUnconfirmed", "CLEANUP_UNCONFIRMED",
		fmt.Sprintf("the restore job had not ended %d seconds after the runbook stopped waiting for it (or could not be read): "+
			"when it completes it leaves details.restore.tableName behind; check restore job details.restore.job.id and delete the table",
			RestoreWatchSeconds(t)),
		"BackupVerification.CleanupUnconfirmed")
	states["InitRestoreWatch"] = &Pass{Result: map[string]any{"attempt": 0}, ResultPath: "$.restoreWatch", Next: "WaitForRestoreEnd"}
	states["WaitForRestoreEnd"] = &Wait{Seconds: restoreWatchPollSeconds, Next: "WatchRestoreJob"}
	watch, err := sdkTask("backup", "DescribeRestoreJob", map[string]any{"RestoreJobId.$": "$.restore.job.id"},
		[]string{"*"}, unconfirmed)
	if err != nil {
		return nil, fmt.Errorf("backup verification: %w", err)
	}
	watch.Comment = "DescribeRestoreJob is read-only: retried on throttling and server errors like the other polls"
	watch.ResultSelector = map[string]any{"status.$": "$.Status"}
	watch.ResultPath = "$.restore.state"
	watch.Catch[0].ResultPath = "$.watchError"
	watch.Next = "RestoreEnded"
	states["WatchRestoreJob"] = watch
	states["RestoreEnded"] = &Choice{
		Comment: "COMPLETED, FAILED and ABORTED are the job's final states; the table (if any) can be deleted now",
		Choices: []ChoiceRule{next(or(strEq("$.restore.state.status", "COMPLETED"), strEq("$.restore.state.status", "FAILED"),
			strEq("$.restore.state.status", "ABORTED")), "CleanUp")},
		Default: "CountRestoreWatch",
	}
	states["CountRestoreWatch"] = &Pass{
		Parameters: map[string]any{"attempt.$": "States.MathAdd($.restoreWatch.attempt, 1)"},
		ResultPath: "$.restoreWatch",
		Next:       "RestoreWatchBudget",
	}
	states["RestoreWatchBudget"] = &Choice{
		Choices: []ChoiceRule{next(numGte("$.restoreWatch.attempt", float64(pollAttempts(RestoreWatchSeconds(t), restoreWatchPollSeconds))), unconfirmed)},
		Default: "WaitForRestoreEnd",
	}
	restored, err := sdkTask("dynamodb", "DescribeTable", map[string]any{"TableName.$": "$.restore.tableName"},
		[]string{t.restoredTablePattern()}, markFailure("RestoredTableUnreadable", "DescribeTable failed on the restored table"))
	if err != nil {
		return nil, fmt.Errorf("backup verification: %w", err)
	}
	restored.ResultSelector = map[string]any{
		"status.$":    "$.Table.TableStatus",
		"keySchema.$": "$.Table.KeySchema",
		"itemCount.$": "$.Table.ItemCount",
	}
	restored.ResultPath = "$.restored"
	restored.Next = "CompareKeySchema"
	states["DescribeRestoredTable"] = restored
	states["CompareKeySchema"] = &Pass{
		Comment: "Both key schemas come from DescribeTable, so equal schemas serialize identically",
		Parameters: map[string]any{
			"source.$":   "States.JsonToString($.source.keySchema)",
			"restored.$": "States.JsonToString($.restored.keySchema)",
		},
		ResultPath: "$.comparison",
		Next:       "RestoredTableMatches",
	}
	states["RestoredTableMatches"] = &Choice{
		Choices: []ChoiceRule{next(and(strEq("$.restored.status", "ACTIVE"),
			ChoiceRule{Variable: "$.comparison.restored", StringEqualsPath: "$.comparison.source"}), "DeleteRestoredTable")},
		Default: "RecordMismatch",
	}
	// The report carries the schemas as JSON values, not as the strings
	// compared above.
	states["RecordMismatch"] = &Pass{
		Parameters: map[string]any{
			"matches":           false,
			"status.$":          "$.restored.status",
			"sourceKeySchema.$": "$.source.keySchema",
			"keySchema.$":       "$.restored.keySchema",
		},
		ResultPath: "$.comparison",
		Next:       markFailure("RestoredTableMismatch", "the restored table is not ACTIVE or its key schema differs from the source table's"),
	}

	deleteTable := func(onError []Catcher) (*Task, error) {
		task, err := sdkTask("dynamodb", "DeleteTable", map[string]any{"TableName.$": "$.restore.tableName"},
			[]string{t.restoredTablePattern()}, cleanupFailed)
		if err != nil {
			return nil, err
		}
		// A table still being created cannot be deleted yet: wait for it.
		task.Retry = append(task.Retry, Retrier{
			ErrorEquals: []string{"DynamoDb.ResourceInUseException"}, IntervalSeconds: 30, MaxAttempts: 10,
			BackoffRate: 1.5, MaxDelaySeconds: 300, JitterStrategy: "FULL",
		})
		task.ResultSelector = map[string]any{"status.$": "$.TableDescription.TableStatus"}
		task.ResultPath = "$.cleanup"
		if onError != nil {
			task.Catch = onError
		} else {
			task.Catch[0].ResultPath = "$.cleanupError"
		}
		return task, nil
	}
	del, err := deleteTable(nil)
	if err != nil {
		return nil, fmt.Errorf("backup verification: %w", err)
	}
	// A retried DeleteTable whose first attempt did go through finds no
	// table: that is the deletion we asked for, not a cleanup failure.
	del.Catch = append([]Catcher{{ErrorEquals: []string{"DynamoDb.ResourceNotFoundException"}, Next: "VerifiedReport", ResultPath: "$.cleanup"}}, del.Catch...)
	del.Next = "VerifiedReport"
	states["DeleteRestoredTable"] = del
	states["VerifiedReport"] = &Pass{
		Parameters: map[string]any{
			"runbook":          BackupVerificationName,
			"outcome":          "VERIFIED",
			"requestedBy.$":    "$.requestedBy",
			"executionId.$":    "$$.Execution.Id",
			"startedAt.$":      "$$.Execution.StartTime",
			"cutoff.$":         "$.rpo.cutoff",
			"recoveryPoints.$": "$.recoveryPoints",
			"restoredFrom.$":   "$.restore.recoveryPointArn",
			"restoredTable.$":  "$.restore.tableName",
			"restoreJobId.$":   "$.restore.job.id",
			"itemCount.$":      "$.restored.itemCount",
		},
		ResultPath: "$.report",
		Next:       "NotifyVerified",
	}
	states["NotifyVerified"] = notifyTask(t.TopicArn, subject(BackupVerificationName, "VERIFIED"), "$.report", "Verified", "NotificationFailed")
	states["Verified"] = &Succeed{}

	cleanUp, err := deleteTable([]Catcher{
		{ErrorEquals: []string{"DynamoDb.ResourceNotFoundException"}, Next: failed, ResultPath: "$.cleanup"},
		{ErrorEquals: []string{"States.ALL"}, Next: cleanupFailed, ResultPath: "$.cleanupError"},
	})
	if err != nil {
		return nil, fmt.Errorf("backup verification: %w", err)
	}
	cleanUp.Comment = "Delete the temporary table after a failure; a table that was never created counts as deleted"
	cleanUp.Next = failed
	states["CleanUp"] = cleanUp

	return &StateMachine{
		Comment:        "trading-ha backup verification: recovery point freshness, test restore of the sessions table, cleanup",
		StartAt:        "ValidateInput",
		TimeoutSeconds: t.RestoreTimeoutSeconds + RestoreWatchSeconds(t) + 3600,
		States:         states,
	}, nil
}

// CutoffExpression is the JSONata Output of the cutoff state: the state
// input with rpo = {thresholdMinutes, cutoff}, cutoff being the execution
// start time minus the threshold, as ISO-8601 UTC with milliseconds.
func CutoffExpression(thresholdMinutes int) string {
	return fmt.Sprintf("{%% $merge([$states.input, {'rpo': {'thresholdMinutes': %d, "+
		"'cutoff': $fromMillis($toMillis($states.context.Execution.StartTime) - %d)}}]) %%}",
		thresholdMinutes, thresholdMinutes*60*1000)
}

// escapeFormat escapes the characters States.Format treats specially.
func escapeFormat(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`, `{`, `\{`, `}`, `\}`).Replace(s)
}

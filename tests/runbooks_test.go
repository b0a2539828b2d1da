package tests

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/infra/arn"
	rb "github.com/trading-ha/trading-ha/infra/asl"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/sessions"
	"github.com/trading-ha/trading-ha/infra/statemachine"
	"github.com/trading-ha/trading-ha/proof/offline"
	"github.com/trading-ha/trading-ha/proof/policy"
)

// runbookNames maps each runbook's logical name to its physical names.
var runbookNames = map[string]struct{ sm, logs, role string }{
	rb.HealthCheckName:        {"sm-health-check", "/aws/vendedlogs/states-health-check", "role-sm-health-check"},
	rb.BackupVerificationName: {"sm-backup-verify", "/aws/vendedlogs/states-backup-verify", "role-sm-backup-verify"},
	rb.DatabaseFailoverName:   {"sm-db-failover", "/aws/vendedlogs/states-db-failover", "role-sm-db-failover"},
	rb.ServiceRecoveryName:    {"sm-svc-recovery", "/aws/vendedlogs/states-svc-recovery", "role-sm-svc-recovery"},
	rb.MigrateName:            {"sm-migrate", "/aws/vendedlogs/states-migrate", "role-sm-migrate"},
}

// expectedTargets is what the runbooks must be built over in a stack: the
// naming-derived identifiers of the parallel components (MERGE markers in
// deploy.go) and the recorded outputs of the merged ones.
func expectedTargets(t *testing.T, stack string, rec *offline.Recording) rb.Targets {
	t.Helper()
	arn := func(svc, res string) string { return "arn:aws:" + svc + ":us-east-1:" + acct + ":" + res }
	table := out(t, one(t, rec, "aws:dynamodb/table:Table", "sessions-sessions"), "arn")
	bucket := out(t, one(t, rec, "aws:s3/bucketV2:BucketV2", "data"), "arn")
	return rb.Targets{
		ClusterIdentifier:        "aurora-" + stack,
		ClusterArn:               arn("rds", "cluster:aurora-"+stack),
		WriterInstanceIdentifier: "aurora-" + stack + "-1",
		// dev runs a writer and one reader, prod two readers
		ReaderInstanceIdentifiers: perStack(stack, []string{"aurora-dev-2"}, []string{"aurora-prod-2", "aurora-prod-3"}),
		ECSClusterArn:             arn("ecs", "cluster/ecs-"+stack),
		ECSServiceName:            "svc-trading-" + stack,
		ECSServiceArn:             arn("ecs", "service/ecs-"+stack+"/svc-trading-"+stack),
		TaskRoleArn:               "arn:aws:iam::" + acct + ":role/role-task-" + stack,
		ExecutionRoleArn:          "arn:aws:iam::" + acct + ":role/role-task-execution-" + stack,
		MigrateTaskFamily:         "task-migrate-" + stack,
		MigrateExecutionRoleArn:   "arn:aws:iam::" + acct + ":role/role-migrate-execution-" + stack,
		MigrateNetworkParameter:   "/trading/" + stack + "/migrate/network",
		TargetGroupNames:          []string{get(t, one(t, rec, "aws:lb/targetGroup:TargetGroup", "app"), "name").(string)},
		TableName:                 "sessions-" + stack,
		TableArn:                  table,
		BackupVaultName:           "vault-" + stack,
		ProtectedResourceArns:     []string{arn("rds", "cluster:aurora-"+stack), table, bucket},
		RestoreRoleArn:            "arn:aws:iam::" + acct + ":role/role-backup-" + stack,
		DataKeyAlias:              "alias/kms-data-" + stack,
		CanaryName:                "canary-" + stack,
		AlarmNames:                []string{"alarm-degraded-" + stack},
		CustomerImpactAlarmNames: []string{"alarm-canary-success-" + stack, "alarm-r53-health-" + stack,
			"alarm-alb-5xx-rate-" + stack, "alarm-p99-latency-" + stack},
		DependencyAlarmNames: []string{"alarm-ddb-sessions-throttles-" + stack, "alarm-ddb-sessions-system-errors-" + stack},
		ZonalAlarmNames: []string{"alarm-healthy-hosts-us-east-1a-" + stack, "alarm-healthy-hosts-us-east-1b-" + stack,
			"alarm-healthy-hosts-us-east-1c-" + stack},
		TopicArn:                 arn("sns", "notify-"+stack),
		PageTopicArn:             arn("sns", "alarms-"+stack),
		RpoThresholdMinutes:      1560,
		FailoverTimeoutSeconds:   600,
		DeploymentTimeoutSeconds: 900,
		RestoreTimeoutSeconds:    3600,
	}
}

// TestRunbookStateMachines: five STANDARD machines, logging ALL with
// execution data into their own KMS-encrypted group, tracing on, and a
// definition equal to the asl package's output for the stack's targets.
func TestRunbookStateMachines(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		telemetry := out(t, one(t, rec, "aws:kms/key:Key", "key-telemetry"), "arn")
		targets := expectedTargets(t, stack, rec)
		inComponent := 0
		for _, r := range rec.ByType("aws:sfn/stateMachine:StateMachine") {
			if r.Component == "trading:runbooks:Runbooks" {
				inComponent++
			}
		}
		if inComponent != 5 {
			t.Errorf("%d state machines in the runbooks component, want 5", inComponent)
		}
		for _, book := range rb.Runbooks() {
			n := runbookNames[book.Name]
			sm := one(t, rec, "aws:sfn/stateMachine:StateMachine", book.Name)
			lg := one(t, rec, "aws:cloudwatch/logGroup:LogGroup", book.Name+"-logs")
			eq(t, sm, "name", n.sm+"-"+stack)
			eq(t, sm, "type", "STANDARD")
			eq(t, sm, "loggingConfiguration.level", "ALL")
			eq(t, sm, "loggingConfiguration.includeExecutionData", true)
			eq(t, sm, "loggingConfiguration.logDestination", out(t, lg, "arn")+":*")
			eq(t, sm, "tracingConfiguration.enabled", true)
			eq(t, sm, "roleArn", "arn:aws:iam::"+acct+":role/"+n.role+"-"+stack)
			eq(t, lg, "name", n.logs+"-"+stack)
			eq(t, lg, "kmsKeyId", telemetry)
			eq(t, lg, "retentionInDays", map[string]int{"dev": 30, "prod": 365}[stack])

			want, err := book.Build(targets)
			if err != nil {
				t.Fatal(err)
			}
			wantJSON, err := want.JSON()
			if err != nil {
				t.Fatal(err)
			}
			if got := get(t, sm, "definition"); got != wantJSON {
				t.Errorf("%s: definition differs from the asl builder %s over the stack's targets", book.Name, book.Name)
			}
			var def map[string]any
			jsonInput(t, sm, "definition", &def)
			checkTasks(t, book.Name, def)
		}
	})
}

// checkTasks walks a parsed definition: every Task is an AWS SDK (or the
// optimized SNS, or ECS RunTask as a job) integration, never Lambda, with
// Retry and a final States.ALL catcher.
func checkTasks(t *testing.T, machine string, def map[string]any) {
	t.Helper()
	for _, ns := range states(def) {
		name, s := ns.name, ns.state
		if s["Type"] != "Task" {
			continue
		}
		res, _ := s["Resource"].(string)
		if strings.Contains(res, "lambda") || !(strings.HasPrefix(res, "arn:aws:states:::aws-sdk:") || res == "arn:aws:states:::sns:publish" ||
			res == "arn:aws:states:::ecs:runTask.sync") {
			t.Errorf("%s/%s: resource %q is not an SDK integration", machine, name, res)
		}
		retry, _ := s["Retry"].([]any)
		catch, _ := s["Catch"].([]any)
		if len(retry) == 0 || len(catch) == 0 {
			t.Errorf("%s/%s: Retry %v Catch %v", machine, name, retry, catch)
			continue
		}
		last := catch[len(catch)-1].(map[string]any)["ErrorEquals"].([]any)
		if !reflect.DeepEqual(last, []any{"States.ALL"}) {
			t.Errorf("%s/%s: last catcher %v is not States.ALL", machine, name, last)
		}
	}
}

// TestRunbookRoles: each machine has its own role (states.amazonaws.com,
// aws:SourceAccount) whose inline policy is exactly the definition's
// derived statements plus telemetry key, log delivery and X-Ray.
func TestRunbookRoles(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		telemetry := keyRef(t, rec, "telemetry")
		targets := expectedTargets(t, stack, rec)
		for _, book := range rb.Runbooks() {
			role := one(t, rec, "aws:iam/role:Role", book.Name+"-role")
			eq(t, role, "name", runbookNames[book.Name].role+"-"+stack)
			var trust policyDoc
			jsonInput(t, role, "assumeRolePolicy", &trust)
			if len(trust.Statement) != 1 || trust.Statement[0].Principal["Service"] != "states.amazonaws.com" ||
				trust.Statement[0].Condition["StringEquals"]["aws:SourceAccount"] != acct {
				t.Errorf("%s trust = %+v", book.Name, trust.Statement)
			}

			rp := one(t, rec, "aws:iam/rolePolicy:RolePolicy", book.Name+"-role")
			eq(t, rp, "role", runbookNames[book.Name].role+"-"+stack)
			var got policyDoc
			jsonInput(t, rp, "policy", &got)
			sm, err := book.Build(targets)
			if err != nil {
				t.Fatal(err)
			}
			var want policyDoc
			wantJSON, err := statemachine.Policy(sm, telemetry).JSON()
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(wantJSON), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s policy\n got %+v\nwant %+v", book.Name, got, want)
			}
			// The derived part is the Task states' permissions, one statement each.
			perms := sm.Permissions()
			if len(got.Statement) != len(perms)+3 {
				t.Errorf("%s: %d statements, want %d derived + 3", book.Name, len(got.Statement), len(perms))
			}
			for i, p := range perms {
				if i < len(got.Statement) && (!reflect.DeepEqual(got.Statement[i].Action, p.Actions) || !reflect.DeepEqual(got.Statement[i].Resource, p.Resources)) {
					t.Errorf("%s statement %d = %v on %v, want %v on %v", book.Name, i, got.Statement[i].Action, got.Statement[i].Resource, p.Actions, p.Resources)
				}
			}
			for _, s := range got.Statement {
				for _, a := range s.Action {
					if a == "*" || strings.HasSuffix(a, ":*") {
						t.Errorf("%s: wildcard action %q", book.Name, a)
					}
					if slices.Contains(s.Resource, "*") && !policy.StarAllowed(a) {
						t.Errorf("%s: %s on \"*\" is not allowed by policy.StarAllowed", book.Name, a)
					}
				}
			}
		}
		// Spot-check the derived values that matter most.
		actions := func(name string) map[string][]string {
			var doc policyDoc
			jsonInput(t, one(t, rec, "aws:iam/rolePolicy:RolePolicy", name+"-role"), "policy", &doc)
			out := map[string][]string{}
			for _, s := range doc.Statement {
				for _, a := range s.Action {
					out[a] = append(out[a], s.Resource...)
				}
			}
			return out
		}
		fo := actions(rb.DatabaseFailoverName)
		wantDB := []string{}
		for i := 1; i <= perStack(stack, 2, 3); i++ {
			wantDB = append(wantDB, "arn:aws:rds:us-east-1:"+acct+":db:aurora-"+stack+"-"+string(rune('0'+i)))
		}
		// The failover names its target instance, a resource of the action too:
		// a grant on the cluster alone is refused.
		if want := append([]string{targets.ClusterArn}, wantDB...); !reflect.DeepEqual(fo["rds:FailoverDBCluster"], want) {
			t.Errorf("FailoverDBCluster on %v, want %v", fo["rds:FailoverDBCluster"], want)
		}
		if !reflect.DeepEqual(fo["rds:DescribeDBInstances"], wantDB) {
			t.Errorf("DescribeDBInstances on %v, want %v", fo["rds:DescribeDBInstances"], wantDB)
		}
		bv := actions(rb.BackupVerificationName)
		if !reflect.DeepEqual(bv["iam:PassRole"], []string{targets.RestoreRoleArn}) ||
			!reflect.DeepEqual(bv["dynamodb:DeleteTable"], []string{targets.TableArn + "-verify-*"}) ||
			!reflect.DeepEqual(bv["backup:ListRecoveryPointsByBackupVault"], []string{"arn:aws:backup:us-east-1:" + acct + ":backup-vault:vault-" + stack}) {
			t.Errorf("backup verification grants %v", bv)
		}
		// Service recovery: the rollback passes the service's two
		// roles to ECS tasks only; the lock may touch its own item only; ECS
		// writes are scoped to the service.
		var srDoc policyDoc
		jsonInput(t, one(t, rec, "aws:iam/rolePolicy:RolePolicy", rb.ServiceRecoveryName+"-role"), "policy", &srDoc)
		lockKey := rb.ServiceRecoveryLockKey(targets)
		var passRole, lock, update bool
		for _, st := range srDoc.Statement {
			switch {
			case slices.Contains(st.Action, "iam:PassRole"):
				passRole = reflect.DeepEqual(slices.Sorted(slices.Values(st.Resource)), slices.Sorted(slices.Values([]string{targets.TaskRoleArn, targets.ExecutionRoleArn}))) &&
					st.Condition["StringEquals"]["iam:PassedToService"] == "ecs-tasks.amazonaws.com" && len(st.Action) == 1
			case slices.Contains(st.Action, "dynamodb:PutItem"):
				keys, _ := st.Condition["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"].([]any)
				lock = reflect.DeepEqual(st.Resource, []string{targets.TableArn}) && len(keys) == 1 && keys[0] == lockKey &&
					reflect.DeepEqual(st.Action, []string{"dynamodb:DeleteItem", "dynamodb:PutItem"})
			case slices.Contains(st.Action, "ecs:UpdateService"):
				update = reflect.DeepEqual(st.Resource, []string{targets.ECSServiceArn})
			}
		}
		if !passRole || !lock || !update {
			t.Errorf("service recovery grants (passRole %v, lock %v, update %v): %+v", passRole, lock, update, srDoc.Statement)
		}
		// The previous version comes from the service's deployment history:
		// the service itself and its own service revisions only.
		sr := actions(rb.ServiceRecoveryName)
		revisions := strings.Replace(targets.ECSServiceArn, ":service/", ":service-revision/", 1) + "/*"
		if revisions != "arn:aws:ecs:us-east-1:"+acct+":service-revision/ecs-"+stack+"/svc-trading-"+stack+"/*" {
			t.Errorf("service revisions ARN %q", revisions)
		}
		if !reflect.DeepEqual(sr["ecs:ListServiceDeployments"], []string{targets.ECSServiceArn}) ||
			!reflect.DeepEqual(slices.Sorted(slices.Values(sr["ecs:DescribeServiceRevisions"])), slices.Sorted(slices.Values([]string{targets.ECSServiceArn, revisions}))) {
			t.Errorf("service recovery history grants: ListServiceDeployments on %v, DescribeServiceRevisions on %v",
				sr["ecs:ListServiceDeployments"], sr["ecs:DescribeServiceRevisions"])
		}
		for _, name := range []string{rb.HealthCheckName, rb.BackupVerificationName, rb.DatabaseFailoverName} {
			if got := actions(name)["sns:Publish"]; !reflect.DeepEqual(got, []string{targets.TopicArn}) {
				t.Errorf("%s: sns:Publish on %v", name, got)
			}
		}
		// The service recovery also pages (NOT_RECOVERED, ROLLBACK_FAILED).
		if got := slices.Sorted(slices.Values(actions(rb.ServiceRecoveryName)["sns:Publish"])); !reflect.DeepEqual(got,
			slices.Sorted(slices.Values([]string{targets.TopicArn, targets.PageTopicArn}))) {
			t.Errorf("%s: sns:Publish on %v", rb.ServiceRecoveryName, got)
		}
	})
}

// TestRunbookSchedules: the health check (dev every 15 min, prod every 5)
// and the backup verification (daily 12:00 UTC) run on schedules whose
// roles may start exactly their machine.
func TestRunbookSchedules(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		for _, c := range []struct {
			runbook, name, role, expr string
			maxAge                    int
		}{
			{rb.HealthCheckName, "sched-health-check", "role-sched-health-check", map[string]string{"dev": "rate(15 minutes)", "prod": "rate(5 minutes)"}[stack], 300},
			{rb.BackupVerificationName, "sched-backup-verify", "role-sched-backup-verify", "cron(0 12 * * ? *)", 3600},
		} {
			smArn := "arn:aws:states:us-east-1:" + acct + ":stateMachine:" + runbookNames[c.runbook].sm + "-" + stack
			s := one(t, rec, "aws:scheduler/schedule:Schedule", c.runbook+"-schedule")
			eq(t, s, "name", c.name+"-"+stack)
			eq(t, s, "scheduleExpression", c.expr)
			eq(t, s, "flexibleTimeWindow.mode", "OFF")
			eq(t, s, "target.arn", smArn)
			eq(t, s, "target.roleArn", "arn:aws:iam::"+acct+":role/"+c.role+"-"+stack)
			eq(t, s, "target.retryPolicy.maximumEventAgeInSeconds", c.maxAge)
			// A throttled or failed StartExecution is retried (EventBridge
			// Scheduler RetryPolicy, 0-185 attempts) before the DLQ.
			eq(t, s, "target.retryPolicy.maximumRetryAttempts", 3)
			eq(t, s, "target.deadLetterConfig.arn", "arn:aws:sqs:us-east-1:"+acct+":sched-dlq-"+stack)
			var in map[string]any
			jsonInput(t, s, "target.input", &in)
			if !reflect.DeepEqual(in, map[string]any{"requestedBy": "scheduler:" + c.name + "-" + stack}) {
				t.Errorf("%s input = %v", c.runbook, in)
			}

			role := one(t, rec, "aws:iam/role:Role", c.runbook+"-schedule-role")
			var trust, doc policyDoc
			jsonInput(t, role, "assumeRolePolicy", &trust)
			if trust.Statement[0].Principal["Service"] != "scheduler.amazonaws.com" || trust.Statement[0].Condition["StringEquals"]["aws:SourceAccount"] != acct {
				t.Errorf("%s schedule trust = %+v", c.runbook, trust.Statement)
			}
			jsonInput(t, one(t, rec, "aws:iam/rolePolicy:RolePolicy", c.runbook+"-schedule-role"), "policy", &doc)
			schedulePolicyIs(t, doc, smArn, stack)
		}
		if n := len(rec.ByType("aws:scheduler/schedule:Schedule")); n != 4 {
			t.Errorf("%d schedules, want 4 (snapshot, health check, backup verification, key sync: TestKeySync)", n)
		}
	})
}

// TestRunbookAlarmsWatchTheRecordedMachines: monitoring builds the
// failed-execution alarms before the runbooks exist, from their fixed
// names; each alarm must point at a state machine the stack really creates.
func TestRunbookAlarmsWatchTheRecordedMachines(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		machines := map[string]bool{}
		for _, sm := range rec.ByType("aws:sfn/stateMachine:StateMachine") {
			machines[out(t, sm, "arn")] = true
		}
		n := 0
		for _, a := range rec.ByType("aws:cloudwatch/metricAlarm:MetricAlarm") {
			if a.Inputs["metricName"] != "ExecutionsFailed" {
				continue
			}
			n++
			arn, _ := get(t, a, "dimensions.StateMachineArn").(string)
			if !machines[arn] {
				t.Errorf("alarm %s watches %q, which the stack does not create", a.Name, arn)
			}
		}
		// Every state machine, the backup snapshot workflow and the key sync included.
		if n != len(machines) || n != 7 {
			t.Errorf("%d failed-execution alarms for %d state machines, want one each (7)", n, len(machines))
		}
	})
}

// TestRunbookLockItemFitsTheSessionsTable: the service recovery's lock item
// lives in the sessions table, so its key and lease attributes are that
// table's partition key and TTL attribute (infra/asl cannot import the
// sessions component; this test holds the two together).
func TestRunbookLockItemFitsTheSessionsTable(t *testing.T) {
	if rb.LockPartitionKey != sessions.PartitionKey || rb.LockTTLAttribute != sessions.TTLAttribute {
		t.Errorf("lock item key %q / TTL %q, sessions table %q / %q",
			rb.LockPartitionKey, rb.LockTTLAttribute, sessions.PartitionKey, sessions.TTLAttribute)
	}
}

// schedulePolicyIs asserts a schedule role's policy: start exactly its
// state machine, dead-letter into the scheduler DLQ, and use the telemetry
// key for that queue only through SQS.
func schedulePolicyIs(t *testing.T, doc policyDoc, smArn, stack string) {
	t.Helper()
	want := []policyStatement{
		{Sid: "StartRunbook", Effect: "Allow", Action: []string{"states:StartExecution"}, Resource: []string{smArn}},
		{Sid: "DeadLetter", Effect: "Allow", Action: []string{"sqs:SendMessage"}, Resource: []string{"arn:aws:sqs:us-east-1:" + acct + ":sched-dlq-" + stack}},
	}
	if len(doc.Statement) != 3 {
		t.Fatalf("schedule policy has %d statements, want 3: %+v", len(doc.Statement), doc.Statement)
	}
	for i, w := range want {
		got := doc.Statement[i]
		if got.Sid != w.Sid || !reflect.DeepEqual(got.Action, w.Action) || !reflect.DeepEqual(got.Resource, w.Resource) {
			t.Errorf("schedule policy statement %d = %+v, want %+v", i, got, w)
		}
	}
	kms := doc.Statement[2]
	if kms.Sid != "DeadLetterEncryption" || !reflect.DeepEqual(kms.Action, []string{"kms:GenerateDataKey", "kms:Decrypt"}) {
		t.Errorf("schedule policy KMS statement = %+v", kms)
	}
	// The telemetry key (it encrypts the queue) by alias, only through SQS.
	keyGrantIs(t, "schedule policy", kms, "alias/kms-telemetry-"+stack,
		map[string]map[string]any{"StringEquals": {"kms:ViaService": "sqs.us-east-1.amazonaws.com"}})
}

// TestKeyPermissionsAreIAMDocKeys: the workflows grant keys by alias in the
// same statement shape as the identity policies (iamdoc.Key, which the
// policy suite's key checks read): key/* of the account, the alias under
// ForAnyValue:StringEquals kms:ResourceAliases, plus the permission's own
// conditions. asl is a leaf package and writes that shape itself
// (asl.KeyResourceAliasesOperator); this holds the two equal.
func TestKeyPermissionsAreIAMDocKeys(t *testing.T) {
	x := rb.ExampleTargets()
	keys := arn.In(offline.Region, acct).Keys()
	machines := map[string]func() (*rb.StateMachine, error){
		rb.ServiceSnapshotName: func() (*rb.StateMachine, error) { return rb.ServiceSnapshot(rb.ExampleSnapshotTargets()) },
	}
	for _, book := range rb.Runbooks() {
		machines[book.Name] = func() (*rb.StateMachine, error) { return book.Build(x) }
	}
	found := 0
	for name, build := range machines {
		sm, err := build()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range sm.Permissions() {
			if !slices.ContainsFunc(p.Actions, func(a string) bool { return strings.HasPrefix(a, "kms:") }) {
				continue
			}
			found++
			alias, _ := p.Condition[rb.KeyResourceAliasesOperator]["kms:ResourceAliases"].(string)
			if alias != x.DataKeyAlias {
				t.Errorf("%s: %v not granted by the data key's alias: %v", name, p.Actions, p.Condition)
				continue
			}
			rest := map[string]map[string]any{}
			for op, kv := range p.Condition {
				if op != rb.KeyResourceAliasesOperator {
					rest[op] = kv
				}
			}
			want := iamdoc.Key{Keys: keys, Alias: alias}.Allow("", p.Actions, rest)
			if !reflect.DeepEqual(p.Resources, want.Resource) || !reflect.DeepEqual(p.Condition, want.Condition) {
				t.Errorf("%s: %v on %v if %v; iamdoc.Key writes %v if %v", name, p.Actions, p.Resources, p.Condition, want.Resource, want.Condition)
			}
		}
	}
	// the service recovery's lock (its two tasks' grants merge into one),
	// the backup verification's DescribeKey and the snapshot's PutObject
	if found != 3 {
		t.Errorf("%d key permissions, want 3", found)
	}
}

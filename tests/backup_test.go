package tests

import (
	"encoding/json"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/infra/arn"
	rb "github.com/trading-ha/trading-ha/infra/asl"
	"github.com/trading-ha/trading-ha/infra/statemachine"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// backupARNs are the three protected resources of a stack.
func backupARNs(t *testing.T, stack string, rec *offline.Recording) (aurora, table, bucket string) {
	t.Helper()
	aurora = "arn:aws:rds:us-east-1:" + acct + ":cluster:aurora-" + stack
	table = out(t, one(t, rec, "aws:dynamodb/table:Table", "sessions-sessions"), "arn")
	bucket = out(t, one(t, rec, "aws:s3/bucketV2:BucketV2", "data"), "arn")
	if table != "arn:aws:dynamodb:us-east-1:"+acct+":table/sessions-"+stack || !strings.HasPrefix(bucket, "arn:aws:s3:::data-"+stack+"-") {
		t.Fatalf("unexpected table %s / bucket %s", table, bucket)
	}
	return aurora, table, bucket
}

func TestBackupVault(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		dataKey := out(t, one(t, rec, "aws:kms/key:Key", "key-data"), "arn")
		v := one(t, rec, "aws:backup/vault:Vault", "vault")
		eq(t, v, "name", "vault-"+stack)
		eq(t, v, "kmsKeyArn", dataKey)
		eq(t, v, "forceDestroy", !protected(stack))
		n := one(t, rec, "aws:backup/vaultNotifications:VaultNotifications", "vault-notifications")
		eq(t, n, "backupVaultName", "vault-"+stack)
		eq(t, n, "snsTopicArn", "arn:aws:sns:us-east-1:"+acct+":notify-"+stack)
		eq(t, n, "backupVaultEvents", []string{"COPY_JOB_FAILED", "S3_BACKUP_OBJECT_FAILED", "S3_RESTORE_OBJECT_FAILED"})
	})
}

func TestBackupPlansAndSelections(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		retention := map[string]int{"dev": 7, "prod": 35}[stack]
		daily := one(t, rec, "aws:backup/plan:Plan", "plan")
		eq(t, daily, "name", "backup-plan-"+stack)
		if rules := get(t, daily, "rules").([]any); len(rules) != 1 {
			t.Fatalf("daily plan has %d rules", len(rules))
		}
		eq(t, daily, "rules.0.ruleName", "daily")
		eq(t, daily, "rules.0.targetVaultName", "vault-"+stack)
		eq(t, daily, "rules.0.schedule", "cron(0 5 * * ? *)")
		eq(t, daily, "rules.0.startWindow", 60)
		eq(t, daily, "rules.0.completionWindow", 360)
		eq(t, daily, "rules.0.lifecycle.deleteAfter", retention)
		if v, ok := daily.Inputs["rules"].([]any)[0].(map[string]any)["enableContinuousBackup"]; ok && v == true {
			t.Error("daily rule must be a snapshot rule")
		}

		pitr := one(t, rec, "aws:backup/plan:Plan", "plan-pitr")
		eq(t, pitr, "name", "backup-pitr-"+stack)
		eq(t, pitr, "rules.0.ruleName", "continuous")
		eq(t, pitr, "rules.0.enableContinuousBackup", true)
		eq(t, pitr, "rules.0.targetVaultName", "vault-"+stack)
		eq(t, pitr, "rules.0.lifecycle.deleteAfter", retention)
		if d := get(t, pitr, "rules.0.lifecycle.deleteAfter").(float64); d > 35 {
			t.Errorf("continuous retention %v exceeds AWS Backup's 35 days", d)
		}

		role := "arn:aws:iam::" + acct + ":role/role-backup-" + stack
		aurora, table, bucket := backupARNs(t, stack, rec)
		for _, c := range []struct {
			logical, planID string
			want            []string
		}{
			{"selection-daily", daily.ID, []string{aurora, table, bucket}},
			{"selection-pitr", pitr.ID, []string{aurora, bucket}}, // DynamoDB: no AWS Backup continuous backup
		} {
			s := one(t, rec, "aws:backup/selection:Selection", c.logical)
			eq(t, s, "planId", c.planID)
			eq(t, s, "iamRoleArn", role)
			eq(t, s, "resources", c.want)
		}

		var trust policyDoc
		jsonInput(t, one(t, rec, "aws:iam/role:Role", "backup-role"), "assumeRolePolicy", &trust)
		if trust.Statement[0].Principal["Service"] != "backup.amazonaws.com" || trust.Statement[0].Condition["StringEquals"]["aws:SourceAccount"] != acct {
			t.Errorf("backup role trust = %+v", trust.Statement)
		}
		var attached []string
		for _, a := range rec.ByType("aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
			if strings.HasPrefix(a.Key, "backup-role-") {
				attached = append(attached, a.Inputs["policyArn"].(string))
			}
		}
		sort.Strings(attached)
		want := []string{
			"arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup",
			"arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore",
			"arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
			"arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
		}
		if !reflect.DeepEqual(attached, want) {
			t.Errorf("backup role policies = %v, want %v", attached, want)
		}
	})
}

func TestBackupRestoreTesting(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		p := one(t, rec, "aws:backup/restoreTestingPlan:RestoreTestingPlan", "restore-testing")
		eq(t, p, "name", "restore_testing_"+stack)
		eq(t, p, "scheduleExpression", "cron(0 6 ? * SUN *)")
		eq(t, p, "recoveryPointSelection.algorithm", "LATEST_WITHIN_WINDOW")
		eq(t, p, "recoveryPointSelection.includeVaults", []string{"arn:aws:backup:us-east-1:" + acct + ":backup-vault:vault-" + stack})
		eq(t, p, "recoveryPointSelection.recoveryPointTypes", []string{"SNAPSHOT"})

		aurora, table, _ := backupARNs(t, stack, rec)
		dataKey := out(t, one(t, rec, "aws:kms/key:Key", "key-data"), "arn")
		dbSG := out(t, one(t, rec, "aws:ec2/securityGroup:SecurityGroup", "sg-db"), "id")
		role := "arn:aws:iam::" + acct + ":role/role-backup-" + stack
		for _, c := range []struct {
			logical, typ, arn string
			overrides         map[string]any
		}{
			{"aurora", "Aurora", aurora, map[string]any{"dbsubnetgroupname": "dbsubnet-" + stack, "vpcsecuritygroupids": `["` + dbSG + `"]`}},
			{"sessions", "DynamoDB", table, map[string]any{"encryptionType": "KMS", "kmsMasterKeyArn": dataKey}},
		} {
			s := one(t, rec, "aws:backup/restoreTestingSelection:RestoreTestingSelection", "restore-testing-"+c.logical)
			eq(t, s, "restoreTestingPlanName", "restore_testing_"+stack)
			eq(t, s, "protectedResourceType", c.typ)
			eq(t, s, "protectedResourceArns", []string{c.arn})
			eq(t, s, "iamRoleArn", role)
			eq(t, s, "validationWindowHours", 4)
			eq(t, s, "restoreMetadataOverrides", c.overrides)
		}
	})
}

// asl is the snapshot workflow as the test reads it.
type asl struct {
	StartAt string
	States  map[string]struct {
		Type, Resource, Next string
		End                  bool
		Parameters           map[string]any
		Retry                []map[string]any
		Catch                []struct {
			ErrorEquals []string
			Next        string
		}
	}
}

func TestBackupServiceSnapshotWorkflow(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		sm := one(t, rec, "aws:sfn/stateMachine:StateMachine", "snapshot")
		eq(t, sm, "name", "sm-svc-snapshot-"+stack)
		eq(t, sm, "type", "STANDARD")
		eq(t, sm, "roleArn", "arn:aws:iam::"+acct+":role/role-svc-snapshot-"+stack)
		eq(t, sm, "loggingConfiguration.level", "ALL")
		eq(t, sm, "loggingConfiguration.includeExecutionData", true)
		eq(t, sm, "loggingConfiguration.logDestination", "arn:aws:logs:us-east-1:"+acct+":log-group:/aws/vendedlogs/states-svc-snapshot-"+stack+":*")
		eq(t, sm, "tracingConfiguration.enabled", true)
		lg := one(t, rec, "aws:cloudwatch/logGroup:LogGroup", "snapshot-logs")
		eq(t, lg, "kmsKeyId", out(t, one(t, rec, "aws:kms/key:Key", "key-telemetry"), "arn"))

		var def asl
		jsonInput(t, sm, "definition", &def)
		bucket := out(t, one(t, rec, "aws:s3/bucketV2:BucketV2", "data"), "bucket")
		serviceArn := "arn:aws:ecs:us-east-1:" + acct + ":service/ecs-" + stack + "/svc-trading-" + stack
		tasks := map[string]string{}
		for name, s := range def.States {
			if s.Type != "Task" {
				continue
			}
			tasks[name] = s.Resource
			if !strings.HasPrefix(s.Resource, "arn:aws:states:::aws-sdk:") {
				t.Errorf("task %s uses %s, not an AWS SDK integration", name, s.Resource)
			}
			if len(s.Retry) == 0 || len(s.Catch) == 0 {
				t.Errorf("task %s lacks Retry or Catch", name)
			}
			for _, c := range s.Catch {
				if _, ok := def.States[c.Next]; !ok || !reflect.DeepEqual(c.ErrorEquals, []string{"States.ALL"}) {
					t.Errorf("task %s catches %v into %q", name, c.ErrorEquals, c.Next)
				}
				if name != "NotifyFailure" && c.Next != "NotifyFailure" {
					t.Errorf("task %s is caught into %s, not NotifyFailure", name, c.Next)
				}
			}
		}
		wantTasks := map[string]string{
			"DescribeService":        "arn:aws:states:::aws-sdk:ecs:describeServices",
			"DescribeTaskDefinition": "arn:aws:states:::aws-sdk:ecs:describeTaskDefinition",
			"DescribeTargetGroups":   "arn:aws:states:::aws-sdk:elasticloadbalancingv2:describeTargetGroups",
			"DescribeListeners":      "arn:aws:states:::aws-sdk:elasticloadbalancingv2:describeListeners",
			"PutSnapshot":            "arn:aws:states:::aws-sdk:s3:putObject",
			"NotifyFailure":          "arn:aws:states:::aws-sdk:sns:publish",
		}
		if !reflect.DeepEqual(tasks, wantTasks) {
			t.Errorf("tasks = %v", tasks)
		}
		// The happy path visits every describe call, then writes.
		path := []string{}
		for cur := def.StartAt; cur != "" && len(path) < 10; cur = def.States[cur].Next {
			path = append(path, cur)
		}
		if want := []string{"DescribeService", "DescribeTaskDefinition", "DescribeTargetGroups", "DescribeListeners", "PutSnapshot", "Done"}; !reflect.DeepEqual(path, want) {
			t.Errorf("path = %v", path)
		}
		if def.States["Done"].Type != "Succeed" || def.States["SnapshotFailed"].Type != "Fail" || def.States["NotifyFailure"].Next != "SnapshotFailed" {
			t.Error("terminal states are wrong")
		}
		put := def.States["PutSnapshot"].Parameters
		if put["Bucket"] != bucket || !strings.HasPrefix(put["Key.$"].(string), "States.Format('ecs-snapshots/{}/{}.json'") {
			t.Errorf("PutSnapshot writes %v / %v", put["Bucket"], put["Key.$"])
		}
		if got := def.States["DescribeService"].Parameters["Services"]; !reflect.DeepEqual(got, []any{serviceArn}) {
			t.Errorf("DescribeService describes %v", got)
		}
		if got := def.States["NotifyFailure"].Parameters["TopicArn"]; got != "arn:aws:sns:us-east-1:"+acct+":notify-"+stack {
			t.Errorf("NotifyFailure publishes to %v", got)
		}
	})
}

func TestBackupServiceSnapshotIAMAndSchedule(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		bucketArn := out(t, one(t, rec, "aws:s3/bucketV2:BucketV2", "data"), "arn")
		keys := arn.In(offline.Region, acct).Keys()
		smArn := "arn:aws:states:us-east-1:" + acct + ":stateMachine:sm-svc-snapshot-" + stack
		var doc policyDoc
		jsonInput(t, one(t, rec, "aws:iam/rolePolicy:RolePolicy", "snapshot-role"), "policy", &doc)
		got := map[string][]string{}
		for _, s := range doc.Statement {
			if s.Effect != "Allow" {
				t.Errorf("unexpected %s statement", s.Effect)
			}
			for _, a := range s.Action {
				if strings.HasSuffix(a, "*") {
					t.Errorf("wildcard action %s", a)
				}
				got[a] = s.Resource
			}
		}
		star := []string{"*"}
		want := map[string][]string{
			"ecs:DescribeServices":                      {"arn:aws:ecs:us-east-1:" + acct + ":service/ecs-" + stack + "/svc-trading-" + stack},
			"ecs:DescribeTaskDefinition":                star,
			"elasticloadbalancing:DescribeTargetGroups": star,
			"elasticloadbalancing:DescribeListeners":    star,
			"s3:PutObject":                              {bucketArn + "/ecs-snapshots/*"},
			"kms:GenerateDataKey":                       nil, // two statements: checked below
			"kms:Decrypt":                               {keys},
			"sns:Publish":                               {"arn:aws:sns:us-east-1:" + acct + ":notify-" + stack},
			"logs:CreateLogDelivery":                    star, "logs:GetLogDelivery": star, "logs:UpdateLogDelivery": star,
			"logs:DeleteLogDelivery": star, "logs:ListLogDeliveries": star, "logs:PutResourcePolicy": star,
			"logs:DescribeResourcePolicies": star, "logs:DescribeLogGroups": star,
			"xray:PutTraceSegments": star, "xray:PutTelemetryRecords": star, "xray:GetSamplingRules": star, "xray:GetSamplingTargets": star,
		}
		for a, w := range want {
			r, ok := got[a]
			if !ok {
				t.Errorf("snapshot role lacks %s", a)
				continue
			}
			if w != nil && !reflect.DeepEqual(r, w) {
				t.Errorf("%s on %v, want %v", a, r, w)
			}
		}
		for a := range got {
			if _, ok := want[a]; !ok {
				t.Errorf("snapshot role has unexpected action %s", a)
			}
		}
		// GenerateDataKey on exactly two keys, both named by alias (so the
		// policy is known at the first preview): the data key (PutObject
		// into the SSE-KMS bucket) and the telemetry key (below).
		var aliases []string
		for _, s := range doc.Statement {
			if slices.Contains(s.Action, "kms:GenerateDataKey") {
				if !reflect.DeepEqual(s.Resource, []string{keys}) {
					t.Errorf("kms:GenerateDataKey on %v, want %s with an alias condition", s.Resource, keys)
				}
				a, _ := s.Condition[iamdoc.ResourceAliasesOperator]["kms:ResourceAliases"].(string)
				aliases = append(aliases, a)
			}
		}
		sort.Strings(aliases)
		if want := []string{"alias/kms-data-" + stack, "alias/kms-telemetry-" + stack}; !reflect.DeepEqual(aliases, want) {
			t.Errorf("kms:GenerateDataKey through aliases %v, want %v", aliases, want)
		}
		// The telemetry key (the alarm topic's) by alias.
		keyGrantIs(t, "snapshot role", statementBySid(t, "snapshot role", doc, "EncryptNotification"), "alias/kms-telemetry-"+stack, nil)

		sch := one(t, rec, "aws:scheduler/schedule:Schedule", "snapshot-schedule")
		eq(t, sch, "name", "sched-svc-snapshot-"+stack)
		eq(t, sch, "scheduleExpression", map[string]string{"dev": "rate(1 day)", "prod": "rate(6 hours)"}[stack])
		eq(t, sch, "flexibleTimeWindow.mode", "OFF")
		eq(t, sch, "target.arn", smArn)
		eq(t, sch, "target.roleArn", "arn:aws:iam::"+acct+":role/role-sched-snapshot-"+stack)
		var trust, sp policyDoc
		jsonInput(t, one(t, rec, "aws:iam/role:Role", "snapshot-schedule-role"), "assumeRolePolicy", &trust)
		if trust.Statement[0].Principal["Service"] != "scheduler.amazonaws.com" {
			t.Errorf("schedule role trust = %+v", trust.Statement)
		}
		jsonInput(t, one(t, rec, "aws:iam/rolePolicy:RolePolicy", "snapshot-schedule-role"), "policy", &sp)
		schedulePolicyIs(t, sp, smArn, stack)
	})
}

// TestBackupServiceSnapshotIsTheASLBuilder: the recorded definition is
// rb.ServiceSnapshot (infra/asl) for the stack's targets, and the role's inline policy
// is exactly the one derived from it (statemachine.Policy), as for the
// runbooks.
func TestBackupServiceSnapshotIsTheASLBuilder(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		bucket := one(t, rec, "aws:s3/bucketV2:BucketV2", "data")
		targets := rb.SnapshotTargets{
			ClusterArn:      "arn:aws:ecs:us-east-1:" + acct + ":cluster/ecs-" + stack,
			ServiceArn:      "arn:aws:ecs:us-east-1:" + acct + ":service/ecs-" + stack + "/svc-trading-" + stack,
			TargetGroupName: get(t, one(t, rec, "aws:lb/targetGroup:TargetGroup", "app"), "name").(string),
			Bucket:          out(t, bucket, "bucket"), BucketArn: out(t, bucket, "arn"), Prefix: "ecs-snapshots",
			DataKeyAlias: keyRef(t, rec, "data").Alias,
			TopicArn:     "arn:aws:sns:us-east-1:" + acct + ":notify-" + stack,
		}
		sm, err := rb.ServiceSnapshot(targets)
		if err != nil {
			t.Fatal(err)
		}
		var got, want any
		jsonInput(t, one(t, rec, "aws:sfn/stateMachine:StateMachine", "snapshot"), "definition", &got)
		def, err := sm.JSON()
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(def), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("definition\n got %v\nwant %v", got, want)
		}

		var gotPolicy, wantPolicy policyDoc
		jsonInput(t, one(t, rec, "aws:iam/rolePolicy:RolePolicy", "snapshot-role"), "policy", &gotPolicy)
		doc, err := statemachine.Policy(sm, keyRef(t, rec, "telemetry")).JSON()
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(doc), &wantPolicy); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(gotPolicy, wantPolicy) {
			t.Errorf("policy\n got %+v\nwant %+v", gotPolicy, wantPolicy)
		}
	})
}

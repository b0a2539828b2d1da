package sfncheck

import (
	"encoding/json"
	"strings"
	"testing"
)

var env = Env{Partition: "aws", Region: "us-east-1", Account: "123456789012"}

const (
	clusterArn = "arn:aws:rds:us-east-1:123456789012:cluster:aurora-dev"
	dbArn      = "arn:aws:rds:us-east-1:123456789012:db:aurora-dev-"
)

// task is one Task state calling arn:aws:states:::aws-sdk:<resource>.
func task(resource string, params map[string]any) map[string]any {
	return map[string]any{"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:" + resource, "Parameters": params, "End": true}
}

// definition wraps states into a state machine starting at the first name.
func definition(t *testing.T, states map[string]any) string {
	t.Helper()
	var start string
	for n := range states {
		start = n
	}
	b, err := json.Marshal(map[string]any{"StartAt": start, "States": states})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// policy is an identity policy with one Allow statement per action.
func policy(t *testing.T, grants map[string][]string) string {
	t.Helper()
	var stmts []map[string]any
	for a, res := range grants {
		stmts = append(stmts, map[string]any{"Effect": "Allow", "Action": []string{a}, "Resource": res})
	}
	b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": stmts})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func check(t *testing.T, states map[string]any, grants map[string][]string) *Result {
	t.Helper()
	r, err := Check(env, Machine{Name: "fixture", Definition: definition(t, states), Policies: []string{policy(t, grants)}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// svcArn is the trading service of the ECS fixtures.
const svcArn = "arn:aws:ecs:us-east-1:123456789012:service/ecs-dev/svc-dev"

// failoverGrants is the role of a correct failover task.
var failoverGrants = map[string][]string{"rds:FailoverDBCluster": {clusterArn, dbArn + "1", dbArn + "2"}}

// failover is the database failover runbook's call.
func failover() map[string]any {
	return task("rds:failoverDBCluster", map[string]any{
		"DbClusterIdentifier": "aurora-dev", "TargetDbInstanceIdentifier.$": "$.target.instance",
	})
}

func TestValidFixtureHasNoFindings(t *testing.T) {
	r := check(t, map[string]any{
		"Failover": failover(),
		"Describe": task("rds:describeDBClusters", map[string]any{"DbClusterIdentifier.$": "$.cluster"}),
		"Update": task("ecs:updateService", map[string]any{
			"Cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/ecs-dev", "Service": "svc-dev", "ForceNewDeployment": true,
			"DeploymentConfiguration": map[string]any{
				"MaximumPercent": 200,
				"Alarms":         map[string]any{"AlarmNames": []any{"a"}, "Enable": true, "Rollback": true},
			},
		}),
		"Restore": task("backup:startRestoreJob", map[string]any{
			"RecoveryPointArn.$": "$.point", "IamRoleArn": "arn:aws:iam::123456789012:role/restore",
			"Metadata": map[string]any{"TargetTableName.$": "$.name", "encryptionType": "KMS"},
		}),
		"Put": task("s3:putObject", map[string]any{"Bucket": "data-dev", "Key": "snap/x.json", "Body.$": "States.JsonToString($)"}),
		"History": task("ecs:listServiceDeployments", map[string]any{
			"Cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/ecs-dev", "Service": "svc-dev",
			"Status": []any{"SUCCESSFUL"}, "MaxResults": 100, "NextToken.$": "$.next",
		}),
		"Revisions": task("ecs:describeServiceRevisions", map[string]any{"ServiceRevisionArns.$": "$.arns"}),
		"Notify": map[string]any{"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "End": true,
			"Parameters": map[string]any{"TopicArn": "arn:aws:sns:us-east-1:123456789012:alerts-dev", "Message.$": "$.m"}},
	}, map[string][]string{
		"rds:FailoverDBCluster":        failoverGrants["rds:FailoverDBCluster"],
		"rds:DescribeDBClusters":       {clusterArn},
		"ecs:UpdateService":            {svcArn},
		"ecs:ListServiceDeployments":   {svcArn},
		"ecs:DescribeServiceRevisions": {svcArn, "arn:aws:ecs:us-east-1:123456789012:service-revision/ecs-dev/svc-dev/*"},
		"backup:StartRestoreJob":       {"*"},
		"iam:PassRole":                 {"arn:aws:iam::123456789012:role/restore"},
		"s3:PutObject":                 {"arn:aws:s3:::data-dev/snap/*"},
		"sns:Publish":                  {"arn:aws:sns:us-east-1:123456789012:alerts-dev"},
	})
	for _, f := range r.Findings {
		t.Error(f)
	}
	if len(r.Tasks) != 8 || len(r.Skipped) != 0 {
		t.Errorf("tasks %d, skipped %d; want 8 and 0", len(r.Tasks), len(r.Skipped))
	}
	for _, tk := range r.Tasks {
		if tk.State == "Failover" && tk.IAMAction != "rds:FailoverDBCluster" {
			t.Errorf("IAM action %q", tk.IAMAction)
		}
	}
}

// TestFixturesFail holds one failing fixture per check.
func TestFixturesFail(t *testing.T) {
	for _, tc := range []struct {
		name   string
		state  map[string]any
		grants map[string][]string
		kind   Kind
		detail string
	}{
		{"unknown service", task("nosuchservice:describeThings", map[string]any{}), nil, UnknownService, `"nosuchservice"`},
		{"unknown action", task("rds:failoverDbClusterNow", map[string]any{"DbClusterIdentifier": "aurora-dev"}),
			failoverGrants, UnknownAction, `"failoverDbClusterNow"`},
		{"unknown member", task("rds:failoverDBCluster", map[string]any{"DbClusterIdentifier": "aurora-dev", "TargetInstance": "x"}),
			failoverGrants, UnknownMember, "TargetInstance is not a member of FailoverDBClusterInput"},
		{"unknown nested member", task("ecs:updateService", map[string]any{
			"Service": "svc", "DeploymentConfiguration": map[string]any{"MaximumPercent": 200, "MaxPercent": 100},
		}), map[string][]string{"ecs:UpdateService": {"*"}}, UnknownMember, "DeploymentConfiguration.MaxPercent is not a member of DeploymentConfiguration"},
		{"unknown member in a list element", task("elasticloadbalancingv2:describeTargetHealth", map[string]any{
			"TargetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/1",
			"Targets":        []any{map[string]any{"Id": "i-1", "Portt": 80}},
		}), map[string][]string{"elasticloadbalancing:DescribeTargetHealth": {"*"}}, UnknownMember, "Targets[0].Portt is not a member of TargetDescription"},
		{"wrong type", task("rds:describeDBClusters", map[string]any{"DbClusterIdentifier": "aurora-dev", "MaxRecords": "20"}),
			map[string][]string{"rds:DescribeDBClusters": {clusterArn}}, WrongType, "MaxRecords is a string"},
		{"missing required member", task("rds:failoverDBCluster", map[string]any{"TargetDbInstanceIdentifier.$": "$.t"}),
			failoverGrants, MissingRequired, "required member DBClusterIdentifier is missing"},
		{"missing required nested member", task("ecs:updateService", map[string]any{
			"Service": "svc", "DeploymentConfiguration": map[string]any{"Alarms": map[string]any{"Enable": true}},
		}), map[string][]string{"ecs:UpdateService": {"*"}}, MissingRequired, "DeploymentConfiguration.Alarms.AlarmNames is missing"},
		{"action not granted", failover(), map[string][]string{"rds:DescribeDBClusters": {clusterArn}}, ActionNotGranted,
			"does not grant rds:FailoverDBCluster"},
		// A failover role granted on the cluster only, while the call
		// names a target instance as well.
		{"resource not granted (dynamic target instance)", failover(), map[string][]string{"rds:FailoverDBCluster": {clusterArn}},
			ResourceNotGranted, "not granted on " + dbArn[:len(dbArn)-len("aurora-dev-")] + "<TargetDbInstanceIdentifier, dynamic>"},
		{"resource not granted (static identifier)", task("dynamodb:describeTable", map[string]any{"TableName": "other"}),
			map[string][]string{"dynamodb:DescribeTable": {"arn:aws:dynamodb:us-east-1:123456789012:table/sessions-dev"}},
			ResourceNotGranted, "table/other"},
		{"role not passable", task("backup:startRestoreJob", map[string]any{
			"RecoveryPointArn.$": "$.p", "IamRoleArn": "arn:aws:iam::123456789012:role/restore", "Metadata": map[string]any{},
		}), map[string][]string{"backup:StartRestoreJob": {"*"}}, ActionNotGranted, "iam:PassRole"},
		// A service recovery whose rollback names another task definition
		// without iam:PassRole for its roles.
		{"task definition roles not passable", task("ecs:updateService", map[string]any{
			"Service": "svc-dev", "TaskDefinition.$": "$.knownGood",
		}), map[string][]string{"ecs:UpdateService": {"*"}}, ActionNotGranted, "iam:PassRole"},
		// The service recovery's history lookup: the service named by name
		// and cluster, the revisions by their (dynamic) ARNs.
		{"history of another service", task("ecs:listServiceDeployments", map[string]any{
			"Cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/ecs-dev", "Service": "other", "Status": []any{"SUCCESSFUL"},
		}), map[string][]string{"ecs:ListServiceDeployments": {svcArn}}, ResourceNotGranted, "service/ecs-dev/other"},
		{"service revisions not granted", task("ecs:describeServiceRevisions", map[string]any{"ServiceRevisionArns.$": "$.arns"}),
			map[string][]string{"ecs:DescribeServiceRevisions": {svcArn}}, ResourceNotGranted,
			"arn:aws:ecs:us-east-1:123456789012:service-revision/<ServiceRevisionArns, dynamic>"},
		{"unknown history status", task("ecs:listServiceDeployments", map[string]any{"Service": "svc-dev", "Status": "SUCCESSFUL"}),
			map[string][]string{"ecs:ListServiceDeployments": {"*"}}, WrongType, "Status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := check(t, map[string]any{"Fixture": tc.state}, tc.grants)
			found := false
			for _, f := range r.Findings {
				if f.Kind == tc.kind && strings.Contains(f.Detail, tc.detail) {
					found = true
					t.Log(f)
				} else {
					t.Logf("other finding: %s", f)
				}
			}
			if !found {
				t.Errorf("want a %s finding containing %q, got %v", tc.kind, tc.detail, r.Findings)
			}
		})
	}
}

// TestNestedStatesAreWalked puts failing Tasks inside a Parallel branch, a
// Map ItemProcessor and a legacy Map Iterator.
func TestNestedStatesAreWalked(t *testing.T) {
	bad := task("rds:failoverDBCluster", map[string]any{})
	branch := func(name string) map[string]any {
		return map[string]any{"StartAt": name, "States": map[string]any{name: bad}}
	}
	r := check(t, map[string]any{
		"Par":  map[string]any{"Type": "Parallel", "Branches": []any{branch("P0"), branch("P1")}, "End": true},
		"Map":  map[string]any{"Type": "Map", "ItemProcessor": branch("M"), "End": true},
		"Iter": map[string]any{"Type": "Map", "Iterator": branch("I"), "End": true},
	}, failoverGrants)
	got := map[string]bool{}
	for _, f := range r.Findings {
		if f.Kind == MissingRequired {
			got[f.State] = true
		}
	}
	for _, want := range []string{"Par/branch[0]/P0", "Par/branch[1]/P1", "Map/M", "Iter/I"} {
		if !got[want] {
			t.Errorf("no missing-required finding at %s; got %v", want, r.Findings)
		}
	}
	if len(r.Tasks) != 4 {
		t.Errorf("%d tasks, want 4", len(r.Tasks))
	}
}

func TestJSONataArguments(t *testing.T) {
	r := check(t, map[string]any{"T": map[string]any{
		"Type": "Task", "QueryLanguage": "JSONata", "Resource": "arn:aws:states:::aws-sdk:rds:failoverDBCluster",
		"Arguments": map[string]any{"DbClusterIdentifier": "{% $states.input.cluster %}", "TargetDbInstanceIdentifier": "aurora-dev-2"},
		"End":       true,
	}}, failoverGrants)
	// The JSONata expression stands in for the required cluster, whose
	// dynamic ARN is covered by the cluster grant.
	for _, f := range r.Findings {
		t.Error(f)
	}
	if len(r.Tasks) != 1 {
		t.Errorf("%d tasks, want 1", len(r.Tasks))
	}
}

func TestSkipsOtherIntegrations(t *testing.T) {
	r := check(t, map[string]any{"L": map[string]any{
		"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": map[string]any{"FunctionName": "f"}, "End": true,
	}}, nil)
	if len(r.Tasks) != 0 || len(r.Skipped) != 1 || len(r.Findings) != 0 {
		t.Errorf("tasks %v skipped %v findings %v", r.Tasks, r.Skipped, r.Findings)
	}
}

func TestMalformedInput(t *testing.T) {
	if _, err := Check(env, Machine{Name: "x", Definition: "{"}); err == nil || !strings.Contains(err.Error(), "state machine x") {
		t.Errorf("bad definition: %v", err)
	}
	if _, err := Check(env, Machine{Name: "x", Definition: `{"States":{}}`, Policies: []string{"[]"}}); err == nil {
		t.Error("bad policy accepted")
	}
}

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		open, want bool
	}{
		{"arn:aws:rds:*:*:db:aurora-*", "arn:aws:rds:us-east-1:1:db:aurora-2", false, true},
		{"arn:aws:rds:*:*:cluster:x", "arn:aws:rds:us-east-1:1:db:x", false, false},
		{"*", "anything", false, true},
		{"a?c", "abc", false, true},
		{"a?c", "ac", false, false},
		{"arn:aws:rds:us-east-1:1:db:aurora-dev-1", "arn:aws:rds:us-east-1:1:db:", true, true},
		{"arn:aws:rds:us-east-1:1:cluster:aurora-dev", "arn:aws:rds:us-east-1:1:db:", true, false},
		{"arn:aws:rds:*", "arn:aws:rds:us-east-1:1:db:", true, true},
	} {
		if got := match(tc.pattern, tc.s, tc.open); got != tc.want {
			t.Errorf("match(%q, %q, %v) = %v", tc.pattern, tc.s, tc.open, got)
		}
	}
}

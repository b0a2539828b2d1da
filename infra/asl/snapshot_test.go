package asl

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestServiceSnapshotStructure(t *testing.T) {
	sm, err := ServiceSnapshot(ExampleSnapshotTargets())
	if err != nil {
		t.Fatal(err)
	}
	if err := sm.Validate(); err != nil {
		t.Fatal(err)
	}
	var path []string
	for cur := sm.StartAt; len(path) < 10; {
		path = append(path, cur)
		task, ok := sm.States[cur].(*Task)
		if !ok {
			break
		}
		cur = task.Next
	}
	if want := []string{"DescribeService", "DescribeTaskDefinition", "DescribeTargetGroups", "DescribeListeners", "PutSnapshot", "Done"}; !reflect.DeepEqual(path, want) {
		t.Errorf("happy path = %v, want %v", path, want)
	}
	for name, task := range sm.Tasks() {
		if !strings.HasPrefix(task.Resource, "arn:aws:states:::aws-sdk:") {
			t.Errorf("%s: resource %q is not an SDK integration", name, task.Resource)
		}
		want := "NotifyFailure"
		if name == "NotifyFailure" {
			want = "SnapshotFailed"
		}
		if len(task.Retry) != 1 || task.Retry[0].MaxAttempts != 3 || len(task.Catch) != 1 || task.Catch[0].Next != want ||
			!reflect.DeepEqual(task.Catch[0].ErrorEquals, []string{"States.ALL"}) {
			t.Errorf("%s: Retry %+v Catch %+v", name, task.Retry, task.Catch)
		}
	}
	if f, ok := sm.States["SnapshotFailed"].(*Fail); !ok || f.Error != "SnapshotFailed" {
		t.Errorf("SnapshotFailed = %#v", sm.States["SnapshotFailed"])
	}
}

func TestServiceSnapshotPermissions(t *testing.T) {
	x := ExampleSnapshotTargets()
	sm, err := ServiceSnapshot(x)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	var keyCondition map[string]map[string]any
	for _, p := range sm.Permissions() {
		for _, a := range p.Actions {
			got[a] = p.Resources
		}
		if slices.Contains(p.Actions, "kms:GenerateDataKey") {
			keyCondition = p.Condition
		}
	}
	want := map[string][]string{
		"ecs:DescribeServices":                      {x.ServiceArn},
		"ecs:DescribeTaskDefinition":                {"*"},
		"elasticloadbalancing:DescribeTargetGroups": {"*"},
		"elasticloadbalancing:DescribeListeners":    {"*"},
		"s3:PutObject":                              {x.BucketArn + "/ecs-snapshots/*"},
		"kms:GenerateDataKey":                       {"arn:aws:kms:us-east-1:123456789012:key/*"},
		"sns:Publish":                               {x.TopicArn},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("permissions\n got %v\nwant %v", got, want)
	}
	// The key is named by its alias and used through S3 only.
	wantCondition := map[string]map[string]any{
		"ForAnyValue:StringEquals": {"kms:ResourceAliases": x.DataKeyAlias},
		"StringEquals":             {"kms:ViaService": "s3.us-east-1.amazonaws.com"},
	}
	if !reflect.DeepEqual(keyCondition, wantCondition) {
		t.Errorf("kms:GenerateDataKey condition\n got %v\nwant %v", keyCondition, wantCondition)
	}
}

func TestServiceSnapshotTargetsValidate(t *testing.T) {
	x := ExampleSnapshotTargets()
	x.ServiceArn, x.Prefix = "svc", "/ecs/"
	_, err := ServiceSnapshot(x)
	if err == nil {
		t.Fatal("invalid targets accepted")
	}
	for _, want := range []string{`ServiceArn "svc" is not an ARN`, `Prefix "/ecs/" must not start or end with /`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

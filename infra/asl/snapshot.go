package asl

import (
	"errors"
	"fmt"
	"strings"
)

// ServiceSnapshotName is the workflow's name; it is also the logical name
// of its resources.
const ServiceSnapshotName = "snapshot"

// SnapshotTargets carries the names and ARNs the ECS service snapshot
// workflow embeds, all plain strings.
type SnapshotTargets struct {
	// ClusterArn and ServiceArn identify the ECS service to describe.
	ClusterArn, ServiceArn string
	// TargetGroupName is the service's target group, described by name
	// (DescribeTargetGroups, Names: "the names of one or more target
	// groups", ELBv2 API Reference), so the definition holds no ARN AWS
	// assigns at creation; its first load balancer's listeners are
	// described too.
	TargetGroupName string
	// Bucket and BucketArn are the data bucket the snapshot is written to,
	// under Prefix.
	Bucket, BucketArn, Prefix string
	// DataKeyAlias is the alias of the bucket's default encryption key:
	// PutObject asks KMS for a data key on the workflow's behalf. The key is
	// granted by alias (keyPermission), so the policy is known before the
	// key exists.
	DataKeyAlias string
	// TopicArn receives the failure notification.
	TopicArn string
}

// Validate reports every missing or malformed field at once.
func (t SnapshotTargets) Validate() error {
	var errs []error
	need := func(name, v string, arn bool) {
		switch {
		case strings.TrimSpace(v) == "":
			errs = append(errs, fmt.Errorf("snapshot targets: %s is required", name))
		case arn && !strings.HasPrefix(v, "arn:"):
			errs = append(errs, fmt.Errorf("snapshot targets: %s %q is not an ARN", name, v))
		}
	}
	need("ClusterArn", t.ClusterArn, true)
	need("ServiceArn", t.ServiceArn, true)
	need("TargetGroupName", t.TargetGroupName, false)
	if len(t.TargetGroupName) > TargetGroupNameMax || strings.HasPrefix(t.TargetGroupName, "arn:") {
		errs = append(errs, fmt.Errorf("snapshot targets: TargetGroupName %q is not a target group name", t.TargetGroupName))
	}
	need("Bucket", t.Bucket, false)
	need("BucketArn", t.BucketArn, true)
	need("Prefix", t.Prefix, false)
	if strings.HasPrefix(t.Prefix, "/") || strings.HasSuffix(t.Prefix, "/") {
		errs = append(errs, fmt.Errorf("snapshot targets: Prefix %q must not start or end with /", t.Prefix))
	}
	need("DataKeyAlias", t.DataKeyAlias, false)
	if t.DataKeyAlias != "" && !strings.HasPrefix(t.DataKeyAlias, "alias/") {
		errs = append(errs, fmt.Errorf("snapshot targets: DataKeyAlias %q is not an alias (alias/<name>)", t.DataKeyAlias))
	}
	if _, err := parseARN(t.ClusterArn); t.ClusterArn != "" && err != nil {
		errs = append(errs, fmt.Errorf("snapshot targets: ClusterArn: %w", err))
	}
	need("TopicArn", t.TopicArn, true)
	return errors.Join(errs...)
}

// dataKey grants actions on the data key through S3 in the cluster's
// region.
func (t SnapshotTargets) dataKey(actions []string) Permission {
	a, _ := parseARN(t.ClusterArn) // checked by Validate
	return keyPermission(a, t.DataKeyAlias, actions,
		map[string]map[string]any{"StringEquals": {"kms:ViaService": "s3." + a.region + ".amazonaws.com"}})
}

// snapshotRetry is the snapshot's retry policy: every error, 3 retries
// from 2 s with backoff 2. The workflow only reads and writes one new
// object per execution, so retrying any failure is safe.
func snapshotRetry() []Retrier {
	return []Retrier{{ErrorEquals: []string{"States.ALL"}, IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2}}
}

// ServiceSnapshot builds the ECS service snapshot workflow: describe the
// service, its task definition, its target group and the load balancer's
// listeners, then write all four responses as one JSON object to
// s3://<bucket>/<prefix>/<YYYY-MM-DD>/<execution>.json. Every Task retries
// (snapshotRetry) and, once retries are spent, is caught into
// NotifyFailure, which publishes the error to the topic and ends in the
// SnapshotFailed Fail state. The execution input is ignored (it is part of
// the snapshot body).
func ServiceSnapshot(t SnapshotTargets) (*StateMachine, error) {
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("service snapshot: %w", err)
	}
	states := map[string]State{}
	steps := []struct {
		name, svc, action, resultPath string
		params                        map[string]any
		resources                     []string
		extra                         []Permission
	}{
		{"DescribeService", "ecs", "DescribeServices", "$.services", map[string]any{
			"Cluster": t.ClusterArn, "Services": []string{t.ServiceArn}, "Include": []string{"TAGS"},
		}, []string{t.ServiceArn}, nil},
		{"DescribeTaskDefinition", "ecs", "DescribeTaskDefinition", "$.taskDefinition", map[string]any{
			"TaskDefinition.$": "$.services.Services[0].TaskDefinition", "Include": []string{"TAGS"},
		}, []string{"*"}, nil},
		{"DescribeTargetGroups", "elasticloadbalancingv2", "DescribeTargetGroups", "$.targetGroups", map[string]any{
			"Names": []string{t.TargetGroupName},
		}, []string{"*"}, nil},
		{"DescribeListeners", "elasticloadbalancingv2", "DescribeListeners", "$.listeners", map[string]any{
			"LoadBalancerArn.$": "$.targetGroups.TargetGroups[0].LoadBalancerArns[0]",
		}, []string{"*"}, nil},
		{"PutSnapshot", "s3", "PutObject", "$.put", map[string]any{
			"Bucket": t.Bucket,
			"Key.$": fmt.Sprintf("States.Format('%s/{}/{}.json', States.ArrayGetItem(States.StringSplit($$.Execution.StartTime, 'T'), 0), $$.Execution.Name)",
				escapeFormat(t.Prefix)),
			"ContentType": "application/json",
			"Body.$":      "States.JsonToString($)",
		}, []string{t.BucketArn + "/" + t.Prefix + "/*"},
			// The data bucket's default encryption uses the data key on our
			// behalf: through S3 only (kms:ViaService, AWS KMS Developer
			// Guide, condition keys).
			[]Permission{t.dataKey([]string{"kms:GenerateDataKey"})}},
	}
	for i, s := range steps {
		task, err := sdkCall(s.svc, s.action, s.params, s.resources)
		if err != nil {
			return nil, fmt.Errorf("service snapshot: %w", err)
		}
		task.Policy = append(task.Policy, s.extra...)
		task.ResultPath = s.resultPath
		task.Retry = snapshotRetry()
		task.Catch = []Catcher{{ErrorEquals: []string{"States.ALL"}, ResultPath: ErrorPath, Next: "NotifyFailure"}}
		task.Next = "Done"
		if i+1 < len(steps) {
			task.Next = steps[i+1].name
		}
		states[s.name] = task
	}
	states["Done"] = &Succeed{}

	notify, err := sdkCall("sns", "Publish", map[string]any{
		"TopicArn": t.TopicArn, "Subject": "ECS service snapshot failed",
		"Message.$": "States.JsonToString(" + ErrorPath + ")",
	}, []string{t.TopicArn})
	if err != nil {
		return nil, fmt.Errorf("service snapshot: %w", err)
	}
	notify.ResultPath = "$.notify"
	notify.Retry = snapshotRetry()
	notify.Catch = []Catcher{{ErrorEquals: []string{"States.ALL"}, ResultPath: "$.notifyError", Next: "SnapshotFailed"}}
	notify.Next = "SnapshotFailed"
	states["NotifyFailure"] = notify
	states["SnapshotFailed"] = &Fail{Error: "SnapshotFailed", Cause: "see the execution history and the alarm topic"}

	return &StateMachine{
		Comment: "Snapshot the ECS service, task definition and load balancer wiring into the data bucket",
		StartAt: steps[0].name,
		States:  states,
	}, nil
}

// ExampleSnapshotTargets returns a complete SnapshotTargets value matching
// ExampleTargets, for tests.
func ExampleSnapshotTargets() SnapshotTargets {
	x := ExampleTargets()
	return SnapshotTargets{
		ClusterArn: x.ECSClusterArn, ServiceArn: x.ECSServiceArn, TargetGroupName: x.TargetGroupNames[0],
		Bucket: "data-dev", BucketArn: "arn:aws:s3:::data-dev", Prefix: "ecs-snapshots",
		DataKeyAlias: x.DataKeyAlias, TopicArn: x.TopicArn,
	}
}

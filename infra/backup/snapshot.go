package backup

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/scheduler"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sfn"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/naming"
)

// Machine is an Amazon States Language document, kept to the fields the
// snapshot workflow uses.
type Machine struct {
	Comment string           `json:"Comment,omitempty"`
	StartAt string           `json:"StartAt"`
	States  map[string]State `json:"States"`
}

// State is one ASL state.
type State struct {
	Type       string         `json:"Type"`
	Comment    string         `json:"Comment,omitempty"`
	Resource   string         `json:"Resource,omitempty"`
	Parameters map[string]any `json:"Parameters,omitempty"`
	ResultPath string         `json:"ResultPath,omitempty"`
	Retry      []Retrier      `json:"Retry,omitempty"`
	Catch      []Catcher      `json:"Catch,omitempty"`
	Next       string         `json:"Next,omitempty"`
	End        bool           `json:"End,omitempty"`
	Error      string         `json:"Error,omitempty"`
	Cause      string         `json:"Cause,omitempty"`
}

// Retrier is an ASL Retry entry.
type Retrier struct {
	ErrorEquals     []string `json:"ErrorEquals"`
	IntervalSeconds int      `json:"IntervalSeconds"`
	MaxAttempts     int      `json:"MaxAttempts"`
	BackoffRate     float64  `json:"BackoffRate"`
}

// Catcher is an ASL Catch entry.
type Catcher struct {
	ErrorEquals []string `json:"ErrorEquals"`
	ResultPath  string   `json:"ResultPath,omitempty"`
	Next        string   `json:"Next"`
}

// JSON marshals the machine.
func (m Machine) JSON() (string, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("marshal state machine definition: %w", err)
	}
	return string(b), nil
}

// sdk is the resource of an AWS SDK service integration.
func sdk(service, action string) string {
	return "arn:aws:states:::aws-sdk:" + service + ":" + action
}

// SnapshotInputs are the values the snapshot workflow is built from.
type SnapshotInputs struct {
	ClusterArn, ServiceArn, TargetGroupArn, Bucket, Prefix, TopicArn string
}

// SnapshotMachine builds the ECS service snapshot workflow: describe the
// service, its task definition, its target group and the load balancer's
// listeners, then write all four responses as one JSON object to
// s3://<bucket>/<prefix>/<YYYY-MM-DD>/<execution>.json. Every Task retries
// and, once retries are spent, is caught and reported to the alarm topic.
func SnapshotMachine(in SnapshotInputs) Machine {
	retry := []Retrier{{ErrorEquals: []string{"States.ALL"}, IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2}}
	catch := []Catcher{{ErrorEquals: []string{"States.ALL"}, ResultPath: "$.error", Next: "NotifyFailure"}}
	task := func(resource, next, resultPath string, params map[string]any) State {
		return State{Type: "Task", Resource: resource, Parameters: params, ResultPath: resultPath,
			Retry: retry, Catch: catch, Next: next}
	}
	return Machine{
		Comment: "Snapshot the ECS service, task definition and load balancer wiring into the data bucket",
		StartAt: "DescribeService",
		States: map[string]State{
			"DescribeService": task(sdk("ecs", "describeServices"), "DescribeTaskDefinition", "$.services", map[string]any{
				"Cluster": in.ClusterArn, "Services": []string{in.ServiceArn}, "Include": []string{"TAGS"},
			}),
			"DescribeTaskDefinition": task(sdk("ecs", "describeTaskDefinition"), "DescribeTargetGroups", "$.taskDefinition", map[string]any{
				"TaskDefinition.$": "$.services.Services[0].TaskDefinition", "Include": []string{"TAGS"},
			}),
			"DescribeTargetGroups": task(sdk("elasticloadbalancingv2", "describeTargetGroups"), "DescribeListeners", "$.targetGroups", map[string]any{
				"TargetGroupArns": []string{in.TargetGroupArn},
			}),
			"DescribeListeners": task(sdk("elasticloadbalancingv2", "describeListeners"), "PutSnapshot", "$.listeners", map[string]any{
				"LoadBalancerArn.$": "$.targetGroups.TargetGroups[0].LoadBalancerArns[0]",
			}),
			"PutSnapshot": task(sdk("s3", "putObject"), "Done", "$.put", map[string]any{
				"Bucket":      in.Bucket,
				"Key.$":       fmt.Sprintf("States.Format('%s/{}/{}.json', States.ArrayGetItem(States.StringSplit($$.Execution.StartTime, 'T'), 0), $$.Execution.Name)", in.Prefix),
				"ContentType": "application/json",
				"Body.$":      "States.JsonToString($)",
			}),
			"Done": {Type: "Succeed"},
			"NotifyFailure": {
				Type: "Task", Resource: sdk("sns", "publish"), ResultPath: "$.notify",
				Parameters: map[string]any{
					"TopicArn": in.TopicArn, "Subject": "ECS service snapshot failed",
					"Message.$": "States.JsonToString($.error)",
				},
				Retry: retry,
				Catch: []Catcher{{ErrorEquals: []string{"States.ALL"}, ResultPath: "$.notifyError", Next: "SnapshotFailed"}},
				Next:  "SnapshotFailed",
			},
			"SnapshotFailed": {Type: "Fail", Error: "SnapshotFailed", Cause: "see the execution history and the alarm topic"},
		},
	}
}

// serviceSnapshot creates the workflow, its role, log group and schedule.
func serviceSnapshot(ctx *pulumi.Context, args Args, parent pulumi.ResourceOption) (pulumi.StringOutput, error) {
	logs, err := cloudwatch.NewLogGroup(ctx, "snapshot-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(args.Names.Name(naming.SnapshotLogs)),
		RetentionInDays: pulumi.Int(args.Config.LogRetentionDays),
		KmsKeyId:        args.TelemetryKeyArn,
	}, parent)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("create snapshot log group: %w", err)
	}
	trust, err := iamdoc.AssumeRole("states.amazonaws.com", args.AccountID).JSON()
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	role, err := iam.NewRole(ctx, "snapshot-role", &iam.RoleArgs{
		Name:             pulumi.String(args.Names.Name(naming.SnapshotRole)),
		AssumeRolePolicy: pulumi.String(trust),
	}, parent)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("create snapshot role: %w", err)
	}
	policy := pulumi.All(args.ECSServiceArn, args.DataBucketArn, args.DataKeyArn, args.TelemetryKeyArn, args.AlarmTopicArn).
		ApplyT(func(v []any) (string, error) {
			service, bucket, dataKey, telemetryKey, topic := v[0].(string), v[1].(string), v[2].(string), v[3].(string), v[4].(string)
			return SnapshotPolicy(service, bucket, args.SnapshotPrefix, dataKey, telemetryKey, topic).JSON()
		}).(pulumi.StringOutput)
	rolePolicy, err := iam.NewRolePolicy(ctx, "snapshot-role", &iam.RolePolicyArgs{Role: role.Name, Policy: policy}, parent)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("attach snapshot role policy: %w", err)
	}

	definition := pulumi.All(args.ECSClusterArn, args.ECSServiceArn, args.TargetGroupArn, args.DataBucket, args.AlarmTopicArn).
		ApplyT(func(v []any) (string, error) {
			return SnapshotMachine(SnapshotInputs{
				ClusterArn: v[0].(string), ServiceArn: v[1].(string), TargetGroupArn: v[2].(string),
				Bucket: v[3].(string), Prefix: args.SnapshotPrefix, TopicArn: v[4].(string),
			}).JSON()
		}).(pulumi.StringOutput)
	sm, err := sfn.NewStateMachine(ctx, "snapshot", &sfn.StateMachineArgs{
		Name:       pulumi.String(args.Names.Name(naming.ServiceSnapshotSM)),
		Type:       pulumi.String("STANDARD"),
		RoleArn:    role.Arn,
		Definition: definition,
		LoggingConfiguration: &sfn.StateMachineLoggingConfigurationArgs{
			Level: pulumi.String("ALL"), IncludeExecutionData: pulumi.Bool(true),
			LogDestination: pulumi.Sprintf("%s:*", logs.Arn),
		},
		TracingConfiguration: &sfn.StateMachineTracingConfigurationArgs{Enabled: pulumi.Bool(true)},
	}, parent, pulumi.DependsOn([]pulumi.Resource{rolePolicy}))
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("create snapshot state machine: %w", err)
	}

	schedTrust, err := iamdoc.AssumeRole("scheduler.amazonaws.com", args.AccountID).JSON()
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	schedRole, err := iam.NewRole(ctx, "snapshot-schedule-role", &iam.RoleArgs{
		Name:             pulumi.String(args.Names.Name(naming.SnapshotScheduleRole)),
		AssumeRolePolicy: pulumi.String(schedTrust),
	}, parent)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("create snapshot schedule role: %w", err)
	}
	schedPolicy := sm.Arn.ApplyT(func(arn string) (string, error) {
		return iamdoc.New(iamdoc.Allow("StartSnapshot", []string{"states:StartExecution"}, []string{arn})).JSON()
	}).(pulumi.StringOutput)
	if _, err := iam.NewRolePolicy(ctx, "snapshot-schedule-role", &iam.RolePolicyArgs{Role: schedRole.Name, Policy: schedPolicy}, parent); err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("attach snapshot schedule role policy: %w", err)
	}
	if _, err := scheduler.NewSchedule(ctx, "snapshot-schedule", &scheduler.ScheduleArgs{
		Name:               pulumi.String(args.Names.Name(naming.SnapshotSchedule)),
		Description:        pulumi.String("ECS service configuration snapshot"),
		ScheduleExpression: pulumi.String(args.Config.Backup.SnapshotSchedule),
		FlexibleTimeWindow: &scheduler.ScheduleFlexibleTimeWindowArgs{Mode: pulumi.String("OFF")},
		Target: &scheduler.ScheduleTargetArgs{
			Arn: sm.Arn, RoleArn: schedRole.Arn, Input: pulumi.String(`{}`),
			RetryPolicy: &scheduler.ScheduleTargetRetryPolicyArgs{
				MaximumRetryAttempts: pulumi.Int(3), MaximumEventAgeInSeconds: pulumi.Int(3600),
			},
		},
	}, parent); err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("create snapshot schedule: %w", err)
	}
	return sm.Arn, nil
}

// SnapshotPolicy is the workflow role's policy, scoped to our ARNs wherever
// the API allows.
func SnapshotPolicy(serviceArn, bucketArn, prefix, dataKeyArn, telemetryKeyArn, topicArn string) iamdoc.Document {
	return iamdoc.New(
		iamdoc.Allow("DescribeService", []string{"ecs:DescribeServices"}, []string{serviceArn}),
		// DescribeTaskDefinition supports no resource-level permissions: "*" is the only valid resource.
		iamdoc.Allow("DescribeTaskDefinition", []string{"ecs:DescribeTaskDefinition"}, []string{"*"}),
		// Elastic Load Balancing Describe* actions support no resource-level permissions: "*" only.
		iamdoc.Allow("DescribeLoadBalancing", []string{"elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeListeners"}, []string{"*"}),
		iamdoc.Allow("WriteSnapshot", []string{"s3:PutObject"}, []string{bucketArn + "/" + prefix + "/*"}),
		// The data bucket's default encryption uses the data key on our behalf.
		iamdoc.Allow("EncryptSnapshot", []string{"kms:GenerateDataKey"}, []string{dataKeyArn}),
		iamdoc.Allow("NotifyFailure", []string{"sns:Publish"}, []string{topicArn}),
		// The alarm topic is encrypted with the telemetry key; publishers need it.
		iamdoc.Allow("EncryptNotification", []string{"kms:GenerateDataKey", "kms:Decrypt"}, []string{telemetryKeyArn}),
		// CloudWatch Logs vended-log delivery actions support no resource-level permissions: "*" only.
		iamdoc.Allow("LogDelivery", []string{
			"logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
			"logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
		}, []string{"*"}),
		// X-Ray segment and sampling actions support no resource-level permissions: "*" only.
		iamdoc.Allow("XRay", []string{"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"}, []string{"*"}),
	)
}

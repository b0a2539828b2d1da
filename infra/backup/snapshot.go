package backup

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumix"

	awsarn "github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/asl"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/statemachine"
)

// serviceSnapshot deploys the ECS service snapshot workflow
// (asl.ServiceSnapshot) with its role, log group and schedule. The role's
// policy is derived from the definition (statemachine.Policy).
func serviceSnapshot(ctx *pulumi.Context, args Args, parent pulumi.ResourceOption) (pulumi.StringOutput, error) {
	at := awsarn.In(args.Region, args.AccountID)
	targets := func(bucket, keyArn string) asl.SnapshotTargets {
		return asl.SnapshotTargets{
			ClusterArn: args.ECSClusterArn, ServiceArn: args.ECSServiceArn, TargetGroupName: args.TargetGroupName,
			Bucket: bucket, BucketArn: at.Bucket(bucket), Prefix: args.SnapshotPrefix,
			DataKeyArn: keyArn, TopicArn: at.Topic(args.AlarmTopicName),
		}
	}
	build := func(bucket, keyArn string) (*asl.StateMachine, string, error) {
		sm, err := asl.ServiceSnapshot(targets(bucket, keyArn))
		if err != nil {
			return nil, "", fmt.Errorf("build snapshot workflow: %w", err)
		}
		def, err := statemachine.Render(asl.ServiceSnapshotName, sm)
		return sm, def, err
	}
	// Built and validated now, before any resource of the workflow
	// registers. The data bucket's name ends in a random tail (an output
	// until infra/storage names buckets deterministically), so the deployed
	// definition is the same build over the resolved name.
	if _, _, err := build(args.Names.Unique(naming.DataBucket, "00000000"), at.Key("00000000-0000-4000-8000-000000000000")); err != nil {
		return pulumi.StringOutput{}, err
	}
	definition := args.DataBucket.ToStringOutput().ApplyT(func(bucket string) (string, error) {
		_, def, err := build(bucket, at.Key("00000000-0000-4000-8000-000000000000"))
		return def, err
	}).(pulumi.StringOutput)
	policy := pulumix.Cast[pulumi.StringOutput](pulumix.Apply3Err(args.DataBucket.ToStringOutput(), args.DataKeyArn.ToStringOutput(), args.TelemetryKeyArn.ToStringOutput(),
		func(bucket, keyArn, telemetry string) (string, error) {
			sm, _, err := build(bucket, keyArn)
			if err != nil {
				return "", err
			}
			return statemachine.Policy(sm, telemetry).JSON()
		}))
	sm, err := statemachine.New(ctx, asl.ServiceSnapshotName, statemachine.Spec{
		Name:             args.Names.Name(naming.ServiceSnapshotSM),
		LogGroupName:     args.Names.Name(naming.SnapshotLogs),
		RoleName:         args.Names.Name(naming.SnapshotRole),
		At:               at,
		LogRetentionDays: args.Config.LogRetentionDays,
		TelemetryKeyArn:  args.TelemetryKeyArn,
		Definition:       definition,
		Policy:           policy,
		Schedule: &statemachine.Schedule{
			Name:        args.Names.Name(naming.SnapshotSchedule),
			RoleName:    args.Names.Name(naming.SnapshotScheduleRole),
			Description: "ECS service configuration snapshot",
			Expression:  args.Config.Backup.SnapshotSchedule,
			// The workflow ignores its input, which is stored in the snapshot body.
			Input:              `{}`,
			MaxEventAgeSeconds: 3600,
			DeadLetterArn:      args.SchedulerDLQArn,
		},
	}, parent)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("service snapshot workflow: %w", err)
	}
	return sm.Arn, nil
}

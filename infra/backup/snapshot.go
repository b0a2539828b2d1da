package backup

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	awsarn "github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/asl"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/statemachine"
)

// serviceSnapshot deploys the ECS service snapshot workflow
// (asl.ServiceSnapshot) with its role, log group and schedule. The role's
// policy is derived from the definition (statemachine.NewPlan).
func serviceSnapshot(ctx *pulumi.Context, kids naming.Children, args Args, parent pulumi.ResourceOption) (pulumi.StringOutput, error) {
	at := awsarn.In(args.Shared.Region, args.AccountID)
	// Built and validated now, before any resource of the workflow
	// registers. Every target is a name or a name-derived ARN: the bucket
	// is named <type>-<suffix>-<account> (infra/storage) and the data key
	// is granted by its alias, so the definition and the role policy are
	// plain strings at the first preview.
	built, err := asl.ServiceSnapshot(asl.SnapshotTargets{
		ClusterArn: args.ECSClusterArn, ServiceArn: args.ECSServiceArn, TargetGroupName: args.TargetGroupName,
		Bucket: args.DataBucket, BucketArn: at.Bucket(args.DataBucket), Prefix: args.SnapshotPrefix,
		DataKeyAlias: args.DataKey.Alias, TopicArn: at.Topic(args.AlarmTopicName),
	})
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("build snapshot workflow: %w", err)
	}
	plan, err := statemachine.NewPlan(asl.ServiceSnapshotName, built, args.TelemetryKey)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	sm, err := statemachine.New(ctx, kids, asl.ServiceSnapshotName, statemachine.Spec{
		Name:             args.Names.Name(naming.ServiceSnapshotSM),
		LogGroupName:     args.Names.Name(naming.SnapshotLogs),
		RoleName:         args.Names.Name(naming.SnapshotRole),
		At:               at,
		LogRetentionDays: args.Shared.LogRetentionDays,
		TelemetryKeyArn:  args.TelemetryKeyArn,
		TelemetryKey:     args.TelemetryKey,
		Plan:             plan,
		Schedule: &statemachine.Schedule{
			Name:        args.Names.Name(naming.SnapshotSchedule),
			RoleName:    args.Names.Name(naming.SnapshotScheduleRole),
			Description: "ECS service configuration snapshot",
			Expression:  args.Backup.SnapshotSchedule,
			// The workflow ignores its input, which is stored in the snapshot body.
			Input:               `{}`,
			MaxEventAgeSeconds:  3600,
			DeadLetterArn:       args.SchedulerDLQArn,
			DeadLetterQueueName: args.SchedulerDLQName,
		},
	}, parent)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("service snapshot workflow: %w", err)
	}
	return sm.Arn, nil
}

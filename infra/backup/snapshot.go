package backup

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/asl"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/statemachine"
)

// serviceSnapshot deploys the ECS service snapshot workflow
// (asl.ServiceSnapshot) with its role, log group and schedule. The role's
// policy is derived from the definition (statemachine.Policy).
func serviceSnapshot(ctx *pulumi.Context, args Args, parent pulumi.ResourceOption) (pulumi.StringOutput, error) {
	definition := pulumi.All(args.ECSClusterArn, args.ECSServiceArn, args.TargetGroupArn,
		args.DataBucket, args.DataBucketArn, args.DataKeyArn, args.AlarmTopicArn).
		ApplyT(func(v []any) (*asl.StateMachine, error) {
			sm, err := asl.ServiceSnapshot(asl.SnapshotTargets{
				ClusterArn: v[0].(string), ServiceArn: v[1].(string), TargetGroupArn: v[2].(string),
				Bucket: v[3].(string), BucketArn: v[4].(string), Prefix: args.SnapshotPrefix,
				DataKeyArn: v[5].(string), TopicArn: v[6].(string),
			})
			if err != nil {
				return nil, fmt.Errorf("build snapshot workflow: %w", err)
			}
			return sm, nil
		})
	sm, err := statemachine.New(ctx, asl.ServiceSnapshotName, statemachine.Spec{
		Name:             args.Names.Name(naming.ServiceSnapshotSM),
		LogGroupName:     args.Names.Name(naming.SnapshotLogs),
		RoleName:         args.Names.Name(naming.SnapshotRole),
		AccountID:        args.AccountID,
		Region:           args.Region,
		LogRetentionDays: args.Config.LogRetentionDays,
		TelemetryKeyArn:  args.TelemetryKeyArn,
		TelemetryKey:     args.TelemetryKey,
		Definition:       definition,
		Schedule: &statemachine.Schedule{
			Name:        args.Names.Name(naming.SnapshotSchedule),
			RoleName:    args.Names.Name(naming.SnapshotScheduleRole),
			Description: "ECS service configuration snapshot",
			Expression:  args.Config.Backup.SnapshotSchedule,
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

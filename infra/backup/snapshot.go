package backup

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	awsarn "github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/asl"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
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
	// registers. The bucket name is known at program time (infra/storage
	// names buckets <type>-<suffix>-<account>), and the definition does not
	// embed the data key (a stand-in key builds the same string), so the
	// definition is a plain string at the first preview.
	standIn := at.Key("00000000-0000-4000-8000-000000000000")
	sm0, definition, err := build(args.DataBucket, standIn)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	_, other, err := build(args.DataBucket, at.Key("11111111-1111-4111-8111-111111111111"))
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	if other != definition {
		return pulumi.StringOutput{}, fmt.Errorf("snapshot workflow: the definition depends on the data key ARN, so it cannot be deployed as built at program time")
	}
	// The role policy names the data key by alias (statemachine.Policy), so
	// it is known at program time too.
	policy, err := statemachine.Policy(sm0, args.TelemetryKey, map[string]iamdoc.Key{standIn: args.DataKey}).JSON()
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("snapshot workflow role policy: %w", err)
	}
	sm, err := statemachine.New(ctx, asl.ServiceSnapshotName, statemachine.Spec{
		Name:             args.Names.Name(naming.ServiceSnapshotSM),
		LogGroupName:     args.Names.Name(naming.SnapshotLogs),
		RoleName:         args.Names.Name(naming.SnapshotRole),
		At:               at,
		LogRetentionDays: args.Config.LogRetentionDays,
		TelemetryKeyArn:  args.TelemetryKeyArn,
		TelemetryKey:     args.TelemetryKey,
		Definition:       pulumi.String(definition),
		Policy:           pulumi.String(policy),
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

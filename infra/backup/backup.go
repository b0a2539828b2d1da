// Package backup owns AWS Backup for the platform: a KMS-encrypted,
// force-destroyed vault with failure notifications, a daily snapshot plan
// for Aurora, DynamoDB and the data bucket, a continuous (point-in-time)
// plan for the types that support it (Aurora, S3), a weekly restore test of
// Aurora and DynamoDB, and — because AWS Backup does not protect ECS — a
// scheduled Step Functions workflow that snapshots the ECS service, its
// task definition and load balancer wiring into the versioned data bucket.
package backup

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/backup"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	awsarn "github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/naming"
)

// ManagedPolicies are the AWS managed policies of the backup role. The S3
// ones live outside service-role/ (AWS managed policy reference).
var ManagedPolicies = []string{
	"arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
	"arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
	"arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup",
	"arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore",
}

// legacyAttachment is the loop-index logical name each attachment had
// before it was keyed by policy name; its alias keeps existing stacks'
// attachments in place.
var legacyAttachment = map[string]string{
	"arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup":   "backup-role-0",
	"arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores": "backup-role-1",
	"arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup":              "backup-role-2",
	"arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore":             "backup-role-3",
}

// VaultEvents are the vault notifications we send to the alarm topic: the
// failure-only events the API still supports. BACKUP_JOB_FAILED and the
// other *_FAILED job events are deprecated (no notifications); backup job
// failures are caught by the events component's "Backup Job State Change"
// rule instead, which filters on state.
var VaultEvents = []string{"COPY_JOB_FAILED", "S3_BACKUP_OBJECT_FAILED", "S3_RESTORE_OBJECT_FAILED"}

// Args configures the component.
type Args struct {
	Names naming.Namer
	// Shared are the stack-wide settings (region, zones, deletion protection, log retention).
	Shared config.Shared
	// Backup is the backup section: plans, vault lock, DR copy, the
	// exempt principals.
	Backup    config.Backup
	AccountID string
	// DataKeyArn encrypts the vault and the snapshots in the data bucket.
	DataKeyArn pulumi.StringInput
	// TelemetryKeyArn encrypts the workflow's log group (and the topic it publishes to).
	TelemetryKeyArn pulumi.StringInput
	// AlarmTopicArn receives vault notifications and workflow failures.
	AlarmTopicArn pulumi.StringInput
	// AlarmTopicName is that topic's name: the snapshot definition names
	// the topic by its name-derived ARN, so it is known at program time.
	AlarmTopicName string
	// SchedulerDLQArn receives the snapshot schedule's undeliverable
	// invocations; SchedulerDLQName is that queue's name.
	SchedulerDLQArn  pulumi.StringInput
	SchedulerDLQName string
	// TelemetryKey and DataKey are the keys as identity policies name
	// them: by alias (iamdoc.Key).
	TelemetryKey, DataKey iamdoc.Key
	// AuroraClusterArn, TableArn and DataBucketArn are the protected resources.
	AuroraClusterArn pulumi.StringInput
	TableArn         pulumi.StringInput
	DataBucketArn    pulumi.StringInput
	// DataBucket is the bucket name the snapshot workflow writes to, under
	// SnapshotPrefix; known at program time (infra/storage).
	DataBucket     string
	SnapshotPrefix string
	// DBSubnetGroupName and DBSecurityGroupID place restore-tested Aurora clusters in our VPC.
	DBSubnetGroupName pulumi.StringInput
	DBSecurityGroupID pulumi.StringInput
	// ECSClusterArn, ECSServiceArn (name-derived) and TargetGroupName are
	// what the snapshot describes; the target group by name, since its ARN
	// ends in an id AWS assigns at creation.
	ECSClusterArn   string
	ECSServiceArn   string
	TargetGroupName string
	// DRProvider is the aws provider of config drRegion (nil: no copies).
	DRProvider pulumi.ProviderResource
}

// Known are identities of the backup component that naming fixes: the
// runbooks' definitions and roles and the rule patterns built from them
// stay known at the first preview, which the resources' outputs are not.
type Known struct {
	// VaultName is the stack's vault; RoleArn the role AWS Backup and the
	// restore tests assume.
	VaultName, RoleArn string
}

// Backup is the component.
type Backup struct {
	pulumi.ResourceState

	// Known are the vault's name and the role's ARN at program time.
	Known Known

	VaultName               pulumi.StringOutput
	VaultArn                pulumi.StringOutput
	PlanID                  pulumi.StringOutput
	RoleArn                 pulumi.StringOutput
	RestoreTestingPlanName  pulumi.StringOutput
	SnapshotStateMachineArn pulumi.StringOutput
}

// New creates the vault, plans, selections, restore testing and the ECS snapshot workflow.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Backup, error) {
	b := &Backup{Known: Known{
		VaultName: args.Names.Name(naming.BackupVault),
		RoleArn:   awsarn.In(args.Shared.Region, args.AccountID).Role(args.Names.Name(naming.BackupRole)),
	}}
	if err := ctx.RegisterComponentResource("trading:backup:Backup", name, b, opts...); err != nil {
		return nil, fmt.Errorf("register backup component: %w", err)
	}
	parent := pulumi.Parent(b)
	// Children are named from the component (naming.ChildrenOf).
	// snapshot workflow (snapshot.go) is a statemachine component named
	// from asl.ServiceSnapshotName, not yet from this component's name.
	kids := naming.ChildrenOf(name)
	cfg := args.Backup

	vaultTags, err := keepTags(args.Shared.DeletionProtection)
	if err != nil {
		return nil, err
	}
	vault, err := backup.NewVault(ctx, kids.Name("vault"), &backup.VaultArgs{
		Name:         pulumi.String(b.Known.VaultName),
		KmsKeyArn:    args.DataKeyArn,
		ForceDestroy: pulumi.Bool(!args.Shared.DeletionProtection),
		Tags:         vaultTags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create backup vault: %w", err)
	}
	if _, err := backup.NewVaultNotifications(ctx, kids.Name("vault-notifications"), &backup.VaultNotificationsArgs{
		BackupVaultName:   vault.Name,
		SnsTopicArn:       args.AlarmTopicArn,
		BackupVaultEvents: pulumi.ToStringArray(VaultEvents),
	}, parent); err != nil {
		return nil, fmt.Errorf("create vault notifications: %w", err)
	}

	// Immutable backups: vault lock and access policy here, and a locked
	// vault in drRegion every recovery point (daily and continuous) is
	// copied to.
	if err := lock(ctx, kids, "vault", args.Backup, args.Shared.DeletionProtection, PrincipalsOf(args.Backup, args.Shared.Region, args.Names, args.AccountID), vault, MinRetentionDays(cfg), parent); err != nil {
		return nil, err
	}
	drArn, hasDR, err := drVault(ctx, kids, args, parent)
	if err != nil {
		return nil, err
	}
	if err := breakGlassRole(ctx, kids, args, parent); err != nil {
		return nil, err
	}
	var copies backup.PlanRuleCopyActionArray
	if hasDR {
		copies = backup.PlanRuleCopyActionArray{&backup.PlanRuleCopyActionArgs{
			DestinationVaultArn: drArn,
			Lifecycle:           &backup.PlanRuleCopyActionLifecycleArgs{DeleteAfter: pulumi.Int(cfg.RetentionDays)},
		}}
	}

	trust, err := iamdoc.AssumeRole("backup.amazonaws.com", args.AccountID).JSON()
	if err != nil {
		return nil, err
	}
	role, err := iam.NewRole(ctx, kids.Name("backup-role"), &iam.RoleArgs{
		Name:             pulumi.String(args.Names.Name(naming.BackupRole)),
		AssumeRolePolicy: pulumi.String(trust),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create backup role: %w", err)
	}
	for _, arn := range ManagedPolicies {
		// Keyed by the policy's name, not its place in the list, so a
		// reordering moves nothing.
		key := "backup-role-" + arn[strings.LastIndex(arn, "/")+1:]
		if _, err := iam.NewRolePolicyAttachment(ctx, kids.Name(key), &iam.RolePolicyAttachmentArgs{
			Role: role.Name, PolicyArn: pulumi.String(arn),
		}, parent); err != nil {
			return nil, fmt.Errorf("attach %s to the backup role: %w", arn, err)
		}
	}

	tags := pulumi.StringMap{"BackupPlan": pulumi.String(args.Names.Name(naming.BackupPlan))}
	daily, err := backup.NewPlan(ctx, kids.Name("plan"), &backup.PlanArgs{
		Name: pulumi.String(args.Names.Name(naming.BackupPlan)),
		Rules: backup.PlanRuleArray{&backup.PlanRuleArgs{
			RuleName:          pulumi.String("daily"),
			TargetVaultName:   vault.Name,
			Schedule:          pulumi.String(cfg.Schedule),
			StartWindow:       pulumi.Int(cfg.StartWindowMinutes),
			CompletionWindow:  pulumi.Int(cfg.CompletionWindowMinutes),
			Lifecycle:         &backup.PlanRuleLifecycleArgs{DeleteAfter: pulumi.Int(cfg.RetentionDays)},
			RecoveryPointTags: tags,
			CopyActions:       copies,
		}},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create daily backup plan: %w", err)
	}
	// Continuous backup is its own plan: a plan's rules apply to all its
	// selections, and DynamoDB does not support AWS Backup continuous
	// backup (the table has native PITR instead).
	pitr, err := backup.NewPlan(ctx, kids.Name("plan-pitr"), &backup.PlanArgs{
		Name: pulumi.String(args.Names.Name(naming.BackupPlanPITR)),
		Rules: backup.PlanRuleArray{&backup.PlanRuleArgs{
			RuleName:               pulumi.String("continuous"),
			TargetVaultName:        vault.Name,
			Schedule:               pulumi.String(cfg.Schedule),
			StartWindow:            pulumi.Int(cfg.StartWindowMinutes),
			CompletionWindow:       pulumi.Int(cfg.CompletionWindowMinutes),
			EnableContinuousBackup: pulumi.Bool(true),
			Lifecycle:              &backup.PlanRuleLifecycleArgs{DeleteAfter: pulumi.Int(cfg.ContinuousRetentionDays)},
			RecoveryPointTags:      tags,
			// A copy action on a continuous rule copies a snapshot of the
			// resource, taken by AWS Backup, to the DR vault (AWS Backup
			// Developer Guide, "Copying continuous backups": the copy
			// becomes a periodic backup, PITR is not available for it);
			// the temporary source snapshot is deleted with
			// rds:DeleteDBClusterSnapshot on cluster-snapshot:awsbackup:*,
			// which AWSBackupServiceRolePolicyForBackup grants.
			CopyActions: copies,
		}},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create continuous backup plan: %w", err)
	}
	for _, sel := range []struct {
		logical string
		kind    naming.Kind
		plan    *backup.Plan
		arns    pulumi.StringArray
	}{
		{"selection-daily", naming.BackupSelectionDaily, daily, pulumi.StringArray{args.AuroraClusterArn, args.TableArn, args.DataBucketArn}},
		{"selection-pitr", naming.BackupSelectionPITR, pitr, pulumi.StringArray{args.AuroraClusterArn, args.DataBucketArn}},
	} {
		if _, err := backup.NewSelection(ctx, kids.Name(sel.logical), &backup.SelectionArgs{
			Name: pulumi.String(args.Names.Name(sel.kind)), PlanId: sel.plan.ID().ToStringOutput(),
			IamRoleArn: role.Arn, Resources: sel.arns,
		}, parent); err != nil {
			return nil, fmt.Errorf("create %s: %w", sel.logical, err)
		}
	}

	testing, err := restoreTesting(ctx, kids, args, vault, role, parent)
	if err != nil {
		return nil, err
	}
	sm, err := serviceSnapshot(ctx, kids, args, parent)
	if err != nil {
		return nil, err
	}

	b.VaultName, b.VaultArn, b.PlanID, b.RoleArn = vault.Name, vault.Arn, daily.ID().ToStringOutput(), role.Arn
	b.RestoreTestingPlanName, b.SnapshotStateMachineArn = testing, sm
	if err := ctx.RegisterResourceOutputs(b, pulumi.Map{
		"vaultName": b.VaultName, "vaultArn": b.VaultArn, "planId": b.PlanID, "roleArn": b.RoleArn,
		"restoreTestingPlan": b.RestoreTestingPlanName, "snapshotStateMachineArn": b.SnapshotStateMachineArn,
	}); err != nil {
		return nil, fmt.Errorf("register backup outputs: %w", err)
	}
	return b, nil
}

// restoreTesting restores the latest Aurora and DynamoDB recovery points of
// our vault on a schedule; AWS Backup deletes them after the validation window.
func restoreTesting(ctx *pulumi.Context, kids naming.Children, args Args, vault *backup.Vault, role *iam.Role, parent pulumi.ResourceOption) (pulumi.StringOutput, error) {
	cfg := args.Backup
	plan, err := backup.NewRestoreTestingPlan(ctx, kids.Name("restore-testing"), &backup.RestoreTestingPlanArgs{
		Name:               pulumi.String(args.Names.Name(naming.RestoreTestingPlan)),
		ScheduleExpression: pulumi.String(cfg.RestoreTestingSchedule),
		StartWindowHours:   pulumi.Int(24),
		RecoveryPointSelection: &backup.RestoreTestingPlanRecoveryPointSelectionArgs{
			Algorithm:           pulumi.String("LATEST_WITHIN_WINDOW"),
			IncludeVaults:       pulumi.StringArray{vault.Arn},
			RecoveryPointTypes:  pulumi.StringArray{pulumi.String("SNAPSHOT")},
			SelectionWindowDays: pulumi.Int(7),
		},
	}, parent)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("create restore testing plan: %w", err)
	}
	// Restore Aurora into our DB subnet group and security group (the
	// default VPC may not exist); keys are case-insensitive per AWS Backup's
	// restore testing inferred metadata reference.
	sgList := args.DBSecurityGroupID.ToStringOutput().ApplyT(func(sg string) (string, error) {
		b, err := json.Marshal([]string{sg})
		if err != nil {
			return "", fmt.Errorf("marshal security group list: %w", err)
		}
		return string(b), nil
	}).(pulumi.StringOutput)
	for _, sel := range []struct {
		name, typ string
		kind      naming.Kind
		arn       pulumi.StringInput
		overrides pulumi.StringMap
	}{
		{"aurora", "Aurora", naming.RestoreSelectionAurora, args.AuroraClusterArn, pulumi.StringMap{
			"dbsubnetgroupname": args.DBSubnetGroupName, "vpcsecuritygroupids": sgList,
		}},
		{"sessions", "DynamoDB", naming.RestoreSelectionSession, args.TableArn, pulumi.StringMap{
			"encryptionType": pulumi.String("KMS"), "kmsMasterKeyArn": args.DataKeyArn,
		}},
	} {
		key := "restore-testing-" + sel.name
		if _, err := backup.NewRestoreTestingSelection(ctx, kids.Name(key), &backup.RestoreTestingSelectionArgs{
			Name:                     pulumi.String(args.Names.Name(sel.kind)),
			RestoreTestingPlanName:   plan.Name,
			ProtectedResourceType:    pulumi.String(sel.typ),
			ProtectedResourceArns:    pulumi.StringArray{sel.arn},
			IamRoleArn:               role.Arn,
			RestoreMetadataOverrides: sel.overrides,
			ValidationWindowHours:    pulumi.Int(cfg.RestoreTestingValidationHours),
		}, parent); err != nil {
			return pulumi.StringOutput{}, fmt.Errorf("create restore testing selection %s: %w", sel.name, err)
		}
	}
	return plan.Name, nil
}

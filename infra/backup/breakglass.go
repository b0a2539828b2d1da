package backup

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	awsarn "github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/naming"
)

// BreakGlassVaultActions are what the break-glass role may do to the
// stack's vaults: read them, change or drop their access policy and lock,
// and delete them (once empty).
var BreakGlassVaultActions = append([]string{
	"backup:DescribeBackupVault",
	"backup:GetBackupVaultAccessPolicy",
	"backup:ListRecoveryPointsByBackupVault",
	"backup:DeleteBackupVault",
}, LockActions...)

// BreakGlassPointActions are what it may do to their recovery points.
var BreakGlassPointActions = []string{
	"backup:DescribeRecoveryPoint",
	"backup:DeleteRecoveryPoint",
	"backup:UpdateRecoveryPointLifecycle",
}

// Vault is one vault of the stack: its region and name.
type Vault struct {
	Region, Name string
}

// BreakGlassKeyActions are what the break-glass role may do to the stack's
// data and DR keys, which protected stacks' key policies let no other
// principal disable, schedule for deletion or re-policy (KeyGuard): those,
// their undo, and reading the key and its policy.
var BreakGlassKeyActions = []string{
	"kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy",
	"kms:DisableKey", "kms:EnableKey", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
}

// BreakGlassPolicy is the break-glass role's only permissions policy, on
// the stack's vaults (the home vault and the DR one) and their recovery
// points. A recovery point's ARN does not name its vault: AWS Backup's own
// points are arn:aws:backup:<region>:<account>:recovery-point:<id> (S3,
// continuous backups, DynamoDB with advanced backup) and Aurora's are its
// cluster snapshots, arn:aws:rds:<region>:<account>:cluster-snapshot:awsbackup:<id>
// (AWS Backup Developer Guide, "Access control", AWS Backup resource
// ARNs; both fit the Service Authorization Reference's recoveryPoint type).
// Scoped to the vaults' regions, the grant reaches other vaults' points
// there too; those vaults' own access policies are what keep it out, as
// each stack's deny every principal but its own break-glass role. Deleting
// an Aurora point deletes its snapshot with the caller's
// rds:DeleteDBClusterSnapshot, granted only through AWS Backup
// (aws:CalledVia), as the AWS managed policy AWSBackupFullAccess grants it.
// keys are the stack's data and DR keys, named by alias (iamdoc.Key): the
// role may run BreakGlassKeyActions on them, which is what their key
// policies' guard exempts it for.
func BreakGlassPolicy(account string, vaults []Vault, keys []iamdoc.Key) iamdoc.Document {
	var vaultArns, points, snapshots []string
	for _, v := range vaults {
		at := awsarn.In(v.Region, account)
		snapshot := fmt.Sprintf("arn:%s:rds:%s:%s:cluster-snapshot:awsbackup:*", at.Partition, v.Region, account)
		vaultArns = append(vaultArns, at.BackupVault(v.Name))
		points = append(points, fmt.Sprintf("arn:%s:backup:%s:%s:recovery-point:*", at.Partition, v.Region, account), snapshot)
		snapshots = append(snapshots, snapshot)
	}
	viaBackup := map[string]map[string]any{"ForAnyValue:StringEquals": {"aws:CalledVia": []string{"backup.amazonaws.com"}}}
	doc := iamdoc.New(
		iamdoc.Allow("ManageVaults", slices.Clone(BreakGlassVaultActions), vaultArns),
		iamdoc.Allow("ManageRecoveryPoints", slices.Clone(BreakGlassPointActions), points),
		iamdoc.Statement{
			Sid: "DeleteAuroraSnapshotsThroughBackup", Effect: "Allow",
			Action: []string{"rds:DeleteDBClusterSnapshot"}, Resource: snapshots,
			Condition: viaBackup,
		},
	)
	for i, k := range keys {
		doc.Statement = append(doc.Statement, k.Allow(fmt.Sprintf("ManageKey%d", i), slices.Clone(BreakGlassKeyActions), nil))
	}
	return doc
}

// breakGlassRole creates role-break-glass-<suffix> when config
// backupBreakGlassRoleArn is empty: the principal the vault access policies
// exempt from every Deny (PrincipalsOf names it by its ARN, so the policies
// are known at preview). The account's IAM principals allowed to assume it
// may, with MFA, for an hour; it holds BreakGlassPolicy and nothing else.
// With the key set, that role is used and nothing is created.
func breakGlassRole(ctx *pulumi.Context, kids naming.Children, args Args, parent pulumi.ResourceOption) error {
	cfg := args.Backup
	if cfg.BreakGlassPrincipal != "" {
		return nil
	}
	trust, err := iamdoc.AssumeRoleWithMFA(args.AccountID).JSON()
	if err != nil {
		return err
	}
	vaults := []Vault{{Region: args.Shared.Region, Name: args.Names.Name(naming.BackupVault)}}
	keys := []iamdoc.Key{{Keys: awsarn.In(args.Shared.Region, args.AccountID).Keys(), Alias: args.Names.Name(naming.KMSDataAlias)}}
	if cfg.DRRegion != "" && args.DRProvider != nil {
		vaults = append(vaults, Vault{Region: cfg.DRRegion, Name: args.Names.Name(naming.DRVault)})
		keys = append(keys, iamdoc.Key{Keys: awsarn.In(cfg.DRRegion, args.AccountID).Keys(), Alias: args.Names.Name(naming.KMSDRAlias)})
	}
	policy, err := BreakGlassPolicy(args.AccountID, vaults, keys).JSON()
	if err != nil {
		return err
	}
	role, err := iam.NewRole(ctx, kids.Name("break-glass-role"), &iam.RoleArgs{
		Name:               pulumi.String(args.Names.Name(naming.BreakGlassRole)),
		Description:        pulumi.String("Break-glass on the backup vaults and data keys of " + args.Names.Suffix() + ": delete recovery points and vaults, change their lock and access policy, disable or delete the keys (MFA required)"),
		AssumeRolePolicy:   pulumi.String(trust),
		MaxSessionDuration: pulumi.Int(3600),
	}, parent)
	if err != nil {
		return fmt.Errorf("create break-glass role: %w", err)
	}
	if _, err := iam.NewRolePolicy(ctx, kids.Name("break-glass-policy"), &iam.RolePolicyArgs{
		Role: role.Name, Policy: pulumi.String(policy),
	}, parent); err != nil {
		return fmt.Errorf("attach break-glass policy: %w", err)
	}
	return nil
}

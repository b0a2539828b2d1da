package backup

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/backup"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	awsarn "github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/tags"
)

// ProtectedActions are what the vault access policy denies to every
// principal but the break-glass one: deleting a recovery point, shortening
// its lifecycle, deleting the vault. AWS Backup's own lifecycle expiry is
// not an API call of a principal and keeps working (AWS Backup Developer
// Guide, "Vault access policies": "Deny access to delete recovery points").
var ProtectedActions = []string{
	"backup:DeleteRecoveryPoint",
	"backup:UpdateRecoveryPointLifecycle",
	"backup:DeleteBackupVault",
}

// LockActions are denied as well in protected stacks (deletionProtection):
// without them a principal with Backup rights could first drop the access
// policy or the governance-mode lock, then delete. The deploy role is
// exempt from these alone, so `pulumi up` applies the program's lock and
// policy (a retention change moves the lock's MinRetentionDays) without
// the root user or break-glass. Unprotected stacks leave them open so
// `pulumi destroy` removes policy, lock and vault in one step.
var LockActions = []string{
	"backup:PutBackupVaultAccessPolicy",
	"backup:DeleteBackupVaultAccessPolicy",
	"backup:DeleteBackupVaultLockConfiguration",
	"backup:PutBackupVaultLockConfiguration",
}

// Principals are the principal ARNs the vault access policies exempt, as
// aws:PrincipalArn holds them: for a role, the role's ARN with its path,
// never an assumed-role session's ARN (IAM User Guide, "AWS global
// condition context keys", aws:PrincipalArn).
type Principals struct {
	// BreakGlass is exempt from every Deny: ProtectedActions and LockActions.
	BreakGlass string
	// Deploy (config deployRoleArn) is exempt from LockActions only;
	// empty in an unprotected stack that names none.
	Deploy string
}

// PrincipalsOf returns a stack's exempt principals: the configured
// break-glass role, else role-break-glass-<suffix>, which the component
// then creates (breakGlassRole); and the deploy role.
func PrincipalsOf(b config.Backup, region string, names naming.Namer, account string) Principals {
	breakGlass := b.BreakGlassPrincipal
	if breakGlass == "" {
		breakGlass = awsarn.In(region, account).Role(names.Name(naming.BreakGlassRole))
	}
	return Principals{BreakGlass: breakGlass, Deploy: b.DeployRole}
}

// VaultAccessPolicy is the vault access policy of a vault: a Deny of
// ProtectedActions to every principal whose ARN is not break-glass's and,
// when protected, a Deny of LockActions to every principal whose ARN is
// neither break-glass's nor the deploy role's. ArnNotEquals with several
// values holds when the ARN equals none of them (IAM User Guide,
// "Evaluation logic for negated matching condition operators"). The
// deploy role never appears in the first statement.
//
// Resource is "*": the vault and every recovery point in it, the only
// resources a vault access policy governs (AWS Backup Developer Guide,
// "Vault access policies", whose "Deny access to delete recovery points
// in a backup vault" example names "*"; the AWS Config managed rule
// backup-recovery-point-manual-deletion-disabled requires it). The service
// authorization reference authorizes backup:DeleteRecoveryPoint and
// backup:UpdateRecoveryPointLifecycle on the recovery point, whose ARN is
// never the vault's, so the vault ARN alone would leave every recovery
// point deletable (proof/iamcheck VaultPolicy).
func VaultAccessPolicy(who Principals, protected bool) iamdoc.Document {
	deny := func(sid string, actions []string, exempt ...string) iamdoc.Statement {
		var arns any = exempt[0]
		if len(exempt) > 1 {
			arns = exempt
		}
		return iamdoc.Statement{
			Sid: sid, Effect: "Deny",
			Principal: map[string]any{"AWS": "*"},
			Action:    actions,
			Resource:  []string{"*"},
			Condition: map[string]map[string]any{"ArnNotEquals": {"aws:PrincipalArn": arns}},
		}
	}
	doc := iamdoc.New(deny("DenyDeletingRecoveryPointsButBreakGlass", slices.Clone(ProtectedActions), who.BreakGlass))
	if protected {
		exempt := []string{who.BreakGlass}
		if who.Deploy != "" {
			exempt = append(exempt, who.Deploy)
		}
		doc.Statement = append(doc.Statement, deny("DenyLockChangesButDeployAndBreakGlass", slices.Clone(LockActions), exempt...))
	}
	return doc
}

// KeyGuard is the key policy guard of the stack's data and DR keys: in a
// protected stack (deletionProtection) iamdoc.KeyGuard with the stack's
// break-glass and deploy roles, so no other principal, the root user
// included, can disable the keys or schedule their deletion, nor rewrite
// their policies to drop that Deny; none in an unprotected stack, whose
// destroy schedules the keys' deletion.
func KeyGuard(protected bool, who Principals) []iamdoc.Statement {
	if !protected {
		return nil
	}
	return iamdoc.KeyGuard(who.BreakGlass, who.Deploy)
}

// CallerWarning is what a protected stack's run says when its credentials
// (callerArn, from sts:GetCallerIdentity) are a session of neither the
// deploy role nor break-glass: the vault access policies deny them
// changing the vault lock and access policy, so an update that changes
// either (a retention, the lock mode) would fail with AccessDenied. The
// session ARN has no path, so it is compared to the roles by account and
// name (awsarn.SessionRole). Empty when there is nothing to say.
func CallerWarning(protected bool, callerArn string, who Principals) string {
	if !protected {
		return ""
	}
	if caller, ok := awsarn.SessionRole(callerArn); ok {
		for _, p := range []string{who.Deploy, who.BreakGlass} {
			if role, isRole := awsarn.ParseRole(p); isRole && caller.Same(role) {
				return ""
			}
		}
	}
	return fmt.Sprintf("the credentials are %s, neither the deploy role %s (deployRoleArn) nor break-glass: "+
		"the backup vault access policies deny them changing the vault lock and access policy, so an update that changes either "+
		"(backupRetentionDays, continuousBackupRetentionDays, backupVaultLockMode) fails with AccessDenied; run `pulumi up` as the deploy role (docs/backup.md)",
		callerArn, who.Deploy)
}

// MinRetentionDays is the lock's minimum retention for the primary vault:
// every rule that writes into it must keep points at least this long
// (PutBackupVaultLockConfiguration, MinRetentionDays), so it is the
// shortest of the daily and continuous retentions.
func MinRetentionDays(cfg config.Backup) int {
	return min(cfg.RetentionDays, cfg.ContinuousRetentionDays)
}

// keepTags exempts a protected stack's vault from TH-DES-2 (it is not
// force-destroyed: its recovery points outlive the stack).
func keepTags(protected bool) (pulumi.StringMap, error) {
	if !protected {
		return nil, nil
	}
	t, err := tags.Exempt(tags.Exemption{Rule: "TH-DES-2",
		Reason: "deletionProtection is on: recovery points outlive the stack so the vault is not force-destroyed"})
	if err != nil {
		return nil, fmt.Errorf("vault exemption tags: %w", err)
	}
	return t, nil
}

// lock applies the vault lock and the access policy to a vault. The policy
// is a plain string at preview; the policy resource names the vault
// through its output and so waits for it.
func lock(ctx *pulumi.Context, kids naming.Children, logical string, cfg config.Backup, protected bool, who Principals, vault *backup.Vault, minDays int, opts ...pulumi.ResourceOption) error {
	args := &backup.VaultLockConfigurationArgs{
		BackupVaultName:  vault.Name,
		MinRetentionDays: pulumi.Int(minDays),
	}
	if cfg.VaultLockMode == config.VaultLockCompliance {
		// Compliance mode: immutable once this grace time has passed.
		args.ChangeableForDays = pulumi.Int(cfg.VaultLockChangeableDays)
	}
	// A vault has one lock, and its delete is DeleteBackupVaultLockConfiguration
	// on the vault's name. Were a change that replaces the lock resource
	// (a retention, the mode) to create the new lock before deleting the
	// old one, Pulumi's default, the delete would remove the new lock, a
	// compliance lock inside its grace time included, and leave the vault
	// unlocked. Deleting first leaves it unlocked only between the two
	// calls.
	lockOpts := append(append([]pulumi.ResourceOption(nil), opts...), pulumi.DeleteBeforeReplace(true))
	if _, err := backup.NewVaultLockConfiguration(ctx, kids.Name(logical+"-lock"), args, lockOpts...); err != nil {
		return fmt.Errorf("lock backup vault %s: %w", logical, err)
	}
	doc, err := VaultAccessPolicy(who, protected).JSON()
	if err != nil {
		return fmt.Errorf("access policy of backup vault %s: %w", logical, err)
	}
	if _, err := backup.NewVaultPolicy(ctx, kids.Name(logical+"-policy"), &backup.VaultPolicyArgs{
		BackupVaultName: vault.Name, Policy: pulumi.String(doc),
	}, opts...); err != nil {
		return fmt.Errorf("attach access policy to backup vault %s: %w", logical, err)
	}
	return nil
}

// drVault creates, in the DR region (through its provider), a key and a
// locked vault the plans copy every recovery point (daily and continuous) into. It returns
// the vault ARN, or nil when no drRegion is configured.
func drVault(ctx *pulumi.Context, kids naming.Children, args Args, parent pulumi.ResourceOption) (pulumi.StringOutput, bool, error) {
	cfg := args.Backup
	if cfg.DRRegion == "" || args.DRProvider == nil {
		return pulumi.StringOutput{}, false, nil
	}
	opts := []pulumi.ResourceOption{parent, pulumi.Provider(args.DRProvider)}
	root := "arn:aws:iam::" + args.AccountID + ":root"
	// The copy is encrypted with a key in the DR region: AWS Backup
	// re-encrypts a cross-region copy with the destination vault's key.
	// Administration by the account, use only through AWS Backup there.
	statements := []iamdoc.Statement{
		{
			Sid: "AccountAdministersKey", Effect: "Allow", Principal: map[string]any{"AWS": root},
			Action: iamdoc.KMSKeyAdminActions, Resource: []string{"*"},
		},
		{
			Sid: "BackupUsesKeyViaService", Effect: "Allow", Principal: map[string]any{"AWS": root},
			Action:   []string{"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant"},
			Resource: []string{"*"},
			Condition: map[string]map[string]any{"StringEquals": {
				"kms:CallerAccount": args.AccountID, "kms:ViaService": "backup." + cfg.DRRegion + ".amazonaws.com",
			}},
		},
	}
	// Only break-glass disables the DR copies' key or schedules its
	// deletion where the stack is protected (KeyGuard).
	who := PrincipalsOf(cfg, args.Shared.Region, args.Names, args.AccountID)
	statements = append(statements, KeyGuard(args.Shared.DeletionProtection, who)...)
	policy, err := iamdoc.New(statements...).JSON()
	if err != nil {
		return pulumi.StringOutput{}, false, err
	}
	key, err := kms.NewKey(ctx, kids.Name("dr-key"), &kms.KeyArgs{
		Description:          pulumi.String("trading-ha backup copies in " + cfg.DRRegion),
		EnableKeyRotation:    pulumi.Bool(true),
		RotationPeriodInDays: pulumi.Int(365),
		DeletionWindowInDays: pulumi.Int(args.Shared.KMSDeletionWindowDays()),
		Policy:               pulumi.String(policy),
	}, opts...)
	if err != nil {
		return pulumi.StringOutput{}, false, fmt.Errorf("create DR backup key: %w", err)
	}
	if _, err := kms.NewAlias(ctx, kids.Name("dr-key"), &kms.AliasArgs{
		Name: pulumi.String(args.Names.Name(naming.KMSDRAlias)), TargetKeyId: key.KeyId,
	}, opts...); err != nil {
		return pulumi.StringOutput{}, false, fmt.Errorf("create DR backup key alias: %w", err)
	}
	drTags, err := keepTags(args.Shared.DeletionProtection)
	if err != nil {
		return pulumi.StringOutput{}, false, err
	}
	vault, err := backup.NewVault(ctx, kids.Name("vault-dr"), &backup.VaultArgs{
		Name:         pulumi.String(args.Names.Name(naming.DRVault)),
		KmsKeyArn:    key.Arn,
		ForceDestroy: pulumi.Bool(!args.Shared.DeletionProtection),
		Tags:         drTags,
	}, opts...)
	if err != nil {
		return pulumi.StringOutput{}, false, fmt.Errorf("create DR backup vault: %w", err)
	}
	if err := lock(ctx, kids, "vault-dr", cfg, args.Shared.DeletionProtection, who, vault, cfg.RetentionDays, opts...); err != nil {
		return pulumi.StringOutput{}, false, err
	}
	// Copy failures land in the DR vault's notifications too: the SNS
	// topic is in the home region, and vault notifications need a topic in
	// the vault's region, so COPY_JOB_FAILED is caught at the source vault
	// (VaultEvents) and by the events component's Backup rule.
	return vault.Arn, true, nil
}

package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	awsarn "github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/naming"
)

// Vault lock modes (AWS Backup Developer Guide, "AWS Backup Vault Lock"):
// a lock without ChangeableForDays is in governance mode — principals with
// backup:DeleteBackupVaultLockConfiguration may still remove it, so the
// stack destroys; with ChangeableForDays (at least 3: "Backup enforces a
// 72-hour cooling-off period", PutBackupVaultLockConfiguration) it is in
// compliance mode and, once that grace time ends, no user, not even the
// root user, nor AWS can change or delete the lock, and the vault can only
// be deleted after every recovery point has expired.
const (
	VaultLockGovernance = "governance"
	VaultLockCompliance = "compliance"
	// MinChangeableForDays is PutBackupVaultLockConfiguration's lower bound.
	MinChangeableForDays = 3
)

// Backup configures AWS Backup, restore testing and the ECS service snapshot.
type Backup struct {
	// Schedule is the daily backup rule's cron expression.
	Schedule string
	// StartWindowMinutes is how long a job may wait to start.
	StartWindowMinutes int
	// CompletionWindowMinutes is how long a job may run.
	CompletionWindowMinutes int
	// RetentionDays is how long daily recovery points are kept.
	RetentionDays int
	// ContinuousRetentionDays is the point-in-time window of continuous backups (AWS allows 1-35).
	ContinuousRetentionDays int
	// RestoreTestingSchedule is when the restore testing plan runs.
	RestoreTestingSchedule string
	// RestoreTestingValidationHours is how long restored test resources are kept for validation.
	RestoreTestingValidationHours int
	// SnapshotSchedule is when the ECS service snapshot runs (EventBridge Scheduler cron() or rate()).
	SnapshotSchedule string
	// DRRegion receives a copy of every recovery point; empty = no copy.
	DRRegion string
	// VaultLockMode is governance or compliance: config
	// backupVaultLockMode, by default compliance when deletionProtection
	// is on (prod) and governance otherwise.
	VaultLockMode string
	// VaultLockChangeableDays is the compliance-mode grace time.
	VaultLockChangeableDays int
	// BreakGlassPrincipal is the only principal the vault access policies
	// let delete recovery points or the vaults; empty = the role the
	// program creates, naming.BreakGlassRole (infra/backup).
	BreakGlassPrincipal string
	// DeployRole is the IAM role `pulumi up` runs as (deployRoleArn). A
	// protected stack's vault access policies exempt it, with break-glass,
	// from their Deny of lock and access-policy changes, never from
	// deleting recovery points or vaults; its key guard likewise. Required
	// when DeletionProtection is on; empty elsewhere is fine (unprotected
	// stacks deny no lock change).
	DeployRole string
}

var (
	regionPattern = regexp.MustCompile(`^[a-z]{2}(-gov)?-[a-z]+-[0-9]$`)
	// roleArnFormat is an IAM role ARN (backupBreakGlassRoleArn,
	// deployRoleArn), path allowed.
	roleArnFormat = regexp.MustCompile(`^arn:aws:iam::[0-9]{12}:role/[\w+=,.@/-]{1,64}$`)
	// cron(min hour day-of-month month day-of-week year): six fields.
	cronPattern     = regexp.MustCompile(`^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$`)
	schedulePattern = regexp.MustCompile(`^(cron\(\S+ \S+ \S+ \S+ \S+ \S+\)|rate\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\))$`)
)

// backup reads the backup keys. Limits are AWS Backup's: start window at
// least 60 minutes, continuous backup retention at most 35 days, restore
// validation window 1-168 hours. The core keys of c (deletionProtection,
// allowedAccountIds, environmentSuffix) are already parsed.
func (r *reader) backup(k func(string) string, c *Config) Backup {
	b := Backup{
		Schedule:                      r.str(k("backupSchedule"), cronPattern, "a six-field cron expression such as cron(0 5 * * ? *)"),
		StartWindowMinutes:            r.integer(k("backupStartWindowMinutes"), 60, 720),
		CompletionWindowMinutes:       r.integer(k("backupCompletionWindowMinutes"), 120, 10080),
		RetentionDays:                 r.integer(k("backupRetentionDays"), 7, 36500),
		ContinuousRetentionDays:       r.integer(k("continuousBackupRetentionDays"), 1, 35),
		RestoreTestingSchedule:        r.str(k("restoreTestingSchedule"), cronPattern, "a six-field cron expression such as cron(0 6 ? * SUN *)"),
		RestoreTestingValidationHours: r.integer(k("restoreTestingValidationHours"), 1, 168),
		SnapshotSchedule:              r.str(k("serviceSnapshotSchedule"), schedulePattern, "cron(<six fields>) or rate(<n> minutes|hours|days)"),
		DRRegion:                      r.optional(k("drRegion"), regionPattern, "empty (no cross-region copy) or an AWS region such as us-west-2"),
		VaultLockMode: r.modeOr(k("backupVaultLockMode"), protectedOr(c.DeletionProtection, VaultLockCompliance, VaultLockGovernance),
			VaultLockGovernance, VaultLockCompliance),
		VaultLockChangeableDays: r.integer(k("backupVaultLockChangeableDays"), MinChangeableForDays, 36500),
		BreakGlassPrincipal:     r.optional(k("backupBreakGlassRoleArn"), roleArnFormat, "empty (the program creates role-break-glass-<suffix>) or an IAM role ARN such as arn:aws:iam::123456789012:role/break-glass"),
		DeployRole:              r.optional(k("deployRoleArn"), roleArnFormat, "empty (unprotected stacks) or an IAM role ARN such as arn:aws:iam::123456789012:role/deploy"),
	}
	r.vaultRoles(k, c, b)
	if b.DRRegion == Region {
		r.fail(k("drRegion"), b.DRRegion, "must differ from %s: a copy in the same region is not off-site", Region)
	}
	if b.CompletionWindowMinutes != 0 && b.StartWindowMinutes != 0 && b.CompletionWindowMinutes <= b.StartWindowMinutes {
		r.fail(k("backupCompletionWindowMinutes"), fmt.Sprint(b.CompletionWindowMinutes),
			"must be greater than backupStartWindowMinutes (%d)", b.StartWindowMinutes)
	}
	return b
}

// vaultRoles checks the two roles the vault access policies exempt. A
// protected stack names its deploy role: its policies deny lock and
// access-policy changes to everyone else but break-glass, and a prod
// `pulumi up` must need neither the root user nor break-glass. The deploy
// role is never the break-glass role (it would inherit the deletions), and
// both are roles of the stack's accounts: "Regardless of the AWS Backup
// vault's access policy, cross-account access for any action other than
// backup:CopyIntoBackupVault will be rejected" (AWS Backup Developer Guide,
// "Vault access policies"). Without allowedAccountIds the account is known
// only once the program runs (infra: checkVaultRoles).
func (r *reader) vaultRoles(k func(string) string, c *Config, b Backup) {
	deployKey, breakGlassKey := k("deployRoleArn"), k("backupBreakGlassRoleArn")
	if c.DeletionProtection && b.DeployRole == "" {
		r.fail(deployKey, "", "must be set when deletionProtection is true: the vault access policies deny changing the vault lock and access policy to every principal but this role and the break-glass role, so a protected stack's `pulumi up` runs as this role (docs/backup.md)")
	}
	deploy, deployOK := awsarn.ParseRole(b.DeployRole)
	if deployOK {
		breakGlassArn, breakGlass := b.BreakGlassPrincipal, awsarn.Role{}
		if breakGlassArn != "" {
			breakGlass, _ = awsarn.ParseRole(breakGlassArn)
		} else if c.EnvironmentSuffix != "" {
			// The role the program creates is in the deploy role's
			// account, the account of the stack.
			breakGlassArn = awsarn.In(Region, deploy.Account).Role(naming.New(c.EnvironmentSuffix).Name(naming.BreakGlassRole))
			breakGlass, _ = awsarn.ParseRole(breakGlassArn)
		}
		if deploy.Same(breakGlass) {
			r.fail(deployKey, b.DeployRole, "must not be the break-glass role (%s): the deploy role is never exempt from deleting recovery points or vaults", breakGlassArn)
		}
	}
	if len(c.AllowedAccountIDs) == 0 {
		return
	}
	accounts := strings.Join(c.AllowedAccountIDs, " or ")
	for _, kv := range [][2]string{{deployKey, b.DeployRole}, {breakGlassKey, b.BreakGlassPrincipal}} {
		if role, ok := awsarn.ParseRole(kv[1]); ok && !slices.Contains(c.AllowedAccountIDs, role.Account) {
			r.fail(kv[0], kv[1], "must be a role in account %s (allowedAccountIds): AWS Backup rejects every call to a vault from another account but copies into it", accounts)
		}
	}
}

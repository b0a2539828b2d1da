package config

import (
	"regexp"
	"slices"
	"strconv"
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

// Trail bucket Object Lock modes (config trailObjectLockMode): the default
// retention S3 applies to every new log file (Amazon S3 User Guide,
// "Locking objects with Object Lock", retention modes). In governance mode
// a principal with s3:BypassGovernanceRetention may still delete a locked
// version (what forceDestroy does on destroy); in compliance mode nobody
// can, the root user included, until its retention ends; off leaves the
// bucket without a default retention.
const (
	ObjectLockGovernance = "governance"
	ObjectLockCompliance = "compliance"
	ObjectLockOff        = "off"
)

// KMS deletion windows: AWS KMS accepts 7-30 days (KMS API Reference,
// ScheduleKeyDeletion, PendingWindowInDays). Protected stacks take the
// longest, throw-away stacks the shortest.
const (
	KMSWindowProtected   = 30
	KMSWindowDestroyable = 7
)

// Audit configures the audit trail, backup immutability and DR copies,
// closed egress and the production TLS requirement.
type Audit struct {
	// CloudTrail creates the stack's own trail; off where an organization
	// trail already covers the account.
	CloudTrail bool
	// DRRegion receives a copy of every recovery point; empty = no copy.
	DRRegion string
	// VaultLockMode is governance or compliance: config
	// backupVaultLockMode, by default compliance when deletionProtection
	// is on (prod) and governance otherwise.
	VaultLockMode string
	// VaultLockChangeableDays is the compliance-mode grace time.
	VaultLockChangeableDays int
	// TrailObjectLockMode is the trail bucket's Object Lock default
	// retention mode (ObjectLock*): by default compliance when
	// deletionProtection is on, governance otherwise.
	TrailObjectLockMode string
	// TrailObjectLockDays is that default retention, in days.
	TrailObjectLockDays int
	// BreakGlassPrincipal is the only principal the vault access policies
	// let delete recovery points or the vaults; empty = the role the
	// program creates, naming.BreakGlassRole (infra/backup).
	BreakGlassPrincipal string
	// DeployRole is the IAM role `pulumi up` runs as (deployRoleArn). A
	// protected stack's vault access policies exempt it, with break-glass,
	// from their Deny of lock and access-policy changes, never from
	// deleting recovery points or vaults. Required when DeletionProtection
	// is on; empty elsewhere is fine (unprotected stacks deny no lock
	// change).
	DeployRole string
	// LiveTraffic marks a stack serving real clients: it must present a
	// CA-issued certificate on a delegated name, and the canary verifies it.
	LiveTraffic bool
}

// Trading holds the feature flag and limits the trading service reads from
// /trading/<suffix>/flags and /trading/<suffix>/limits.
type Trading struct {
	Enabled         bool
	MaxNotional     int
	PriceBandPct    int
	OrdersPerSecond int
}

var (
	regionPattern = regexp.MustCompile(`^[a-z]{2}(-gov)?-[a-z]+-[0-9]$`)
	// roleArnFormat is an IAM role ARN (backupBreakGlassRoleArn,
	// deployRoleArn), path allowed.
	roleArnFormat = regexp.MustCompile(`^arn:aws:iam::[0-9]{12}:role/[\w+=,.@/-]{1,64}$`)
)

// KMSDeletionWindowDays is the deletion window of every key: 30 days when
// deletionProtection is on, 7 otherwise.
func (c *Config) KMSDeletionWindowDays() int {
	if c.DeletionProtection {
		return KMSWindowProtected
	}
	return KMSWindowDestroyable
}

// audit reads the trail, backup immutability, DR and TLS keys and
// deployRoleArn; svc, dns and the core keys of c (deletionProtection,
// allowedAccountIds, environmentSuffix) are already parsed.
func (r *reader) audit(k func(string) string, c *Config, svc Service, dns DNS) Audit {
	a := Audit{
		CloudTrail: r.boolean(k("cloudTrailEnabled")),
		DRRegion:   r.optional(k("drRegion"), regionPattern, "empty (no cross-region copy) or an AWS region such as us-west-2"),
		VaultLockMode: r.modeOr(k("backupVaultLockMode"), protectedOr(c.DeletionProtection, VaultLockCompliance, VaultLockGovernance),
			VaultLockGovernance, VaultLockCompliance),
		VaultLockChangeableDays: r.integer(k("backupVaultLockChangeableDays"), MinChangeableForDays, 36500),
		TrailObjectLockMode: r.modeOr(k("trailObjectLockMode"), protectedOr(c.DeletionProtection, ObjectLockCompliance, ObjectLockGovernance),
			ObjectLockGovernance, ObjectLockCompliance, ObjectLockOff),
		TrailObjectLockDays: r.integer(k("trailObjectLockDays"), 1, 36500),
		BreakGlassPrincipal: r.optional(k("backupBreakGlassRoleArn"), roleArnFormat, "empty (the program creates role-break-glass-<suffix>) or an IAM role ARN such as arn:aws:iam::123456789012:role/break-glass"),
		DeployRole:          r.optional(k("deployRoleArn"), roleArnFormat, "empty (unprotected stacks) or an IAM role ARN such as arn:aws:iam::123456789012:role/deploy"),
		LiveTraffic:         r.boolean(k("liveTraffic")),
	}
	r.vaultRoles(k, c, a)
	if a.TrailObjectLockMode == ObjectLockCompliance && !c.DeletionProtection {
		r.fail(k("trailObjectLockMode"), a.TrailObjectLockMode,
			"must be governance or off when deletionProtection is false: no one can delete a compliance-locked log file before its retention ends, so `pulumi destroy` could not empty and delete the trail bucket (docs/destroy.md)")
	}
	if a.DRRegion == Region {
		r.fail(k("drRegion"), a.DRRegion, "must differ from %s: a copy in the same region is not off-site", Region)
	}
	if a.LiveTraffic {
		if svc.CertificateMode == CertSelfSigned {
			r.fail(k("certificateMode"), svc.CertificateMode,
				"must be existing or dns when liveTraffic is true: a stack serving real clients presents a CA-issued certificate (docs/deploy.md)")
		}
		if dns.DomainName == "" {
			r.fail(k("domainName"), "",
				"required when liveTraffic is true: clients and the canary verify the certificate against the app name, appRecordName.domainName")
		}
		if !dns.Delegated {
			r.fail(k("dnsDelegated"), "false",
				"must be true when liveTraffic is true: clients and the canary verify the certificate against the delegated app name")
		}
	}
	return a
}

// protectedOr is protected's value when deletionProtection is on, else
// unprotected's: the default of a mode key whose strict value would keep a
// stack from destroying.
func protectedOr(deletionProtection bool, protected, unprotected string) string {
	if deletionProtection {
		return protected
	}
	return unprotected
}

// modeOr reads a mode key whose empty value (its Pulumi.yaml default)
// means derived; any other value must be one of allowed.
func (r *reader) modeOr(key, derived string, allowed ...string) string {
	v, _ := r.lookup(key)
	if v == "" {
		return derived
	}
	if !slices.Contains(allowed, v) {
		r.fail(key, v, "must be one of %s, or empty for the default (%s here)", strings.Join(allowed, ", "), derived)
	}
	return v
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
func (r *reader) vaultRoles(k func(string) string, c *Config, a Audit) {
	deployKey, breakGlassKey := k("deployRoleArn"), k("backupBreakGlassRoleArn")
	if c.DeletionProtection && a.DeployRole == "" {
		r.fail(deployKey, "", "must be set when deletionProtection is true: the vault access policies deny changing the vault lock and access policy to every principal but this role and the break-glass role, so a protected stack's `pulumi up` runs as this role (docs/backup.md)")
	}
	deploy, deployOK := awsarn.ParseRole(a.DeployRole)
	if deployOK {
		breakGlassArn, breakGlass := a.BreakGlassPrincipal, awsarn.Role{}
		if breakGlassArn != "" {
			breakGlass, _ = awsarn.ParseRole(breakGlassArn)
		} else if c.EnvironmentSuffix != "" {
			// The role the program creates is in the deploy role's
			// account, the account of the stack.
			breakGlassArn = awsarn.In(Region, deploy.Account).Role(naming.New(c.EnvironmentSuffix).Name(naming.BreakGlassRole))
			breakGlass, _ = awsarn.ParseRole(breakGlassArn)
		}
		if deploy.Same(breakGlass) {
			r.fail(deployKey, a.DeployRole, "must not be the break-glass role (%s): the deploy role is never exempt from deleting recovery points or vaults", breakGlassArn)
		}
	}
	if len(c.AllowedAccountIDs) == 0 {
		return
	}
	accounts := strings.Join(c.AllowedAccountIDs, " or ")
	for _, kv := range [][2]string{{deployKey, a.DeployRole}, {breakGlassKey, a.BreakGlassPrincipal}} {
		if role, ok := awsarn.ParseRole(kv[1]); ok && !slices.Contains(c.AllowedAccountIDs, role.Account) {
			r.fail(kv[0], kv[1], "must be a role in account %s (allowedAccountIds): AWS Backup rejects every call to a vault from another account but copies into it", accounts)
		}
	}
}

// trading reads the flag and limits published to Parameter Store.
func (r *reader) trading(k func(string) string) Trading {
	t := Trading{
		Enabled:         r.boolean(k("tradingEnabled")),
		MaxNotional:     r.integer(k("maxNotional"), 1, 1_000_000_000),
		PriceBandPct:    r.integer(k("priceBandPct"), 1, 50),
		OrdersPerSecond: r.integer(k("ordersPerSecond"), 1, 10_000),
	}
	return t
}

// KillSwitchParam and LimitsPath are the kill switch's parameter and the
// risk limits' path below /trading/<suffix>/.
const (
	KillSwitchParam = "flags/" + KillSwitchFlag
	LimitsPath      = "limits"
)

// TradingParams are the trading service's flag and limits: path below
// /trading/<suffix>/ and value, in the order they are created.
func (t Trading) Params() [][2]string {
	return [][2]string{
		{KillSwitchParam, strconv.FormatBool(t.Enabled)},
		{LimitsPath + "/max-notional", strconv.Itoa(t.MaxNotional)},
		{LimitsPath + "/price-band-pct", strconv.Itoa(t.PriceBandPct)},
		{LimitsPath + "/max-orders-per-second", strconv.Itoa(t.OrdersPerSecond)},
	}
}

package tests

import (
	"fmt"
	"slices"
	"testing"

	"github.com/trading-ha/trading-ha/proof/offline"
)

// TestTrailBucketObjectLock: the CloudTrail bucket has S3 Object Lock with
// a default retention of trailObjectLockDays (365 by default): COMPLIANCE
// in the protected prod stack (nobody, the root user included, deletes or
// overwrites a log file before then; the bucket is kept on destroy), and
// GOVERNANCE in dev, whose bucket stays force-destroyed (destroy bypasses
// governance retention). Versioning is on first, and the trail waits for
// the lock, so no log file is ever written unlocked.
func TestTrailBucketObjectLock(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		bucket := one(t, rec, "aws:s3/bucketV2:BucketV2", "trail")
		var lock *offline.Resource
		for _, l := range rec.ByType("aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2") {
			if l.Inputs["bucket"] == out(t, bucket, "id") {
				lock = l
			}
		}
		if lock == nil {
			t.Fatalf("the trail bucket %v has no Object Lock configuration", bucket.Inputs["bucket"])
		}
		eq(t, lock, "objectLockEnabled", "Enabled")
		mode := map[string]string{"dev": "GOVERNANCE", "prod": "COMPLIANCE"}[stack]
		eq(t, lock, "rule.defaultRetention.mode", mode)
		eq(t, lock, "rule.defaultRetention.days", 365)
		eq(t, bucket, "forceDestroy", !protected(stack))
		versioning := one(t, rec, "aws:s3/bucketVersioningV2:BucketVersioningV2", "trail-versioning")
		if !rec.After(lock, versioning) {
			t.Error("the Object Lock configuration does not wait for the trail bucket's versioning")
		}
		if !rec.After(one(t, rec, tTrailType, "trail"), lock) {
			t.Error("the trail does not wait for the Object Lock configuration: its first log files could land unlocked")
		}
	})
	rec, err := recordWith(t, "prod", map[string]string{"trading-ha:trailObjectLockDays": "2555"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, one(t, rec, "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2", "trail-object-lock"), "rule.defaultRetention.days", 2555)
	rejects(t, "dev", map[string]string{"trading-ha:trailObjectLockMode": "compliance"},
		[]string{"trading-ha:trailObjectLockMode", `"compliance"`, "deletionProtection"})
}

// TestProdVaultLockIsCompliance: prod's vaults are locked in compliance
// mode by default (changeableForDays set: immutable once the grace time
// has passed), dev's in governance mode (no changeableForDays, so the
// stack destroys); backupVaultLockMode chooses either.
func TestProdVaultLockIsCompliance(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		locks := []string{"vault-lock"}
		if protected(stack) {
			locks = append(locks, "vault-dr-lock")
		}
		for _, l := range locks {
			lock := one(t, rec, "aws:backup/vaultLockConfiguration:VaultLockConfiguration", l)
			// Replaced by deleting first: a new lock created before the
			// old one's delete (DeleteBackupVaultLockConfiguration on the
			// vault) would be deleted with it, and the vault left unlocked.
			if !lock.DeleteBeforeReplace {
				t.Errorf("%s is replaced create-before-delete: the old lock's delete would remove the new one", l)
			}
			days, set := lock.Inputs["changeableForDays"]
			switch {
			case protected(stack) && (!set || days != float64(3)):
				t.Errorf("%s: changeableForDays %v, want 3 (compliance mode by default in a protected stack)", l, days)
			case !protected(stack) && set:
				t.Errorf("%s: changeableForDays %v set: compliance mode in an unprotected stack that must destroy", l, days)
			}
		}
	})
	rec, err := recordWith(t, "prod", map[string]string{"trading-ha:backupVaultLockMode": "governance"})
	if err != nil {
		t.Fatal(err)
	}
	if _, set := one(t, rec, "aws:backup/vaultLockConfiguration:VaultLockConfiguration", "vault-lock").Inputs["changeableForDays"]; set {
		t.Error("backupVaultLockMode governance still sets changeableForDays")
	}
}

// keyPolicyDenies reports whether a key policy's Deny statements refuse
// action to principal (an ARN as aws:PrincipalArn holds it): a Deny for
// every AWS principal whose ArnNotEquals aws:PrincipalArn list does not
// hold the principal.
func keyPolicyDenies(t *testing.T, doc policyDoc, action, principal string) bool {
	t.Helper()
	for _, s := range doc.Statement {
		if s.Effect != "Deny" || !slices.Contains(s.Action, action) {
			continue
		}
		if s.Principal["AWS"] != "*" {
			t.Errorf("Deny %s is for %v, want every AWS principal", s.Sid, s.Principal)
		}
		if !slices.Contains(condValues(t, s, "ArnNotEquals", "aws:PrincipalArn"), principal) {
			return true
		}
	}
	return false
}

// TestKeyDeletionOnlyBreakGlass: in the protected prod stack the data key
// and the DR key refuse kms:ScheduleKeyDeletion and kms:DisableKey to every
// principal but the break-glass role (the deploy role, an administrator,
// the root user included), and their policy changes to all but the deploy
// role and break-glass, so nobody first rewrites the Deny away. The
// break-glass role may do both on exactly those keys. Dev has no such Deny:
// its `pulumi destroy` schedules the keys' deletion.
func TestKeyDeletionOnlyBreakGlass(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		breakGlass := defaultBreakGlass(stack)
		keys := map[string]string{"security-key-data": "alias/kms-data-" + stack}
		if protected(stack) {
			keys["backup-dr-key"] = "alias/kms-backup-dr-" + stack
		}
		for logical := range keys {
			var doc policyDoc
			k := oneKeyByName(t, rec, logical)
			jsonInput(t, k, "policy", &doc)
			for _, action := range []string{"kms:ScheduleKeyDeletion", "kms:DisableKey"} {
				for _, who := range []string{prodDeployRole, "arn:aws:iam::" + acct + ":role/admin", "arn:aws:iam::" + acct + ":root"} {
					if got := keyPolicyDenies(t, doc, action, who); got != protected(stack) {
						t.Errorf("%s: %s denied to %s = %v, want %v", logical, action, who, got, protected(stack))
					}
				}
				if keyPolicyDenies(t, doc, action, breakGlass) {
					t.Errorf("%s: %s denied to the break-glass role", logical, action)
				}
			}
			if protected(stack) {
				if !keyPolicyDenies(t, doc, "kms:PutKeyPolicy", "arn:aws:iam::"+acct+":role/admin") {
					t.Errorf("%s: an administrator may rewrite the key policy and drop the Deny", logical)
				}
				for _, who := range []string{prodDeployRole, breakGlass} {
					if keyPolicyDenies(t, doc, "kms:PutKeyPolicy", who) {
						t.Errorf("%s: kms:PutKeyPolicy denied to %s: `pulumi up` (deploy) or break-glass cannot change the policy", logical, who)
					}
				}
			}
		}
		// The break-glass role's own policy reaches those keys, by alias.
		var bg policyDoc
		jsonInput(t, one(t, rec, "aws:iam/rolePolicy:RolePolicy", "backup-break-glass-policy"), "policy", &bg)
		for _, alias := range keys {
			found := false
			for _, s := range bg.Statement {
				aliases := condValues(t, s, "ForAnyValue:StringEquals", "kms:ResourceAliases")
				if s.Effect == "Allow" && slices.Contains(aliases, alias) &&
					slices.Contains(s.Action, "kms:ScheduleKeyDeletion") && slices.Contains(s.Action, "kms:DisableKey") {
					found = true
				}
			}
			if !found {
				t.Errorf("the break-glass role may not schedule the deletion of or disable %s: %s", alias, fmt.Sprint(bg.Statement))
			}
		}
	})
}

// oneKeyByName is the KMS key whose logical name (component-qualified,
// as offline.Resource.Name) is name.
func oneKeyByName(t *testing.T, rec *offline.Recording, name string) *offline.Resource {
	t.Helper()
	for _, k := range rec.ByType("aws:kms/key:Key") {
		if k.Name == name {
			return k
		}
	}
	t.Fatalf("no KMS key %s", name)
	return nil
}

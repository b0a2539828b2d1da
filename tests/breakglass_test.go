package tests

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/infra/backup"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// The vault access policies deny two action sets (infra/backup/vaultlock.go)
// and exempt principals by aws:PrincipalArn: deleting recovery points,
// shortening their lifecycle and deleting the vault is the break-glass
// role's alone; in a protected stack the lock and policy changes a `pulumi
// up` makes are also open to the deploy role (config deployRoleArn).
var (
	protectedActions = []string{"backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle", "backup:DeleteBackupVault"}
	lockActions      = []string{"backup:PutBackupVaultAccessPolicy", "backup:DeleteBackupVaultAccessPolicy",
		"backup:DeleteBackupVaultLockConfiguration", "backup:PutBackupVaultLockConfiguration"}
)

// prodDeployRole is the deploy role Pulumi.prod.yaml names.
const prodDeployRole = "arn:aws:iam::" + acct + ":role/trading-deploy-prod"

// defaultBreakGlass is the role the program creates when
// backupBreakGlassRoleArn is empty.
func defaultBreakGlass(stack string) string {
	return "arn:aws:iam::" + acct + ":role/role-break-glass-" + stack
}

// condValues returns a condition's values as a sorted list, whether the
// document holds one string or a list.
func condValues(t *testing.T, s policyStatement, op, key string) []string {
	t.Helper()
	var out []string
	switch v := s.Condition[op][key].(type) {
	case string:
		out = []string{v}
	case []any:
		for _, x := range v {
			out = append(out, fmt.Sprint(x))
		}
	case nil:
		return nil
	default:
		t.Fatalf("statement %s: %s %s is %T", s.Sid, op, key, v)
	}
	sort.Strings(out)
	return out
}

// exempted maps each action a vault policy denies to the sorted principal
// ARNs the denial exempts. Every statement must be a Deny on "*" (the vault
// and its recovery points) for any AWS principal, conditioned by
// ArnNotEquals on aws:PrincipalArn alone: anything else would make the map
// a wrong summary of the policy. vault names the policy in messages.
func exempted(t *testing.T, vp policyDoc, vault string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, s := range vp.Statement {
		if s.Effect != "Deny" || s.Principal["AWS"] != "*" || !reflect.DeepEqual(s.Resource, []string{"*"}) {
			t.Errorf("%s statement %s: %s for %v on %v, want a Deny for every AWS principal on *", vault, s.Sid, s.Effect, s.Principal, s.Resource)
		}
		if len(s.Condition) != 1 || len(s.Condition["ArnNotEquals"]) != 1 {
			t.Errorf("statement %s: condition %v, want ArnNotEquals on aws:PrincipalArn only", s.Sid, s.Condition)
		}
		for _, a := range s.Action {
			if _, dup := out[a]; dup {
				t.Errorf("action %s is denied by two statements", a)
			}
			out[a] = condValues(t, s, "ArnNotEquals", "aws:PrincipalArn")
		}
	}
	return out
}

// deniedTo evaluates a vault policy's Deny statements for one principal
// and action, the way IAM does for ArnNotEquals with several values: the
// condition holds when the principal's ARN equals none of them (IAM User
// Guide, "Evaluation logic for negated matching condition operators").
func deniedTo(t *testing.T, vp policyDoc, action, principal string) bool {
	t.Helper()
	for _, s := range vp.Statement {
		if s.Effect != "Deny" || !slices.Contains(s.Action, action) {
			continue
		}
		for op := range s.Condition {
			if op != "ArnNotEquals" {
				t.Fatalf("statement %s: deniedTo cannot evaluate %s", s.Sid, op)
			}
		}
		if !slices.Contains(condValues(t, s, "ArnNotEquals", "aws:PrincipalArn"), principal) {
			return true
		}
	}
	return false
}

// vaultPolicies are a stack's vault access policies with the vault ARN each
// protects: the home vault, and the DR vault where drRegion is set (prod).
func vaultPolicies(t *testing.T, stack string, rec *offline.Recording) map[string]policyDoc {
	t.Helper()
	out := map[string]policyDoc{}
	vaults := map[string]string{"vault-policy": "arn:aws:backup:us-east-1:" + acct + ":backup-vault:vault-" + stack}
	if protected(stack) {
		vaults["vault-dr-policy"] = "arn:aws:backup:us-west-2:" + acct + ":backup-vault:vault-dr-" + stack
	}
	for logical, arn := range vaults {
		var vp policyDoc
		jsonInput(t, one(t, rec, "aws:backup/vaultPolicy:VaultPolicy", logical), "policy", &vp)
		out[arn] = vp
	}
	if n := len(rec.ByType("aws:backup/vaultPolicy:VaultPolicy")); n != len(vaults) {
		t.Errorf("%d vault policies, want %d", n, len(vaults))
	}
	return out
}

// wantExemptions is the exact exemption per denied action: ProtectedActions
// for break-glass only, LockActions (protected stacks) for the deploy role
// and break-glass.
func wantExemptions(breakGlass, deploy string, protected bool) map[string][]string {
	want := map[string][]string{}
	for _, a := range protectedActions {
		want[a] = []string{breakGlass}
	}
	if protected {
		both := []string{breakGlass, deploy}
		sort.Strings(both)
		for _, a := range lockActions {
			want[a] = both
		}
	}
	return want
}

// TestVaultPolicyExemptions: on every vault of both stacks, the principals
// exempted per denied action are exactly the break-glass role for the
// deletion actions and, in prod, the deploy role and break-glass for the
// lock and policy changes; evaluated, the deploy role may apply prod's lock
// and policy but never delete, and nobody else (the root user included)
// may do either.
func TestVaultPolicyExemptions(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		breakGlass := defaultBreakGlass(stack)
		for vault, vp := range vaultPolicies(t, stack, rec) {
			got := exempted(t, vp, vault)
			if want := wantExemptions(breakGlass, prodDeployRole, protected(stack)); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: exemptions\n got %v\nwant %v", vault, got, want)
			}
			for _, a := range protectedActions {
				if !deniedTo(t, vp, a, prodDeployRole) {
					t.Errorf("%s: the deploy role may %s", vault, a)
				}
				if deniedTo(t, vp, a, breakGlass) {
					t.Errorf("%s: break-glass may not %s", vault, a)
				}
			}
			if !protected(stack) {
				continue
			}
			for _, a := range lockActions {
				if deniedTo(t, vp, a, prodDeployRole) {
					t.Errorf("%s: a prod `pulumi up` as the deploy role is denied %s", vault, a)
				}
				if deniedTo(t, vp, a, breakGlass) {
					t.Errorf("%s: break-glass is denied %s", vault, a)
				}
			}
			for _, who := range []string{"arn:aws:iam::" + acct + ":root", "arn:aws:iam::" + acct + ":role/admin"} {
				for _, a := range append(slices.Clone(protectedActions), lockActions...) {
					if !deniedTo(t, vp, a, who) {
						t.Errorf("%s: %s may %s", vault, who, a)
					}
				}
			}
		}
	})
}

// TestVaultDeployRoleNeverExemptFromDeletion: whatever the stack and
// config, the deploy role is never exempt from deleting recovery points,
// shortening their lifecycle or deleting the vault; an unprotected stack
// with deployRoleArn set exempts nobody but break-glass from anything.
func TestVaultDeployRoleNeverExemptFromDeletion(t *testing.T) {
	deploy := "arn:aws:iam::" + acct + ":role/deploy-dev"
	configured := "arn:aws:iam::" + acct + ":role/ops/break-glass"
	for _, c := range []struct {
		name, stack, deploy, breakGlass string
		overrides                       map[string]string
	}{
		{"dev with a deploy role", "dev", deploy, defaultBreakGlass("dev"),
			map[string]string{"trading-ha:deployRoleArn": deploy}},
		{"prod with a configured break-glass role", "prod", prodDeployRole, configured,
			map[string]string{"trading-ha:backupBreakGlassRoleArn": configured}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec, err := recordWith(t, c.stack, c.overrides)
			if err != nil {
				t.Fatal(err)
			}
			for vault, vp := range vaultPolicies(t, c.stack, rec) {
				got := exempted(t, vp, vault)
				if want := wantExemptions(c.breakGlass, c.deploy, protected(c.stack)); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: exemptions\n got %v\nwant %v", vault, got, want)
				}
				for _, a := range protectedActions {
					if !deniedTo(t, vp, a, c.deploy) {
						t.Errorf("%s: the deploy role may %s", vault, a)
					}
				}
			}
		})
	}
}

// TestBreakGlassRoleDefault: with backupBreakGlassRoleArn empty the stack
// creates role-break-glass-<suffix>, assumable only by the account's own
// principals with MFA, whose one inline policy grants exactly the
// break-glass actions on this stack's vaults and their recovery points.
func TestBreakGlassRoleDefault(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		role := one(t, rec, "aws:iam/role:Role", "break-glass-role")
		eq(t, role, "name", "role-break-glass-"+stack)
		eq(t, role, "maxSessionDuration", 3600)
		if out(t, role, "arn") != defaultBreakGlass(stack) {
			t.Errorf("role ARN %s, want %s (the vault policies name it by this ARN)", out(t, role, "arn"), defaultBreakGlass(stack))
		}
		var trust policyDoc
		jsonInput(t, role, "assumeRolePolicy", &trust)
		if len(trust.Statement) != 1 {
			t.Fatalf("trust has %d statements, want 1", len(trust.Statement))
		}
		s := trust.Statement[0]
		if s.Effect != "Allow" || !reflect.DeepEqual(s.Principal, map[string]any{"AWS": "arn:aws:iam::" + acct + ":root"}) ||
			!reflect.DeepEqual(s.Action, []string{"sts:AssumeRole"}) {
			t.Errorf("trust %+v, want the account's principals allowed sts:AssumeRole", s)
		}
		if !reflect.DeepEqual(s.Condition, map[string]map[string]any{"Bool": {"aws:MultiFactorAuthPresent": "true"}}) {
			t.Errorf("trust condition %v, want MFA present and nothing else", s.Condition)
		}

		var policies []*offline.Resource
		for _, p := range rec.ByType("aws:iam/rolePolicy:RolePolicy") {
			if p.Inputs["role"] == "role-break-glass-"+stack {
				policies = append(policies, p)
			}
		}
		if len(policies) != 1 {
			t.Fatalf("break-glass role has %d inline policies, want 1", len(policies))
		}
		for _, a := range rec.ByType("aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
			if a.Inputs["role"] == "role-break-glass-"+stack {
				t.Errorf("break-glass role has managed policy %v attached", a.Inputs["policyArn"])
			}
		}
		var doc policyDoc
		jsonInput(t, policies[0], "policy", &doc)
		regions := []string{"us-east-1"}
		if protected(stack) {
			regions = append(regions, "us-west-2") // drRegion
		}
		// Recovery points: AWS Backup's own (S3, continuous, DynamoDB with
		// advanced backup) and Aurora's snapshots, in each vault's region.
		var vaults, points, snapshots []string
		for _, r := range regions {
			vault := "vault-" + stack
			if r != "us-east-1" {
				vault = "vault-dr-" + stack
			}
			vaults = append(vaults, "arn:aws:backup:"+r+":"+acct+":backup-vault:"+vault)
			snapshot := "arn:aws:rds:" + r + ":" + acct + ":cluster-snapshot:awsbackup:*"
			points = append(points, "arn:aws:backup:"+r+":"+acct+":recovery-point:*", snapshot)
			snapshots = append(snapshots, snapshot)
		}
		want := map[string][]string{
			"backup:DescribeBackupVault": vaults, "backup:ListRecoveryPointsByBackupVault": vaults,
			"backup:GetBackupVaultAccessPolicy": vaults, "backup:DeleteBackupVault": vaults,
			"backup:PutBackupVaultAccessPolicy": vaults, "backup:DeleteBackupVaultAccessPolicy": vaults,
			"backup:PutBackupVaultLockConfiguration": vaults, "backup:DeleteBackupVaultLockConfiguration": vaults,
			"backup:DescribeRecoveryPoint": points, "backup:DeleteRecoveryPoint": points,
			"backup:UpdateRecoveryPointLifecycle": points,
			"rds:DeleteDBClusterSnapshot":         snapshots,
		}
		// The keys: each by its alias in its region (iamdoc.Key), the
		// actions their key policies' guard leaves to break-glass
		// (TestKeyDeletionOnlyBreakGlass).
		wantKeys := map[string]string{"alias/kms-data-" + stack: "arn:aws:kms:us-east-1:" + acct + ":key/*"}
		if protected(stack) {
			wantKeys["alias/kms-backup-dr-"+stack] = "arn:aws:kms:us-west-2:" + acct + ":key/*"
		}
		gotKeys := map[string]string{}
		got := map[string][]string{}
		for _, st := range doc.Statement {
			if st.Effect != "Allow" {
				t.Errorf("statement %s is %s", st.Sid, st.Effect)
			}
			if aliases := condValues(t, st, "ForAnyValue:StringEquals", "kms:ResourceAliases"); len(aliases) > 0 {
				if len(aliases) != 1 || len(st.Resource) != 1 || len(st.Condition) != 1 || !slices.Equal(st.Action, backup.BreakGlassKeyActions) {
					t.Errorf("key statement %s: %v on %v if %v", st.Sid, st.Action, st.Resource, st.Condition)
					continue
				}
				gotKeys[aliases[0]] = st.Resource[0]
				continue
			}
			for _, a := range st.Action {
				if strings.ContainsAny(a, "*?") {
					t.Errorf("wildcard action %s", a)
				}
				if _, dup := got[a]; dup {
					t.Errorf("action %s granted twice", a)
				}
				got[a] = st.Resource
			}
			// Aurora's snapshots only through AWS Backup (its
			// DeleteRecoveryPoint), never with the RDS API directly.
			direct := slices.Contains(st.Action, "rds:DeleteDBClusterSnapshot")
			via := condValues(t, st, "ForAnyValue:StringEquals", "aws:CalledVia")
			if direct != reflect.DeepEqual(via, []string{"backup.amazonaws.com"}) || len(st.Condition) > 1 || (!direct && len(st.Condition) != 0) {
				t.Errorf("statement %s: condition %v (only the snapshot delete, and only through AWS Backup)", st.Sid, st.Condition)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("break-glass grants\n got %v\nwant %v", got, want)
		}
		if !reflect.DeepEqual(gotKeys, wantKeys) {
			t.Errorf("break-glass keys %v, want %v", gotKeys, wantKeys)
		}
	})
}

// TestBreakGlassConfiguredRoleCreatesNothing: with backupBreakGlassRoleArn
// set the program uses that role and creates none; the vault policies
// exempt it (with the deploy role for the lock and policy changes).
func TestBreakGlassConfiguredRoleCreatesNothing(t *testing.T) {
	configured := "arn:aws:iam::" + acct + ":role/ops/break-glass"
	rec, err := recordWith(t, "prod", map[string]string{"trading-ha:backupBreakGlassRoleArn": configured})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rec.Resources {
		if strings.Contains(r.Name, "break-glass") || r.Inputs["name"] == "role-break-glass-prod" || r.Inputs["role"] == "role-break-glass-prod" {
			t.Errorf("%s %s created although backupBreakGlassRoleArn is set", r.Type, r.Name)
		}
	}
	for vault, vp := range vaultPolicies(t, "prod", rec) {
		if got, want := exempted(t, vp, vault), wantExemptions(configured, prodDeployRole, true); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: exemptions\n got %v\nwant %v", vault, got, want)
		}
	}
}

// TestBreakGlassConfigRejected: a protected stack names its deploy role
// (else prod would need the root user, or the break-glass role, for every
// lock change); the deploy role is an IAM role of the stack's account and
// never the break-glass role; a configured break-glass role is of the
// stack's account too (AWS Backup refuses cross-account calls).
func TestBreakGlassConfigRejected(t *testing.T) {
	other := "arn:aws:iam::999999999999:role/deploy"
	for _, c := range []struct {
		name      string
		overrides map[string]string
		want      []string
	}{
		{"prod without a deploy role", map[string]string{"trading-ha:deployRoleArn": ""},
			[]string{"trading-ha:deployRoleArn", "is not set", "deletionProtection is true"}},
		{"deploy role not a role", map[string]string{"trading-ha:deployRoleArn": "deployer"},
			[]string{"trading-ha:deployRoleArn", `"deployer"`, "IAM role ARN"}},
		{"deploy role is the configured break-glass role", map[string]string{
			"trading-ha:deployRoleArn": "arn:aws:iam::" + acct + ":role/ops/break-glass", "trading-ha:backupBreakGlassRoleArn": "arn:aws:iam::" + acct + ":role/break-glass"},
			[]string{"trading-ha:deployRoleArn", "role/ops/break-glass", "must not be the break-glass role"}},
		{"deploy role is the default break-glass role", map[string]string{"trading-ha:deployRoleArn": defaultBreakGlass("prod")},
			[]string{"trading-ha:deployRoleArn", "role-break-glass-prod", "must not be the break-glass role"}},
		{"deploy role of another account", map[string]string{"trading-ha:deployRoleArn": other},
			[]string{"trading-ha:deployRoleArn", other, "account 123456789012"}},
		{"break-glass role of another account", map[string]string{"trading-ha:backupBreakGlassRoleArn": "arn:aws:iam::999999999999:role/break-glass"},
			[]string{"trading-ha:backupBreakGlassRoleArn", "999999999999", "account 123456789012"}},
	} {
		t.Run(c.name, func(t *testing.T) { rejects(t, "prod", c.overrides, c.want) })
	}
	// dev has no allowedAccountIds: the account of the credentials decides,
	// once the program knows it.
	t.Run("dev deploy role of another account", func(t *testing.T) {
		_, err := recordWith(t, "dev", map[string]string{"trading-ha:deployRoleArn": other})
		for _, w := range []string{"trading-ha:deployRoleArn", other, "account 123456789012"} {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("error %v does not contain %q", err, w)
			}
		}
	})
}

// TestBreakGlassCallerWarning: a protected stack warns when the credentials
// are a session of neither the deploy role nor break-glass. The session
// ARN sts:GetCallerIdentity returns has no path, so an SSO role under
// /aws-reserved/ is still recognised by account and name; another
// account's role of the same name is not; unprotected stacks say nothing.
func TestBreakGlassCallerWarning(t *testing.T) {
	sso := "arn:aws:iam::" + acct + ":role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Deploy_0123"
	who := backup.Principals{Deploy: sso, BreakGlass: defaultBreakGlass("prod")}
	for _, c := range []struct {
		caller    string
		protected bool
		warns     bool
	}{
		{"arn:aws:sts::" + acct + ":assumed-role/AWSReservedSSO_Deploy_0123/alice@example.org", true, false},
		{"arn:aws:sts::" + acct + ":assumed-role/role-break-glass-prod/bob", true, false},
		{"arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_Deploy_0123/alice@example.org", true, true},
		{"arn:aws:sts::" + acct + ":assumed-role/pr-preview/run-42", true, true},
		{"arn:aws:iam::" + acct + ":user/ci", true, true},
		{"arn:aws:iam::" + acct + ":root", true, true},
		{"arn:aws:iam::" + acct + ":user/ci", false, false},
	} {
		msg := backup.CallerWarning(c.protected, c.caller, who)
		if (msg != "") != c.warns {
			t.Errorf("caller %s (protected %v): warning %q, want one: %v", c.caller, c.protected, msg, c.warns)
		}
		if c.warns && (!strings.Contains(msg, c.caller) || !strings.Contains(msg, sso) || !strings.Contains(msg, "AccessDenied")) {
			t.Errorf("warning %q does not name the caller, the deploy role and the consequence", msg)
		}
	}
}

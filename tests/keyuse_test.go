package tests

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/security"
	"github.com/trading-ha/trading-ha/proof/iamcheck"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// stmt is a policy statement as the walk reads it.
type stmt struct {
	Sid       string
	Effect    string
	Principal map[string]any
	Action    any
	Resource  any
	Condition map[string]map[string]any
}

func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

// glob matches IAM's * and ? wildcards.
func glob(pattern, s string) bool {
	re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
	return regexp.MustCompile(re).MatchString(s)
}

// keyRef is a key as identity policies name it (iamdoc.Key): the
// account's keys in the region and the alias the recording gives the key
// (the aws:kms/alias:Alias alias-<key>).
func keyRef(t *testing.T, rec *offline.Recording, key string) iamdoc.Key {
	t.Helper()
	alias, _ := one(t, rec, "aws:kms/alias:Alias", "alias-"+key).Inputs["name"].(string)
	if alias == "" {
		t.Fatalf("alias-%s has no name", key)
	}
	return iamdoc.Key{Keys: arn.In(offline.Region, acct).Keys(), Alias: alias}
}

// aliasedKeys maps each alias name to the ARN of the key it points at
// (the alias's targetKeyId is the key's ID).
func aliasedKeys(rec *offline.Recording) map[string]string {
	byID := map[string]string{}
	for _, k := range rec.ByType("aws:kms/key:Key") {
		byID[fmt.Sprint(k.Outputs["keyId"])] = fmt.Sprint(k.Outputs["arn"])
	}
	out := map[string]string{}
	for _, a := range rec.ByType("aws:kms/alias:Alias") {
		if arn, ok := byID[fmt.Sprint(a.Inputs["targetKeyId"])]; ok {
			out[fmt.Sprint(a.Inputs["name"])] = arn
		}
	}
	return out
}

// grantedKeys resolves a statement's Resource to the keys of the
// recording it grants: a key ARN itself, or key/* with the
// ForAnyValue:StringEquals kms:ResourceAliases condition (iamdoc.Key),
// the keys those aliases point at. A key/* without the alias condition
// reaches every key: it is returned as is, and matches no key.
func grantedKeys(s stmt, keys map[string]bool, aliases map[string]string) []string {
	var out []string
	for _, r := range strs(s.Resource) {
		if keys[r] {
			out = append(out, r)
			continue
		}
		if !strings.HasSuffix(r, ":key/*") {
			continue
		}
		named := strs(s.Condition[iamdoc.ResourceAliasesOperator]["kms:ResourceAliases"])
		if len(named) == 0 {
			out = append(out, r)
		}
		for _, a := range named {
			if k, ok := aliases[a]; ok {
				out = append(out, k)
			} else {
				out = append(out, r+" (alias "+a+" names no key)")
			}
		}
	}
	return out
}

// encryptedBy maps, per key ARN, the ARNs of the resources the recording
// encrypts with it to the service that calls KMS for them.
func encryptedBy(rec *offline.Recording) map[string]map[string]string {
	out := map[string]map[string]string{}
	add := func(key any, arn any, svc string) {
		k, a := fmt.Sprint(key), fmt.Sprint(arn)
		if out[k] == nil {
			out[k] = map[string]string{}
		}
		out[k][a] = svc
	}
	for _, r := range rec.ByType("aws:sns/topic:Topic") {
		add(r.Inputs["kmsMasterKeyId"], r.Outputs["arn"], "sns")
	}
	for _, r := range rec.ByType("aws:sqs/queue:Queue") {
		add(r.Inputs["kmsMasterKeyId"], r.Outputs["arn"], "sqs")
	}
	for _, r := range rec.ByType("aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2") {
		add(offline.Lookup(r.Inputs, "rules.0.applyServerSideEncryptionByDefault.kmsMasterKeyId"), "arn:aws:s3:::"+fmt.Sprint(r.Inputs["bucket"]), "s3")
	}
	for _, r := range rec.ByType("aws:synthetics/canary:Canary") {
		if k := offline.Lookup(r.Inputs, "artifactConfig.s3Encryption.kmsKeyArn"); k != nil {
			loc := strings.TrimPrefix(fmt.Sprint(r.Inputs["artifactS3Location"]), "s3://")
			add(k, "arn:aws:s3:::"+strings.SplitN(loc, "/", 2)[0], "s3")
		}
	}
	for _, r := range rec.ByType("aws:dynamodb/table:Table") {
		add(offline.Lookup(r.Inputs, "serverSideEncryption.kmsKeyArn"), r.Outputs["arn"], "dynamodb")
	}
	for _, r := range rec.ByType(tParameter) {
		if r.Inputs["type"] == "SecureString" {
			add(r.Inputs["keyId"], r.Outputs["arn"], "ssm")
		}
	}
	for _, r := range rec.ByType("aws:rds/cluster:Cluster") {
		if k := r.Inputs["masterUserSecretKmsKeyId"]; k != nil {
			add(k, offline.Lookup(r.Outputs, "masterUserSecrets.0.secretArn"), "secretsmanager")
		}
	}
	return out
}

// adminVia marks a key administration grant: the principal calls KMS
// itself.
const adminVia = "(administration)"

// keyAdministration reports whether every action is one of the key
// administration actions of the key policies' AccountAdministersKey
// statement (iamdoc.KMSKeyAdminActions), which no service stands between.
func keyAdministration(actions []string) bool {
	for _, a := range actions {
		if !slices.ContainsFunc(iamdoc.KMSKeyAdminActions, func(p string) bool { return glob(p, a) }) {
			return false
		}
	}
	return len(actions) > 0
}

// keyUse is one way an identity policy uses a key: its role, actions and
// the service it goes through.
type keyUse struct {
	where, key, via string
	actions         []string
}

// keyUses walks every identity policy naming a key and returns each
// (actions, service) the policy grants: the kms:ViaService values of the
// statement, else the services of the resources encrypted with the key
// that the same policy reaches with its other statements.
func keyUses(t *testing.T, rec *offline.Recording) ([]keyUse, []string) {
	t.Helper()
	enc := encryptedBy(rec)
	keys := map[string]bool{}
	for _, k := range rec.ByType("aws:kms/key:Key") {
		keys[fmt.Sprint(k.Outputs["arn"])] = true
	}
	aliases := aliasedKeys(rec)
	var uses []keyUse
	var orphans []string
	for _, p := range policyDocs(rec) {
		if policyKind(p) != iamcheck.Identity {
			continue
		}
		var doc struct{ Statement []stmt }
		if err := json.Unmarshal([]byte(p.doc), &doc); err != nil {
			t.Fatal(err)
		}
		for _, s := range doc.Statement {
			if s.Effect != "Allow" {
				continue
			}
			for _, key := range grantedKeys(s, keys, aliases) {
				if !keys[key] {
					orphans = append(orphans, p.res.Name+" "+s.Sid+" grants "+key+", no key of the stack")
					continue
				}
				where := p.res.Name + " " + s.Sid
				vias := strs(s.Condition["StringEquals"]["kms:ViaService"])
				if keyAdministration(strs(s.Action)) {
					// Administration, not use: no service in between. The
					// key policy admits it through its unconditioned
					// AccountAdministersKey statement (admits).
					vias = []string{adminVia}
				}
				if len(vias) == 0 {
					seen := map[string]bool{}
					for _, o := range doc.Statement {
						for _, r := range strs(o.Resource) {
							if r == "*" { // reaches no resource in particular
								continue
							}
							for arn, svc := range enc[key] {
								if glob(r, arn) || strings.HasPrefix(r, arn+"/") {
									seen[svc+".us-east-1.amazonaws.com"] = true
								}
							}
						}
					}
					vias = sortedKeys(seen)
				}
				if len(vias) == 0 {
					orphans = append(orphans, where+" uses "+key+" through no service that encrypts a resource it reaches")
				}
				for _, v := range vias {
					uses = append(uses, keyUse{where: where, key: key, via: v, actions: strs(s.Action)})
				}
			}
		}
	}
	return uses, orphans
}

// admits reports whether a key policy lets an account principal call
// action through service via: an Allow for the account root whose action
// matches and whose every condition the call satisfies (kms:ViaService
// lists via, kms:CallerAccount is the account; any other key fails).
func admits(policy string, action, via string) bool {
	var doc struct{ Statement []stmt }
	if json.Unmarshal([]byte(policy), &doc) != nil {
		return false
	}
	for _, s := range doc.Statement {
		if s.Effect != "Allow" || !slices.Contains(strs(s.Principal["AWS"]), "arn:aws:iam::"+acct+":root") {
			continue
		}
		if !slices.ContainsFunc(strs(s.Action), func(a string) bool { return glob(a, action) }) {
			continue
		}
		ok := true
		for op, kv := range s.Condition {
			for k, v := range kv {
				switch {
				case op == "StringEquals" && k == "kms:ViaService":
					ok = ok && slices.Contains(strs(v), via)
				case op == "StringEquals" && k == "kms:CallerAccount":
					ok = ok && slices.Contains(strs(v), acct)
				default:
					ok = false
				}
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// keyUseFindings: every use an identity policy grants is admitted by the
// key's policy.
func keyUseFindings(t *testing.T, rec *offline.Recording) []string {
	t.Helper()
	policies := map[string]string{}
	for _, k := range rec.ByType("aws:kms/key:Key") {
		policies[fmt.Sprint(k.Outputs["arn"])] = fmt.Sprint(k.Inputs["policy"])
	}
	uses, findings := keyUses(t, rec)
	for _, u := range uses {
		for _, a := range u.actions {
			if !admits(policies[u.key], a, u.via) {
				findings = append(findings, fmt.Sprintf("%s: %s via %s is not admitted by the key policy", u.where, a, u.via))
			}
		}
	}
	sort.Strings(findings)
	return findings
}

// TestKeyPoliciesAdmitEveryIdentityGrant walks every identity policy that
// names a key, in both stacks, and holds the key policy to it.
func TestKeyPoliciesAdmitEveryIdentityGrant(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		uses, _ := keyUses(t, rec)
		if len(uses) < 10 {
			t.Fatalf("walk found only %d key uses", len(uses))
		}
		for _, u := range uses {
			t.Logf("%s: %v via %s", u.where, u.actions, u.via)
		}
		for _, f := range keyUseFindings(t, rec) {
			t.Error(f)
		}
	})
}

// TestKeyUseWalkFires: dropping sqs from the telemetry key's delegation
// breaks the scheduler roles' dead-letter encryption, and the walk says so.
func TestKeyUseWalkFires(t *testing.T) {
	rec := record(t, "dev")
	mutated := &offline.Recording{Stack: rec.Stack, Config: rec.Config}
	for _, r := range rec.Resources {
		c := *r
		if r.Type == "aws:kms/key:Key" && r.Key == "key-telemetry" {
			c.Inputs = map[string]any{}
			for k, v := range r.Inputs {
				c.Inputs[k] = v
			}
			c.Inputs["policy"] = strings.ReplaceAll(fmt.Sprint(r.Inputs["policy"]), `"sqs.us-east-1.amazonaws.com",`, "")
		}
		mutated.Resources = append(mutated.Resources, &c)
	}
	var schedulers int
	for _, f := range keyUseFindings(t, mutated) {
		if strings.Contains(f, "schedule-role DeadLetterEncryption") && strings.Contains(f, "via sqs") {
			schedulers++
		}
	}
	if schedulers == 0 {
		t.Error("the walk does not catch a key policy without sqs")
	}
}

// TestKeyAdministrationIsNotUse: the account-root statement of both keys
// carries exactly the default policy's administration actions, and no
// statement for the account grants use without kms:ViaService.
func TestKeyAdministrationIsNotUse(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		for _, name := range []string{"key-data", "key-telemetry"} {
			var doc struct{ Statement []stmt }
			jsonInput(t, one(t, rec, "aws:kms/key:Key", name), "policy", &doc)
			admin := 0
			for _, s := range doc.Statement {
				if !slices.Contains(strs(s.Principal["AWS"]), "arn:aws:iam::"+acct+":root") {
					continue
				}
				if len(s.Condition) == 0 {
					admin++
					if !slices.Equal(strs(s.Action), iamdoc.KMSKeyAdminActions) {
						t.Errorf("%s %s: unconditioned account statement grants %v", name, s.Sid, s.Action)
					}
					continue
				}
				if s.Condition["StringEquals"]["kms:ViaService"] == nil {
					t.Errorf("%s %s: account use without kms:ViaService", name, s.Sid)
				}
			}
			if admin != 1 {
				t.Errorf("%s: %d administration statements, want 1", name, admin)
			}
		}
	})
}

// TestDataKeyServicesAreTheRecordedOnes: the data key's delegation names
// exactly the services whose resources the recording encrypts with it.
func TestDataKeyServicesAreTheRecordedOnes(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		key := keyArn(t, rec, "key-data")
		used := map[string]bool{}
		for _, svc := range encryptedBy(rec)[key] {
			used[svc] = true
		}
		// encryptedBy does not list these data-key users by ARN:
		for typ, svc := range map[string]string{"aws:rds/cluster:Cluster": "rds", "aws:backup/vault:Vault": "backup", "aws:ecr/repository:Repository": "ecr"} {
			if len(rec.ByType(typ)) > 0 {
				used[svc] = true
			}
		}
		got := slices.Clone(security.DataServices)
		sort.Strings(got)
		if want := sortedKeys(used); !slices.Equal(got, want) {
			t.Errorf("data key delegated to %v; the recording encrypts with it through %v", got, want)
		}
	})
}

// keyGrantIs: s grants its actions on a key by alias (iamdoc.Key): the
// account's keys in the region, the ForAnyValue:StringEquals
// kms:ResourceAliases condition naming alias, and exactly the further
// conditions extra (kms:ViaService, encryption context).
func keyGrantIs(t *testing.T, what string, s policyStatement, alias string, extra map[string]map[string]any) {
	t.Helper()
	if want := []string{arn.In(offline.Region, acct).Keys()}; !slices.Equal(s.Resource, want) {
		t.Errorf("%s %s: resource %v, want %v", what, s.Sid, s.Resource, want)
	}
	want := map[string]map[string]any{iamdoc.ResourceAliasesOperator: {"kms:ResourceAliases": alias}}
	for op, kv := range extra {
		want[op] = kv
	}
	got, _ := json.Marshal(s.Condition)
	exp, _ := json.Marshal(want)
	if string(got) != string(exp) {
		t.Errorf("%s %s: condition %s, want %s", what, s.Sid, got, exp)
	}
}

// statementBySid is the statement of doc with the given Sid.
func statementBySid(t *testing.T, what string, doc policyDoc, sid string) policyStatement {
	t.Helper()
	for _, s := range doc.Statement {
		if s.Sid == sid {
			return s
		}
	}
	t.Fatalf("%s has no statement %s", what, sid)
	return policyStatement{}
}

package tests

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/infra/audit"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/proof/offline"
	"github.com/trading-ha/trading-ha/proof/policy"
)

const tTrailType = "aws:cloudtrail/trail:Trail"

// TestTrail: both stacks have a validated, KMS-encrypted multi-region trail
// delivering to its own bucket and log group, with data events on the data
// bucket and the sessions table.
func TestTrail(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		tr := one(t, rec, tTrailType, "trail")
		tel := out(t, one(t, rec, "aws:kms/key:Key", "key-telemetry"), "arn")
		eq(t, tr, "name", "trail-"+stack)
		eq(t, tr, "isMultiRegionTrail", true)
		eq(t, tr, "includeGlobalServiceEvents", true)
		eq(t, tr, "enableLogFileValidation", true)
		eq(t, tr, "kmsKeyId", tel)
		eq(t, tr, "s3BucketName", "trail-"+stack+"-"+acct)
		eq(t, tr, "cloudWatchLogsGroupArn", fmt.Sprintf("arn:aws:logs:us-east-1:%s:log-group:/trading/cloudtrail-%s:*", acct, stack))
		eq(t, tr, "cloudWatchLogsRoleArn", fmt.Sprintf("arn:aws:iam::%s:role/role-cloudtrail-%s", acct, stack))
		eq(t, tr, "advancedEventSelectors.0.fieldSelectors.0.equals", []string{"Management"})
		data := out(t, one(t, rec, "aws:s3/bucketV2:BucketV2", "data"), "arn")
		eq(t, tr, "advancedEventSelectors.1.fieldSelectors.1.equals", []string{"AWS::S3::Object"})
		eq(t, tr, "advancedEventSelectors.1.fieldSelectors.2.startsWiths", []string{data + "/"})
		eq(t, tr, "advancedEventSelectors.2.fieldSelectors.1.equals", []string{"AWS::DynamoDB::Table"})
		eq(t, tr, "advancedEventSelectors.2.fieldSelectors.2.equals", []string{out(t, one(t, rec, "aws:dynamodb/table:Table", "sessions-sessions"), "arn")})
		trailArn := audit.TrailArn(naming.New(stack), "us-east-1", acct)

		b := one(t, rec, "aws:s3/bucketV2:BucketV2", "trail")
		eq(t, b, "forceDestroy", !protected(stack))
		eq(t, one(t, rec, "aws:s3/bucketVersioningV2:BucketVersioningV2", "trail-versioning"), "versioningConfiguration.status", "Enabled")
		var bp policyDoc
		pol := one(t, rec, "aws:s3/bucketPolicy:BucketPolicy", "trail-policy")
		jsonInput(t, pol, "policy", &bp)
		sids := map[string]policyStatement{}
		for _, s := range bp.Statement {
			sids[s.Sid] = s
		}
		if s := sids["DenyInsecureTransport"]; s.Effect != "Deny" || s.Condition["Bool"]["aws:SecureTransport"] != "false" {
			t.Errorf("trail bucket is not TLS-only: %+v", s)
		}
		for _, sid := range []string{"AWSCloudTrailAclCheck", "AWSCloudTrailWrite"} {
			if s := sids[sid]; s.Principal["Service"] != audit.Principal || s.Condition["StringEquals"]["aws:SourceArn"] != trailArn {
				t.Errorf("%s not scoped to the trail %s: %+v", sid, trailArn, s)
			}
		}
		if w := sids["AWSCloudTrailWrite"]; w.Condition["StringEquals"]["s3:x-amz-acl"] != "bucket-owner-full-control" ||
			len(w.Resource) != 1 || !strings.HasSuffix(w.Resource[0], "/AWSLogs/"+acct+"/*") {
			t.Errorf("AWSCloudTrailWrite %+v", w)
		}
		// The policy waits for the public access block.
		if !contains(pol.DependsOn, one(t, rec, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "trail-public-access").URN) {
			t.Error("trail bucket policy does not depend on the public access block")
		}

		// The telemetry key lets CloudTrail encrypt, scoped as documented.
		var kp policyDoc
		jsonInput(t, one(t, rec, "aws:kms/key:Key", "key-telemetry"), "policy", &kp)
		found := false
		for _, s := range kp.Statement {
			if s.Sid == "CloudTrailEncryptsLogs" {
				found = s.Condition["StringEquals"]["aws:SourceArn"] == trailArn &&
					s.Condition["StringLike"]["kms:EncryptionContext:aws:cloudtrail:arn"] == "arn:aws:cloudtrail:*:"+acct+":trail/*" &&
					len(s.Action) == 1 && s.Action[0] == "kms:GenerateDataKey*"
			}
		}
		if !found {
			t.Error("telemetry key policy lacks CloudTrail's GenerateDataKey* statement with aws:SourceArn and the cloudtrail encryption context")
		}

		// One CIS filter and alarm per watch, paging the alarm topic.
		// Security changes notify (the on-call pages only on customer impact).
		topic := "arn:aws:sns:us-east-1:" + acct + ":notify-" + stack
		for _, w := range audit.Watches {
			f := one(t, rec, "aws:cloudwatch/logMetricFilter:LogMetricFilter", "trail-"+w.Key)
			eq(t, f, "logGroupName", "/trading/cloudtrail-"+stack)
			eq(t, f, "pattern", w.Pattern)
			a := one(t, rec, typAlarm, "trail-"+w.Key)
			eq(t, a, "metricName", w.Metric)
			eq(t, a, "namespace", audit.MetricNamespace)
			eq(t, a, "alarmActions", []string{topic})
		}
	})
}

// TestTrailOffUnderOrganizationTrail: cloudTrailEnabled=false creates no
// trail, and the CloudTrail rules stay quiet only then.
func TestTrailOffUnderOrganizationTrail(t *testing.T) {
	rec, err := recordWith(t, "dev", map[string]string{"trading-ha:cloudTrailEnabled": "false"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rec.ByType(tTrailType)); n != 0 {
		t.Fatalf("%d trails with cloudTrailEnabled false", n)
	}
	rec.Config["trading-ha:cloudTrailEnabled"] = "true" // as if the key were on but the trail missing
	open, _, _ := policy.Evaluate(rec.Policy())
	fired := false
	for _, f := range open {
		fired = fired || f.Rule == "CloudTrail.1"
	}
	if !fired {
		t.Error("CloudTrail.1 does not fire on a stack without a trail")
	}
}

// TestWAFLogging: the web ACL logs to aws-waf-logs-trading-<suffix>,
// KMS-encrypted, with every credential-bearing header redacted: the bearer
// token, cookies, the session ID and the idempotency key.
func TestWAFLogging(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		lg := one(t, rec, "aws:cloudwatch/logGroup:LogGroup", "waf")
		eq(t, lg, "name", "aws-waf-logs-trading-"+stack)
		eq(t, lg, "kmsKeyId", out(t, one(t, rec, "aws:kms/key:Key", "key-telemetry"), "arn"))
		l := one(t, rec, "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "alb")
		eq(t, l, "resourceArn", out(t, one(t, rec, "aws:wafv2/webAcl:WebAcl", "alb"), "arn"))
		eq(t, l, "logDestinationConfigs", []string{out(t, lg, "arn")})
		var redacted []string
		for _, f := range get(t, l, "redactedFields").([]any) {
			h, _ := offline.Lookup(f, "singleHeader.name").(string)
			redacted = append(redacted, h)
		}
		for _, want := range []string{"authorization", "cookie", "x-session-id", "idempotency-key"} {
			if !slices.Contains(redacted, want) {
				t.Errorf("WAF logging redacts %v: %q missing", redacted, want)
			}
		}
	})
}

// TestVaultLockAndCopies: every vault is locked (its mode:
// TestProdVaultLockIsCompliance) with the break-glass access policy; prod copies daily points to
// us-west-2 through the DR provider, dev copies nothing.
func TestVaultLockAndCopies(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		lock := one(t, rec, "aws:backup/vaultLockConfiguration:VaultLockConfiguration", "vault-lock")
		eq(t, lock, "backupVaultName", "vault-"+stack)
		// The lock's floor is the shortest retention the plans set (daily
		// and continuous): dev 7 days, prod 35 (Pulumi.prod.yaml).
		eq(t, lock, "minRetentionDays", map[string]int{"dev": 7, "prod": 35}[stack])
		// Who each denied action exempts: TestVaultPolicyExemptions.
		var vp policyDoc
		jsonInput(t, one(t, rec, "aws:backup/vaultPolicy:VaultPolicy", "vault-policy"), "policy", &vp)
		var denied []string
		for _, s := range vp.Statement {
			denied = append(denied, s.Action...)
		}
		want := slices.Clone(protectedActions)
		if protected(stack) {
			want = append(want, lockActions...)
		}
		if fmt.Sprint(denied) != fmt.Sprint(want) {
			t.Errorf("vault policy denies %v, want %v", denied, want)
		}
		// "*" is the vault and every recovery point in it: the reference
		// authorizes DeleteRecoveryPoint and UpdateRecoveryPointLifecycle
		// on the recovery point, so a Deny on the vault ARN alone protects
		// no recovery point (iamcheck.VaultPolicy).
		for _, s := range vp.Statement {
			if !slices.Equal(s.Resource, []string{"*"}) {
				t.Errorf("vault policy statement %v: Resource %v, want [*]: the vault and its recovery points", s.Action, s.Resource)
			}
		}
		// Every recovery point is copied off-site: the daily snapshots and
		// the continuous (PITR) points, whose copy AWS Backup makes as a
		// snapshot (docs/backup.md).
		plans := []*offline.Resource{one(t, rec, "aws:backup/plan:Plan", "plan"), one(t, rec, "aws:backup/plan:Plan", "plan-pitr")}
		if !protected(stack) {
			for _, plan := range plans {
				if _, ok := offline.Lookup(plan.Inputs, "rules.0.copyActions").([]any); ok {
					t.Errorf("dev %s copies recovery points; drRegion is off there", plan.Name)
				}
			}
			return
		}
		dr := one(t, rec, "aws:backup/vault:Vault", "vault-dr")
		eq(t, dr, "name", "vault-dr-prod")
		eq(t, dr, "kmsKeyArn", out(t, one(t, rec, "aws:kms/key:Key", "dr-key"), "arn"))
		for _, plan := range plans {
			eq(t, plan, "rules.0.copyActions.0.destinationVaultArn", out(t, dr, "arn"))
			eq(t, plan, "rules.0.copyActions.0.lifecycle.deleteAfter", 35)
		}
		p := one(t, rec, "pulumi:providers:aws", "aws-dr")
		eq(t, p, "region", "us-west-2")
		eq(t, p, "defaultTags", one(t, rec, "pulumi:providers:aws", "aws").Inputs["defaultTags"])
		for _, r := range []string{"vault-dr", "dr-key"} {
			if !viaDRProvider(t, rec, oneAny(t, rec, r)) {
				t.Errorf("%s is not deployed in the DR region", r)
			}
		}
		eq(t, one(t, rec, "aws:backup/vaultLockConfiguration:VaultLockConfiguration", "vault-dr-lock"), "backupVaultName", "vault-dr-prod")
	})
}

// TestComplianceLockAndBreakGlass: compliance mode sets the grace time;
// a configured break-glass role replaces the default one in the policy.
func TestComplianceLockAndBreakGlass(t *testing.T) {
	role := "arn:aws:iam::" + acct + ":role/break-glass"
	rec, err := recordWith(t, "dev", map[string]string{
		"trading-ha:backupVaultLockMode": "compliance", "trading-ha:backupVaultLockChangeableDays": "7",
		"trading-ha:backupBreakGlassRoleArn": role,
	})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, one(t, rec, "aws:backup/vaultLockConfiguration:VaultLockConfiguration", "vault-lock"), "changeableForDays", 7)
	var vp policyDoc
	jsonInput(t, one(t, rec, "aws:backup/vaultPolicy:VaultPolicy", "vault-policy"), "policy", &vp)
	if got := vp.Statement[0].Condition["ArnNotEquals"]["aws:PrincipalArn"]; got != role {
		t.Errorf("break-glass principal %v, want %s", got, role)
	}
}

// TestDatabaseAudit: pgaudit is loaded and logs DDL, ROLE and WRITE without
// parameters, into the exported postgresql log.
func TestDatabaseAudit(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		open, _, _ := policy.Evaluate(rec.Policy())
		for _, f := range open {
			if f.Rule == "RDS.37" {
				t.Error(f)
			}
		}
		eq(t, one(t, rec, tCluster, "aurora"), "enabledCloudwatchLogsExports", []string{"postgresql"})
	})
}

// TestTradingParameters: the flag and limits exist in both stacks with the
// config defaults, and config changes them.
func TestTradingParameters(t *testing.T) {
	want := map[string]string{"flags-trading-enabled": "true", "limits-max-notional": "1000000",
		"limits-price-band-pct": "5", "limits-max-orders-per-second": "50"}
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		for k, v := range want {
			p := one(t, rec, "aws:ssm/parameter:Parameter", "params-param-"+k)
			eq(t, p, "name", "/trading/"+stack+"/"+strings.Replace(k, "-", "/", 1))
			eq(t, p, "type", "String")
			eq(t, p, "insecureValue", v)
		}
	})
	rec, err := recordWith(t, "dev", map[string]string{"trading-ha:tradingEnabled": "false", "trading-ha:maxNotional": "250000"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, one(t, rec, "aws:ssm/parameter:Parameter", "params-param-flags-trading-enabled"), "insecureValue", "false")
	eq(t, one(t, rec, "aws:ssm/parameter:Parameter", "params-param-limits-max-notional"), "insecureValue", "250000")
}

// TestAuditConfigRejected: bad audit, backup or egress config fails before
// any resource.
func TestAuditConfigRejected(t *testing.T) {
	for _, c := range []struct {
		name      string
		overrides map[string]string
		want      []string
	}{
		// Pulumi.prod.yaml serves clients (liveTraffic true): prod refuses
		// the self-signed fallback and an undelegated name.
		{"prod on self-signed", map[string]string{"trading-ha:certificateMode": "selfsigned"},
			[]string{"trading-ha:certificateMode", `"selfsigned"`, "must be existing or dns when liveTraffic is true"}},
		{"prod undelegated", map[string]string{"trading-ha:dnsDelegated": "false"},
			[]string{"trading-ha:dnsDelegated", `"false"`, "must be true when liveTraffic is true"}},
		{"dr region same as home", map[string]string{"trading-ha:drRegion": "us-east-1"},
			[]string{"trading-ha:drRegion", `"us-east-1"`, "not off-site"}},
		{"dr region malformed", map[string]string{"trading-ha:drRegion": "west"}, []string{"trading-ha:drRegion", `"west"`, "AWS region"}},
		{"lock mode", map[string]string{"trading-ha:backupVaultLockMode": "strict"}, []string{"trading-ha:backupVaultLockMode", "governance, compliance"}},
		{"grace time below 3 days", map[string]string{"trading-ha:backupVaultLockChangeableDays": "1"},
			[]string{"trading-ha:backupVaultLockChangeableDays", `"1"`, "between 3 and"}},
		{"break-glass not a role", map[string]string{"trading-ha:backupBreakGlassRoleArn": "admin"},
			[]string{"trading-ha:backupBreakGlassRoleArn", `"admin"`, "IAM role ARN"}},
		{"price band", map[string]string{"trading-ha:priceBandPct": "90"}, []string{"trading-ha:priceBandPct", `"90"`, "between 1 and 50"}},
	} {
		t.Run(c.name, func(t *testing.T) { rejects(t, "prod", c.overrides, c.want) })
	}
}

// oneAny returns the single resource of any type with a logical name or
// key (offline.Resource.Key, as Recording.One).
func oneAny(t *testing.T, rec *offline.Recording, name string) *offline.Resource {
	t.Helper()
	var found *offline.Resource
	for _, r := range rec.Resources {
		if (r.Name == name || r.Key == name) && strings.HasPrefix(r.Type, "aws:") && !strings.HasSuffix(r.Type, ":Alias") {
			found = r
		}
	}
	if found == nil {
		t.Fatalf("no resource %s", name)
	}
	return found
}

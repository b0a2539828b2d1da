package tests

import (
	"slices"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// TestBadConfigFailsBeforeAnyResource feeds invalid values and checks the
// message names the key, the value and the rule, and that nothing registered.
func TestBadConfigFailsBeforeAnyResource(t *testing.T) {
	cases := []struct {
		name      string
		overrides map[string]string
		want      []string
	}{
		{"suffix too long", map[string]string{"trading-ha:environmentSuffix": "averyveryverylongsuffix"},
			[]string{"trading-ha:environmentSuffix", `"averyveryverylongsuffix"`, "at most 14 characters", "canary names allow 21"}},
		{"suffix uppercase", map[string]string{"trading-ha:environmentSuffix": "Prod"},
			[]string{"trading-ha:environmentSuffix", `"Prod"`, "lowercase letters"}},
		{"suffix empty", map[string]string{"trading-ha:environmentSuffix": ""},
			[]string{"trading-ha:environmentSuffix is not set", "required"}},
		{"suffix starts with digit", map[string]string{"trading-ha:environmentSuffix": "1dev"},
			[]string{"trading-ha:environmentSuffix", "start with a letter"}},
		{"suffix trailing hyphen", map[string]string{"trading-ha:environmentSuffix": "dev-"},
			[]string{"trading-ha:environmentSuffix", "not end with a hyphen"}},
		{"retention not accepted by CloudWatch", map[string]string{"trading-ha:logRetentionDays": "45"},
			[]string{"trading-ha:logRetentionDays", `"45"`, "retention periods CloudWatch Logs accepts"}},
		{"retention wrong type", map[string]string{"trading-ha:logRetentionDays": "thirty"},
			[]string{"trading-ha:logRetentionDays", `"thirty"`}},
		{"two zones", map[string]string{"trading-ha:availabilityZones": `["us-east-1a","us-east-1b"]`},
			[]string{"trading-ha:availabilityZones", "between 3 and 3 entries"}},
		{"duplicate zones", map[string]string{"trading-ha:availabilityZones": `["us-east-1a","us-east-1a","us-east-1b"]`},
			[]string{"trading-ha:availabilityZones", "three distinct zones"}},
		{"zone of another region", map[string]string{"trading-ha:availabilityZones": `["us-east-1a","us-east-1b","eu-west-1a"]`},
			[]string{"trading-ha:availabilityZones", `"eu-west-1a"`, "availability zone of us-east-1"}},
		{"zones not a list", map[string]string{"trading-ha:availabilityZones": "us-east-1a"},
			[]string{"trading-ha:availabilityZones", "list of strings"}},
		{"bool wrong type", map[string]string{"trading-ha:deletionProtection": "yes"},
			[]string{"trading-ha:deletionProtection", `"yes"`, "true or false"}},
		{"region", map[string]string{"aws:region": "eu-west-1"},
			[]string{"aws:region", `"eu-west-1"`, "must be us-east-1"}},
		{"missing tag", map[string]string{"aws:defaultTags": `{"tags":{"Application":"x","Environment":"dev"}}`},
			[]string{"aws:defaultTags", "CostCenter, DataClassification, Owner"}},
		{"bad cidr", map[string]string{"trading-ha:vpcCidr": "10.40.0.0/24"},
			[]string{"trading-ha:vpcCidr", "between /16 and /20"}},
		{"nat strategy", map[string]string{"trading-ha:natGateways": "None"},
			[]string{"trading-ha:natGateways", `"None"`, "OnePerAz, Single"}},
		{"expiration before transition", map[string]string{"trading-ha:noncurrentExpirationDays": "30", "trading-ha:noncurrentTransitionDays": "60"},
			[]string{"trading-ha:noncurrentExpirationDays", "greater than noncurrentTransitionDays"}},
		{"session ttl", map[string]string{"trading-ha:sessionTtl": "3d"},
			[]string{"trading-ha:sessionTtl", `"3d"`, "duration"}},
		{"feature flag", map[string]string{"trading-ha:featureFlags": `["Bad Flag"]`},
			[]string{"trading-ha:featureFlags", `"Bad Flag"`}},
		// A kept bucket tail is what random_id gave: 8 hex digits, no more.
		{"bucket tail not hex", map[string]string{"trading-ha:bucketNameTail": "a1b2c3dz"},
			[]string{"trading-ha:bucketNameTail", `"a1b2c3dz"`, "8 lowercase hex digits"}},
		{"trail bucket tail too long", map[string]string{"trading-ha:trailBucketNameTail": "a1b2c3d4e"},
			[]string{"trading-ha:trailBucketNameTail", `"a1b2c3d4e"`, "8 lowercase hex digits"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rejects(t, "dev", c.overrides, c.want)
		})
	}
}

// TestConfigErrorsReportedTogether checks several bad keys come back in one error.
func TestConfigErrorsReportedTogether(t *testing.T) {
	_, err := recordWith(t, "prod", map[string]string{
		"trading-ha:environmentSuffix": "PROD", "trading-ha:logRetentionDays": "2", "trading-ha:natGateways": "x",
	})
	if err == nil {
		t.Fatal("want errors")
	}
	for _, k := range []string{"environmentSuffix", "logRetentionDays", "natGateways", "3 problem(s)"} {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("error does not mention %s:\n%v", k, err)
		}
	}
}

// TestSuffixLimitComesFromNamingTable ties the documented limit to the table.
func TestSuffixLimitComesFromNamingTable(t *testing.T) {
	n, by := naming.MaxSuffixLen()
	if n != 14 || by.Type != "canary" {
		t.Fatalf("max suffix %d set by %s; Pulumi.yaml documents 14 (canary, 21 chars)", n, by.Type)
	}
	long := strings.Repeat("a", n)
	names := naming.New(long)
	for _, k := range naming.Kinds {
		name := names.Name(k)
		if k.Reserve > 0 {
			name = names.Unique(k, strings.Repeat("f", k.Reserve-1))
		}
		if err := naming.Check(k, name); err != nil {
			t.Errorf("longest suffix breaks %s: %v", k.Type, err)
		}
	}
	if _, err := recordWith(t, "dev", map[string]string{"trading-ha:environmentSuffix": "a-" + strings.Repeat("b", n-2)}); err != nil {
		t.Errorf("a %d-character suffix must deploy: %v", n, err)
	}
}

// TestEveryKeyDeclared: every key the stack files set is declared in
// Pulumi.yaml, and every declared key but environmentSuffix has a default.
func TestEveryKeyDeclared(t *testing.T) {
	keys, err := config.ProjectKeys("..")
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	for _, k := range keys {
		declared["trading-ha:"+k.Name] = true
		if k.Description == "" || k.Type == "" {
			t.Errorf("%s lacks a type or description", k.Name)
		}
		if !k.HasDefault && k.Name != "environmentSuffix" {
			t.Errorf("%s has no default", k.Name)
		}
	}
	for _, s := range Stacks {
		cfg, err := offline.LoadStack("..", s)
		if err != nil {
			t.Fatal(err)
		}
		for k := range cfg {
			if strings.HasPrefix(k, "trading-ha:") && !declared[k] {
				t.Errorf("Pulumi.%s.yaml sets %s, which Pulumi.yaml does not declare", s, k)
			}
		}
	}
}

// TestBucketNameTailKeepsExistingBuckets: by default a bucket is named
// <type>-<suffix>-<account ID>; bucketNameTail and trailBucketNameTail
// give an existing stack back the names its random tails made, so its
// buckets are not replaced (docs/deploy.md).
func TestBucketNameTailKeepsExistingBuckets(t *testing.T) {
	rec, err := recordWith(t, "prod", map[string]string{
		"trading-ha:bucketNameTail": "a1b2c3d4", "trading-ha:trailBucketNameTail": "0f0e0d0c",
	})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, one(t, rec, "aws:s3/bucketV2:BucketV2", "data"), "bucket", "data-prod-a1b2c3d4")
	eq(t, one(t, rec, "aws:s3/bucketV2:BucketV2", "logs"), "bucket", "logs-prod-a1b2c3d4")
	eq(t, one(t, rec, "aws:s3/bucketV2:BucketV2", "trail"), "bucket", "trail-prod-0f0e0d0c")
	var doc policyDoc
	jsonInput(t, one(t, rec, "aws:s3/bucketPolicy:BucketPolicy", "data-policy"), "policy", &doc)
	if got := doc.Statement[0].Resource; !slices.Equal(got, []string{"arn:aws:s3:::data-prod-a1b2c3d4", "arn:aws:s3:::data-prod-a1b2c3d4/*"}) {
		t.Errorf("data bucket policy names %v", got)
	}
}

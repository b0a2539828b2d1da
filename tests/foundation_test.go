package tests

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/params"
	"github.com/trading-ha/trading-ha/infra/storage"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// stackValues are the settings that differ between the stack files.
var stackValues = map[string]struct {
	retention, noncurrentExpiration, logsExpiration int
	costCenter, classification                      string
}{
	"dev":  {retention: 30, noncurrentExpiration: 365, logsExpiration: 365, costCenter: "cc-trading-dev", classification: "internal"},
	"prod": {retention: 365, noncurrentExpiration: 2555, logsExpiration: 2557, costCenter: "cc-trading-prod", classification: "confidential"},
}

func TestProviderCarriesRegionAndTags(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		p := one(t, rec, "pulumi:providers:aws", "aws")
		eq(t, p, "region", "us-east-1")
		want := stackValues[stack]
		eq(t, p, "defaultTags.tags.Environment", stack)
		eq(t, p, "defaultTags.tags.Application", "trading-ha")
		eq(t, p, "defaultTags.tags.Owner", "platform-team")
		eq(t, p, "defaultTags.tags.CostCenter", want.costCenter)
		eq(t, p, "defaultTags.tags.DataClassification", want.classification)
		// Every AWS resource goes through that provider, so every one is tagged.
		for _, r := range rec.Resources {
			switch {
			case strings.HasPrefix(r.Type, "aws:"):
				if !strings.HasPrefix(r.Provider, p.URN+"::") && !viaDRProvider(t, rec, r) {
					t.Errorf("%s %s uses provider %q, not the tagged one", r.Type, r.Name, r.Provider)
				}
			case strings.HasPrefix(r.Type, "awsx:"):
				if !strings.HasPrefix(r.Providers["aws"], p.URN+"::") {
					t.Errorf("%s %s has aws provider %q, not the tagged one", r.Type, r.Name, r.Providers["aws"])
				}
			}
		}
	})
}

func TestEveryResourceBelongsToAComponent(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		for _, r := range rec.Resources {
			if strings.HasPrefix(r.Type, "pulumi:providers:") {
				continue
			}
			if r.Component == "" {
				t.Errorf("%s %s is not parented to a trading:* component", r.Type, r.Name)
			}
			if strings.HasPrefix(r.Type, "trading:") && len(strings.Split(r.Type, ":")) != 3 {
				t.Errorf("component token %s does not have three parts", r.Type)
			}
		}
		for _, c := range []string{"trading:network:Network", "trading:security:Keys", "trading:storage:Buckets", "trading:sessions:Table", "trading:params:Store"} {
			if len(rec.ByType(c)) != 1 {
				t.Errorf("want exactly one %s component", c)
			}
		}
	})
}

func TestNetwork(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		vpc := one(t, rec, "awsx:ec2:Vpc", "vpc")
		eq(t, vpc, "cidrBlock", "10.40.0.0/16")
		eq(t, vpc, "availabilityZoneNames", []string{"us-east-1a", "us-east-1b", "us-east-1c"})
		// prod's closed egress has no NAT gateways (tests/egress_test.go).
		eq(t, vpc, "natGateways.strategy", map[string]string{"dev": "OnePerAz", "prod": "None"}[stack])
		eq(t, vpc, "enableDnsHostnames", true)
		eq(t, vpc, "tags.Name", "vpc-"+stack)
		wantSubnets := map[string]float64{"Public": 22, "Private": 20, "Isolated": 22}
		specs := get(t, vpc, "subnetSpecs").([]any)
		if len(specs) != 3 {
			t.Fatalf("want 3 subnet tiers, got %d", len(specs))
		}
		for _, s := range specs {
			m := s.(map[string]any)
			if want, ok := wantSubnets[m["type"].(string)]; !ok || m["cidrMask"] != want {
				t.Errorf("subnet spec %v; want masks %v", m, wantSubnets)
			}
		}

		key := one(t, rec, "aws:kms/key:Key", "key-telemetry")
		group := one(t, rec, "aws:cloudwatch/logGroup:LogGroup", "flow-logs")
		eq(t, group, "name", "/trading/vpc-flow-logs-"+stack)
		eq(t, group, "retentionInDays", stackValues[stack].retention)
		eq(t, group, "kmsKeyId", key.Outputs["arn"])
		fl := one(t, rec, "aws:ec2/flowLog:FlowLog", "flow-logs")
		eq(t, fl, "trafficType", "ALL")
		// One-minute records for forensics (EC2 CreateFlowLogs
		// MaxAggregationInterval: 60 or 600 seconds).
		eq(t, fl, "maxAggregationInterval", 60)
		eq(t, fl, "logDestinationType", "cloud-watch-logs")
		eq(t, fl, "logDestination", group.Outputs["arn"])
		eq(t, fl, "vpcId", "vpc-0trading")

		var pol policyDoc
		jsonInput(t, one(t, rec, "aws:iam/rolePolicy:RolePolicy", "flow-logs"), "policy", &pol)
		arn := group.Outputs["arn"].(string)
		if len(pol.Statement) != 1 || strings.Join(pol.Statement[0].Resource, ",") != arn+","+arn+":*" ||
			strings.Join(pol.Statement[0].Action, ",") != "logs:CreateLogStream,logs:PutLogEvents,logs:DescribeLogStreams" {
			t.Errorf("flow log role policy %+v", pol)
		}
		var trust policyDoc
		jsonInput(t, one(t, rec, "aws:iam/role:Role", "flow-logs"), "assumeRolePolicy", &trust)
		if trust.Statement[0].Principal["Service"] != "vpc-flow-logs.amazonaws.com" || trust.Statement[0].Condition["StringEquals"]["aws:SourceAccount"] != offline.AccountID {
			t.Errorf("flow log trust %+v", trust)
		}

		for _, svc := range []string{"s3", "dynamodb"} {
			ep := one(t, rec, "aws:ec2/vpcEndpoint:VpcEndpoint", "endpoint-"+svc)
			eq(t, ep, "serviceName", "com.amazonaws.us-east-1."+svc)
			eq(t, ep, "vpcEndpointType", "Gateway")
			// The awsx VPC's own route tables, one per subnet (3 tiers x 3
			// AZs; pulumi-awsx awsx/ec2/vpc.ts creates a RouteTable per
			// subnet), not a lookup of the VPC's tables.
			ids := get(t, ep, "routeTableIds").([]any)
			seen := map[any]bool{}
			for _, id := range ids {
				if s, _ := id.(string); !strings.HasPrefix(s, "rtb-") || seen[id] {
					t.Errorf("%s endpoint route table %v: want distinct rtb- IDs", svc, id)
				}
				seen[id] = true
			}
			if len(ids) != 9 {
				t.Errorf("%s endpoint on %d route tables, want all 9 of the awsx VPC", svc, len(ids))
			}
		}
		def := one(t, rec, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default-sg")
		for _, k := range []string{"ingress", "egress"} {
			if v, ok := def.Inputs[k]; ok && len(v.([]any)) > 0 {
				t.Errorf("default security group keeps %s rules: %v", k, v)
			}
		}
		for _, sg := range []string{"sg-alb", "sg-tasks", "sg-db"} {
			g := one(t, rec, "aws:ec2/securityGroup:SecurityGroup", sg)
			// EC2 refuses group names starting with sg- (naming.SecurityGroupALB).
			eq(t, g, "namePrefix", "secgroup-"+strings.TrimPrefix(sg, "sg-")+"-"+stack+"-")
			eq(t, g, "revokeRulesOnDelete", true)
			if _, ok := g.Inputs["ingress"]; ok {
				t.Errorf("%s has inline ingress; rules belong in separate resources", sg)
			}
		}
	})
}

func TestNATStrategyFollowsConfig(t *testing.T) {
	rec, err := recordWith(t, "dev", map[string]string{"trading-ha:natGateways": "Single"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, one(t, rec, "awsx:ec2:Vpc", "vpc"), "natGateways.strategy", "Single")
}

func TestKeys(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		for _, name := range []string{"data", "telemetry"} {
			k := one(t, rec, "aws:kms/key:Key", "key-"+name)
			eq(t, k, "enableKeyRotation", true)
			eq(t, k, "deletionWindowInDays", map[bool]int{true: 30, false: 7}[protected(stack)])
			eq(t, one(t, rec, "aws:kms/alias:Alias", "alias-"+name), "name", "alias/kms-"+name+"-"+stack)
		}
		var tel policyDoc
		jsonInput(t, one(t, rec, "aws:kms/key:Key", "key-telemetry"), "policy", &tel)
		found := map[string]bool{}
		for _, s := range tel.Statement {
			switch p := s.Principal["Service"].(type) {
			case string:
				found[p] = true
			case []any:
				for _, x := range p {
					found[x.(string)] = true
				}
			}
		}
		for _, svc := range []string{"logs.us-east-1.amazonaws.com", "cloudwatch.amazonaws.com", "events.amazonaws.com", "backup.amazonaws.com"} {
			if !found[svc] {
				t.Errorf("telemetry key policy does not let %s use the key", svc)
			}
		}
		var data policyDoc
		jsonInput(t, one(t, rec, "aws:kms/key:Key", "key-data"), "policy", &data)
		via := data.Statement[1].Condition["StringEquals"]["kms:ViaService"].([]any)
		want := []any{}
		for _, svc := range []string{"rds", "dynamodb", "s3", "ssm", "secretsmanager", "backup", "ecr"} {
			want = append(want, svc+".us-east-1.amazonaws.com")
		}
		if !same(via, want) {
			t.Errorf("data key usable via %v; want %v", via, want)
		}
	})
}

func TestBuckets(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		want := stackValues[stack]
		dataKey := one(t, rec, "aws:kms/key:Key", "key-data").Outputs["arn"]
		for _, b := range []string{"data", "logs"} {
			bucket := one(t, rec, "aws:s3/bucketV2:BucketV2", b)
			eq(t, bucket, "bucket", b+"-"+stack+"-"+acct)
			eq(t, bucket, "forceDestroy", !(b == "data" && protected(stack)))
			if err := naming.Check(naming.DataBucket, bucket.Inputs["bucket"].(string)); err != nil {
				t.Error(err)
			}
			pab := one(t, rec, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", b+"-public-access")
			for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
				eq(t, pab, k, true)
			}
			eq(t, one(t, rec, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", b+"-ownership"), "rule.objectOwnership", "BucketOwnerEnforced")
			eq(t, one(t, rec, "aws:s3/bucketVersioningV2:BucketVersioningV2", b+"-versioning"), "versioningConfiguration.status", "Enabled")
			lc := one(t, rec, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", b+"-lifecycle")
			eq(t, lc, "rules.0.status", "Enabled")
			eq(t, lc, "rules.0.noncurrentVersionTransitions.0.noncurrentDays", 30)
			eq(t, lc, "rules.0.noncurrentVersionTransitions.0.storageClass", "STANDARD_IA")
			eq(t, lc, "rules.0.noncurrentVersionExpiration.noncurrentDays", want.noncurrentExpiration)
			eq(t, lc, "rules.0.abortIncompleteMultipartUpload.daysAfterInitiation", 7)
			var pol policyDoc
			jsonInput(t, one(t, rec, "aws:s3/bucketPolicy:BucketPolicy", b+"-policy"), "policy", &pol)
			deny := pol.Statement[0]
			if deny.Effect != "Deny" || deny.Condition["Bool"]["aws:SecureTransport"] != "false" || len(deny.Resource) != 2 {
				t.Errorf("%s bucket policy does not deny non-TLS requests: %+v", b, deny)
			}
		}
		enc := one(t, rec, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", "data-encryption")
		eq(t, enc, "rules.0.applyServerSideEncryptionByDefault.sseAlgorithm", "aws:kms")
		eq(t, enc, "rules.0.applyServerSideEncryptionByDefault.kmsMasterKeyId", dataKey)
		eq(t, enc, "rules.0.bucketKeyEnabled", true)
		logsEnc := one(t, rec, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", "logs-encryption")
		eq(t, logsEnc, "rules.0.applyServerSideEncryptionByDefault.sseAlgorithm", "AES256")
		logsLC := one(t, rec, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", "logs-lifecycle")
		eq(t, logsLC, "rules.0.expiration.days", want.logsExpiration)
		// Canary artifacts: a rule of their own on the canary/ folder (not
		// canary-code/), expiring after max(canaryFailureRetentionDays 31,
		// 31) = 31 days in both stacks, expired versions a day later.
		if n := len(logsLC.Inputs["rules"].([]any)); n != 2 {
			t.Fatalf("logs bucket has %d lifecycle rules, want the bucket-wide rule and the canary artifacts rule", n)
		}
		eq(t, logsLC, "rules.1.id", "canary-artifacts")
		eq(t, logsLC, "rules.1.status", "Enabled")
		eq(t, logsLC, "rules.1.filter.prefix", "canary/")
		eq(t, logsLC, "rules.1.expiration.days", 31)
		eq(t, logsLC, "rules.1.noncurrentVersionExpiration.noncurrentDays", 1)
		if n := len(one(t, rec, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", "data-lifecycle").Inputs["rules"].([]any)); n != 1 {
			t.Errorf("data bucket has %d lifecycle rules, want 1", n)
		}
		if _, ok := one(t, rec, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", "data-lifecycle").Inputs["rules"].([]any)[0].(map[string]any)["expiration"]; ok {
			t.Error("current versions in the data bucket must never expire")
		}

		var logs policyDoc
		jsonInput(t, one(t, rec, "aws:s3/bucketPolicy:BucketPolicy", "logs-policy"), "policy", &logs)
		alb := logs.Statement[1]
		if alb.Principal["AWS"] != "arn:aws:iam::127311923021:root" || alb.Action[0] != "s3:PutObject" ||
			alb.Resource[0] != "arn:aws:s3:::logs-"+stack+"-"+acct+"/alb/AWSLogs/"+offline.AccountID+"/*" {
			t.Errorf("ALB log delivery statement %+v", alb)
		}
		eq(t, one(t, rec, "aws:s3/bucketLoggingV2:BucketLoggingV2", "data-access-logs"), "targetPrefix", "s3-access/")
	})
}

func TestSessionsTable(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		tbl := one(t, rec, "aws:dynamodb/table:Table", "sessions-sessions")
		eq(t, tbl, "name", "sessions-"+stack)
		eq(t, tbl, "billingMode", "PAY_PER_REQUEST")
		eq(t, tbl, "hashKey", "session_id")
		eq(t, tbl, "pointInTimeRecovery.enabled", true)
		eq(t, tbl, "serverSideEncryption.enabled", true)
		eq(t, tbl, "serverSideEncryption.kmsKeyArn", one(t, rec, "aws:kms/key:Key", "key-data").Outputs["arn"])
		eq(t, tbl, "ttl.attributeName", "expires_at_epoch")
		eq(t, tbl, "ttl.enabled", true)
		eq(t, tbl, "deletionProtectionEnabled", protected(stack))
	})
	rec, err := recordWith(t, "prod", map[string]string{"trading-ha:deletionProtection": "true"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, one(t, rec, "aws:dynamodb/table:Table", "sessions-sessions"), "deletionProtectionEnabled", true)
}

func TestParameters(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		want := map[string]string{
			"env/region":          "us-east-1",
			"env/suffix":          stack,
			"sessions/table":      "sessions-" + stack,
			"sessions/ttl":        "8h0m0s",
			"storage/data-bucket": "data-" + stack + "-" + acct,
		}
		for path, value := range want {
			p := one(t, rec, "aws:ssm/parameter:Parameter", "params-param-"+strings.ReplaceAll(path, "/", "-"))
			eq(t, p, "name", "/trading/"+stack+"/"+path)
			if got := paramValue(t, p); got != value {
				t.Errorf("%s = %q, want %q", path, got, value)
			}
		}
		for _, p := range rec.ByType("aws:ssm/parameter:Parameter") {
			if !strings.HasPrefix(p.Inputs["name"].(string), "/trading/"+stack+"/") {
				t.Errorf("parameter %s outside /trading/%s/", p.Inputs["name"], stack)
			}
		}
	})
	rec, err := recordWith(t, "dev", map[string]string{"trading-ha:featureFlags": `["synthetic-orders"]`})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, one(t, rec, "aws:ssm/parameter:Parameter", "params-param-flags-synthetic-orders"), "insecureValue", "on")
}

// TestSecureParameterIsSecretAndKMS exercises the params component on its
// own with a sensitive entry: SecureString, our key, and a value that stays
// a secret in state.
func TestSecureParameterIsSecretAndKMS(t *testing.T) {
	rec, err := offline.RunProgram("dev", nil, func(ctx *pulumi.Context) error {
		_, err := params.New(ctx, "params", params.Args{
			Names:      naming.New("dev"),
			DataKeyArn: pulumi.String("arn:aws:kms:us-east-1:123456789012:key/data"),
			Entries: []params.Entry{
				{Path: "api/token", Value: pulumi.String("s3cr3t"), Secure: true, Description: "token"},
				{Path: "api/url", Value: pulumi.String("https://x"), Description: "url"},
			},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	tok := one(t, rec, "aws:ssm/parameter:Parameter", "params-param-api-token")
	eq(t, tok, "type", "SecureString")
	eq(t, tok, "keyId", "arn:aws:kms:us-east-1:123456789012:key/data")
	if !tok.Raw["value"].IsSecret() {
		t.Error("SecureString value is not a secret in state")
	}
	url := one(t, rec, "aws:ssm/parameter:Parameter", "params-param-api-url")
	eq(t, url, "type", "String")
	if _, ok := url.Raw["value"]; ok || url.Raw["insecureValue"].IsSecret() {
		t.Error("plain parameter marked secret")
	}
}

// TestCanaryArtifactsFollowFailureRetention: a failure retention longer than
// the 31-day floor moves the canary artifacts' expiration with it.
func TestCanaryArtifactsFollowFailureRetention(t *testing.T) {
	rec, err := recordWith(t, "dev", map[string]string{"trading-ha:canaryFailureRetentionDays": "90"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, one(t, rec, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", "logs-lifecycle"), "rules.1.expiration.days", 90)
	for in, want := range map[int]int{1: 31, 31: 31, 32: 32, 455: 455} {
		if got := storage.CanaryArtifactsExpirationDays(in); got != want {
			t.Errorf("CanaryArtifactsExpirationDays(%d) = %d, want %d", in, got, want)
		}
	}
}

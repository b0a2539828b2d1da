package iamcheck

import (
	"strings"
	"testing"
)

const (
	bucketARN = "arn:aws:s3:::data-dev"
	keyARN    = "arn:aws:kms:us-east-1:" + acct + ":key/1234abcd-12ab-34cd-56ef-1234567890ab"
	topicARN  = "arn:aws:sns:us-east-1:" + acct + ":alarms-dev"
	queueARN  = "arn:aws:sqs:us-east-1:" + acct + ":dlq-dev"
	busARN    = "arn:aws:events:us-east-1:" + acct + ":event-bus/bus-dev"
	vaultARN  = "arn:aws:backup:us-east-1:" + acct + ":backup-vault:vault-dev"
)

func busTarget(t *testing.T) Target {
	t.Helper()
	b, err := EventBusPolicy(busARN)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func endpointTarget(t *testing.T, name string) Target {
	t.Helper()
	e, err := VPCEndpointPolicy(name)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Resource policies that name their target or what it contains: no
// findings.
func TestValidOnTarget(t *testing.T) {
	d := load(t)
	logs := LogResourcePolicy("aws", "us-east-1", acct)
	cases := []struct {
		name   string
		target Target
		doc    string
	}{
		{"bucket: TLS-only deny of every action on bucket and objects", BucketPolicy(bucketARN), doc(`{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":{"AWS":"*"},"Action":"s3:*","Resource":["` + bucketARN + `","` + bucketARN + `/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}`)},
		{"bucket: service writes under a prefix, reads the bucket ACL", BucketPolicy(bucketARN), doc(
			`{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:GetBucketAcl","Resource":"`+bucketARN+`","Condition":{"StringEquals":{"aws:SourceAccount":"`+acct+`"}}}`,
			`{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"`+bucketARN+`/AWSLogs/`+acct+`/*","Condition":{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control"}}}`)},
		{"bucket: delegation to access points keeps their keys", BucketPolicy(bucketARN), doc(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"` + bucketARN + `/*","Condition":{"StringEquals":{"s3:DataAccessPointAccount":"` + acct + `"}}}`)},
		{"key: * is this key", KeyPolicy(keyARN), doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":["kms:Create*","kms:Describe*","kms:List*","kms:Put*"],"Resource":"*"}`)},
		{"key: its own ARN", KeyPolicy(keyARN), doc(`{"Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},"Action":["kms:Decrypt","kms:GenerateDataKey*"],"Resource":"` + keyARN + `"}`)},
		{"key: unknown ARN, *", KeyPolicy(""), doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"kms:*","Resource":"*"}`)},
		{"topic", TopicPolicy(topicARN), doc(`{"Effect":"Allow","Principal":{"Service":"cloudwatch.amazonaws.com"},"Action":"sns:Publish","Resource":"` + topicARN + `","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:cloudwatch:us-east-1:` + acct + `:alarm:*"}}}`)},
		{"queue", QueuePolicy(queueARN), doc(`{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"` + queueARN + `","Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:events:us-east-1:` + acct + `:rule/bus-dev/r"}}}`)},
		{"bus: put events and manage its rules", busTarget(t), doc(
			`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+acct+`:role/task"},"Action":"events:PutEvents","Resource":"`+busARN+`"}`,
			`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+acct+`:root"},"Action":["events:PutRule","events:DeleteRule"],"Resource":"arn:aws:events:us-east-1:`+acct+`:rule/bus-dev/*"}`)},
		{"vault: * covers the vault and its recovery points", VaultPolicy(vaultARN), doc(`{"Effect":"Deny","Principal":{"AWS":"*"},"Action":["backup:DeleteRecoveryPoint","backup:UpdateRecoveryPointLifecycle","backup:DeleteBackupVault"],"Resource":"*","Condition":{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::` + acct + `:root"}}}`)},
		{"vault: vault actions on the vault, point actions on points", VaultPolicy(vaultARN), doc(
			`{"Effect":"Deny","Principal":{"AWS":"*"},"Action":["backup:DeleteBackupVault","backup:PutBackupVaultAccessPolicy"],"Resource":"`+vaultARN+`"}`,
			`{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"backup:DeleteRecoveryPoint","Resource":["arn:aws:backup:us-east-1:`+acct+`:recovery-point:*","arn:aws:rds:us-east-1:`+acct+`:cluster-snapshot:awsbackup:*"]}`)},
		{"logs: services write to the account's log groups", logs, doc(`{"Effect":"Allow","Principal":{"Service":["events.amazonaws.com","delivery.logs.amazonaws.com"]},"Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"arn:aws:logs:us-east-1:` + acct + `:log-group:/aws/events/*:*"}`)},
		{"interface endpoint: anything for our principals", endpointTarget(t, "com.amazonaws.us-east-1.ecr.api"), doc(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":"` + acct + `"}}}`)},
		{"gateway endpoint: objects of any bucket", endpointTarget(t, "com.amazonaws.us-east-1.s3"), doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::prod-*/*"}`)},
		{"monitoring endpoint is cloudwatch", endpointTarget(t, "com.amazonaws.us-east-1.monitoring"), doc(`{"Effect":"Allow","Principal":"*","Action":"cloudwatch:PutMetricData","Resource":"*"}`)},
		{"trust", RoleTrust("task-dev"), doc(`{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"` + acct + `"}}}`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs, st, err := d.ValidateOn(c.doc, c.target)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fs {
				t.Errorf("unexpected: %s", f)
			}
			if st.Statements == 0 {
				t.Error("no statements counted")
			}
		})
	}
}

// Statements that can never match on their target: each is an error.
func TestFailingOnTarget(t *testing.T) {
	d := load(t)
	logs := LogResourcePolicy("aws", "us-east-1", acct)
	cases := []struct {
		name   string
		target Target
		doc    string
		check  string
		want   string
	}{
		// The container named for what it contains: GetObject is
		// authorized on objects, the bucket ARN names only the bucket.
		{"bucket: deny of an object action on the bucket ARN", BucketPolicy(bucketARN),
			doc(`{"Effect":"Deny","Principal":"*","Action":["s3:GetObject","s3:PutObject"],"Resource":"` + bucketARN + `","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`),
			CheckTarget, "Deny of s3:GetObject can never match: AWS authorizes it on accesspointobject, object; Resource " + bucketARN + " names only bucket"},
		{"bucket: deny protects nothing", BucketPolicy(bucketARN),
			doc(`{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"` + bucketARN + `"}`),
			CheckTarget, "protects nothing"},
		{"bucket: allow of a bucket action on the objects", BucketPolicy(bucketARN),
			doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"s3:ListBucket","Resource":"` + bucketARN + `/*"}`),
			CheckTarget, "Allow of s3:ListBucket can never match: AWS authorizes it on accesspoint, bucket; Resource " + bucketARN + "/* names only object of bucket " + bucketARN + ", so the statement grants nothing"},
		{"bucket: another bucket", BucketPolicy(bucketARN),
			doc(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::logs-dev","arn:aws:s3:::logs-dev/*"]}`),
			CheckTarget, "resource arn:aws:s3:::logs-dev is neither bucket " + bucketARN + " nor anything it contains"},
		{"bucket: a name prefix is not the bucket", BucketPolicy(bucketARN),
			doc(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"` + bucketARN + `-old/*"}`),
			CheckTarget, "is neither"},
		{"bucket: an action of another service", BucketPolicy(bucketARN),
			doc(`{"Effect":"Allow","Principal":{"Service":"logging.s3.amazonaws.com"},"Action":["s3:PutObject","sqs:SendMessage"],"Resource":"` + bucketARN + `/*"}`),
			CheckTarget, "action sqs:SendMessage: a policy on bucket " + bucketARN + " governs only s3 requests"},
		{"key: another key", KeyPolicy(keyARN),
			doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"kms:Decrypt","Resource":"arn:aws:kms:us-east-1:` + acct + `:key/other"}`),
			CheckTarget, "is neither key " + keyARN},
		{"key: an action on no key", KeyPolicy(keyARN),
			doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":["kms:CreateKey","kms:Decrypt"],"Resource":"*"}`),
			CheckTarget, "Allow of kms:CreateKey can never match: AWS authorizes it on no resource"},
		{"key: a statement without Resource", KeyPolicy(keyARN),
			doc(`{"Effect":"Allow","Principal":{"Service":"logs.us-east-1.amazonaws.com"},"Action":"kms:Decrypt"}`),
			CheckTarget, "no Resource on key " + keyARN + ", so the statement grants nothing"},
		{"key: an alias ARN", KeyPolicy(keyARN),
			doc(`{"Effect":"Deny","Principal":"*","Action":"kms:UpdateAlias","Resource":"arn:aws:kms:us-east-1:` + acct + `:alias/data-dev"}`),
			CheckTarget, "resource arn:aws:kms:us-east-1:" + acct + ":alias/data-dev is neither key"},
		{"topic: another topic", TopicPolicy(topicARN),
			doc(`{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sns:Publish","Resource":"arn:aws:sns:us-east-1:` + acct + `:other"}`),
			CheckTarget, "is neither topic " + topicARN},
		{"queue: a topic action", QueuePolicy(queueARN),
			doc(`{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sns:Publish","Resource":"` + queueARN + `"}`),
			CheckTarget, "governs only sqs requests"},
		{"bus: another bus", busTarget(t),
			doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"events:PutEvents","Resource":"arn:aws:events:us-east-1:` + acct + `:event-bus/default"}`),
			CheckTarget, "is neither event bus " + busARN},
		{"bus: rules of another bus", busTarget(t),
			doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"events:PutRule","Resource":"arn:aws:events:us-east-1:` + acct + `:rule/other/*"}`),
			CheckTarget, "is neither"},
		// The vault named for its recovery points: the reference authorizes
		// DeleteRecoveryPoint on recoveryPoint, so a Deny on the vault ARN
		// alone leaves every recovery point deletable.
		{"vault: deny of recovery point actions on the vault ARN", VaultPolicy(vaultARN),
			doc(`{"Effect":"Deny","Principal":{"AWS":"*"},"Action":["backup:DeleteRecoveryPoint","backup:UpdateRecoveryPointLifecycle","backup:DeleteBackupVault"],"Resource":"` + vaultARN + `","Condition":{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::` + acct + `:root"}}}`),
			CheckTarget, "Deny of backup:DeleteRecoveryPoint can never match: AWS authorizes it on recoveryPoint; Resource " + vaultARN + " names only backupVault of backup vault " + vaultARN + ", so the statement protects nothing"},
		{"vault: lifecycle too", VaultPolicy(vaultARN),
			doc(`{"Effect":"Deny","Principal":{"AWS":"*"},"Action":["backup:UpdateRecoveryPointLifecycle"],"Resource":"` + vaultARN + `"}`),
			CheckTarget, "Deny of backup:UpdateRecoveryPointLifecycle can never match"},
		{"vault: a vault action on recovery points", VaultPolicy(vaultARN),
			doc(`{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"backup:DeleteBackupVault","Resource":"arn:aws:backup:us-east-1:` + acct + `:recovery-point:*"}`),
			CheckTarget, "Deny of backup:DeleteBackupVault can never match"},
		{"vault: another vault", VaultPolicy(vaultARN),
			doc(`{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"backup:DeleteBackupVault","Resource":"arn:aws:backup:us-east-1:` + acct + `:backup-vault:other"}`),
			CheckTarget, "resource arn:aws:backup:us-east-1:" + acct + ":backup-vault:other is neither backup vault " + vaultARN + " nor anything it contains"},
		{"logs: another account's log groups", logs,
			doc(`{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"arn:aws:logs:us-east-1:999999999999:log-group:/aws/events/*:*"}`),
			CheckTarget, "is neither the log groups of account " + acct},
		{"logs: streams named by the group alone", logs,
			doc(`{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"logs:PutLogEvents","Resource":"arn:aws:logs:us-east-1:` + acct + `:log-group:/aws/events/bus"}`),
			CheckTarget, "Allow of logs:PutLogEvents can never match: AWS authorizes it on log-stream"},
		{"endpoint: an action of another service", endpointTarget(t, "com.amazonaws.us-east-1.s3"),
			doc(`{"Effect":"Allow","Principal":"*","Action":["s3:GetObject","dynamodb:GetItem"],"Resource":"*"}`),
			CheckTarget, "action dynamodb:GetItem: a policy on VPC endpoint for com.amazonaws.us-east-1.s3 governs only s3 requests"},
		{"endpoint: a resource no action fits", endpointTarget(t, "com.amazonaws.us-east-1.s3"),
			doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket"}`),
			CheckResource, "no resource"},
		{"trust: a Resource", RoleTrust("task-dev"),
			doc(`{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole","Resource":"*"}`),
			CheckTrust, "cannot name a Resource"},
		{"trust: not an sts action", RoleTrust("task-dev"),
			doc(`{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"s3:GetObject"}`),
			CheckTrust, "s3:GetObject"},
		{"resource policy without a principal", TopicPolicy(topicARN),
			doc(`{"Effect":"Allow","Action":"sns:Publish","Resource":"` + topicARN + `"}`),
			CheckPrincipal, "needs a Principal"},
		{"malformed principal", QueuePolicy(queueARN),
			doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:role"},"Action":"sqs:SendMessage","Resource":"` + queueARN + `"}`),
			CheckPrincipal, "is not *, an account ID"},
		{"condition key of no action in a key policy", KeyPolicy(keyARN),
			doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"kms:DescribeKey","Resource":"*","Condition":{"Bool":{"kms:GrantIsForAWSResource":"true"}}}`),
			CheckCondKey, "applies to none"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs, _, err := d.ValidateOn(c.doc, c.target)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fs {
				if f.Check == c.check && f.Severity == Error && strings.Contains(f.Message, c.want) {
					return
				}
			}
			t.Errorf("want error [%s] containing %q, got %v", c.check, c.want, fs)
		})
	}
}

// The same statements pass Validate, which knows no target: only
// ValidateOn sees that they can never match.
func TestTargetOnlyFindings(t *testing.T) {
	d := load(t)
	for _, c := range []struct {
		name   string
		target Target
		doc    string
	}{
		{"vault deny on the vault ARN", VaultPolicy(vaultARN), doc(`{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"backup:DeleteBackupVault","Resource":"arn:aws:backup:us-east-1:` + acct + `:backup-vault:other"}`)},
		{"bucket deny on another bucket", BucketPolicy(bucketARN), doc(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::logs-dev/*"}`)},
		{"key policy with CreateKey", KeyPolicy(keyARN), doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"kms:CreateKey","Resource":"*"}`)},
	} {
		t.Run(c.name, func(t *testing.T) {
			plain, _, err := d.Validate(c.doc, Resource)
			if err != nil {
				t.Fatal(err)
			}
			if len(plain) != 0 {
				t.Errorf("Validate: %v", plain)
			}
			on, _, err := d.ValidateOn(c.doc, c.target)
			if err != nil {
				t.Fatal(err)
			}
			if len(on) == 0 || on[0].Check != CheckTarget {
				t.Errorf("ValidateOn: %v, want a %s finding", on, CheckTarget)
			}
		})
	}
}

func TestTargetConstructors(t *testing.T) {
	if _, err := EventBusPolicy("arn:aws:events:us-east-1:" + acct + ":rule/x"); err == nil {
		t.Error("a rule ARN is not a bus ARN")
	}
	for _, bad := range []string{"s3", "com.amazonaws.s3", "com.amazonaws.useast1.s3", "org.example.us-east-1.s3"} {
		if _, err := VPCEndpointPolicy(bad); err == nil {
			t.Errorf("VPCEndpointPolicy(%q): want an error", bad)
		}
	}
	for name, want := range map[string]string{
		"com.amazonaws.us-east-1.ecr.dkr":    "ecr",
		"com.amazonaws.us-east-1.monitoring": "cloudwatch",
		"com.amazonaws.eu-west-2.logs":       "logs",
	} {
		e, err := VPCEndpointPolicy(name)
		if err != nil || len(e.Services) != 1 || e.Services[0] != want {
			t.Errorf("VPCEndpointPolicy(%q) = %v, %v; want service %s", name, e.Services, err, want)
		}
	}
	if _, _, err := load(t).ValidateOn(doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}`), Target{Name: "x", Kind: Identity}); err == nil {
		t.Error("an identity target: want an error")
	}
	bad := Target{Name: "x", Kind: Resource, Scopes: []Scope{{Service: "s3", Type: "nosuch"}}}
	if _, _, err := load(t).ValidateOn(doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}`), bad); err == nil {
		t.Error("a scope of an unknown type: want an error")
	}
}

func TestReach(t *testing.T) {
	d := load(t)
	v := VaultPolicy(vaultARN)
	if err := d.compile(&v); err != nil {
		t.Fatal(err)
	}
	for r, want := range map[string]string{
		"*":      "backupVault,recoveryPoint",
		vaultARN: "backupVault", // concrete: the first scope it fits, though the recovery point pattern fits it too
		"arn:aws:backup:us-east-1:" + acct + ":backup-vault:other":            "", // another vault, not a recovery point
		"arn:aws:backup:us-east-1:" + acct + ":recovery-point:abc":            "recoveryPoint",
		"arn:aws:rds:us-east-1:" + acct + ":cluster-snapshot:awsbackup:job-1": "recoveryPoint",
		"arn:aws:backup:us-east-1:" + acct + ":backup-vault:*":                "backupVault,recoveryPoint",
		"arn:aws:s3:::b": "",
	} {
		var got []string
		for _, i := range v.reach(r) {
			got = append(got, v.Scopes[i].Type)
		}
		if strings.Join(got, ",") != want {
			t.Errorf("reach(%s) = %v, want %s", r, got, want)
		}
	}
}

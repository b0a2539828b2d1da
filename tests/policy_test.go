package tests

import (
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/infra/audit"

	"github.com/trading-ha/trading-ha/proof/offline"
	"github.com/trading-ha/trading-ha/proof/policy"
)

func res(typ, name string, inputs map[string]any) *offline.Resource {
	return &offline.Resource{Type: typ, Name: name, URN: "urn:pulumi:t::trading-ha::" + typ + "::" + name,
		ID: name + "-id", Inputs: inputs, Outputs: map[string]any{"arn": "arn:" + name, "name": name, "id": name + "-id"}}
}

// violations feeds each rule a recording with one violating resource and
// expects that rule to fire on it.
var violations = map[string][]*offline.Resource{
	"S3.17": {res("aws:s3/bucketV2:BucketV2", "b", map[string]any{}),
		res("aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", "e", map[string]any{
			"bucket": "b-id", "rules": []any{map[string]any{"applyServerSideEncryptionByDefault": map[string]any{"sseAlgorithm": "AES256"}}}})},
	"DynamoDB.KMS":    {res("aws:dynamodb/table:Table", "t", map[string]any{"serverSideEncryption": map[string]any{"enabled": true}})},
	"RDS.27":          {res("aws:rds/cluster:Cluster", "c", map[string]any{"storageEncrypted": false})},
	"KMS.4":           {res("aws:kms/key:Key", "k", map[string]any{"enableKeyRotation": true, "deletionWindowInDays": float64(30)})},
	"SNS.1":           {res("aws:sns/topic:Topic", "t", map[string]any{})},
	"SQS.1":           {res("aws:sqs/queue:Queue", "q", map[string]any{"sqsManagedSseEnabled": true})},
	"TH-ENC-1":        {res("aws:cloudwatch/logGroup:LogGroup", "l", map[string]any{"kmsKeyId": "k"})},
	"S3.5":            {res("aws:s3/bucketV2:BucketV2", "b", map[string]any{}), res("aws:s3/bucketPolicy:BucketPolicy", "p", map[string]any{"bucket": "b-id", "policy": `{"Statement":[{"Effect":"Allow"}]}`})},
	"ELB.1":           {res("aws:lb/listener:Listener", "http", map[string]any{"protocol": "HTTP", "defaultActions": []any{map[string]any{"type": "forward"}}})},
	"TH-TLS-1":        {res("aws:lb/listener:Listener", "https", map[string]any{"protocol": "HTTPS", "sslPolicy": "ELBSecurityPolicy-2016-08"})},
	"TH-TLS-2":        {res("aws:rds/clusterParameterGroup:ClusterParameterGroup", "pg", map[string]any{"parameters": []any{map[string]any{"name": "rds.force_ssl", "value": "0"}}})},
	"EC2.6":           {res("awsx:ec2:Vpc", "vpc", map[string]any{})},
	"S3.9":            {res("aws:s3/bucketV2:BucketV2", "b", map[string]any{})},
	"ELB.5":           {res("aws:lb/loadBalancer:LoadBalancer", "alb", map[string]any{"accessLogs": map[string]any{"enabled": false}})},
	"RDS.9":           {res("aws:rds/cluster:Cluster", "c", map[string]any{"enabledCloudwatchLogsExports": []any{}})},
	"ECS.9":           {res("aws:ecs/taskDefinition:TaskDefinition", "td", map[string]any{"containerDefinitions": `[{"name":"app"}]`})},
	"ECS.12":          {res("aws:ecs/cluster:Cluster", "c", map[string]any{"settings": []any{map[string]any{"name": "containerInsights", "value": "disabled"}}})},
	"StepFunctions.1": {res("aws:sfn/stateMachine:StateMachine", "sm", map[string]any{"loggingConfiguration": map[string]any{"level": "ERROR"}})},
	"S3.8":            {res("aws:s3/bucketV2:BucketV2", "b", map[string]any{}), res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "p", map[string]any{"bucket": "b-id", "blockPublicAcls": true})},
	"EC2.2":           {res("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "d", map[string]any{"ingress": []any{map[string]any{"protocol": "-1"}}})},
	"RDS.2":           {res("aws:rds/clusterInstance:ClusterInstance", "i", map[string]any{"publiclyAccessible": true})},
	"ECS.2":           {res("aws:ecs/service:Service", "s", map[string]any{"networkConfiguration": map[string]any{"assignPublicIp": true}})},
	"ECS.4":           {res("aws:ecs/taskDefinition:TaskDefinition", "td", map[string]any{"containerDefinitions": `[{"name":"app","privileged":true}]`})},
	"ECS.5":           {res("aws:ecs/taskDefinition:TaskDefinition", "td", map[string]any{"containerDefinitions": `[{"name":"app","readonlyRootFilesystem":false}]`})},
	"ELB.4":           {res("aws:lb/loadBalancer:LoadBalancer", "alb", map[string]any{"dropInvalidHeaderFields": false})},
	"ELB.12":          {res("aws:lb/loadBalancer:LoadBalancer", "alb", map[string]any{"desyncMitigationMode": "monitor"})},
	"ELB.13":          {res("aws:lb/loadBalancer:LoadBalancer", "alb", map[string]any{"subnets": []any{"a", "b"}})},
	"ECR.1":           {res("aws:ecr/repository:Repository", "r", map[string]any{"imageScanningConfiguration": map[string]any{"scanOnPush": false}})},
	"ECR.2":           {res("aws:ecr/repository:Repository", "r", map[string]any{"imageTagMutability": "MUTABLE"})},
	"IAM.21":          {res("aws:iam/policy:Policy", "p", map[string]any{"policy": `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b"}]}`})},
	"TH-IAM-1":        {res("aws:iam/policy:Policy", "p", map[string]any{"policy": `{"Statement":[{"Effect":"Allow","Action":["dynamodb:GetItem"],"Resource":["*"]}]}`})},
	"S3.14":           {res("aws:s3/bucketV2:BucketV2", "b", map[string]any{}), res("aws:s3/bucketVersioningV2:BucketVersioningV2", "v", map[string]any{"bucket": "b-id", "versioningConfiguration": map[string]any{"status": "Suspended"}})},
	"S3.13":           {res("aws:s3/bucketV2:BucketV2", "b", map[string]any{})},
	"DynamoDB.2":      {res("aws:dynamodb/table:Table", "t", map[string]any{"pointInTimeRecovery": map[string]any{"enabled": false}})},
	"RDS.16":          {res("aws:rds/cluster:Cluster", "c", map[string]any{})},
	"RDS.12":          {res("aws:rds/cluster:Cluster", "c", map[string]any{"iamDatabaseAuthenticationEnabled": false})},
	"RDS.7":           {res("aws:rds/cluster:Cluster", "c", map[string]any{"deletionProtection": false})},
	"DynamoDB.6":      {res("aws:dynamodb/table:Table", "t", map[string]any{})},
	"ELB.6":           {res("aws:lb/loadBalancer:LoadBalancer", "alb", map[string]any{"enableDeletionProtection": false})},
	"TH-BAK-1":        {res("aws:rds/cluster:Cluster", "c", map[string]any{}), res("aws:backup/selection:Selection", "s", map[string]any{"resources": []any{"arn:other"}})},
	"TH-DES-1": {func() *offline.Resource {
		r := res("aws:kms/key:Key", "k", map[string]any{})
		r.RetainOnDelete = true
		return r
	}()},
	"TH-DES-2":  {res("aws:backup/vault:Vault", "v", map[string]any{"forceDestroy": false})},
	"TH-NAME-1": {res("aws:sqs/queue:Queue", "q", map[string]any{"name": "orders-staging"})},
	"TH-TAG-1":  {res("pulumi:providers:aws", "aws", map[string]any{"defaultTags": map[string]any{"tags": map[string]any{"Application": "x"}}})},
	// audit trail, immutable backups, protected data
	"CloudTrail.1": {res(tTrail, "trail", map[string]any{"isMultiRegionTrail": true, "advancedEventSelectors": []any{map[string]any{
		"fieldSelectors": []any{map[string]any{"field": "eventCategory", "equals": []any{"Management"}}, map[string]any{"field": "readOnly", "equals": []any{"false"}}}}}})},
	"CloudTrail.2": {res(tTrail, "trail", map[string]any{"enableLogFileValidation": true})},
	"CloudTrail.4": {res(tTrail, "trail", map[string]any{"enableLogFileValidation": false})},
	"CloudTrail.5": {res(tTrail, "trail", map[string]any{})},
	"TH-AUD-1": {res(tTrail, "trail", map[string]any{"cloudWatchLogsGroupArn": "arn:aws:logs:us-east-1:1:log-group:/trading/cloudtrail-dev:*"}),
		res("aws:cloudwatch/logMetricFilter:LogMetricFilter", "root", map[string]any{"logGroupName": "/trading/cloudtrail-dev", "pattern": audit.Watches[0].Pattern,
			"metricTransformation": map[string]any{"name": "RootAccountUsage", "namespace": audit.MetricNamespace}})},
	"RDS.37": {res("aws:rds/clusterParameterGroup:ClusterParameterGroup", "pg", map[string]any{"parameters": []any{
		map[string]any{"name": "shared_preload_libraries", "value": "pgaudit"}, map[string]any{"name": "pgaudit.log", "value": "ddl,role"},
		map[string]any{"name": "pgaudit.log_parameter", "value": "1"}}})},
	"WAF.11": {res("aws:wafv2/webAcl:WebAcl", "acl", map[string]any{}), res("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "l", map[string]any{
		"resourceArn": "arn:acl", "logDestinationConfigs": []any{"arn:aws:logs:us-east-1:1:log-group:aws-waf-logs-x"},
		"redactedFields": []any{map[string]any{"singleHeader": map[string]any{"name": "authorization"}}}})},
	"TH-WAF-1": {res("aws:wafv2/webAcl:WebAcl", "acl", map[string]any{"visibilityConfig": map[string]any{"sampledRequestsEnabled": false},
		"rules": []any{map[string]any{"name": "rate", "visibilityConfig": map[string]any{"sampledRequestsEnabled": true}}}})},
	"TH-BAK-2": {res("aws:backup/vault:Vault", "v", map[string]any{}), res("aws:backup/vaultLockConfiguration:VaultLockConfiguration", "l", map[string]any{"backupVaultName": "v"}),
		res("aws:backup/vaultPolicy:VaultPolicy", "p", map[string]any{"backupVaultName": "v", "policy": `{"Statement":[{"Effect":"Deny","Action":["backup:DeleteBackupVault"]}]}`})},
	"TH-BAK-3": {res("aws:rds/cluster:Cluster", "c", map[string]any{"deletionProtection": true}),
		res("aws:backup/plan:Plan", "p", map[string]any{"rules": []any{map[string]any{"ruleName": "daily"}}})},
	"TH-DES-3": {res("aws:rds/cluster:Cluster", "c", map[string]any{"deletionProtection": true, "skipFinalSnapshot": false,
		"finalSnapshotIdentifier": "aurora-final-dev", "deleteAutomatedBackups": true})},
	"TH-TLS-3": {res("aws:lb/targetGroup:TargetGroup", "tg", map[string]any{"protocol": "HTTPS", "healthCheck": map[string]any{"protocol": "HTTP"}})},
	"TH-NET-1": {res("aws:ec2/vpcEndpoint:VpcEndpoint", "e", map[string]any{"vpcEndpointType": "Interface"}),
		res("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "out", map[string]any{"cidrIpv4": "0.0.0.0/0"})},
}

const tTrail = "aws:cloudtrail/trail:Trail"

func TestEveryPolicyRuleFiresOnAViolation(t *testing.T) {
	for _, rule := range policy.Rules {
		t.Run(rule.ID, func(t *testing.T) {
			fixture, ok := violations[rule.ID]
			if !ok {
				t.Fatalf("rule %s has no violating fixture", rule.ID)
			}
			rec := &offline.Recording{Stack: "t", Config: map[string]string{"trading-ha:environmentSuffix": "dev"}, Resources: fixture}
			if got := rule.Check(rec.Policy()); len(got) == 0 {
				t.Fatalf("rule %s did not fire on %s", rule.ID, fixture[0].Type)
			}
			open, _, _ := policy.Evaluate(rec.Policy())
			found := false
			for _, f := range open {
				found = found || f.Rule == rule.ID
			}
			if !found {
				t.Errorf("Evaluate did not report %s", rule.ID)
			}
		})
	}
}

func TestExemptionNeedsTagOnTheResource(t *testing.T) {
	bucket := res("aws:s3/bucketV2:BucketV2", "b", map[string]any{"tags": map[string]any{"policy-exempt:S3.13": "archived elsewhere"}})
	rec := &offline.Recording{Resources: []*offline.Resource{bucket}}
	open, exempt, _ := policy.Evaluate(rec.Policy())
	for _, f := range open {
		if f.Rule == "S3.13" {
			t.Fatalf("exempted finding still open: %s", f)
		}
	}
	found := false
	for _, f := range exempt {
		if f.Rule == "S3.13" && f.Reason == "archived elsewhere" && strings.Contains(f.String(), "exempt: archived elsewhere") {
			found = true
		}
	}
	if !found {
		t.Errorf("exemption not listed with its reason: %v", exempt)
	}
}

// TestPolicySuiteFindsNothingOpen: go test fails on any open finding in
// either stack; exemptions are explicit on their resources and listed.
func TestPolicySuiteFindsNothingOpen(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		open, exempt, deferred := policy.Evaluate(rec.Policy())
		for _, f := range open {
			t.Errorf("open finding: %s", f)
		}
		// Every value is known once the stack is deployed: nothing defers.
		for _, f := range deferred {
			t.Errorf("deferred on a resolved stack: %s", f)
		}
		for _, f := range exempt {
			t.Logf("exempt: %s", f)
		}
		if len(exempt) == 0 {
			t.Error("want the logs bucket's exemptions listed")
		}
	})
}

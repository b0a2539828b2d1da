package policy

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/trading-ha/trading-ha/infra/config"
)

// Rules is the suite, in report order.
var Rules = []Rule{
	// Encryption at rest.
	{ID: "S3.17", Title: "S3 buckets are encrypted at rest with KMS keys", Check: s3KMS},
	{ID: "DynamoDB.KMS", Title: "DynamoDB tables are encrypted with a customer managed key", Check: dynamoKMS, PerResource: true},
	{ID: "RDS.27", Title: "Aurora clusters are encrypted at rest", Check: rdsEncrypted, PerResource: true},
	{ID: "KMS.4", Title: "KMS keys rotate; deletion window 30 days in protected stacks, 7 otherwise", Check: kmsRotation},
	{ID: "SNS.1", Title: "SNS topics are encrypted at rest with KMS", Check: typeField("aws:sns/topic:Topic", "kmsMasterKeyId", "no kmsMasterKeyId"), PerResource: true},
	{ID: "SQS.1", Title: "SQS queues are encrypted at rest with KMS", Check: typeField("aws:sqs/queue:Queue", "kmsMasterKeyId", "no kmsMasterKeyId"), PerResource: true},
	{ID: "TH-ENC-1", Title: "log groups are KMS-encrypted and have a retention", Check: logGroups, PerResource: true},
	// Encryption in transit.
	{ID: "S3.5", Title: "S3 bucket policies deny requests not made over TLS", Check: s3TLS},
	{ID: "ELB.1", Title: "ALB HTTP listeners only redirect to HTTPS", Check: httpRedirect, PerResource: true},
	{ID: "TH-TLS-1", Title: "HTTPS listeners use a TLS 1.3 security policy", Check: tlsPolicy, PerResource: true},
	{ID: "TH-TLS-2", Title: "Aurora parameter groups force SSL", Check: forceSSL, PerResource: true},
	// Logging.
	{ID: "EC2.6", Title: "VPC flow logging is enabled", Check: flowLogs},
	{ID: "S3.9", Title: "S3 server access logging is enabled", Check: s3Logging},
	{ID: "ELB.5", Title: "ALB access logging is enabled", Check: typeField("aws:lb/loadBalancer:LoadBalancer", "accessLogs.enabled", "access logs off"), PerResource: true},
	{ID: "RDS.9", Title: "Aurora exports PostgreSQL logs to CloudWatch", Check: rdsLogs, PerResource: true},
	{ID: "ECS.9", Title: "ECS task definitions have a logging configuration", Check: ecsContainers("logConfiguration", func(v any) bool { return v != nil }), PerResource: true},
	{ID: "ECS.12", Title: "ECS clusters use Container Insights", Check: containerInsights, PerResource: true},
	{ID: "StepFunctions.1", Title: "state machines log ALL with execution data and trace", Check: sfnLogging, PerResource: true},
	// Public access and hardening.
	{ID: "S3.8", Title: "S3 buckets block public access", Check: s3Public},
	{ID: "EC2.2", Title: "the default security group has no rules", Check: defaultSG, PerResource: true},
	{ID: "RDS.2", Title: "Aurora instances are not publicly accessible", Check: rdsPublic, PerResource: true},
	{ID: "ECS.2", Title: "ECS services assign no public IPs", Check: ecsPublicIP, PerResource: true},
	{ID: "ECS.4", Title: "containers are not privileged", Check: ecsContainers("privileged", func(v any) bool { return v != true }), PerResource: true},
	{ID: "ECS.5", Title: "containers have read-only root filesystems", Check: ecsContainers("readonlyRootFilesystem", func(v any) bool { return v == true }), PerResource: true},
	{ID: "ELB.4", Title: "ALBs drop invalid HTTP headers", Check: typeField("aws:lb/loadBalancer:LoadBalancer", "dropInvalidHeaderFields", "invalid headers are forwarded"), PerResource: true},
	{ID: "ELB.12", Title: "ALBs use defensive or strictest desync mitigation", Check: desync, PerResource: true},
	{ID: "ELB.13", Title: "load balancers span three availability zones", Check: albZones, PerResource: true},
	{ID: "ECR.1", Title: "ECR repositories scan images on push", Check: typeField("aws:ecr/repository:Repository", "imageScanningConfiguration.scanOnPush", "scan on push off"), PerResource: true},
	{ID: "ECR.2", Title: "ECR repositories have immutable tags", Check: ecrImmutable, PerResource: true},
	// Least privilege.
	{ID: "IAM.21", Title: "identity policies grant no wildcard service actions", Check: iamWildcardActions},
	{ID: "TH-IAM-1", Title: "identity policies scope resources, \"*\" only for actions without resource-level permissions", Check: iamWildcardResources},
	// Resilience and data protection.
	{ID: "S3.14", Title: "S3 buckets are versioned", Check: s3Versioning},
	{ID: "S3.13", Title: "S3 buckets have lifecycle rules", Check: s3Lifecycle},
	{ID: "DynamoDB.2", Title: "DynamoDB tables have point-in-time recovery", Check: typeField("aws:dynamodb/table:Table", "pointInTimeRecovery.enabled", "PITR off"), PerResource: true},
	{ID: "RDS.16", Title: "Aurora clusters copy tags to snapshots", Check: typeField("aws:rds/cluster:Cluster", "copyTagsToSnapshot", "copyTagsToSnapshot off"), PerResource: true},
	{ID: "RDS.12", Title: "Aurora clusters use IAM database authentication", Check: typeField("aws:rds/cluster:Cluster", "iamDatabaseAuthenticationEnabled", "IAM authentication off"), PerResource: true},
	{ID: "RDS.7", Title: "Aurora clusters have deletion protection", Check: typeField("aws:rds/cluster:Cluster", "deletionProtection", "deletion protection off"), PerResource: true},
	{ID: "DynamoDB.6", Title: "DynamoDB tables have deletion protection", Check: typeField("aws:dynamodb/table:Table", "deletionProtectionEnabled", "deletion protection off"), PerResource: true},
	{ID: "ELB.6", Title: "ALBs have deletion protection", Check: typeField("aws:lb/loadBalancer:LoadBalancer", "enableDeletionProtection", "deletion protection off"), PerResource: true},
	{ID: "TH-BAK-1", Title: "every data store is selected by an AWS Backup plan", Check: backupCoverage},
	// Destroyability, naming, tagging.
	{ID: "TH-DES-1", Title: "nothing is protected or retained on delete", Check: protected, PerResource: true},
	{ID: "TH-DES-2", Title: "resources that block deletion when not empty are force-destroyed", Check: forceDestroy, PerResource: true},
	{ID: "TH-NAME-1", Title: "physical names carry the environment suffix", Check: names, PerResource: true},
	{ID: "TH-TAG-1", Title: "every AWS resource gets the required tags from the provider", Check: tagging},
	// Audit trail, immutable backups, protected data (issue 16; audit.go).
	{ID: "CloudTrail.1", Title: "a multi-Region trail records read and write management events", Check: trailMultiRegion},
	{ID: "CloudTrail.2", Title: "CloudTrail trails are encrypted at rest with KMS", Check: trailField("kmsKeyId", "no kmsKeyId"), PerResource: true},
	{ID: "CloudTrail.4", Title: "CloudTrail log file validation is enabled", Check: trailField("enableLogFileValidation", "log file validation off"), PerResource: true},
	{ID: "CloudTrail.5", Title: "CloudTrail trails deliver to CloudWatch Logs", Check: trailField("cloudWatchLogsGroupArn", "no CloudWatch Logs delivery"), PerResource: true},
	{ID: "TH-AUD-1", Title: "the trail's log group has the CIS metric filters (CloudWatch.1, .2, .4, .5, .7, .10, .11) with alarms", Check: trailFilters},
	{ID: "RDS.37", Title: "Aurora PostgreSQL clusters publish logs to CloudWatch Logs with pgaudit loaded", Check: rdsAudit, PerResource: true},
	{ID: "WAF.11", Title: "AWS WAF web ACL logging is enabled", Check: wafLogging},
	{ID: "TH-BAK-2", Title: "every backup vault is locked and denies deleting recovery points", Check: vaultLocked},
	{ID: "TH-BAK-3", Title: "protected stacks copy recovery points to another region", Check: backupCopies},
	{ID: "TH-DES-3", Title: "protected stacks keep a final snapshot and the automated backups", Check: keepsData, PerResource: true},
	{ID: "TH-NET-1", Title: "task security groups have no internet egress when privateEgress is endpoints", Check: closedEgress},
}

// --- generic checks ---

// typeField fires for each resource of typ whose boolean/string field is
// false or empty.
func typeField(typ, path, msg string) func(*Stack) []Violation {
	return func(rec *Stack) []Violation {
		return each(rec, typ, func(r *Resource) string {
			switch v := lookup(r.Inputs, path).(type) {
			case bool:
				if v {
					return ""
				}
			case string:
				if v != "" {
					return ""
				}
			}
			return msg
		})
	}
}

// --- S3 ---

// perBucket checks every bucket against the configuration resources of
// typ attached to it (S3 keeps each setting in its own resource).
func perBucket(rec *Stack, typ string, check func(cfgs []*Resource) string) []Violation {
	return each(rec, "aws:s3/bucketV2:BucketV2", func(b *Resource) string {
		return check(attached(rec, typ, "bucket", b))
	})
}

func s3KMS(rec *Stack) []Violation {
	return perBucket(rec, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", func(cfgs []*Resource) string {
		if len(cfgs) == 0 {
			return "no default encryption"
		}
		if alg := str(cfgs[0], "rules.0.applyServerSideEncryptionByDefault.sseAlgorithm"); alg != "aws:kms" {
			return "encrypted with " + alg + ", not a KMS key"
		}
		return ""
	})
}

func s3TLS(rec *Stack) []Violation {
	return perBucket(rec, "aws:s3/bucketPolicy:BucketPolicy", func(policies []*Resource) string {
		for _, p := range policies {
			if denies(str(p, "policy"), "aws:SecureTransport") {
				return ""
			}
		}
		return "no bucket policy denying aws:SecureTransport=false"
	})
}

// denies reports whether a resource policy has a Deny on the condition key.
func denies(doc, conditionKey string) bool {
	var d struct {
		Statement []struct {
			Effect    string
			Condition map[string]map[string]any
		}
	}
	if json.Unmarshal([]byte(doc), &d) != nil {
		return false
	}
	for _, s := range d.Statement {
		if s.Effect != "Deny" {
			continue
		}
		for _, kv := range s.Condition {
			if v, ok := kv[conditionKey]; ok && fmt.Sprint(v) == "false" {
				return true
			}
		}
	}
	return false
}

func s3Public(rec *Stack) []Violation {
	return perBucket(rec, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", func(pabs []*Resource) string {
		if len(pabs) == 0 || !(boolean(pabs[0], "blockPublicAcls") && boolean(pabs[0], "blockPublicPolicy") &&
			boolean(pabs[0], "ignorePublicAcls") && boolean(pabs[0], "restrictPublicBuckets")) {
			return "public access not fully blocked"
		}
		return ""
	})
}

func s3Logging(rec *Stack) []Violation {
	return perBucket(rec, "aws:s3/bucketLoggingV2:BucketLoggingV2", func(cfgs []*Resource) string {
		if len(cfgs) == 0 {
			return "no server access logging"
		}
		return ""
	})
}

func s3Versioning(rec *Stack) []Violation {
	return perBucket(rec, "aws:s3/bucketVersioningV2:BucketVersioningV2", func(cfgs []*Resource) string {
		if len(cfgs) == 0 || str(cfgs[0], "versioningConfiguration.status") != "Enabled" {
			return "versioning not enabled"
		}
		return ""
	})
}

func s3Lifecycle(rec *Stack) []Violation {
	return perBucket(rec, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", func(cfgs []*Resource) string {
		if len(cfgs) == 0 {
			return "no lifecycle configuration"
		}
		return ""
	})
}

// --- data stores ---

func dynamoKMS(rec *Stack) []Violation {
	return each(rec, "aws:dynamodb/table:Table", func(r *Resource) string {
		if !boolean(r, "serverSideEncryption.enabled") || str(r, "serverSideEncryption.kmsKeyArn") == "" {
			return "not encrypted with a customer managed key"
		}
		return ""
	})
}

func rdsEncrypted(rec *Stack) []Violation {
	return each(rec, "aws:rds/cluster:Cluster", func(r *Resource) string {
		if !boolean(r, "storageEncrypted") || str(r, "kmsKeyId") == "" {
			return "storage not encrypted with our KMS key"
		}
		return ""
	})
}

func rdsLogs(rec *Stack) []Violation {
	return each(rec, "aws:rds/cluster:Cluster", func(r *Resource) string {
		if !slices.Contains(list(r, "enabledCloudwatchLogsExports"), any("postgresql")) {
			return "postgresql log export off"
		}
		return ""
	})
}

func rdsPublic(rec *Stack) []Violation {
	return each(rec, "aws:rds/clusterInstance:ClusterInstance", func(r *Resource) string {
		if boolean(r, "publiclyAccessible") {
			return "publicly accessible"
		}
		return ""
	})
}

func forceSSL(rec *Stack) []Violation {
	return each(rec, "aws:rds/clusterParameterGroup:ClusterParameterGroup", func(r *Resource) string {
		for _, p := range list(r, "parameters") {
			m, _ := p.(map[string]any)
			if m["name"] == "rds.force_ssl" && fmt.Sprint(m["value"]) == "1" {
				return ""
			}
		}
		return "rds.force_ssl is not 1"
	})
}

func kmsRotation(rec *Stack) []Violation {
	return each(rec, "aws:kms/key:Key", func(r *Resource) string {
		if !boolean(r, "enableKeyRotation") {
			return "rotation off"
		}
		if want := kmsWindow(rec); number(r, "deletionWindowInDays") != float64(want) {
			return fmt.Sprintf("deletion window %v days, want %d", number(r, "deletionWindowInDays"), want)
		}
		return ""
	})
}

func logGroups(rec *Stack) []Violation {
	return each(rec, "aws:cloudwatch/logGroup:LogGroup", func(r *Resource) string {
		if str(r, "kmsKeyId") == "" {
			return "not KMS-encrypted"
		}
		if !slices.Contains(config.LogRetentionDays, int(number(r, "retentionInDays"))) {
			return "no retention (logs kept forever)"
		}
		return ""
	})
}

// --- network and edge ---

func flowLogs(rec *Stack) []Violation {
	var out []Violation
	for _, v := range rec.ByType("awsx:ec2:Vpc") {
		found := false
		for _, fl := range rec.ByType("aws:ec2/flowLog:FlowLog") {
			found = found || str(fl, "vpcId") == v.Outputs["vpcId"]
		}
		if !found {
			out = append(out, Violation{v, "no flow log"})
		}
	}
	return out
}

func defaultSG(rec *Stack) []Violation {
	return each(rec, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", func(r *Resource) string {
		if len(list(r, "ingress"))+len(list(r, "egress")) > 0 {
			return "default security group has rules"
		}
		return ""
	})
}

func httpRedirect(rec *Stack) []Violation {
	return each(rec, "aws:lb/listener:Listener", func(r *Resource) string {
		if str(r, "protocol") != "HTTP" {
			return ""
		}
		acts := list(r, "defaultActions")
		if len(acts) != 1 || lookup(acts[0], "type") != "redirect" || lookup(acts[0], "redirect.protocol") != "HTTPS" {
			return "HTTP listener does not only redirect to HTTPS"
		}
		return ""
	})
}

func tlsPolicy(rec *Stack) []Violation {
	return each(rec, "aws:lb/listener:Listener", func(r *Resource) string {
		if str(r, "protocol") == "HTTPS" && !strings.HasPrefix(str(r, "sslPolicy"), "ELBSecurityPolicy-TLS13-") {
			return "ssl policy " + str(r, "sslPolicy") + " is not a TLS 1.3 policy"
		}
		return ""
	})
}

func desync(rec *Stack) []Violation {
	return each(rec, "aws:lb/loadBalancer:LoadBalancer", func(r *Resource) string {
		if m := str(r, "desyncMitigationMode"); m != "defensive" && m != "strictest" {
			return "desync mitigation " + m
		}
		return ""
	})
}

func albZones(rec *Stack) []Violation {
	return each(rec, "aws:lb/loadBalancer:LoadBalancer", func(r *Resource) string {
		if n := len(list(r, "subnets")); n < 3 {
			return fmt.Sprintf("in %d subnets, want 3", n)
		}
		return ""
	})
}

// --- containers ---

func containerInsights(rec *Stack) []Violation {
	return each(rec, "aws:ecs/cluster:Cluster", func(r *Resource) string {
		for _, s := range list(r, "settings") {
			if lookup(s, "name") == "containerInsights" && (lookup(s, "value") == "enhanced" || lookup(s, "value") == "enabled") {
				return ""
			}
		}
		return "container insights off"
	})
}

func ecsPublicIP(rec *Stack) []Violation {
	return each(rec, "aws:ecs/service:Service", func(r *Resource) string {
		if boolean(r, "networkConfiguration.assignPublicIp") {
			return "assigns public IPs"
		}
		return ""
	})
}

// ecsContainers checks one field of every container definition.
func ecsContainers(field string, ok func(any) bool) func(*Stack) []Violation {
	return func(rec *Stack) []Violation {
		return each(rec, "aws:ecs/taskDefinition:TaskDefinition", func(r *Resource) string {
			var defs []map[string]any
			if err := json.Unmarshal([]byte(str(r, "containerDefinitions")), &defs); err != nil {
				return "container definitions are not JSON"
			}
			for _, d := range defs {
				if !ok(d[field]) {
					return fmt.Sprintf("container %v: %s = %v", d["name"], field, d[field])
				}
			}
			return ""
		})
	}
}

func ecrImmutable(rec *Stack) []Violation {
	return each(rec, "aws:ecr/repository:Repository", func(r *Resource) string {
		if str(r, "imageTagMutability") != "IMMUTABLE" {
			return "tags are mutable"
		}
		return ""
	})
}

func sfnLogging(rec *Stack) []Violation {
	return each(rec, "aws:sfn/stateMachine:StateMachine", func(r *Resource) string {
		if str(r, "loggingConfiguration.level") != "ALL" || !boolean(r, "loggingConfiguration.includeExecutionData") {
			return "logging is not ALL with execution data"
		}
		if !boolean(r, "tracingConfiguration.enabled") {
			return "X-Ray tracing off"
		}
		return ""
	})
}

// --- IAM ---

// NoResourceLevelActions are the actions whose APIs accept only "*" as the
// resource (AWS Service Authorization Reference); a statement on "*" may
// hold only these.
var NoResourceLevelActions = []string{
	"ecr:GetAuthorizationToken",
	"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
	"logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
	"logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
	"elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTargetGroups",
	"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeRules",
	"ecs:DescribeTaskDefinition",
	"s3:ListAllMyBuckets",
	"synthetics:DescribeCanaries", "synthetics:DescribeCanariesLastRun",
	"backup:ListRecoveryPointsByResource", "backup:DescribeRestoreJob",
	"ec2:DescribeInstances", "ec2:DescribeSubnets", "ec2:DescribeNetworkAcls", "ec2:DescribeManagedPrefixLists",

	// EC2 Describe* calls have no resource types in the Service Authorization
	// Reference (Amazon EC2); the FIS network drill needs this one too.
	"ec2:DescribeVpcs",
	"tag:GetResources",
}

// StarExceptions are actions that the Service Authorization Reference
// gives resource types, yet whose calls as we make them can only be
// authorized on "*"; each says why, and the statement narrows them with a
// condition instead.
var StarExceptions = map[string]string{
	"cloudwatch:PutMetricData": "its only resource type (dataset) is optional: a put outside a dataset needs \"*\"; statements narrow it with cloudwatch:namespace",
	"ecs:ListTasks":            "it authorizes on container instances, which Fargate tasks have none of; statements narrow it with ecs:cluster",
}

// StarAllowed reports whether an action may be granted on "*".
func StarAllowed(action string) bool {
	_, ok := StarExceptions[action]
	return ok || slices.Contains(NoResourceLevelActions, action)
}

type statement struct {
	Effect   string
	Action   any
	Resource any
}

// identityPolicies returns each identity policy document with the resource
// that carries its exemptions (the role for inline policies).
func identityPolicies(rec *Stack) []struct {
	subject *Resource
	doc     string
} {
	var out []struct {
		subject *Resource
		doc     string
	}
	roles := map[string]*Resource{}
	for _, r := range rec.ByType("aws:iam/role:Role") {
		if n, ok := r.Outputs["name"].(string); ok {
			roles[n] = r
		}
		if n, ok := r.Outputs["id"].(string); ok {
			roles[n] = r
		}
	}
	for _, p := range rec.ByType("aws:iam/rolePolicy:RolePolicy") {
		subject := p
		if role, ok := roles[str(p, "role")]; ok {
			subject = role
		}
		out = append(out, struct {
			subject *Resource
			doc     string
		}{subject, str(p, "policy")})
	}
	for _, p := range rec.ByType("aws:iam/policy:Policy") {
		out = append(out, struct {
			subject *Resource
			doc     string
		}{p, str(p, "policy")})
	}
	return out
}

func statements(doc string) ([]statement, error) {
	var d struct{ Statement []statement }
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return nil, fmt.Errorf("policy is not JSON: %w", err)
	}
	return d.Statement, nil
}

func strs(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, x := range t {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	return nil
}

func iamWildcardActions(rec *Stack) []Violation {
	var out []Violation
	for _, p := range identityPolicies(rec) {
		stmts, err := statements(p.doc)
		if err != nil {
			out = append(out, Violation{p.subject, err.Error()})
			continue
		}
		for _, s := range stmts {
			if s.Effect != "Allow" {
				continue
			}
			for _, a := range strs(s.Action) {
				if a == "*" || strings.HasSuffix(a, ":*") {
					out = append(out, Violation{p.subject, "allows " + a})
				}
			}
		}
	}
	return out
}

func iamWildcardResources(rec *Stack) []Violation {
	var out []Violation
	for _, p := range identityPolicies(rec) {
		stmts, err := statements(p.doc)
		if err != nil {
			continue // reported by IAM.21
		}
		for _, s := range stmts {
			if s.Effect != "Allow" || !slices.Contains(strs(s.Resource), "*") {
				continue
			}
			for _, a := range strs(s.Action) {
				if !StarAllowed(a) {
					out = append(out, Violation{p.subject, a + ` on "*" although it supports resource-level permissions`})
				}
			}
		}
	}
	return out
}

// --- backup coverage ---

// DataStoreTypes are the resource types holding business data.
var DataStoreTypes = []string{"aws:rds/cluster:Cluster", "aws:dynamodb/table:Table", "aws:s3/bucketV2:BucketV2"}

func backupCoverage(rec *Stack) []Violation {
	selected := map[string]bool{}
	for _, s := range rec.ByType("aws:backup/selection:Selection") {
		for _, r := range list(s, "resources") {
			selected[fmt.Sprint(r)] = true
		}
	}
	var out []Violation
	for _, typ := range DataStoreTypes {
		for _, r := range rec.ByType(typ) {
			if !selected[fmt.Sprint(r.Outputs["arn"])] {
				out = append(out, Violation{r, "not in any AWS Backup selection"})
			}
		}
	}
	return out
}

// --- destroyability, naming, tagging ---

func protected(rec *Stack) []Violation {
	var out []Violation
	for _, r := range rec.Resources {
		if r.Protect || r.RetainOnDelete {
			out = append(out, Violation{r, "protect or retainOnDelete set; destroy would leave it behind"})
		}
	}
	return out
}

// forceFields names, per type, the input that lets deletion proceed when
// the resource still holds data, and the value it must have.
var forceFields = map[string]struct {
	field string
	want  any
}{
	"aws:s3/bucketV2:BucketV2":         {"forceDestroy", true},
	"aws:backup/vault:Vault":           {"forceDestroy", true},
	"aws:route53/zone:Zone":            {"forceDestroy", true},
	"aws:ecr/repository:Repository":    {"forceDelete", true},
	"aws:rds/cluster:Cluster":          {"skipFinalSnapshot", true},
	"aws:synthetics/canary:Canary":     {"deleteLambda", true},
	"aws:sns/topic:Topic":              {"", nil},
	"aws:cloudwatch/eventBus:EventBus": {"", nil},
}

func forceDestroy(rec *Stack) []Violation {
	var out []Violation
	for typ, f := range forceFields {
		out = append(out, each(rec, typ, func(r *Resource) string {
			if lookup(r.Inputs, f.field) != f.want {
				return fmt.Sprintf("%s is not %v", f.field, f.want)
			}
			return ""
		})...)
	}
	return out
}

// nameFields are inputs that hold physical names we choose ("family" is a
// name only for task definitions; on parameter groups it is the engine).
var nameFields = []string{"name", "alarmName", "dashboardName", "bucket", "clusterIdentifier", "identifier"}

// unnamed are types whose "name" input is not a physical AWS name we
// choose: inline policy labels, and DNS names, which follow the
// organisation's domain (the stack's zone is config domainName).
var unnamed = map[string]bool{
	"aws:iam/rolePolicy:RolePolicy": true, "aws:appautoscaling/policy:Policy": true,
	"aws:route53/zone:Zone": true, "aws:route53/record:Record": true,
}

// scopedFields are fields named like names that are not physical AWS names:
// a Cognito resource server's identifier is the OAuth2 scope prefix
// ("trading" in "trading/orders", CONTRACT.md), unique only inside its user
// pool, which carries the suffix.
var scopedFields = map[string]string{"aws:cognito/resourceServer:ResourceServer": "identifier"}

func names(rec *Stack) []Violation {
	suffix := rec.Config[config.Project+":environmentSuffix"]
	token := regexp.MustCompile(`(^|[-_/.])` + regexp.QuoteMeta(suffix) + `([-_/.]|$)`)
	var out []Violation
	for _, r := range rec.Resources {
		if !strings.HasPrefix(r.Type, "aws:") || unnamed[r.Type] {
			continue
		}
		fields := nameFields
		if r.Type == "aws:ecs/taskDefinition:TaskDefinition" {
			fields = append(fields, "family")
		}
		for _, f := range fields {
			if scopedFields[r.Type] == f {
				continue
			}
			if v, ok := r.Inputs[f].(string); ok && v != "" && !token.MatchString(v) {
				out = append(out, Violation{r, fmt.Sprintf("%s %q does not carry the suffix %q", f, v, suffix)})
			}
		}
	}
	return out
}

func tagging(rec *Stack) []Violation {
	var out []Violation
	var providers []*Resource
	for _, p := range rec.ByType("pulumi:providers:aws") {
		providers = append(providers, p)
		tags, _ := lookup(p.Inputs, "defaultTags.tags").(map[string]any)
		for _, k := range config.RequiredTags {
			if s, _ := tags[k].(string); s == "" {
				out = append(out, Violation{p, "defaultTags lacks " + k})
			}
		}
	}
	if len(providers) == 0 {
		return out
	}
	for _, r := range rec.Resources {
		ref := r.Provider
		if strings.HasPrefix(r.Type, "awsx:") {
			if r.Providers == nil {
				continue // not visible to an analyzer; its children are checked
			}
			ref = r.Providers["aws"]
		} else if !strings.HasPrefix(r.Type, "aws:") {
			continue
		}
		tagged := false
		for _, p := range providers {
			tagged = tagged || strings.HasPrefix(ref, p.URN+"::")
		}
		if !tagged {
			out = append(out, Violation{r, "not deployed through the tagged provider"})
		}
	}
	return out
}

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
	{ID: "SNS.1", Title: "SNS topics are encrypted at rest with KMS", Check: presentField("aws:sns/topic:Topic", "kmsMasterKeyId", "no kmsMasterKeyId"), PerResource: true},
	{ID: "SQS.1", Title: "SQS queues are encrypted at rest with KMS", Check: presentField("aws:sqs/queue:Queue", "kmsMasterKeyId", "no kmsMasterKeyId"), PerResource: true},
	{ID: "TH-ENC-1", Title: "log groups are KMS-encrypted and have a retention", Check: logGroups, PerResource: true},
	// Encryption in transit.
	{ID: "S3.5", Title: "S3 bucket policies deny requests not made over TLS", Check: s3TLS},
	{ID: "ELB.1", Title: "ALB HTTP listeners only redirect to HTTPS", Check: httpRedirect, PerResource: true},
	{ID: "TH-TLS-1", Title: "HTTPS listeners use a TLS 1.3 security policy", Check: tlsPolicy, PerResource: true},
	{ID: "TH-TLS-2", Title: "Aurora parameter groups force SSL", Check: forceSSL, PerResource: true},
	{ID: "TH-TLS-3", Title: "ALB target groups and their health checks use HTTPS (TLS to the targets)", Check: targetTLS, PerResource: true},
	// Logging.
	{ID: "EC2.6", Title: "VPC flow logging is enabled", Check: flowLogs},
	{ID: "S3.9", Title: "S3 server access logging is enabled", Check: s3Logging},
	{ID: "ELB.5", Title: "ALB access logging is enabled", Check: flagField("aws:lb/loadBalancer:LoadBalancer", "accessLogs.enabled", "access logs off"), PerResource: true},
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
	{ID: "ELB.4", Title: "ALBs drop invalid HTTP headers", Check: flagField("aws:lb/loadBalancer:LoadBalancer", "dropInvalidHeaderFields", "invalid headers are forwarded"), PerResource: true},
	{ID: "ELB.12", Title: "ALBs use defensive or strictest desync mitigation", Check: desync, PerResource: true},
	{ID: "ELB.13", Title: "load balancers span three availability zones", Check: albZones, PerResource: true},
	{ID: "ECR.1", Title: "ECR repositories scan images on push", Check: flagField("aws:ecr/repository:Repository", "imageScanningConfiguration.scanOnPush", "scan on push off"), PerResource: true},
	{ID: "ECR.2", Title: "ECR repositories have immutable tags", Check: ecrImmutable, PerResource: true},
	// Least privilege.
	{ID: "IAM.21", Title: "identity policies grant no wildcard service actions", Check: iamWildcardActions},
	{ID: "TH-IAM-1", Title: "identity policies scope resources, \"*\" only for actions without resource-level permissions", Check: iamWildcardResources},
	// Resilience and data protection.
	{ID: "S3.14", Title: "S3 buckets are versioned", Check: s3Versioning},
	{ID: "S3.13", Title: "S3 buckets have lifecycle rules", Check: s3Lifecycle},
	{ID: "DynamoDB.2", Title: "DynamoDB tables have point-in-time recovery", Check: flagField("aws:dynamodb/table:Table", "pointInTimeRecovery.enabled", "PITR off"), PerResource: true},
	{ID: "RDS.16", Title: "Aurora clusters copy tags to snapshots", Check: flagField("aws:rds/cluster:Cluster", "copyTagsToSnapshot", "copyTagsToSnapshot off"), PerResource: true},
	{ID: "RDS.12", Title: "Aurora clusters use IAM database authentication", Check: flagField("aws:rds/cluster:Cluster", "iamDatabaseAuthenticationEnabled", "IAM authentication off"), PerResource: true},
	{ID: "RDS.7", Title: "Aurora clusters have deletion protection", Check: flagField("aws:rds/cluster:Cluster", "deletionProtection", "deletion protection off"), PerResource: true},
	{ID: "DynamoDB.6", Title: "DynamoDB tables have deletion protection", Check: flagField("aws:dynamodb/table:Table", "deletionProtectionEnabled", "deletion protection off"), PerResource: true},
	{ID: "ELB.6", Title: "ALBs have deletion protection", Check: flagField("aws:lb/loadBalancer:LoadBalancer", "enableDeletionProtection", "deletion protection off"), PerResource: true},
	{ID: "TH-BAK-1", Title: "every data store is selected by an AWS Backup plan", Check: backupCoverage},
	// Destroyability, naming, tagging.
	{ID: "TH-DES-1", Title: "nothing is protected or retained on delete", Check: protected, PerResource: true},
	{ID: "TH-DES-2", Title: "resources that block deletion when not empty are force-destroyed", Check: forceDestroy, PerResource: true},
	{ID: "TH-NAME-1", Title: "physical names carry the environment suffix", Check: names, PerResource: true},
	{ID: "TH-TAG-1", Title: "every AWS resource gets the required tags from the provider", Check: tagging},
	// Audit trail, immutable backups, protected data (audit.go).
	{ID: "CloudTrail.1", Title: "a multi-Region trail records read and write management events", Check: trailMultiRegion},
	{ID: "CloudTrail.2", Title: "CloudTrail trails are encrypted at rest with KMS", Check: trailPresent("kmsKeyId", "no kmsKeyId"), PerResource: true},
	{ID: "CloudTrail.4", Title: "CloudTrail log file validation is enabled", Check: trailFlag("enableLogFileValidation", "log file validation off"), PerResource: true},
	{ID: "CloudTrail.5", Title: "CloudTrail trails deliver to CloudWatch Logs", Check: trailPresent("cloudWatchLogsGroupArn", "no CloudWatch Logs delivery"), PerResource: true},
	{ID: "TH-AUD-1", Title: "the trail's log group has the CIS metric filters (CloudWatch.1, .2, .4, .5, .7, .10, .11) with alarms", Check: trailFilters},
	{ID: "RDS.37", Title: "Aurora PostgreSQL clusters publish logs to CloudWatch Logs with pgaudit loaded", Check: rdsAudit, PerResource: true},
	{ID: "WAF.11", Title: "AWS WAF web ACL logging is enabled", Check: wafLogging},
	{ID: "TH-WAF-1", Title: "web ACLs and their rules keep no sampled requests (samples keep credentials unredacted)", Check: wafNoSamples, PerResource: true},
	{ID: "TH-BAK-2", Title: "every backup vault is locked and denies deleting recovery points", Check: vaultLocked},
	{ID: "TH-BAK-3", Title: "protected stacks copy recovery points to another region", Check: backupCopies},
	{ID: "TH-DES-3", Title: "protected stacks keep a final snapshot and the automated backups", Check: keepsData, PerResource: true},
	{ID: "TH-NET-1", Title: "task security groups have no internet egress when privateEgress is endpoints", Check: closedEgress},
}

// --- generic checks ---

// presentField fires for each resource of typ whose string input at path
// is absent or empty (a key ARN, a log group ARN); an unknown value is
// set, only not known yet, and passes.
func presentField(typ, path, msg string) func(*Stack) []Violation {
	return func(rec *Stack) []Violation {
		return each(rec, typ, func(r *Resource) verdict { return present(r, path, msg) })
	}
}

// flagField fires for each resource of typ whose boolean input at path is
// not true, and defers while it is unknown.
func flagField(typ, path, msg string) func(*Stack) []Violation {
	return func(rec *Stack) []Violation {
		return each(rec, typ, func(r *Resource) verdict { return enabled(r, path, msg) })
	}
}

// --- S3 ---

// perBucket checks every bucket against the configuration resources of
// typ attached to it (S3 keeps each setting in its own resource).
func perBucket(rec *Stack, typ string, check func(cfgs []*Resource) verdict) []Violation {
	return each(rec, "aws:s3/bucketV2:BucketV2", func(b *Resource) verdict {
		return check(attached(rec, typ, "bucket", b))
	})
}

func s3KMS(rec *Stack) []Violation {
	return perBucket(rec, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", func(cfgs []*Resource) verdict {
		if len(cfgs) == 0 {
			return fail("no default encryption")
		}
		const path = "rules.0.applyServerSideEncryptionByDefault.sseAlgorithm"
		switch alg, known := str(cfgs[0], path); {
		case !known:
			return later(path)
		case alg != "aws:kms":
			return fail("encrypted with " + alg + ", not a KMS key")
		}
		return pass
	})
}

func s3TLS(rec *Stack) []Violation {
	return perBucket(rec, "aws:s3/bucketPolicy:BucketPolicy", func(policies []*Resource) verdict {
		unknown := false
		for _, p := range policies {
			doc, known := str(p, "policy")
			unknown = unknown || !known
			if known && denies(doc, "aws:SecureTransport") {
				return pass
			}
		}
		if unknown {
			return later("policy")
		}
		return fail("no bucket policy denying aws:SecureTransport=false")
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
	return perBucket(rec, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", func(pabs []*Resource) verdict {
		const msg = "public access not fully blocked"
		if len(pabs) == 0 {
			return fail(msg)
		}
		var vs []verdict
		for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
			vs = append(vs, enabled(pabs[0], k, msg))
		}
		return worst(vs...)
	})
}

func s3Logging(rec *Stack) []Violation {
	return perBucket(rec, "aws:s3/bucketLoggingV2:BucketLoggingV2", func(cfgs []*Resource) verdict {
		if len(cfgs) == 0 {
			return fail("no server access logging")
		}
		return pass
	})
}

func s3Versioning(rec *Stack) []Violation {
	return perBucket(rec, "aws:s3/bucketVersioningV2:BucketVersioningV2", func(cfgs []*Resource) verdict {
		const msg = "versioning not enabled"
		if len(cfgs) == 0 {
			return fail(msg)
		}
		const path = "versioningConfiguration.status"
		switch status, known := str(cfgs[0], path); {
		case !known:
			return later(path)
		case status != "Enabled":
			return fail(msg)
		}
		return pass
	})
}

func s3Lifecycle(rec *Stack) []Violation {
	return perBucket(rec, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", func(cfgs []*Resource) verdict {
		if len(cfgs) == 0 {
			return fail("no lifecycle configuration")
		}
		return pass
	})
}

// --- data stores ---

func dynamoKMS(rec *Stack) []Violation {
	return each(rec, "aws:dynamodb/table:Table", func(r *Resource) verdict {
		const msg = "not encrypted with a customer managed key"
		return worst(enabled(r, "serverSideEncryption.enabled", msg), present(r, "serverSideEncryption.kmsKeyArn", msg))
	})
}

func rdsEncrypted(rec *Stack) []Violation {
	return each(rec, "aws:rds/cluster:Cluster", func(r *Resource) verdict {
		const msg = "storage not encrypted with our KMS key"
		return worst(enabled(r, "storageEncrypted", msg), present(r, "kmsKeyId", msg))
	})
}

// exportsPostgresLogs passes when the cluster's log exports hold
// "postgresql", and defers while the list or any of its elements is
// unknown and none is "postgresql".
func exportsPostgresLogs(r *Resource) verdict {
	const path = "enabledCloudwatchLogsExports"
	exports, known := list(r, path)
	switch {
	case slices.Contains(exports, any("postgresql")):
		return pass
	case !known || anyUnknown(exports...):
		return later(path)
	}
	return fail("postgresql log export off")
}

func rdsLogs(rec *Stack) []Violation {
	return each(rec, "aws:rds/cluster:Cluster", exportsPostgresLogs)
}

func rdsPublic(rec *Stack) []Violation {
	return each(rec, "aws:rds/clusterInstance:ClusterInstance", func(r *Resource) verdict {
		return disabled(r, "publiclyAccessible", "publicly accessible")
	})
}

// parameters are a parameter group's parameters by name; known is false
// when the list, a name or a value is unknown.
func parameters(r *Resource) (params map[string]string, known bool) {
	l, known := list(r, "parameters")
	params = map[string]string{}
	for _, p := range l {
		name, value := lookup(p, "name"), lookup(p, "value")
		if anyUnknown(p, name, value) {
			known = false
			continue
		}
		params[fmt.Sprint(name)] = fmt.Sprint(value)
	}
	return params, known
}

func forceSSL(rec *Stack) []Violation {
	return each(rec, "aws:rds/clusterParameterGroup:ClusterParameterGroup", func(r *Resource) verdict {
		switch p, known := parameters(r); {
		case p["rds.force_ssl"] == "1":
			return pass
		case !known:
			return later("parameters")
		}
		return fail("rds.force_ssl is not 1")
	})
}

func kmsRotation(rec *Stack) []Violation {
	want := kmsWindow(rec)
	return each(rec, "aws:kms/key:Key", func(r *Resource) verdict {
		window := pass
		switch days, known := number(r, "deletionWindowInDays"); {
		case !known:
			window = later("deletionWindowInDays")
		case days != float64(want):
			window = fail(fmt.Sprintf("deletion window %v days, want %d", days, want))
		}
		return worst(enabled(r, "enableKeyRotation", "rotation off"), window)
	})
}

func logGroups(rec *Stack) []Violation {
	return each(rec, "aws:cloudwatch/logGroup:LogGroup", func(r *Resource) verdict {
		retention := pass
		switch days, known := number(r, "retentionInDays"); {
		case !known:
			retention = later("retentionInDays")
		case !slices.Contains(config.LogRetentionDays, int(days)):
			retention = fail("no retention (logs kept forever)")
		}
		return worst(present(r, "kmsKeyId", "not KMS-encrypted"), retention)
	})
}

// --- network and edge ---

// flowLogs: every VPC has a flow log whose vpcId is the VPC's, by value
// when both are known, else by the flow log's dependency on the VPC; a
// flow log whose vpcId is unknown and carries no dependency defers.
func flowLogs(rec *Stack) []Violation {
	var out []Violation
	for _, v := range rec.ByType("awsx:ec2:Vpc") {
		found, unknown := false, false
		for _, fl := range rec.ByType("aws:ec2/flowLog:FlowLog") {
			id, known := str(fl, "vpcId")
			vpcID := v.Outputs["vpcId"]
			switch {
			case known && id != "" && id == vpcID:
				found = true
			case (!known || IsUnknown(vpcID)) && dependsOnTree(rec, fl, "vpcId", v):
				found = true
			case !known || IsUnknown(vpcID):
				unknown = true
			}
		}
		switch {
		case found:
		case unknown:
			out = append(out, later("vpcId").violation(v))
		default:
			out = append(out, fail("no flow log").violation(v))
		}
	}
	return out
}

// dependsOnTree reports whether r's input field depends on owner or on
// a resource below it (a component's output comes from its children).
func dependsOnTree(rec *Stack, r *Resource, field string, owner *Resource) bool {
	for _, dep := range r.PropertyDeps[field] {
		if dep == owner.URN || below(rec, dep, owner.URN) {
			return true
		}
	}
	return false
}

// below reports whether ancestor is among the parents of the resource urn.
func below(rec *Stack, urn, ancestor string) bool {
	parents := make(map[string]string, len(rec.Resources))
	for _, r := range rec.Resources {
		parents[r.URN] = r.Parent
	}
	for seen := map[string]bool{}; urn != "" && !seen[urn]; {
		seen[urn] = true
		urn = parents[urn]
		if urn == ancestor {
			return true
		}
	}
	return false
}

func defaultSG(rec *Stack) []Violation {
	return each(rec, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", func(r *Resource) verdict {
		ingress, inKnown := list(r, "ingress")
		egress, outKnown := list(r, "egress")
		switch {
		case len(ingress)+len(egress) > 0:
			return fail("default security group has rules")
		case !inKnown || !outKnown:
			return later("ingress", "egress")
		}
		return pass
	})
}

// targetTLS: a target group and its health check reach the targets over
// HTTPS, so traffic the listener decrypted is encrypted again inside the
// VPC (docs/service.md, "TLS all the way to the task").
func targetTLS(rec *Stack) []Violation {
	return each(rec, "aws:lb/targetGroup:TargetGroup", func(r *Resource) verdict {
		for _, p := range []string{"protocol", "healthCheck.protocol"} {
			switch v, known := str(r, p); {
			case !known:
				return later(p)
			case v != "HTTPS":
				return fail(fmt.Sprintf("%s is %q, not HTTPS: the hop to the targets is plain text", p, v))
			}
		}
		return pass
	})
}

func httpRedirect(rec *Stack) []Violation {
	return each(rec, "aws:lb/listener:Listener", func(r *Resource) verdict {
		switch protocol, known := str(r, "protocol"); {
		case !known:
			return later("protocol")
		case protocol != "HTTP":
			return pass
		}
		acts, known := list(r, "defaultActions")
		if !known {
			return later("defaultActions")
		}
		if len(acts) != 1 {
			return fail("HTTP listener does not only redirect to HTTPS")
		}
		typ, proto := lookup(acts[0], "type"), lookup(acts[0], "redirect.protocol")
		switch {
		case typ == "redirect" && proto == "HTTPS":
			return pass
		case (typ == "redirect" || IsUnknown(typ)) && (proto == "HTTPS" || IsUnknown(proto)):
			// It may still turn out to be the redirect to HTTPS.
			return later("defaultActions")
		}
		return fail("HTTP listener does not only redirect to HTTPS")
	})
}

func tlsPolicy(rec *Stack) []Violation {
	return each(rec, "aws:lb/listener:Listener", func(r *Resource) verdict {
		protocol, pKnown := str(r, "protocol")
		policy, sKnown := str(r, "sslPolicy")
		switch {
		case pKnown && protocol != "HTTPS":
			return pass
		case !pKnown || !sKnown:
			return later("protocol", "sslPolicy")
		case !strings.HasPrefix(policy, "ELBSecurityPolicy-TLS13-"):
			return fail("ssl policy " + policy + " is not a TLS 1.3 policy")
		}
		return pass
	})
}

func desync(rec *Stack) []Violation {
	return each(rec, "aws:lb/loadBalancer:LoadBalancer", func(r *Resource) verdict {
		switch m, known := str(r, "desyncMitigationMode"); {
		case !known:
			return later("desyncMitigationMode")
		case m != "defensive" && m != "strictest":
			return fail("desync mitigation " + m)
		}
		return pass
	})
}

// albZones counts the subnets: a list of unknown subnet IDs still has a
// known length; only an unknown list defers.
func albZones(rec *Stack) []Violation {
	return each(rec, "aws:lb/loadBalancer:LoadBalancer", func(r *Resource) verdict {
		switch subnets, known := list(r, "subnets"); {
		case !known:
			return later("subnets")
		case len(subnets) < 3:
			return fail(fmt.Sprintf("in %d subnets, want 3", len(subnets)))
		}
		return pass
	})
}

// --- containers ---

func containerInsights(rec *Stack) []Violation {
	return each(rec, "aws:ecs/cluster:Cluster", func(r *Resource) verdict {
		settings, known := list(r, "settings")
		for _, s := range settings {
			name, value := lookup(s, "name"), lookup(s, "value")
			if name == "containerInsights" && (value == "enhanced" || value == "enabled") {
				return pass
			}
			known = known && !anyUnknown(name, value)
		}
		if !known {
			return later("settings")
		}
		return fail("container insights off")
	})
}

func ecsPublicIP(rec *Stack) []Violation {
	return each(rec, "aws:ecs/service:Service", func(r *Resource) verdict {
		return disabled(r, "networkConfiguration.assignPublicIp", "assigns public IPs")
	})
}

// ecsContainers checks one field of every container definition. The
// definitions are one JSON document: while it is unknown (an image URI
// known only once the image is pushed) the check defers.
func ecsContainers(field string, ok func(any) bool) func(*Stack) []Violation {
	return func(rec *Stack) []Violation {
		return each(rec, "aws:ecs/taskDefinition:TaskDefinition", func(r *Resource) verdict {
			doc, known := str(r, "containerDefinitions")
			if !known {
				return later("containerDefinitions")
			}
			var defs []map[string]any
			if err := json.Unmarshal([]byte(doc), &defs); err != nil {
				return fail("container definitions are not JSON")
			}
			for _, d := range defs {
				if !ok(d[field]) {
					return fail(fmt.Sprintf("container %v: %s = %v", d["name"], field, d[field]))
				}
			}
			return pass
		})
	}
}

func ecrImmutable(rec *Stack) []Violation {
	return each(rec, "aws:ecr/repository:Repository", func(r *Resource) verdict {
		switch m, known := str(r, "imageTagMutability"); {
		case !known:
			return later("imageTagMutability")
		case m != "IMMUTABLE":
			return fail("tags are mutable")
		}
		return pass
	})
}

func sfnLogging(rec *Stack) []Violation {
	return each(rec, "aws:sfn/stateMachine:StateMachine", func(r *Resource) verdict {
		const msg = "logging is not ALL with execution data"
		level, known := str(r, "loggingConfiguration.level")
		switch {
		case !known:
			return later("loggingConfiguration.level")
		case level != "ALL":
			return fail(msg)
		}
		return worst(enabled(r, "loggingConfiguration.includeExecutionData", msg),
			enabled(r, "tracingConfiguration.enabled", "X-Ray tracing off"))
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

	// The key sync's HTTP Task (Step Functions): the Service Authorization
	// Reference lists no resource type for states:InvokeHTTPEndpoint; the
	// statement narrows it with states:HTTPMethod and states:HTTPEndpoint.
	"states:InvokeHTTPEndpoint",
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

// identityPolicy is one identity policy document with the resource that
// carries its exemptions (the role for an inline policy); known is false
// while the document is unknown (it names a resource created with it).
type identityPolicy struct {
	subject *Resource
	doc     string
	known   bool
}

// identityPolicies returns each identity policy document. An inline
// policy's role is found by its name or ID, or, while the policy's role
// input is unknown, by that input's dependency on the role.
func identityPolicies(rec *Stack) []identityPolicy {
	var out []identityPolicy
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
		if name, known := str(p, "role"); known && roles[name] != nil {
			subject = roles[name]
		} else if !known {
			for _, role := range rec.ByType("aws:iam/role:Role") {
				if dependsOn(p, "role", role) {
					subject = role
				}
			}
		}
		doc, known := str(p, "policy")
		out = append(out, identityPolicy{subject, doc, known})
	}
	for _, p := range rec.ByType("aws:iam/policy:Policy") {
		doc, known := str(p, "policy")
		out = append(out, identityPolicy{p, doc, known})
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
		if !p.known {
			out = append(out, later("policy").violation(p.subject))
			continue
		}
		stmts, err := statements(p.doc)
		if err != nil {
			out = append(out, fail(err.Error()).violation(p.subject))
			continue
		}
		for _, s := range stmts {
			if s.Effect != "Allow" {
				continue
			}
			for _, a := range strs(s.Action) {
				if a == "*" || strings.HasSuffix(a, ":*") {
					out = append(out, fail("allows "+a).violation(p.subject))
				}
			}
		}
	}
	return out
}

func iamWildcardResources(rec *Stack) []Violation {
	var out []Violation
	for _, p := range identityPolicies(rec) {
		if !p.known {
			out = append(out, later("policy").violation(p.subject))
			continue
		}
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
					out = append(out, fail(a+` on "*" although it supports resource-level permissions`).violation(p.subject))
				}
			}
		}
	}
	return out
}

// --- backup coverage ---

// DataStoreTypes are the resource types holding business data.
var DataStoreTypes = []string{"aws:rds/cluster:Cluster", "aws:dynamodb/table:Table", "aws:s3/bucketV2:BucketV2"}

// backupCoverage: every data store's ARN is in a backup selection's
// resources, or a selection's resources depend on the data store. With
// selections in the stack, an ARN that is unknown (on either side) defers;
// without any selection the data store is not covered.
func backupCoverage(rec *Stack) []Violation {
	selections := rec.ByType("aws:backup/selection:Selection")
	selected := map[string]bool{}
	unknown := false
	for _, s := range selections {
		resources, known := list(s, "resources")
		unknown = unknown || !known || anyUnknown(resources...)
		for _, r := range resources {
			if !IsUnknown(r) {
				selected[fmt.Sprint(r)] = true
			}
		}
	}
	var out []Violation
	for _, typ := range DataStoreTypes {
		for _, r := range rec.ByType(typ) {
			arn := r.Outputs["arn"]
			switch {
			case !IsUnknown(arn) && selected[fmt.Sprint(arn)]:
			case slices.ContainsFunc(selections, func(s *Resource) bool { return dependsOn(s, "resources", r) }):
			case len(selections) > 0 && (unknown || IsUnknown(arn)):
				out = append(out, later("arn").violation(r))
			default:
				out = append(out, fail("not in any AWS Backup selection").violation(r))
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
			out = append(out, fail("protect or retainOnDelete set; destroy would leave it behind").violation(r))
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
		out = append(out, each(rec, typ, func(r *Resource) verdict {
			switch v := value(r, f.field); {
			case v == f.want:
				return pass
			case IsUnknown(v):
				return later(f.field)
			}
			return fail(fmt.Sprintf("%s is not %v", f.field, f.want))
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

// names: every physical name we choose carries the suffix; a name that is
// unknown (derived from another resource's output) defers.
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
			v, known := str(r, f)
			switch {
			case !known:
				out = append(out, later(f).violation(r))
			case v != "" && !token.MatchString(v):
				out = append(out, fail(fmt.Sprintf("%s %q does not carry the suffix %q", f, v, suffix)).violation(r))
			}
		}
	}
	return out
}

// tagging: every aws provider's default tags hold each required tag (a
// tag whose value is unknown is set; unknown tags defer), and every AWS
// resource is deployed through one of those providers.
func tagging(rec *Stack) []Violation {
	var out []Violation
	var providers []*Resource
	for _, p := range rec.ByType("pulumi:providers:aws") {
		providers = append(providers, p)
		tags := value(p, "defaultTags.tags")
		if IsUnknown(tags) {
			out = append(out, later("defaultTags.tags").violation(p))
			continue
		}
		for _, k := range config.RequiredTags {
			if v := present(p, "defaultTags.tags."+k, "defaultTags lacks "+k); v.failed() {
				out = append(out, v.violation(p))
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
			out = append(out, fail("not deployed through the tagged provider").violation(r))
		}
	}
	return out
}

package offline

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Region is the region the mocks pretend to deploy into.
const Region = "us-east-1"

var azs = []string{"a", "b", "c"}

// Outputs returns the state a provider would return for a resource: its
// inputs plus computed values (ARNs, IDs, endpoints) in the formats AWS
// returns, so a policy or reference built from a wrongly shaped output fails
// a test instead of failing in AWS. Every ARN format below is cited from
// AWS's documentation; tests/arn_formats_test.go holds each recorded
// resource's arn (and the IDs other resources reference) to a per-type
// pattern.
func Outputs(typ, logical, id string, inputs resource.PropertyMap) resource.PropertyMap {
	out := inputs.Copy()
	set := func(k string, v any) { out[resource.PropertyKey(k)] = resource.NewPropertyValue(v) }
	name := physicalName(logical, inputs)
	arnOf := func(service, res string) string {
		return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, Region, AccountID, res)
	}
	input := func(k string) string {
		if v, ok := inputs[resource.PropertyKey(k)]; ok && v.IsString() {
			return v.StringValue()
		}
		return ""
	}

	if strings.HasPrefix(typ, "aws:") && !strings.HasPrefix(typ, "aws:index") {
		if arn, ok := arnFor(typ, name, id, inputs); ok {
			set("arn", arn)
		}
		if _, ok := inputs["name"]; !ok {
			set("name", name)
		}
	}
	if id != "" {
		set("id", id)
	}
	switch typ {
	case "awsx:ec2:Vpc":
		set("vpcId", "vpc-0trading")
		for _, tier := range []string{"public", "private", "isolated"} {
			ids := make([]any, len(azs))
			for i, az := range azs {
				ids[i] = fmt.Sprintf("subnet-%s-%s", tier, az)
			}
			set(tier+"SubnetIds", ids)
		}
	case "random:index/randomId:RandomId":
		set("hex", "a1b2c3d4")
		set("b64Url", "obLD1A")
	case "aws:kms/key:Key":
		set("keyId", id)
	// EventBridge stores a connection's authorization in a Secrets Manager
	// secret named events!connection/<name>/<uuid> (EventBridge User
	// Guide, "Connections for HTTP endpoint targets").
	case "aws:cloudwatch/eventConnection:EventConnection":
		set("secretArn", arnOf("secretsmanager", "secret:events!connection/"+name+"/"+uuidOf(name)+"-AbCdEf"))
	case "aws:s3/bucketV2:BucketV2":
		set("bucket", name)
		set("bucketRegionalDomainName", name+".s3."+Region+".amazonaws.com")
	case "aws:sqs/queue:Queue":
		set("url", fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", Region, AccountID, name))
	case "aws:ec2/vpcEndpoint:VpcEndpoint":
		// Gateway endpoints expose the service's AWS-managed prefix list,
		// "pl-xxxxxxxx" ("An AWS prefix list ID uses the form pl-xxxxxxx",
		// https://docs.aws.amazon.com/vpc/latest/privatelink/gateway-endpoints.html).
		if input("vpcEndpointType") == "Gateway" {
			set("prefixListId", "pl-"+hexOf(input("serviceName"), 4))
		}
	case "aws:rds/cluster:Cluster":
		set("clusterIdentifier", name)
		set("clusterResourceId", "cluster-MOCKRESOURCEID")
		set("endpoint", name+".cluster-mock."+Region+".rds.amazonaws.com")
		set("readerEndpoint", name+".cluster-ro-mock."+Region+".rds.amazonaws.com")
		set("port", 5432)
		set("masterUserSecrets", []any{map[string]any{
			"secretArn":    arnOf("secretsmanager", "secret:rds!cluster-mock-AbCdEf"),
			"secretStatus": "active",
		}})
	case "aws:rds/clusterInstance:ClusterInstance":
		set("endpoint", name+".mock."+Region+".rds.amazonaws.com")
	case "aws:lb/loadBalancer:LoadBalancer":
		set("arnSuffix", "app/"+name+"/"+hexOf(name, 8))
		set("dnsName", name+"-1234567890."+Region+".elb.amazonaws.com")
		// The ALB's canonical hosted zone in us-east-1 (Elastic Load
		// Balancing endpoints and quotas, AWS General Reference).
		set("zoneId", "Z35SXDOTRQ7X7K")
	case "aws:lb/targetGroup:TargetGroup":
		set("arnSuffix", "targetgroup/"+name+"/"+hexOf(name, 8))
	case "aws:ecs/taskDefinition:TaskDefinition":
		set("revision", 1)
		set("arnWithoutRevision", arnOf("ecs", "task-definition/"+name))
	case "aws:ecr/repository:Repository":
		set("repositoryUrl", fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", AccountID, Region, name))
		set("registryId", AccountID)
	case "docker-build:index:Image":
		// The digest follows the pushed tag, which follows the content.
		if tags := inputs["tags"]; tags.IsArray() && len(tags.ArrayValue()) > 0 && tags.ArrayValue()[0].IsString() {
			tag := tags.ArrayValue()[0].StringValue()
			digest := "sha256:" + hexOf(tag, 32)
			set("digest", digest)
			set("ref", tag+"@"+digest)
		}
	case "aws:route53/zone:Zone":
		set("zoneId", id)
		set("nameServers", []any{"ns-1.awsdns-01.org", "ns-2.awsdns-02.co.uk", "ns-3.awsdns-03.com", "ns-4.awsdns-04.net"})
	case "aws:acm/certificate:Certificate":
		set("domainValidationOptions", []any{map[string]any{
			"domainName": "mock", "resourceRecordName": "_x.mock.", "resourceRecordType": "CNAME", "resourceRecordValue": "_y.acm-validations.aws.",
		}})
	case "tls:index/privateKey:PrivateKey":
		set("privateKeyPem", "-----BEGIN PRIVATE KEY-----\nmock\n-----END PRIVATE KEY-----\n")
	case "tls:index/selfSignedCert:SelfSignedCert":
		set("certPem", "-----BEGIN CERTIFICATE-----\nmock\n-----END CERTIFICATE-----\n")
	case "aws:cloudwatch/dashboard:Dashboard":
		// Dashboards are global: no Region in the ARN (Service
		// Authorization Reference, Amazon CloudWatch resource types:
		// arn:${Partition}:cloudwatch::${Account}:dashboard/${DashboardName}).
		set("dashboardArn", fmt.Sprintf("arn:aws:cloudwatch::%s:dashboard/%s", AccountID, input("dashboardName")))
	case "aws:s3/bucketObjectv2:BucketObjectv2":
		set("versionId", "mock-version-"+id)
	case "aws:route53/record:Record":
		set("fqdn", strings.TrimSuffix(name, "."))
	case "aws:synthetics/canary:Canary":
		// The ARN of the Lambda function that runs the canary (Synthetics
		// API Reference, Canary EngineArn), with its version; Synthetics
		// names the function cwsyn-<canary name>-<canary id>, the id a UUID.
		set("engineArn", fmt.Sprintf("arn:aws:lambda:%s:%s:function:cwsyn-%s-%s:1", Region, AccountID, name, uuidOf(id)))
	}
	return out
}

// arnFor is the ARN AWS gives a resource of typ, in the format of the
// service's documentation; ok is false for types AWS gives no ARN (bucket
// policies, role policies, event targets, records...), which then have no
// arn output, as with the real provider.
func arnFor(typ, name, id string, inputs resource.PropertyMap) (string, bool) {
	reg := func(service, res string) string {
		return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, Region, AccountID, res)
	}
	input := func(k string) string {
		if v, ok := inputs[resource.PropertyKey(k)]; ok && v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	switch typ {
	// IAM is global: arn:aws:iam::account:role/role-name-with-path
	// (IAM User Guide, "IAM identifiers", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html).
	case "aws:iam/role:Role":
		return fmt.Sprintf("arn:aws:iam::%s:role/%s", AccountID, name), true
	// S3 bucket ARNs have neither Region nor account: arn:aws:s3:::bucket
	// (IAM User Guide, "Identify AWS resources with ARNs", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html).
	case "aws:s3/bucketV2:BucketV2":
		return "arn:aws:s3:::" + name, true
	// KMS key ARN: arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
	// (KMS Developer Guide, "Key identifiers (KeyId)").
	case "aws:kms/key:Key":
		return reg("kms", "key/"+id), true
	case "aws:kms/alias:Alias":
		return reg("kms", name), true
	// RDS: arn:aws:rds:<region>:<account>:<resourcetype>:<name>, with
	// resource types cluster, db, subgrp and cluster-pg (Aurora User
	// Guide, "Constructing an ARN for Amazon RDS",
	// https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_Tagging.ARN.Constructing.html).
	case "aws:rds/cluster:Cluster":
		return reg("rds", "cluster:"+name), true
	case "aws:rds/clusterInstance:ClusterInstance":
		return reg("rds", "db:"+name), true
	case "aws:rds/subnetGroup:SubnetGroup":
		return reg("rds", "subgrp:"+name), true
	case "aws:rds/clusterParameterGroup:ClusterParameterGroup":
		return reg("rds", "cluster-pg:"+name), true
	// CloudWatch alarm ARN: arn:aws:cloudwatch:Region:account-id:alarm:alarm-name
	// (CloudWatch API Reference, TagResource ResourceARN).
	case "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/compositeAlarm:CompositeAlarm":
		return reg("cloudwatch", "alarm:"+name), true
	// Log group ARN: arn:aws:logs:region:account-id:log-group:log_group_name;
	// the pulumi-aws v6 arn output drops the ":*" the API adds ("Any :*
	// suffix added by the API ... is removed", pulumi-aws cloudwatch.LogGroup
	// arn; CloudWatch Logs API LogGroup.logGroupArn "doesn't include a
	// trailing :*").
	case "aws:cloudwatch/logGroup:LogGroup":
		return reg("logs", "log-group:"+name), true
	// SSM: arn:aws:ssm:region:account-id:parameter/path. A hierarchical name
	// already starts with "/" (PutParameter Name: "you must include a
	// leading forward slash"), so it follows "parameter" directly.
	case "aws:ssm/parameter:Parameter":
		if strings.HasPrefix(name, "/") {
			return reg("ssm", "parameter"+name), true
		}
		return reg("ssm", "parameter/"+name), true
	// SNS: arn:partition:sns:region:account:topic-name; SQS:
	// arn:aws:sqs:us-east-1:987654321000:MyQueue (AWS SDK references).
	case "aws:sns/topic:Topic":
		return reg("sns", name), true
	case "aws:sns/topicSubscription:TopicSubscription":
		return reg("sns", input("topic")[strings.LastIndex(input("topic"), ":")+1:]+":"+uuidOf(id)), true
	case "aws:sqs/queue:Queue":
		return reg("sqs", name), true
	// EventBridge (Service Authorization Reference, Amazon EventBridge):
	// event-bus/${EventBusName}, rule/[${EventBusName}/]${RuleName},
	// archive/${ArchiveName}.
	case "aws:cloudwatch/eventBus:EventBus":
		return reg("events", "event-bus/"+name), true
	case "aws:cloudwatch/eventRule:EventRule":
		if b := input("eventBusName"); b != "" && b != "default" {
			return reg("events", "rule/"+b[strings.LastIndex(b, "/")+1:]+"/"+name), true
		}
		return reg("events", "rule/"+name), true
	case "aws:cloudwatch/eventArchive:EventArchive":
		return reg("events", "archive/"+name), true
	// EventBridge connection: connection/<name>/<uuid> (EventBridge API
	// Reference, CreateConnection ConnectionArn example
	// arn:aws:events:us-east-1:123456789012:connection/my-connection/...).
	case "aws:cloudwatch/eventConnection:EventConnection":
		return reg("events", "connection/"+name+"/"+uuidOf(name)), true
	// EventBridge Scheduler: schedule/${GroupName}/${ScheduleName}.
	case "aws:scheduler/schedule:Schedule":
		group := input("groupName")
		if group == "" {
			group = "default"
		}
		return reg("scheduler", "schedule/"+group+"/"+name), true
	// Step Functions: arn:<partition>:states:<region>:<account-id>:stateMachine:<myStateMachine>
	// (Step Functions API Reference, StartExecution stateMachineArn).
	case "aws:sfn/stateMachine:StateMachine":
		return reg("states", "stateMachine:"+name), true
	// ECS (Service Authorization Reference, Amazon ECS): cluster/${ClusterName},
	// service/${ClusterName}/${ServiceName} (the long ARN format,
	// arn:aws:ecs:region:aws_account_id:service/cluster-name/service-name),
	// task-definition/${TaskDefinitionFamilyName}:${TaskDefinitionRevisionNumber}.
	case "aws:ecs/cluster:Cluster":
		return reg("ecs", "cluster/"+name), true
	case "aws:ecs/service:Service":
		cluster := input("cluster")
		return reg("ecs", "service/"+cluster[strings.LastIndex(cluster, "/")+1:]+"/"+name), true
	case "aws:ecs/taskDefinition:TaskDefinition":
		return reg("ecs", "task-definition/"+name+":1"), true
	// ECR: arn:aws:ecr:region:012345678910:repository/test (ECR API Reference, Repository).
	case "aws:ecr/repository:Repository":
		return reg("ecr", "repository/"+name), true
	// Elastic Load Balancing: loadbalancer/app/<name>/<id>,
	// targetgroup/<name>/<id> (16 hex digits; WAF AssociateWebACL
	// ResourceArn, Auto Scaling TrafficSourceIdentifier), and
	// listener/app/<lb-name>/<lb-id>/<listener-id>.
	case "aws:lb/loadBalancer:LoadBalancer":
		return reg("elasticloadbalancing", "loadbalancer/app/"+name+"/"+hexOf(name, 8)), true
	case "aws:lb/targetGroup:TargetGroup":
		return reg("elasticloadbalancing", "targetgroup/"+name+"/"+hexOf(name, 8)), true
	case "aws:lb/listener:Listener":
		_, suffix, _ := strings.Cut(input("loadBalancerArn"), ":loadbalancer/")
		return reg("elasticloadbalancing", "listener/"+suffix+"/"+hexOf(id, 8)), true
	// DynamoDB: arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}
	// (Service Authorization Reference, Amazon DynamoDB).
	case "aws:dynamodb/table:Table":
		return reg("dynamodb", "table/"+name), true
	// AWS Backup (Service Authorization Reference, AWS Backup):
	// backup-vault:${BackupVaultName}, backup-plan:${BackupPlanId},
	// restore-testing-plan:${RestoreTestingPlanName}-${Id}.
	case "aws:backup/vault:Vault":
		return reg("backup", "backup-vault:"+name), true
	case "aws:backup/plan:Plan":
		return reg("backup", "backup-plan:"+id), true
	case "aws:backup/restoreTestingPlan:RestoreTestingPlan":
		return reg("backup", "restore-testing-plan:"+name+"-"+hexOf(name, 3)), true
	// Synthetics: arn:aws:synthetics:Region:account-id:canary:canary-name
	// (Synthetics API Reference, UntagResource ResourceArn).
	case "aws:synthetics/canary:Canary":
		return reg("synthetics", "canary:"+name), true
	// ACM: certificate/${CertificateId} (a UUID).
	case "aws:acm/certificate:Certificate":
		return reg("acm", "certificate/"+id), true
	// EC2: security-group/${SecurityGroupId}, vpc-endpoint/${VpcEndpointId}.
	case "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup":
		return reg("ec2", "security-group/"+id), true
	case "aws:ec2/vpcEndpoint:VpcEndpoint":
		return reg("ec2", "vpc-endpoint/"+id), true
	case "aws:ec2/flowLog:FlowLog":
		return reg("ec2", "vpc-flow-log/"+id), true
	// WAFv2 regional web ACL: regional/webacl/${Name}/${Id}.
	case "aws:wafv2/webAcl:WebAcl":
		return reg("wafv2", "regional/webacl/"+name+"/"+id), true
	// Application Auto Scaling: scalable-target/${ResourceId} and
	// scalingPolicy:${PolicyId}:resource/${ServiceNamespace}/${ResourceId}:policyName/${PolicyName}.
	case "aws:appautoscaling/target:Target":
		return reg("application-autoscaling", "scalable-target/"+hexOf(id, 14)), true
	case "aws:appautoscaling/policy:Policy":
		return fmt.Sprintf("arn:aws:autoscaling:%s:%s:scalingPolicy:%s:resource/%s/%s:policyName/%s",
			Region, AccountID, uuidOf(id), input("serviceNamespace"), input("resourceId"), name), true
	// Route 53 is global: arn:aws:route53:::hostedzone/<id>, healthcheck/<id>.
	case "aws:route53/zone:Zone":
		return "arn:aws:route53:::hostedzone/" + id, true
	case "aws:route53/healthCheck:HealthCheck":
		return "arn:aws:route53:::healthcheck/" + id, true
	// FIS: experiment-template/${Id}; Resilience Hub: resiliency-policy/${Id}.
	case "aws:fis/experimentTemplate:ExperimentTemplate":
		return reg("fis", "experiment-template/"+id), true
	case "aws:resiliencehub/resiliencyPolicy:ResiliencyPolicy":
		return reg("resiliencehub", "resiliency-policy/"+uuidOf(id)), true
	}
	return "", false
}

// hexOf is 2n lowercase hex digits derived from s, stable run to run.
func hexOf(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:n])
}

// uuidOf is a UUID-shaped identifier derived from s.
func uuidOf(s string) string {
	h := hexOf(s, 16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// physicalName is the name the resource would have in AWS.
func physicalName(logical string, inputs resource.PropertyMap) string {
	for _, k := range []resource.PropertyKey{"name", "alarmName", "bucket", "identifier", "clusterIdentifier", "family"} {
		if v, ok := inputs[k]; ok && v.IsString() && v.StringValue() != "" {
			return v.StringValue()
		}
	}
	return logical
}

// Answer answers the data-source calls the program makes.
func Answer(token string, args resource.PropertyMap) (resource.PropertyMap, error) {
	switch token {
	case "aws:index/getCallerIdentity:getCallerIdentity":
		return resource.NewPropertyMapFromMap(map[string]any{
			"accountId": AccountID, "arn": "arn:aws:iam::" + AccountID + ":user/ci", "userId": "AIDAMOCK", "id": AccountID,
		}), nil
	case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
		// ECR's registry credentials (GetAuthorizationToken): user AWS, a
		// 12-hour token, the registry's https endpoint.
		return resource.NewPropertyMapFromMap(map[string]any{
			"userName": "AWS", "password": "mock-ecr-token", "authorizationToken": "QVdTOm1vY2stZWNyLXRva2Vu",
			"proxyEndpoint": fmt.Sprintf("https://%s.dkr.ecr.%s.amazonaws.com", AccountID, Region),
			"expiresAt":     "2026-01-01T12:00:00Z", "id": Region,
		}), nil
	}
	return nil, fmt.Errorf("offline: no mock for invoke %s; add one in proof/offline/outputs.go", token)
}

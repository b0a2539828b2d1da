package offline

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Region is the region the mocks pretend to deploy into.
const Region = "us-east-1"

var azs = []string{"a", "b", "c"}

// Outputs returns the state a provider would return for a resource: its
// inputs plus realistic computed values (ARNs, IDs, endpoints), so every
// apply in the program resolves under mocks.
func Outputs(typ, logical, id string, inputs resource.PropertyMap) resource.PropertyMap {
	out := inputs.Copy()
	set := func(k string, v any) { out[resource.PropertyKey(k)] = resource.NewPropertyValue(v) }
	name := physicalName(logical, inputs)
	service, kind := serviceOf(typ)
	arnOf := func(res string) string { return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, Region, AccountID, res) }

	if strings.HasPrefix(typ, "aws:") && !strings.HasPrefix(typ, "aws:index") {
		set("arn", arnOf(kind+"/"+name))
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
	case "random:index/randomPassword:RandomPassword":
		out["result"] = resource.MakeSecret(resource.NewStringProperty("mock-password-not-real"))
	case "aws:kms/key:Key":
		set("arn", arnOf("key/"+id))
		set("keyId", id)
	case "aws:iam/role:Role", "aws:iam/policy:Policy":
		set("arn", fmt.Sprintf("arn:aws:iam::%s:%s/%s", AccountID, kind, name))
	case "aws:s3/bucketV2:BucketV2":
		set("arn", "arn:aws:s3:::"+name)
		set("bucket", name)
		set("bucketRegionalDomainName", name+".s3."+Region+".amazonaws.com")
	case "aws:cloudwatch/logGroup:LogGroup":
		set("arn", arnOf("log-group:"+name))
	case "aws:ssm/parameter:Parameter":
		set("arn", arnOf("parameter"+name))
	case "aws:sns/topic:Topic", "aws:sqs/queue:Queue":
		set("arn", arnOf(name))
		set("url", fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", Region, AccountID, name))
	case "aws:cloudwatch/eventBus:EventBus":
		set("arn", arnOf("event-bus/"+name))
	case "aws:sfn/stateMachine:StateMachine":
		set("arn", fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", Region, AccountID, name))
	case "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/compositeAlarm:CompositeAlarm":
		set("arn", arnOf("alarm:"+name))
	case "aws:ec2/vpcEndpoint:VpcEndpoint":
		set("prefixListId", "pl-"+id)
	case "aws:ec2/securityGroup:SecurityGroup":
		set("arn", arnOf("security-group/"+id))
	case "aws:rds/cluster:Cluster":
		set("arn", arnOf("cluster:"+name))
		set("clusterIdentifier", name)
		set("clusterResourceId", "cluster-MOCKRESOURCEID")
		set("endpoint", name+".cluster-mock."+Region+".rds.amazonaws.com")
		set("readerEndpoint", name+".cluster-ro-mock."+Region+".rds.amazonaws.com")
		set("port", 5432)
		set("masterUserSecrets", []any{map[string]any{
			"secretArn":    fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:rds!cluster-mock-AbCdEf", Region, AccountID),
			"secretStatus": "active",
		}})
	case "aws:rds/clusterInstance:ClusterInstance":
		set("arn", arnOf("db:"+name))
		set("endpoint", name+".mock."+Region+".rds.amazonaws.com")
	case "aws:lb/loadBalancer:LoadBalancer":
		set("arn", arnOf("loadbalancer/app/"+name+"/50dc6c495c0c9188"))
		set("arnSuffix", "app/"+name+"/50dc6c495c0c9188")
		set("dnsName", name+"-1234567890."+Region+".elb.amazonaws.com")
		set("zoneId", "Z35SXDOTRQ7X7K")
	case "aws:lb/targetGroup:TargetGroup":
		set("arn", arnOf("targetgroup/"+name+"/73e2d6bc24d8a067"))
		set("arnSuffix", "targetgroup/"+name+"/73e2d6bc24d8a067")
	case "aws:lb/listener:Listener":
		set("arn", arnOf("listener/app/alb/50dc6c495c0c9188/"+id))
	case "aws:ecs/cluster:Cluster":
		set("arn", arnOf("cluster/"+name))
	case "aws:ecs/service:Service":
		set("arn", arnOf("service/"+name))
		// Real service ARNs carry the cluster name: service/<cluster>/<service>.
		if c, ok := inputs["cluster"]; ok && c.IsString() && strings.Contains(c.StringValue(), ":cluster/") {
			set("arn", arnOf("service/"+c.StringValue()[strings.LastIndex(c.StringValue(), "/")+1:]+"/"+name))
		}
	case "aws:ecs/taskDefinition:TaskDefinition":
		set("arn", arnOf("task-definition/"+name+":1"))
		set("revision", 1)
	case "aws:ecr/repository:Repository":
		set("repositoryUrl", fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", AccountID, Region, name))
	case "awsx:ecr:Image":
		set("imageUri", fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/ecr-trading@sha256:%s", AccountID, Region, strings.Repeat("0", 64)))
	case "aws:route53/zone:Zone":
		set("zoneId", "Z0MOCKZONE")
		set("nameServers", []any{"ns-1.awsdns-01.org", "ns-2.awsdns-02.co.uk", "ns-3.awsdns-03.com", "ns-4.awsdns-04.net"})
	case "aws:acm/certificate:Certificate":
		set("arn", arnOf("certificate/"+id))
		set("domainValidationOptions", []any{map[string]any{
			"domainName": "mock", "resourceRecordName": "_x.mock.", "resourceRecordType": "CNAME", "resourceRecordValue": "_y.acm-validations.aws.",
		}})
	case "tls:index/privateKey:PrivateKey":
		set("privateKeyPem", "-----BEGIN PRIVATE KEY-----\nmock\n-----END PRIVATE KEY-----\n")
	case "tls:index/selfSignedCert:SelfSignedCert":
		set("certPem", "-----BEGIN CERTIFICATE-----\nmock\n-----END CERTIFICATE-----\n")
	case "aws:synthetics/canary:Canary":
		set("arn", arnOf("canary:"+name))
	case "aws:dynamodb/table:Table":
		set("arn", arnOf("table/"+name))
	case "aws:backup/vault:Vault":
		set("arn", arnOf("backup-vault:"+name))
	case "aws:backup/plan:Plan":
		set("arn", arnOf("backup-plan:"+id))
	case "aws:backup/restoreTestingPlan:RestoreTestingPlan":
		set("arn", arnOf("restore-testing-plan:"+name+"-0a1b2c3d"))
	case "aws:cloudwatch/eventRule:EventRule":
		set("arn", arnOf("rule/"+name))
		if b, ok := inputs["eventBusName"]; ok && b.IsString() && b.StringValue() != "" && b.StringValue() != "default" {
			set("arn", arnOf("rule/"+b.StringValue()+"/"+name))
		}
	case "aws:cloudwatch/eventArchive:EventArchive":
		set("arn", arnOf("archive/"+name))
	case "aws:scheduler/schedule:Schedule":
		set("arn", arnOf("schedule/default/"+name))
	case "aws:wafv2/webAcl:WebAcl":
		set("arn", arnOf("regional/webacl/"+name+"/"+id))
	case "aws:appautoscaling/target:Target":
		set("arn", fmt.Sprintf("arn:aws:application-autoscaling:%s:%s:scalable-target/%s", Region, AccountID, id))
	case "aws:appautoscaling/policy:Policy":
		set("arn", fmt.Sprintf("arn:aws:autoscaling:%s:%s:scalingPolicy:%s:resource/rds/%s:policyName/%s", Region, AccountID, id, inputs["resourceId"].StringValue(), name))
	case "aws:s3/bucketObjectv2:BucketObjectv2":
		set("versionId", "mock-version-"+id)
	case "aws:route53/record:Record":
		set("fqdn", strings.TrimSuffix(name, "."))
	case "aws:route53/healthCheck:HealthCheck":
		set("arn", "arn:aws:route53:::healthcheck/"+id)
	case "aws:fis/experimentTemplate:ExperimentTemplate":
		set("arn", arnOf("experiment-template/"+id))
	case "aws:resiliencehub/resiliencyPolicy:ResiliencyPolicy":
		set("arn", arnOf("resiliency-policy/"+id))
	}
	return out
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

// serviceOf splits "aws:rds/cluster:Cluster" into ("rds", "cluster").
func serviceOf(typ string) (string, string) {
	parts := strings.Split(typ, ":")
	if len(parts) != 3 {
		return "", ""
	}
	mod := parts[1]
	kind := strings.ToLower(parts[2])
	if i := strings.Index(mod, "/"); i >= 0 {
		mod = mod[:i]
	}
	switch mod {
	case "cloudwatch":
		if strings.Contains(typ, "logGroup") {
			mod = "logs"
		} else if strings.Contains(typ, "event") {
			mod = "events"
		}
	case "lb":
		mod = "elasticloadbalancing"
	case "sfn":
		mod = "states"
	case "appautoscaling":
		mod = "application-autoscaling"
	}
	return mod, kind
}

// Invoke answers the data-source calls the program makes.
func Invoke(token string, args resource.PropertyMap) (resource.PropertyMap, error) {
	switch token {
	case "aws:index/getCallerIdentity:getCallerIdentity":
		return resource.NewPropertyMapFromMap(map[string]any{
			"accountId": AccountID, "arn": "arn:aws:iam::" + AccountID + ":user/ci", "userId": "AIDAMOCK", "id": AccountID,
		}), nil
	case "aws:index/getRegion:getRegion":
		return resource.NewPropertyMapFromMap(map[string]any{"name": Region, "id": Region}), nil
	case "aws:index/getPartition:getPartition":
		return resource.NewPropertyMapFromMap(map[string]any{"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}), nil
	case "aws:ec2/getRouteTables:getRouteTables":
		return resource.NewPropertyMapFromMap(map[string]any{
			"ids": []any{"rtb-public", "rtb-private-a", "rtb-private-b", "rtb-private-c", "rtb-isolated-a", "rtb-isolated-b", "rtb-isolated-c"},
			"id":  Region,
		}), nil
	}
	return nil, fmt.Errorf("offline: no mock for invoke %s; add one in internal/offline/outputs.go", token)
}

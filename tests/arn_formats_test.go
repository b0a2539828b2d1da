package tests

import (
	"regexp"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/trading-ha/trading-ha/proof/offline"
)

// The formats the mocks must produce, per type; the sources are cited in
// proof/offline/outputs.go. REG, ACCT and UUID are expanded below.
var arnPatterns = map[string]string{
	"aws:iam/role:Role":                                   `^arn:aws:iam::ACCT:role/[\w+=,.@-]{1,64}$`,
	"aws:s3/bucketV2:BucketV2":                            `^arn:aws:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`,
	"aws:kms/key:Key":                                     `^arn:aws:kms:REG:ACCT:key/UUID$`,
	"aws:kms/alias:Alias":                                 `^arn:aws:kms:REG:ACCT:alias/[\w/-]+$`,
	"aws:rds/cluster:Cluster":                             `^arn:aws:rds:REG:ACCT:cluster:[a-z][a-z0-9-]{0,62}$`,
	"aws:rds/clusterInstance:ClusterInstance":             `^arn:aws:rds:REG:ACCT:db:[a-z][a-z0-9-]{0,62}$`,
	"aws:rds/subnetGroup:SubnetGroup":                     `^arn:aws:rds:REG:ACCT:subgrp:[a-z0-9-]+$`,
	"aws:rds/clusterParameterGroup:ClusterParameterGroup": `^arn:aws:rds:REG:ACCT:cluster-pg:[a-z0-9-]+$`,
	"aws:cloudwatch/metricAlarm:MetricAlarm":              `^arn:aws:cloudwatch:REG:ACCT:alarm:[^:/]+$`,
	"aws:cloudwatch/compositeAlarm:CompositeAlarm":        `^arn:aws:cloudwatch:REG:ACCT:alarm:[^:/]+$`,
	"aws:cloudwatch/logGroup:LogGroup":                    `^arn:aws:logs:REG:ACCT:log-group:[\w./#-]+$`,
	"aws:ssm/parameter:Parameter":                         `^arn:aws:ssm:REG:ACCT:parameter/[\w.-]+(/[\w.-]+)*$`,
	"aws:sns/topic:Topic":                                 `^arn:aws:sns:REG:ACCT:[\w-]{1,256}$`,
	"aws:sns/topicSubscription:TopicSubscription":         `^arn:aws:sns:REG:ACCT:[\w-]{1,256}:UUID$`,
	"aws:sqs/queue:Queue":                                 `^arn:aws:sqs:REG:ACCT:[\w-]{1,80}$`,
	"aws:cloudwatch/eventBus:EventBus":                    `^arn:aws:events:REG:ACCT:event-bus/[\w.-]+$`,
	"aws:cloudwatch/eventRule:EventRule":                  `^arn:aws:events:REG:ACCT:rule/([\w.-]+/)?[\w.-]{1,64}$`,
	"aws:cloudwatch/eventArchive:EventArchive":            `^arn:aws:events:REG:ACCT:archive/[\w.-]{1,48}$`,
	"aws:cloudwatch/eventConnection:EventConnection":      `^arn:aws:events:REG:ACCT:connection/[\w.-]{1,64}/[0-9a-f-]{36}$`,
	"aws:scheduler/schedule:Schedule":                     `^arn:aws:scheduler:REG:ACCT:schedule/[\w.-]+/[\w.-]{1,64}$`,
	"aws:sfn/stateMachine:StateMachine":                   `^arn:aws:states:REG:ACCT:stateMachine:[\w-]{1,80}$`,
	"aws:ecs/cluster:Cluster":                             `^arn:aws:ecs:REG:ACCT:cluster/[\w-]{1,255}$`,
	"aws:ecs/service:Service":                             `^arn:aws:ecs:REG:ACCT:service/[\w-]{1,255}/[\w-]{1,255}$`,
	"aws:ecs/taskDefinition:TaskDefinition":               `^arn:aws:ecs:REG:ACCT:task-definition/[\w-]{1,255}:\d+$`,
	"aws:ecr/repository:Repository":                       `^arn:aws:ecr:REG:ACCT:repository/[a-z0-9._/-]+$`,
	"aws:lb/loadBalancer:LoadBalancer":                    `^arn:aws:elasticloadbalancing:REG:ACCT:loadbalancer/app/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$`,
	"aws:lb/targetGroup:TargetGroup":                      `^arn:aws:elasticloadbalancing:REG:ACCT:targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$`,
	"aws:lb/listener:Listener":                            `^arn:aws:elasticloadbalancing:REG:ACCT:listener/app/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}/[0-9a-f]{16}$`,
	"aws:dynamodb/table:Table":                            `^arn:aws:dynamodb:REG:ACCT:table/[\w.-]{3,255}$`,
	"aws:backup/vault:Vault":                              `^arn:aws:backup:REG:ACCT:backup-vault:[\w.-]{2,50}$`,
	"aws:backup/plan:Plan":                                `^arn:aws:backup:REG:ACCT:backup-plan:UUID$`,
	"aws:backup/restoreTestingPlan:RestoreTestingPlan":    `^arn:aws:backup:REG:ACCT:restore-testing-plan:\w{1,50}-[0-9a-f]{6}$`,
	"aws:synthetics/canary:Canary":                        `^arn:aws:synthetics:REG:ACCT:canary:[a-z0-9_-]{1,255}$`,
	"aws:acm/certificate:Certificate":                     `^arn:aws:acm:REG:ACCT:certificate/UUID$`,
	"aws:ec2/securityGroup:SecurityGroup":                 `^arn:aws:ec2:REG:ACCT:security-group/sg-[0-9a-f]{17}$`,
	"aws:ec2/defaultSecurityGroup:DefaultSecurityGroup":   `^arn:aws:ec2:REG:ACCT:security-group/sg-[0-9a-f]{17}$`,
	"aws:ec2/vpcEndpoint:VpcEndpoint":                     `^arn:aws:ec2:REG:ACCT:vpc-endpoint/vpce-[0-9a-f]{17}$`,
	"aws:ec2/flowLog:FlowLog":                             `^arn:aws:ec2:REG:ACCT:vpc-flow-log/fl-[0-9a-f]{17}$`,
	"aws:wafv2/webAcl:WebAcl":                             `^arn:aws:wafv2:REG:ACCT:regional/webacl/[\w-]{1,128}/UUID$`,
	"aws:appautoscaling/target:Target":                    `^arn:aws:application-autoscaling:REG:ACCT:scalable-target/[0-9a-f]+$`,
	"aws:appautoscaling/policy:Policy":                    `^arn:aws:autoscaling:REG:ACCT:scalingPolicy:UUID:resource/[a-z]+/.+:policyName/[\w-]+$`,
	"aws:route53/zone:Zone":                               `^arn:aws:route53:::hostedzone/Z[0-9A-Z]{1,31}$`,
	"aws:route53/healthCheck:HealthCheck":                 `^arn:aws:route53:::healthcheck/UUID$`,
	"aws:fis/experimentTemplate:ExperimentTemplate":       `^arn:aws:fis:REG:ACCT:experiment-template/[\w-]+$`,
	"aws:resiliencehub/resiliencyPolicy:ResiliencyPolicy": `^arn:aws:resiliencehub:REG:ACCT:resiliency-policy/UUID$`,
}

const uuidRE = `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`

// idPatterns are the outputs other resources reference by ID.
var idPatterns = map[string]map[string]string{
	"aws:kms/key:Key":                     {"id": `^UUID$`, "keyId": `^UUID$`},
	"aws:ec2/securityGroup:SecurityGroup": {"id": `^sg-[0-9a-f]{17}$`},
	"aws:ec2/vpcEndpoint:VpcEndpoint":     {"id": `^vpce-[0-9a-f]{17}$`, "prefixListId": `^pl-[0-9a-f]{8}$`},
	"aws:route53/zone:Zone":               {"id": `^Z[0-9A-Z]{1,31}$`, "zoneId": `^Z[0-9A-Z]{1,31}$`},
	"aws:route53/healthCheck:HealthCheck": {"id": `^UUID$`},
	"aws:lb/loadBalancer:LoadBalancer":    {"zoneId": `^Z[0-9A-Z]{1,31}$`, "arnSuffix": `^app/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$`},
	"aws:lb/targetGroup:TargetGroup":      {"arnSuffix": `^targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$`},
	"aws:acm/certificate:Certificate":     {"id": `^UUID$`},
	"aws:wafv2/webAcl:WebAcl":             {"id": `^UUID$`},
}

func matchesAny(arn string) bool {
	for _, p := range arnPatterns {
		if expandPattern(p).MatchString(arn) {
			return true
		}
	}
	return false
}

func expandPattern(p string) *regexp.Regexp {
	r := strings.NewReplacer("REG", offline.Region, "ACCT", acct, "UUID", uuidRE)
	return regexp.MustCompile(r.Replace(p))
}

// TestARNFormats holds every recorded resource's arn output, and the IDs
// other resources reference, to the format AWS documents for its type: a
// type with an arn output and no pattern here fails too.
func TestARNFormats(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		for _, r := range rec.Resources {
			if !r.Custom {
				continue
			}
			if arn, ok := r.Inputs["arn"].(string); ok {
				// An input (event target, topic policy): the ARN of
				// another resource, in one of the known formats.
				if !matchesAny(arn) {
					t.Errorf("%s %s: arn input %q matches no AWS format in arnPatterns", r.Type, r.Name, arn)
				}
			} else if arn, ok := r.Outputs["arn"].(string); ok {
				p, known := arnPatterns[r.Type]
				switch {
				case !known:
					t.Errorf("%s %s: arn %q has no AWS format in arnPatterns; add it with its source", r.Type, r.Name, arn)
				case !expandPattern(p).MatchString(arn):
					t.Errorf("%s %s: arn %q does not match %s", r.Type, r.Name, arn, p)
				}
			}
			for key, p := range idPatterns[r.Type] {
				if key == "prefixListId" && r.Input("vpcEndpointType") != "Gateway" {
					continue
				}
				v, _ := r.Outputs[key].(string)
				if !expandPattern(p).MatchString(v) {
					t.Errorf("%s %s: %s %q does not match %s", r.Type, r.Name, key, v, p)
				}
			}
		}
	})
}

// TestSSMParameterARN pins the one-slash parameter ARN: hierarchical names
// start with "/", so "parameter/"+name would give parameter//trading/...
func TestSSMParameterARN(t *testing.T) {
	got := offline.Outputs("aws:ssm/parameter:Parameter", "p", "/trading/dev/db/port",
		resource.NewPropertyMapFromMap(map[string]any{"name": "/trading/dev/db/port"}))["arn"].StringValue()
	want := "arn:aws:ssm:us-east-1:" + acct + ":parameter/trading/dev/db/port"
	if got != want {
		t.Errorf("parameter arn = %q, want %q", got, want)
	}
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		params := rec.ByType("aws:ssm/parameter:Parameter")
		if len(params) == 0 {
			t.Fatal("no SSM parameters recorded")
		}
		for _, p := range params {
			arn := out(t, p, "arn")
			if strings.Contains(arn, "parameter//") || arn != "arn:aws:ssm:us-east-1:"+acct+":parameter"+p.Input("name").(string) {
				t.Errorf("%s: arn %q is not arn:aws:ssm:us-east-1:%s:parameter<name>", p.Name, arn, acct)
			}
		}
	})
}

package docgen

import (
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/proof/offline"
)

// stackRec is a small recording of one stack with the given resources.
func stackRec(stack string, rs ...*offline.Resource) *offline.Recording {
	return &offline.Recording{Stack: stack, Config: map[string]string{"trading-ha:environmentSuffix": stack}, Resources: rs}
}

func TestGeneric(t *testing.T) {
	rec := stackRec("dev")
	for in, want := range map[string]string{
		"rule-orders-dev": "rule-orders-<s>",
		"arn:aws:sns:us-east-1:123456789012:notify-dev": "arn:aws:sns:us-east-1:<acct>:notify-<s>",
		"service/ecs-dev/svc-trading-dev":               "service/ecs-<s>/svc-trading-<s>",
		"device-dev-dev":                                "device-<s>-<s>",
		"/aws/events/events-audit-dev":                  "/aws/events/events-audit-<s>",
	} {
		if got := Generic(rec, in); got != want {
			t.Errorf("Generic(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEventRulesPerStack(t *testing.T) {
	rule := func(stack string, pattern string) *offline.Resource {
		return res("events", ruleType, "rule-"+stack, map[string]any{"name": "rule-aurora-" + stack, "eventPattern": pattern}, nil)
	}
	target := func(stack string, retries float64, dlq bool) *offline.Resource {
		in := map[string]any{
			"rule": "rule-aurora-" + stack, "arn": "arn:aws:sns:us-east-1:123456789012:notify-" + stack,
			"retryPolicy": map[string]any{"maximumRetryAttempts": retries, "maximumEventAgeInSeconds": 3600.0},
		}
		if dlq {
			in["deadLetterConfig"] = map[string]any{"arn": "arn:aws:sqs:us-east-1:123456789012:dlq-" + stack}
		}
		return res("events", targetType, "t-"+stack, in, nil)
	}
	p := `{"source":["aws.rds"],"detail-type":["RDS DB Cluster Event"],"detail":{"EventCategories":["failover","failure"]},"resources":["arn:aws:rds:us-east-1:123456789012:cluster:aurora-%s"]}`
	dev := stackRec("dev", rule("dev", strings.ReplaceAll(p, "%s", "dev")), target("dev", 10, true))
	prod := stackRec("prod", rule("prod", strings.ReplaceAll(p, "%s", "prod")), target("prod", 185, false))
	got := EventRules([]*offline.Recording{dev, prod})
	for _, want := range []string{
		"- dev: **1 rules** (0 on the custom bus, 1 on the default bus), **1 targets** (0 without a dead-letter queue)",
		"- prod: **1 rules** (0 on the custom bus, 1 on the default bus), **1 targets** (1 without a dead-letter queue)",
		"detail.EventCategories in `failover`, `failure`; resources = `arn:aws:rds:us-east-1:<acct>:cluster:aurora-<s>`",
		"topic `notify-<s>` (retry 10× / 3600 s, DLQ `dlq-<s>`) | dev |",
		"topic `notify-<s>` (retry 185× / 3600 s, no DLQ) | prod |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("event rules lack %q:\n%s", want, got)
		}
	}
}

func TestAlarmsGroupAndCount(t *testing.T) {
	// The composite watches aurora-1 only, so it is a row of its own.
	alarm := func(stack, name string, threshold float64) *offline.Resource {
		return res("monitoring", metricAlarmType, name, map[string]any{
			"name": name, "namespace": "AWS/RDS", "metricName": "CPUUtilization", "statistic": "Average",
			"period": 60.0, "evaluationPeriods": 2.0, "threshold": threshold, "comparisonOperator": "GreaterThanThreshold",
			"treatMissingData": "notBreaching", "alarmActions": []any{"arn:aws:sns:us-east-1:123456789012:notify-" + stack},
			"dimensions": map[string]any{"DBInstanceIdentifier": "x"},
		}, nil)
	}
	composite := func(stack string) *offline.Resource {
		return res("monitoring", compositeAlarmType, "degraded-"+stack, map[string]any{
			"alarmName": "alarm-degraded-" + stack, "alarmRule": `ALARM("alarm-aurora-1-cpu-` + stack + `")`,
			"alarmActions": []any{"arn:aws:sns:us-east-1:123456789012:alarms-" + stack},
		}, nil)
	}
	dev := stackRec("dev", alarm("dev", "alarm-aurora-1-cpu-dev", 80), alarm("dev", "alarm-aurora-2-cpu-dev", 80), composite("dev"))
	prod := stackRec("prod", alarm("prod", "alarm-aurora-1-cpu-prod", 80), alarm("prod", "alarm-aurora-2-cpu-prod", 80), alarm("prod", "alarm-aurora-3-cpu-prod", 80), composite("prod"))
	got := Alarms([]*offline.Recording{dev, prod})
	for _, want := range []string{
		"- dev: **2 metric alarms**, **1 composite**",
		"| `alarm-aurora-<n>-cpu-<s>` | `monitoring` | `AWS/RDS` `CPUUtilization` (DBInstanceIdentifier) | Average, 60 s | > 80 | 2 of 2 | notBreaching | `notify-<s>` |",
		"| `notify-<s>` |  | dev 1, prod 2 |",
		"| `notify-<s>` | `alarm-degraded-<s>` | 1 each |",
		"composite: any of `alarm-aurora-<n>-cpu-<s>`",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("alarms lack %q:\n%s", want, got)
		}
	}
}

func TestStackValuesTable(t *testing.T) {
	vpc := func(strategy string) *offline.Resource {
		return res("network", "awsx:ec2:Vpc", "vpc", map[string]any{
			"availabilityZoneNames": []any{"us-east-1a", "us-east-1b", "us-east-1c"},
			"natGateways":           map[string]any{"strategy": strategy},
		}, nil)
	}
	bucket := func(name string, force bool) *offline.Resource {
		return res("storage", "aws:s3/bucketV2:BucketV2", name, map[string]any{"bucket": name, "forceDestroy": force}, nil)
	}
	dev := stackRec("dev", vpc("OnePerAz"), bucket("data-dev-1", true))
	prod := stackRec("prod", vpc("None"), bucket("data-prod-1", false))
	got := StackValuesTable([]*offline.Recording{dev, prod})
	for _, want := range []string{
		"| | dev | prod |",
		"| NAT gateways (awsx `natGateways`) | 3, one per AZ (`OnePerAz`) | none (`None`) |",
		"| S3 buckets force-destroyed | all: `data-<s>-1` | none: `data-<s>-1` kept |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("stack values lack %q:\n%s", want, got)
		}
	}
}

func TestSecurityGroupRules(t *testing.T) {
	group := func(role, stack, id string) *offline.Resource {
		return res("network", groupType, "sg-"+role, map[string]any{"namePrefix": "secgroup-" + role + "-" + stack + "-"}, map[string]any{"id": id})
	}
	dev := stackRec("dev", group("tasks", "dev", "sg-1"), group("alb", "dev", "sg-2"),
		res("service", egressType, "tasks-out-https", map[string]any{"securityGroupId": "sg-1", "fromPort": 443.0, "toPort": 443.0, "cidrIpv4": "0.0.0.0/0", "description": "HTTPS out"}, nil),
		res("service", ingressType, "tasks-in-alb", map[string]any{"securityGroupId": "sg-1", "fromPort": 8080.0, "toPort": 8080.0, "referencedSecurityGroupId": "sg-2", "description": "from the ALB"}, nil))
	prod := stackRec("prod", group("tasks", "prod", "sg-3"), group("alb", "prod", "sg-4"),
		res("service", ingressType, "tasks-in-alb", map[string]any{"securityGroupId": "sg-3", "fromPort": 8080.0, "toPort": 8080.0, "referencedSecurityGroupId": "sg-4", "description": "from the ALB"}, nil))
	got := SecurityGroupRules([]*offline.Recording{dev, prod})
	for _, want := range []string{
		"| `tasks` | in | 8080 | `alb` group | from the ALB | `service` | all |",
		"| `tasks` | out | 443 | `0.0.0.0/0` | HTTPS out | `service` | dev |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("group rules lack %q:\n%s", want, got)
		}
	}
}

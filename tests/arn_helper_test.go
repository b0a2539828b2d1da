package tests

import (
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// TestARNHelperMatchesResources: the ARN infra/arn builds from a name is
// the arn the resolved recording gives the resource of that name, for every
// resource of every type the helper covers, so a document built at program
// time names exactly what an apply on the output would have named.
func TestARNHelperMatchesResources(t *testing.T) {
	at := arn.In(offline.Region, acct)
	str := func(r *offline.Resource, k string) string { s, _ := r.Inputs[k].(string); return s }
	last := func(s string) string { return s[strings.LastIndex(s, "/")+1:] }
	builders := map[string]func(r *offline.Resource) string{
		"aws:iam/role:Role":                       func(r *offline.Resource) string { return at.Role(str(r, "name")) },
		"aws:sfn/stateMachine:StateMachine":       func(r *offline.Resource) string { return at.StateMachine(str(r, "name")) },
		"aws:sns/topic:Topic":                     func(r *offline.Resource) string { return at.Topic(str(r, "name")) },
		"aws:sqs/queue:Queue":                     func(r *offline.Resource) string { return at.Queue(str(r, "name")) },
		"aws:s3/bucketV2:BucketV2":                func(r *offline.Resource) string { return at.Bucket(str(r, "bucket")) },
		"aws:cloudwatch/logGroup:LogGroup":        func(r *offline.Resource) string { return at.LogGroup(str(r, "name")) },
		"aws:cloudwatch/eventBus:EventBus":        func(r *offline.Resource) string { return at.EventBus(str(r, "name")) },
		"aws:cloudwatch/eventRule:EventRule":      func(r *offline.Resource) string { return at.EventRule(last(str(r, "eventBusName")), str(r, "name")) },
		"aws:dynamodb/table:Table":                func(r *offline.Resource) string { return at.Table(str(r, "name")) },
		"aws:ecs/cluster:Cluster":                 func(r *offline.Resource) string { return at.ECSCluster(str(r, "name")) },
		"aws:ecs/service:Service":                 func(r *offline.Resource) string { return at.ECSService(last(str(r, "cluster")), str(r, "name")) },
		"aws:rds/cluster:Cluster":                 func(r *offline.Resource) string { return at.DBCluster(str(r, "clusterIdentifier")) },
		"aws:rds/clusterInstance:ClusterInstance": func(r *offline.Resource) string { return at.DBInstance(str(r, "identifier")) },
		"aws:backup/vault:Vault":                  func(r *offline.Resource) string { return at.BackupVault(str(r, "name")) },
		"aws:synthetics/canary:Canary":            func(r *offline.Resource) string { return at.Canary(str(r, "name")) },
		"aws:cloudwatch/metricAlarm:MetricAlarm":  func(r *offline.Resource) string { return at.Alarm(str(r, "name")) },
		"aws:ssm/parameter:Parameter":             func(r *offline.Resource) string { return at.Parameter(str(r, "name")) },
	}
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		for typ, build := range builders {
			rs := rec.ByType(typ)
			if len(rs) == 0 {
				t.Errorf("no %s in the recording to hold the helper to", typ)
			}
			for _, r := range rs {
				want, _ := r.Outputs["arn"].(string)
				if got := build(r); got != want {
					t.Errorf("%s %s: helper builds %q, the resource's arn is %q", typ, r.Name, got, want)
				}
			}
		}
	})
}

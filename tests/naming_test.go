package tests

import (
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// physicalNames maps each named resource type to the input that carries its
// physical name and a naming kind whose AWS limits, charset and rules apply
// to every resource of that type. Names built anywhere (inside naming or
// not) are checked against AWS's rules as they will be sent.
var physicalNames = map[string]struct {
	input string
	kind  naming.Kind
}{
	"aws:ec2/securityGroup:SecurityGroup":                        {"name", naming.SecurityGroupDB},
	"aws:lb/loadBalancer:LoadBalancer":                           {"name", naming.ALB},
	"aws:lb/targetGroup:TargetGroup":                             {"name", naming.TargetGroup},
	"aws:s3/bucketV2:BucketV2":                                   {"bucket", naming.DataBucket},
	"aws:kms/alias:Alias":                                        {"name", naming.KMSDataAlias},
	"aws:rds/cluster:Cluster":                                    {"clusterIdentifier", naming.AuroraCluster},
	"aws:rds/clusterParameterGroup:ClusterParameterGroup":        {"name", naming.DBClusterParams},
	"aws:rds/subnetGroup:SubnetGroup":                            {"name", naming.DBSubnetGroup},
	"aws:cloudwatch/eventBus:EventBus":                           {"name", naming.EventBus},
	"aws:cloudwatch/eventRule:EventRule":                         {"name", naming.RuleOrders},
	"aws:cloudwatch/eventArchive:EventArchive":                   {"name", naming.EventArchive},
	"aws:cloudwatch/logGroup:LogGroup":                           {"name", naming.AppLogGroup},
	"aws:iam/role:Role":                                          {"name", naming.TaskRole},
	"aws:sqs/queue:Queue":                                        {"name", naming.ConsumerQueue},
	"aws:sns/topic:Topic":                                        {"name", naming.AlarmTopic},
	"aws:synthetics/canary:Canary":                               {"name", naming.Canary},
	"aws:sfn/stateMachine:StateMachine":                          {"name", naming.HealthCheckSM},
	"aws:scheduler/schedule:Schedule":                            {"name", naming.HealthCheckSchedule},
	"aws:backup/vault:Vault":                                     {"name", naming.BackupVault},
	"aws:backup/plan:Plan":                                       {"name", naming.BackupPlan},
	"aws:backup/selection:Selection":                             {"name", naming.BackupSelectionDaily},
	"aws:backup/restoreTestingPlan:RestoreTestingPlan":           {"name", naming.RestoreTestingPlan},
	"aws:backup/restoreTestingSelection:RestoreTestingSelection": {"name", naming.RestoreSelectionAurora},
	"aws:ecs/cluster:Cluster":                                    {"name", naming.ECSCluster},
	"aws:ecs/service:Service":                                    {"name", naming.ECSService},
	"aws:ecs/taskDefinition:TaskDefinition":                      {"family", naming.TaskFamily},
	"aws:ecr/repository:Repository":                              {"name", naming.ECRRepository},
	"aws:dynamodb/table:Table":                                   {"name", naming.SessionsTable},
	"aws:wafv2/webAcl:WebAcl":                                    {"name", naming.WebACL},
	"aws:cloudwatch/dashboard:Dashboard":                         {"dashboardName", naming.Dashboard},
	"aws:cloudwatch/metricAlarm:MetricAlarm":                     {"name", naming.Alarm},
	"aws:cloudwatch/compositeAlarm:CompositeAlarm":               {"alarmName", naming.CompositeAlarm},
	"aws:resiliencehub/resiliencyPolicy:ResiliencyPolicy":        {"name", naming.ResiliencyPolicy},
	"aws:appautoscaling/policy:Policy":                           {"name", naming.DBReaderScalingPolicy},
}

// TestRecordedNamesKeepAWSRules checks the physical name of every named
// resource both stacks record against AWS's length, charset and reserved
// prefix/suffix rules for its type (infra/naming cites each rule), and
// every SSM parameter name against Parameter Store's.
func TestRecordedNamesKeepAWSRules(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		checked := 0
		for _, r := range rec.Resources {
			if r.Type == "aws:ssm/parameter:Parameter" {
				if err := naming.CheckParameter(get(t, r, "name").(string)); err != nil {
					t.Errorf("%s %s: %v", r.Type, r.Name, err)
				}
				checked++
				continue
			}
			spec, ok := physicalNames[r.Type]
			if !ok {
				continue
			}
			name, ok := r.Inputs[spec.input].(string)
			if p, isPrefix := r.Inputs["namePrefix"].(string); !ok && isPrefix {
				// The provider appends a 26-character unique tail to a
				// namePrefix (naming.ProviderTail); check the longest name.
				name, ok = p+strings.Repeat("0", naming.ProviderTail), true
			}
			if !ok {
				if r.Type == "aws:cloudwatch/metricAlarm:MetricAlarm" {
					name, _ = r.Inputs["alarmName"].(string)
				}
				if name == "" {
					t.Errorf("%s %s: no physical name in %s: AWS would generate one the naming rule cannot hold", r.Type, r.Name, spec.input)
					continue
				}
			}
			k := spec.kind
			k.Path = "" // the charset check applies to the whole name
			if err := naming.Check(k, name); err != nil {
				t.Errorf("%s %s: %v", r.Type, r.Name, err)
			}
			if !strings.Contains(name, stack) && !strings.Contains(name, strings.ReplaceAll(stack, "-", "_")) {
				t.Errorf("%s %s: name %q does not carry the suffix %q", r.Type, r.Name, name, stack)
			}
			checked++
		}
		if checked < 60 {
			t.Errorf("checked %d names; the table misses named types", checked)
		}
	})
}

// TestSecurityGroupNamesNotSg is the first-deploy finding as a test: the
// network's group names must not start with sg- (EC2 CreateSecurityGroup).
func TestSecurityGroupNamesNotSg(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		for _, g := range rec.ByType("aws:ec2/securityGroup:SecurityGroup") {
			if n := get(t, g, "namePrefix").(string); strings.HasPrefix(n, "sg-") {
				t.Errorf("security group %s is named %q; EC2 refuses names starting with sg-", g.Name, n)
			}
		}
	})
}

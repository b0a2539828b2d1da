package tests

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/trading-ha/trading-ha/infra/drills"
	"github.com/trading-ha/trading-ha/proof/offline"
	"github.com/trading-ha/trading-ha/proof/policy"
)

const fisType = "aws:fis/experimentTemplate:ExperimentTemplate"

// drillStack is what each stack's drills are built from.
type drillStack struct {
	tier      string
	retention int
}

var drillStacks = map[string]drillStack{
	"dev":  {tier: "Critical", retention: 30},
	"prod": {tier: "MissionCritical", retention: 365},
}

func withAcct(format string, a ...any) string {
	return fmt.Sprintf(format, append([]any{offline.AccountID}, a...)...)
}

func fisRoleArn(stack string) string { return withAcct("arn:aws:iam::%s:role/role-fis-" + stack) }

func zoneSubnets(az string) []string {
	z := az[len(az)-1:]
	return []string{
		withAcct("arn:aws:ec2:us-east-1:%s:subnet/subnet-public-" + z),
		withAcct("arn:aws:ec2:us-east-1:%s:subnet/subnet-private-" + z),
		withAcct("arn:aws:ec2:us-east-1:%s:subnet/subnet-isolated-" + z),
	}
}

// checkTemplates asserts the three templates of a recording for a drill AZ.
func checkTemplates(t *testing.T, stack, az, duration string, rec *offline.Recording) {
	t.Helper()
	alarm := withAcct("arn:aws:cloudwatch:us-east-1:%s:alarm:alarm-degraded-" + stack)
	logGroup := withAcct("arn:aws:logs:us-east-1:%s:log-group:/trading/fis-"+stack) + ":*"
	if n := len(rec.ByType(fisType)); n != 3 {
		t.Fatalf("%d experiment templates, want 3", n)
	}
	for _, c := range []struct {
		drill, name, actionID, key, targetType string
		params                                 map[string]any
	}{
		{drills.StopTasks, "fis-stop-tasks-", "aws:ecs:stop-task", "Tasks", "aws:ecs:task", nil},
		{drills.AuroraFailover, "fis-aurora-failover-", "aws:rds:failover-db-cluster", "Clusters", "aws:rds:cluster", nil},
		{drills.DisruptNetwork, "fis-disrupt-az-", "aws:network:disrupt-connectivity", "Subnets", "aws:ec2:subnet",
			map[string]any{"duration": duration, "scope": "all"}},
	} {
		tmpl := one(t, rec, fisType, c.drill)
		eq(t, tmpl, "roleArn", fisRoleArn(stack))
		eq(t, tmpl, "tags", map[string]any{"Name": c.name + stack})
		eq(t, tmpl, "stopConditions", []any{map[string]any{"source": "aws:cloudwatch:alarm", "value": alarm}})
		eq(t, tmpl, "logConfiguration.logSchemaVersion", 2)
		eq(t, tmpl, "logConfiguration.cloudwatchLogsConfiguration.logGroupArn", logGroup)
		if acts := get(t, tmpl, "actions").([]any); len(acts) != 1 {
			t.Fatalf("%s: %d actions, want 1", c.drill, len(acts))
		}
		eq(t, tmpl, "actions.0.actionId", c.actionID)
		eq(t, tmpl, "actions.0.target.key", c.key)
		target := get(t, tmpl, "targets").([]any)
		if len(target) != 1 {
			t.Fatalf("%s: %d targets, want 1", c.drill, len(target))
		}
		eq(t, tmpl, "actions.0.target.value", get(t, tmpl, "targets.0.name"))
		eq(t, tmpl, "targets.0.resourceType", c.targetType)
		eq(t, tmpl, "targets.0.selectionMode", "ALL")
		got := map[string]any{}
		if ps, ok := tmpl.Inputs["actions"].([]any)[0].(map[string]any)["parameters"].([]any); ok {
			for _, p := range ps {
				m := p.(map[string]any)
				got[m["key"].(string)] = m["value"]
			}
		}
		if len(got) != len(c.params) || (len(c.params) > 0 && !same(got, c.params)) {
			t.Errorf("%s: action parameters %v, want %v", c.drill, got, c.params)
		}
	}

	tasks := one(t, rec, fisType, drills.StopTasks)
	eq(t, tasks, "targets.0.parameters", map[string]any{"cluster": "ecs-" + stack, "service": "svc-trading-" + stack})
	eq(t, tasks, "targets.0.filters", []any{map[string]any{"path": "AvailabilityZone", "values": []any{az}}})
	if _, ok := tasks.Inputs["targets"].([]any)[0].(map[string]any)["resourceArns"]; ok {
		t.Error("the task target must select by cluster/service parameters, not ARNs (task ARNs change)")
	}

	failover := one(t, rec, fisType, drills.AuroraFailover)
	eq(t, failover, "targets.0.resourceArns", []string{withAcct("arn:aws:rds:us-east-1:%s:cluster:aurora-" + stack)})

	network := one(t, rec, fisType, drills.DisruptNetwork)
	eq(t, network, "targets.0.resourceArns", zoneSubnets(az))
}

func TestDrillTemplates(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		checkTemplates(t, stack, "us-east-1a", "PT5M", rec)
		if n := len(rec.ByType("trading:drills:Drills")); n != 1 {
			t.Errorf("%d trading:drills:Drills components, want 1", n)
		}
		for _, tmpl := range rec.ByType(fisType) {
			if tmpl.Component != "trading:drills:Drills" {
				t.Errorf("template %s belongs to %q", tmpl.Name, tmpl.Component)
			}
		}
	})
}

// TestDrillZoneAndDurationFollowConfig moves the drill to the second AZ and
// stretches the disruption: filters, subnets and duration follow.
func TestDrillZoneAndDurationFollowConfig(t *testing.T) {
	for _, stack := range Stacks {
		t.Run(stack, func(t *testing.T) {
			rec, err := recordWith(t, stack, map[string]string{
				"trading-ha:drillAvailabilityZone":   "us-east-1b",
				"trading-ha:drillDisruptionDuration": "1m30s",
			})
			if err != nil {
				t.Fatal(err)
			}
			checkTemplates(t, stack, "us-east-1b", "PT1M30S", rec)
		})
	}
}

func TestDrillLogGroup(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		g := one(t, rec, "aws:cloudwatch/logGroup:LogGroup", "fis")
		eq(t, g, "name", "/trading/fis-"+stack)
		eq(t, g, "retentionInDays", drillStacks[stack].retention)
		key := one(t, rec, "aws:kms/key:Key", "key-telemetry")
		eq(t, g, "kmsKeyId", key.Outputs["arn"])
	})
}

func TestDrillRole(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		role := one(t, rec, "aws:iam/role:Role", "fis")
		eq(t, role, "name", "role-fis-"+stack)
		var trust policyDoc
		jsonInput(t, role, "assumeRolePolicy", &trust)
		if len(trust.Statement) != 1 {
			t.Fatalf("trust has %d statements", len(trust.Statement))
		}
		st := trust.Statement[0]
		if st.Effect != "Allow" || st.Principal["Service"] != "fis.amazonaws.com" || !slices.Equal(st.Action, []string{"sts:AssumeRole"}) {
			t.Errorf("trust statement %+v, want fis.amazonaws.com sts:AssumeRole", st)
		}
		if st.Condition["StringEquals"]["aws:SourceAccount"] != offline.AccountID {
			t.Errorf("trust condition %v lacks aws:SourceAccount=%s", st.Condition, offline.AccountID)
		}

		var doc policyDoc
		jsonInput(t, one(t, rec, "aws:iam/rolePolicy:RolePolicy", "fis"), "policy", &doc)
		got := map[string][]string{}
		for _, s := range doc.Statement {
			if s.Effect != "Allow" {
				t.Errorf("statement %s is %s", s.Sid, s.Effect)
			}
			for _, a := range s.Action {
				if a == "*" || strings.HasSuffix(a, ":*") || strings.Contains(a, "*") {
					t.Errorf("statement %s allows wildcard action %s", s.Sid, a)
				}
				if slices.Contains(s.Resource, "*") && !policy.StarAllowed(a) {
					t.Errorf("statement %s grants %s on \"*\" but policy.StarAllowed refuses it", s.Sid, a)
				}
				got[a] = append(got[a], s.Resource...)
			}
		}
		for a := range got {
			sort.Strings(got[a])
		}
		ec2 := func(res string) string { return withAcct("arn:aws:ec2:us-east-1:%s:" + res) }
		acls := ec2("network-acl/*")
		subnetsAndACLs := append(zoneSubnets("us-east-1a"), acls)
		sort.Strings(subnetsAndACLs)
		want := map[string][]string{
			"ecs:StopTask":                     {withAcct("arn:aws:ecs:us-east-1:%s:task/ecs-" + stack + "/*")},
			"ecs:DescribeTasks":                {withAcct("arn:aws:ecs:us-east-1:%s:task/ecs-" + stack + "/*")},
			"ecs:ListTasks":                    {"*"},
			"rds:FailoverDBCluster":            {withAcct("arn:aws:rds:us-east-1:%s:cluster:aurora-" + stack)},
			"rds:DescribeDBClusters":           {withAcct("arn:aws:rds:us-east-1:%s:cluster:aurora-" + stack)},
			"ec2:CreateNetworkAcl":             {acls, ec2("vpc/vpc-0trading")},
			"ec2:CreateTags":                   {acls},
			"ec2:CreateNetworkAclEntry":        {acls},
			"ec2:DeleteNetworkAcl":             {acls},
			"ec2:ReplaceNetworkAclAssociation": subnetsAndACLs,
			"ec2:DescribeVpcs":                 {"*"},
			"ec2:DescribeSubnets":              {"*"},
			"ec2:DescribeNetworkAcls":          {"*"},
			"ec2:DescribeManagedPrefixLists":   {"*"},
			"logs:CreateLogDelivery":           {"*"},
			"logs:PutResourcePolicy":           {"*"},
			"logs:DescribeResourcePolicies":    {"*"},
			"logs:DescribeLogGroups":           {"*"},
		}
		for a := range want {
			sort.Strings(want[a])
		}
		if !same(any(got), any(want)) {
			for a, w := range want {
				if !slices.Equal(got[a], w) {
					t.Errorf("%s on %v, want %v", a, got[a], w)
				}
			}
			for a := range got {
				if _, ok := want[a]; !ok {
					t.Errorf("unexpected action %s on %v", a, got[a])
				}
			}
		}
		// Conditions that keep the wide grants narrow.
		conds := map[string]map[string]map[string]any{}
		for _, s := range doc.Statement {
			conds[s.Sid] = s.Condition
		}
		if conds["ListServiceTasks"]["ArnEquals"]["ecs:cluster"] != withAcct("arn:aws:ecs:us-east-1:%s:cluster/ecs-"+stack) {
			t.Errorf("ecs:ListTasks not limited to our cluster: %v", conds["ListServiceTasks"])
		}
		if conds["CreateFISNetworkAcl"]["StringEquals"]["aws:RequestTag/managedByFIS"] != "true" ||
			conds["ManageFISNetworkAcl"]["StringEquals"]["ec2:ResourceTag/managedByFIS"] != "true" ||
			conds["TagFISNetworkAcl"]["StringEquals"]["ec2:CreateAction"] != "CreateNetworkAcl" {
			t.Errorf("network ACL statements lack their managedByFIS conditions: %v", conds)
		}
	})
}

// policySeconds parses one RTO/RPO of the resiliency policy.
func policySeconds(t *testing.T, r *offline.Resource, path string) time.Duration {
	t.Helper()
	s, ok := get(t, r, path).(string)
	if !ok {
		t.Fatalf("%s is not a string", path)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("%s = %q: %v", path, s, err)
	}
	return d
}

func checkResiliencyPolicy(t *testing.T, stack string, rec *offline.Recording, rto, rpo time.Duration) {
	t.Helper()
	p := one(t, rec, "aws:resiliencehub/resiliencyPolicy:ResiliencyPolicy", "resiliency")
	eq(t, p, "name", "resiliency-"+stack)
	eq(t, p, "tier", drillStacks[stack].tier)
	for path, want := range map[string]time.Duration{
		"policy.az.rto": rto, "policy.az.rpo": time.Second,
		"policy.hardware.rto": rto, "policy.hardware.rpo": time.Second,
		"policy.software.rto": rto, "policy.software.rpo": rpo,
	} {
		if got := policySeconds(t, p, path); got != want {
			t.Errorf("%s = %s, want %s", path, got, want)
		}
	}
	if _, ok := p.Inputs["policy"].(map[string]any)["region"]; ok {
		t.Error("single-region stack: the region policy must be left out")
	}
}

func TestResiliencyPolicy(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		checkResiliencyPolicy(t, stack, rec, 15*time.Minute, 5*time.Minute)
	})
}

// TestResiliencyPolicyFollowsRTOConfig: the policy is the config, not a copy.
func TestResiliencyPolicyFollowsRTOConfig(t *testing.T) {
	for _, stack := range Stacks {
		t.Run(stack, func(t *testing.T) {
			rec, err := recordWith(t, stack, map[string]string{"trading-ha:rtoMinutes": "30", "trading-ha:rpoMinutes": "10"})
			if err != nil {
				t.Fatal(err)
			}
			checkResiliencyPolicy(t, stack, rec, 30*time.Minute, 10*time.Minute)
		})
	}
}

func TestISODuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Minute: "PT1M", 5 * time.Minute: "PT5M", 90 * time.Second: "PT1M30S",
		time.Hour: "PT1H", time.Hour + 2*time.Second: "PT1H2S", 0: "PT0S",
	} {
		if got := drills.ISODuration(d); got != want {
			t.Errorf("ISODuration(%s) = %s, want %s", d, got, want)
		}
	}
}

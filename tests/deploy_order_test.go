package tests

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/proof/offline"
)

// excludedWith is what `pulumi up --exclude <urn> --exclude-dependents`
// leaves out of a recording: the resource and, transitively, every
// resource that depends on it (its recorded DependsOn: explicit and
// input dependencies) or is its child.
func excludedWith(rec *offline.Recording, urn string) map[string]bool {
	out := map[string]bool{urn: true}
	for grew := true; grew; {
		grew = false
		for _, r := range rec.Resources {
			if out[r.URN] {
				continue
			}
			if out[r.ParentURN] || slices.ContainsFunc(r.DependsOn, func(d string) bool { return out[d] }) {
				out[r.URN] = true
				grew = true
			}
		}
	}
	return out
}

// deployExcludeURN reads the URN docs/deploy.md, section 3, excludes in
// step 1 ($S is the stack).
func deployExcludeURN(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`pulumi up --exclude "(urn:pulumi:\$S::[^"]+)"`).FindSubmatch(b)
	if m == nil {
		t.Fatal(`docs/deploy.md has no step "pulumi up --exclude "urn:pulumi:$S::..."`)
	}
	return strings.ReplaceAll(string(m[1]), `\$`, `$`)
}

// TestDeployMigratesBeforeTheRollout: step 1 of the deploy (docs/deploy.md,
// section 3) excludes the service's task definition and its dependents.
// That set, computed from each stack's recording, holds the ECS service
// and nothing the migration needs: the image, the migrate task definition,
// its role, log group, network parameter and security group rules, the
// migrate runbook and the database are deployed in step 1, so the runbook
// can run (step 2) before the rollout (step 3).
func TestDeployMigratesBeforeTheRollout(t *testing.T) {
	pattern := deployExcludeURN(t)
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		urn := strings.ReplaceAll(pattern, "$S", stack)
		td := one(t, rec, "aws:ecs/taskDefinition:TaskDefinition", "app")
		if td.URN != urn {
			t.Fatalf("docs/deploy.md excludes %s, the service's task definition is %s", urn, td.URN)
		}
		out := excludedWith(rec, urn)
		for _, r := range []*offline.Resource{one(t, rec, "aws:ecs/service:Service", "app"), one(t, rec, "aws:appautoscaling/target:Target", "app")} {
			if !out[r.URN] {
				t.Errorf("step 1 deploys %s %s: it would roll the service out before the migration", r.Type, r.Name)
			}
		}
		needed := []struct{ typ, name string }{
			{"aws:ecs/taskDefinition:TaskDefinition", "migrate"},
			{"aws:iam/role:Role", "migrate-execution"},
			{"aws:iam/rolePolicy:RolePolicy", "migrate-execution"},
			{"aws:cloudwatch/logGroup:LogGroup", "service-migrate-task-logs"},
			{"docker-build:index:Image", "app-image"},
			{"aws:ecr/repository:Repository", "app"},
			{"aws:ssm/parameter:Parameter", "params-param-migrate-network"},
			{"aws:ec2/securityGroup:SecurityGroup", "sg-migrate"},
			{"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "db-from-migrate"},
			{"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "migrate-to-db"},
			{"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "migrate-out-s3"},
			{"aws:sfn/stateMachine:StateMachine", "runbooks-migrate"},
			{"aws:iam/role:Role", "runbooks-migrate-role"},
			{"aws:iam/rolePolicy:RolePolicy", "runbooks-migrate-role"},
			{"aws:cloudwatch/logGroup:LogGroup", "runbooks-migrate-logs"},
			{"aws:rds/cluster:Cluster", "aurora"},
			{"aws:ecs/cluster:Cluster", "cluster"},
		}
		for _, n := range needed {
			if r := one(t, rec, n.typ, n.name); out[r.URN] {
				t.Errorf("step 1 leaves out %s %s, which the migration needs", n.typ, n.name)
			}
		}
		var names []string
		for _, r := range rec.Resources {
			if out[r.URN] {
				names = append(names, r.Name)
			}
		}
		t.Logf("%s: step 1 leaves out %d of %d resources: %v", stack, len(out), len(rec.Resources), names)
	})
}

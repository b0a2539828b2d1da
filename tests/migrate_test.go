package tests

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/app/probes/smoke"
	"github.com/trading-ha/trading-ha/infra/arn"
	rb "github.com/trading-ha/trading-ha/infra/asl"
	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/paramtable"
	"github.com/trading-ha/trading-ha/infra/service"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// masterSecret is the mocks' RDS-managed master secret.
var masterSecret = fmt.Sprintf("arn:aws:secretsmanager:us-east-1:%s:secret:rds!cluster-mock-AbCdEf", acct)

// TestMasterSecretOnlyInTheMigrateTask: no task the service runs fetches
// the master credential. Of every recorded task definition only the
// one-off migrate task's container names the secret, and of every recorded
// role policy only the migrate task's execution role may read it.
func TestMasterSecretOnlyInTheMigrateTask(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		for _, td := range rec.ByType("aws:ecs/taskDefinition:TaskDefinition") {
			var defs []service.ContainerDefinition
			jsonInput(t, td, "containerDefinitions", &defs)
			for _, c := range defs {
				for _, s := range c.Secrets {
					if strings.HasPrefix(s.ValueFrom, masterSecret) && td.Key != "migrate" {
						t.Errorf("task definition %s: container %s reads %s from the master secret", td.Name, c.Name, s.Name)
					}
				}
			}
		}
		migrateRole := "role-migrate-execution-" + stack
		readers := map[string]bool{}
		for _, p := range rec.ByType("aws:iam/rolePolicy:RolePolicy") {
			var doc policyDoc
			jsonInput(t, p, "policy", &doc)
			if allows(doc, "secretsmanager:GetSecretValue", masterSecret, nil) {
				readers[fmt.Sprint(p.Inputs["role"])] = true
			}
		}
		if len(readers) != 1 || !readers[migrateRole] {
			t.Errorf("roles that may read the master secret: %v, want %s alone", readers, migrateRole)
		}
	})
}

// TestMigrateTask: the one-off migrate task definition runs the service's
// image as `/trading -migrate` with the master secret, DB_PGAUDIT=require,
// its own log group (blocking delivery) and its own execution role, and no
// task role.
func TestMigrateTask(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		td := one(t, rec, "aws:ecs/taskDefinition:TaskDefinition", "migrate")
		app := one(t, rec, "aws:ecs/taskDefinition:TaskDefinition", "app")
		eq(t, td, "family", "task-migrate-"+stack)
		eq(t, td, "requiresCompatibilities", []string{"FARGATE"})
		eq(t, td, "networkMode", "awsvpc")
		eq(t, td, "cpu", fmt.Sprint(service.MigrateCPU))
		eq(t, td, "memory", fmt.Sprint(service.MigrateMemory))
		if !config.FargateSizeValid(service.MigrateCPU, service.MigrateMemory) {
			t.Errorf("migrate task size %d/%d is not a Fargate size", service.MigrateCPU, service.MigrateMemory)
		}
		eq(t, td, "runtimePlatform", get(t, app, "runtimePlatform"))
		execRole := arn.In(offline.Region, acct).Role("role-migrate-execution-" + stack)
		eq(t, td, "executionRoleArn", execRole)
		if r, ok := td.Inputs["taskRoleArn"]; ok && r != nil && r != "" {
			t.Errorf("migrate task has task role %v; the step calls no AWS API", r)
		}

		m, c := migrateContainer(t, rec), container(t, rec)
		if !m.Essential || !slices.Equal(m.Command, []string{"/trading", "-migrate"}) || m.Image != c.Image || m.User != c.User ||
			!m.ReadonlyRootFilesystem || m.Privileged || len(m.PortMappings) != 0 {
			t.Errorf("migrate container %+v", m)
		}
		env := map[string]string{}
		for _, kv := range m.Environment {
			env[kv.Name] = kv.Value
		}
		if want := map[string]string{"AWS_REGION": "us-east-1", "DB_USERNAME": "trading_app", "MIGRATE_TIMEOUT": "5m", "DB_PGAUDIT": "require"}; fmt.Sprint(env) != fmt.Sprint(want) {
			t.Errorf("migrate environment %v, want %v", env, want)
		}
		secrets := map[string]string{}
		for _, s := range m.Secrets {
			secrets[s.Name] = s.ValueFrom
		}
		want := map[string]string{"DB_MIGRATE_USERNAME": masterSecret + ":username::", "DB_MIGRATE_PASSWORD": masterSecret + ":password::"}
		for _, row := range paramtable.Rows {
			if row.Migrate {
				want[row.Env] = out(t, one(t, rec, "aws:ssm/parameter:Parameter", "params-param-"+strings.ReplaceAll(row.Path, "/", "-")), "arn")
			}
		}
		if fmt.Sprint(secrets) != fmt.Sprint(want) {
			t.Errorf("migrate secrets %v, want %v", secrets, want)
		}
		lg := one(t, rec, "aws:cloudwatch/logGroup:LogGroup", "service-migrate-task-logs")
		eq(t, lg, "name", "/trading/ecs-migrate-"+stack)
		eq(t, lg, "retentionInDays", perStack(stack, 30, 365))
		eq(t, lg, "kmsKeyId", out(t, one(t, rec, "aws:kms/key:Key", "key-telemetry"), "arn"))
		lc := m.LogConfiguration
		if lc.LogDriver != "awslogs" || lc.Options["awslogs-group"] != "/trading/ecs-migrate-"+stack || lc.Options["mode"] != "blocking" ||
			lc.Options["awslogs-stream-prefix"] != service.MigrateLogStreamPrefix {
			t.Errorf("migrate log configuration %+v", lc)
		}
		if !slices.Contains(td.DependsOn, lg.URN) {
			t.Errorf("the migrate task definition does not wait for its log group")
		}

		// Its execution role: the image, its log group, its four
		// parameters, the master secret and the data key through SSM and
		// Secrets Manager; nothing else.
		eq(t, one(t, rec, "aws:iam/role:Role", "migrate-execution"), "name", "role-migrate-execution-"+stack)
		doc := rolePolicy(t, rec, "migrate-execution")
		assertNoWildcards(t, "migrate execution role", doc)
		repo := out(t, one(t, rec, "aws:ecr/repository:Repository", "app"), "arn")
		var params []string
		for _, row := range paramtable.Rows {
			if row.Migrate {
				params = append(params, fmt.Sprintf("arn:aws:ssm:us-east-1:%s:parameter/trading/%s/%s", acct, stack, row.Path))
			}
		}
		slices.Sort(params)
		assertGrants(t, "migrate execution role", grants(doc), map[string][]string{
			"ecr:GetAuthorizationToken":     {"*"},
			"ecr:BatchGetImage":             {repo},
			"ecr:GetDownloadUrlForLayer":    {repo},
			"logs:CreateLogStream":          {out(t, lg, "arn") + ":*"},
			"logs:PutLogEvents":             {out(t, lg, "arn") + ":*"},
			"ssm:GetParameters":             params,
			"secretsmanager:GetSecretValue": {masterSecret},
			"kms:Decrypt":                   {arn.In(offline.Region, acct).Keys()},
		})
		keyGrantIs(t, "migrate execution role", statementBySid(t, "migrate execution role", doc, "DecryptConfig"), "alias/kms-data-"+stack,
			map[string]map[string]any{"StringEquals": {"kms:ViaService": []any{"ssm.us-east-1.amazonaws.com", "secretsmanager.us-east-1.amazonaws.com"}}})
	})
}

// TestMigrateTaskNetwork: the migrate task runs in the private subnets
// (it needs NAT or the interface endpoints to start) with a group of its
// own that accepts nothing and sends PostgreSQL to the database group and
// HTTPS to the AWS APIs only; the database group admits it on 5432. The
// runbook reads exactly that network from the parameter migrate/network.
func TestMigrateTaskNetwork(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		group := one(t, rec, "aws:ec2/securityGroup:SecurityGroup", "sg-migrate")
		eq(t, group, "namePrefix", "secgroup-migrate-"+stack+"-")
		migrate, db, tasks := group.ID, sgID(t, rec, "sg-db"), sgID(t, rec, "sg-tasks")

		p := one(t, rec, "aws:ssm/parameter:Parameter", "params-param-migrate-network")
		eq(t, p, "name", "/trading/"+stack+"/"+rb.MigrateNetworkPath)
		eq(t, p, "type", "String")
		var net rb.MigrateNetwork
		if err := json.Unmarshal([]byte(fmt.Sprint(p.Inputs["insecureValue"])), &net); err != nil {
			t.Fatalf("migrate/network: %v", err)
		}
		svc := one(t, rec, "aws:ecs/service:Service", "app")
		if !sameSet(net.Subnets, strs(get(t, svc, "networkConfiguration.subnets"))) || !slices.Equal(net.SecurityGroups, []string{migrate}) {
			t.Errorf("migrate/network %+v, want the service's (private) subnets and the migrate group %s", net, migrate)
		}

		for _, r := range rec.ByType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
			if r.Inputs["securityGroupId"] == migrate {
				t.Errorf("the migrate group admits %s", r.Name)
			}
		}
		var egress []string
		for _, r := range rec.ByType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") {
			if r.Inputs["securityGroupId"] != migrate {
				continue
			}
			var to string
			for _, k := range []string{"referencedSecurityGroupId", "prefixListId", "cidrIpv4"} {
				if v, ok := r.Inputs[k].(string); ok && v != "" {
					to = v
				}
			}
			switch {
			case to == db:
				to = "db"
			case to == tasks:
				to = "tasks"
			case strings.HasPrefix(to, "sg-"):
				to = "endpoints"
			case strings.HasPrefix(to, "pl-"):
				to = "s3"
			}
			egress = append(egress, fmt.Sprintf("%s:%v", to, r.Inputs["fromPort"]))
		}
		slices.Sort(egress)
		want := perStack(stack, []string{"0.0.0.0/0:443", "db:5432", "s3:443"}, []string{"db:5432", "endpoints:443", "s3:443"})
		if !slices.Equal(egress, want) {
			t.Errorf("migrate group egress %v, want %v", egress, want)
		}
		in := one(t, rec, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "db-from-migrate")
		eq(t, in, "securityGroupId", db)
		eq(t, in, "referencedSecurityGroupId", migrate)
		eq(t, in, "fromPort", 5432)
		eq(t, in, "toPort", 5432)
	})
}

// TestMigrateRunbook: sm-migrate-<suffix> runs the migrate family's latest
// revision in the stack's cluster, reads its network from the stack's
// parameter and may pass the migrate execution role (and no other) to ECS.
func TestMigrateRunbook(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		sm := one(t, rec, "aws:sfn/stateMachine:StateMachine", "runbooks-migrate")
		eq(t, sm, "name", "sm-migrate-"+stack)
		var def struct {
			States map[string]struct {
				Resource   string
				Parameters map[string]any
			}
		}
		jsonInput(t, sm, "definition", &def)
		run := def.States["RunMigration"]
		at := arn.In(offline.Region, acct)
		if run.Resource != "arn:aws:states:::ecs:runTask.sync" || run.Parameters["TaskDefinition"] != "task-migrate-"+stack ||
			run.Parameters["Cluster"] != at.ECSCluster("ecs-"+stack) {
			t.Errorf("RunMigration %+v", run)
		}
		if got := def.States["ReadNetwork"].Parameters["Name"]; got != "/trading/"+stack+"/migrate/network" {
			t.Errorf("ReadNetwork reads %v", got)
		}
		doc := rolePolicy(t, rec, "runbooks-migrate-role")
		if g := grants(doc)["iam:PassRole"]; !slices.Equal(g, []string{at.Role("role-migrate-execution-" + stack)}) {
			t.Errorf("the migrate runbook may pass %v, want the migrate execution role alone", g)
		}
		if smoke.OutputMigrateLogGroup != service.MigrateLogGroupOutput {
			t.Errorf("the smoke test reads output %q, the stack exports %q", smoke.OutputMigrateLogGroup, service.MigrateLogGroupOutput)
		}
	})
}

// TestForgottenMigrationRollsBack holds the settings that make a release
// whose migration did not run roll back cleanly: its tasks wait for the
// schema (DB_MIGRATIONS=wait) and fail readiness, the load balancer checks
// readiness, the container check only liveness (so the failure is the
// target group's, which the circuit breaker counts after the grace period),
// the breaker rolls back, and the old tasks keep serving meanwhile
// (minimum healthy 100 %). The update then fails naming the migrate
// runbook (service.CheckDeployed).
func TestForgottenMigrationRollsBack(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		c := container(t, rec)
		waits := slices.ContainsFunc(c.Environment, func(kv service.KeyValue) bool { return kv.Name == "DB_MIGRATIONS" && kv.Value == "wait" })
		if !waits || c.HealthCheck == nil || !slices.Contains(c.HealthCheck.Command, "-healthcheck") {
			t.Errorf("app container: DB_MIGRATIONS wait %v, health check %+v (liveness)", waits, c.HealthCheck)
		}
		eq(t, one(t, rec, "aws:lb/targetGroup:TargetGroup", "app"), "healthCheck.path", "/readyz")
		svc := one(t, rec, "aws:ecs/service:Service", "app")
		eq(t, svc, "deploymentCircuitBreaker.enable", true)
		eq(t, svc, "deploymentCircuitBreaker.rollback", true)
		eq(t, svc, "deploymentMinimumHealthyPercent", 100)
		if grace, _ := get(t, svc, "healthCheckGracePeriodSeconds").(float64); grace <= 0 || grace > 300 {
			t.Errorf("health check grace period %v s: a task that never becomes ready must fail within minutes", grace)
		}
	})
	_, err := service.CheckDeployed("arn:aws:ecs:us-east-1:1:task-definition/task-trading-dev:4", "arn:aws:ecs:us-east-1:1:task-definition/task-trading-dev:5")
	if err == nil || !strings.Contains(err.Error(), service.MigrateRunbookOutput) || !strings.Contains(err.Error(), "schema") {
		t.Errorf("CheckDeployed after a rollback: %v, want it to name the schema and the %s output", err, service.MigrateRunbookOutput)
	}
}

package tests

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/paramtable"
	"github.com/trading-ha/trading-ha/infra/service"
	"github.com/trading-ha/trading-ha/proof/offline"
)

const svcComponent = "trading:service:Service"

// perStack picks the dev or prod expectation.
func perStack[T any](stack string, dev, prod T) T {
	if stack == "prod" {
		return prod
	}
	return dev
}

func sgID(t *testing.T, rec *offline.Recording, name string) string {
	t.Helper()
	return one(t, rec, "aws:ec2/securityGroup:SecurityGroup", name).ID
}

// container parses the service's task definition: the app container, its
// only one (the schema step is a task of its own, migrateContainer).
func container(t *testing.T, rec *offline.Recording) service.ContainerDefinition {
	t.Helper()
	var defs []service.ContainerDefinition
	jsonInput(t, one(t, rec, "aws:ecs/taskDefinition:TaskDefinition", "app"), "containerDefinitions", &defs)
	if len(defs) != 1 || defs[0].Name != service.ContainerName {
		names := make([]string, 0, len(defs))
		for _, d := range defs {
			names = append(names, d.Name)
		}
		t.Fatalf("the service's task definition has containers %v, want the app's alone", names)
	}
	return defs[0]
}

// migrateContainer parses the one-off migrate task definition: its only
// container.
func migrateContainer(t *testing.T, rec *offline.Recording) service.ContainerDefinition {
	t.Helper()
	var defs []service.ContainerDefinition
	jsonInput(t, one(t, rec, "aws:ecs/taskDefinition:TaskDefinition", "migrate"), "containerDefinitions", &defs)
	if len(defs) != 1 || defs[0].Name != service.MigrateContainerName {
		t.Fatalf("migrate task definition: %d containers, want the migrate container alone", len(defs))
	}
	return defs[0]
}

// rolePolicy parses the inline policy of a service role.
func rolePolicy(t *testing.T, rec *offline.Recording, name string) policyDoc {
	t.Helper()
	var doc policyDoc
	jsonInput(t, one(t, rec, "aws:iam/rolePolicy:RolePolicy", name), "policy", &doc)
	return doc
}

// grants flattens a policy into "action -> resources".
func grants(doc policyDoc) map[string][]string {
	g := map[string][]string{}
	for _, s := range doc.Statement {
		if s.Effect != "Allow" {
			continue
		}
		for _, a := range s.Action {
			g[a] = append(g[a], s.Resource...)
		}
	}
	for a := range g {
		sort.Strings(g[a])
	}
	return g
}

func assertGrants(t *testing.T, what string, got, want map[string][]string) {
	t.Helper()
	for a, res := range want {
		if !slices.Equal(got[a], res) {
			t.Errorf("%s: %s on %v, want %v", what, a, got[a], res)
		}
	}
	for a := range got {
		if _, ok := want[a]; !ok {
			t.Errorf("%s grants unexpected action %s on %v", what, a, got[a])
		}
	}
}

func assertNoWildcards(t *testing.T, what string, doc policyDoc) {
	t.Helper()
	for _, s := range doc.Statement {
		for _, a := range s.Action {
			if a == "*" || strings.HasSuffix(a, ":*") {
				t.Errorf("%s: wildcard action %q", what, a)
			}
		}
		for _, r := range s.Resource {
			if r == "*" && !slices.Equal(s.Action, []string{"ecr:GetAuthorizationToken"}) {
				t.Errorf("%s: resource \"*\" for %v; only ecr:GetAuthorizationToken may use it", what, s.Action)
			}
		}
	}
}

func TestServicePlacementAndDeployment(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		svc := one(t, rec, "aws:ecs/service:Service", "app")
		if svc.Component != svcComponent {
			t.Errorf("service belongs to %s", svc.Component)
		}
		eq(t, svc, "name", "svc-trading-"+stack)
		eq(t, svc, "launchType", "FARGATE")
		eq(t, svc, "networkConfiguration.subnets", []string{"subnet-private-a", "subnet-private-b", "subnet-private-c"})
		eq(t, svc, "networkConfiguration.assignPublicIp", false)
		eq(t, svc, "networkConfiguration.securityGroups", []string{sgID(t, rec, "sg-tasks")})
		eq(t, svc, "desiredCount", 3)
		eq(t, svc, "deploymentCircuitBreaker.enable", true)
		eq(t, svc, "deploymentCircuitBreaker.rollback", true)
		eq(t, svc, "deploymentMinimumHealthyPercent", 100)
		eq(t, svc, "deploymentMaximumPercent", 200)
		eq(t, svc, "availabilityZoneRebalancing", "ENABLED")
		eq(t, svc, "enableExecuteCommand", false)
		eq(t, svc, "propagateTags", "SERVICE")
		eq(t, svc, "enableEcsManagedTags", true)
		eq(t, svc, "healthCheckGracePeriodSeconds", 60)
		eq(t, svc, "loadBalancers.0.containerName", service.ContainerName)
		eq(t, svc, "loadBalancers.0.containerPort", 8080)
		tg := one(t, rec, "aws:lb/targetGroup:TargetGroup", "app")
		eq(t, svc, "loadBalancers.0.targetGroupArn", out(t, tg, "arn"))
		if stack == "prod" {
			if n := get(t, svc, "desiredCount").(float64); n < 3 {
				t.Errorf("prod runs %v tasks; want at least one per AZ", n)
			}
		}
		grace := get(t, svc, "healthCheckGracePeriodSeconds").(float64)
		if c := container(t, rec); grace < float64(c.HealthCheck.StartPeriod) {
			t.Errorf("grace period %v s shorter than the container start period %d s", grace, c.HealthCheck.StartPeriod)
		}

		cluster := one(t, rec, "aws:ecs/cluster:Cluster", "cluster")
		eq(t, cluster, "name", "ecs-"+stack)
		eq(t, cluster, "settings.0.name", "containerInsights")
		eq(t, cluster, "settings.0.value", "enhanced")
		eq(t, svc, "cluster", out(t, cluster, "arn"))
	})
}

func TestTaskDefinition(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		td := one(t, rec, "aws:ecs/taskDefinition:TaskDefinition", "app")
		eq(t, td, "family", "task-trading-"+stack)
		eq(t, td, "requiresCompatibilities", []string{"FARGATE"})
		eq(t, td, "networkMode", "awsvpc")
		eq(t, td, "cpu", perStack(stack, "512", "1024"))
		eq(t, td, "memory", perStack(stack, "1024", "2048"))
		eq(t, td, "runtimePlatform.cpuArchitecture", "ARM64")
		eq(t, td, "runtimePlatform.operatingSystemFamily", "LINUX")
		eq(t, td, "executionRoleArn", out(t, one(t, rec, "aws:iam/role:Role", "task-execution"), "arn"))
		eq(t, td, "taskRoleArn", out(t, one(t, rec, "aws:iam/role:Role", "task"), "arn"))
		eq(t, td, "volumes", []any{map[string]any{"name": "tmp"}})
	})
}

func TestContainerDefinition(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		c := container(t, rec)
		if c.User != "65532:65532" || !c.ReadonlyRootFilesystem || c.Privileged || !c.Essential {
			t.Errorf("user %q readonly %v privileged %v essential %v; want 65532:65532, true, false, true",
				c.User, c.ReadonlyRootFilesystem, c.Privileged, c.Essential)
		}
		if !slices.Equal(c.HealthCheck.Command, []string{"CMD", "/trading", "-healthcheck"}) {
			t.Errorf("health check command %v", c.HealthCheck.Command)
		}
		if c.HealthCheck.Interval*c.HealthCheck.Retries > 30 || c.HealthCheck.Timeout >= c.HealthCheck.Interval {
			t.Errorf("container health check %+v: a hung task must be detected within 30 s", c.HealthCheck)
		}
		if c.StopTimeout != 30 {
			t.Errorf("stopTimeout %d, want 30 (CONTRACT.md)", c.StopTimeout)
		}
		if !c.LinuxParameters.InitProcessEnabled || !slices.Equal(c.LinuxParameters.Capabilities.Drop, []string{"ALL"}) {
			t.Errorf("linuxParameters %+v", c.LinuxParameters)
		}
		if len(c.Ulimits) != 1 || c.Ulimits[0] != (service.Ulimit{Name: "nofile", SoftLimit: 65536, HardLimit: 65536}) {
			t.Errorf("ulimits %+v", c.Ulimits)
		}
		if len(c.PortMappings) != 1 || c.PortMappings[0].ContainerPort != 8080 || c.PortMappings[0].Protocol != "tcp" {
			t.Errorf("port mappings %+v", c.PortMappings)
		}
		if len(c.MountPoints) != 1 || c.MountPoints[0].ContainerPath != "/tmp" || c.MountPoints[0].SourceVolume != "tmp" {
			t.Errorf("mount points %+v; want only a scratch /tmp", c.MountPoints)
		}

		env := map[string]string{}
		for _, kv := range c.Environment {
			env[kv.Name] = kv.Value
		}
		wantEnv := map[string]string{"APP_PORT": "8080", "APP_TLS": "self-signed", "AWS_REGION": "us-east-1", "LOG_LEVEL": "info",
			"DB_USERNAME": "trading_app", "DB_AUTH_MODE": "iam", "DB_MIGRATIONS": "wait", "OIDC_SCOPE": "trading/orders",
			"SSM_PARAMETERS_PATH": "/trading/" + stack, "METRICS_NAMESPACE": "Trading/" + stack,
			"OIDC_JWKS_PARAMETER": "/trading/" + stack + "/identity/jwks",
			"DRAIN_DELAY":         "10s", "SHUTDOWN_TIMEOUT": "15s"}
		if fmt.Sprint(env) != fmt.Sprint(wantEnv) {
			t.Errorf("environment %v, want %v", env, wantEnv)
		}

		// Secrets: every parameter-backed variable points at the ARN of the
		// parameter that holds it; the DB credentials at the secret's keys.
		secrets := map[string]string{}
		for _, s := range c.Secrets {
			secrets[s.Name] = s.ValueFrom
		}
		paramFor := map[string]string{
			"DB_WRITER_HOST": "db/writer-host", "DB_READER_HOST": "db/reader-host", "DB_PORT": "db/port",
			"DB_NAME": "db/name", "DB_SSLMODE": "db/sslmode", "SESSIONS_TABLE": "sessions/table",
			"EVENT_BUS_NAME": "events/bus-name", "SESSION_TTL": "sessions/ttl",
			"OIDC_ISSUER": "identity/issuer", "OIDC_CLIENT_IDS": "identity/client-ids", "OIDC_TRADER_MAP": "identity/trader-map",
		}
		for envName, path := range paramFor {
			p := one(t, rec, "aws:ssm/parameter:Parameter", "params-param-"+strings.ReplaceAll(path, "/", "-"))
			want := out(t, p, "arn")
			if !strings.HasPrefix(want, "arn:aws:ssm:us-east-1:"+acct+":parameter/trading/"+stack+"/") {
				t.Fatalf("parameter ARN %q is outside the stack's hierarchy", want)
			}
			if secrets[envName] != want {
				t.Errorf("secret %s valueFrom %q, want %q", envName, secrets[envName], want)
			}
		}
		// The app never sees the master secret: it connects as the
		// application role with IAM authentication.
		if len(secrets) != len(paramFor) {
			t.Errorf("%d secrets, want %d: %v", len(secrets), len(paramFor), secrets)
		}
		// The migrate task alone holds the master secret (TestMigrateTask).
		for _, sec := range c.Secrets {
			if strings.Contains(sec.ValueFrom, ":secretsmanager:") {
				t.Errorf("the app container reads %s from the secret %s", sec.Name, sec.ValueFrom)
			}
		}
		// Every variable the contract requires is injected (DB_CA_BUNDLE is
		// the image's; the *_ENDPOINT overrides are test-only).
		for _, name := range []string{"APP_PORT", "AWS_REGION", "LOG_LEVEL", "DB_WRITER_HOST", "DB_READER_HOST", "DB_PORT",
			"DB_NAME", "DB_USERNAME", "DB_SSLMODE", "SESSIONS_TABLE", "EVENT_BUS_NAME", "SESSION_TTL", "SHUTDOWN_TIMEOUT",
			"OIDC_ISSUER", "OIDC_CLIENT_IDS", "SSM_PARAMETERS_PATH", "METRICS_NAMESPACE"} {
			_, inEnv := env[name]
			_, inSecrets := secrets[name]
			if inEnv == inSecrets {
				t.Errorf("%s: in environment %v, in secrets %v; want exactly one", name, inEnv, inSecrets)
			}
		}

		// Logs: awslogs to the explicit, KMS-encrypted log group.
		lg := one(t, rec, "aws:cloudwatch/logGroup:LogGroup", "app-logs")
		eq(t, lg, "name", "/trading/ecs-trading-"+stack)
		eq(t, lg, "retentionInDays", perStack(stack, 30, 365))
		eq(t, lg, "kmsKeyId", out(t, one(t, rec, "aws:kms/key:Key", "key-telemetry"), "arn"))
		lc := c.LogConfiguration
		if lc.LogDriver != "awslogs" || lc.Options["awslogs-group"] != "/trading/ecs-trading-"+stack ||
			lc.Options["awslogs-region"] != "us-east-1" || lc.Options["awslogs-stream-prefix"] == "" || lc.Options["mode"] != "non-blocking" {
			t.Errorf("log configuration %+v", lc)
		}
	})
}

func TestServiceIAM(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		keys := arn.In(offline.Region, acct).Keys()
		logGroup := out(t, one(t, rec, "aws:cloudwatch/logGroup:LogGroup", "app-logs"), "arn")
		repo := out(t, one(t, rec, "aws:ecr/repository:Repository", "app"), "arn")
		// Exactly the injected parameters: never the probes' client secrets.
		var paramArns []string
		for _, row := range paramtable.Rows {
			paramArns = append(paramArns, fmt.Sprintf("arn:aws:ssm:us-east-1:%s:parameter/trading/%s/%s", acct, stack, row.Path))
		}
		sort.Strings(paramArns)

		execDoc := rolePolicy(t, rec, "task-execution")
		assertNoWildcards(t, "execution role", execDoc)
		assertGrants(t, "execution role", grants(execDoc), map[string][]string{
			"ecr:GetAuthorizationToken":  {"*"},
			"ecr:BatchGetImage":          {repo},
			"ecr:GetDownloadUrlForLayer": {repo},
			"logs:CreateLogStream":       {logGroup + ":*"},
			"logs:PutLogEvents":          {logGroup + ":*"},
			"ssm:GetParameters":          paramArns,
			"kms:Decrypt":                {keys},
		})
		// No master credential: the migrate task's execution role is the
		// only one allowed the secret (TestMigrateTask).
		if g := grants(execDoc)["secretsmanager:GetSecretValue"]; len(g) != 0 {
			t.Errorf("the service's execution role may read the secrets %v", g)
		}
		// The data key by alias, only as SSM decrypts.
		keyGrantIs(t, "execution role", statementBySid(t, "execution role", execDoc, "DecryptConfig"), "alias/kms-data-"+stack,
			map[string]map[string]any{"StringEquals": {"kms:ViaService": []any{"ssm.us-east-1.amazonaws.com"}}})
		// Every parameter the container reads is one the role may read.
		for _, s := range container(t, rec).Secrets {
			if !slices.Contains(paramArns, s.ValueFrom) {
				t.Errorf("secret %s from %s, which the execution role cannot read", s.Name, s.ValueFrom)
			}
		}

		table := out(t, one(t, rec, "aws:dynamodb/table:Table", "sessions-sessions"), "arn")
		root := fmt.Sprintf("arn:aws:ssm:us-east-1:%s:parameter/trading/%s", acct, stack)
		bus := fmt.Sprintf("arn:aws:events:us-east-1:%s:event-bus/events-%s", acct, stack)
		taskDoc := rolePolicy(t, rec, "task")
		assertNoWildcards(t, "task role", taskDoc)
		assertGrants(t, "task role", grants(taskDoc), map[string][]string{
			"dynamodb:GetItem": {table}, "dynamodb:PutItem": {table},
			"events:PutEvents":        {bus},
			"ssm:GetParametersByPath": {root + "/flags", root + "/flags/*", root + "/limits", root + "/limits/*", root + "/reference-prices", root + "/reference-prices/*"},
			// The issuer's signing keys (paramtable.KeySetPath).
			"ssm:GetParameter": {root + "/identity/jwks"},
			// IAM database authentication as the application role, on the
			// cluster's resource id (not its name).
			"rds-db:connect": {"arn:aws:rds-db:us-east-1:" + acct + ":dbuser:" + out(t, one(t, rec, "aws:rds/cluster:Cluster", "aurora"), "clusterResourceId") + "/trading_app"},
			"kms:Decrypt":    {keys}, "kms:GenerateDataKey": {keys},
		})
		// The data key by alias, only as DynamoDB uses it for the table.
		keyGrantIs(t, "task role", statementBySid(t, "task role", taskDoc, "DataKeyViaDynamoDB"), "alias/kms-data-"+stack,
			map[string]map[string]any{"StringEquals": {
				"kms:ViaService": "dynamodb.us-east-1.amazonaws.com", "kms:EncryptionContext:aws:dynamodb:tableName": "sessions-" + stack,
			}})

		for _, role := range []string{"task", "task-execution"} {
			r := one(t, rec, "aws:iam/role:Role", role)
			eq(t, r, "name", perStack(stack, "role-"+role+"-dev", "role-"+role+"-prod"))
			var trust policyDoc
			jsonInput(t, r, "assumeRolePolicy", &trust)
			st := trust.Statement[0]
			if st.Principal["Service"] != "ecs-tasks.amazonaws.com" || st.Condition["StringEquals"]["aws:SourceAccount"] != acct {
				t.Errorf("%s trust policy %+v", role, st)
			}
		}
	})
}

func TestServiceExecIsOptIn(t *testing.T) {
	rec, err := recordWith(t, "dev", map[string]string{"trading-ha:enableExecuteCommand": "true"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, one(t, rec, "aws:ecs/service:Service", "app"), "enableExecuteCommand", true)
	g := grants(rolePolicy(t, rec, "task"))
	for _, a := range service.ExecActions {
		if !slices.Equal(g[a], []string{"*"}) {
			t.Errorf("with ECS Exec on, task role lacks %s", a)
		}
	}
	var paths []string
	for _, m := range container(t, rec).MountPoints {
		paths = append(paths, m.ContainerPath)
	}
	for _, p := range []string{"/tmp", "/managed-agents", "/var/lib/amazon/ssm", "/var/log/amazon/ssm"} {
		if !slices.Contains(paths, p) {
			t.Errorf("with ECS Exec on, %s is not writable (mounts %v)", p, paths)
		}
	}
	// Off (the stack default): no ssmmessages at all.
	for a := range grants(rolePolicy(t, record(t, "dev"), "task")) {
		if strings.HasPrefix(a, "ssmmessages:") {
			t.Errorf("ECS Exec off, but the task role grants %s", a)
		}
	}
}

func TestLoadBalancer(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		alb := one(t, rec, "aws:lb/loadBalancer:LoadBalancer", "alb")
		eq(t, alb, "name", "alb-"+stack)
		eq(t, alb, "internal", false)
		eq(t, alb, "loadBalancerType", "application")
		eq(t, alb, "subnets", []string{"subnet-public-a", "subnet-public-b", "subnet-public-c"})
		eq(t, alb, "securityGroups", []string{sgID(t, rec, "sg-alb")})
		eq(t, alb, "enableCrossZoneLoadBalancing", true)
		eq(t, alb, "dropInvalidHeaderFields", true)
		eq(t, alb, "desyncMitigationMode", "strictest")
		eq(t, alb, "enableDeletionProtection", protected(stack))
		eq(t, alb, "idleTimeout", 60)
		eq(t, alb, "accessLogs.enabled", true)
		eq(t, alb, "accessLogs.prefix", "alb")
		eq(t, alb, "accessLogs.bucket", out(t, one(t, rec, "aws:s3/bucketV2:BucketV2", "logs"), "bucket"))

		https := one(t, rec, "aws:lb/listener:Listener", "https")
		eq(t, https, "loadBalancerArn", out(t, alb, "arn"))
		eq(t, https, "port", 443)
		eq(t, https, "protocol", "HTTPS")
		eq(t, https, "sslPolicy", "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09")
		eq(t, https, "defaultActions.0.type", "forward")
		eq(t, https, "defaultActions.0.targetGroupArn", out(t, one(t, rec, "aws:lb/targetGroup:TargetGroup", "app"), "arn"))

		// No port-80 listener unless httpRedirect (TestHTTPRedirectOnRequest);
		// the health paths answer 404 (TestHealthPathsClosedAtTheEdge).
		if n := len(rec.ByType("aws:lb/listener:Listener")); n != 1 {
			t.Errorf("%d listeners, want HTTPS 443 only", n)
		}
	})
	rec, err := recordWith(t, "prod", map[string]string{"trading-ha:deletionProtection": "true"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, one(t, rec, "aws:lb/loadBalancer:LoadBalancer", "alb"), "enableDeletionProtection", true)
}

func TestTargetGroupHealth(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		tg := one(t, rec, "aws:lb/targetGroup:TargetGroup", "app")
		if n, _ := tg.Inputs["name"].(string); !regexp.MustCompile(`^tg-` + stack + `-[0-9a-f]{8}$`).MatchString(n) {
			t.Errorf("target group name %q, want tg-%s-<8 hex keyed on its replace-forcing inputs>", n, stack)
		}
		eq(t, tg, "targetType", "ip")
		// TLS from the load balancer to the tasks; the container serves it
		// (APP_TLS, TestContainerDefinition; app/internal/service.TestServerSpeaksTLSWhenAsked).
		eq(t, tg, "protocol", "HTTPS")
		eq(t, tg, "protocolVersion", "HTTP1")
		eq(t, tg, "port", 8080)
		eq(t, tg, "vpcId", "vpc-0trading")
		eq(t, tg, "healthCheck", map[string]any{
			"enabled": true, "protocol": "HTTPS", "port": "traffic-port", "path": "/readyz", "matcher": "200",
			"interval": float64(5), "timeout": float64(3), "healthyThreshold": float64(2), "unhealthyThreshold": float64(2),
		})
		delay := get(t, tg, "deregistrationDelay").(float64)
		if delay > 60 || delay != float64(container(t, rec).StopTimeout) {
			t.Errorf("deregistration delay %v s; want <= 60 and equal to the container stopTimeout", delay)
		}
		if _, ok := tg.Inputs["slowStart"]; ok {
			t.Errorf("slow start set although slowStartSeconds is 0")
		}
	})
}

// TestAppTierDetectionTime computes, from the recorded target group, how
// long the ALB keeps routing to a dead task: interval x unhealthy threshold.
func TestAppTierDetectionTime(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		tg := one(t, rec, "aws:lb/targetGroup:TargetGroup", "app")
		interval := get(t, tg, "healthCheck.interval").(float64)
		unhealthy := get(t, tg, "healthCheck.unhealthyThreshold").(float64)
		detect := interval * unhealthy
		t.Logf("%s: ALB stops routing to a failed task after %v s (%v s x %v)", stack, detect, interval, unhealthy)
		if detect > 30 {
			t.Errorf("detection %v s exceeds the 30 s budget", detect)
		}
		c := container(t, rec)
		if d := c.HealthCheck.Interval * c.HealthCheck.Retries; d > 30 {
			t.Errorf("container health check detects a hang after %d s; budget 30 s", d)
		}
	})
}

func TestServiceSecurityGroupRules(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		alb, tasks, db := sgID(t, rec, "sg-alb"), sgID(t, rec, "sg-tasks"), sgID(t, rec, "sg-db")
		s3 := out(t, one(t, rec, "aws:ec2/vpcEndpoint:VpcEndpoint", "endpoint-s3"), "prefixListId")
		ddb := out(t, one(t, rec, "aws:ec2/vpcEndpoint:VpcEndpoint", "endpoint-dynamodb"), "prefixListId")
		name := map[string]string{alb: "alb", tasks: "tasks", db: "db", s3: "s3-prefix-list", ddb: "dynamodb-prefix-list", sgID(t, rec, "sg-migrate"): "migrate"}
		if stack == "prod" {
			name[sgID(t, rec, "sg-endpoints")] = "endpoints"
		}
		describe := func(dir string, r *offline.Resource) string {
			in := r.Inputs
			peer := ""
			for _, k := range []string{"cidrIpv4", "cidrIpv6", "referencedSecurityGroupId", "prefixListId"} {
				if v, ok := in[k].(string); ok {
					peer = v
					if n, ok := name[v]; ok {
						peer = n
					}
				}
			}
			if in["fromPort"] != in["toPort"] {
				return fmt.Sprintf("%s port range %v-%v", r.Name, in["fromPort"], in["toPort"])
			}
			return fmt.Sprintf("%s %s %s:%v %s", name[in["securityGroupId"].(string)], dir, in["ipProtocol"], in["fromPort"], peer)
		}
		var got []string
		for _, r := range rec.ByType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
			got = append(got, describe("in", r))
		}
		for _, r := range rec.ByType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") {
			got = append(got, describe("out", r))
		}
		sort.Strings(got)
		want := []string{
			"alb in tcp:443 0.0.0.0/0", "alb in tcp:443 ::/0",
			"alb out tcp:8080 tasks",
			"tasks in tcp:8080 alb",
			"tasks out tcp:443 dynamodb-prefix-list", "tasks out tcp:443 s3-prefix-list",
			// the database component's pairs: PostgreSQL from the tasks and
			// from the one-off migrate task only
			"db in tcp:5432 tasks", "tasks out tcp:5432 db",
			"db in tcp:5432 migrate", "migrate out tcp:5432 db",
			// the migrate task accepts nothing; it reaches S3 (image layers)
			"migrate out tcp:443 s3-prefix-list",
		}
		if stack == "prod" {
			// closed egress: HTTPS to the interface endpoints' group only,
			// which admits HTTPS from the tasks and the migrate task only
			want = append(want, "tasks out tcp:443 endpoints", "endpoints in tcp:443 tasks",
				"migrate out tcp:443 endpoints", "endpoints in tcp:443 migrate")
		} else {
			want = append(want, "tasks out tcp:443 0.0.0.0/0", "migrate out tcp:443 0.0.0.0/0")
		}
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("security group rules:\n got %q\nwant %q", got, want)
		}
	})
}

func TestServiceAutoscaling(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		target := one(t, rec, "aws:appautoscaling/target:Target", "app")
		eq(t, target, "serviceNamespace", "ecs")
		eq(t, target, "scalableDimension", "ecs:service:DesiredCount")
		eq(t, target, "resourceId", fmt.Sprintf("service/ecs-%s/svc-trading-%s", stack, stack))
		eq(t, target, "minCapacity", 3)
		eq(t, target, "maxCapacity", perStack(stack, 6, 12))
		desired := get(t, one(t, rec, "aws:ecs/service:Service", "app"), "desiredCount").(float64)
		if min := get(t, target, "minCapacity").(float64); min < desired {
			t.Errorf("minCapacity %v below desiredCount %v", min, desired)
		}

		alb := one(t, rec, "aws:lb/loadBalancer:LoadBalancer", "alb")
		tg := one(t, rec, "aws:lb/targetGroup:TargetGroup", "app")
		for name, want := range map[string]map[string]any{
			"cpu": {"predefinedMetricType": "ECSServiceAverageCPUUtilization"},
			"requests": {"predefinedMetricType": "ALBRequestCountPerTarget",
				"resourceLabel": out(t, alb, "arnSuffix") + "/" + out(t, tg, "arnSuffix")},
		} {
			p := one(t, rec, "aws:appautoscaling/policy:Policy", name)
			eq(t, p, "policyType", "TargetTrackingScaling")
			eq(t, p, "resourceId", get(t, target, "resourceId"))
			eq(t, p, "targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification", want)
			eq(t, p, "targetTrackingScalingPolicyConfiguration.scaleInCooldown", 300)
			eq(t, p, "targetTrackingScalingPolicyConfiguration.scaleOutCooldown", 60)
			eq(t, p, "targetTrackingScalingPolicyConfiguration.targetValue", map[string]int{"cpu": 60, "requests": 1000}[name])
		}
	})
}

func TestWebACL(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		acl := one(t, rec, "aws:wafv2/webAcl:WebAcl", "alb")
		eq(t, acl, "name", "waf-"+stack)
		eq(t, acl, "scope", "REGIONAL")
		eq(t, acl, "defaultAction", map[string]any{"allow": map[string]any{}})
		// Metrics on, sampled requests off: samples keep whole requests,
		// bearer tokens included, and logging redaction does not reach them.
		eq(t, acl, "visibilityConfig.cloudwatchMetricsEnabled", true)
		eq(t, acl, "visibilityConfig.sampledRequestsEnabled", false)
		type rule struct {
			Name, Vendor string
			Priority     int
			Limit        int
		}
		var got []rule
		for _, r := range get(t, acl, "rules").([]any) {
			m := r.(map[string]any)
			vis := m["visibilityConfig"].(map[string]any)
			if vis["cloudwatchMetricsEnabled"] != true || vis["sampledRequestsEnabled"] != false || vis["metricName"] != m["name"] {
				t.Errorf("rule %v visibility %v", m["name"], vis)
			}
			st := m["statement"].(map[string]any)
			x := rule{Name: m["name"].(string), Priority: int(m["priority"].(float64))}
			if mg, ok := st["managedRuleGroupStatement"].(map[string]any); ok {
				x.Vendor = mg["vendorName"].(string)
				if mg["name"] != m["name"] || m["overrideAction"] == nil {
					t.Errorf("managed rule %v: statement %v, override %v", m["name"], mg, m["overrideAction"])
				}
			}
			if rb, ok := st["rateBasedStatement"].(map[string]any); ok {
				x.Limit = int(rb["limit"].(float64))
				if rb["aggregateKeyType"] != "IP" || rb["evaluationWindowSec"] != float64(300) {
					t.Errorf("rate rule %v", rb)
				}
				if _, blocks := m["action"].(map[string]any)["block"]; !blocks {
					t.Errorf("rate rule action %v, want block", m["action"])
				}
			}
			got = append(got, x)
		}
		want := []rule{
			{Name: "AWSManagedRulesAmazonIpReputationList", Vendor: "AWS", Priority: 10},
			{Name: "RateLimitPerIP", Priority: 20, Limit: perStack(stack, 1000, 2000)},
			{Name: "AWSManagedRulesCommonRuleSet", Vendor: "AWS", Priority: 30},
			{Name: "AWSManagedRulesKnownBadInputsRuleSet", Vendor: "AWS", Priority: 40},
		}
		if !slices.Equal(got, want) {
			t.Errorf("WAF rules\n got %+v\nwant %+v", got, want)
		}
		assoc := one(t, rec, "aws:wafv2/webAclAssociation:WebAclAssociation", "alb")
		eq(t, assoc, "resourceArn", out(t, one(t, rec, "aws:lb/loadBalancer:LoadBalancer", "alb"), "arn"))
		eq(t, assoc, "webAclArn", out(t, acl, "arn"))
	})
	rec, err := recordWith(t, "dev", map[string]string{"trading-ha:wafEnabled": "false"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rec.ByType("aws:wafv2/webAcl:WebAcl")) + len(rec.ByType("aws:wafv2/webAclAssociation:WebAclAssociation")); n != 0 {
		t.Errorf("wafEnabled=false still creates %d WAF resources", n)
	}
}

func TestCertificateModes(t *testing.T) {
	listenerCert := func(t *testing.T, rec *offline.Recording) any {
		return get(t, one(t, rec, "aws:lb/listener:Listener", "https"), "certificateArn")
	}
	count := func(rec *offline.Recording, types ...string) int {
		n := 0
		for _, typ := range types {
			n += len(rec.ByType(typ))
		}
		return n
	}
	t.Run("selfsigned (both stacks, fresh account)", func(t *testing.T) {
		for _, stack := range Stacks {
			t.Run(stack, func(t *testing.T) {
				rec := recordFresh(t, stack)
				key := one(t, rec, "tls:index/privateKey:PrivateKey", "app")
				eq(t, key, "algorithm", "ECDSA")
				eq(t, key, "ecdsaCurve", "P256")
				cert := one(t, rec, "tls:index/selfSignedCert:SelfSignedCert", "app")
				eq(t, cert, "validityPeriodHours", 8760)
				eq(t, cert, "earlyRenewalHours", 720)
				eq(t, cert, "allowedUses", []string{"key_encipherment", "digital_signature", "server_auth"})
				// No domainName: the ALB's own name only.
				eq(t, cert, "dnsNames", []string{out(t, one(t, rec, "aws:lb/loadBalancer:LoadBalancer", "alb"), "dnsName")})
				withName := one(t, withDomain(t, stack, selfSignedDomain(stack)), "tls:index/selfSignedCert:SelfSignedCert", "app")
				eq(t, withName, "dnsNames", []string{out(t, one(t, rec, "aws:lb/loadBalancer:LoadBalancer", "alb"), "dnsName"), "app." + domainOf(stack)})
				if cn := get(t, cert, "subject.commonName").(string); len(cn) > 64 {
					t.Errorf("CN %q longer than 64", cn)
				}
				acm := one(t, rec, "aws:acm/certificate:Certificate", "app")
				eq(t, acm, "certificateBody", out(t, cert, "certPem"))
				pk := acm.Raw["privateKey"]
				if !pk.IsSecret() {
					t.Errorf("the imported private key is not a secret in state")
				} else if pk.SecretValue().Element.StringValue() != out(t, key, "privateKeyPem") {
					t.Errorf("imported private key is not the generated key")
				}
				if got := listenerCert(t, rec); got != out(t, acm, "arn") {
					t.Errorf("listener certificate %v, want the imported %v", got, out(t, acm, "arn"))
				}
			})
		}
	})
	t.Run("existing", func(t *testing.T) {
		arn := "arn:aws:acm:us-east-1:" + acct + ":certificate/0f0e0d0c-0b0a-0908-0706-050403020100"
		rec, err := recordWith(t, "prod", map[string]string{"trading-ha:certificateMode": "existing", "trading-ha:certificateArn": arn})
		if err != nil {
			t.Fatal(err)
		}
		if got := listenerCert(t, rec); got != arn {
			t.Errorf("listener certificate %v, want %s", got, arn)
		}
		if n := count(rec, "aws:acm/certificate:Certificate", "tls:index/privateKey:PrivateKey") + len(named(rec, "aws:route53/record:Record", "cert-validation")); n != 0 {
			t.Errorf("existing mode created %d certificate resources", n)
		}
	})
	t.Run("dns", func(t *testing.T) {
		rec, err := recordWith(t, "prod", map[string]string{
			"trading-ha:certificateMode": "dns", "trading-ha:domainName": "trading.acmebank.net", "trading-ha:hostedZoneId": "Z0123456789ABCDEFGHIJ",
		})
		if err != nil {
			t.Fatal(err)
		}
		cert := one(t, rec, "aws:acm/certificate:Certificate", "app")
		eq(t, cert, "domainName", "app.trading.acmebank.net")
		eq(t, cert, "validationMethod", "DNS")
		record := one(t, rec, "aws:route53/record:Record", "cert-validation")
		eq(t, record, "zoneId", "Z0123456789ABCDEFGHIJ")
		eq(t, record, "type", "CNAME")
		eq(t, record, "name", "_x.mock.")
		eq(t, record, "records", []string{"_y.acm-validations.aws."})
		v := one(t, rec, "aws:acm/certificateValidation:CertificateValidation", "app")
		eq(t, v, "certificateArn", out(t, cert, "arn"))
		eq(t, v, "validationRecordFqdns", []string{out(t, record, "fqdn")})
		if got := listenerCert(t, rec); got != out(t, v, "certificateArn") {
			t.Errorf("listener certificate %v, want the validated %v", got, out(t, v, "certificateArn"))
		}
		if n := count(rec, "tls:index/privateKey:PrivateKey", "tls:index/selfSignedCert:SelfSignedCert"); n != 0 {
			t.Errorf("dns mode also created %d self-signed resources", n)
		}
	})
}

func TestImageRepositoryAndBuild(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		repo := one(t, rec, "aws:ecr/repository:Repository", "app")
		eq(t, repo, "name", "ecr-trading-"+stack)
		eq(t, repo, "imageTagMutability", "IMMUTABLE")
		eq(t, repo, "forceDelete", true)
		eq(t, repo, "imageScanningConfiguration.scanOnPush", true)
		eq(t, repo, "encryptionConfigurations.0.encryptionType", "KMS")
		eq(t, repo, "encryptionConfigurations.0.kmsKey", out(t, one(t, rec, "aws:kms/key:Key", "key-data"), "arn"))
		var lifecycle struct {
			Rules []struct {
				Selection struct {
					TagStatus, CountType string
					CountNumber          int
				}
				Action struct{ Type string }
			}
		}
		jsonInput(t, one(t, rec, "aws:ecr/lifecyclePolicy:LifecyclePolicy", "app"), "policy", &lifecycle)
		if len(lifecycle.Rules) != 1 || lifecycle.Rules[0].Selection.CountType != "imageCountMoreThan" ||
			lifecycle.Rules[0].Selection.CountNumber != 20 || lifecycle.Rules[0].Action.Type != "expire" {
			t.Errorf("lifecycle policy %+v", lifecycle)
		}
		// The build itself: TestImageContract.
	})
	t.Run("x86", func(t *testing.T) {
		rec, err := recordWith(t, "dev", map[string]string{"trading-ha:cpuArchitecture": "X86_64"})
		if err != nil {
			t.Fatal(err)
		}
		eq(t, one(t, rec, "docker-build:index:Image", "app-image"), "platforms", []any{"linux/amd64"})
		eq(t, one(t, rec, "aws:ecs/taskDefinition:TaskDefinition", "app"), "runtimePlatform.cpuArchitecture", "X86_64")
	})
	t.Run("own image", func(t *testing.T) {
		for _, c := range []struct{ image, repoArn string }{
			{"public.ecr.aws/acme/trading:1.4.2", ""},
			{"210987654321.dkr.ecr.us-east-1.amazonaws.com/acme/trading:1.4.2", "arn:aws:ecr:us-east-1:210987654321:repository/acme/trading"},
		} {
			rec, err := recordWith(t, "dev", map[string]string{"trading-ha:appImage": c.image})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(rec.ByType("aws:ecr/repository:Repository")) + len(rec.ByType("docker-build:index:Image")); n != 0 {
				t.Errorf("%s: appImage set, yet %d repository/build resources", c.image, n)
			}
			if got := container(t, rec).Image; got != c.image {
				t.Errorf("container image %q, want %q", got, c.image)
			}
			g := grants(rolePolicy(t, rec, "task-execution"))
			if c.repoArn == "" {
				for a := range g {
					if strings.HasPrefix(a, "ecr:") {
						t.Errorf("%s: public image, yet the execution role grants %s", c.image, a)
					}
				}
			} else if !slices.Equal(g["ecr:BatchGetImage"], []string{c.repoArn}) {
				t.Errorf("%s: BatchGetImage on %v, want %s", c.image, g["ecr:BatchGetImage"], c.repoArn)
			}
		}
	})
}

// named returns the resources of a type with a logical name.
func named(rec *offline.Recording, typ, name string) []*offline.Resource {
	var out []*offline.Resource
	for _, r := range rec.ByType(typ) {
		if r.Name == name {
			out = append(out, r)
		}
	}
	return out
}

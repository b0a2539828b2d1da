// Package dependencies is the one table of the trading service's runtime
// dependencies, and of the one-off migrate task's that the deploy runs
// before the service rolls out: for each, how the tasks reach it (per
// privateEgress mode),
// the IAM that lets them use it, what the service does when it fails, the
// app test that shows that, the alarms that notice and who answers.
//
// It is data, not a component: the mock suite (tests/dependencies_test.go)
// derives every row from each stack's recording — the network path, the
// grants, the alarms — and finds every named app test under app/, and the
// docs generator (proof/docgen) renders it into docs/service.md. The
// probes appear where they share a row: the key sync holds grants on the
// signing keys, and the canary's alarm is the page for the rows a
// customer's journey crosses. A leaf package: it imports only naming,
// config and the ARN and parameter tables.
package dependencies

import (
	"fmt"
	"strings"

	"github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/paramtable"
)

// Route is how a Path leaves the task.
type Route int

const (
	// Interface is an AWS API the tasks call over HTTPS: through the
	// interface VPC endpoint of the path's Service when privateEgress is
	// endpoints, through the NAT gateways when it is nat.
	Interface Route = iota + 1
	// Gateway is an AWS API the tasks reach through the Service's gateway
	// endpoint on the private subnets' route tables, in every mode.
	Gateway
	// InVPC is a resource inside the VPC: the tasks' security group to the
	// resource's on Port.
	InVPC
	// ViaService means the task has no path of its own: the AWS service
	// named Service calls the dependency on the caller's behalf (KMS for
	// DynamoDB, SSM and Secrets Manager), over that service's own path.
	ViaService
)

// Path is one way a row's caller reaches its dependency.
type Path struct {
	Route Route
	// Service is the endpoint service, the last part of
	// com.amazonaws.<region>.<Service> ("ssm", "ecr.api", "dynamodb"); for
	// InVPC it names the resource ("aurora"); for ViaService, the service
	// that calls on the caller's behalf.
	Service string
	// Port is the InVPC port.
	Port int
	// EndpointActions are the actions the endpoint's policy must allow.
	// Empty means the row's granted actions whose IAM prefix is the
	// service's (EndpointPrefix).
	EndpointActions []string
}

// EndpointPrefix is the IAM action prefix of an endpoint service: the part
// before the first dot ("ecr.api" and "ecr.dkr" serve ecr: actions).
func (p Path) EndpointPrefix() string {
	prefix, _, _ := strings.Cut(p.Service, ".")
	return prefix
}

// Reach describes the path in a privateEgress mode (config.EgressNAT or
// config.EgressEndpoints) from the groups a row's tasks run with
// (Row.Groups), for the docs.
func (p Path) Reach(mode, region, groups string) string {
	switch p.Route {
	case Interface:
		if mode == config.EgressEndpoints {
			return fmt.Sprintf("interface endpoint `com.amazonaws.%s.%s` (private DNS, endpoint group admits 443 from the %s)", region, p.Service, groups)
		}
		return fmt.Sprintf("NAT gateway to the public `%s` endpoint (%s: 443 to 0.0.0.0/0)", p.Service, groups)
	case Gateway:
		return fmt.Sprintf("gateway endpoint `%s` on the private route tables (%s: 443 to its prefix list)", p.Service, groups)
	case InVPC:
		return fmt.Sprintf("in the VPC: %s to the %s group on %d", groups, p.Service, p.Port)
	case ViaService:
		return fmt.Sprintf("none of its own: %s calls it for the caller", p.Service)
	}
	return "unknown route"
}

// Scope resolves the table's resources for one stack. The mock suite
// fills it from the recording; Placeholders fills it for the docs.
type Scope struct {
	Region, Account string
	Names           naming.Namer
	// ClusterResourceID is the Aurora cluster's DbClusterResourceId, which
	// RDS assigns at create (cluster-...).
	ClusterResourceID string
	// DBSecretArn is the RDS-managed master secret's ARN, named by RDS.
	DBSecretArn string
}

// Placeholders is the Scope the docs render the table with.
var Placeholders = Scope{
	Region: config.Region, Account: "<account>", Names: naming.New("<suffix>"),
	ClusterResourceID: "<cluster resource id>", DBSecretArn: "<the cluster's master secret>",
}

// Task is an ECS task whose network a row's paths start from.
type Task int

const (
	// ServiceTask is the trading service's task: the ECS service's subnets
	// and the tasks group.
	ServiceTask Task = iota
	// MigrateTask is the one-off migrate task the deploy runs (the migrate
	// runbook): the network it reads from the parameter migrate/network,
	// the private subnets and the migrate group.
	MigrateTask
)

// Grant is what one role needs for the row: every action on every
// resource, with statement conditions that name at least these values.
type Grant struct {
	// Role is the role's naming kind: naming.TaskRole (the app),
	// naming.TaskExecutionRole (the Fargate agent at the app's task start),
	// naming.MigrateExecutionRole (the agent at the migrate task's start)
	// or a probe's role (naming.KeySyncRole).
	Role       naming.Kind
	Actions    []string
	Resources  func(Scope) []string
	Conditions func(Scope) map[string][]string
}

// Alarm is a recorded metric alarm that notices the row's failure, by key
// (its name is alarm-<key>-<suffix>, naming.Alarm).
type Alarm struct {
	Key string
	// Pages says the alarm is a member of the customer-impact composite,
	// which pages on customer impact; the other alarms of a row notify.
	Pages bool
}

// Row is one runtime dependency.
type Row struct {
	// Key identifies the row in tests and docs.
	Key string
	// Dependency says what is depended on, and for what.
	Dependency string
	// Caller is who calls it, and when.
	Caller string
	// Tasks are the tasks the paths start from; empty means the service's
	// (ServiceTask).
	Tasks  []Task
	Paths  []Path
	Grants []Grant
	// OnFailure is what the service does while the dependency fails
	// (CONTRACT.md, docs/app.md and the app code).
	OnFailure string
	// AppTests are test functions under app/ that show OnFailure; when
	// none can (the app never runs), NoAppTest says why.
	AppTests  []string
	NoAppTest string
	// Alarms notice the failure; when none does, Unwatched says why.
	Alarms    []Alarm
	Unwatched string
	// Answer is who answers: the automated mechanism, then the person.
	Answer string
}

// CallerTasks are the tasks the row's paths start from (Tasks, else the
// service's).
func (r Row) CallerTasks() []Task {
	if len(r.Tasks) == 0 {
		return []Task{ServiceTask}
	}
	return r.Tasks
}

// Groups names the security groups the row's paths start from, for the
// docs: "tasks group", "migrate group" or "tasks and migrate groups".
func (r Row) Groups() string {
	var names []string
	for _, t := range r.CallerTasks() {
		names = append(names, map[Task]string{ServiceTask: "tasks", MigrateTask: "migrate"}[t])
	}
	if len(names) == 1 {
		return names[0] + " group"
	}
	return strings.Join(names, " and ") + " groups"
}

// Spare is an interface endpoint that closed egress builds although no row
// calls through it, with the reason.
type Spare struct {
	Service, Reason string
}

// SpareEndpoints are the interface endpoints of infra/network that no row
// uses: the mock suite holds every recorded interface endpoint to a row's
// path or to this list.
var SpareEndpoints = []Spare{
	{"kms", "no caller in the task: DynamoDB, SSM and Secrets Manager call KMS for the roles (row `kms`)"},
	{"sts", "no caller: app/ has no STS client (it uses DynamoDB, EventBridge and SSM, and signs IAM database tokens locally); Fargate hands the task its role credentials on the container credentials endpoint"},
	{"ssmmessages", "ECS Exec only (enableExecuteCommand): an operator's debugging channel, not a dependency of serving"},
}

// DBAppUser is the database role the app connects as (CONTRACT.md section
// 4); infra/service.DBAppUser, which the suite holds it equal to.
const DBAppUser = "trading_app"

// ReadPaths are the parameter subtrees the app reads with
// GetParametersByPath (CONTRACT.md section 5); infra/service.ReadPaths,
// which the suite holds them equal to.
var ReadPaths = []string{"flags", "limits", "reference-prices"}

func parameter(s Scope, rel string) string {
	return arn.In(s.Region, s.Account).Parameter(s.Names.Parameter(rel))
}

func dataKey(s Scope) []string { return []string{arn.In(s.Region, s.Account).Keys()} }

func via(s Scope, services ...string) map[string][]string {
	out := map[string][]string{"kms:ResourceAliases": {s.Names.Name(naming.KMSDataAlias)}}
	for _, svc := range services {
		out["kms:ViaService"] = append(out["kms:ViaService"], svc+"."+s.Region+".amazonaws.com")
	}
	return out
}

// ecsStops is the NoAppTest of the dependencies ECS resolves at task start.
const ecsStops = "no app code runs: ECS stops the task before its containers start"

// startFailure is the OnFailure of the dependencies ECS resolves at task start.
const startFailure = "Running tasks are unaffected (ECS resolved it when they started); a new task — a deployment, a replacement after a crash or an AZ loss, a scale-out — stops with %s before any container starts."

// migrateStartFailure is the migrate task's side of startFailure.
const migrateStartFailure = " The migrate task stops the same way: the migrate runbook fails (the task has no exit code) and the deploy stops before the service rolls out."

// migrateRunbookFailed is the alarm on the migrate runbook's failed
// executions (monitoring: <state machine kind>-failed).
var migrateRunbookFailed = Alarm{Key: naming.MigrateSM.Type + "-failed"}

// migrateParams are the parameters the migrate task reads (paramtable rows
// marked Migrate).
func migrateParams(s Scope) []string {
	var out []string
	for _, r := range paramtable.Rows {
		if r.Migrate {
			out = append(out, parameter(s, r.Path))
		}
	}
	return out
}

// masterSecret is the grant of the master secret: the migrate task's
// execution role alone.
var masterSecret = Grant{Role: naming.MigrateExecutionRole, Actions: []string{"secretsmanager:GetSecretValue"},
	Resources: func(s Scope) []string { return []string{s.DBSecretArn} }}

// Rows returns the table, a fresh copy on every call.
func Rows() []Row {
	return []Row{{
		Key:        "aurora",
		Dependency: "Aurora PostgreSQL: the writer through the cluster endpoint (orders, the outbox and its relay), the reader endpoint for `GET /orders`; IAM database authentication as `trading_app`",
		Caller:     "app (task role), every order",
		Paths:      []Path{{Route: InVPC, Service: "aurora", Port: 5432}},
		Grants: []Grant{{Role: naming.TaskRole, Actions: []string{"rds-db:connect"},
			Resources: func(s Scope) []string {
				return []string{fmt.Sprintf("arn:aws:rds-db:%s:%s:dbuser:%s/%s", s.Region, s.Account, s.ClusterResourceID, DBAppUser)}
			}}},
		OnFailure: "Failover errors are retried with backoff (at most 15 s), the pool re-dials the cluster endpoint; after that the order answers 503 `unavailable` + Retry-After (retry with the same key). Reads fall back from the reader to the writer. `/healthz` and `/readyz` stay 200: every task stays in service.",
		AppTests:  []string{"TestBalancerCheckIgnoresDependencyOutages", "TestConcurrentMigrateAndFailoverRetry"},
		Alarms:    []Alarm{{Key: "canary-success", Pages: true}, {Key: "target-5xx"}},
		Answer:    "Aurora fails over to a reader in another AZ and the app reconnects on its own; a person if it lasts (paged through the composite)",
	}, {
		Key:        "sessions",
		Dependency: "DynamoDB table `sessions-<suffix>`: sessions are created and looked up on every session and order call",
		Caller:     "app (task role), every request",
		Paths:      []Path{{Route: Gateway, Service: "dynamodb"}},
		Grants: []Grant{{Role: naming.TaskRole, Actions: []string{"dynamodb:GetItem", "dynamodb:PutItem"},
			Resources: func(s Scope) []string {
				return []string{arn.In(s.Region, s.Account).Table(s.Names.Name(naming.SessionsTable))}
			}}},
		OnFailure: "Each call ends within `SESSIONS_TIMEOUT` (2 s, SDK retries included); the request answers 503 `unavailable` + Retry-After. Sessions verified in the last `SESSION_CACHE_TTL` (10 s) are still served from memory. `/healthz` and `/readyz` stay 200.",
		AppTests:  []string{"TestTableThatDoesNotAnswer", "TestDependencyOutageKeepsTaskInService", "TestCacheServesLiveSessionsBriefly"},
		Alarms:    []Alarm{{Key: "canary-success", Pages: true}, {Key: "ddb-sessions-throttles"}, {Key: "ddb-sessions-system-errors"}},
		Answer:    "The recovery runbook judges `DEPENDENCY_OUTAGE` and leaves the fleet alone (a new task cannot fix DynamoDB); a person for throttling or a lasting outage",
	}, {
		Key:        "bus",
		Dependency: "EventBridge bus `events-<suffix>`: the outbox relay's PutEvents of `OrderPlaced`",
		Caller:     "app (task role), the outbox relay in the background",
		Paths:      []Path{{Route: Interface, Service: "events"}},
		Grants: []Grant{{Role: naming.TaskRole, Actions: []string{"events:PutEvents"},
			Resources: func(s Scope) []string {
				return []string{arn.In(s.Region, s.Account).EventBus(s.Names.Name(naming.EventBus))}
			}}},
		OnFailure: "Orders still answer 201: each event is committed to the outbox with its order. The relay backs off (1 s doubling to 5 min) and publishes when the bus answers; bus-wide failures never dead-letter a row.",
		AppTests:  []string{"TestRelayRetriesBusFailures"},
		Alarms:    []Alarm{{Key: "outbox-backlog-age"}, {Key: "outbox-dead-letters"}},
		Answer:    "The outbox relay retries on its own; a person replays dead-lettered rows (docs/app.md)",
	}, {
		Key:        "limits",
		Dependency: "SSM Parameter Store: the kill switch, risk limits and reference prices (`/trading/<suffix>/{flags,limits,reference-prices}`), re-read every `SSM_REFRESH_INTERVAL` (5 s)",
		Caller:     "app (task role), in the background",
		Paths:      []Path{{Route: Interface, Service: "ssm"}},
		Grants: []Grant{{Role: naming.TaskRole, Actions: []string{"ssm:GetParametersByPath"},
			Resources: func(s Scope) []string {
				var out []string
				for _, p := range ReadPaths {
					out = append(out, parameter(s, p), parameter(s, p+"/*"))
				}
				return out
			}}},
		OnFailure: "A failed refresh keeps the last good values for `limits/max-staleness-seconds` (60 s); older, new orders answer 503 `limits_stale` + Retry-After (replays still answer): the halt that needs no SSM. Before the first successful read new orders answer 503 `limits_unavailable` + Retry-After; readiness does not depend on SSM. Each task reports the age as `RiskLimitsAgeSeconds`.",
		AppTests:  []string{"TestFailsClosedUntilLoadedThenKeepsLastGood", "TestStaleLimitsHaltWithoutParameterStore"},
		Alarms:    []Alarm{{Key: "risk-limits-stale"}, {Key: "canary-success", Pages: true}, {Key: "target-5xx"}},
		Answer:    "Notified at 30 s of staleness, while orders still flow; paged through the composite once tasks refuse orders",
	}, {
		Key: "signing-keys",
		Dependency: "The token issuer's signing keys: the user pool's JWKS, which the key sync (`sm-key-sync-<suffix>`, every minute, outside the VPC) copies into " +
			"`/trading/<suffix>/identity/jwks`; the tasks read that parameter and never call Cognito",
		Caller: "app (task role) on a token with an unknown `kid` and every `OIDC_JWKS_REFRESH_INTERVAL` (1 min); the key sync (its role) writes",
		Paths:  []Path{{Route: Interface, Service: "ssm"}},
		Grants: []Grant{
			{Role: naming.TaskRole, Actions: []string{"ssm:GetParameter"},
				Resources: func(s Scope) []string { return []string{parameter(s, paramtable.KeySetPath)} }},
			{Role: naming.KeySyncRole, Actions: []string{"ssm:GetParameter", "ssm:PutParameter"},
				Resources: func(s Scope) []string { return []string{parameter(s, paramtable.KeySetPath)} }},
			{Role: naming.KeySyncRole, Actions: []string{"states:InvokeHTTPEndpoint"},
				Resources: func(Scope) []string { return []string{"*"} },
				Conditions: func(s Scope) map[string][]string {
					return map[string][]string{"states:HTTPEndpoint": {"https://cognito-idp." + s.Region + ".amazonaws.com/" + s.Region + "_*/.well-known/jwks.json"}}
				}},
		},
		OnFailure: "The last good keys keep verifying; re-reads are limited to one per 30 s. With no keys at all (unreadable at start, or the placeholder before the first sync) requests answer 503 + Retry-After. A failed sync leaves the parameter as it was.",
		AppTests:  []string{"TestParameterSourceKeysWithoutHTTP"},
		Alarms:    []Alarm{{Key: "canary-success", Pages: true}, {Key: "sm-key-sync-failed"}},
		Answer:    "The key sync retries every minute; a person after 3 failed periods in a row, before Cognito signs with a key it has not copied",
	}, {
		Key: "kms",
		Dependency: "KMS data key `alias/kms-data-<suffix>`: DynamoDB uses it for the sessions table on the task role's behalf; SSM decrypts the " +
			"injected parameters for the app's execution role, SSM and Secrets Manager the migrate task's parameters and the master secret for its execution role",
		Caller: "DynamoDB for the app; SSM (and Secrets Manager, for the migrate task) for the agent at task start",
		Tasks:  []Task{ServiceTask, MigrateTask},
		Paths:  []Path{{Route: ViaService, Service: "dynamodb"}, {Route: ViaService, Service: "ssm"}, {Route: ViaService, Service: "secretsmanager"}},
		Grants: []Grant{
			{Role: naming.TaskRole, Actions: []string{"kms:Decrypt", "kms:GenerateDataKey"}, Resources: dataKey,
				Conditions: func(s Scope) map[string][]string { return via(s, "dynamodb") }},
			{Role: naming.TaskExecutionRole, Actions: []string{"kms:Decrypt"}, Resources: dataKey,
				Conditions: func(s Scope) map[string][]string { return via(s, "ssm") }},
			{Role: naming.MigrateExecutionRole, Actions: []string{"kms:Decrypt"}, Resources: dataKey,
				Conditions: func(s Scope) map[string][]string { return via(s, "ssm", "secretsmanager") }},
		},
		OnFailure: "Session calls fail inside DynamoDB; the app answers 503 only for throttling, 5xx and transport errors (httpapi `isAWSUnavailable`), any other error 500. New tasks cannot start (their SecureStrings cannot be decrypted); running tasks keep their environment. The migrate task cannot start either: the deploy stops before the rollout.",
		NoAppTest: "the app never calls KMS; no app test covers DynamoDB refusing a disabled key",
		Alarms:    []Alarm{{Key: "canary-success", Pages: true}, {Key: "trail-kms-key-disabled"}},
		Answer:    "None safe: a person re-enables the key or cancels its deletion (7-day window)",
	}, {
		Key: "logs",
		Dependency: "CloudWatch Logs: the awslogs driver ships the app's stdout — its logs and the EMF metric lines — to `/trading/ecs-trading-<suffix>`, " +
			"and the migrate task's to `/trading/ecs-migrate-<suffix>` (blocking delivery: its last line is the smoke test's evidence of pgaudit)",
		Caller: "agent (execution roles), continuously",
		Tasks:  []Task{ServiceTask, MigrateTask},
		Paths:  []Path{{Route: Interface, Service: "logs"}},
		Grants: []Grant{
			{Role: naming.TaskExecutionRole, Actions: []string{"logs:CreateLogStream", "logs:PutLogEvents"},
				Resources: func(s Scope) []string {
					return []string{arn.In(s.Region, s.Account).LogGroup(s.Names.Name(naming.AppLogGroup)) + ":*"}
				}},
			{Role: naming.MigrateExecutionRole, Actions: []string{"logs:CreateLogStream", "logs:PutLogEvents"},
				Resources: func(s Scope) []string {
					return []string{arn.In(s.Region, s.Account).LogGroup(s.Names.Name(naming.MigrateLogGroup)) + ":*"}
				}},
		},
		OnFailure: "Serving is unaffected: the app's driver is non-blocking (25 MB buffer) and drops what it cannot ship. The app's metrics are those log lines, so the outbox figures go missing. " +
			"The migrate step blocks on its output until the logs are shipped: a migration during the outage waits, and the runbook's task timeout ends it.",
		AppTests:  []string{"TestOutboxMetricsAreEMFAndLogsCarryNoSessionIDs"},
		Unwatched: "no alarm notices lost log lines: the outbox alarms treat missing data as not breaching",
		Answer:    "Nothing automated; a person who notices the gap in the logs",
	}, {
		Key:        "image",
		Dependency: "ECR image pull from `ecr-trading-<suffix>`: registry login (ecr.api), manifest (ecr.dkr), layers from ECR's S3 bucket",
		Caller:     "agent (execution roles), at task start (the service's tasks and the migrate task)",
		Tasks:      []Task{ServiceTask, MigrateTask},
		Paths: []Path{{Route: Interface, Service: "ecr.api"}, {Route: Interface, Service: "ecr.dkr"},
			{Route: Gateway, Service: "s3", EndpointActions: []string{"s3:GetObject"}}},
		Grants: []Grant{
			{Role: naming.TaskExecutionRole, Actions: []string{"ecr:GetAuthorizationToken"}, Resources: func(Scope) []string { return []string{"*"} }},
			{Role: naming.TaskExecutionRole, Actions: []string{"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}, Resources: repository},
			{Role: naming.MigrateExecutionRole, Actions: []string{"ecr:GetAuthorizationToken"}, Resources: func(Scope) []string { return []string{"*"} }},
			{Role: naming.MigrateExecutionRole, Actions: []string{"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}, Resources: repository},
		},
		OnFailure: fmt.Sprintf(startFailure, "`CannotPullContainerError`") + migrateStartFailure,
		NoAppTest: ecsStops,
		Alarms:    []Alarm{{Key: "ecs-running-tasks"}, migrateRunbookFailed},
		Answer:    "ECS retries the start and the circuit breaker rolls back a deployment whose tasks cannot start; a person if running stays below desired, or when the migration cannot start",
	}, {
		Key: "secrets",
		Dependency: "Secrets Manager: the RDS-managed master secret, injected into the one-off migrate task only (`DB_MIGRATE_USERNAME`/`DB_MIGRATE_PASSWORD`); " +
			"no task of the service reads it (the app authenticates with IAM tokens)",
		Caller: "agent (the migrate task's execution role), when the deploy runs the migrate runbook",
		Tasks:  []Task{MigrateTask},
		Paths:  []Path{{Route: Interface, Service: "secretsmanager"}},
		Grants: []Grant{masterSecret},
		OnFailure: "The service is unaffected: its tasks never read the secret. The migrate task stops with `ResourceInitializationError` before its container starts; " +
			"the migrate runbook fails (no exit code), reports to the notify topic, and the deploy stops before the service rolls out.",
		NoAppTest: ecsStops,
		Alarms:    []Alarm{migrateRunbookFailed},
		Answer:    "The deploy stops before the rollout; a person restores access to the secret and runs the migrate runbook again",
	}, {
		Key: "schema",
		Dependency: "Aurora PostgreSQL writer as the master user, from the one-off migrate task (TLS `verify-full`): bootstrap of `trading_owner`, `trading_app` " +
			"and pgaudit, then the migrations as `trading_owner` (CONTRACT.md section 4)",
		Caller: "migrate task, when the deploy runs the migrate runbook",
		Tasks:  []Task{MigrateTask},
		Paths:  []Path{{Route: InVPC, Service: "aurora", Port: 5432}},
		Grants: []Grant{masterSecret},
		OnFailure: "The step retries while the writer is unreachable (`MIGRATE_TIMEOUT`, 5 min), then exits 1; it is one transaction, so the schema is unchanged. " +
			"The runbook fails on the exit code and the deploy stops before the rollout; the running service is unaffected. A release rolled out anyway stays not ready and is rolled back (deployment circuit breaker).",
		AppTests: []string{"TestMigrateStep", "TestMigratePgauditModes"},
		Alarms:   []Alarm{migrateRunbookFailed},
		Answer:   "The deploy stops before the rollout; a person runs the migrate runbook again once the writer answers",
	}, {
		Key:        "config",
		Dependency: "SSM Parameter Store: the injected configuration (infra/paramtable: DB endpoints, sessions table, bus name, issuer and clients), resolved into the containers' environment",
		Caller:     "agent (execution roles), at task start (the migrate task reads the writer, port, name and sslmode only)",
		Tasks:      []Task{ServiceTask, MigrateTask},
		Paths:      []Path{{Route: Interface, Service: "ssm"}},
		Grants: []Grant{
			{Role: naming.TaskExecutionRole, Actions: []string{"ssm:GetParameters"},
				Resources: func(s Scope) []string {
					var out []string
					for _, r := range paramtable.Rows {
						out = append(out, parameter(s, r.Path))
					}
					return out
				}},
			{Role: naming.MigrateExecutionRole, Actions: []string{"ssm:GetParameters"}, Resources: migrateParams},
		},
		OnFailure: fmt.Sprintf(startFailure, "`ResourceInitializationError`") + migrateStartFailure,
		NoAppTest: ecsStops,
		Alarms:    []Alarm{{Key: "ecs-running-tasks"}, migrateRunbookFailed},
		Answer:    "ECS retries the start; a person if running stays below desired, or when the migration cannot start",
	}}
}

// repository is the ECR repository the stack builds the image into.
func repository(s Scope) []string {
	return []string{fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", s.Region, s.Account, s.Names.Name(naming.ECRRepository))}
}

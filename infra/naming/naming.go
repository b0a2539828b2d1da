// Package naming builds every physical AWS name in trading-ha as
// <resource-type>-<environmentSuffix> and knows each AWS resource type's
// length and character limits, so the tightest limit bounds the suffix.
package naming

import (
	"fmt"
	"regexp"
	"strings"
)

// Kind is one kind of named AWS resource: the type word that starts its name,
// the longest name AWS accepts, and the characters it accepts.
type Kind struct {
	// Type is the <resource-type> part of the name, e.g. "alb".
	Type string
	// MaxLen is AWS's limit on the whole name (path and unique tail included).
	MaxLen int
	// Path is prepended verbatim (log group paths, KMS aliases); it counts
	// toward MaxLen.
	Path string
	// Reserve is the length kept free for a unique tail (S3 buckets).
	Reserve int
	// Underscores turns hyphens into underscores for resources whose names
	// accept only letters, digits and underscores.
	Underscores bool
	// Charset is the pattern the full name must match (after Path).
	Charset *regexp.Regexp
	// Rules are AWS's further rules for the kind: reserved prefixes and
	// suffixes, hyphen placement, reserved words. Each cites its source.
	Rules []Rule
	// Source is where AWS documents MaxLen and Charset.
	Source string
}

// The named resource kinds. Limits are AWS's (service quotas pages and the
// pulumi-aws v6.83.4 schema); tests check every kind with the longest suffix
// config allows.
var (
	VPC                = Kind{Type: "vpc", MaxLen: 256, Charset: printable, Source: srcTagValue} // a Name tag
	FlowLogGroup       = Kind{Type: "vpc-flow-logs", MaxLen: 512, Path: "/trading/", Charset: logGroupChars, Source: srcLogGroup}
	FlowLogRole        = Kind{Type: "role-flow-logs", MaxLen: 64, Charset: iamChars, Source: srcIAMName}
	KMSDataAlias       = Kind{Type: "kms-data", MaxLen: 256, Path: "alias/", Charset: kmsChars, Rules: kmsAliasRules, Source: srcKMSAlias}
	KMSTelemetryAlias  = Kind{Type: "kms-telemetry", MaxLen: 256, Path: "alias/", Charset: kmsChars, Rules: kmsAliasRules, Source: srcKMSAlias}
	DataBucket         = Kind{Type: "data", MaxLen: 63, Reserve: BucketTailReserve, Charset: bucketChars, Rules: bucketRules, Source: srcBucket}
	LogsBucket         = Kind{Type: "logs", MaxLen: 63, Reserve: BucketTailReserve, Charset: bucketChars, Rules: bucketRules, Source: srcBucket}
	SessionsTable      = Kind{Type: "sessions", MaxLen: 255, Charset: dynamoChars, Source: srcDynamoDB}
	SecurityGroupDB    = Kind{Type: "secgroup-db", MaxLen: 255, Reserve: 27, Charset: sgChars, Rules: sgRules, Source: srcSecurityGroup}
	SecurityGroupALB   = Kind{Type: "secgroup-alb", MaxLen: 255, Reserve: 27, Charset: sgChars, Rules: sgRules, Source: srcSecurityGroup}
	SecurityGroupTasks = Kind{Type: "secgroup-tasks", MaxLen: 255, Reserve: 27, Charset: sgChars, Rules: sgRules, Source: srcSecurityGroup}
	AuroraCluster      = Kind{Type: "aurora", MaxLen: 63, Reserve: 3, Charset: rdsChars, Rules: rdsRules, Source: srcRDSIdentifier}
	DBSubnetGroup      = Kind{Type: "dbsubnet", MaxLen: 255, Charset: subnetGroup, Rules: subnetRules, Source: srcDBSubnetGroup}
	DBClusterParams    = Kind{Type: "aurora-pg14-cluster", MaxLen: 255, Reserve: 9, Charset: rdsChars, Rules: rdsRules, Source: srcRDSIdentifier}
	DBInstanceParams   = Kind{Type: "aurora-pg14-instance", MaxLen: 255, Charset: rdsChars, Rules: rdsRules, Source: srcRDSIdentifier}
	DBMonitoringRole   = Kind{Type: "role-rds-monitoring", MaxLen: 64, Charset: iamChars, Source: srcIAMName}
	ECSCluster         = Kind{Type: "ecs", MaxLen: 255, Charset: ecsChars, Source: srcECS}
	ECSService         = Kind{Type: "svc-trading", MaxLen: 255, Charset: ecsChars, Source: srcECS}
	TaskFamily         = Kind{Type: "task-trading", MaxLen: 255, Charset: ecsChars, Source: srcECS}
	TaskExecutionRole  = Kind{Type: "role-task-execution", MaxLen: 64, Charset: iamChars, Source: srcIAMName}
	TaskRole           = Kind{Type: "role-task", MaxLen: 64, Charset: iamChars, Source: srcIAMName}
	AppLogGroup        = Kind{Type: "ecs-trading", MaxLen: 512, Path: "/trading/", Charset: logGroupChars, Source: srcLogGroup}
	ECRRepository      = Kind{Type: "ecr-trading", MaxLen: 256, Charset: ecrChars, Source: srcECR}
	ALB                = Kind{Type: "alb", MaxLen: 32, Charset: albChars, Rules: albRules, Source: srcLoadBalancer}
	TargetGroup        = Kind{Type: "tg", MaxLen: 32, Reserve: 9, Charset: albChars, Rules: tgRules, Source: srcTargetGroup}
	WebACL             = Kind{Type: "waf", MaxLen: 128, Charset: wafChars, Source: srcWAF}
	HostedZoneComment  = Kind{Type: "zone", MaxLen: 256, Charset: printable, Source: "Route 53 API Reference, CreateHostedZone, HostedZoneConfig.Comment: at most 256 characters"}
	HealthCheck        = Kind{Type: "hc", MaxLen: 256, Charset: printable, Source: srcTagValue} // a Name tag
	Canary             = Kind{Type: "canary", MaxLen: 21, Charset: canaryChars, Source: srcCanary}
	CanaryRole         = Kind{Type: "role-canary", MaxLen: 64, Charset: iamChars, Source: srcIAMName}
	AlarmTopic         = Kind{Type: "alarms", MaxLen: 256, Charset: queueChars, Source: srcTopic}
	Dashboard          = Kind{Type: "dashboard", MaxLen: 255, Charset: ecsChars, Source: srcDashboard}
	EventBus           = Kind{Type: "events", MaxLen: 256, Charset: eventsChars, Rules: busRules, Source: srcEventBus}
	EventArchive       = Kind{Type: "archive", MaxLen: 48, Charset: eventsChars, Source: srcEventsName}
	AuditLogGroup      = Kind{Type: "events-audit", MaxLen: 512, Path: "/aws/events/", Charset: logGroupChars, Source: srcLogGroup}
	ConsumerQueue      = Kind{Type: "orders", MaxLen: 80, Charset: queueChars, Source: srcQueue}
	DeadLetterQueue    = Kind{Type: "dlq", MaxLen: 80, Charset: queueChars, Source: srcQueue}
	EventsRole         = Kind{Type: "role-events", MaxLen: 64, Charset: iamChars, Source: srcIAMName}
	BackupVault        = Kind{Type: "vault", MaxLen: 50, Charset: vaultChars, Source: srcBackupVault}
	BackupPlan         = Kind{Type: "backup-plan", MaxLen: 50, Charset: backupChars, Source: srcBackupVault}
	BackupRole         = Kind{Type: "role-backup", MaxLen: 64, Charset: iamChars, Source: srcIAMName}
	RestoreTestingPlan = Kind{Type: "restore_testing", MaxLen: 50, Underscores: true, Charset: word, Source: srcRestoreTest}
	// Backup and restore-testing selections are named within their plan,
	// but carry the suffix like every other name.
	BackupSelectionDaily    = Kind{Type: "selection-daily", MaxLen: 50, Charset: backupChars, Source: srcBackupVault}
	BackupSelectionPITR     = Kind{Type: "selection-pitr", MaxLen: 50, Charset: backupChars, Source: srcBackupVault}
	RestoreSelectionAurora  = Kind{Type: "restore_aurora", MaxLen: 50, Underscores: true, Charset: word, Source: srcRestoreTest}
	RestoreSelectionSession = Kind{Type: "restore_sessions", MaxLen: 50, Underscores: true, Charset: word, Source: srcRestoreTest}
	StateMachineLogs        = Kind{Type: "states", MaxLen: 512, Path: "/aws/vendedlogs/", Charset: logGroupChars, Source: srcLogGroup}
	StatesRole              = Kind{Type: "role-states", MaxLen: 64, Charset: iamChars, Source: srcIAMName}
	HealthCheckSM           = Kind{Type: "sm-health-check", MaxLen: 80, Charset: smChars, Source: srcStateMachine}
	BackupVerifySM          = Kind{Type: "sm-backup-verify", MaxLen: 80, Charset: smChars, Source: srcStateMachine}
	DBFailoverSM            = Kind{Type: "sm-db-failover", MaxLen: 80, Charset: smChars, Source: srcStateMachine}
	ServiceRecoverySM       = Kind{Type: "sm-svc-recovery", MaxLen: 80, Charset: smChars, Source: srcStateMachine}
	ServiceSnapshotSM       = Kind{Type: "sm-svc-snapshot", MaxLen: 80, Charset: smChars, Source: srcStateMachine}
	SchedulerRole           = Kind{Type: "role-scheduler", MaxLen: 64, Charset: iamChars, Source: srcIAMName}
	FISRole                 = Kind{Type: "role-fis", MaxLen: 64, Charset: iamChars, Source: srcIAMName}
	FISLogGroup             = Kind{Type: "fis", MaxLen: 512, Path: "/trading/", Charset: logGroupChars, Source: srcLogGroup}
	ResiliencyPolicy        = Kind{Type: "resiliency", MaxLen: 60, Charset: resilChars, Source: srcResilience}
	CompositeAlarm          = Kind{Type: "alarm-degraded", MaxLen: 255, Charset: printable, Source: srcAlarm}
	// Alarm names one of many metric alarms: alarm-<member>-<suffix>, the
	// member (e.g. "canary-success") at most 55 characters.
	Alarm = Kind{Type: "alarm", MaxLen: 255, Reserve: 56, Charset: printable, Source: srcAlarm}

	// events and backup: the orders dead-letter queue, the audit log
	// policy and the EventBridge rules
	OrdersDLQ      = Kind{Type: "orders-dlq", MaxLen: 80, Charset: queueChars, Source: srcQueue}
	AuditLogPolicy = Kind{Type: "events-audit-logs", MaxLen: 255, Charset: printable, Source: "CloudWatch Logs API Reference, PutResourcePolicy, policyName"}
	RuleOrders     = Kind{Type: "rule-orders", MaxLen: 64, Charset: eventsChars, Source: srcEventsName}
	// RuleOrdersAudit takes every event of the trading service, synthetic
	// orders included, to the audit log.
	RuleOrdersAudit      = Kind{Type: "rule-orders-audit", MaxLen: 64, Charset: eventsChars, Source: srcEventsName}
	RuleAurora           = Kind{Type: "rule-aurora", MaxLen: 64, Charset: eventsChars, Source: srcEventsName}
	RuleBackupFailed     = Kind{Type: "rule-backup-failed", MaxLen: 64, Charset: eventsChars, Source: srcEventsName}
	RuleECSDeploy        = Kind{Type: "rule-ecs-deploy", MaxLen: 64, Charset: eventsChars, Source: srcEventsName}
	RuleECSTaskStopped   = Kind{Type: "rule-ecs-task-stopped", MaxLen: 64, Charset: eventsChars, Source: srcEventsName}
	RuleDegraded         = Kind{Type: "rule-degraded", MaxLen: 64, Charset: eventsChars, Source: srcEventsName}
	BackupPlanPITR       = Kind{Type: "backup-pitr", MaxLen: 50, Charset: backupChars, Source: srcBackupVault}
	SnapshotLogs         = Kind{Type: "states-svc-snapshot", MaxLen: 512, Path: "/aws/vendedlogs/", Charset: logGroupChars, Source: srcLogGroup}
	SnapshotRole         = Kind{Type: "role-svc-snapshot", MaxLen: 64, Charset: iamChars, Source: srcIAMName}
	SnapshotSchedule     = Kind{Type: "sched-svc-snapshot", MaxLen: 64, Charset: eventsChars, Source: srcSchedule}
	SnapshotScheduleRole = Kind{Type: "role-sched-snapshot", MaxLen: 64, Charset: iamChars, Source: srcIAMName}

	// DBLogGroup is the group RDS exports a cluster's logs to; its name must
	// be /aws/rds/cluster/<cluster identifier>/<log type>: see RDSLogGroup.
	DBLogGroup = Kind{Type: "aurora", MaxLen: 512, Path: "/aws/rds/cluster/", Charset: logGroupChars, Source: srcLogGroup}
	// ContainerInsightsLogGroup is the group Container Insights writes an
	// ECS cluster's performance log events to; its name must be
	// /aws/ecs/containerinsights/<cluster name>/performance, so its Type is
	// the cluster's: see Namer.ContainerInsightsLogGroup.
	ContainerInsightsLogGroup = Kind{Type: "ecs", MaxLen: 512, Path: "/aws/ecs/containerinsights/", Charset: logGroupChars, Source: srcLogGroup + "; " + srcContainerInsights}
	// DBReaderScalingPolicy is the Application Auto Scaling policy on the readers.
	DBReaderScalingPolicy = Kind{Type: "aurora-readers-cpu", MaxLen: 256, Charset: scalingChars, Source: srcScaling}
	// FIS experiment templates have no name; these are their Name tags
	// (tag values allow 256 characters).
	FISStopTasks   = Kind{Type: "fis-stop-tasks", MaxLen: 256, Charset: printable, Source: srcTagValue}
	FISFailover    = Kind{Type: "fis-aurora-failover", MaxLen: 256, Charset: printable, Source: srcTagValue}
	FISDisruptZone = Kind{Type: "fis-disrupt-az", MaxLen: 256, Charset: printable, Source: srcTagValue}
	// runbooks: one log group and one role per state machine, one schedule
	// and scheduler role per scheduled machine.
	HealthCheckLogs       = Kind{Type: "states-health-check", MaxLen: 512, Path: "/aws/vendedlogs/", Charset: logGroupChars, Source: srcLogGroup}
	BackupVerifyLogs      = Kind{Type: "states-backup-verify", MaxLen: 512, Path: "/aws/vendedlogs/", Charset: logGroupChars, Source: srcLogGroup}
	DBFailoverLogs        = Kind{Type: "states-db-failover", MaxLen: 512, Path: "/aws/vendedlogs/", Charset: logGroupChars, Source: srcLogGroup}
	ServiceRecoveryLogs   = Kind{Type: "states-svc-recovery", MaxLen: 512, Path: "/aws/vendedlogs/", Charset: logGroupChars, Source: srcLogGroup}
	HealthCheckRole       = Kind{Type: "role-sm-health-check", MaxLen: 64, Charset: iamChars, Source: srcIAMName}
	BackupVerifyRole      = Kind{Type: "role-sm-backup-verify", MaxLen: 64, Charset: iamChars, Source: srcIAMName}
	DBFailoverRole        = Kind{Type: "role-sm-db-failover", MaxLen: 64, Charset: iamChars, Source: srcIAMName}
	ServiceRecoveryRole   = Kind{Type: "role-sm-svc-recovery", MaxLen: 64, Charset: iamChars, Source: srcIAMName}
	HealthCheckSchedule   = Kind{Type: "sched-health-check", MaxLen: 64, Charset: eventsChars, Source: srcSchedule}
	BackupVerifySchedule  = Kind{Type: "sched-backup-verify", MaxLen: 64, Charset: eventsChars, Source: srcSchedule}
	HealthCheckSchedRole  = Kind{Type: "role-sched-health-check", MaxLen: 64, Charset: iamChars, Source: srcIAMName}
	BackupVerifySchedRole = Kind{Type: "role-sched-backup-verify", MaxLen: 64, Charset: iamChars, Source: srcIAMName}
	// identity's key sync (infra/identity): its state machine, log group,
	// role, schedule, schedule role and the EventBridge connection its
	// HTTP Task names.
	KeySyncSM         = Kind{Type: "sm-key-sync", MaxLen: 80, Charset: smChars, Source: srcStateMachine}
	KeySyncLogs       = Kind{Type: "states-key-sync", MaxLen: 512, Path: "/aws/vendedlogs/", Charset: logGroupChars, Source: srcLogGroup}
	KeySyncRole       = Kind{Type: "role-sm-key-sync", MaxLen: 64, Charset: iamChars, Source: srcIAMName}
	KeySyncSchedule   = Kind{Type: "sched-key-sync", MaxLen: 64, Charset: eventsChars, Source: srcSchedule}
	KeySyncSchedRole  = Kind{Type: "role-sched-key-sync", MaxLen: 64, Charset: iamChars, Source: srcIAMName}
	KeySyncConnection = Kind{Type: "conn-jwks", MaxLen: 64, Charset: eventsChars, Source: srcConnection}
	// CanaryPolicy is the canary role's inline policy (IAM inline policy
	// names allow 128 characters).
	CanaryPolicy = Kind{Type: "policy-canary", MaxLen: 128, Charset: iamChars, Source: srcIAMName}
	// NotifyTopic receives what notifies but does not page.
	NotifyTopic = Kind{Type: "notify", MaxLen: 256, Charset: queueChars, Source: srcTopic}
	// RuleRestoreFailed and RuleCopyFailed route AWS Backup restore and
	// copy job failures.
	RuleRestoreFailed = Kind{Type: "rule-restore-failed", MaxLen: 64, Charset: eventsChars, Source: srcEventsName}
	RuleCopyFailed    = Kind{Type: "rule-copy-failed", MaxLen: 64, Charset: eventsChars, Source: srcEventsName}
	// SchedulerDLQ holds schedule invocations EventBridge Scheduler could
	// not deliver.
	SchedulerDLQ = Kind{Type: "sched-dlq", MaxLen: 80, Charset: queueChars, Source: srcQueue}
	// Identity: the Cognito user pool, its prefix domain (global
	// per region: a unique tail), the resource server and the app clients
	// (client-<desk or probe>-<suffix>, the member at most 40 characters).
	UserPool       = Kind{Type: "idp-trading", MaxLen: 128, Charset: cognitoChars, Source: srcUserPool}
	UserPoolDomain = Kind{Type: "auth-trading", MaxLen: 63, Reserve: 9, Charset: domainPrefix, Rules: poolDomainRules, Source: srcPoolDomain}
	ResourceServer = Kind{Type: "rs-trading", MaxLen: 256, Charset: cognitoChars, Source: srcPoolClient}
	UserPoolClient = Kind{Type: "client", MaxLen: 128, Reserve: 41, Charset: cognitoChars, Source: srcPoolClient}

	// Audit trail, protected data, immutable off-site backups, closed
	// egress.
	AuroraFinalSnapshot = Kind{Type: "aurora-final", MaxLen: 255, Charset: rdsChars, Rules: rdsRules, Source: srcClusterSnapshot}
	Trail               = Kind{Type: "trail", MaxLen: 128, Charset: trailChars, Rules: trailRules, Source: srcTrail}
	TrailBucket         = Kind{Type: "trail", MaxLen: 63, Reserve: BucketTailReserve, Charset: bucketChars, Rules: bucketRules, Source: srcBucket}
	TrailLogGroup       = Kind{Type: "cloudtrail", MaxLen: 512, Path: "/trading/", Charset: logGroupChars, Source: srcLogGroup}
	TrailRole           = Kind{Type: "role-cloudtrail", MaxLen: 64, Charset: iamChars, Source: srcIAMName}
	// TrailFilter names one metric filter per watched change:
	// trail-<member>-<suffix>, the member at most 40 characters.
	TrailFilter   = Kind{Type: "trail", MaxLen: 512, Reserve: 41, Charset: metricFilterChars, Source: srcMetricFilter}
	WAFLogGroup   = Kind{Type: "trading", MaxLen: 512, Path: "aws-waf-logs-", Charset: logGroupChars, Rules: wafLogRules, Source: srcWAFLogs + "; " + srcLogGroup}
	DRVault       = Kind{Type: "vault-dr", MaxLen: 50, Charset: vaultChars, Source: srcBackupVault}
	KMSDRAlias    = Kind{Type: "kms-backup-dr", MaxLen: 256, Path: "alias/", Charset: kmsChars, Rules: kmsAliasRules, Source: srcKMSAlias}
	EndpointGroup = Kind{Type: "secgroup-endpoints", MaxLen: 255, Reserve: 27, Charset: sgChars, Rules: sgRules, Source: srcEndpointSG}
	// BreakGlassRole is the role the backup vault access policies exempt
	// when config backupBreakGlassRoleArn is empty (infra/backup).
	BreakGlassRole = Kind{Type: "role-break-glass", MaxLen: 64, Charset: iamChars, Source: srcIAMName}

	// The one-off migrate task (infra/service, migrate.go): its task
	// definition family, execution role, log group and security group; the
	// migrate runbook (infra/runbooks) that runs it, with its log group and
	// role.
	MigrateTaskFamily    = Kind{Type: "task-migrate", MaxLen: 255, Charset: ecsChars, Source: srcECS}
	MigrateExecutionRole = Kind{Type: "role-migrate-execution", MaxLen: 64, Charset: iamChars, Source: srcIAMName}
	MigrateLogGroup      = Kind{Type: "ecs-migrate", MaxLen: 512, Path: "/trading/", Charset: logGroupChars, Source: srcLogGroup}
	SecurityGroupMigrate = Kind{Type: "secgroup-migrate", MaxLen: 255, Reserve: 27, Charset: sgChars, Rules: sgRules, Source: srcSecurityGroup}
	MigrateSM            = Kind{Type: "sm-migrate", MaxLen: 80, Charset: smChars, Source: srcStateMachine}
	MigrateLogs          = Kind{Type: "states-migrate", MaxLen: 512, Path: "/aws/vendedlogs/", Charset: logGroupChars, Source: srcLogGroup}
	MigrateRole          = Kind{Type: "role-sm-migrate", MaxLen: 64, Charset: iamChars, Source: srcIAMName}

	// Paging that survives the loss of one key or topic: a second paging
	// topic under its own key, an EventBridge rule that pages when any KMS
	// key is disabled or scheduled for deletion, and the cost budget.
	KMSPagingAlias    = Kind{Type: "kms-paging", MaxLen: 256, Path: "alias/", Charset: kmsChars, Rules: kmsAliasRules, Source: srcKMSAlias}
	PageBackstopTopic = Kind{Type: "alarms-backstop", MaxLen: 256, Charset: queueChars, Source: srcTopic}
	RuleKMSKeyState   = Kind{Type: "rule-kms-key-state", MaxLen: 64, Charset: eventsChars, Source: srcEventsName}
	// RuleRiskParams pages when the trading kill switch or a risk limit
	// changes in Parameter Store.
	RuleRiskParams = Kind{Type: "rule-risk-params", MaxLen: 64, Charset: eventsChars, Source: srcEventsName}
	Budget         = Kind{Type: "budget", MaxLen: 100, Charset: eventsChars, Source: srcBudget}
)

// BucketTailReserve is the room a bucket name keeps for its unique tail,
// -<tail>: the 12-digit AWS account ID (every AWS account ID is 12 digits;
// see config's accountIDPattern) and its hyphen. A legacy 8-hex-digit tail
// (config bucketNameTail) is shorter, so it fits too.
const BucketTailReserve = 13

// Kinds lists every named kind; MaxSuffixLen and the tests walk it.
var Kinds = []Kind{
	VPC, FlowLogGroup, FlowLogRole, KMSDataAlias, KMSTelemetryAlias, DataBucket, LogsBucket,
	SessionsTable, SecurityGroupDB, SecurityGroupALB, SecurityGroupTasks, AuroraCluster,
	DBSubnetGroup, DBClusterParams, DBInstanceParams, DBMonitoringRole, ECSCluster, ECSService,
	TaskFamily, TaskExecutionRole, TaskRole, AppLogGroup, ECRRepository, ALB, TargetGroup, WebACL,
	HostedZoneComment, HealthCheck, Canary, CanaryRole, AlarmTopic, Dashboard, EventBus, EventArchive,
	AuditLogGroup, ConsumerQueue, DeadLetterQueue, EventsRole, BackupVault, BackupPlan, BackupRole,
	RestoreTestingPlan, BackupSelectionDaily, BackupSelectionPITR, RestoreSelectionAurora, RestoreSelectionSession, StateMachineLogs, StatesRole, HealthCheckSM, BackupVerifySM, DBFailoverSM,
	ServiceRecoverySM, ServiceSnapshotSM, SchedulerRole, FISRole, FISLogGroup, ResiliencyPolicy,
	CompositeAlarm, Alarm,
	OrdersDLQ, AuditLogPolicy, RuleOrders, RuleOrdersAudit, RuleAurora, RuleBackupFailed, RuleECSDeploy,
	RuleECSTaskStopped, RuleDegraded, BackupPlanPITR, SnapshotLogs, SnapshotRole, SnapshotSchedule,
	SnapshotScheduleRole, DBLogGroup, DBReaderScalingPolicy,
	FISStopTasks, FISFailover, FISDisruptZone,
	HealthCheckLogs, BackupVerifyLogs, DBFailoverLogs, ServiceRecoveryLogs,
	HealthCheckRole, BackupVerifyRole, DBFailoverRole, ServiceRecoveryRole,
	HealthCheckSchedule, BackupVerifySchedule, HealthCheckSchedRole, BackupVerifySchedRole,
	KeySyncSM, KeySyncLogs, KeySyncRole, KeySyncSchedule, KeySyncSchedRole, KeySyncConnection,
	CanaryPolicy, NotifyTopic, RuleRestoreFailed, RuleCopyFailed, SchedulerDLQ,
	UserPool, UserPoolDomain, ResourceServer, UserPoolClient,
	AuroraFinalSnapshot, Trail, TrailBucket, TrailLogGroup, TrailRole, TrailFilter, WAFLogGroup,
	DRVault, KMSDRAlias, EndpointGroup, BreakGlassRole, ContainerInsightsLogGroup,
	KMSPagingAlias, PageBackstopTopic, RuleKMSKeyState, RuleRiskParams, Budget,
	MigrateTaskFamily, MigrateExecutionRole, MigrateLogGroup, SecurityGroupMigrate, MigrateSM, MigrateLogs, MigrateRole,
}

// room is how many suffix characters a kind leaves: limit minus path, type,
// the joining hyphen and any reserved tail.
func (k Kind) room() int {
	return k.MaxLen - len(k.Path) - len(k.Type) - 1 - k.Reserve
}

// MaxSuffixLen is the longest environmentSuffix every kind can hold, and the
// kind that sets it.
func MaxSuffixLen() (int, Kind) {
	best, by := 1<<30, Kind{}
	for _, k := range Kinds {
		if r := k.room(); r < best {
			best, by = r, k
		}
	}
	return best, by
}

// Namer builds names for one stack.
type Namer struct {
	suffix string
}

// New returns a Namer for an environmentSuffix that config has validated.
func New(suffix string) Namer {
	return Namer{suffix: suffix}
}

// Suffix is the environmentSuffix the names end with.
func (n Namer) Suffix() string { return n.suffix }

// Name returns <path><type>-<suffix> for k.
func (n Namer) Name(k Kind) string {
	name := k.Path + k.Type + "-" + n.suffix
	if k.Underscores {
		name = k.Path + strings.ReplaceAll(k.Type+"_"+n.suffix, "-", "_")
	}
	return name
}

// Unique returns Name(k) with a unique tail for globally named resources
// (S3 buckets: <type>-<suffix>-<account ID>, or an existing stack's
// random tail): <type>-<suffix>-<tail>. The tail must fit k.Reserve.
func (n Namer) Unique(k Kind, tail string) string {
	return n.Name(k) + "-" + tail
}

// Member names one of several resources of a kind, keeping the suffix
// last: <type>-<member>-<suffix> (alarm-canary-success-prod). The member
// must fit k.Reserve.
func (n Namer) Member(k Kind, member string) string {
	return k.Path + k.Type + "-" + member + "-" + n.suffix
}

// Check reports whether a full name respects k's limits and every one of
// its rules; config validation, tests and the policy suite use it.
func Check(k Kind, name string) error {
	if len(name) > k.MaxLen {
		return fmt.Errorf("name %q is %d characters; %s names allow at most %d (%s)", name, len(name), k.Type, k.MaxLen, k.Source)
	}
	if k.Charset == nil || !k.Charset.MatchString(strings.TrimPrefix(name, k.Path)) {
		return fmt.Errorf("name %q has characters %s names do not allow (%s)", name, k.Type, k.Source)
	}
	for _, r := range k.Rules {
		if r.Broken(name) {
			return r.Error(name)
		}
	}
	return nil
}

// CheckSuffix builds every kind's name for suffix (buckets with a tail of
// the reserved length) and returns the first rule a name breaks, so a
// suffix AWS would refuse anywhere fails before any resource registers.
func CheckSuffix(suffix string) error {
	n := New(suffix)
	for _, k := range Kinds {
		name := n.Name(k)
		if k.Reserve > 0 {
			name = n.Unique(k, strings.Repeat("0", k.Reserve-1))
		}
		if err := Check(k, name); err != nil {
			return err
		}
	}
	return nil
}

// Parameter returns the SSM Parameter Store name /trading/<suffix>/<parts...>,
// the hierarchy the application and runbooks read their settings from.
func (n Namer) Parameter(parts ...string) string {
	return "/trading/" + n.suffix + "/" + strings.Join(parts, "/")
}

// ParameterPath is the root of the stack's parameter hierarchy, for IAM
// resources such as parameter/trading/<suffix>/*.
func (n Namer) ParameterPath() string {
	return "/trading/" + n.suffix
}

// ContainerInsightsLogGroup returns
// /aws/ecs/containerinsights/ecs-<suffix>/performance, the group Container
// Insights writes the cluster's performance log events to (and creates, if
// it does not exist, outside the stack). Creating it ourselves sets KMS and
// retention and lets destroy remove it.
func (n Namer) ContainerInsightsLogGroup() string {
	return n.Name(ContainerInsightsLogGroup) + "/performance"
}

// LambdaLogGroup returns /aws/lambda/<function>, the group a Lambda
// function without a logging configuration writes to, and creates if its
// role may (AWS Lambda Developer Guide, "Sending Lambda function logs to
// CloudWatch Logs": "Lambda ... sends logs to a log group named
// /aws/lambda/<function name>" by default).
func LambdaLogGroup(function string) string {
	return "/aws/lambda/" + function
}

// RDSLogGroup returns /aws/rds/cluster/aurora-<suffix>/<logType>, the log
// group RDS exports the cluster's logs of one type to. Creating it ourselves
// sets KMS and retention and lets destroy remove it.
func (n Namer) RDSLogGroup(logType string) string {
	return n.Name(DBLogGroup) + "/" + logType
}

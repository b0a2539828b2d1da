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
	// Charset is the pattern the full name must match.
	Charset *regexp.Regexp
}

var (
	lowerHyphen = regexp.MustCompile(`^[a-z][a-z0-9-]*[a-z0-9]$`)
	anyName     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/+=@-]*$`)
	word        = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	canaryChars = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	logGroup    = regexp.MustCompile(`^[A-Za-z0-9._/#-]+$`)
)

// The named resource kinds. Limits are AWS's (service quotas pages and the
// pulumi-aws v6.83.4 schema); tests check every kind with the longest suffix
// config allows.
var (
	VPC                = Kind{Type: "vpc", MaxLen: 255, Charset: lowerHyphen}
	FlowLogGroup       = Kind{Type: "vpc-flow-logs", MaxLen: 512, Path: "/trading/", Charset: logGroup}
	FlowLogRole        = Kind{Type: "role-flow-logs", MaxLen: 64, Charset: anyName}
	KMSDataAlias       = Kind{Type: "kms-data", MaxLen: 256, Path: "alias/", Charset: anyName}
	KMSTelemetryAlias  = Kind{Type: "kms-telemetry", MaxLen: 256, Path: "alias/", Charset: anyName}
	DataBucket         = Kind{Type: "data", MaxLen: 63, Reserve: 9, Charset: lowerHyphen}
	LogsBucket         = Kind{Type: "logs", MaxLen: 63, Reserve: 9, Charset: lowerHyphen}
	SessionsTable      = Kind{Type: "sessions", MaxLen: 255, Charset: anyName}
	SecurityGroupDB    = Kind{Type: "sg-db", MaxLen: 255, Charset: anyName}
	SecurityGroupALB   = Kind{Type: "sg-alb", MaxLen: 255, Charset: anyName}
	SecurityGroupTasks = Kind{Type: "sg-tasks", MaxLen: 255, Charset: anyName}
	AuroraCluster      = Kind{Type: "aurora", MaxLen: 63, Reserve: 3, Charset: lowerHyphen}
	DBSubnetGroup      = Kind{Type: "dbsubnet", MaxLen: 255, Charset: lowerHyphen}
	DBClusterParams    = Kind{Type: "aurora-pg14-cluster", MaxLen: 255, Charset: lowerHyphen}
	DBInstanceParams   = Kind{Type: "aurora-pg14-instance", MaxLen: 255, Charset: lowerHyphen}
	DBMonitoringRole   = Kind{Type: "role-rds-monitoring", MaxLen: 64, Charset: anyName}
	ECSCluster         = Kind{Type: "ecs", MaxLen: 255, Charset: anyName}
	ECSService         = Kind{Type: "svc-trading", MaxLen: 255, Charset: anyName}
	TaskFamily         = Kind{Type: "task-trading", MaxLen: 255, Charset: anyName}
	TaskExecutionRole  = Kind{Type: "role-task-execution", MaxLen: 64, Charset: anyName}
	TaskRole           = Kind{Type: "role-task", MaxLen: 64, Charset: anyName}
	AppLogGroup        = Kind{Type: "ecs-trading", MaxLen: 512, Path: "/trading/", Charset: logGroup}
	ECRRepository      = Kind{Type: "ecr-trading", MaxLen: 256, Charset: lowerHyphen}
	ALB                = Kind{Type: "alb", MaxLen: 32, Charset: lowerHyphen}
	TargetGroup        = Kind{Type: "tg", MaxLen: 32, Charset: lowerHyphen}
	WebACL             = Kind{Type: "waf", MaxLen: 128, Charset: anyName}
	HostedZoneComment  = Kind{Type: "zone", MaxLen: 256, Charset: anyName}
	HealthCheck        = Kind{Type: "hc", MaxLen: 255, Charset: anyName}
	Canary             = Kind{Type: "canary", MaxLen: 21, Charset: canaryChars}
	CanaryRole         = Kind{Type: "role-canary", MaxLen: 64, Charset: anyName}
	AlarmTopic         = Kind{Type: "alarms", MaxLen: 256, Charset: anyName}
	Dashboard          = Kind{Type: "dashboard", MaxLen: 255, Charset: anyName}
	EventBus           = Kind{Type: "events", MaxLen: 256, Charset: anyName}
	EventArchive       = Kind{Type: "archive", MaxLen: 48, Charset: anyName}
	AuditLogGroup      = Kind{Type: "events-audit", MaxLen: 512, Path: "/aws/events/", Charset: logGroup}
	ConsumerQueue      = Kind{Type: "orders", MaxLen: 80, Charset: anyName}
	DeadLetterQueue    = Kind{Type: "dlq", MaxLen: 80, Charset: anyName}
	EventsRole         = Kind{Type: "role-events", MaxLen: 64, Charset: anyName}
	BackupVault        = Kind{Type: "vault", MaxLen: 50, Charset: anyName}
	BackupPlan         = Kind{Type: "backup-plan", MaxLen: 50, Charset: anyName}
	BackupRole         = Kind{Type: "role-backup", MaxLen: 64, Charset: anyName}
	RestoreTestingPlan = Kind{Type: "restore_testing", MaxLen: 50, Underscores: true, Charset: word}
	// Backup and restore-testing selections are named within their plan,
	// but carry the suffix like every other name.
	BackupSelectionDaily    = Kind{Type: "selection-daily", MaxLen: 50, Charset: anyName}
	BackupSelectionPITR     = Kind{Type: "selection-pitr", MaxLen: 50, Charset: anyName}
	RestoreSelectionAurora  = Kind{Type: "restore_aurora", MaxLen: 50, Underscores: true, Charset: word}
	RestoreSelectionSession = Kind{Type: "restore_sessions", MaxLen: 50, Underscores: true, Charset: word}
	StateMachineLogs        = Kind{Type: "states", MaxLen: 512, Path: "/aws/vendedlogs/", Charset: logGroup}
	StatesRole              = Kind{Type: "role-states", MaxLen: 64, Charset: anyName}
	HealthCheckSM           = Kind{Type: "sm-health-check", MaxLen: 80, Charset: anyName}
	BackupVerifySM          = Kind{Type: "sm-backup-verify", MaxLen: 80, Charset: anyName}
	DBFailoverSM            = Kind{Type: "sm-db-failover", MaxLen: 80, Charset: anyName}
	ServiceRecoverySM       = Kind{Type: "sm-svc-recovery", MaxLen: 80, Charset: anyName}
	ServiceSnapshotSM       = Kind{Type: "sm-svc-snapshot", MaxLen: 80, Charset: anyName}
	SchedulerRole           = Kind{Type: "role-scheduler", MaxLen: 64, Charset: anyName}
	FISRole                 = Kind{Type: "role-fis", MaxLen: 64, Charset: anyName}
	FISLogGroup             = Kind{Type: "fis", MaxLen: 512, Path: "/trading/", Charset: logGroup}
	ResiliencyPolicy        = Kind{Type: "resiliency", MaxLen: 60, Charset: anyName}
	CompositeAlarm          = Kind{Type: "alarm-degraded", MaxLen: 255, Charset: anyName}
	// Alarm names one of many metric alarms: alarm-<member>-<suffix>, the
	// member (e.g. "canary-success") at most 55 characters.
	Alarm = Kind{Type: "alarm", MaxLen: 255, Reserve: 56, Charset: anyName}

	// events and backup (issue 7)
	OrdersDLQ            = Kind{Type: "orders-dlq", MaxLen: 80, Charset: anyName}
	AuditLogPolicy       = Kind{Type: "events-audit-logs", MaxLen: 255, Charset: anyName}
	RuleOrders           = Kind{Type: "rule-orders", MaxLen: 64, Charset: anyName}
	RuleAurora           = Kind{Type: "rule-aurora", MaxLen: 64, Charset: anyName}
	RuleBackupFailed     = Kind{Type: "rule-backup-failed", MaxLen: 64, Charset: anyName}
	RuleECSDeploy        = Kind{Type: "rule-ecs-deploy", MaxLen: 64, Charset: anyName}
	RuleECSTaskStopped   = Kind{Type: "rule-ecs-task-stopped", MaxLen: 64, Charset: anyName}
	RuleDegraded         = Kind{Type: "rule-degraded", MaxLen: 64, Charset: anyName}
	BackupPlanPITR       = Kind{Type: "backup-pitr", MaxLen: 50, Charset: anyName}
	SnapshotLogs         = Kind{Type: "states-svc-snapshot", MaxLen: 512, Path: "/aws/vendedlogs/", Charset: logGroup}
	SnapshotRole         = Kind{Type: "role-svc-snapshot", MaxLen: 64, Charset: anyName}
	SnapshotSchedule     = Kind{Type: "sched-svc-snapshot", MaxLen: 64, Charset: anyName}
	SnapshotScheduleRole = Kind{Type: "role-sched-snapshot", MaxLen: 64, Charset: anyName}

	// DBLogGroup is the group RDS exports a cluster's logs to; its name must
	// be /aws/rds/cluster/<cluster identifier>/<log type>: see RDSLogGroup.
	DBLogGroup = Kind{Type: "aurora", MaxLen: 512, Path: "/aws/rds/cluster/", Charset: logGroup}
	// DBReaderScalingPolicy is the Application Auto Scaling policy on the readers.
	DBReaderScalingPolicy = Kind{Type: "aurora-readers-cpu", MaxLen: 256, Charset: anyName}
	// FIS experiment templates have no name; these are their Name tags
	// (tag values allow 256 characters).
	FISStopTasks   = Kind{Type: "fis-stop-tasks", MaxLen: 256, Charset: anyName}
	FISFailover    = Kind{Type: "fis-aurora-failover", MaxLen: 256, Charset: anyName}
	FISDisruptZone = Kind{Type: "fis-disrupt-az", MaxLen: 256, Charset: anyName}
	// runbooks: one log group and one role per state machine, one schedule
	// and scheduler role per scheduled machine.
	HealthCheckLogs       = Kind{Type: "states-health-check", MaxLen: 512, Path: "/aws/vendedlogs/", Charset: logGroup}
	BackupVerifyLogs      = Kind{Type: "states-backup-verify", MaxLen: 512, Path: "/aws/vendedlogs/", Charset: logGroup}
	DBFailoverLogs        = Kind{Type: "states-db-failover", MaxLen: 512, Path: "/aws/vendedlogs/", Charset: logGroup}
	ServiceRecoveryLogs   = Kind{Type: "states-svc-recovery", MaxLen: 512, Path: "/aws/vendedlogs/", Charset: logGroup}
	HealthCheckRole       = Kind{Type: "role-sm-health-check", MaxLen: 64, Charset: anyName}
	BackupVerifyRole      = Kind{Type: "role-sm-backup-verify", MaxLen: 64, Charset: anyName}
	DBFailoverRole        = Kind{Type: "role-sm-db-failover", MaxLen: 64, Charset: anyName}
	ServiceRecoveryRole   = Kind{Type: "role-sm-svc-recovery", MaxLen: 64, Charset: anyName}
	HealthCheckSchedule   = Kind{Type: "sched-health-check", MaxLen: 64, Charset: anyName}
	BackupVerifySchedule  = Kind{Type: "sched-backup-verify", MaxLen: 64, Charset: anyName}
	HealthCheckSchedRole  = Kind{Type: "role-sched-health-check", MaxLen: 64, Charset: anyName}
	BackupVerifySchedRole = Kind{Type: "role-sched-backup-verify", MaxLen: 64, Charset: anyName}
	// CanaryPolicy is the canary role's inline policy (IAM inline policy
	// names allow 128 characters).
	CanaryPolicy = Kind{Type: "policy-canary", MaxLen: 128, Charset: anyName}
)

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
	OrdersDLQ, AuditLogPolicy, RuleOrders, RuleAurora, RuleBackupFailed, RuleECSDeploy,
	RuleECSTaskStopped, RuleDegraded, BackupPlanPITR, SnapshotLogs, SnapshotRole, SnapshotSchedule,
	SnapshotScheduleRole, DBLogGroup, DBReaderScalingPolicy,
	FISStopTasks, FISFailover, FISDisruptZone,
	HealthCheckLogs, BackupVerifyLogs, DBFailoverLogs, ServiceRecoveryLogs,
	HealthCheckRole, BackupVerifyRole, DBFailoverRole, ServiceRecoveryRole,
	HealthCheckSchedule, BackupVerifySchedule, HealthCheckSchedRole, BackupVerifySchedRole,
	CanaryPolicy,
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
// (S3 buckets): <type>-<suffix>-<tail>. The tail must fit k.Reserve.
func (n Namer) Unique(k Kind, tail string) string {
	return n.Name(k) + "-" + tail
}

// Member names one of several resources of a kind, keeping the suffix
// last: <type>-<member>-<suffix> (alarm-canary-success-prod). The member
// must fit k.Reserve.
func (n Namer) Member(k Kind, member string) string {
	return k.Path + k.Type + "-" + member + "-" + n.suffix
}

// Check reports whether a full name respects k's limits; tests and the
// policy suite use it.
func Check(k Kind, name string) error {
	if len(name) > k.MaxLen {
		return fmt.Errorf("name %q is %d characters; %s names allow at most %d", name, len(name), k.Type, k.MaxLen)
	}
	if k.Charset != nil && !k.Charset.MatchString(strings.TrimPrefix(name, k.Path)) {
		return fmt.Errorf("name %q has characters %s names do not allow (%s)", name, k.Type, k.Charset)
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

// RDSLogGroup returns /aws/rds/cluster/aurora-<suffix>/<logType>, the log
// group RDS exports the cluster's logs of one type to. Creating it ourselves
// sets KMS and retention and lets destroy remove it.
func (n Namer) RDSLogGroup(logType string) string {
	return n.Name(DBLogGroup) + "/" + logType
}

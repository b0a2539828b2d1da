package asl

import (
	"errors"
	"fmt"
	"strings"
)

// Targets carries every name and ARN the runbook definitions embed. Every
// field is a name or a name-derived ARN (infra/arn), known at program time,
// so every definition and role policy is known at the first preview.
type Targets struct {
	// ClusterIdentifier and ClusterArn identify the Aurora cluster; the
	// partition, region and account of ClusterArn are reused to build the
	// ARNs of instances, alarms and the canary.
	ClusterIdentifier, ClusterArn string
	// WriterInstanceIdentifier and ReaderInstanceIdentifiers are the cluster's
	// instances at deploy time. Roles swap on failover, so the runbooks read
	// the current roles from the cluster and only use these names for IAM.
	WriterInstanceIdentifier  string
	ReaderInstanceIdentifiers []string

	// ECSClusterArn, ECSServiceName and ECSServiceArn identify the service.
	ECSClusterArn, ECSServiceName, ECSServiceArn string
	// TargetGroupNames are the names of the ALB target groups the service
	// registers in. The runbooks look their ARNs up at run time
	// (DescribeTargetGroups with Names): AWS appends a random id to a target
	// group's ARN (targetgroup/<name>/<16 hex>), so the ARN is not known
	// before the group exists, while the name is (naming.Namer.Keyed), and
	// a definition built from names is known at the first preview.
	TargetGroupNames []string
	// TaskRoleArn and ExecutionRoleArn are the roles the service's task
	// definitions name. The service recovery's rollback (UpdateService with
	// another task definition) passes them to ECS, so its role is granted
	// iam:PassRole on exactly these two.
	TaskRoleArn, ExecutionRoleArn string
	// MigrateTaskFamily is the one-off migrate task definition's family (a
	// name: the migrate runbook runs its latest ACTIVE revision);
	// MigrateExecutionRoleArn is that definition's execution role, which
	// the runbook passes to ECS; MigrateNetworkParameter is the full name
	// of the parameter holding the task's network (MigrateNetworkPath).
	MigrateTaskFamily, MigrateExecutionRoleArn, MigrateNetworkParameter string

	// TableName and TableArn identify the DynamoDB sessions table.
	TableName, TableArn string

	// BackupVaultName is the AWS Backup vault holding the recovery points.
	BackupVaultName string
	// ProtectedResourceArns are the resources whose recovery points are
	// verified (Aurora cluster, sessions table, data bucket). TableArn must
	// be one of them: its latest recovery point is test-restored.
	ProtectedResourceArns []string
	// RestoreRoleArn is the role AWS Backup assumes to restore (passed with
	// iam:PassRole by the backup verification machine).
	RestoreRoleArn string
	// DataKeyAlias is the alias (alias/<name>) of the data key: it encrypts
	// the sessions table, so the service recovery's lock item (written to
	// that table) uses it, and it encrypts the table the backup verification
	// restores. A key ARN holds a random key id, unknown until the key
	// exists; the alias is a name. Permissions on the key are granted on
	// key/* with the alias match (keyPermission), and the backup
	// verification resolves the alias to the key ARN at run time
	// (kms:DescribeKey accepts an alias name as KeyId, AWS KMS API
	// Reference, DescribeKey), because StartRestoreJob's DynamoDB restore
	// metadata takes a key ARN (kmsMasterKeyArn, AWS Backup Developer Guide,
	// "Restore a DynamoDB table").
	DataKeyAlias string

	// CanaryName is the CloudWatch Synthetics canary; AlarmNames are our
	// CloudWatch alarms (metric or composite).
	CanaryName string
	AlarmNames []string
	// CustomerImpactAlarmNames are the metric alarms that mean customers
	// are affected (the composite's members); DependencyAlarmNames those
	// that mean a shared dependency fails; ZonalAlarmNames the per-AZ
	// healthy-host alarms. The service recovery judges by them (metric
	// alarms: cloudwatch:DescribeAlarms can be scoped to their ARNs).
	CustomerImpactAlarmNames, DependencyAlarmNames, ZonalAlarmNames []string
	// TopicArn is the SNS topic that receives reports.
	TopicArn string
	// PageTopicArn is the paging topic: the service recovery publishes
	// there when customers are still affected after it acted.
	PageTopicArn string

	// RpoThresholdMinutes is the maximum age of the latest completed
	// recovery point.
	RpoThresholdMinutes int
	// FailoverTimeoutSeconds bounds the wait for a new writer.
	FailoverTimeoutSeconds int
	// DeploymentTimeoutSeconds bounds the wait for an ECS rollout.
	DeploymentTimeoutSeconds int
	// RestoreTimeoutSeconds bounds the wait for the test restore.
	RestoreTimeoutSeconds int
}

// TargetGroupNameMax is the longest target group name ELB accepts: at most
// 32 alphanumerics or hyphens (ELBv2 API Reference, CreateTargetGroup,
// Name; the same source as infra/naming's target group rule).
const TargetGroupNameMax = 32

// arnParts holds the fields shared by our ARNs.
type arnParts struct{ partition, region, account string }

func parseARN(arn string) (arnParts, error) {
	p := strings.SplitN(arn, ":", 6)
	if len(p) != 6 || p[0] != "arn" || p[1] == "" || p[3] == "" || p[4] == "" {
		return arnParts{}, fmt.Errorf("%q is not a regional ARN", arn)
	}
	return arnParts{partition: p[1], region: p[3], account: p[4]}, nil
}

func (a arnParts) arn(service, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", a.partition, service, a.region, a.account, resource)
}

// KeyResourceAliasesOperator is the condition operator of the alias match:
// kms:ResourceAliases is multivalued (a key may have several aliases), so
// it is matched with ForAnyValue (AWS KMS Developer Guide, "Use aliases to
// control access to KMS keys", kms:ResourceAliases). infra/iamdoc.Key
// writes the same statement for the identity policies; a test holds the two
// equal.
const KeyResourceAliasesOperator = "ForAnyValue:StringEquals"

// keyPermission grants actions on the KMS key that has alias: on every key
// of the account and region (key/*), under the condition that the key has
// that alias, plus condition. The ARN of a key holds a random id, its alias
// is a name, so a permission written this way is known before the key
// exists. Aliases in a Resource element would name the alias resource, not
// the key (same guide).
func keyPermission(a arnParts, alias string, actions []string, condition map[string]map[string]any) Permission {
	cond := map[string]map[string]any{KeyResourceAliasesOperator: {"kms:ResourceAliases": alias}}
	for op, kv := range condition {
		if cond[op] == nil {
			cond[op] = map[string]any{}
		}
		for k, v := range kv {
			cond[op][k] = v
		}
	}
	return Permission{Actions: actions, Resources: []string{a.arn("kms", "key/*")}, Condition: cond}
}

// Validate reports every missing or malformed field at once.
func (t Targets) Validate() error {
	var errs []error
	need := func(name, v string) {
		if strings.TrimSpace(v) == "" {
			errs = append(errs, fmt.Errorf("targets: %s is required", name))
		}
	}
	needARN := func(name, v string) {
		need(name, v)
		if v != "" && !strings.HasPrefix(v, "arn:") {
			errs = append(errs, fmt.Errorf("targets: %s %q is not an ARN", name, v))
		}
	}
	need("ClusterIdentifier", t.ClusterIdentifier)
	needARN("ClusterArn", t.ClusterArn)
	if t.ClusterArn != "" {
		if _, err := parseARN(t.ClusterArn); err != nil {
			errs = append(errs, fmt.Errorf("targets: ClusterArn: %w", err))
		}
	}
	need("WriterInstanceIdentifier", t.WriterInstanceIdentifier)
	if len(t.ReaderInstanceIdentifiers) == 0 {
		errs = append(errs, errors.New("targets: ReaderInstanceIdentifiers needs at least one reader"))
	}
	needARN("ECSClusterArn", t.ECSClusterArn)
	need("ECSServiceName", t.ECSServiceName)
	needARN("ECSServiceArn", t.ECSServiceArn)
	if t.ECSServiceArn != "" && t.ECSServiceName != "" {
		// The long format, service/<cluster>/<service>: the service
		// recovery derives its service revisions' ARNs from it.
		_, res, _ := strings.Cut(t.ECSServiceArn, ":service/")
		cluster, name, ok := strings.Cut(res, "/")
		if !strings.HasPrefix(t.ECSServiceArn, "arn:") || cluster == "" || !ok || name != t.ECSServiceName {
			errs = append(errs, fmt.Errorf("targets: ECSServiceArn %q is not the long-format ARN (service/<cluster>/<service>) of service %q", t.ECSServiceArn, t.ECSServiceName))
		}
	}
	needARN("TaskRoleArn", t.TaskRoleArn)
	needARN("ExecutionRoleArn", t.ExecutionRoleArn)
	need("MigrateTaskFamily", t.MigrateTaskFamily)
	if strings.ContainsAny(t.MigrateTaskFamily, ":/") {
		errs = append(errs, fmt.Errorf("targets: MigrateTaskFamily %q is not a task definition family name", t.MigrateTaskFamily))
	}
	needARN("MigrateExecutionRoleArn", t.MigrateExecutionRoleArn)
	need("MigrateNetworkParameter", t.MigrateNetworkParameter)
	if t.MigrateNetworkParameter != "" && (!strings.HasPrefix(t.MigrateNetworkParameter, "/") || !strings.HasSuffix(t.MigrateNetworkParameter, "/"+MigrateNetworkPath)) {
		errs = append(errs, fmt.Errorf("targets: MigrateNetworkParameter %q is not a full parameter name ending in /%s", t.MigrateNetworkParameter, MigrateNetworkPath))
	}
	if t.ECSClusterArn != "" && !strings.Contains(t.ECSClusterArn, ":cluster/") {
		errs = append(errs, fmt.Errorf("targets: ECSClusterArn %q is not an ECS cluster ARN (cluster/<name>)", t.ECSClusterArn))
	}
	if len(t.TargetGroupNames) == 0 {
		errs = append(errs, errors.New("targets: TargetGroupNames needs at least one target group"))
	}
	for i, n := range t.TargetGroupNames {
		field := fmt.Sprintf("TargetGroupNames[%d]", i)
		need(field, n)
		if len(n) > TargetGroupNameMax || strings.HasPrefix(n, "arn:") {
			errs = append(errs, fmt.Errorf("targets: %s %q is not a target group name (at most %d characters, not an ARN)", field, n, TargetGroupNameMax))
		}
	}
	need("TableName", t.TableName)
	needARN("TableArn", t.TableArn)
	need("BackupVaultName", t.BackupVaultName)
	if len(t.ProtectedResourceArns) == 0 {
		errs = append(errs, errors.New("targets: ProtectedResourceArns needs at least one resource"))
	}
	for i, a := range t.ProtectedResourceArns {
		needARN(fmt.Sprintf("ProtectedResourceArns[%d]", i), a)
	}
	if t.TableArn != "" && t.tableIndex() < 0 {
		errs = append(errs, fmt.Errorf("targets: TableArn %q must be listed in ProtectedResourceArns", t.TableArn))
	}
	needARN("RestoreRoleArn", t.RestoreRoleArn)
	need("DataKeyAlias", t.DataKeyAlias)
	if t.DataKeyAlias != "" && (!strings.HasPrefix(t.DataKeyAlias, "alias/") || strings.HasPrefix(t.DataKeyAlias, "alias/aws/")) {
		errs = append(errs, fmt.Errorf("targets: DataKeyAlias %q is not a customer key alias (alias/<name>, not alias/aws/)", t.DataKeyAlias))
	}
	need("CanaryName", t.CanaryName)
	if len(t.AlarmNames) == 0 {
		errs = append(errs, errors.New("targets: AlarmNames needs at least one alarm"))
	}
	needARN("TopicArn", t.TopicArn)
	needARN("PageTopicArn", t.PageTopicArn)
	if len(t.CustomerImpactAlarmNames) == 0 {
		errs = append(errs, errors.New("targets: CustomerImpactAlarmNames needs at least one alarm"))
	}
	// DescribeAlarms takes at most 100 names (CloudWatch API Reference,
	// DescribeAlarms, AlarmNames).
	if n := len(t.CustomerImpactAlarmNames) + len(t.DependencyAlarmNames) + len(t.ZonalAlarmNames); n > 100 {
		errs = append(errs, fmt.Errorf("targets: %d alarms for the service recovery; DescribeAlarms takes at most 100", n))
	}
	positive := func(name string, v int) {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("targets: %s must be positive, got %d", name, v))
		}
	}
	positive("RpoThresholdMinutes", t.RpoThresholdMinutes)
	positive("FailoverTimeoutSeconds", t.FailoverTimeoutSeconds)
	positive("DeploymentTimeoutSeconds", t.DeploymentTimeoutSeconds)
	positive("RestoreTimeoutSeconds", t.RestoreTimeoutSeconds)
	return errors.Join(errs...)
}

func (t Targets) tableIndex() int {
	for i, a := range t.ProtectedResourceArns {
		if a == t.TableArn {
			return i
		}
	}
	return -1
}

func (t Targets) account() arnParts {
	p, _ := parseARN(t.ClusterArn) // checked by Validate
	return p
}

// instanceArns returns the ARNs of every cluster instance.
func (t Targets) instanceArns() []string {
	a := t.account()
	out := []string{a.arn("rds", "db:"+t.WriterInstanceIdentifier)}
	for _, id := range t.ReaderInstanceIdentifiers {
		out = append(out, a.arn("rds", "db:"+id))
	}
	return out
}

func (t Targets) alarmArns() []string { return t.alarmArnsOf(t.AlarmNames) }

// alarmArnsOf returns the ARNs of the named alarms.
func (t Targets) alarmArnsOf(names []string) []string {
	a := t.account()
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, a.arn("cloudwatch", "alarm:"+n))
	}
	return out
}

func (t Targets) vaultArn() string {
	return t.account().arn("backup", "backup-vault:"+t.BackupVaultName)
}

// recoveryPointArns matches the vault's recovery points as StartRestoreJob
// authorizes them: resource type recoveryPoint,
// arn:aws:backup:<region>:<account>:recovery-point:<id> (Service
// Authorization Reference, AWS Backup). DynamoDB backups made by AWS Backup
// with advanced features carry that ARN.
func (t Targets) recoveryPointArns() string {
	return t.account().arn("backup", "recovery-point:*")
}

// restoredTablePattern matches the temporary tables the backup
// verification restores: <table>-verify-<hash>.
func (t Targets) restoredTablePattern() string { return t.TableArn + VerifyTableInfix + "*" }

// region is the region of our ARNs (from ClusterArn).
func (t Targets) region() string { return t.account().region }

// dataKey grants actions on the data key (keyPermission).
func (t Targets) dataKey(actions []string, condition map[string]map[string]any) Permission {
	return keyPermission(t.account(), t.DataKeyAlias, actions, condition)
}

// serviceRevisionArns matches the service's revisions as
// DescribeServiceRevisions authorizes them: resource type service-revision,
// arn:aws:ecs:<region>:<account>:service-revision/<cluster>/<service>/<id>
// (Service Authorization Reference, Amazon ECS). ECSServiceArn is the
// long-format service ARN (service/<cluster>/<service>, Validate).
func (t Targets) serviceRevisionArns() string {
	return strings.Replace(t.ECSServiceArn, ":service/", ":service-revision/", 1) + "/*"
}

func (t Targets) canaryArn() string { return t.account().arn("synthetics", "canary:"+t.CanaryName) }

// ExampleTargets returns a complete, realistic Targets value for account
// 123456789012 in us-east-1. It is used by tests and by the export command
// that renders the definitions for the external validators.
func ExampleTargets() Targets {
	const acct = "123456789012"
	return Targets{
		ClusterIdentifier:         "aurora-dev",
		ClusterArn:                "arn:aws:rds:us-east-1:" + acct + ":cluster:aurora-dev",
		WriterInstanceIdentifier:  "aurora-dev-1",
		ReaderInstanceIdentifiers: []string{"aurora-dev-2", "aurora-dev-3"},
		ECSClusterArn:             "arn:aws:ecs:us-east-1:" + acct + ":cluster/ecs-dev",
		ECSServiceName:            "svc-dev",
		ECSServiceArn:             "arn:aws:ecs:us-east-1:" + acct + ":service/ecs-dev/svc-dev",
		TaskRoleArn:               "arn:aws:iam::" + acct + ":role/role-task-dev",
		ExecutionRoleArn:          "arn:aws:iam::" + acct + ":role/role-exec-dev",
		MigrateTaskFamily:         "task-migrate-dev",
		MigrateExecutionRoleArn:   "arn:aws:iam::" + acct + ":role/role-migrate-execution-dev",
		MigrateNetworkParameter:   "/trading/dev/" + MigrateNetworkPath,
		TargetGroupNames:          []string{"tg-dev-0123abcd"},
		TableName:                 "sessions-dev",
		TableArn:                  "arn:aws:dynamodb:us-east-1:" + acct + ":table/sessions-dev",
		BackupVaultName:           "vault-dev",
		ProtectedResourceArns: []string{
			"arn:aws:rds:us-east-1:" + acct + ":cluster:aurora-dev",
			"arn:aws:dynamodb:us-east-1:" + acct + ":table/sessions-dev",
			"arn:aws:s3:::data-dev",
		},
		RestoreRoleArn:           "arn:aws:iam::" + acct + ":role/backup-restore-dev",
		DataKeyAlias:             "alias/kms-data-dev",
		CanaryName:               "canary-dev",
		AlarmNames:               []string{"alb-5xx-dev", "aurora-cpu-dev", "composite-dev"},
		CustomerImpactAlarmNames: []string{"alarm-canary-success-dev", "alarm-r53-health-dev", "alarm-alb-5xx-rate-dev", "alarm-p99-latency-dev"},
		DependencyAlarmNames:     []string{"alarm-ddb-sessions-throttles-dev", "alarm-ddb-sessions-system-errors-dev"},
		ZonalAlarmNames:          []string{"alarm-healthy-hosts-us-east-1a-dev", "alarm-healthy-hosts-us-east-1b-dev", "alarm-healthy-hosts-us-east-1c-dev"},
		TopicArn:                 "arn:aws:sns:us-east-1:" + acct + ":alerts-dev",
		PageTopicArn:             "arn:aws:sns:us-east-1:" + acct + ":alarms-dev",
		RpoThresholdMinutes:      1560,
		FailoverTimeoutSeconds:   600,
		DeploymentTimeoutSeconds: 900,
		RestoreTimeoutSeconds:    3600,
	}
}

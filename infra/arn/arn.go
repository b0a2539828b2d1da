// Package arn builds the ARN of a resource from its name, for the resource
// types whose ARN AWS derives from the name alone. A document built from
// these is a plain string at program time, so a first `pulumi preview`
// shows it and the validators check it before any resource registers.
// Every format is the resource type's ARN in the Service Authorization
// Reference, as embedded in proof/iamcheck/data/iamdata.json
// (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html);
// tests/arn_helper_test.go holds each builder to the ARN the resolved
// recording gives the real resource. Role, ParseRole and SessionRole read
// role and session ARNs back. A leaf package: it imports nothing of the
// program.
package arn

import (
	"fmt"
	"strings"
)

// At is where ARNs are built: the partition, the region and the account.
// The account comes from aws.GetCallerIdentity, an invoke, which runs
// during preview as during update; the region is stack config.
type At struct {
	Partition, Region, Account string
}

// In is At in the commercial partition ("aws"), the one the stacks deploy
// to (us-east-1).
func In(region, account string) At { return At{Partition: "aws", Region: region, Account: account} }

func (a At) regional(service, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", a.Partition, service, a.Region, a.Account, resource)
}

// Role: arn:${Partition}:iam::${Account}:role/${RoleNameWithPath} (IAM is
// global: no region).
func (a At) Role(name string) string {
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", a.Partition, a.Account, name)
}

// StateMachine: arn:${Partition}:states:${Region}:${Account}:stateMachine:${StateMachineName}.
func (a At) StateMachine(name string) string { return a.regional("states", "stateMachine:"+name) }

// Topic: arn:${Partition}:sns:${Region}:${Account}:${TopicName}.
func (a At) Topic(name string) string { return a.regional("sns", name) }

// Queue: arn:${Partition}:sqs:${Region}:${Account}:${QueueName}.
func (a At) Queue(name string) string { return a.regional("sqs", name) }

// Bucket: arn:${Partition}:s3:::${BucketName} (neither region nor account).
func (a At) Bucket(name string) string { return fmt.Sprintf("arn:%s:s3:::%s", a.Partition, name) }

// LogGroup: arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName},
// without the ":*" the CloudWatch Logs API appends to some forms (the
// pulumi-aws v6 LogGroup arn output drops it too).
func (a At) LogGroup(name string) string { return a.regional("logs", "log-group:"+name) }

// EventBus: arn:${Partition}:events:${Region}:${Account}:event-bus/${EventBusName}.
func (a At) EventBus(name string) string { return a.regional("events", "event-bus/"+name) }

// EventConnection: arn:${Partition}:events:${Region}:${Account}:connection/${ConnectionName}/${id},
// id being what AWS assigns at create (EventBridge API Reference,
// CreateConnection, ConnectionArn); "*" names every connection of that
// name.
func (a At) EventConnection(name, id string) string {
	return a.regional("events", "connection/"+name+"/"+id)
}

// EventRule: arn:${Partition}:events:${Region}:${Account}:rule/[${EventBusName}/]${RuleName};
// a rule on the default bus has no bus segment.
func (a At) EventRule(bus, name string) string {
	if bus == "" || bus == "default" {
		return a.regional("events", "rule/"+name)
	}
	return a.regional("events", "rule/"+bus+"/"+name)
}

// Table: arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}.
func (a At) Table(name string) string { return a.regional("dynamodb", "table/"+name) }

// ECSCluster: arn:${Partition}:ecs:${Region}:${Account}:cluster/${ClusterName}.
func (a At) ECSCluster(name string) string { return a.regional("ecs", "cluster/"+name) }

// ECSService: arn:${Partition}:ecs:${Region}:${Account}:service/${ClusterName}/${ServiceName}
// (the long ARN format).
func (a At) ECSService(cluster, name string) string {
	return a.regional("ecs", "service/"+cluster+"/"+name)
}

// DBCluster: arn:${Partition}:rds:${Region}:${Account}:cluster:${DbClusterInstanceName}.
func (a At) DBCluster(identifier string) string { return a.regional("rds", "cluster:"+identifier) }

// DBInstance: arn:${Partition}:rds:${Region}:${Account}:db:${DbInstanceName}.
func (a At) DBInstance(identifier string) string { return a.regional("rds", "db:"+identifier) }

// BackupVault: arn:${Partition}:backup:${Region}:${Account}:backup-vault:${BackupVaultName}.
func (a At) BackupVault(name string) string { return a.regional("backup", "backup-vault:"+name) }

// Canary: arn:${Partition}:synthetics:${Region}:${Account}:canary:${CanaryName}.
func (a At) Canary(name string) string { return a.regional("synthetics", "canary:"+name) }

// Alarm: arn:${Partition}:cloudwatch:${Region}:${Account}:alarm:${AlarmName}.
func (a At) Alarm(name string) string { return a.regional("cloudwatch", "alarm:"+name) }

// ScheduleGroup: arn:${Partition}:scheduler:${Region}:${Account}:schedule-group/${GroupName};
// a schedule created without a group is in the group "default".
func (a At) ScheduleGroup(name string) string { return a.regional("scheduler", "schedule-group/"+name) }

// FlowLogs: arn:${Partition}:ec2:${Region}:${Account}:vpc-flow-log/* — every
// flow log of the account in the region; a flow log's own ID is assigned
// at create.
func (a At) FlowLogs() string { return a.regional("ec2", "vpc-flow-log/*") }

// Experiments: arn:${Partition}:fis:${Region}:${Account}:experiment/* — every
// FIS experiment of the account in the region (IDs are assigned at start).
func (a At) Experiments() string { return a.regional("fis", "experiment/*") }

// Keys: arn:${Partition}:kms:${Region}:${Account}:key/* — every KMS key of
// the account in the region, the wildcard in the key ID position (AWS KMS
// Developer Guide, "Specifying KMS keys in IAM policy statements": "To
// specify multiple KMS keys in the account and Region, use wildcard
// characters (*) in the Region or resource ID positions of the key ARN").
// A key's own ARN holds a random key ID AWS assigns at create, unknown at
// preview; identity policies name keys through this and the
// kms:ResourceAliases condition instead (iamdoc.Key).
func (a At) Keys() string { return a.regional("kms", "key/*") }

// Parameter: arn:${Partition}:ssm:${Region}:${Account}:parameter/${ParameterNameWithoutLeadingSlash};
// name is the full, slash-led name (/trading/<suffix>/...).
func (a At) Parameter(name string) string {
	return a.regional("ssm", "parameter/"+strings.TrimPrefix(name, "/"))
}

// Role is an IAM role as its account and name: the name is the last
// segment of the ARN's RoleNameWithPath. Account and name identify a role:
// "IAM user, group, role, and policy names must be unique within the
// account. Names are not distinguished by case" (IAM API Reference,
// CreateRole, RoleName) — the path takes no part in it.
type Role struct {
	Account, Name string
}

// Same reports whether r and o are one role: the same account and a name
// equal but for case.
func (r Role) Same(o Role) bool {
	return r.Account == o.Account && strings.EqualFold(r.Name, o.Name)
}

// ParseRole reads a role ARN, arn:<partition>:iam::<account>:role/[<path>/]<name>.
func ParseRole(s string) (Role, bool) {
	f := strings.SplitN(s, ":", 6)
	if len(f) != 6 || f[0] != "arn" || f[2] != "iam" || f[3] != "" || !strings.HasPrefix(f[5], "role/") {
		return Role{}, false
	}
	name := f[5][strings.LastIndex(f[5], "/")+1:]
	if f[4] == "" || name == "" {
		return Role{}, false
	}
	return Role{Account: f[4], Name: name}, true
}

// SessionRole reads the role of an assumed-role session ARN as
// sts:GetCallerIdentity returns it:
// arn:<partition>:sts::<account>:assumed-role/<name>/<session>. That ARN
// has no path, while a policy's aws:PrincipalArn for the same call is the
// role's ARN, path included (IAM User Guide, "AWS global condition context
// keys", aws:PrincipalArn: "Do not specify the assumed role session ARN as
// a value for this condition key"), so compare Roles, never the strings.
// Any other caller (an IAM user, the root user) is no role: ok is false.
func SessionRole(s string) (Role, bool) {
	f := strings.SplitN(s, ":", 6)
	if len(f) != 6 || f[0] != "arn" || f[2] != "sts" || f[3] != "" || !strings.HasPrefix(f[5], "assumed-role/") {
		return Role{}, false
	}
	parts := strings.Split(strings.TrimPrefix(f[5], "assumed-role/"), "/")
	if f[4] == "" || len(parts) != 2 || parts[0] == "" {
		return Role{}, false
	}
	return Role{Account: f[4], Name: parts[0]}, true
}

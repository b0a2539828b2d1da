// Package service owns the trading service's runtime: the ECS cluster, the
// Fargate task definition and service in the private subnets of three AZs,
// the one-off migrate task that applies the schema (migrate.go),
// the internet-facing HTTPS Application Load Balancer with its target
// group, listeners and certificate, the security group rules between the
// tiers, autoscaling, the WAF web ACL, the app's log group, the image
// repository and the task's IAM roles.
package service

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	awsarn "github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/paramtable"
)

// ContainerName is the name of the app container in the task definition.
const ContainerName = "trading"

// BinaryPath is the app binary inside the image; the container health check
// runs it with -healthcheck (CONTRACT.md).
const BinaryPath = "/trading"

// RunAsUser is the non-root uid:gid the container runs as (distroless nonroot).
const RunAsUser = "65532:65532"

// Drain timings (CONTRACT.md section 9): at SIGTERM readiness fails at once
// and serving continues DRAIN_DELAY, the ALB's interval x unhealthy
// threshold (config.Service.DrainDelaySeconds: 10 s with the defaults),
// then in-flight requests get SHUTDOWN_TIMEOUT (15 s), inside the
// container's stopTimeout (config.Service.StopTimeoutSeconds: 30 s).

// NoFileLimit is the container's open-file limit (soft and hard).
const NoFileLimit = 65536

// Args are what the service needs from the other tiers.
type Args struct {
	Names naming.Namer
	// Shared are the stack-wide settings (region, zones, deletion protection, log retention).
	Shared config.Shared
	// Service is the service section: task, scaling, health check, ALB, WAF.
	Service config.Service
	// ClosedEgress reaches AWS through VPC endpoints only (the network
	// section's privateEgress): the tasks' egress rules follow it.
	ClosedEgress bool
	// Gates are the deployment alarms' period and thresholds (the
	// monitoring section's traffic alarms', which page on the same).
	Gates config.Traffic
	// VPCCIDR is the VPC's range (the network's output): the target
	// group's name is keyed on it.
	VPCCIDR   string
	AccountID string

	VPCID                pulumi.StringInput
	PublicSubnetIDs      pulumi.StringArrayInput
	PrivateSubnetIDs     pulumi.StringArrayInput
	ALBSecurityGroupID   pulumi.StringInput
	TasksSecurityGroupID pulumi.StringInput
	// MigrateSecurityGroupID is the one-off migrate task's group; the
	// service gives it its HTTPS egress (the database component its 5432).
	MigrateSecurityGroupID pulumi.StringInput
	S3PrefixListID         pulumi.StringInput
	DynamoDBPrefixListID   pulumi.StringInput
	// EndpointSecurityGroupID is the interface endpoints' group, required
	// when privateEgress is endpoints.
	EndpointSecurityGroupID pulumi.StringInput

	DataKeyArn      pulumi.StringInput
	TelemetryKeyArn pulumi.StringInput
	// DataKey is the data key as the task roles' policies name it: by
	// alias (iamdoc.Key).
	DataKey iamdoc.Key

	// LogsBucket receives ALB access logs under ALBLogsPrefix.
	LogsBucket    pulumi.StringInput
	ALBLogsPrefix string
	// LogsBucketPolicy is the logs bucket's policy granting the ELB account
	// its writes; the ALB waits for it (storage.Buckets.LogsPolicy).
	LogsBucketPolicy pulumi.Resource
	// DataBucketArn is the app's object store.
	DataBucketArn pulumi.StringInput
	// SessionsTableArn is the DynamoDB sessions table.
	SessionsTableArn pulumi.StringInput
	// DBSecretArn is the RDS-managed Secrets Manager secret (JSON
	// username/password); only the migrate task's execution role reads it.
	DBSecretArn pulumi.StringInput
	// DBClusterResourceID is the cluster's DbClusterResourceId, the
	// resource of rds-db:connect.
	DBClusterResourceID pulumi.StringInput
	// ParameterArns maps parameter paths (relative to /trading/<suffix>) to
	// ARNs; every path in paramtable.Rows must be present.
	ParameterArns map[string]pulumi.StringOutput
	// HostedZoneID validates the certificate when certificateMode is dns.
	HostedZoneID pulumi.StringInput
	// SourceRoot is the project root, which holds the service image's
	// build context (BuildContext).
	SourceRoot string
}

// Known are identities of the service tier that naming fixes: the
// documents other tiers build from them (runbook definitions and roles,
// the bus policy, rule patterns) stay known at the first preview, which
// the resources' outputs are not.
type Known struct {
	ClusterName, ServiceName, ClusterArn, ServiceArn string
	// TaskRoleArn, ExecutionRoleArn and MigrateExecutionRoleArn are the
	// roles the runbooks pass to ECS.
	TaskRoleArn, ExecutionRoleArn, MigrateExecutionRoleArn string
}

// Service is the component and what monitoring, DNS and the runbooks need.
type Service struct {
	pulumi.ResourceState

	ALBArn           pulumi.StringOutput
	ALBArnSuffix     pulumi.StringOutput
	ALBDNSName       pulumi.StringOutput
	ALBZoneID        pulumi.StringOutput
	HTTPSListenerArn pulumi.StringOutput
	// TargetGroupName is the app target group's name (TargetGroupName),
	// known at program time: the runbooks find the group by it.
	TargetGroupName      string
	TargetGroupArn       pulumi.StringOutput
	TargetGroupArnSuffix pulumi.StringOutput
	CertificateArn       pulumi.StringOutput
	ClusterName          pulumi.StringOutput
	ClusterArn           pulumi.StringOutput
	ServiceName          pulumi.StringOutput
	ServiceArn           pulumi.StringOutput
	TaskRoleArn          pulumi.StringOutput
	ExecutionRoleArn     pulumi.StringOutput
	// DeployedTaskDefinition is the task definition the service runs once
	// the deployment is stable; it fails the update when that is not the
	// one just registered (CheckDeployed).
	DeployedTaskDefinition pulumi.StringOutput
	// Image is the image URI the task runs.
	Image pulumi.StringOutput
	// MigrateTaskDefinitionArn and MigrateExecutionRoleArn are the one-off
	// migrate task's (migrate.go); the migrate runbook runs the family's
	// latest revision, MigrateTaskFamily.
	MigrateTaskDefinitionArn pulumi.StringOutput
	MigrateExecutionRoleArn  pulumi.StringOutput
	// WebACLArn is empty when wafEnabled is false.
	WebACLArn pulumi.StringOutput

	// TaskFamily, LogGroupName, EventBusArn, MigrateTaskFamily and
	// MigrateLogGroupName are fixed by naming.
	// Known are the names and ARNs of the cluster, the service and the
	// roles, fixed by naming and so known at program time, which the
	// outputs above are not at a first preview.
	Known Known

	TaskFamily          string
	LogGroupName        string
	EventBusArn         string
	MigrateTaskFamily   string
	MigrateLogGroupName string
	// AppPort, HealthCheckPath and DesiredCount come from config.
	AppPort         int
	HealthCheckPath string
	DesiredCount    int
	// HealthCheckIntervalSeconds x UnhealthyThreshold is how long the ALB
	// keeps routing to a dead task (component outputs; the resilience
	// report reads the recorded target group instead).
	HealthCheckIntervalSeconds int
	UnhealthyThreshold         int
}

// EventBusArn is the ARN of the stack's EventBridge bus, which naming fixes,
// so the task role scopes events:PutEvents without waiting for the events
// component.
func EventBusArn(names naming.Namer, region, account string) string {
	return fmt.Sprintf("arn:aws:events:%s:%s:event-bus/%s", region, account, names.Name(naming.EventBus))
}

// New creates the service tier.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Service, error) {
	cfg := args.Service
	s := &Service{
		TaskFamily:                 args.Names.Name(naming.TaskFamily),
		LogGroupName:               args.Names.Name(naming.AppLogGroup),
		EventBusArn:                EventBusArn(args.Names, args.Shared.Region, args.AccountID),
		MigrateTaskFamily:          args.Names.Name(naming.MigrateTaskFamily),
		MigrateLogGroupName:        args.Names.Name(naming.MigrateLogGroup),
		AppPort:                    cfg.AppPort,
		TargetGroupName:            TargetGroupName(args.Names, cfg.AppPort, args.VPCCIDR),
		HealthCheckPath:            cfg.HealthCheckPath,
		DesiredCount:               cfg.DesiredCount,
		HealthCheckIntervalSeconds: cfg.HealthCheckInterval,
		UnhealthyThreshold:         cfg.UnhealthyThreshold,
	}
	at := awsarn.In(args.Shared.Region, args.AccountID)
	cluster, service := args.Names.Name(naming.ECSCluster), args.Names.Name(naming.ECSService)
	s.Known = Known{
		ClusterName: cluster, ServiceName: service,
		ClusterArn: at.ECSCluster(cluster), ServiceArn: at.ECSService(cluster, service),
		TaskRoleArn:             at.Role(args.Names.Name(naming.TaskRole)),
		ExecutionRoleArn:        at.Role(args.Names.Name(naming.TaskExecutionRole)),
		MigrateExecutionRoleArn: at.Role(args.Names.Name(naming.MigrateExecutionRole)),
	}
	for _, p := range paramtable.Rows {
		if _, ok := args.ParameterArns[p.Path]; !ok {
			return nil, fmt.Errorf("service: parameter %q (for %s) is not in the params hierarchy", p.Path, p.Env)
		}
	}
	if _, ok := args.ParameterArns[paramtable.KeySetPath]; !ok {
		return nil, fmt.Errorf("service: the signing key parameter %q is not in the params hierarchy", paramtable.KeySetPath)
	}
	if args.ClosedEgress && args.EndpointSecurityGroupID == nil {
		return nil, fmt.Errorf("service: privateEgress endpoints needs the endpoint security group")
	}
	if args.MigrateSecurityGroupID == nil || args.DBSecretArn == nil {
		return nil, fmt.Errorf("service: the migrate task needs its security group and the master secret")
	}
	if cfg.CertificateMode == config.CertDNS && args.HostedZoneID == nil {
		return nil, fmt.Errorf("service: certificateMode dns needs a hosted zone id")
	}
	if err := ctx.RegisterComponentResource("trading:service:Service", name, s, opts...); err != nil {
		return nil, fmt.Errorf("register service component: %w", err)
	}
	// Children are named from the component (naming.ChildrenOf).
	b := &builder{ctx: ctx, args: args, cfg: cfg, s: s, parent: pulumi.Parent(s), kids: naming.ChildrenOf(name)}
	steps := []struct {
		what string
		fn   func() error
	}{
		{"security group rules", b.securityGroupRules},
		{"log group", b.logGroup},
		{"image", b.image},
		{"IAM roles", b.roles},
		{"migrate task", b.migrateTask},
		{"load balancer", b.loadBalancer},
		{"certificate", b.certificate},
		{"listeners", b.listeners},
		{"WAF", b.waf},
		{"deployment gates", b.deploymentGates},
		{"ECS", b.ecs},
		{"autoscaling", b.autoscaling},
	}
	for _, st := range steps {
		if err := st.fn(); err != nil {
			return nil, fmt.Errorf("service %s: %w", st.what, err)
		}
	}
	if err := ctx.RegisterResourceOutputs(s, pulumi.Map{
		"albArn": s.ALBArn, "albArnSuffix": s.ALBArnSuffix, "albDnsName": s.ALBDNSName, "albZoneId": s.ALBZoneID,
		"targetGroupArn": s.TargetGroupArn, "targetGroupArnSuffix": s.TargetGroupArnSuffix,
		"clusterName": s.ClusterName, "clusterArn": s.ClusterArn, "serviceName": s.ServiceName, "serviceArn": s.ServiceArn,
		"taskFamily": pulumi.String(s.TaskFamily), "logGroupName": pulumi.String(s.LogGroupName),
		"appPort": pulumi.Int(s.AppPort), "healthCheckPath": pulumi.String(s.HealthCheckPath),
		"desiredCount": pulumi.Int(s.DesiredCount), "healthCheckIntervalSeconds": pulumi.Int(s.HealthCheckIntervalSeconds),
		"unhealthyThreshold": pulumi.Int(s.UnhealthyThreshold), "image": s.Image, "certificateArn": s.CertificateArn,
		"deployedTaskDefinition": s.DeployedTaskDefinition,
		"migrateTaskFamily":      pulumi.String(s.MigrateTaskFamily), "migrateLogGroupName": pulumi.String(s.MigrateLogGroupName),
		"migrateTaskDefinitionArn": s.MigrateTaskDefinitionArn, "migrateExecutionRoleArn": s.MigrateExecutionRoleArn,
	}); err != nil {
		return nil, fmt.Errorf("register service outputs: %w", err)
	}
	return s, nil
}

// builder carries the state the construction steps share.
type builder struct {
	ctx    *pulumi.Context
	args   Args
	cfg    config.Service
	s      *Service
	parent pulumi.ResourceOption
	kids   naming.Children

	logGroupArn   pulumi.StringOutput
	logGroupRes   pulumi.Resource
	repositoryArn pulumi.StringOutput // empty when appImage is not in our ECR
	hasRepository bool
	imageRepoArn  string // ECR repository ARN of a configured appImage, if any
	taskRole      pulumi.StringOutput
	execRole      pulumi.StringOutput
	rolePolicies  []pulumi.Resource
	httpsListener pulumi.Resource
	// gates and gateNames are the deployment gate alarms (gates.go).
	gates     []pulumi.Resource
	gateNames []string
}

// repoArn is the ECR repository the tasks pull from: ours, a configured
// appImage's, or empty (an image outside ECR).
func (b *builder) repoArn() pulumi.StringOutput {
	if b.hasRepository {
		return b.repositoryArn
	}
	return pulumi.String(b.imageRepoArn).ToStringOutput()
}

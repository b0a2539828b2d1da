package service

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumix"

	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/identity"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/paramtable"
)

// ContainerInsights is the cluster's Container Insights mode: enhanced
// observability adds task- and container-level metrics.
const ContainerInsights = "enhanced"

// Container health check timings (seconds, CONTRACT.md section 9): a hung
// process is marked unhealthy after interval x retries = 30 s (plus the
// 3 s timeout), and ECS replaces the task.
const (
	ContainerHealthInterval = 10
	ContainerHealthTimeout  = 3
	ContainerHealthRetries  = 3
)

// ContainerDefinition is the subset of the ECS container definition the
// task uses, as Go values marshalled once.
type ContainerDefinition struct {
	Name                   string           `json:"name"`
	Image                  string           `json:"image"`
	Command                []string         `json:"command,omitempty"`
	Essential              bool             `json:"essential"`
	User                   string           `json:"user"`
	ReadonlyRootFilesystem bool             `json:"readonlyRootFilesystem"`
	Privileged             bool             `json:"privileged"`
	PortMappings           []PortMapping    `json:"portMappings,omitempty"`
	Environment            []KeyValue       `json:"environment"`
	Secrets                []Secret         `json:"secrets"`
	HealthCheck            *HealthCheck     `json:"healthCheck,omitempty"`
	StopTimeout            int              `json:"stopTimeout,omitempty"`
	LinuxParameters        LinuxParameters  `json:"linuxParameters"`
	Ulimits                []Ulimit         `json:"ulimits,omitempty"`
	MountPoints            []MountPoint     `json:"mountPoints,omitempty"`
	LogConfiguration       LogConfiguration `json:"logConfiguration"`
}

// PortMapping is a container port.
type PortMapping struct {
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol"`
	Name          string `json:"name,omitempty"`
}

// KeyValue is a plain environment variable.
type KeyValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Secret is an environment variable ECS resolves from SSM or Secrets Manager.
type Secret struct {
	Name      string `json:"name"`
	ValueFrom string `json:"valueFrom"`
}

// HealthCheck is the container health check.
type HealthCheck struct {
	Command     []string `json:"command"`
	Interval    int      `json:"interval"`
	Timeout     int      `json:"timeout"`
	Retries     int      `json:"retries"`
	StartPeriod int      `json:"startPeriod"`
}

// LinuxParameters are the container's kernel-level settings.
type LinuxParameters struct {
	InitProcessEnabled bool         `json:"initProcessEnabled"`
	Capabilities       Capabilities `json:"capabilities"`
}

// Capabilities drops Linux capabilities.
type Capabilities struct {
	Drop []string `json:"drop"`
}

// Ulimit is a resource limit.
type Ulimit struct {
	Name      string `json:"name"`
	SoftLimit int    `json:"softLimit"`
	HardLimit int    `json:"hardLimit"`
}

// MountPoint mounts a task volume.
type MountPoint struct {
	SourceVolume  string `json:"sourceVolume"`
	ContainerPath string `json:"containerPath"`
	ReadOnly      bool   `json:"readOnly"`
}

// LogConfiguration sends the container's output to CloudWatch Logs.
type LogConfiguration struct {
	LogDriver string            `json:"logDriver"`
	Options   map[string]string `json:"options"`
}

// writablePaths are the task-local scratch volumes a read-only root file
// system needs: /tmp always; the ECS Exec agent's paths when Exec is on
// (the agent cannot start on a read-only root otherwise).
func writablePaths(exec bool) map[string]string {
	paths := map[string]string{"tmp": "/tmp"}
	if exec {
		paths["exec-agents"] = "/managed-agents"
		paths["exec-ssm-lib"] = "/var/lib/amazon/ssm"
		paths["exec-ssm-log"] = "/var/log/amazon/ssm"
	}
	return paths
}

// volumeNames returns the volume names in a stable order.
func volumeNames(exec bool) []string {
	names := []string{"tmp"}
	if exec {
		names = append(names, "exec-agents", "exec-ssm-lib", "exec-ssm-log")
	}
	return names
}

// Container builds the app's container definition. paramArns are the
// paramtable rows' ARNs in order. The app never sees the master secret: it
// connects as DBAppUser with IAM database authentication (CONTRACT.md).
func Container(cfg config.Service, names naming.Namer, region, image, logGroup string, paramArns []string) ContainerDefinition {
	secrets := make([]Secret, 0, len(paramtable.Rows))
	for i, p := range paramtable.Rows {
		secrets = append(secrets, Secret{Name: p.Env, ValueFrom: paramArns[i]})
	}
	var mounts []MountPoint
	paths := writablePaths(cfg.EnableExecuteCommand)
	for _, v := range volumeNames(cfg.EnableExecuteCommand) {
		mounts = append(mounts, MountPoint{SourceVolume: v, ContainerPath: paths[v]})
	}
	return ContainerDefinition{
		Name:                   ContainerName,
		Image:                  image,
		Essential:              true,
		User:                   RunAsUser,
		ReadonlyRootFilesystem: true,
		Privileged:             false,
		PortMappings:           []PortMapping{{ContainerPort: cfg.AppPort, Protocol: "tcp", Name: "http"}},
		Environment: []KeyValue{
			{Name: "APP_PORT", Value: strconv.Itoa(cfg.AppPort)},
			{Name: "APP_TLS", Value: AppTLS},
			{Name: "AWS_REGION", Value: region},
			{Name: "LOG_LEVEL", Value: cfg.LogLevel},
			{Name: "DB_USERNAME", Value: DBAppUser},
			{Name: "DB_AUTH_MODE", Value: "iam"},
			{Name: "DB_MIGRATIONS", Value: "wait"},
			{Name: "OIDC_SCOPE", Value: identity.Scope},
			{Name: "OIDC_JWKS_PARAMETER", Value: names.Parameter(paramtable.KeySetPath)},
			{Name: "SSM_PARAMETERS_PATH", Value: names.ParameterPath()},
			{Name: "METRICS_NAMESPACE", Value: MetricsNamespace(names)},
			{Name: "DRAIN_DELAY", Value: seconds(cfg.DrainDelaySeconds())},
			{Name: "SHUTDOWN_TIMEOUT", Value: seconds(config.ShutdownTimeoutSeconds)},
		},
		Secrets: secrets,
		HealthCheck: &HealthCheck{
			Command:  []string{"CMD", BinaryPath, "-healthcheck"},
			Interval: ContainerHealthInterval, Timeout: ContainerHealthTimeout, Retries: ContainerHealthRetries,
			StartPeriod: config.ContainerHealthStartPeriodSeconds,
		},
		StopTimeout: cfg.StopTimeoutSeconds(),
		LinuxParameters: LinuxParameters{
			// An init process reaps zombies and forwards SIGTERM to the app.
			InitProcessEnabled: true,
			Capabilities:       Capabilities{Drop: []string{"ALL"}},
		},
		Ulimits:          []Ulimit{{Name: "nofile", SoftLimit: NoFileLimit, HardLimit: NoFileLimit}},
		MountPoints:      mounts,
		LogConfiguration: logTo(logGroup, region, "app"),
	}
}

// seconds renders whole seconds as a Go duration ("10s"), the form the
// app's DRAIN_DELAY and SHUTDOWN_TIMEOUT take.
func seconds(n int) string { return strconv.Itoa(n) + "s" }

// MetricsNamespace is the CloudWatch namespace of the service's EMF metrics.
func MetricsNamespace(names naming.Namer) string { return "Trading/" + names.Suffix() }

// logTo sends the app container's output to the service's log group.
func logTo(logGroup, region, prefix string) LogConfiguration {
	return LogConfiguration{
		LogDriver: "awslogs",
		Options: map[string]string{
			"awslogs-group": logGroup, "awslogs-region": region, "awslogs-stream-prefix": prefix,
			// A slow CloudWatch Logs API must never stall the order path.
			"mode": "non-blocking", "max-buffer-size": "25m",
		},
	}
}

// insightsLogGroup creates the group Container Insights writes the
// cluster's performance log events to. CloudWatch creates
// /aws/ecs/containerinsights/<cluster>/performance itself when the cluster
// first reports (CloudWatch User Guide, "Container Insights performance log
// reference": "it automatically creates a log group for the performance log
// events"), without our key or retention and outside the stack, so destroy
// would leave it. Created first, with the cluster waiting for it, the group
// is ours: Container Insights writes into it, and destroy deletes it after
// the cluster (docs/destroy.md).
func (b *builder) insightsLogGroup() (pulumi.Resource, error) {
	group, err := cloudwatch.NewLogGroup(b.ctx, b.kids.Name("container-insights"), &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(b.args.Names.ContainerInsightsLogGroup()),
		RetentionInDays: pulumi.Int(b.args.Shared.LogRetentionDays),
		KmsKeyId:        b.args.TelemetryKeyArn,
	}, b.parent)
	if err != nil {
		return nil, fmt.Errorf("create container insights log group: %w", err)
	}
	return group, nil
}

// ecs creates the cluster, the task definition and the service.
func (b *builder) ecs() error {
	cfg := b.cfg
	region := b.args.Shared.Region
	insights, err := b.insightsLogGroup()
	if err != nil {
		return err
	}
	cluster, err := ecs.NewCluster(b.ctx, b.kids.Name("cluster"), &ecs.ClusterArgs{
		Name: pulumi.String(b.s.Known.ClusterName),
		Settings: ecs.ClusterSettingArray{&ecs.ClusterSettingArgs{
			Name: pulumi.String("containerInsights"), Value: pulumi.String(ContainerInsights),
		}},
	}, b.parent, pulumi.DependsOn([]pulumi.Resource{insights}))
	if err != nil {
		return fmt.Errorf("create cluster: %w", err)
	}
	b.s.ClusterName, b.s.ClusterArn = cluster.Name, cluster.Arn

	// The image (a digest when we build it) is a value AWS makes, so the
	// definition is built in an apply; the parameter ARNs follow
	// paramtable's order. The task holds no master credential: the schema
	// step is the one-off migrate task (migrate.go).
	parameterArns := pulumi.StringArray{}
	for _, p := range paramtable.Rows {
		parameterArns = append(parameterArns, b.args.ParameterArns[p.Path])
	}
	// The app names the key set parameter by name (OIDC_JWKS_PARAMETER);
	// its ARN joins the apply so the task definition waits for it.
	parameterArns = append(parameterArns, b.args.ParameterArns[paramtable.KeySetPath])
	rows := len(paramtable.Rows)
	names := b.args.Names
	logGroup := b.s.LogGroupName
	defs := pulumix.Cast[pulumi.StringOutput](pulumix.Apply2Err[string, []string](
		b.s.Image, parameterArns.ToStringArrayOutput(),
		func(image string, arns []string) (string, error) {
			out, err := json.Marshal([]ContainerDefinition{
				Container(cfg, names, region, image, logGroup, arns[:rows]),
			})
			if err != nil {
				return "", fmt.Errorf("marshal container definitions: %w", err)
			}
			return string(out), nil
		}))

	volumes := ecs.TaskDefinitionVolumeArray{}
	for _, v := range volumeNames(cfg.EnableExecuteCommand) {
		volumes = append(volumes, &ecs.TaskDefinitionVolumeArgs{Name: pulumi.String(v)})
	}
	task, err := ecs.NewTaskDefinition(b.ctx, b.kids.Name("app"), &ecs.TaskDefinitionArgs{
		Family:                  pulumi.String(b.s.TaskFamily),
		RequiresCompatibilities: pulumi.ToStringArray([]string{"FARGATE"}),
		NetworkMode:             pulumi.String("awsvpc"),
		Cpu:                     pulumi.String(strconv.Itoa(cfg.CPU)),
		Memory:                  pulumi.String(strconv.Itoa(cfg.Memory)),
		RuntimePlatform: &ecs.TaskDefinitionRuntimePlatformArgs{
			CpuArchitecture: pulumi.String(cfg.CPUArchitecture), OperatingSystemFamily: pulumi.String("LINUX"),
		},
		ExecutionRoleArn:     b.execRole,
		TaskRoleArn:          b.taskRole,
		ContainerDefinitions: defs,
		Volumes:              volumes,
		// The container definitions name the log group literally
		// (awslogs-group); the awslogs driver fails a task whose group does
		// not exist, and the service starts tasks as soon as it is created,
		// so the task definition (and through it the service) waits for the
		// group, and destroy removes the group last.
	}, b.parent, pulumi.DependsOn([]pulumi.Resource{b.logGroupRes}))
	if err != nil {
		return fmt.Errorf("create task definition: %w", err)
	}

	deps := append(append([]pulumi.Resource{b.httpsListener}, b.rolePolicies...), b.gates...)
	svc, err := ecs.NewService(b.ctx, b.kids.Name("app"), &ecs.ServiceArgs{
		Name:            pulumi.String(b.s.Known.ServiceName),
		Cluster:         cluster.Arn,
		TaskDefinition:  task.Arn,
		LaunchType:      pulumi.String("FARGATE"),
		PlatformVersion: pulumi.String("LATEST"),
		DesiredCount:    pulumi.Int(cfg.DesiredCount),
		NetworkConfiguration: &ecs.ServiceNetworkConfigurationArgs{
			Subnets:        b.args.PrivateSubnetIDs,
			SecurityGroups: pulumi.StringArray{b.args.TasksSecurityGroupID},
			AssignPublicIp: pulumi.Bool(false),
		},
		LoadBalancers: ecs.ServiceLoadBalancerArray{&ecs.ServiceLoadBalancerArgs{
			TargetGroupArn: b.s.TargetGroupArn, ContainerName: pulumi.String(ContainerName), ContainerPort: pulumi.Int(cfg.AppPort),
		}},
		DeploymentCircuitBreaker: &ecs.ServiceDeploymentCircuitBreakerArgs{Enable: pulumi.Bool(true), Rollback: pulumi.Bool(true)},
		// Beside the breaker (tasks that fail health), the deployment
		// gates (gates.go) fail a deployment whose tasks pass health but
		// hurt customers, and ECS rolls it back to the last completed one.
		// A deployment fails when an alarm moves to ALARM (ECS API
		// Reference, ServiceDeploymentAlarms); one already in ALARM when
		// the deployment starts does not fail it (AWS Copilot docs,
		// deployment rollback_alarms), so on-call's fix during an incident
		// is not rolled back by the incident's own alarm.
		Alarms: &ecs.ServiceAlarmsArgs{
			AlarmNames: pulumi.ToStringArray(b.gateNames),
			Enable:     pulumi.Bool(true), Rollback: pulumi.Bool(true),
		},
		DeploymentController:            &ecs.ServiceDeploymentControllerArgs{Type: pulumi.String("ECS")},
		DeploymentMinimumHealthyPercent: pulumi.Int(100),
		DeploymentMaximumPercent:        pulumi.Int(200),
		HealthCheckGracePeriodSeconds:   pulumi.Int(cfg.HealthCheckGracePeriod),
		AvailabilityZoneRebalancing:     pulumi.String("ENABLED"),
		EnableExecuteCommand:            pulumi.Bool(cfg.EnableExecuteCommand),
		PropagateTags:                   pulumi.String("SERVICE"),
		EnableEcsManagedTags:            pulumi.Bool(true),
		// pulumi up returns only once the deployment is stable (ECS's
		// services-stable waiter), so a crash-looping task fails the up
		// instead of being reported as deployed.
		WaitForSteadyState: pulumi.Bool(true),
	}, b.parent, pulumi.DependsOn(deps),
		// Autoscaling owns the running count after the first deploy; a
		// later pulumi up must not reset it to desiredCount.
		pulumi.IgnoreChanges([]string{"desiredCount"}))
	if err != nil {
		return fmt.Errorf("create service: %w", err)
	}
	// The service's ID is its ARN in AWS; building it from the names keeps
	// it exact and known in previews.
	// Steady state is also what a circuit-breaker rollback ends in: the
	// waiter reports success while the service runs the previous task
	// definition (hashicorp/terraform-provider-aws#20858, "Add support for
	// waiting until ECS service deployment is completed when using circuit
	// breakers"). The
	// program reads the service back after the wait and fails the up when
	// it does not run the task definition this up registered.
	running := ecs.LookupServiceOutput(b.ctx, ecs.LookupServiceOutputArgs{ClusterArn: cluster.Arn, ServiceName: svc.Name}, pulumi.Parent(b.s))
	b.s.DeployedTaskDefinition = pulumi.All(running.TaskDefinition(), task.Arn).ApplyT(func(v []any) (string, error) {
		return CheckDeployed(v[0].(string), v[1].(string))
	}).(pulumi.StringOutput)
	b.s.ServiceName = svc.Name
	b.s.ServiceArn = pulumi.Sprintf("arn:aws:ecs:%s:%s:service/%s/%s", region, b.args.AccountID, cluster.Name, svc.Name)
	return nil
}

// CheckDeployed returns the task definition the service runs, or an error
// when it is not the one the deployment registered: the circuit breaker
// rolled the deployment back (or another deployment replaced it).
func CheckDeployed(running, registered string) (string, error) {
	if running != registered {
		return "", fmt.Errorf("the ECS service runs task definition %s, not %s which this update registered: "+
			"the deployment was rolled back (deployment circuit breaker or alarms); see the service's events. "+
			"New tasks stay not ready until the schema they embed is current: if this release adds a migration, "+
			"run the migrate runbook (stack output %s) and `pulumi up` again (docs/deploy.md, section 3)", running, registered, MigrateRunbookOutput)
	}
	return running, nil
}

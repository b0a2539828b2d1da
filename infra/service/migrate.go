package service

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumix"

	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/paramtable"
)

// The schema step is a one-off ECS task of its own, never a container of
// the service's tasks: the master credential reaches only this task, which
// the deploy runs (the migrate runbook, infra/runbooks) before the service
// rolls out, and which calls no AWS API of its own.

// MigrateContainerName is the migrate task's only container.
const MigrateContainerName = "migrate"

// MigrateTimeout bounds the migrate step's retries while Aurora comes up.
const MigrateTimeout = "5m"

// MigrateAudit is the migrate step's DB_PGAUDIT: the cluster parameter
// group preloads pgaudit, so failing to create the extension is an error,
// not a reason to leave audit off (CONTRACT.md section 3).
const MigrateAudit = "require"

// Migrate task size: the smallest Fargate size (256 CPU units with 512
// MiB, a pair of Fargate's CPU and memory table, config.FargateSizeValid).
const (
	MigrateCPU    = 256
	MigrateMemory = 512
)

// MigrateRunbookOutput is the stack output holding the migrate runbook's
// ARN (infra/deploy.go exports it; docs/deploy.md runs it), and
// MigrateLogGroupOutput the one holding the migrate task's log group (the
// smoke test reads the step's last line there).
const (
	MigrateRunbookOutput  = "migrateStateMachineArn"
	MigrateLogGroupOutput = "migrateLogGroup"
)

// MigrateLogStreamPrefix is the migrate task's awslogs stream prefix: its
// streams are migrate/migrate/<task id>.
const MigrateLogStreamPrefix = "migrate"

// MigrateContainer is the migrate task's container (CONTRACT.md sections 3
// and 4): the service's image run as `/trading -migrate`, the only holder
// of the master secret, which sets up the roles and pgaudit, applies the
// schema as the owner role and exits. paramArns are paramtable.Rows' ARNs
// in order; the container reads the rows marked Migrate.
func MigrateContainer(region, image, logGroup, secretArn string, paramArns []string) ContainerDefinition {
	var secrets []Secret
	for i, p := range paramtable.Rows {
		if p.Migrate {
			secrets = append(secrets, Secret{Name: p.Env, ValueFrom: paramArns[i]})
		}
	}
	secrets = append(secrets,
		Secret{Name: "DB_MIGRATE_USERNAME", ValueFrom: secretArn + ":username::"},
		Secret{Name: "DB_MIGRATE_PASSWORD", ValueFrom: secretArn + ":password::"},
	)
	return ContainerDefinition{
		Name:    MigrateContainerName,
		Image:   image,
		Command: []string{BinaryPath, "-migrate"},
		// The task's only container: the task stops when it exits, and the
		// runbook reads its exit code.
		Essential:              true,
		User:                   RunAsUser,
		ReadonlyRootFilesystem: true,
		Environment: []KeyValue{
			{Name: "AWS_REGION", Value: region},
			{Name: "DB_USERNAME", Value: DBAppUser},
			{Name: "MIGRATE_TIMEOUT", Value: MigrateTimeout},
			{Name: "DB_PGAUDIT", Value: MigrateAudit},
		},
		Secrets: secrets,
		LinuxParameters: LinuxParameters{
			InitProcessEnabled: true,
			Capabilities:       Capabilities{Drop: []string{"ALL"}},
		},
		LogConfiguration: LogConfiguration{
			LogDriver: "awslogs",
			Options: map[string]string{
				"awslogs-group": logGroup, "awslogs-region": region, "awslogs-stream-prefix": MigrateLogStreamPrefix,
				// Blocking: the step's last line is the evidence the smoke
				// test reads (pgaudit), and a one-off job may wait for
				// CloudWatch Logs. A definition that names no mode gets the
				// account's defaultLogDriverMode (Amazon ECS Developer
				// Guide, "Amazon ECS account settings"), which may be
				// non-blocking: that mode drops lines when its buffer is
				// full (ECS API Reference, LogConfiguration).
				"mode": "blocking",
			},
		},
	}
}

// MigrateParameterArns are the ARNs of the parameters the migrate
// container reads (paramtable rows marked Migrate), in paramtable order.
func MigrateParameterArns(all []string) []string {
	var out []string
	for i, p := range paramtable.Rows {
		if p.Migrate {
			out = append(out, all[i])
		}
	}
	return out
}

// migrateTask creates the one-off migrate task: its log group, its
// execution role (the only role allowed the master secret), and its task
// definition. It has no task role: the step calls no AWS API (it reaches
// the database with the master password), so its containers get no AWS
// credentials at all. The deploy runs it in the private subnets with the
// migrate security group (the migrate runbook reads both from the
// parameter migrate/network); its HTTPS egress is securityGroupRules'.
func (b *builder) migrateTask() error {
	cfg := b.cfg
	region := b.args.Shared.Region
	names := b.args.Names
	group, err := cloudwatch.NewLogGroup(b.ctx, b.kids.Name("migrate-task-logs"), &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(b.s.MigrateLogGroupName),
		RetentionInDays: pulumi.Int(b.args.Shared.LogRetentionDays),
		KmsKeyId:        b.args.TelemetryKeyArn,
	}, b.parent)
	if err != nil {
		return fmt.Errorf("create migrate log group: %w", err)
	}

	trust, err := ecsTrust(b.args.AccountID, region).JSON()
	if err != nil {
		return err
	}
	var paramArns []string
	for _, row := range paramtable.Rows {
		paramArns = append(paramArns, fmt.Sprintf("arn:aws:ssm:%s:%s:parameter%s", region, b.args.AccountID, names.Parameter(row.Path)))
	}
	migrateParams := MigrateParameterArns(paramArns)
	// The secret's ARN (RDS chooses it), the log group and the repository
	// stay inside the apply; the data key is named by alias.
	policy := pulumix.Cast[pulumi.StringOutput](pulumix.Apply3Err[string, string, string](b.repoArn(), group.Arn, b.args.DBSecretArn.ToStringOutput(),
		func(repo, logGroup, secret string) (string, error) {
			return ExecutionPolicy(repo, logGroup, migrateParams, secret, b.args.DataKey).JSON()
		}))
	role, err := iam.NewRole(b.ctx, b.kids.Name("migrate-execution"), &iam.RoleArgs{
		Name:             pulumi.String(names.Name(naming.MigrateExecutionRole)),
		Description:      pulumi.String("ECS starts the one-off migrate task: image pull, logs, its parameters and the master secret"),
		AssumeRolePolicy: pulumi.String(trust),
	}, b.parent)
	if err != nil {
		return fmt.Errorf("create migrate execution role: %w", err)
	}
	rolePolicy, err := iam.NewRolePolicy(b.ctx, b.kids.Name("migrate-execution"), &iam.RolePolicyArgs{Role: role.Name, Policy: policy}, b.parent)
	if err != nil {
		return fmt.Errorf("attach migrate execution policy: %w", err)
	}

	parameterArns := pulumi.StringArray{}
	for _, p := range paramtable.Rows {
		parameterArns = append(parameterArns, b.args.ParameterArns[p.Path])
	}
	logGroup := b.s.MigrateLogGroupName
	defs := pulumix.Cast[pulumi.StringOutput](pulumix.Apply3Err[string, string, []string](
		b.s.Image, b.args.DBSecretArn.ToStringOutput(), parameterArns.ToStringArrayOutput(),
		func(image, secretArn string, arns []string) (string, error) {
			out, err := json.Marshal([]ContainerDefinition{MigrateContainer(region, image, logGroup, secretArn, arns)})
			if err != nil {
				return "", fmt.Errorf("marshal migrate container definition: %w", err)
			}
			return string(out), nil
		}))
	task, err := ecs.NewTaskDefinition(b.ctx, b.kids.Name("migrate"), &ecs.TaskDefinitionArgs{
		Family:                  pulumi.String(b.s.MigrateTaskFamily),
		RequiresCompatibilities: pulumi.ToStringArray([]string{"FARGATE"}),
		NetworkMode:             pulumi.String("awsvpc"),
		Cpu:                     pulumi.String(strconv.Itoa(MigrateCPU)),
		Memory:                  pulumi.String(strconv.Itoa(MigrateMemory)),
		RuntimePlatform: &ecs.TaskDefinitionRuntimePlatformArgs{
			CpuArchitecture: pulumi.String(cfg.CPUArchitecture), OperatingSystemFamily: pulumi.String("LINUX"),
		},
		ExecutionRoleArn:     role.Arn,
		ContainerDefinitions: defs,
		// The awslogs driver fails a task whose group does not exist, and
		// ECS needs the role's policy when the task starts: the definition
		// waits for both.
	}, b.parent, pulumi.DependsOn([]pulumi.Resource{group, rolePolicy}))
	if err != nil {
		return fmt.Errorf("create migrate task definition: %w", err)
	}
	b.s.MigrateTaskDefinitionArn, b.s.MigrateExecutionRoleArn = task.Arn, role.Arn
	return nil
}

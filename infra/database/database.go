// Package database owns the Aurora PostgreSQL 14 cluster: a DB subnet group
// over the isolated subnets of the three AZs, a cluster parameter group that
// forces TLS and logs slow queries and connections, one writer and readers
// pinned to distinct AZs with explicit promotion tiers, an RDS-managed master
// secret, Performance Insights and Enhanced Monitoring, the PostgreSQL log
// group, reader autoscaling, and the 5432 rules between the tasks' and the
// database's security groups.
package database

import (
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/appautoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	awsarn "github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/tags"
)

// Fixed settings of the cluster (the configurable ones live in config.Database).
const (
	// Engine is the RDS engine name.
	Engine = "aurora-postgresql"
	// ParameterFamily is the cluster parameter group family of Engine 14.
	ParameterFamily = "aurora-postgresql14"
	// paramGroupDescription describes the cluster parameter group; with
	// the family it keys the group's name.
	paramGroupDescription = "trading-ha Aurora PostgreSQL 14: TLS only, connection and slow-query logging"
	// Port is the PostgreSQL port; the security group rules open only it.
	Port = 5432
	// CACertIdentifier is the CA the instances' server certificates chain to.
	CACertIdentifier = "rds-ca-rsa2048-g1"
	// LogType is the log type exported to CloudWatch Logs.
	LogType = "postgresql"
	// MonitoringPolicyArn is the AWS managed policy Enhanced Monitoring needs.
	MonitoringPolicyArn = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
	// MonitoringPrincipal is the service that assumes the monitoring role.
	MonitoringPrincipal = "monitoring.rds.amazonaws.com"
	// ScalableDimension is the Application Auto Scaling dimension of Aurora readers.
	ScalableDimension = "rds:cluster:ReadReplicaCount"
	// ScalingMetric is the predefined metric the reader policy tracks.
	ScalingMetric = "RDSReaderAverageCPUUtilization"
	// ScaleCooldownSeconds spaces scaling actions; a new reader takes minutes
	// to become available, so shorter cooldowns would only overshoot.
	ScaleCooldownSeconds = 300
)

// Args configures the cluster.
type Args struct {
	Names naming.Namer
	// Shared are the stack-wide settings (region, zones, deletion protection, log retention).
	Shared config.Shared
	// Database is the database section of the stack config.
	Database  config.Database
	AccountID string
	// DataKeyArn encrypts storage, the master secret and Performance Insights.
	DataKeyArn pulumi.StringInput
	// TelemetryKeyArn encrypts the PostgreSQL log group.
	TelemetryKeyArn pulumi.StringInput
	// IsolatedSubnetIDs are the database subnets, one per AZ.
	IsolatedSubnetIDs pulumi.StringArrayInput
	// DBSecurityGroupID is the (rule-less) group of the cluster.
	DBSecurityGroupID pulumi.StringInput
	// TasksSecurityGroupID is the group of the service's tasks, one of the
	// two sources allowed to reach the cluster.
	TasksSecurityGroupID pulumi.StringInput
	// MigrateSecurityGroupID is the one-off migrate task's group, the other
	// source of 5432 (the schema step, as the master user); nil for none.
	MigrateSecurityGroupID pulumi.StringInput
}

// Cluster is the component and what monitoring, params and the service need.
type Cluster struct {
	pulumi.ResourceState

	// Identifier is the cluster identifier (known at program time).
	Identifier string
	// InstanceIdentifiers are the Pulumi-managed instances, writer first
	// (known at program time; autoscaled readers are not listed).
	InstanceIdentifiers []string
	// LogGroupName is the PostgreSQL log group.
	LogGroupName string
	// DatabaseName is the database created in the cluster.
	DatabaseName string
	// Port is the PostgreSQL port.
	Port int

	// Arn is the cluster ARN.
	Arn pulumi.StringOutput
	// ResourceID is the cluster resource ID (cluster-XXXX), used by IAM
	// database authentication and Performance Insights.
	ResourceID pulumi.StringOutput
	// WriterEndpoint is the cluster (writer) endpoint; it follows failover.
	WriterEndpoint pulumi.StringOutput
	// ReaderEndpoint load-balances across the readers.
	ReaderEndpoint pulumi.StringOutput
	// SecretArn is the RDS-managed master user secret.
	SecretArn pulumi.StringOutput
	// MonitoringRoleArn is the Enhanced Monitoring role.
	MonitoringRoleArn pulumi.StringOutput
	// SubnetGroupName is the DB subnet group (restores land in it).
	SubnetGroupName pulumi.StringOutput
}

// ClusterParameters are the cluster parameter group's settings: TLS forced
// (rds.force_ssl is dynamic, applied at once), connection and slow-query
// logging (dynamic), and a longer query text in pg_stat_activity for
// Performance Insights (track_activity_query_size is static: pending-reboot).
func ClusterParameters(slowQueryMs int) []rds.ClusterParameterGroupParameter {
	return []rds.ClusterParameterGroupParameter{
		{Name: "rds.force_ssl", Value: "1", ApplyMethod: pulumi.StringRef("immediate")},
		{Name: "log_connections", Value: "1", ApplyMethod: pulumi.StringRef("immediate")},
		{Name: "log_disconnections", Value: "1", ApplyMethod: pulumi.StringRef("immediate")},
		{Name: "log_min_duration_statement", Value: strconv.Itoa(slowQueryMs), ApplyMethod: pulumi.StringRef("immediate")},
		{Name: "log_lock_waits", Value: "1", ApplyMethod: pulumi.StringRef("immediate")},
		{Name: "track_activity_query_size", Value: "4096", ApplyMethod: pulumi.StringRef("pending-reboot")},
		// Database audit (pgaudit, Aurora User Guide "Using pgAudit to log
		// database activity"): the library is static (pending-reboot) and
		// still needs CREATE EXTENSION pgaudit in the database
		// (docs/database.md). DDL and ROLE catch schema and privilege
		// changes; WRITE is on for every table — the service writes only
		// orders and the outbox, the regulated record of who changed what
		// — and costs little since reads are not logged. The service binds
		// values ($1 ...), and log_parameter stays off, so bound values
		// (credentials, order contents) never reach the log; catalog
		// queries are not logged.
		{Name: "shared_preload_libraries", Value: "pg_stat_statements,pgaudit", ApplyMethod: pulumi.StringRef("pending-reboot")},
		{Name: "pgaudit.log", Value: "ddl,role,write", ApplyMethod: pulumi.StringRef("immediate")},
		{Name: "pgaudit.log_parameter", Value: "0", ApplyMethod: pulumi.StringRef("immediate")},
		{Name: "pgaudit.log_catalog", Value: "0", ApplyMethod: pulumi.StringRef("immediate")},
		{Name: "pgaudit.log_relation", Value: "1", ApplyMethod: pulumi.StringRef("immediate")},
	}
}

// New creates the cluster.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Cluster, error) {
	cfg := args.Database
	c := &Cluster{
		Identifier:   args.Names.Name(naming.AuroraCluster),
		LogGroupName: args.Names.RDSLogGroup(LogType),
		DatabaseName: cfg.Name,
		Port:         Port,
	}
	if err := ctx.RegisterComponentResource("trading:database:Cluster", name, c, opts...); err != nil {
		return nil, fmt.Errorf("register database component: %w", err)
	}
	parent := pulumi.Parent(c)
	// Children are named from the component (naming.ChildrenOf).
	kids := naming.ChildrenOf(name)

	if err := c.securityGroupRules(ctx, kids, args, parent); err != nil {
		return nil, err
	}

	subnets, err := rds.NewSubnetGroup(ctx, kids.Name("aurora"), &rds.SubnetGroupArgs{
		Name:        pulumi.String(args.Names.Name(naming.DBSubnetGroup)),
		Description: pulumi.String("isolated subnets of the three AZs for Aurora"),
		SubnetIds:   args.IsolatedSubnetIDs,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create db subnet group: %w", err)
	}

	params := rds.ClusterParameterGroupParameterArray{}
	for _, p := range ClusterParameters(cfg.SlowQueryMs) {
		params = append(params, rds.ClusterParameterGroupParameterArgs{
			Name: pulumi.String(p.Name), Value: pulumi.String(p.Value), ApplyMethod: pulumi.StringPtrFromPtr(p.ApplyMethod),
		})
	}
	paramGroup, err := rds.NewClusterParameterGroup(ctx, kids.Name("aurora"), &rds.ClusterParameterGroupArgs{
		// Keyed on family and description (naming.Replacements): a major
		// upgrade creates the new group under a new name before the old
		// one, still in use, is deleted.
		Name:        pulumi.String(args.Names.Keyed(naming.DBClusterParams, ParameterFamily, paramGroupDescription)),
		Family:      pulumi.String(ParameterFamily),
		Description: pulumi.String(paramGroupDescription),
		Parameters:  params,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create cluster parameter group: %w", err)
	}

	// Created before the cluster so RDS writes into our group (KMS,
	// retention) instead of creating an unmanaged one destroy would leave.
	logGroup, err := cloudwatch.NewLogGroup(ctx, kids.Name("aurora-postgresql"), &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(c.LogGroupName),
		RetentionInDays: pulumi.Int(args.Shared.LogRetentionDays),
		KmsKeyId:        args.TelemetryKeyArn,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create postgresql log group: %w", err)
	}

	monitoringRole, attachment, err := monitoring(ctx, kids, args, parent)
	if err != nil {
		return nil, err
	}
	c.MonitoringRoleArn = monitoringRole.Arn
	c.SubnetGroupName = subnets.Name

	exempt, err := protectionExemptions(args.Shared.DeletionProtection)
	if err != nil {
		return nil, err
	}
	keep := args.Shared.DeletionProtection
	cluster, err := rds.NewCluster(ctx, kids.Name("aurora"), &rds.ClusterArgs{
		Tags:                        exempt,
		ClusterIdentifier:           pulumi.String(c.Identifier),
		Engine:                      pulumi.String(Engine),
		EngineMode:                  pulumi.String("provisioned"),
		EngineVersion:               pulumi.String(cfg.EngineVersion),
		DatabaseName:                pulumi.String(cfg.Name),
		Port:                        pulumi.Int(Port),
		MasterUsername:              pulumi.String(cfg.MasterUsername),
		ManageMasterUserPassword:    pulumi.Bool(true),
		MasterUserSecretKmsKeyId:    args.DataKeyArn,
		StorageEncrypted:            pulumi.Bool(true),
		KmsKeyId:                    args.DataKeyArn,
		DbSubnetGroupName:           subnets.Name,
		VpcSecurityGroupIds:         pulumi.StringArray{args.DBSecurityGroupID},
		DbClusterParameterGroupName: paramGroup.Name,
		BackupRetentionPeriod:       pulumi.Int(cfg.BackupRetentionDays),
		PreferredBackupWindow:       pulumi.String(cfg.BackupWindow),
		PreferredMaintenanceWindow:  pulumi.String(cfg.MaintenanceWindow),
		CopyTagsToSnapshot:          pulumi.Bool(true),
		EnabledCloudwatchLogsExports: pulumi.StringArray{
			pulumi.String(LogType),
		},
		IamDatabaseAuthenticationEnabled: pulumi.Bool(true),
		DeletionProtection:               pulumi.Bool(args.Shared.DeletionProtection),
		// Protected stacks keep a final snapshot and the automated backups
		// when the cluster is deleted; throw-away stacks leave nothing.
		SkipFinalSnapshot:       pulumi.Bool(!keep),
		FinalSnapshotIdentifier: finalSnapshot(args.Names, keep),
		DeleteAutomatedBackups:  pulumi.Bool(!keep),
		ApplyImmediately:        pulumi.Bool(cfg.ApplyImmediately),
	}, parent, pulumi.DependsOn([]pulumi.Resource{logGroup}),
		// Auto minor version upgrade moves the cluster past the configured
		// minor; without this every later `pulumi up` would try (and fail)
		// to downgrade. dbEngineVersion is the create-time version.
		pulumi.IgnoreChanges([]string{"engineVersion"}))
	if err != nil {
		return nil, fmt.Errorf("create aurora cluster: %w", err)
	}
	c.Arn = cluster.Arn
	c.ResourceID = cluster.ClusterResourceId
	c.WriterEndpoint = cluster.Endpoint
	c.ReaderEndpoint = cluster.ReaderEndpoint
	c.SecretArn = cluster.MasterUserSecrets.Index(pulumi.Int(0)).SecretArn().Elem()

	instances := make([]pulumi.Resource, 0, 1+cfg.ReaderCount)
	azs := args.Shared.AvailabilityZones
	for i := 0; i <= cfg.ReaderCount; i++ {
		n := strconv.Itoa(i + 1)
		id := args.Names.Unique(naming.AuroraCluster, n)
		inst := &rds.ClusterInstanceArgs{
			Identifier:        pulumi.String(id),
			ClusterIdentifier: cluster.ID(),
			Engine:            pulumi.String(Engine),
			InstanceClass:     pulumi.String(cfg.InstanceClass),
			// Round-robin over the zones: with at most two readers every
			// instance has its own AZ, so an AZ loss costs one instance.
			AvailabilityZone: pulumi.String(azs[i%len(azs)]),
			// Tier 0 is the writer's intent; readers follow in order, so
			// failover picks -2 before -3, and both before autoscaled
			// readers (which Aurora gives tier 15).
			PromotionTier:                      pulumi.Int(i),
			PubliclyAccessible:                 pulumi.Bool(false),
			PerformanceInsightsEnabled:         pulumi.Bool(true),
			PerformanceInsightsKmsKeyId:        args.DataKeyArn,
			PerformanceInsightsRetentionPeriod: pulumi.Int(cfg.PerformanceInsightsRetentionDays),
			MonitoringInterval:                 pulumi.Int(cfg.MonitoringInterval),
			MonitoringRoleArn:                  monitoringRole.Arn,
			AutoMinorVersionUpgrade:            pulumi.Bool(true),
			CaCertIdentifier:                   pulumi.String(CACertIdentifier),
			ApplyImmediately:                   pulumi.Bool(cfg.ApplyImmediately),
		}
		if cfg.InstanceParameterGroup != "" {
			inst.DbParameterGroupName = pulumi.String(cfg.InstanceParameterGroup)
		}
		// Readers wait for -1 so -1 is the first instance and so the
		// writer; they are created in parallel with each other.
		deps := []pulumi.Resource{attachment}
		if len(instances) > 0 {
			deps = append(deps, instances[0])
		}
		// DeleteBeforeReplace (naming.Replacements): a new AZ replaces the
		// instance under its fixed identifier.
		key := "aurora-" + n
		r, err := rds.NewClusterInstance(ctx, kids.Name(key), inst, parent, pulumi.DependsOn(deps), pulumi.DeleteBeforeReplace(true))
		if err != nil {
			return nil, fmt.Errorf("create aurora instance %s: %w", id, err)
		}
		instances = append(instances, r)
		c.InstanceIdentifiers = append(c.InstanceIdentifiers, id)
	}

	if err := c.readerAutoscaling(ctx, kids, args.Names, cfg, instances, parent); err != nil {
		return nil, err
	}

	ids := pulumi.StringArray{}
	for _, id := range c.InstanceIdentifiers {
		ids = append(ids, pulumi.String(id))
	}
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"clusterIdentifier": pulumi.String(c.Identifier), "clusterArn": c.Arn, "clusterResourceId": c.ResourceID,
		"instanceIdentifiers": ids, "writerEndpoint": c.WriterEndpoint, "readerEndpoint": c.ReaderEndpoint,
		"port": pulumi.Int(Port), "secretArn": c.SecretArn, "logGroupName": pulumi.String(c.LogGroupName),
	}); err != nil {
		return nil, fmt.Errorf("register database outputs: %w", err)
	}
	return c, nil
}

// securityGroupRules opens 5432 to the database's group from the tasks'
// group and the migrate task's group (when given) and nothing else: no CIDR sources, no
// egress on the database group.
func (c *Cluster) securityGroupRules(ctx *pulumi.Context, kids naming.Children, args Args, parent pulumi.ResourceOption) error {
	type source struct {
		ingress, egress, from, to string
		group                     pulumi.StringInput
	}
	sources := []source{{"db-from-tasks", "tasks-to-db", "PostgreSQL from the trading service tasks", "PostgreSQL to the Aurora cluster", args.TasksSecurityGroupID}}
	if args.MigrateSecurityGroupID != nil {
		sources = append(sources, source{"db-from-migrate", "migrate-to-db", "PostgreSQL from the one-off migrate task", "PostgreSQL to the Aurora cluster", args.MigrateSecurityGroupID})
	}
	for _, src := range sources {
		if _, err := vpc.NewSecurityGroupIngressRule(ctx, kids.Name(src.ingress), &vpc.SecurityGroupIngressRuleArgs{
			SecurityGroupId:           args.DBSecurityGroupID,
			ReferencedSecurityGroupId: src.group,
			IpProtocol:                pulumi.String("tcp"),
			FromPort:                  pulumi.Int(Port),
			ToPort:                    pulumi.Int(Port),
			Description:               pulumi.String(src.from),
		}, parent); err != nil {
			return fmt.Errorf("create db ingress rule %s: %w", src.ingress, err)
		}
		if _, err := vpc.NewSecurityGroupEgressRule(ctx, kids.Name(src.egress), &vpc.SecurityGroupEgressRuleArgs{
			SecurityGroupId:           src.group,
			ReferencedSecurityGroupId: args.DBSecurityGroupID,
			IpProtocol:                pulumi.String("tcp"),
			FromPort:                  pulumi.Int(Port),
			ToPort:                    pulumi.Int(Port),
			Description:               pulumi.String(src.to),
		}, parent); err != nil {
			return fmt.Errorf("create egress rule %s: %w", src.egress, err)
		}
	}
	return nil
}

// monitoring creates the Enhanced Monitoring role: trusted by
// monitoring.rds.amazonaws.com from our account only, with the AWS managed
// policy (it writes to the RDSOSMetrics log group RDS owns).
func monitoring(ctx *pulumi.Context, kids naming.Children, args Args, parent pulumi.ResourceOption) (*iam.Role, pulumi.Resource, error) {
	// aws:SourceArn is the DB instance RDS monitors (Amazon RDS User Guide,
	// "Setting up and enabling Enhanced Monitoring", Protecting against the
	// confused deputy problem): every instance of the account in the
	// region, since Aurora Auto Scaling adds readers under names it picks.
	trust, err := iamdoc.AssumeRoleFrom(MonitoringPrincipal, args.AccountID, awsarn.In(args.Shared.Region, args.AccountID).DBInstance("*")).JSON()
	if err != nil {
		return nil, nil, fmt.Errorf("monitoring role trust policy: %w", err)
	}
	role, err := iam.NewRole(ctx, kids.Name("rds-monitoring"), &iam.RoleArgs{
		Name:             pulumi.String(args.Names.Name(naming.DBMonitoringRole)),
		AssumeRolePolicy: pulumi.String(trust),
		Description:      pulumi.String("RDS Enhanced Monitoring for the Aurora cluster"),
	}, parent)
	if err != nil {
		return nil, nil, fmt.Errorf("create monitoring role: %w", err)
	}
	attachment, err := iam.NewRolePolicyAttachment(ctx, kids.Name("rds-monitoring"), &iam.RolePolicyAttachmentArgs{
		Role:      role.Name,
		PolicyArn: pulumi.String(MonitoringPolicyArn),
	}, parent)
	if err != nil {
		return nil, nil, fmt.Errorf("attach monitoring policy: %w", err)
	}
	return role, attachment, nil
}

// readerAutoscaling registers the reader count with Application Auto Scaling
// (min = the Pulumi-managed readers, max from config) and tracks average
// reader CPU. Readers it adds are created by AWS, outside Pulumi: see
// docs/database.md before destroying.
func (c *Cluster) readerAutoscaling(ctx *pulumi.Context, kids naming.Children, names naming.Namer, cfg config.Database, instances []pulumi.Resource, parent pulumi.ResourceOption) error {
	resourceID := "cluster:" + c.Identifier
	target, err := appautoscaling.NewTarget(ctx, kids.Name("aurora-readers"), &appautoscaling.TargetArgs{
		ServiceNamespace:  pulumi.String("rds"),
		ScalableDimension: pulumi.String(ScalableDimension),
		ResourceId:        pulumi.String(resourceID),
		MinCapacity:       pulumi.Int(cfg.ReaderCount),
		MaxCapacity:       pulumi.Int(cfg.ReaderMaxCount),
	}, parent, pulumi.DependsOn(instances))
	if err != nil {
		return fmt.Errorf("register reader scaling target: %w", err)
	}
	if _, err := appautoscaling.NewPolicy(ctx, kids.Name("aurora-readers-cpu"), &appautoscaling.PolicyArgs{
		Name:              pulumi.String(names.Name(naming.DBReaderScalingPolicy)),
		PolicyType:        pulumi.String("TargetTrackingScaling"),
		ServiceNamespace:  target.ServiceNamespace,
		ScalableDimension: target.ScalableDimension,
		ResourceId:        target.ResourceId,
		TargetTrackingScalingPolicyConfiguration: &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs{
			TargetValue: pulumi.Float64(float64(cfg.ReaderCPUTarget)),
			PredefinedMetricSpecification: &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs{
				PredefinedMetricType: pulumi.String(ScalingMetric),
			},
			ScaleInCooldown:  pulumi.Int(ScaleCooldownSeconds),
			ScaleOutCooldown: pulumi.Int(ScaleCooldownSeconds),
			DisableScaleIn:   pulumi.Bool(false),
		},
	}, parent); err != nil {
		return fmt.Errorf("create reader scaling policy: %w", err)
	}
	return nil
}

// Writer is the instance created first at promotion tier 0: the intended
// writer (after a failover AWS may have promoted another).
func (c *Cluster) Writer() string {
	if len(c.InstanceIdentifiers) == 0 {
		return ""
	}
	return c.InstanceIdentifiers[0]
}

// Readers are the instances created as readers, in promotion-tier order.
func (c *Cluster) Readers() []string {
	if len(c.InstanceIdentifiers) < 2 {
		return nil
	}
	return c.InstanceIdentifiers[1:]
}

// protectionExemptions tags the cluster with the side of the
// deletionProtection switch it is on: unprotected stacks are exempt from
// RDS.7 (no deletion protection), protected ones from TH-DES-2 (a final
// snapshot is kept instead of skipped).
func protectionExemptions(protected bool) (pulumi.StringMap, error) {
	if protected {
		return tags.Exempt(tags.Exemption{Rule: "TH-DES-2",
			Reason: "deletionProtection is on: the cluster keeps a final snapshot and its automated backups on delete"})
	}
	return tags.Exempt(tags.Exemption{Rule: "RDS.7",
		Reason: "deletion protection follows config deletionProtection: off so the stack destroys cleanly"})
}

// finalSnapshot is the identifier of the snapshot RDS takes when a protected
// cluster is deleted; nil (no snapshot) for throw-away stacks.
func finalSnapshot(names naming.Namer, keep bool) pulumi.StringPtrInput {
	if !keep {
		return nil
	}
	return pulumi.String(names.Name(naming.AuroraFinalSnapshot))
}

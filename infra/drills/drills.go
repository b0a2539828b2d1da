// Package drills is the resilience component: AWS FIS experiment templates
// that take out one availability zone of the platform (stop the service's
// tasks there, fail the Aurora writer over, cut the zone's subnets off the
// network), the least-privileged role FIS runs them with, a KMS-encrypted
// log group for their logs, and an AWS Resilience Hub resiliency policy
// carrying the stack's RTO/RPO targets. Templates never run on deploy: an
// operator starts them on a game day (docs/gameday.md).
package drills

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/fis"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/resiliencehub"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumix"

	awsarn "github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/naming"
)

// The drill names: keys of Drills.TemplateIDs and of the fisTemplateIds export.
const (
	StopTasks      = "stop-tasks-az"
	AuroraFailover = "aurora-failover"
	DisruptNetwork = "disrupt-network-az"
)

// The FIS action and resource identifiers the templates use (FIS actions
// reference and targets reference).
const (
	ActionStopTask       = "aws:ecs:stop-task"
	ActionFailoverDB     = "aws:rds:failover-db-cluster"
	ActionDisruptNetwork = "aws:network:disrupt-connectivity"
	ResourceECSTask      = "aws:ecs:task"
	ResourceRDSCluster   = "aws:rds:cluster"
	ResourceSubnet       = "aws:ec2:subnet"
	// TaskAZFilterPath is the FIS target filter path selecting ECS tasks by
	// zone: the DescribeTasks field availabilityZone, in FIS's PascalCase.
	TaskAZFilterPath = "AvailabilityZone"
	// StopConditionAlarm is the stop-condition source for a CloudWatch alarm.
	StopConditionAlarm = "aws:cloudwatch:alarm"
	// LogSchemaVersion is FIS's current experiment log schema.
	LogSchemaVersion = 2
	// FISManagedTag is the tag FIS puts on the network ACL it creates for
	// aws:network:disrupt-connectivity (AWSFaultInjectionSimulatorNetworkAccess
	// conditions on it); the role may only create and delete ACLs so tagged.
	FISManagedTag = "managedByFIS"
)

// AZRPO is the recovery point the resiliency policy asks for an AZ or
// hardware failure. The platform promises no committed data lost (Aurora's
// six-way quorum storage, DynamoDB and S3 multi-AZ), but Resilience Hub
// documents that an RPO of 0 always assesses as "Policy breached" (its
// estimates are near zero, never zero), so the policy asks for the smallest
// value an assessment can meet: one second.
const AZRPO = time.Second

// Args are what the drills need from the rest of the stack. Names and ARNs
// of the service, database and monitoring components arrive as inputs so
// this component never imports them.
type Args struct {
	Names naming.Namer
	// Shared are the stack-wide settings (region, zones, deletion protection, log retention).
	Shared config.Shared
	// Drills is the drills section: the AZ and disruption of the drill.
	Drills config.Drills
	// Stack, RTO and RPO describe the resilience policy (the stack's
	// name and recovery budgets).
	Stack     string
	RTO, RPO  time.Duration
	AccountID string
	// TelemetryKeyArn encrypts the experiment log group.
	TelemetryKeyArn pulumi.StringInput
	// VPCID and the three subnet lists (index i is AZ i of
	// Config.AvailabilityZones) come from the network component.
	VPCID             pulumi.StringInput
	PublicSubnetIDs   pulumi.StringArrayInput
	PrivateSubnetIDs  pulumi.StringArrayInput
	IsolatedSubnetIDs pulumi.StringArrayInput
	// ECSClusterName, ECSClusterArn and ECSServiceName identify the trading
	// service's tasks.
	ECSClusterName pulumi.StringInput
	ECSClusterArn  pulumi.StringInput
	ECSServiceName pulumi.StringInput
	// AuroraClusterArn is the cluster the failover drill fails over.
	AuroraClusterArn pulumi.StringInput
	// CompositeAlarmArn is the stop condition of every drill: when the
	// platform is degraded beyond what the drill should cause, FIS stops.
	CompositeAlarmArn pulumi.StringInput
}

// Drills is the component.
type Drills struct {
	pulumi.ResourceState

	// TemplateIDs maps each drill name to its experiment template ID.
	TemplateIDs pulumi.StringMapOutput
	// ResiliencyPolicyArn is the Resilience Hub policy's ARN.
	ResiliencyPolicyArn pulumi.StringOutput
	// RoleArn is the role FIS runs the experiments with.
	RoleArn pulumi.StringOutput
	// LogGroupArn is the experiments' log group.
	LogGroupArn pulumi.StringOutput
}

// New creates the experiment templates, their role and log group, and the
// resiliency policy.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Drills, error) {
	d := &Drills{}
	if err := ctx.RegisterComponentResource("trading:drills:Drills", name, d, opts...); err != nil {
		return nil, fmt.Errorf("register drills component: %w", err)
	}
	parent := pulumi.Parent(d)
	// Children are named from the component (naming.ChildrenOf).
	kids := naming.ChildrenOf(name)
	cfg := args.Drills
	az := cfg.AvailabilityZone

	subnetArns := pulumix.Cast[pulumi.StringArrayOutput](pulumix.Apply3Err[[]string, []string, []string](
		args.PublicSubnetIDs.ToStringArrayOutput(), args.PrivateSubnetIDs.ToStringArrayOutput(), args.IsolatedSubnetIDs.ToStringArrayOutput(),
		func(public, private, isolated []string) ([]string, error) {
			return zoneSubnetArns(args.AccountID, cfg.AZIndex, [][]string{public, private, isolated})
		}))

	group, err := cloudwatch.NewLogGroup(ctx, kids.Name("fis"), &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(args.Names.Name(naming.FISLogGroup)),
		RetentionInDays: pulumi.Int(args.Shared.LogRetentionDays),
		KmsKeyId:        args.TelemetryKeyArn,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create FIS log group: %w", err)
	}
	d.LogGroupArn = group.Arn

	role, err := newRole(ctx, kids, args, subnetArns, parent)
	if err != nil {
		return nil, err
	}
	d.RoleArn = role.Arn

	stop := fis.ExperimentTemplateStopConditionArray{&fis.ExperimentTemplateStopConditionArgs{
		Source: pulumi.String(StopConditionAlarm), Value: args.CompositeAlarmArn,
	}}
	logs := &fis.ExperimentTemplateLogConfigurationArgs{
		LogSchemaVersion: pulumi.Int(LogSchemaVersion),
		CloudwatchLogsConfiguration: &fis.ExperimentTemplateLogConfigurationCloudwatchLogsConfigurationArgs{
			// FIS takes the log group ARN in its ":*" form.
			LogGroupArn: pulumi.Sprintf("%s:*", group.Arn),
		},
	}

	templates := []struct {
		drill, description string
		kind               naming.Kind
		action             fis.ExperimentTemplateActionArgs
		target             fis.ExperimentTemplateTargetArgs
	}{
		{
			drill: StopTasks, kind: naming.FISStopTasks,
			description: fmt.Sprintf("Stop every trading-service task in %s (AZ loss, app tier)", az),
			action: fis.ExperimentTemplateActionArgs{
				Name: pulumi.String("stop-tasks"), ActionId: pulumi.String(ActionStopTask),
				Target: &fis.ExperimentTemplateActionTargetArgs{Key: pulumi.String("Tasks"), Value: pulumi.String("tasks-in-zone")},
			},
			target: fis.ExperimentTemplateTargetArgs{
				Name: pulumi.String("tasks-in-zone"), ResourceType: pulumi.String(ResourceECSTask), SelectionMode: pulumi.String("ALL"),
				Parameters: pulumi.StringMap{"cluster": args.ECSClusterName, "service": args.ECSServiceName},
				Filters: fis.ExperimentTemplateTargetFilterArray{&fis.ExperimentTemplateTargetFilterArgs{
					Path: pulumi.String(TaskAZFilterPath), Values: pulumi.StringArray{pulumi.String(az)},
				}},
			},
		},
		{
			drill: AuroraFailover, kind: naming.FISFailover,
			description: "Fail the Aurora cluster over to a reader in another AZ (writer loss, data tier)",
			action: fis.ExperimentTemplateActionArgs{
				Name: pulumi.String("failover"), ActionId: pulumi.String(ActionFailoverDB),
				Target: &fis.ExperimentTemplateActionTargetArgs{Key: pulumi.String("Clusters"), Value: pulumi.String("aurora")},
			},
			target: fis.ExperimentTemplateTargetArgs{
				Name: pulumi.String("aurora"), ResourceType: pulumi.String(ResourceRDSCluster), SelectionMode: pulumi.String("ALL"),
				ResourceArns: pulumi.StringArray{args.AuroraClusterArn},
			},
		},
		{
			drill: DisruptNetwork, kind: naming.FISDisruptZone,
			description: fmt.Sprintf("Cut %s's public, private and isolated subnets off all traffic for %s (AZ loss, network)", az, cfg.DisruptionDuration),
			action: fis.ExperimentTemplateActionArgs{
				Name: pulumi.String("disrupt"), ActionId: pulumi.String(ActionDisruptNetwork),
				Parameters: fis.ExperimentTemplateActionParameterArray{
					&fis.ExperimentTemplateActionParameterArgs{Key: pulumi.String("duration"), Value: pulumi.String(ISODuration(cfg.DisruptionDuration))},
					&fis.ExperimentTemplateActionParameterArgs{Key: pulumi.String("scope"), Value: pulumi.String("all")},
				},
				Target: &fis.ExperimentTemplateActionTargetArgs{Key: pulumi.String("Subnets"), Value: pulumi.String("zone-subnets")},
			},
			target: fis.ExperimentTemplateTargetArgs{
				Name: pulumi.String("zone-subnets"), ResourceType: pulumi.String(ResourceSubnet), SelectionMode: pulumi.String("ALL"),
				ResourceArns: subnetArns,
			},
		},
	}
	ids := pulumi.StringMap{}
	for _, t := range templates {
		action, target := t.action, t.target
		tmpl, err := fis.NewExperimentTemplate(ctx, kids.Name(t.drill), &fis.ExperimentTemplateArgs{
			Description:      pulumi.String(t.description),
			RoleArn:          role.Arn,
			Actions:          fis.ExperimentTemplateActionArray{&action},
			Targets:          fis.ExperimentTemplateTargetArray{&target},
			StopConditions:   stop,
			LogConfiguration: logs,
			Tags:             pulumi.StringMap{"Name": pulumi.String(args.Names.Name(t.kind))},
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("create FIS experiment template %s: %w", t.drill, err)
		}
		ids[t.drill] = tmpl.ID().ToStringOutput()
	}
	d.TemplateIDs = ids.ToStringMapOutput()

	policy, err := resiliencehub.NewResiliencyPolicy(ctx, kids.Name("resiliency"), &resiliencehub.ResiliencyPolicyArgs{
		Name:        pulumi.String(args.Names.Name(naming.ResiliencyPolicy)),
		Description: pulumi.String(fmt.Sprintf("trading-ha %s: RTO %s, RPO %s (logical corruption), no data lost to an AZ loss; single region", args.Stack, args.RTO, args.RPO)),
		Tier:        pulumi.String(cfg.ResiliencyTier),
		Policy:      Targets(args.RTO, args.RPO),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create resiliency policy: %w", err)
	}
	d.ResiliencyPolicyArn = policy.Arn

	if err := ctx.RegisterResourceOutputs(d, pulumi.Map{
		"templateIds": d.TemplateIDs, "resiliencyPolicyArn": d.ResiliencyPolicyArn,
		"roleArn": d.RoleArn, "logGroupArn": d.LogGroupArn,
	}); err != nil {
		return nil, fmt.Errorf("register drills outputs: %w", err)
	}
	return d, nil
}

// Targets is the resiliency policy's RTO/RPO per disruption type. AZ and
// hardware failures must lose nothing (AZRPO); software failures (a bad
// deployment, a logical corruption) may lose up to rpo, restored by PITR.
// Region is left out: the platform is single-region by design, so a region
// failure is out of scope and Resilience Hub makes the region policy optional.
func Targets(rto, rpo time.Duration) *resiliencehub.ResiliencyPolicyPolicyArgs {
	return &resiliencehub.ResiliencyPolicyPolicyArgs{
		Az:       &resiliencehub.ResiliencyPolicyPolicyAzArgs{Rto: seconds(rto), Rpo: seconds(AZRPO)},
		Hardware: &resiliencehub.ResiliencyPolicyPolicyHardwareArgs{Rto: seconds(rto), Rpo: seconds(AZRPO)},
		Software: &resiliencehub.ResiliencyPolicyPolicySoftwareArgs{Rto: seconds(rto), Rpo: seconds(rpo)},
	}
}

// seconds renders a duration the way the provider takes it (a Go duration
// string) in whole seconds, the unit Resilience Hub stores.
func seconds(d time.Duration) pulumi.String {
	return pulumi.String(fmt.Sprintf("%ds", int64(d/time.Second)))
}

// ISODuration renders a whole-second duration as ISO 8601 ("PT5M",
// "PT1M30S"), the form FIS action durations take.
func ISODuration(d time.Duration) string {
	s := int64(d / time.Second)
	out := "PT"
	if h := s / 3600; h > 0 {
		out += fmt.Sprintf("%dH", h)
	}
	if m := s % 3600 / 60; m > 0 {
		out += fmt.Sprintf("%dM", m)
	}
	if sec := s % 60; sec > 0 || out == "PT" {
		out += fmt.Sprintf("%dS", sec)
	}
	return out
}

// SubnetArn is the ARN of a subnet of our account in the stack's region.
func SubnetArn(accountID, subnetID string) string {
	return fmt.Sprintf("arn:aws:ec2:%s:%s:subnet/%s", config.Region, accountID, subnetID)
}

// zoneSubnetArns picks AZ index i out of each tier's subnet list.
func zoneSubnetArns(accountID string, i int, tiers [][]string) ([]string, error) {
	names := []string{"public", "private", "isolated"}
	out := make([]string, 0, len(tiers))
	for t, ids := range tiers {
		if i < 0 || i >= len(ids) {
			return nil, fmt.Errorf("drills: the %s subnets (%v) have no entry for AZ index %d", names[t], ids, i)
		}
		out = append(out, SubnetArn(accountID, ids[i]))
	}
	return out, nil
}

// newRole creates the role FIS assumes, scoped to this stack's cluster,
// service tasks, Aurora cluster, VPC and drill-zone subnets.
func newRole(ctx *pulumi.Context, kids naming.Children, args Args, subnetArns pulumi.StringArrayOutput, parent pulumi.ResourceOption) (*iam.Role, error) {
	// aws:SourceArn is the experiment, whose ID AWS assigns when it starts:
	// every experiment of the account in the region (AWS FIS User Guide,
	// "IAM roles for AWS FIS experiments": aws:SourceAccount and
	// aws:SourceArn arn:aws:fis:<region>:<account>:experiment/*).
	trust, err := iamdoc.AssumeRoleFrom("fis.amazonaws.com", args.AccountID, awsarn.In(config.Region, args.AccountID).Experiments()).JSON()
	if err != nil {
		return nil, err
	}
	role, err := iam.NewRole(ctx, kids.Name("fis"), &iam.RoleArgs{
		Name:             pulumi.String(args.Names.Name(naming.FISRole)),
		Description:      pulumi.String("AWS FIS runs the trading-ha game-day drills with this role"),
		AssumeRolePolicy: pulumi.String(trust),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create FIS role: %w", err)
	}
	policy := pulumix.Cast[pulumi.StringOutput](pulumix.Apply5Err[string, string, string, string, []string](
		args.ECSClusterArn.ToStringOutput(), args.ECSClusterName.ToStringOutput(), args.AuroraClusterArn.ToStringOutput(),
		args.VPCID.ToStringOutput(), subnetArns,
		func(clusterArn, clusterName, auroraArn, vpcID string, subnets []string) (string, error) {
			return RolePolicy(args.AccountID, clusterArn, clusterName, auroraArn, vpcID, subnets).JSON()
		}))
	if _, err := iam.NewRolePolicy(ctx, kids.Name("fis"), &iam.RolePolicyArgs{Role: role.Name, Policy: policy}, parent); err != nil {
		return nil, fmt.Errorf("attach FIS role policy: %w", err)
	}
	return role, nil
}

// RolePolicy is the FIS role's permissions: what aws:ecs:stop-task,
// aws:rds:failover-db-cluster and aws:network:disrupt-connectivity (scope
// all) call, per the FIS actions reference and the AWS managed policies
// AWSFaultInjectionSimulatorECSAccess, AWSFaultInjectionSimulatorRDSAccess
// and AWSFaultInjectionSimulatorNetworkAccess, narrowed to our resources,
// plus log delivery to the experiment log group.
func RolePolicy(accountID, clusterArn, clusterName, auroraArn, vpcID string, subnetArns []string) iamdoc.Document {
	region := config.Region
	ec2Arn := func(res string) string { return fmt.Sprintf("arn:aws:ec2:%s:%s:%s", region, accountID, res) }
	networkACLs := ec2Arn("network-acl/*")
	vpcArn := ec2Arn("vpc/" + vpcID)
	managed := map[string]any{FISManagedTag: "true"}
	withTag := func(prefix string) map[string]any {
		out := map[string]any{}
		for k, v := range managed {
			out[prefix+k] = v
		}
		return out
	}
	sorted := append([]string(nil), subnetArns...)
	sort.Strings(sorted)

	return iamdoc.New(
		// Task ARNs of our cluster only: arn:...:task/<cluster>/<id>.
		iamdoc.Allow("StopServiceTasks", []string{"ecs:StopTask", "ecs:DescribeTasks"},
			[]string{taskArns(clusterArn, clusterName)}),
		// ListTasks authorizes on container instances, not tasks, and only
		// "*" applies to Fargate tasks; the ecs:cluster condition keeps it to
		// our cluster (Service Authorization Reference, Amazon ECS).
		iamdoc.Statement{Sid: "ListServiceTasks", Effect: "Allow", Action: []string{"ecs:ListTasks"}, Resource: []string{"*"},
			Condition: map[string]map[string]any{"ArnEquals": {"ecs:cluster": clusterArn}}},
		iamdoc.Allow("FailoverAurora", []string{"rds:FailoverDBCluster", "rds:DescribeDBClusters"}, []string{auroraArn}),
		// disrupt-connectivity (scope all): FIS creates a network ACL tagged
		// managedByFIS=true in the subnets' VPC, adds deny-all entries, swaps
		// the subnets' ACL association to it and back, then deletes it.
		iamdoc.Statement{Sid: "CreateFISNetworkAcl", Effect: "Allow", Action: []string{"ec2:CreateNetworkAcl"},
			Resource: []string{networkACLs}, Condition: map[string]map[string]any{"StringEquals": withTag("aws:RequestTag/")}},
		iamdoc.Allow("CreateNetworkAclInOurVpc", []string{"ec2:CreateNetworkAcl"}, []string{vpcArn}),
		iamdoc.Statement{Sid: "TagFISNetworkAcl", Effect: "Allow", Action: []string{"ec2:CreateTags"}, Resource: []string{networkACLs},
			Condition: map[string]map[string]any{"StringEquals": func() map[string]any {
				m := withTag("aws:RequestTag/")
				m["ec2:CreateAction"] = "CreateNetworkAcl"
				return m
			}()}},
		iamdoc.Statement{Sid: "ManageFISNetworkAcl", Effect: "Allow", Action: []string{"ec2:CreateNetworkAclEntry", "ec2:DeleteNetworkAcl"},
			Resource: []string{networkACLs}, Condition: map[string]map[string]any{"StringEquals": withTag("ec2:ResourceTag/")}},
		// The association swap names the subnet and both ACLs (FIS's and the
		// VPC's original); ACL IDs are not known before the drill runs, so
		// ACLs are scoped to our account and region, subnets to the drill AZ's.
		iamdoc.Allow("SwapDrillZoneSubnetAcls", []string{"ec2:ReplaceNetworkAclAssociation"}, append(sorted, networkACLs)),
		// EC2 Describe* calls accept only "*" (Service Authorization
		// Reference, Amazon EC2: no resource types for these actions).
		iamdoc.Allow("DescribeNetwork", []string{"ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeNetworkAcls", "ec2:DescribeManagedPrefixLists"}, []string{"*"}),
		// Vended log delivery to CloudWatch Logs: these logs actions have no
		// resource-level permissions (FIS user guide, experiment logging).
		iamdoc.Allow("DeliverExperimentLogs", []string{"logs:CreateLogDelivery", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"}, []string{"*"}),
	)
}

// taskArns turns arn:aws:ecs:<region>:<acct>:cluster/<name> into the
// pattern of its tasks, arn:aws:ecs:<region>:<acct>:task/<name>/*.
func taskArns(clusterArn, clusterName string) string {
	prefix := strings.TrimSuffix(clusterArn, "cluster/"+clusterName)
	return prefix + "task/" + clusterName + "/*"
}

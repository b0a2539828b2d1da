// Package network builds the VPC with awsx: public, private (application)
// and isolated (database) subnets in each of three AZs, NAT per AZ, flow logs
// to a KMS-encrypted log group, S3 and DynamoDB gateway endpoints, a
// default security group stripped of every rule and, when privateEgress is
// endpoints, the interface endpoints of closed egress (endpoints.go).
package network

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	ec2x "github.com/pulumi/pulumi-awsx/sdk/v2/go/awsx/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	awsarn "github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/naming"
)

// Args configures the network.
type Args struct {
	Names naming.Namer
	// Shared are the stack-wide settings (region, zones, deletion protection, log retention).
	Shared config.Shared
	// Network is the network section: CIDR, NAT, flow logs, private egress.
	Network config.Network
	// ExecuteCommand adds the ssmmessages endpoint ECS Exec needs when
	// egress is closed (the service section's enableExecuteCommand).
	ExecuteCommand  bool
	AccountID       string
	TelemetryKeyArn pulumi.StringInput
	// Providers go to the awsx VPC, a remote component, which inherits no
	// provider from its parent (the SDK sends a remote component only the
	// providers given to it explicitly); it gets them and nothing else of
	// the component's options.
	Providers []pulumi.ProviderResource
}

// Network is the component and the IDs later tiers need.
type Network struct {
	pulumi.ResourceState

	VPCID             pulumi.StringOutput
	VPCCIDR           string
	PublicSubnetIDs   pulumi.StringArrayOutput
	PrivateSubnetIDs  pulumi.StringArrayOutput
	IsolatedSubnetIDs pulumi.StringArrayOutput
	// S3PrefixListID lets security groups allow HTTPS to S3 via the gateway endpoint.
	S3PrefixListID pulumi.StringOutput
	// DynamoDBPrefixListID lets security groups allow HTTPS to DynamoDB.
	DynamoDBPrefixListID pulumi.StringOutput
	// ALBSecurityGroupID, TasksSecurityGroupID and DBSecurityGroupID are the
	// three tiers' security groups. They are created here without rules so
	// no tier depends on another to exist; the service and database
	// components add the rules between them as separate resources.
	ALBSecurityGroupID   pulumi.StringOutput
	TasksSecurityGroupID pulumi.StringOutput
	DBSecurityGroupID    pulumi.StringOutput
	// MigrateSecurityGroupID is the one-off migrate task's group: it
	// accepts nothing, and the database and service components add its
	// egress (PostgreSQL to the database, HTTPS to AWS APIs).
	MigrateSecurityGroupID pulumi.StringOutput
	// EndpointSecurityGroupID is the interface endpoints' group; unset
	// (nil) when privateEgress is nat.
	EndpointSecurityGroupID pulumi.StringOutput
}

// SubnetMasks returns the public, private and isolated subnet prefix lengths
// for a VPC of the given prefix length: application subnets get the most room.
func SubnetMasks(vpcBits int) (public, private, isolated int) {
	return vpcBits + 6, vpcBits + 4, vpcBits + 6
}

// New creates the network.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Network, error) {
	n := &Network{VPCCIDR: args.Network.CIDR.String()}
	if err := ctx.RegisterComponentResource("trading:network:Network", name, n, opts...); err != nil {
		return nil, fmt.Errorf("register network component: %w", err)
	}
	parent := pulumi.Parent(n)
	// Children are named from the component (naming.ChildrenOf).
	kids := naming.ChildrenOf(name)
	cfg := args.Network
	pub, priv, iso := SubnetMasks(cfg.CIDR.Bits())

	strategy := ec2x.NatGatewayStrategyOnePerAz
	switch {
	case cfg.ClosedEgress():
		// Closed egress: nothing in the private subnets may reach the
		// internet, so there is no NAT gateway and awsx creates no default
		// route for the private route tables (awsx ec2.Vpc: strategy None
		// is valid with private subnets and skips their 0.0.0.0/0 route).
		strategy = ec2x.NatGatewayStrategyNone
	case cfg.NATGateways == "Single":
		strategy = ec2x.NatGatewayStrategySingle
	}
	auto := ec2x.SubnetAllocationStrategyAuto
	// The awsx VPC keeps the bare name "vpc", not kids.Name("vpc"): awsx
	// names every child it creates (subnets, route tables, NAT gateways,
	// EIPs, the internet gateway) from the VPC's name ("vpc-public-1").
	// Those children are made by the awsx provider, not this program: we
	// cannot give them aliases, and whether an alias on the VPC reaches
	// them (the Go SDK's inheritedChildAlias, sdk/go/pulumi/alias.go, works
	// only for children registered in this process) nothing here can
	// prove, so a renamed VPC would risk replacing the whole network. One
	// network per stack is the consequence.
	vpc, err := ec2x.NewVpc(ctx, "vpc", &ec2x.VpcArgs{
		CidrBlock:             pulumi.StringRef(n.VPCCIDR),
		AvailabilityZoneNames: args.Shared.AvailabilityZones,
		EnableDnsHostnames:    pulumi.Bool(true),
		EnableDnsSupport:      pulumi.Bool(true),
		SubnetStrategy:        &auto,
		NatGateways:           &ec2x.NatGatewayConfigurationArgs{Strategy: strategy},
		SubnetSpecs: []ec2x.SubnetSpecArgs{
			{Type: ec2x.SubnetTypePublic, Name: pulumi.StringRef("public"), CidrMask: pulumi.IntRef(pub)},
			{Type: ec2x.SubnetTypePrivate, Name: pulumi.StringRef("private"), CidrMask: pulumi.IntRef(priv)},
			{Type: ec2x.SubnetTypeIsolated, Name: pulumi.StringRef("isolated"), CidrMask: pulumi.IntRef(iso)},
		},
		Tags: pulumi.StringMap{"Name": pulumi.String(args.Names.Name(naming.VPC))},
	}, parent, pulumi.Providers(args.Providers...))
	if err != nil {
		return nil, fmt.Errorf("create vpc: %w", err)
	}
	n.VPCID = vpc.VpcId
	n.PublicSubnetIDs = vpc.PublicSubnetIds
	n.PrivateSubnetIDs = vpc.PrivateSubnetIds
	n.IsolatedSubnetIDs = vpc.IsolatedSubnetIds

	// The default security group allows all traffic between its members;
	// adopting it with no rules strips them (CIS 5.4, FSBP EC2.2).
	if _, err := ec2.NewDefaultSecurityGroup(ctx, kids.Name("default-sg"), &ec2.DefaultSecurityGroupArgs{
		VpcId: vpc.VpcId,
	}, parent); err != nil {
		return nil, fmt.Errorf("strip default security group: %w", err)
	}

	// Keys stay sg-<tier> (kids.Keep: the URNs of existing stacks); physical
	// names are secgroup-<tier>-<suffix>: EC2 refuses names starting with
	// sg- (naming.SecurityGroupALB cites the rule).
	for _, sg := range []struct {
		logical string
		kind    naming.Kind
		desc    string
		id      *pulumi.StringOutput
	}{
		{"sg-alb", naming.SecurityGroupALB, "internet-facing application load balancer", &n.ALBSecurityGroupID},
		{"sg-tasks", naming.SecurityGroupTasks, "trading service tasks", &n.TasksSecurityGroupID},
		{"sg-db", naming.SecurityGroupDB, "Aurora PostgreSQL cluster", &n.DBSecurityGroupID},
		{"sg-migrate", naming.SecurityGroupMigrate, "one-off schema migrate task", &n.MigrateSecurityGroupID},
	} {
		group, err := ec2.NewSecurityGroup(ctx, kids.Name(sg.logical), &ec2.SecurityGroupArgs{
			// namePrefix: a replacement (new description or VPC) must not
			// collide with the group it replaces (naming.Replacements).
			NamePrefix:          pulumi.String(args.Names.Prefix(sg.kind)),
			Description:         pulumi.String(sg.desc),
			VpcId:               vpc.VpcId,
			RevokeRulesOnDelete: pulumi.Bool(true),
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("create %s security group: %w", sg.kind.Type, err)
		}
		*sg.id = group.ID().ToStringOutput()
	}

	if err := n.flowLogs(ctx, kids, args, vpc.VpcId, parent); err != nil {
		return nil, err
	}
	if err := n.gatewayEndpoints(ctx, kids, vpc.VpcId, routeTableIDs(vpc), parent); err != nil {
		return nil, err
	}
	if err := n.interfaceEndpoints(ctx, kids, args, vpc.VpcId, parent); err != nil {
		return nil, err
	}

	if err := ctx.RegisterResourceOutputs(n, pulumi.Map{
		"vpcId": n.VPCID, "publicSubnetIds": n.PublicSubnetIDs,
		"privateSubnetIds": n.PrivateSubnetIDs, "isolatedSubnetIds": n.IsolatedSubnetIDs,
		"albSecurityGroupId": n.ALBSecurityGroupID, "tasksSecurityGroupId": n.TasksSecurityGroupID,
		"dbSecurityGroupId": n.DBSecurityGroupID, "migrateSecurityGroupId": n.MigrateSecurityGroupID,
	}); err != nil {
		return nil, fmt.Errorf("register network outputs: %w", err)
	}
	return n, nil
}

func (n *Network) flowLogs(ctx *pulumi.Context, kids naming.Children, args Args, vpcID pulumi.StringOutput, parent pulumi.ResourceOption) error {
	group, err := cloudwatch.NewLogGroup(ctx, kids.Name("flow-logs"), &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(args.Names.Name(naming.FlowLogGroup)),
		RetentionInDays: pulumi.Int(args.Shared.LogRetentionDays),
		KmsKeyId:        args.TelemetryKeyArn,
	}, parent)
	if err != nil {
		return fmt.Errorf("create flow log group: %w", err)
	}
	// aws:SourceArn is the flow log, whose ID AWS assigns at create: every
	// flow log of the account in the region (Amazon VPC User Guide, "IAM
	// role for publishing flow logs to CloudWatch Logs": "If you don't know
	// the flow log ID, you can replace that portion of the ARN with a
	// wildcard").
	trust, err := iamdoc.AssumeRoleFrom("vpc-flow-logs.amazonaws.com", args.AccountID, awsarn.In(args.Shared.Region, args.AccountID).FlowLogs()).JSON()
	if err != nil {
		return err
	}
	role, err := iam.NewRole(ctx, kids.Name("flow-logs"), &iam.RoleArgs{
		Name:             pulumi.String(args.Names.Name(naming.FlowLogRole)),
		AssumeRolePolicy: pulumi.String(trust),
	}, parent)
	if err != nil {
		return fmt.Errorf("create flow log role: %w", err)
	}
	// Name-derived ARN (infra/arn): a plain string at preview. IAM does
	// not check that a policy's resources exist.
	arn := awsarn.In(args.Shared.Region, args.AccountID).LogGroup(args.Names.Name(naming.FlowLogGroup))
	policy, err := iamdoc.New(iamdoc.Allow("WriteFlowLogs",
		[]string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"},
		[]string{arn, arn + ":*"})).JSON()
	if err != nil {
		return fmt.Errorf("flow log policy: %w", err)
	}
	if _, err := iam.NewRolePolicy(ctx, kids.Name("flow-logs"), &iam.RolePolicyArgs{
		Role: role.Name, Policy: pulumi.String(policy),
	}, parent); err != nil {
		return fmt.Errorf("attach flow log policy: %w", err)
	}
	if _, err := ec2.NewFlowLog(ctx, kids.Name("flow-logs"), &ec2.FlowLogArgs{
		VpcId:                  vpcID,
		TrafficType:            pulumi.String(args.Network.FlowLogTrafficType),
		LogDestinationType:     pulumi.String("cloud-watch-logs"),
		LogDestination:         group.Arn,
		IamRoleArn:             role.Arn,
		MaxAggregationInterval: pulumi.Int(60),
	}, parent); err != nil {
		return fmt.Errorf("create flow log: %w", err)
	}
	return nil
}

// routeTableIDs are the IDs of the route tables the awsx VPC created, one
// per subnet (awsx ec2.Vpc output routeTables; pulumi-awsx awsx/ec2/vpc.ts
// creates a RouteTable for every subnet), so the gateway endpoints need no
// invoke looking the VPC's tables up. The VPC's main route table is left
// out: awsx associates every subnet with its own table.
func routeTableIDs(vpc *ec2x.Vpc) pulumi.StringArrayOutput {
	return vpc.RouteTables.ApplyT(func(tables []*ec2.RouteTable) pulumi.StringArrayOutput {
		ids := make(pulumi.StringArray, 0, len(tables))
		for _, t := range tables {
			ids = append(ids, t.ID().ToStringOutput())
		}
		return ids.ToStringArrayOutput()
	}).(pulumi.StringArrayOutput)
}

// gatewayEndpoints keeps S3 and DynamoDB traffic off the NAT gateways and
// the internet, on every route table of the VPC's subnets.
func (n *Network) gatewayEndpoints(ctx *pulumi.Context, kids naming.Children, vpcID pulumi.StringOutput, routeTables pulumi.StringArrayOutput, parent pulumi.ResourceOption) error {
	for _, svc := range []string{"s3", "dynamodb"} {
		key := "endpoint-" + svc
		ep, err := ec2.NewVpcEndpoint(ctx, kids.Name(key), &ec2.VpcEndpointArgs{
			VpcId:           vpcID,
			ServiceName:     pulumi.String("com.amazonaws." + config.Region + "." + svc),
			VpcEndpointType: pulumi.String("Gateway"),
			RouteTableIds:   routeTables,
		}, parent)
		if err != nil {
			return fmt.Errorf("create %s gateway endpoint: %w", svc, err)
		}
		if svc == "s3" {
			n.S3PrefixListID = ep.PrefixListId
		} else {
			n.DynamoDBPrefixListID = ep.PrefixListId
		}
	}
	return nil
}

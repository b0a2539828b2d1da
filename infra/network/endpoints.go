package network

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/naming"
)

// InterfaceEndpoint is one AWS service the tasks reach through an
// interface VPC endpoint when privateEgress is endpoints.
type InterfaceEndpoint struct {
	// Service is the last part of the endpoint service name
	// com.amazonaws.<region>.<Service>.
	Service string
	// Caller says who in the task calls the service, and why.
	Caller string
	// Source is the AWS documentation that requires it.
	Source string
}

// Endpoint service names are com.amazonaws.<region>.<service> (AWS
// PrivateLink Guide, "AWS services that integrate with AWS PrivateLink").
// Fargate platform version 1.4.0 and later sends every call of the task,
// including the Fargate agent's image pulls, log shipping and secret
// retrieval, through the task ENI (Amazon ECS Developer Guide, "Migrating
// to Linux platform version 1.4.0": images in ECR need the ecr.dkr and
// ecr.api interface endpoints and the S3 gateway endpoint, secrets from
// Secrets Manager or Parameter Store need the secretsmanager and ssm
// endpoints, and the task ENI's security group must admit the traffic to
// the endpoints), so the endpoints are in the private subnets where the
// tasks run.
var interfaceEndpoints = []InterfaceEndpoint{
	{"ecr.api", "Fargate agent (execution role): ecr:GetAuthorizationToken and the image manifest",
		"Amazon ECS Developer Guide, Migrating to Linux platform version 1.4.0 (interface VPC endpoints)"},
	{"ecr.dkr", "Fargate agent (execution role): the Docker registry API; layers come from S3 through the gateway endpoint",
		"Amazon ECS Developer Guide, Migrating to Linux platform version 1.4.0 (interface VPC endpoints)"},
	{"logs", "awslogs log driver (execution role): CreateLogStream, PutLogEvents; the app's EMF metric lines travel here too",
		"Amazon ECS Developer Guide, Amazon ECS task execution IAM role (awslogs log driver on Fargate)"},
	{"secretsmanager", "Fargate agent (execution role): the RDS-managed DB secret injected as DB_USERNAME/DB_PASSWORD",
		"Amazon ECS Developer Guide, Migrating to Linux platform version 1.4.0 (Secrets Manager endpoint)"},
	{"ssm", "Fargate agent (execution role): the SecureString parameters injected through valueFrom; the app's GetParametersByPath (flags, limits)",
		"Amazon ECS Developer Guide, Migrating to Linux platform version 1.4.0 (Systems Manager endpoint)"},
	{"kms", "no direct caller today (SSM, Secrets Manager and DynamoDB call KMS themselves); kept so a client-side decrypt never needs the internet",
		"AWS KMS Developer Guide, Connecting to AWS KMS through a VPC endpoint"},
	{"sts", "no direct caller today (Fargate hands out role credentials on the task metadata endpoint); kept for SDK clients that resolve identity or assume roles",
		"AWS IAM User Guide, AWS STS and interface VPC endpoints"},
	{"events", "the app (task role): events:PutEvents of order events on the stack's bus (app/internal/events)",
		"Amazon EventBridge User Guide, Using EventBridge with interface VPC endpoints"},
}

// execEndpoint is the ECS Exec channel's endpoint, needed only when
// enableExecuteCommand is on (Amazon ECS Developer Guide, "Monitor Amazon
// ECS containers with ECS Exec": tasks in private subnets without NAT need
// the ssmmessages interface endpoint).
var execEndpoint = InterfaceEndpoint{"ssmmessages", "ECS Exec agent: the session channel (enableExecuteCommand only)",
	"Amazon ECS Developer Guide, Monitor Amazon ECS containers with ECS Exec (VPC endpoints)"}

// Not built: com.amazonaws.<region>.monitoring. The app calls no
// CloudWatch API (app/ uses only the DynamoDB and EventBridge clients);
// its metrics are EMF log lines the logs endpoint carries.

// InterfaceEndpoints are the interface endpoints the configuration builds:
// none in nat mode; the ECS Exec one only when executeCommand is on.
func InterfaceEndpoints(n config.Network, executeCommand bool) []InterfaceEndpoint {
	if !n.ClosedEgress() {
		return nil
	}
	out := append([]InterfaceEndpoint(nil), interfaceEndpoints...)
	if executeCommand {
		out = append(out, execEndpoint)
	}
	return out
}

// ServiceName is the endpoint service name in region.
func (e InterfaceEndpoint) ServiceName(region string) string {
	return "com.amazonaws." + region + "." + e.Service
}

// EndpointPolicy is every interface endpoint's policy: any action on any
// resource, for principals of our account only. aws:PrincipalAccount is
// the account of the requesting principal, present in the request context
// of every signed request (AWS IAM User Guide, "AWS global condition
// context keys", aws:PrincipalAccount), so credentials of another account
// cannot use our endpoints to reach their own resources (data
// exfiltration). An endpoint policy must carry a Principal element (AWS
// PrivateLink Guide, "Control access to VPC endpoints using endpoint
// policies"). aws:ResourceAccount is not added: ecr:GetAuthorizationToken
// and sts:GetCallerIdentity name no resource, so a condition on the
// resource's account could never match them; the identity policies already
// scope every other call to our resources.
func EndpointPolicy(account string) iamdoc.Document {
	return iamdoc.New(iamdoc.Statement{
		Sid: "OurAccountOnly", Effect: "Allow",
		Principal: map[string]any{"AWS": "*"},
		Action:    []string{"*"}, Resource: []string{"*"},
		Condition: map[string]map[string]any{"StringEquals": {"aws:PrincipalAccount": account}},
	})
}

// interfaceEndpoints creates, in endpoints mode, the endpoint security
// group (HTTPS from the tasks and migrate groups only) and one interface endpoint per
// service with an ENI in each private subnet (one per AZ) and private DNS,
// so the SDKs' default regional names resolve to the ENIs. Private DNS
// needs the VPC's enableDnsHostnames and enableDnsSupport (set on the VPC
// above; EC2 API Reference, CreateVpcEndpoint, PrivateDnsEnabled).
func (n *Network) interfaceEndpoints(ctx *pulumi.Context, kids naming.Children, args Args, vpcID pulumi.StringOutput, parent pulumi.ResourceOption) error {
	eps := InterfaceEndpoints(args.Network, args.ExecuteCommand)
	if len(eps) == 0 {
		return nil
	}
	group, err := ec2.NewSecurityGroup(ctx, kids.Name("sg-endpoints"), &ec2.SecurityGroupArgs{
		NamePrefix:          pulumi.String(args.Names.Prefix(naming.EndpointGroup)), // naming.Replacements
		Description:         pulumi.String("interface VPC endpoints: HTTPS from the trading tasks only"),
		VpcId:               vpcID,
		RevokeRulesOnDelete: pulumi.Bool(true),
	}, parent)
	if err != nil {
		return fmt.Errorf("create endpoint security group: %w", err)
	}
	n.EndpointSecurityGroupID = group.ID().ToStringOutput()
	// The group has no egress rule: the endpoint ENIs only answer.
	for _, in := range []struct {
		key, desc string
		from      pulumi.StringOutput
	}{
		{"endpoints-in-tasks", "HTTPS from the trading tasks", n.TasksSecurityGroupID},
		// The migrate task pulls the image, writes its logs and reads its
		// parameters and the master secret at start, as the tasks do.
		{"endpoints-in-migrate", "HTTPS from the one-off migrate task", n.MigrateSecurityGroupID},
	} {
		if _, err := vpc.NewSecurityGroupIngressRule(ctx, kids.Name(in.key), &vpc.SecurityGroupIngressRuleArgs{
			SecurityGroupId: group.ID(), Description: pulumi.String(in.desc),
			IpProtocol: pulumi.String("tcp"), FromPort: pulumi.Int(443), ToPort: pulumi.Int(443),
			ReferencedSecurityGroupId: in.from.ToStringPtrOutput(),
		}, parent); err != nil {
			return fmt.Errorf("create endpoint ingress rule %s: %w", in.key, err)
		}
	}
	policy, err := EndpointPolicy(args.AccountID).JSON()
	if err != nil {
		return err
	}
	for _, e := range eps {
		key := "endpoint-" + strings.ReplaceAll(e.Service, ".", "-")
		if _, err := ec2.NewVpcEndpoint(ctx, kids.Name(key), &ec2.VpcEndpointArgs{
			VpcId:             vpcID,
			ServiceName:       pulumi.String(e.ServiceName(args.Shared.Region)),
			VpcEndpointType:   pulumi.String("Interface"),
			SubnetIds:         n.PrivateSubnetIDs,
			SecurityGroupIds:  pulumi.StringArray{group.ID()},
			PrivateDnsEnabled: pulumi.Bool(true),
			Policy:            pulumi.String(policy),
		}, parent); err != nil {
			return fmt.Errorf("create %s interface endpoint: %w", e.Service, err)
		}
	}
	return nil
}

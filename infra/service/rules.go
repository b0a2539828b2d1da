package service

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// securityGroupRules wires the ALB and task groups (created bare by the
// network component): the internet reaches the ALB on 443 only (and 80
// when config httpRedirect keeps the redirect listener), the ALB
// reaches the tasks on the app port only, and the tasks reach AWS APIs on
// 443: through the NAT gateways (privateEgress nat) or only the interface
// endpoints' group and the gateway endpoints' prefix lists (endpoints).
// The migrate task's group sends HTTPS the same way and accepts nothing.
// PostgreSQL egress to the database group belongs to the database
// component.
func (b *builder) securityGroupRules() error {
	port := b.cfg.AppPort
	alb, tasks, migrate := b.args.ALBSecurityGroupID, b.args.TasksSecurityGroupID, b.args.MigrateSecurityGroupID
	type groupRules struct {
		group           pulumi.StringInput
		ingress, egress []rule
	}
	albIn := []rule{
		{name: "alb-in-https-ipv4", desc: "HTTPS from the internet", port: 443, cidr4: "0.0.0.0/0"},
		{name: "alb-in-https-ipv6", desc: "HTTPS from the internet (IPv6)", port: 443, cidr6: "::/0"},
	}
	if b.cfg.HTTPRedirect {
		albIn = append(albIn,
			rule{name: "alb-in-http-ipv4", desc: "HTTP from the internet, redirected to HTTPS", port: 80, cidr4: "0.0.0.0/0"},
			rule{name: "alb-in-http-ipv6", desc: "HTTP from the internet (IPv6), redirected to HTTPS", port: 80, cidr6: "::/0"})
	}
	groups := []groupRules{{
		group:   alb,
		ingress: albIn,
		egress: []rule{
			{name: "alb-out-tasks", desc: "to the tasks on the app port only", port: port, ref: tasks},
		},
	}, {
		group: tasks,
		ingress: []rule{
			{name: "tasks-in-alb", desc: "app port from the load balancer only", port: port, ref: alb},
		},
		egress: []rule{
			{name: "tasks-out-s3", desc: "HTTPS to S3 via the gateway endpoint", port: 443, prefixList: b.args.S3PrefixListID},
			{name: "tasks-out-dynamodb", desc: "HTTPS to DynamoDB via the gateway endpoint", port: 443, prefixList: b.args.DynamoDBPrefixListID},
			tasksToAWS(b.args),
		},
	}, {
		// The one-off migrate task accepts nothing; at start ECS pulls its
		// image (ECR, layers from S3) and reads its parameters and the
		// master secret, and it logs, all on 443.
		group: migrate,
		egress: []rule{
			{name: "migrate-out-s3", desc: "HTTPS to S3 via the gateway endpoint (image layers)", port: 443, prefixList: b.args.S3PrefixListID},
			migrateToAWS(b.args),
		},
	}}
	opt := func(s string) pulumi.StringPtrInput {
		if s == "" {
			return nil
		}
		return pulumi.String(s)
	}
	ptr := func(in pulumi.StringInput) pulumi.StringPtrInput {
		if in == nil {
			return nil
		}
		return in.ToStringOutput().ToStringPtrOutput()
	}
	for _, g := range groups {
		group := g.group
		for _, r := range g.ingress {
			if _, err := vpc.NewSecurityGroupIngressRule(b.ctx, b.kids.Name(r.name), &vpc.SecurityGroupIngressRuleArgs{
				SecurityGroupId: group, Description: pulumi.String(r.desc), IpProtocol: pulumi.String("tcp"),
				FromPort: pulumi.Int(r.port), ToPort: pulumi.Int(r.port),
				CidrIpv4: opt(r.cidr4), CidrIpv6: opt(r.cidr6), ReferencedSecurityGroupId: ptr(r.ref),
			}, b.parent); err != nil {
				return fmt.Errorf("create ingress rule %s: %w", r.name, err)
			}
		}
		for _, r := range g.egress {
			if _, err := vpc.NewSecurityGroupEgressRule(b.ctx, b.kids.Name(r.name), &vpc.SecurityGroupEgressRuleArgs{
				SecurityGroupId: group, Description: pulumi.String(r.desc), IpProtocol: pulumi.String("tcp"),
				FromPort: pulumi.Int(r.port), ToPort: pulumi.Int(r.port),
				CidrIpv4: opt(r.cidr4), CidrIpv6: opt(r.cidr6), ReferencedSecurityGroupId: ptr(r.ref), PrefixListId: ptr(r.prefixList),
			}, b.parent); err != nil {
				return fmt.Errorf("create egress rule %s: %w", r.name, err)
			}
		}
	}
	return nil
}

// rule is one security group rule of the service's groups.
type rule struct {
	name, desc      string
	port            int
	cidr4, cidr6    string
	prefixList, ref pulumi.StringInput
}

// tasksToAWS is the tasks' HTTPS egress to the AWS APIs without a gateway
// endpoint (EventBridge, and at start ECR, CloudWatch Logs, SSM, Secrets
// Manager). With closed egress the destination is the interface endpoints'
// security group only. Through NAT it is any IPv4 address on 443: the NAT
// gateways' and the APIs' addresses are not fixed.
func tasksToAWS(args Args) rule {
	if args.ClosedEgress {
		return rule{name: "tasks-out-endpoints", desc: "HTTPS to the interface VPC endpoints only", port: 443, ref: args.EndpointSecurityGroupID}
	}
	return rule{name: "tasks-out-https", desc: "HTTPS to AWS APIs via NAT", port: 443, cidr4: "0.0.0.0/0"}
}

// migrateToAWS is the migrate task's HTTPS egress to the AWS APIs it needs
// at start (ECR, CloudWatch Logs, SSM, Secrets Manager): the interface
// endpoints' group with closed egress, any IPv4 address through NAT.
func migrateToAWS(args Args) rule {
	if args.ClosedEgress {
		return rule{name: "migrate-out-endpoints", desc: "HTTPS to the interface VPC endpoints only", port: 443, ref: args.EndpointSecurityGroupID}
	}
	return rule{name: "migrate-out-https", desc: "HTTPS to AWS APIs via NAT", port: 443, cidr4: "0.0.0.0/0"}
}

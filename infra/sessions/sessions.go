// Package sessions owns the DynamoDB table of trading sessions: on-demand
// capacity, point-in-time recovery, SSE with our KMS key, and a TTL
// attribute so expired sessions disappear on their own.
package sessions

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/dynamodb"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/tags"
)

// The table's key schema and TTL attribute: the contract with app/.
const (
	PartitionKey = "session_id"
	TTLAttribute = "expires_at_epoch"
)

// Args configures the table.
type Args struct {
	Names              naming.Namer
	DataKeyArn         pulumi.StringInput
	DeletionProtection bool
}

// Table is the component.
type Table struct {
	pulumi.ResourceState

	// KnownName is the table's name, fixed by naming: known at program
	// time, for the runbooks' definitions, which Name is not at a first
	// preview.
	KnownName string

	Name pulumi.StringOutput
	Arn  pulumi.StringOutput
}

// New creates the sessions table.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Table, error) {
	t := &Table{KnownName: args.Names.Name(naming.SessionsTable)}
	if err := ctx.RegisterComponentResource("trading:sessions:Table", name, t, opts...); err != nil {
		return nil, fmt.Errorf("register sessions component: %w", err)
	}
	// Children are named from the component (naming.ChildrenOf).
	kids := naming.ChildrenOf(name)
	var exempt pulumi.StringMap
	if !args.DeletionProtection {
		var err error
		if exempt, err = tags.Exempt(tags.Exemption{Rule: "DynamoDB.6",
			Reason: "deletion protection follows config deletionProtection: off so the stack destroys cleanly"}); err != nil {
			return nil, err
		}
	}
	table, err := dynamodb.NewTable(ctx, kids.Name("sessions"), &dynamodb.TableArgs{
		Name:        pulumi.String(t.KnownName),
		BillingMode: pulumi.String("PAY_PER_REQUEST"),
		HashKey:     pulumi.String(PartitionKey),
		Attributes: dynamodb.TableAttributeArray{
			&dynamodb.TableAttributeArgs{Name: pulumi.String(PartitionKey), Type: pulumi.String("S")},
		},
		Ttl:                 &dynamodb.TableTtlArgs{AttributeName: pulumi.String(TTLAttribute), Enabled: pulumi.Bool(true)},
		PointInTimeRecovery: &dynamodb.TablePointInTimeRecoveryArgs{Enabled: pulumi.Bool(true)},
		ServerSideEncryption: &dynamodb.TableServerSideEncryptionArgs{
			Enabled: pulumi.Bool(true), KmsKeyArn: args.DataKeyArn,
		},
		DeletionProtectionEnabled: pulumi.Bool(args.DeletionProtection),
		TableClass:                pulumi.String("STANDARD"),
		Tags:                      exempt,
	}, pulumi.Parent(t))
	if err != nil {
		return nil, fmt.Errorf("create sessions table: %w", err)
	}
	t.Name, t.Arn = table.Name, table.Arn
	if err := ctx.RegisterResourceOutputs(t, pulumi.Map{"name": t.Name, "arn": t.Arn}); err != nil {
		return nil, fmt.Errorf("register sessions outputs: %w", err)
	}
	return t, nil
}

// Package infra is the composition root of trading-ha: Deploy loads and
// validates the stack configuration, then builds every component in
// dependency order, handing each the IDs and ARNs it needs, and exports the
// outputs operators use.
package infra

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/drills"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/network"
	"github.com/trading-ha/trading-ha/infra/params"
	"github.com/trading-ha/trading-ha/infra/security"
	"github.com/trading-ha/trading-ha/infra/sessions"
	"github.com/trading-ha/trading-ha/infra/storage"
)

// Deploy is the Pulumi program. Invalid configuration fails here, before
// any resource is registered.
func Deploy(ctx *pulumi.Context) error {
	cfg, err := config.Load(ctx)
	if err != nil {
		return err
	}
	names := naming.New(cfg.EnvironmentSuffix)

	// One explicit provider carries the region and the default tags, so
	// every resource is tagged and the mock suite sees the tags.
	provider, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{
		Region:      pulumi.String(cfg.Region),
		DefaultTags: &aws.ProviderDefaultTagsArgs{Tags: pulumi.ToStringMap(cfg.DefaultTags)},
	})
	if err != nil {
		return fmt.Errorf("create aws provider: %w", err)
	}
	withAWS := pulumi.Providers(provider)
	caller, err := aws.GetCallerIdentity(ctx, nil, pulumi.Provider(provider))
	if err != nil {
		return fmt.Errorf("look up the AWS account: %w", err)
	}
	account := caller.AccountId

	keys, err := security.New(ctx, "security", security.Args{Names: names, AccountID: account, Region: cfg.Region}, withAWS)
	if err != nil {
		return err
	}
	net, err := network.New(ctx, "network", network.Args{
		Names: names, Config: cfg, AccountID: account, TelemetryKeyArn: keys.TelemetryKeyArn,
	}, withAWS)
	if err != nil {
		return err
	}
	buckets, err := storage.New(ctx, "storage", storage.Args{
		Names: names, Config: cfg, AccountID: account, DataKeyArn: keys.DataKeyArn,
	}, withAWS)
	if err != nil {
		return err
	}
	table, err := sessions.New(ctx, "sessions", sessions.Args{
		Names: names, DataKeyArn: keys.DataKeyArn, DeletionProtection: cfg.DeletionProtection,
	}, withAWS)
	if err != nil {
		return err
	}

	// Composition order (each block below is one component; a later block
	// may use an earlier one's outputs, never the reverse):
	//   database -> params -> service -> dns -> monitoring -> backup -> runbooks -> events -> resilience
	// The event bus and state machine names are fixed by naming, so the
	// service's task role and the alarms can scope to their ARNs before
	// those components exist in the order.

	// --- database ---

	entries := []params.Entry{
		{Path: "env/region", Value: pulumi.String(cfg.Region), Description: "AWS region of the stack"},
		{Path: "env/suffix", Value: pulumi.String(cfg.EnvironmentSuffix), Description: "environmentSuffix of the stack"},
		{Path: "env/availability-zones", Value: pulumi.String(jsonList(cfg.AvailabilityZones)), Description: "availability zones the stack spans"},
		{Path: "sessions/table", Value: table.Name, Description: "DynamoDB sessions table"},
		{Path: "sessions/ttl", Value: pulumi.String(cfg.Sessions.TTL.String()), Description: "session lifetime (Go duration)"},
		{Path: "storage/data-bucket", Value: buckets.DataBucket, Description: "application data bucket"},
	}
	for _, f := range cfg.Params.FeatureFlags {
		entries = append(entries, params.Entry{Path: "flags/" + f, Value: pulumi.String("on"), Description: "feature flag"})
	}
	store, err := params.New(ctx, "params", params.Args{Names: names, DataKeyArn: keys.DataKeyArn, Entries: entries}, withAWS)
	if err != nil {
		return err
	}

	// --- service ---

	// --- dns ---

	// --- monitoring ---

	// --- backup ---

	// --- runbooks ---

	// --- events ---

	// --- resilience ---
	drill, err := drills.New(ctx, "resilience", drills.Args{
		Names: names, Config: cfg, AccountID: account, TelemetryKeyArn: keys.TelemetryKeyArn,
		VpcID: net.VpcID, PublicSubnetIDs: net.PublicSubnetIDs,
		PrivateSubnetIDs: net.PrivateSubnetIDs, IsolatedSubnetIDs: net.IsolatedSubnetIDs,
		ECSClusterName:    pulumi.String(names.Name(naming.ECSCluster)),                                                                // MERGE: the service component's ECS cluster name
		ECSClusterArn:     pulumi.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", cfg.Region, account, names.Name(naming.ECSCluster)),          // MERGE: the service component's ECS cluster ARN
		ECSServiceName:    pulumi.String(names.Name(naming.ECSService)),                                                                // MERGE: the service component's ECS service name
		AuroraClusterArn:  pulumi.Sprintf("arn:aws:rds:%s:%s:cluster:%s", cfg.Region, account, names.Name(naming.AuroraCluster)),       // MERGE: the database component's Aurora cluster ARN
		CompositeAlarmArn: pulumi.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", cfg.Region, account, names.Name(naming.CompositeAlarm)), // MERGE: the monitoring component's composite alarm ARN
	}, withAWS)
	if err != nil {
		return err
	}

	ctx.Export("vpcId", net.VpcID)
	ctx.Export("privateSubnetIds", net.PrivateSubnetIDs)
	ctx.Export("dataKeyArn", keys.DataKeyArn)
	ctx.Export("dataBucket", buckets.DataBucket)
	ctx.Export("logsBucket", buckets.LogsBucket)
	ctx.Export("sessionsTable", table.Name)
	ctx.Export("parameterRoot", pulumi.String(names.ParameterPath()))
	ctx.Export("fisTemplateIds", drill.TemplateIDs)
	ctx.Export("resiliencyPolicyArn", drill.ResiliencyPolicyArn)
	_ = store
	return nil
}

func jsonList(items []string) string {
	b, _ := json.Marshal(items) // a []string always marshals
	return string(b)
}

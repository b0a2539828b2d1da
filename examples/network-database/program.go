package main

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-awsx/sdk/v2/go/awsx"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/database"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/network"
	"github.com/trading-ha/trading-ha/infra/security"
	"github.com/trading-ha/trading-ha/infra/version"
)

// stack is what the example builds: the validated config, the three
// components, and the outputs the program exports.
type stack struct {
	config   *config.Config
	keys     *security.Keys
	network  *network.Network
	database *database.Cluster
	// outputs are the stack outputs, by name.
	outputs pulumi.Map
}

// Program is the Pulumi program. platformDir locates the platform's
// Pulumi.yaml (see loadConfig).
func Program(platformDir string) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		_, err := deploy(ctx, platformDir)
		return err
	}
}

// deploy builds the stack and exports its outputs.
func deploy(ctx *pulumi.Context, platformDir string) (*stack, error) {
	s, err := build(ctx, platformDir)
	if err != nil {
		return nil, err
	}
	for name, value := range s.outputs {
		ctx.Export(name, value)
	}
	return s, nil
}

// build creates the providers and the three components in dependency
// order, handing each the IDs and ARNs it needs, as infra.Deploy does:
// keys first (the VPC's flow logs and the cluster encrypt with them), then
// the network (the cluster lives in its isolated subnets and security
// groups), then the database.
func build(ctx *pulumi.Context, platformDir string) (*stack, error) {
	cfg, err := loadConfig(ctx, platformDir)
	if err != nil {
		return nil, err
	}
	names := naming.New(cfg.EnvironmentSuffix)

	// The providers rule: the stack file sets
	// pulumi:disable-default-providers ["*"], so every resource and invoke
	// must name its provider. pulumi.Providers on each component reaches
	// its children; the awsx VPC, a remote component, inherits nothing from
	// its parent and gets the same list through network.Args.Providers.
	awsProvider, err := aws.NewProvider(ctx, "aws", awsProviderArgs(cfg))
	if err != nil {
		return nil, fmt.Errorf("create aws provider: %w", err)
	}
	awsxProvider, err := awsx.NewProvider(ctx, "awsx", &awsx.ProviderArgs{})
	if err != nil {
		return nil, fmt.Errorf("create awsx provider: %w", err)
	}
	providers := []pulumi.ProviderResource{awsProvider, awsxProvider}
	withProviders := pulumi.Providers(providers...)

	// Key policies, trust policies and name-derived ARNs need the account.
	caller, err := aws.GetCallerIdentity(ctx, nil, pulumi.Provider(awsProvider))
	if err != nil {
		return nil, fmt.Errorf("look up the AWS account: %w", err)
	}
	account := caller.AccountId

	keys, err := security.New(ctx, "security", security.Args{
		Names: names, AccountID: account, Region: cfg.Region,
		DeletionWindowDays: cfg.KMSDeletionWindowDays(),
	}, withProviders)
	if err != nil {
		return nil, fmt.Errorf("security component: %w", err)
	}
	net, err := network.New(ctx, "network", network.Args{
		Names: names, Shared: cfg.Shared, Network: cfg.Network, ExecuteCommand: cfg.Service.EnableExecuteCommand,
		AccountID: account, TelemetryKeyArn: keys.TelemetryKeyArn,
		Providers: providers,
	}, withProviders)
	if err != nil {
		return nil, fmt.Errorf("network component: %w", err)
	}
	db, err := database.New(ctx, "database", database.Args{
		Names: names, Shared: cfg.Shared, Database: cfg.Database, AccountID: account,
		DataKeyArn: keys.DataKeyArn, TelemetryKeyArn: keys.TelemetryKeyArn,
		IsolatedSubnetIDs: net.IsolatedSubnetIDs,
		DBSecurityGroupID: net.DBSecurityGroupID,
		// The only source the cluster admits on 5432: put the clients of
		// the database in this group (exported below).
		TasksSecurityGroupID: net.TasksSecurityGroupID,
	}, withProviders)
	if err != nil {
		return nil, fmt.Errorf("database component: %w", err)
	}

	return &stack{
		config: cfg, keys: keys, network: net, database: db,
		outputs: pulumi.Map{
			"vpcId":                 net.VPCID,
			"privateSubnetIds":      net.PrivateSubnetIDs,
			"clientSecurityGroupId": net.TasksSecurityGroupID,
			"dataKeyArn":            keys.DataKeyArn,
			"clusterIdentifier":     pulumi.String(db.Identifier),
			"clusterEndpoint":       db.WriterEndpoint,
			"readerEndpoint":        db.ReaderEndpoint,
			"databaseName":          pulumi.String(db.DatabaseName),
			"dbSecretArn":           db.SecretArn,
			"platformVersion":       pulumi.String(version.Version),
		},
	}, nil
}

// awsProviderArgs are the aws provider's settings as the platform sets
// them: the stack's region, aws:defaultTags plus the platform's version
// tag on every resource, and, when config names them, the only accounts
// the provider may act in.
func awsProviderArgs(cfg *config.Config) *aws.ProviderArgs {
	tags := map[string]string{version.TagKey: version.Version}
	for k, v := range cfg.DefaultTags {
		tags[k] = v
	}
	args := &aws.ProviderArgs{
		Region:      pulumi.String(cfg.Region),
		DefaultTags: &aws.ProviderDefaultTagsArgs{Tags: pulumi.ToStringMap(tags)},
	}
	if len(cfg.AllowedAccountIDs) > 0 {
		args.AllowedAccountIds = pulumi.ToStringArray(cfg.AllowedAccountIDs)
	}
	return args
}

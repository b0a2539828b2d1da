package infra

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/asl"
	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/identity"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/params"
	"github.com/trading-ha/trading-ha/infra/paramtable"
)

// identityTier builds the user pool and its clients, and the parameter
// hierarchy the service and the probes read.
func (p *platform) identityTier() error {
	ctx := p.ctx
	var err error
	// --- identity ---
	p.who, err = identity.New(ctx, "identity", identity.Args{
		Names: p.names, Region: p.cfg.Region, Desks: p.cfg.Identity.Desks, DeletionProtection: p.cfg.DeletionProtection,
	}, p.withAWS)
	if err != nil {
		return err
	}

	// Plain settings, then the parameters the container reads through
	// valueFrom (infra/paramtable), which are SecureStrings under the data
	// key; the values those rows name come from here.
	entries := []params.Entry{
		{Path: "env/region", Value: pulumi.String(p.cfg.Region), Description: "AWS region of the stack"},
		{Path: "env/suffix", Value: pulumi.String(p.cfg.EnvironmentSuffix), Description: "environmentSuffix of the stack"},
		{Path: "env/availability-zones", Value: pulumi.String(jsonList(p.cfg.AvailabilityZones)), Description: "availability zones the stack spans"},
		{Path: "storage/data-bucket", Value: p.buckets.DataBucket, Description: "application data bucket"},
		{Path: "db/secret-arn", Value: p.db.SecretArn, Description: "RDS-managed master user secret (username, password)"},
		{Path: "identity/token-url", Value: p.who.TokenURL, Description: "OAuth2 token endpoint (client credentials, scope " + identity.Scope + ")"},
		{Path: identity.JWKSURLPath, Value: p.who.JWKSURL, Description: "the user pool's JWKS URL, which the key sync copies into " + paramtable.KeySetPath},
		{Path: paramtable.KeySetPath, Value: pulumi.String(paramtable.KeySetPlaceholder), Written: true,
			Description: "signing keys of the user pool (JWKS) for the service, kept by the key sync workflow"},
	}
	// The probes' clients: ids in plain text, secrets as SecureStrings the
	// canary (and the operator running the smoke test) read.
	for _, probe := range []string{identity.CanaryClient, identity.SmokeClient} {
		entries = append(entries,
			params.Entry{Path: ProbeParameter(probe, "client-id"), Value: p.who.ProbeClientIDs[probe], Description: probe + " app client id"},
			params.Entry{Path: ProbeParameter(probe, "client-secret"), Value: p.who.ProbeSecrets[probe], Description: probe + " app client secret", Secure: true},
		)
	}
	injected := paramtable.Values{
		DBWriterHost:  p.db.WriterEndpoint,
		DBReaderHost:  p.db.ReaderEndpoint,
		DBPort:        pulumi.String(strconv.Itoa(p.db.Port)),
		DBName:        pulumi.String(p.db.DatabaseName),
		DBSSLMode:     pulumi.String("verify-full"),
		SessionsTable: p.table.Name,
		// Named: the events component comes after the service in the order.
		EventBusName:  pulumi.String(p.names.Name(naming.EventBus)),
		SessionTTL:    pulumi.String(p.cfg.Sessions.TTL.String()),
		OIDCIssuer:    p.who.Issuer,
		OIDCClientIDs: p.who.ClientIDs,
		OIDCTraderMap: p.who.TraderMap,
	}
	for _, row := range paramtable.Rows {
		v := row.Value(injected)
		if v == nil {
			return fmt.Errorf("parameter %s (for %s): paramtable.Values has no value for it", row.Path, row.Env)
		}
		entries = append(entries, params.Entry{Path: row.Path, Value: v, Description: row.Description, Secure: true})
	}
	// The migrate task's network, which the migrate runbook reads at run
	// time: subnet and group IDs are values AWS makes, and the runbook's
	// definition stays known at the first preview without them.
	entries = append(entries, params.Entry{Path: asl.MigrateNetworkPath, Value: migrateNetwork(p.net.PrivateSubnetIDs, p.net.MigrateSecurityGroupID),
		Description: "subnets and security group the one-off migrate task runs in (JSON)"})
	for _, f := range p.cfg.Params.FeatureFlags {
		entries = append(entries, params.Entry{Path: "flags/" + f, Value: pulumi.String("on"), Description: "feature flag"})
	}
	entries = append(entries, tradingEntries(p.cfg)...)
	p.store, err = params.New(ctx, "params", params.Args{Names: p.names, DataKeyArn: p.keys.DataKeyArn, Entries: entries}, p.withAWS)
	if err != nil {
		return err
	}
	return nil
}

// migrateNetwork is the migrate task's network document
// (asl.MigrateNetwork): the private subnets, like the service's tasks (it
// needs NAT or the interface endpoints to start: ECR, logs, SSM, Secrets
// Manager), and its own security group.
func migrateNetwork(subnets pulumi.StringArrayOutput, group pulumi.StringOutput) pulumi.StringOutput {
	return pulumi.All(subnets, group).ApplyT(func(v []any) (string, error) {
		b, err := json.Marshal(asl.MigrateNetwork{Subnets: v[0].([]string), SecurityGroups: []string{v[1].(string)}})
		if err != nil {
			return "", fmt.Errorf("migrate network document: %w", err)
		}
		return string(b), nil
	}).(pulumi.StringOutput)
}

// tradingEntries are the trading service's flag and limits
// (/trading/<suffix>/flags/trading-enabled, /limits/...), plain String
// parameters: operators change them in Parameter Store, the service reads
// them with GetParametersByPath and falls back to the same defaults.
func tradingEntries(cfg *config.Config) []params.Entry {
	var out []params.Entry
	for _, p := range cfg.Trading.Params() {
		out = append(out, params.Entry{Path: p[0], Value: pulumi.String(p[1]), Description: "trading service " + p[0] + " (initial value from config; operators own it)"})
	}
	return out
}

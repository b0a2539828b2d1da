package infra

import (
	"github.com/trading-ha/trading-ha/infra/audit"
	"github.com/trading-ha/trading-ha/infra/backup"
	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/network"
	"github.com/trading-ha/trading-ha/infra/security"
	"github.com/trading-ha/trading-ha/infra/sessions"
	"github.com/trading-ha/trading-ha/infra/storage"
)

// foundationTier builds the keys, the network, the buckets and the sessions
// table.
func (p *platform) foundationTier() error {
	ctx := p.ctx
	var err error
	p.keys, err = security.New(ctx, "security", security.Args{
		Names: p.names, AccountID: p.account, Region: p.cfg.Region, DeletionWindowDays: p.cfg.Shared.KMSDeletionWindowDays(),
		TelemetryServices: trailKeyStatements(p.cfg, p.names, p.account),
		DataKeyGuard:      backup.KeyGuard(p.cfg.DeletionProtection, p.principals()),
	}, p.withAWS)
	if err != nil {
		return err
	}
	p.net, err = network.New(ctx, "network", network.Args{
		Names: p.names, Shared: p.cfg.Shared, Network: p.cfg.Network, ExecuteCommand: p.cfg.Service.EnableExecuteCommand,
		AccountID: p.account, TelemetryKeyArn: p.keys.TelemetryKeyArn, Providers: p.providers.All,
	}, p.withAWS)
	if err != nil {
		return err
	}
	p.buckets, err = storage.New(ctx, "storage", storage.Args{
		Names: p.names, Shared: p.cfg.Shared, Storage: p.cfg.Storage, CanaryFailureRetentionDays: p.cfg.Monitoring.CanaryFailureRetentionDays,
		AccountID: p.account, DataKeyArn: p.keys.DataKeyArn,
	}, p.withAWS)
	if err != nil {
		return err
	}
	p.table, err = sessions.New(ctx, "sessions", sessions.Args{
		Names: p.names, DataKeyArn: p.keys.DataKeyArn, DeletionProtection: p.cfg.DeletionProtection,
	}, p.withAWS)
	if err != nil {
		return err
	}
	return nil
}

// trailKeyStatements are CloudTrail's telemetry-key statements when the
// stack has its own trail.
func trailKeyStatements(cfg *config.Config, names naming.Namer, account string) []iamdoc.Statement {
	if !cfg.Audit.CloudTrail {
		return nil
	}
	return audit.KeyPolicyStatements(audit.TrailArn(names, cfg.Region, account), cfg.Region, account)
}

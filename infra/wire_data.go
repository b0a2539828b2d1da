package infra

import (
	"github.com/trading-ha/trading-ha/infra/database"
)

// dataTier builds the Aurora cluster.
func (p *platform) dataTier() error {
	ctx := p.ctx
	var err error
	// --- database ---
	p.db, err = database.New(ctx, "database", database.Args{
		Names: p.names, Shared: p.cfg.Shared, Database: p.cfg.Database, AccountID: p.account,
		DataKeyArn: p.keys.DataKeyArn, TelemetryKeyArn: p.keys.TelemetryKeyArn,
		IsolatedSubnetIDs: p.net.IsolatedSubnetIDs,
		DBSecurityGroupID: p.net.DBSecurityGroupID, TasksSecurityGroupID: p.net.TasksSecurityGroupID,
		MigrateSecurityGroupID: p.net.MigrateSecurityGroupID,
	}, p.withAWS)
	if err != nil {
		return err
	}
	return nil
}

package tests

import "testing"

// TestDatabaseConfigRejected: each bad db* value fails before any resource,
// with a message naming the key, the value and the rule.
func TestDatabaseConfigRejected(t *testing.T) {
	k := func(s string) string { return "trading-ha:" + s }
	cases := []struct {
		name      string
		overrides map[string]string
		want      []string
	}{
		{"engine not 14", map[string]string{k("dbEngineVersion"): "15.4"},
			[]string{k("dbEngineVersion"), `"15.4"`, "Aurora PostgreSQL 14 minor version"}},
		{"engine major only", map[string]string{k("dbEngineVersion"): "14"},
			[]string{k("dbEngineVersion"), `"14"`, "14 minor version"}},
		{"x86 class", map[string]string{k("dbInstanceClass"): "db.r6i.large"},
			[]string{k("dbInstanceClass"), `"db.r6i.large"`, "Graviton"}},
		{"t4g too small for Aurora", map[string]string{k("dbInstanceClass"): "db.t4g.micro"},
			[]string{k("dbInstanceClass"), `"db.t4g.micro"`, "Graviton"}},
		{"no reader", map[string]string{k("dbReaderCount"): "0"},
			[]string{k("dbReaderCount"), `"0"`, "between 1 and 2"}},
		{"more readers than spare zones", map[string]string{k("dbReaderCount"): "3", k("dbReaderMaxCount"): "5"},
			[]string{k("dbReaderCount"), `"3"`, "between 1 and 2"}},
		{"max below min", map[string]string{k("dbReaderCount"): "2", k("dbReaderMaxCount"): "1"},
			[]string{k("dbReaderMaxCount"), `"1"`, "at least dbReaderCount (2)"}},
		{"max above Aurora limit", map[string]string{k("dbReaderMaxCount"): "16"},
			[]string{k("dbReaderMaxCount"), `"16"`, "between 1 and 15"}},
		{"cpu target", map[string]string{k("dbReaderCpuTarget"): "95"},
			[]string{k("dbReaderCpuTarget"), `"95"`, "between 20 and 90"}},
		{"retention below a week", map[string]string{k("dbBackupRetentionDays"): "6"},
			[]string{k("dbBackupRetentionDays"), `"6"`, "between 7 and 35"}},
		{"retention above 35", map[string]string{k("dbBackupRetentionDays"): "36"},
			[]string{k("dbBackupRetentionDays"), `"36"`, "between 7 and 35"}},
		{"backup window format", map[string]string{k("dbBackupWindow"): "3am-4am"},
			[]string{k("dbBackupWindow"), `"3am-4am"`, "hh24:mi-hh24:mi"}},
		{"backup window too short", map[string]string{k("dbBackupWindow"): "03:00-03:20"},
			[]string{k("dbBackupWindow"), `"03:00-03:20"`, "at least 30 minutes"}},
		{"maintenance window format", map[string]string{k("dbMaintenanceWindow"): "sunday 05:00"},
			[]string{k("dbMaintenanceWindow"), `"sunday 05:00"`, "ddd:hh24:mi-ddd:hh24:mi"}},
		{"maintenance window too long", map[string]string{k("dbMaintenanceWindow"): "sat:05:00-sun:06:00"},
			[]string{k("dbMaintenanceWindow"), `"sat:05:00-sun:06:00"`, "at most 24 hours"}},
		{"windows overlap", map[string]string{k("dbMaintenanceWindow"): "tue:03:30-tue:04:30"},
			[]string{k("dbMaintenanceWindow"), `"tue:03:30-tue:04:30"`, "must not overlap dbBackupWindow (03:00-04:00, daily)"}},
		{"windows overlap across midnight", map[string]string{k("dbBackupWindow"): "23:30-00:30", k("dbMaintenanceWindow"): "mon:00:00-mon:01:00"},
			[]string{k("dbMaintenanceWindow"), `"mon:00:00-mon:01:00"`, "must not overlap"}},
		{"windows overlap across the week end", map[string]string{k("dbBackupWindow"): "00:00-00:30", k("dbMaintenanceWindow"): "sun:23:00-mon:00:15"},
			[]string{k("dbMaintenanceWindow"), `"sun:23:00-mon:00:15"`, "must not overlap"}},
		{"monitoring interval", map[string]string{k("dbMonitoringInterval"): "20"},
			[]string{k("dbMonitoringInterval"), `"20"`, "Enhanced Monitoring intervals in seconds: 1, 5, 10, 15, 30, 60"}},
		{"monitoring off", map[string]string{k("dbMonitoringInterval"): "0"},
			[]string{k("dbMonitoringInterval"), `"0"`, "Enhanced Monitoring intervals"}},
		{"PI retention", map[string]string{k("dbPerformanceInsightsRetentionDays"): "30"},
			[]string{k("dbPerformanceInsightsRetentionDays"), `"30"`, "Performance Insights retention periods"}},
		{"database name", map[string]string{k("dbName"): "Trading-DB"},
			[]string{k("dbName"), `"Trading-DB"`, "lowercase letters, digits and underscores"}},
		{"reserved master user", map[string]string{k("dbMasterUsername"): "rdsadmin"},
			[]string{k("dbMasterUsername"), `"rdsadmin"`, "reserves"}},
		{"slow query", map[string]string{k("dbSlowQueryMs"): "-5"},
			[]string{k("dbSlowQueryMs"), `"-5"`, "between -1 and 3600000"}},
		{"instance parameter group", map[string]string{k("dbInstanceParameterGroup"): "bad_name"},
			[]string{k("dbInstanceParameterGroup"), `"bad_name"`, "DB parameter group name"}},
		{"apply immediately", map[string]string{k("dbApplyImmediately"): "now"},
			[]string{k("dbApplyImmediately"), `"now"`, "true or false"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rejects(t, "dev", c.overrides, c.want)
		})
	}
}

// TestDatabaseConfigAccepted: edge values the rules must let through.
func TestDatabaseConfigAccepted(t *testing.T) {
	k := func(s string) string { return "trading-ha:" + s }
	for name, o := range map[string]map[string]string{
		"backup across midnight, maintenance right after": {k("dbBackupWindow"): "23:30-00:30", k("dbMaintenanceWindow"): "mon:00:30-mon:01:00"},
		"maintenance across the week end":                 {k("dbMaintenanceWindow"): "sun:23:00-mon:01:00"},
		"max equals min (autoscaling pinned)":             {k("dbReaderCount"): "2", k("dbReaderMaxCount"): "2"},
		"longest PI retention and 1s monitoring":          {k("dbPerformanceInsightsRetentionDays"): "731", k("dbMonitoringInterval"): "1"},
		"larger graviton class":                           {k("dbInstanceClass"): "db.r8g.2xlarge"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := recordWith(t, "dev", o); err != nil {
				t.Fatalf("rejected: %v", err)
			}
		})
	}
}

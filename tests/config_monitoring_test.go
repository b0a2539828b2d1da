package tests

import "testing"

// TestBadDNSAndMonitoringConfig: each bad value fails before any resource,
// naming the key, the value and the rule.
func TestBadDNSAndMonitoringConfig(t *testing.T) {
	k := func(s string) string { return "trading-ha:" + s }
	cases := []struct {
		name      string
		overrides map[string]string
		want      []string
	}{
		{"domain uppercase", map[string]string{k("domainName"): "Trading.Example.com"},
			[]string{k("domainName"), `"Trading.Example.com"`, "lowercase DNS name"}},
		{"domain one label", map[string]string{k("domainName"): "localhost"},
			[]string{k("domainName"), `"localhost"`, "two or more labels"}},
		{"record name with dot", map[string]string{k("appRecordName"): "app.v2"},
			[]string{k("appRecordName"), `"app.v2"`, "one lowercase DNS label"}},
		{"delegated not bool", map[string]string{k("dnsDelegated"): "soon"},
			[]string{k("dnsDelegated"), `"soon"`, "true or false"}},
		{"failure threshold zero", map[string]string{k("healthCheckFailureThreshold"): "0"},
			[]string{k("healthCheckFailureThreshold"), `"0"`, "between 1 and 10"}},
		{"two checker regions", map[string]string{k("healthCheckRegions"): `["us-east-1","eu-west-1"]`},
			[]string{k("healthCheckRegions"), "between 3 and 8 entries"}},
		{"checker region unknown", map[string]string{k("healthCheckRegions"): `["us-east-1","eu-west-1","eu-central-1"]`},
			[]string{k("healthCheckRegions"), `"eu-central-1"`, "Route 53 health checker region"}},
		{"checker region repeated", map[string]string{k("healthCheckRegions"): `["us-east-1","us-east-1","eu-west-1"]`},
			[]string{k("healthCheckRegions"), "must not repeat"}},
		{"notify email", map[string]string{k("notifyEmails"): `["oncall"]`},
			[]string{k("notifyEmails"), `"oncall"`, "an email address"}},
		{"schedule too slow", map[string]string{k("canarySchedule"): "rate(10 minutes)"},
			[]string{k("canarySchedule"), `"rate(10 minutes)"`, "at least every 5 minutes"}},
		{"schedule bad plural", map[string]string{k("canarySchedule"): "rate(1 minutes)"},
			[]string{k("canarySchedule"), `"rate(1 minutes)"`, "rate(1 minute) or rate(N minutes)"}},
		{"schedule cron", map[string]string{k("canarySchedule"): "cron(0/1 * * * ? *)"},
			[]string{k("canarySchedule"), "rate expression in minutes"}},
		{"timeout too short", map[string]string{k("canaryTimeoutSeconds"): "10"},
			[]string{k("canaryTimeoutSeconds"), `"10"`, "must be between 15 and"}},
		{"timeout longer than schedule", map[string]string{k("canaryTimeoutSeconds"): "120", k("canarySchedule"): "rate(1 minute)"},
			[]string{k("canaryTimeoutSeconds"), `"120"`, "between 15 and 60"}},
		{"success retention", map[string]string{k("canarySuccessRetentionDays"): "456"},
			[]string{k("canarySuccessRetentionDays"), `"456"`, "between 1 and 455"}},
		{"failure retention", map[string]string{k("canaryFailureRetentionDays"): "0"},
			[]string{k("canaryFailureRetentionDays"), `"0"`, "between 1 and 455"}},
		{"period not a minute multiple", map[string]string{k("alarmPeriodSeconds"): "90"},
			[]string{k("alarmPeriodSeconds"), `"90"`, "multiple of 60"}},
		{"period high resolution", map[string]string{k("alarmPeriodSeconds"): "10"},
			[]string{k("alarmPeriodSeconds"), `"10"`, "standard resolution"}},
		{"evaluation periods zero", map[string]string{k("alarmEvaluationPeriods"): "0"},
			[]string{k("alarmEvaluationPeriods"), `"0"`, "between 1 and 5"}},
		{"datapoints above evaluation", map[string]string{k("alarmDatapointsToAlarm"): "3"},
			[]string{k("alarmDatapointsToAlarm"), `"3"`, "between 1 and 2"}},
		{"paging budget", map[string]string{k("alarmPeriodSeconds"): "120", k("alarmEvaluationPeriods"): "3", k("alarmDatapointsToAlarm"): "3"},
			[]string{k("alarmEvaluationPeriods"), `"3"`, "pages after 390 s", "budget is 300 s"}},
		{"5xx rate", map[string]string{k("alarmAlb5xxRatePercent"): "101"},
			[]string{k("alarmAlb5xxRatePercent"), `"101"`, "between 1 and 100"}},
		{"target 5xx", map[string]string{k("alarmTarget5xxCount"): "0"},
			[]string{k("alarmTarget5xxCount"), `"0"`}},
		{"p99 not a number", map[string]string{k("alarmP99LatencyMs"): "1s"},
			[]string{k("alarmP99LatencyMs"), `"1s"`, "integer"}},
		{"aurora cpu", map[string]string{k("alarmAuroraCpuPercent"): "120"},
			[]string{k("alarmAuroraCpuPercent"), `"120"`, "between 10 and 100"}},
		{"aurora memory", map[string]string{k("alarmAuroraFreeableMemoryMb"): "1"},
			[]string{k("alarmAuroraFreeableMemoryMb"), `"1"`}},
		{"aurora lag", map[string]string{k("alarmAuroraReplicaLagMs"): "-5"},
			[]string{k("alarmAuroraReplicaLagMs"), `"-5"`}},
		{"aurora connections", map[string]string{k("alarmAuroraConnections"): "0"},
			[]string{k("alarmAuroraConnections"), `"0"`}},
	}
	for _, c := range cases {
		for _, stack := range Stacks {
			t.Run(c.name+"/"+stack, func(t *testing.T) {
				rejects(t, stack, c.overrides, c.want)
			})
		}
	}
}

// TestGoodDNSAndMonitoringConfig: values at the edges of the rules deploy.
func TestGoodDNSAndMonitoringConfig(t *testing.T) {
	k := func(s string) string { return "trading-ha:" + s }
	for name, o := range map[string]map[string]string{
		"five-minute canary":  {k("canarySchedule"): "rate(5 minutes)", k("canaryTimeoutSeconds"): "300"},
		"all checker regions": {k("healthCheckRegions"): `["us-east-1","us-west-1","us-west-2","eu-west-1","ap-southeast-1","ap-southeast-2","ap-northeast-1","sa-east-1"]`},
		"budget edge":         {k("alarmPeriodSeconds"): "60", k("alarmEvaluationPeriods"): "4", k("healthCheckFailureThreshold"): "6"},
		"emails":              {k("pageEmails"): `["oncall@acmebank.net"]`, k("notifyEmails"): `["ops@acmebank.net"]`},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := recordWith(t, "dev", o); err != nil {
				t.Fatal(err)
			}
		})
	}
}

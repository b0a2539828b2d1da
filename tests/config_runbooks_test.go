package tests

import (
	"strings"
	"testing"
)

// TestRunbooksConfigRejected: each bad runbooks value fails the run before
// any resource, naming the key, the value and the rule.
func TestRunbooksConfigRejected(t *testing.T) {
	cases := []struct {
		key, value string
		rule       string
	}{
		{"healthCheckSchedule", "every 5 minutes", "cron(<six fields>) or rate("},
		{"healthCheckSchedule", "rate(0 minutes)", "cron(<six fields>) or rate("},
		{"backupVerifySchedule", "cron(0 12 * * ?)", "cron(<six fields>) or rate("},
		{"backupMaxAgeMinutes", "59", "between 60 and 10080"},
		{"backupMaxAgeMinutes", "a day", "integer between 60 and 10080"},
		{"failoverTimeoutSeconds", "3601", "between 60 and 3600"},
		{"deploymentTimeoutSeconds", "299", "between 300 and 3600"},
		{"restoreTimeoutSeconds", "599", "between 600 and 21600"},
	}
	for _, c := range cases {
		t.Run(c.key+"="+c.value, func(t *testing.T) {
			key := "trading-ha:" + c.key
			rec, err := recordWith(t, "dev", map[string]string{key: c.value})
			if err == nil {
				t.Fatal("want a config error, got none")
			}
			for _, w := range []string{key, `"` + c.value + `"`, c.rule} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if n := len(rec.Resources); n != 0 {
				t.Errorf("%d resources registered before the config error; want 0", n)
			}
		})
	}
}

// TestRunbooksConfigAccepted: boundary values deploy and reach the machines.
func TestRunbooksConfigAccepted(t *testing.T) {
	rec, err := recordWith(t, "dev", map[string]string{
		"trading-ha:healthCheckSchedule": "rate(1 minute)", "trading-ha:failoverTimeoutSeconds": "60",
		"trading-ha:restoreTimeoutSeconds": "21600", "trading-ha:backupMaxAgeMinutes": "10080",
	})
	if err != nil {
		t.Fatalf("boundary values must deploy: %v", err)
	}
	eq(t, one(t, rec, "aws:scheduler/schedule:Schedule", "health-check-schedule"), "scheduleExpression", "rate(1 minute)")
	def, _ := get(t, one(t, rec, "aws:sfn/stateMachine:StateMachine", "database-failover"), "definition").(string)
	if !strings.Contains(def, "within 60 seconds") {
		t.Error("failoverTimeoutSeconds did not reach the failover definition")
	}
	def, _ = get(t, one(t, rec, "aws:sfn/stateMachine:StateMachine", "backup-verification"), "definition").(string)
	if !strings.Contains(def, "'thresholdMinutes': 10080") || !strings.Contains(def, "within 21600 seconds") {
		t.Error("backupMaxAgeMinutes / restoreTimeoutSeconds did not reach the backup verification definition")
	}
}

package tests

import (
	"testing"
)

// TestEventsBackupConfigRejected: each bad events/backup value fails the
// run before any resource, naming the key, the value and the rule.
func TestEventsBackupConfigRejected(t *testing.T) {
	cases := []struct {
		key, value string
		rule       string
	}{
		{"eventArchiveRetentionDays", "0", "between 1 and 3650"},
		{"eventArchiveRetentionDays", "a week", "integer between 1 and 3650"},
		{"eventTargetRetryAttempts", "186", "between 0 and 185"},
		{"eventTargetMaxEventAgeSeconds", "59", "between 60 and 86400"},
		{"ordersQueueMaxReceiveCount", "0", "between 1 and 1000"},
		{"backupSchedule", "daily", "six-field cron expression"},
		{"backupSchedule", "cron(0 5 * * ?)", "six-field cron expression"},
		{"backupStartWindowMinutes", "30", "between 60 and 720"},
		{"backupCompletionWindowMinutes", "60", "between 120 and 10080"},
		{"backupRetentionDays", "3", "between 7 and 36500"},
		{"continuousBackupRetentionDays", "36", "between 1 and 35"},
		{"restoreTestingSchedule", "weekly", "six-field cron expression"},
		{"restoreTestingValidationHours", "169", "between 1 and 168"},
		{"serviceSnapshotSchedule", "every day", "cron(<six fields>) or rate("},
		{"serviceSnapshotSchedule", "rate(0 days)", "cron(<six fields>) or rate("},
	}
	for _, c := range cases {
		t.Run(c.key+"="+c.value, func(t *testing.T) {
			key := "trading-ha:" + c.key
			rejects(t, "dev", map[string]string{key: c.value}, []string{key, `"` + c.value + `"`, c.rule})
		})
	}
}

// TestBackupCompletionAfterStart: the completion window must outlast the start window.
func TestBackupCompletionAfterStart(t *testing.T) {
	rejects(t, "prod", map[string]string{
		"trading-ha:backupStartWindowMinutes": "240", "trading-ha:backupCompletionWindowMinutes": "180",
	}, []string{"trading-ha:backupCompletionWindowMinutes", `"180"`, "greater than backupStartWindowMinutes (240)"})
}

// TestEventsBackupConfigAccepted: boundary values deploy.
func TestEventsBackupConfigAccepted(t *testing.T) {
	if _, err := recordWith(t, "dev", map[string]string{
		"trading-ha:continuousBackupRetentionDays": "35", "trading-ha:eventTargetRetryAttempts": "0",
		"trading-ha:serviceSnapshotSchedule": "cron(0 */4 * * ? *)", "trading-ha:eventArchiveRetentionDays": "3650",
	}); err != nil {
		t.Fatalf("boundary values must deploy: %v", err)
	}
}

package config

import (
	"fmt"
	"regexp"
)

// Backup configures AWS Backup, restore testing and the ECS service snapshot.
type Backup struct {
	// Schedule is the daily backup rule's cron expression.
	Schedule string
	// StartWindowMinutes is how long a job may wait to start.
	StartWindowMinutes int
	// CompletionWindowMinutes is how long a job may run.
	CompletionWindowMinutes int
	// RetentionDays is how long daily recovery points are kept.
	RetentionDays int
	// ContinuousRetentionDays is the point-in-time window of continuous backups (AWS allows 1-35).
	ContinuousRetentionDays int
	// RestoreTestingSchedule is when the restore testing plan runs.
	RestoreTestingSchedule string
	// RestoreTestingValidationHours is how long restored test resources are kept for validation.
	RestoreTestingValidationHours int
	// SnapshotSchedule is when the ECS service snapshot runs (EventBridge Scheduler cron() or rate()).
	SnapshotSchedule string
}

var (
	// cron(min hour day-of-month month day-of-week year): six fields.
	cronPattern     = regexp.MustCompile(`^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$`)
	schedulePattern = regexp.MustCompile(`^(cron\(\S+ \S+ \S+ \S+ \S+ \S+\)|rate\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\))$`)
)

// backup reads the backup keys. Limits are AWS Backup's: start window at
// least 60 minutes, continuous backup retention at most 35 days, restore
// validation window 1-168 hours.
func (r *reader) backup(k func(string) string) Backup {
	b := Backup{
		Schedule:                      r.str(k("backupSchedule"), cronPattern, "a six-field cron expression such as cron(0 5 * * ? *)"),
		StartWindowMinutes:            r.integer(k("backupStartWindowMinutes"), 60, 720),
		CompletionWindowMinutes:       r.integer(k("backupCompletionWindowMinutes"), 120, 10080),
		RetentionDays:                 r.integer(k("backupRetentionDays"), 7, 36500),
		ContinuousRetentionDays:       r.integer(k("continuousBackupRetentionDays"), 1, 35),
		RestoreTestingSchedule:        r.str(k("restoreTestingSchedule"), cronPattern, "a six-field cron expression such as cron(0 6 ? * SUN *)"),
		RestoreTestingValidationHours: r.integer(k("restoreTestingValidationHours"), 1, 168),
		SnapshotSchedule:              r.str(k("serviceSnapshotSchedule"), schedulePattern, "cron(<six fields>) or rate(<n> minutes|hours|days)"),
	}
	if b.CompletionWindowMinutes != 0 && b.StartWindowMinutes != 0 && b.CompletionWindowMinutes <= b.StartWindowMinutes {
		r.fail(k("backupCompletionWindowMinutes"), fmt.Sprint(b.CompletionWindowMinutes),
			"must be greater than backupStartWindowMinutes (%d)", b.StartWindowMinutes)
	}
	return b
}

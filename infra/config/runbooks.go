package config

// Runbooks configures the Step Functions runbooks and their schedules.
type Runbooks struct {
	// HealthCheckSchedule is when the health check runs (EventBridge
	// Scheduler cron() or rate()).
	HealthCheckSchedule string
	// BackupVerifySchedule is when the backup verification runs.
	BackupVerifySchedule string
	// BackupMaxAgeMinutes is the age the latest COMPLETED recovery point of
	// every protected resource must not exceed.
	BackupMaxAgeMinutes int
	// FailoverTimeoutSeconds bounds the database failover's wait for the new writer.
	FailoverTimeoutSeconds int
	// DeploymentTimeoutSeconds bounds the service recovery's wait for the rollout.
	DeploymentTimeoutSeconds int
	// RestoreTimeoutSeconds bounds the backup verification's wait for the test restore.
	RestoreTimeoutSeconds int
}

// runbooks reads the runbook keys. The recovery point age must cover the
// daily backup interval plus its windows (default 26 h); the timeouts are
// bounded by what a runbook may reasonably wait for (an Aurora failover
// completes in minutes, a DynamoDB restore in tens of minutes to hours).
func (r *reader) runbooks(k func(string) string) Runbooks {
	const schedule = "cron(<six fields>) or rate(<n> minutes|hours|days)"
	return Runbooks{
		HealthCheckSchedule:      r.str(k("healthCheckSchedule"), schedulePattern, schedule),
		BackupVerifySchedule:     r.str(k("backupVerifySchedule"), schedulePattern, schedule),
		BackupMaxAgeMinutes:      r.integer(k("backupMaxAgeMinutes"), 60, 10080),
		FailoverTimeoutSeconds:   r.integer(k("failoverTimeoutSeconds"), 60, 3600),
		DeploymentTimeoutSeconds: r.integer(k("deploymentTimeoutSeconds"), 300, 3600),
		RestoreTimeoutSeconds:    r.integer(k("restoreTimeoutSeconds"), 600, 21600),
	}
}

package asl

// Runbook pairs a runbook's name with its builder.
type Runbook struct {
	// Name is the file-friendly runbook name, e.g. "health-check".
	Name string
	// Build builds the definition for the given targets.
	Build func(Targets) (*StateMachine, error)
}

// Runbooks lists the five runbooks in a fixed order.
func Runbooks() []Runbook {
	return []Runbook{
		{Name: HealthCheckName, Build: HealthCheck},
		{Name: BackupVerificationName, Build: BackupVerification},
		{Name: DatabaseFailoverName, Build: DatabaseFailover},
		{Name: ServiceRecoveryName, Build: ServiceRecovery},
		{Name: MigrateName, Build: Migrate},
	}
}

// Package paramtable is the one table of the parameters ECS injects into
// the app container: each row names the environment variable the app reads
// (CONTRACT.md), the parameter below /trading/<suffix>/ that holds it, and
// its description. The composition root builds the SecureString parameters
// from it (infra/deploy.go) and the service builds the container's secrets
// (valueFrom = parameter ARN) from it, so the two cannot drift. Each row
// also names the value it holds (a field of Values), so the composition
// root fills one struct and keeps no list of its own. It is a leaf
// package: both the params and the service components may read it without
// importing each other.
package paramtable

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// Values are the composition root's values of the rows, one field per row
// (tests/params_table_test.go holds every field to exactly one row).
type Values struct {
	DBWriterHost, DBReaderHost, DBPort, DBName, DBSSLMode pulumi.StringInput
	SessionsTable, SessionTTL, EventBusName               pulumi.StringInput
	OIDCIssuer, OIDCClientIDs, OIDCTraderMap              pulumi.StringInput
}

// Injected is one parameter the container reads through valueFrom.
type Injected struct {
	// Env is the environment variable the app reads.
	Env string
	// Path is relative to /trading/<suffix>.
	Path string
	// Description is the parameter's description.
	Description string
	// Migrate says the one-off migrate task (infra/service, migrate.go)
	// reads it too.
	Migrate bool
	// Value picks the row's value out of Values.
	Value func(Values) pulumi.StringInput
}

// Rows are the parameters ECS resolves into the container's
// environment at task start (a change reaches the app on the next task
// without a new task definition). Every one is a SecureString under the
// data key: the execution role decrypts it through SSM, and no other
// parameter is a SecureString (tests/params_table_test.go).
var Rows = []Injected{
	{Env: "DB_WRITER_HOST", Path: "db/writer-host", Description: "Aurora cluster (writer) endpoint; follows failover", Migrate: true,
		Value: func(v Values) pulumi.StringInput { return v.DBWriterHost }},
	{Env: "DB_READER_HOST", Path: "db/reader-host", Description: "Aurora reader endpoint",
		Value: func(v Values) pulumi.StringInput { return v.DBReaderHost }},
	{Env: "DB_PORT", Path: "db/port", Description: "PostgreSQL port", Migrate: true,
		Value: func(v Values) pulumi.StringInput { return v.DBPort }},
	{Env: "DB_NAME", Path: "db/name", Description: "database name", Migrate: true,
		Value: func(v Values) pulumi.StringInput { return v.DBName }},
	{Env: "DB_SSLMODE", Path: "db/sslmode", Description: "libpq sslmode: verify-full against the RDS CA bundle in the image (IAM authentication requires it; rds.force_ssl=1)", Migrate: true,
		Value: func(v Values) pulumi.StringInput { return v.DBSSLMode }},
	{Env: "SESSIONS_TABLE", Path: "sessions/table", Description: "DynamoDB sessions table",
		Value: func(v Values) pulumi.StringInput { return v.SessionsTable }},
	{Env: "EVENT_BUS_NAME", Path: "events/bus-name", Description: "EventBridge bus the service publishes orders to",
		Value: func(v Values) pulumi.StringInput { return v.EventBusName }},
	{Env: "SESSION_TTL", Path: "sessions/ttl", Description: "session lifetime (Go duration)",
		Value: func(v Values) pulumi.StringInput { return v.SessionTTL }},
	{Env: "OIDC_ISSUER", Path: "identity/issuer", Description: "OIDC issuer of the bearer tokens (the Cognito user pool)",
		Value: func(v Values) pulumi.StringInput { return v.OIDCIssuer }},
	{Env: "OIDC_CLIENT_IDS", Path: "identity/client-ids", Description: "app clients whose tokens the service accepts (desks and probes)",
		Value: func(v Values) pulumi.StringInput { return v.OIDCClientIDs }},
	{Env: "OIDC_TRADER_MAP", Path: "identity/trader-map", Description: "client id = trader id, per desk and probe",
		Value: func(v Values) pulumi.StringInput { return v.OIDCTraderMap }},
}

// KeySetPath is the parameter, below /trading/<suffix>, that holds the
// identity issuer's signing keys (a JSON Web Key Set) for the service
// (OIDC_JWKS_PARAMETER). The key sync workflow writes it; the service reads
// it with ssm:GetParameter through the ssm endpoint, so no task needs a path
// to the Amazon Cognito JWKS URL, which no VPC endpoint serves for a user
// pool with a domain (docs/service.md, "Signing keys").
const KeySetPath = "identity/jwks"

// KeySetPlaceholder is the parameter's value until the first sync: a key
// set without keys, which the service treats as keys unavailable (503).
const KeySetPlaceholder = `{"keys":[]}`

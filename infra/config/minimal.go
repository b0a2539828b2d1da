package config

// ProdStack is the stack name the production rules apply to (paging,
// notifications, WAF).
const ProdStack = "prod"

// Kinds of the keys of a minimal stack (MinimalKeys).
const (
	// KindRequired: Parse refuses the stack without it, because the key
	// has no default, the stack is prod, or a switch the stack sets needs it.
	KindRequired = "required"
	// KindSwitch: a choice that makes the stack what it is (prod:
	// protected, serving clients). Parse accepts the stack without it;
	// with it on, the keys it needs become required.
	KindSwitch = "switch"
	// KindGuard: a setting the program never reads that every stack file
	// carries (tests/providers_test.go).
	KindGuard = "guard"
)

// MinimalKey is a key a new stack's file must set; everything else has a
// default in Pulumi.yaml and is tuning.
type MinimalKey struct {
	// Key is the fully qualified key ("aws:region", "trading-ha:pageEmails").
	Key string
	// Kind is KindRequired, KindSwitch or KindGuard.
	Kind string
	// Prod marks a key only the prod stack needs.
	Prod bool
	// Because is the switch a required key depends on; empty when the
	// key is required on its own.
	Because string
	// Why is the rule in words.
	Why string
}

// MinimalKeys are the keys a new stack must set, in the order a stack file
// lists them. docs/config.md ("Minimal stack") is generated from them, the
// stack files list them first, and tests/minimal_test.go records a stack
// holding only them and removes each required one to see it refused.
var MinimalKeys = []MinimalKey{
	{Key: "pulumi:disable-default-providers", Kind: KindGuard,
		Why: `["*"]: every resource names an explicit provider, so the engine refuses one that falls back to ambient config and credentials (docs/deploy.md); the program does not read it`},
	{Key: "aws:region", Kind: KindRequired,
		Why: "no default (Pulumi.yaml declares the project's keys only); must be " + Region},
	{Key: "aws:defaultTags", Kind: KindRequired,
		Why: "no default; tags every resource and must carry Application, Environment, Owner, CostCenter and DataClassification"},
	{Key: Project + ":environmentSuffix", Kind: KindRequired,
		Why: "no default: ends every physical name, so it differs per stack (at most 14 characters)"},

	{Key: Project + ":pageEmails", Kind: KindRequired, Prod: true,
		Why: "prod pages by email too, which still arrives when the paging service is down"},
	{Key: Project + ":pageHttpsEndpoint", Kind: KindRequired, Prod: true,
		Why: "prod pages a paging service that acknowledges and escalates; the URL carries the integration key, so set it with --secret"},
	{Key: Project + ":notifyEmails", Kind: KindRequired, Prod: true,
		Why: "prod tells somebody what does not page (a gray AZ, throttling, dead letters, runbook reports)"},
	{Key: Project + ":deletionProtection", Kind: KindSwitch, Prod: true,
		Why: "true: Aurora, DynamoDB, the ALB, the data bucket and the vaults are kept on destroy; false only for step one of the two-step destroy (docs/destroy.md)"},
	{Key: Project + ":allowedAccountIds", Kind: KindRequired, Prod: true, Because: Project + ":deletionProtection",
		Why: "the only accounts the aws providers may act in: a protected stack never deploys into whatever account the credentials name"},
	{Key: Project + ":deployRoleArn", Kind: KindRequired, Prod: true, Because: Project + ":deletionProtection",
		Why: "the role `pulumi up` runs as: the vault access policies deny lock and policy changes to everyone else but break-glass (docs/backup.md)"},
	{Key: Project + ":liveTraffic", Kind: KindSwitch, Prod: true,
		Why: "true: the stack serves real clients, who (and the canary) verify a CA-issued certificate on the delegated app name"},
	{Key: Project + ":domainName", Kind: KindRequired, Prod: true, Because: Project + ":liveTraffic",
		Why: "the zone of the app name clients verify the certificate against (appRecordName.domainName)"},
	{Key: Project + ":dnsDelegated", Kind: KindRequired, Prod: true, Because: Project + ":liveTraffic",
		Why: "must be true: the parent zone delegates domainName, so clients resolve the app name"},
	{Key: Project + ":certificateMode", Kind: KindRequired, Prod: true, Because: Project + ":liveTraffic",
		Why: "existing or dns: the default, selfsigned, is refused for live traffic"},
	{Key: Project + ":certificateArn", Kind: KindRequired, Prod: true, Because: Project + ":liveTraffic",
		Why: "the ACM certificate of certificateMode existing (with certificateMode dns, hostedZoneId instead)"},
}

// Minimal returns the keys a new stack named stack must set: the prod
// stack's keys only for ProdStack.
func Minimal(stack string) []MinimalKey {
	var out []MinimalKey
	for _, m := range MinimalKeys {
		if !m.Prod || stack == ProdStack {
			out = append(out, m)
		}
	}
	return out
}

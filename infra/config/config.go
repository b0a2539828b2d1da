// Package config loads the stack configuration once into a typed struct,
// validates every key, and reports all problems together — naming the key,
// the value and the rule — before any resource is registered.
package config

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pconfig "github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/version"
)

// Project is the Pulumi project name and the namespace of the program's keys.
const Project = "trading-ha"

// Region is the only region the platform is designed for: Route 53 health
// check metrics, the ALB log-delivery account and the CloudWatch alarms on
// them all assume us-east-1.
const Region = "us-east-1"

// RequiredTags are the tag keys aws:defaultTags must carry.
var RequiredTags = []string{"Application", "Environment", "Owner", "CostCenter", "DataClassification"}

// LogRetentionDays are the retention periods CloudWatch Logs accepts.
var LogRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// Config is the whole validated stack configuration.
type Config struct {
	// Stack is the Pulumi stack name (dev, prod).
	Stack string
	// EnvironmentSuffix ends every physical name.
	EnvironmentSuffix string
	// DefaultTags are aws:defaultTags' tags, applied by the provider to every resource.
	DefaultTags map[string]string
	// AllowedAccountIDs are the only AWS accounts the stack's aws providers
	// may act in (pulumi-aws ProviderArgs.AllowedAccountIds); required when
	// DeletionProtection is on (a production stack).
	AllowedAccountIDs []string
	// RTO and RPO are the budgets the resilience report enforces.
	RTO, RPO time.Duration

	// Shared holds the stack-wide settings a component may take beside
	// its own section.
	Shared

	// One section per component, named for it: a component's Args take
	// its section and Shared, never the whole Config.
	Network  Network
	Storage  Storage
	Sessions Sessions
	Params   Params
	Identity Identity
	Events   Events
	Backup   Backup
	// Database configures the Aurora PostgreSQL cluster.
	Database Database

	DNS        DNS
	Monitoring Monitoring
	Service    Service
	Drills     Drills
	Runbooks   Runbooks
	// Audit and Trading: the audit trail, immutable backups, closed egress
	// and the production TLS requirement (audit.go).
	Audit   Audit
	Trading Trading
}

// Shared are the stack-wide settings: where the stack runs and the
// policies every component applies (deletion protection, log retention).
type Shared struct {
	// Region is aws:region; always us-east-1.
	Region string
	// AvailabilityZones are the three AZs everything spreads over.
	AvailabilityZones []string
	// DeletionProtection turns on deletion protection of Aurora, DynamoDB
	// and the ALB, and the stricter defaults of a production stack.
	DeletionProtection bool
	// LogRetentionDays is the retention of every CloudWatch log group.
	LogRetentionDays int
}

// KMSDeletionWindowDays is the deletion window of every key: 30 days when
// deletionProtection is on, 7 otherwise.
func (s Shared) KMSDeletionWindowDays() int {
	if s.DeletionProtection {
		return KMSWindowProtected
	}
	return KMSWindowDestroyable
}

// KMS deletion windows: AWS KMS accepts 7-30 days (KMS API Reference,
// ScheduleKeyDeletion, PendingWindowInDays). Protected stacks take the
// longest, throw-away stacks the shortest.
const (
	KMSWindowProtected   = 30
	KMSWindowDestroyable = 7
)

// Network configures the VPC.
type Network struct {
	// CIDR is the VPC's IPv4 range.
	CIDR netip.Prefix
	// NATGateways is awsx's NAT strategy: OnePerAz or Single.
	NATGateways string
	// FlowLogTrafficType is ALL, ACCEPT or REJECT.
	FlowLogTrafficType string
	// PrivateEgress is how the tasks reach AWS APIs: EgressNAT (HTTPS to
	// any address through the NAT gateways) or EgressEndpoints (interface
	// VPC endpoints and the gateway endpoints only; no NAT gateways, no
	// route to the internet from the private subnets).
	PrivateEgress string
}

// ecrImagePattern matches an image in a private Amazon ECR registry of the
// stack's region, the only registry closed egress reaches.
var ecrImagePattern = regexp.MustCompile(`^\d{12}\.dkr\.ecr\.` + Region + `\.amazonaws\.com/`)

// Private egress modes (config privateEgress).
const (
	EgressNAT       = "nat"
	EgressEndpoints = "endpoints"
)

// ClosedEgress reports whether the tasks reach AWS only through VPC
// endpoints.
func (n Network) ClosedEgress() bool { return n.PrivateEgress == EgressEndpoints }

// Storage configures the S3 buckets.
type Storage struct {
	// Lifecycle is every bucket's lifecycle; the audit trail's bucket
	// follows it too.
	Lifecycle
	// BucketNameTail (bucketNameTail) keeps an existing stack's bucket
	// names: the 8-hex-digit tail the random_id resources gave them before
	// bucket names were derived from the account. Empty (the default,
	// every new stack): the tail is the AWS account ID. See BucketTail.
	BucketNameTail string
}

// Lifecycle are the S3 lifecycle periods of the stack's buckets.
type Lifecycle struct {
	// NoncurrentTransitionDays moves noncurrent versions to STANDARD_IA.
	NoncurrentTransitionDays int
	// NoncurrentExpirationDays deletes noncurrent versions.
	NoncurrentExpirationDays int
	// AbortMultipartDays aborts incomplete multipart uploads.
	AbortMultipartDays int
	// LogsExpirationDays expires objects in the logs/artifacts bucket.
	LogsExpirationDays int
}

// BucketTail is the unique tail of a bucket name, <type>-<suffix>-<tail>:
// configured, the tail an existing stack's bucket already has (S3 renames
// nothing: a new name replaces the bucket); otherwise the account ID,
// which makes the name globally unique per account and stack and known at
// program time (aws.GetCallerIdentity answers during preview).
func BucketTail(configured, account string) string {
	if configured != "" {
		return configured
	}
	return account
}

// Sessions configures the DynamoDB sessions table.
type Sessions struct {
	// TTL is how long a trading session lives.
	TTL time.Duration
}

// Identity configures who may trade.
type Identity struct {
	// Desks are the trading desks, one Cognito app client each.
	Desks []string
}

// Params configures the Parameter Store hierarchy.
type Params struct {
	// FeatureFlags are the flags switched on for this stack.
	FeatureFlags []string
}

var (
	suffixPattern = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	azPattern     = regexp.MustCompile(`^us-east-1[a-f]$`)
	flagPattern   = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	deskPattern   = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,28}[a-z0-9])?$`)
	// legacyTail is the tail random_id gave bucket names before they were
	// derived from the account: ByteLength 4, hex, so 8 hex digits
	// (random_id, which pulumi-random bridges: hex is "The generated ID
	// presented in padded hexadecimal digits. This result will always be
	// twice as long as the requested byte length").
	legacyTail     = regexp.MustCompile(`^[0-9a-f]{8}$`)
	legacyTailRule = "empty (the account ID) or the 8 lowercase hex digits that end the existing bucket's name"
)

// KillSwitchFlag is the flag parameter the service reads as its kill
// switch (CONTRACT.md section 5).
const KillSwitchFlag = "trading-enabled"

// Load reads the stack configuration from the Pulumi context.
func Load(ctx *pulumi.Context) (*Config, error) {
	return Parse(ctx.Stack(), stackLookup(ctx, nil))
}

// stackLookup reads a key from the stack's config and, when the stack does
// not set it, from defaults (nil: none).
func stackLookup(ctx *pulumi.Context, defaults map[string]string) Lookup {
	return func(key string) (string, bool) {
		if v, err := pconfig.Try(ctx, key); err == nil {
			return v, true
		}
		v, ok := defaults[key]
		return v, ok
	}
}

// Parse validates the configuration a Lookup returns. Every problem is
// reported in one Errors value.
func Parse(stack string, lookup Lookup) (*Config, error) {
	r := &reader{lookup: lookup}
	k := func(name string) string { return Project + ":" + name }
	c := &Config{Stack: stack}

	maxLen, by := naming.MaxSuffixLen()
	if v, ok := r.raw(k("environmentSuffix")); ok {
		switch {
		case !suffixPattern.MatchString(v) || strings.HasSuffix(v, "-") || strings.Contains(v, "--"):
			r.fail(k("environmentSuffix"), v, "must be lowercase letters, digits and single hyphens, start with a letter and not end with a hyphen")
		case len(v) > maxLen:
			r.fail(k("environmentSuffix"), v, "must be at most %d characters: %s names allow %d characters and start with %q",
				maxLen, by.Type, by.MaxLen, by.Path+by.Type+"-")
		default:
			if err := naming.CheckSuffix(v); err != nil {
				r.fail(k("environmentSuffix"), v, "must give names AWS accepts: %v", err)
			}
		}
		c.EnvironmentSuffix = v
	}
	if v, ok := r.raw("aws:region"); ok {
		if v != Region {
			r.fail("aws:region", v, "must be %s: the platform's Route 53 health-check alarms and ALB log delivery are built for it", Region)
		}
		c.Region = v
	}
	c.DefaultTags = r.defaultTags()

	c.AvailabilityZones = r.strings(k("availabilityZones"), 3, 3)
	for _, az := range c.AvailabilityZones {
		if !azPattern.MatchString(az) {
			r.fail(k("availabilityZones"), az, "each zone must be an availability zone of %s, such as us-east-1a", Region)
		}
	}
	if len(c.AvailabilityZones) == 3 && len(slices.Compact(slices.Sorted(slices.Values(c.AvailabilityZones)))) != 3 {
		r.fail(k("availabilityZones"), strings.Join(c.AvailabilityZones, ","), "must name three distinct zones")
	}
	c.DeletionProtection = r.boolean(k("deletionProtection"))
	c.AllowedAccountIDs = r.accountIDs(k("allowedAccountIds"), c.DeletionProtection)
	c.LogRetentionDays = r.integerIn(k("logRetentionDays"), LogRetentionDays, "retention periods CloudWatch Logs accepts")
	c.RTO = time.Duration(r.integer(k("rtoMinutes"), 5, 240)) * time.Minute
	c.RPO = time.Duration(r.integer(k("rpoMinutes"), 5, 1440)) * time.Minute

	c.Network = Network{
		CIDR:               r.cidr(k("vpcCidr"), 16, 20),
		NATGateways:        r.oneOf(k("natGateways"), "OnePerAz", "Single"),
		FlowLogTrafficType: r.oneOf(k("flowLogTrafficType"), "ALL", "ACCEPT", "REJECT"),
		PrivateEgress:      r.oneOf(k("privateEgress"), EgressNAT, EgressEndpoints),
	}
	c.Storage = Storage{
		Lifecycle: Lifecycle{
			NoncurrentTransitionDays: r.integer(k("noncurrentTransitionDays"), 30, 365),
			NoncurrentExpirationDays: r.integer(k("noncurrentExpirationDays"), 31, 3650),
			AbortMultipartDays:       r.integer(k("abortMultipartDays"), 1, 30),
			LogsExpirationDays:       r.integer(k("logsExpirationDays"), 90, 3650),
		},
		BucketNameTail: r.optional(k("bucketNameTail"), legacyTail, legacyTailRule),
	}
	if c.Storage.NoncurrentExpirationDays != 0 && c.Storage.NoncurrentExpirationDays <= c.Storage.NoncurrentTransitionDays {
		r.fail(k("noncurrentExpirationDays"), fmt.Sprint(c.Storage.NoncurrentExpirationDays),
			"must be greater than noncurrentTransitionDays (%d)", c.Storage.NoncurrentTransitionDays)
	}
	c.Sessions = Sessions{TTL: r.duration(k("sessionTtl"), 5*time.Minute, 24*time.Hour)}
	c.Identity = Identity{Desks: r.strings(k("tradingDesks"), 1, 20)}
	seenDesk := map[string]bool{}
	for _, d := range c.Identity.Desks {
		if !deskPattern.MatchString(d) || seenDesk[d] {
			r.fail(k("tradingDesks"), d, "each desk must be a distinct name of 1-30 lowercase letters, digits and inner hyphens (its Cognito app client is client-desk-<name>-<suffix>)")
		}
		seenDesk[d] = true
	}
	c.Params = Params{FeatureFlags: r.strings(k("featureFlags"), 0, 50)}
	for _, f := range c.Params.FeatureFlags {
		if !flagPattern.MatchString(f) {
			r.fail(k("featureFlags"), f, "each flag must be lowercase letters, digits and hyphens, 1-63 characters, starting with a letter")
		}
		if f == KillSwitchFlag {
			r.fail(k("featureFlags"), f, "is the trading kill switch (/trading/<suffix>/flags/%s), set by tradingEnabled: a feature flag of that name would collide with it", KillSwitchFlag)
		}
	}

	c.Events = r.events(k)
	c.Backup = r.backup(k, c)
	c.Database = r.database(k)
	// An unprotected stack promises a one-step destroy. Readers Aurora Auto
	// Scaling adds are AWS's, not Pulumi's: they outlive the scaling target
	// ("Aurora Auto Scaling only removes Aurora Replicas that it created",
	// Aurora User Guide, "Amazon Aurora Auto Scaling with Aurora Replicas"),
	// and the cluster cannot be deleted while it has instances (Aurora User
	// Guide, "Deleting Aurora DB clusters and DB instances"), so `pulumi
	// destroy` would fail on the cluster. Step one of a protected stack's
	// two-step destroy therefore sets both keys; RegisterScalableTarget
	// with the lower maximum scales the readers in (docs/destroy.md).
	if !c.DeletionProtection && c.Database.ReaderCount != 0 && c.Database.ReaderMaxCount > c.Database.ReaderCount {
		r.fail(k("dbReaderMaxCount"), strconv.Itoa(c.Database.ReaderMaxCount),
			"must equal dbReaderCount (%d) while deletionProtection is false: readers Aurora Auto Scaling adds are not deleted with the stack "+
				"and a cluster with instances cannot be deleted, so `pulumi destroy` would fail (docs/destroy.md)", c.Database.ReaderCount)
	}
	c.DNS = r.dns(k)
	c.Monitoring = r.monitoring(stack, k, c.DNS)
	c.Service = r.service(stack, k)
	// Closed egress pulls images only through the ECR endpoints: an image
	// from another registry would never start.
	if c.Network.ClosedEgress() && c.Service.AppImage != "" && !ecrImagePattern.MatchString(c.Service.AppImage) {
		r.fail(k("appImage"), c.Service.AppImage, "must be an Amazon ECR image of %s (<account>.dkr.ecr.%s.amazonaws.com/...) when privateEgress is endpoints: the tasks have no internet egress", Region, Region)
	}
	if c.DNS.DomainName != "" {
		c.Service.DomainName = c.DNS.AppRecordName + "." + c.DNS.DomainName
	} else if c.Service.CertificateMode == CertDNS {
		r.fail(k("certificateMode"), CertDNS, "needs domainName: ACM validates a certificate for appRecordName.domainName")
	}
	r.liveTraffic(k, c.Service, c.DNS)
	c.Runbooks = r.runbooks(k)
	c.Drills = r.drills(k, c.AvailabilityZones)
	c.Audit = r.audit(k, c.DeletionProtection)
	c.Trading = r.trading(k)

	if len(r.errs) > 0 {
		return nil, r.errs
	}
	return c, nil
}

// accountIDPattern is an AWS account ID: exactly 12 digits (AWS
// Organizations API Reference, DescribeAccount AccountId: "The regex
// pattern for an account ID string requires exactly 12 digits").
var accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)

// accountIDs reads allowedAccountIds: distinct 12-digit account IDs, at
// least one when required (deletionProtection true, i.e. a production
// stack, so prod never deploys into whatever account the credentials name).
func (r *reader) accountIDs(key string, required bool) []string {
	ids := r.strings(key, 0, 20)
	seen := map[string]bool{}
	for _, id := range ids {
		if !accountIDPattern.MatchString(id) || seen[id] {
			r.fail(key, id, "each entry must be a distinct AWS account ID of exactly 12 digits")
		}
		seen[id] = true
	}
	if required && len(ids) == 0 {
		v, _ := r.lookup(key)
		r.fail(key, v, "must name the account(s) the stack may deploy into when deletionProtection is true (a production stack): the aws providers refuse any other account")
	}
	return ids
}

// defaultTags reads aws:defaultTags ({"tags": {...}}) and checks the required keys.
func (r *reader) defaultTags() map[string]string {
	v, ok := r.raw("aws:defaultTags")
	if !ok {
		return nil
	}
	var dt struct {
		Tags map[string]string `json:"tags"`
	}
	if err := json.Unmarshal([]byte(v), &dt); err != nil {
		r.fail("aws:defaultTags", v, `must be an object {"tags": {"Key": "Value", ...}}`)
		return nil
	}
	var missing []string
	for _, t := range RequiredTags {
		if strings.TrimSpace(dt.Tags[t]) == "" {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		r.fail("aws:defaultTags", v, "must set the tags %s (required on every resource)", strings.Join(missing, ", "))
	}
	if _, ok := dt.Tags[version.TagKey]; ok {
		r.fail("aws:defaultTags", v, "must not set the tag %s: the program sets it to the platform's version", version.TagKey)
	}
	return dt.Tags
}

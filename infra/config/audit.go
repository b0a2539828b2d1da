package config

import (
	"slices"
	"strconv"
	"strings"
)

// Trail bucket Object Lock modes (config trailObjectLockMode): the default
// retention S3 applies to every new log file (Amazon S3 User Guide,
// "Locking objects with Object Lock", retention modes). In governance mode
// a principal with s3:BypassGovernanceRetention may still delete a locked
// version (what forceDestroy does on destroy); in compliance mode nobody
// can, the root user included, until its retention ends; off leaves the
// bucket without a default retention.
const (
	ObjectLockGovernance = "governance"
	ObjectLockCompliance = "compliance"
	ObjectLockOff        = "off"
)

// Audit configures the audit trail: the stack's own trail and the WORM
// retention of its bucket.
type Audit struct {
	// CloudTrail creates the stack's own trail; off where an organization
	// trail already covers the account.
	CloudTrail bool
	// TrailObjectLockMode is the trail bucket's Object Lock default
	// retention mode (ObjectLock*): by default compliance when
	// deletionProtection is on, governance otherwise.
	TrailObjectLockMode string
	// TrailObjectLockDays is that default retention, in days.
	TrailObjectLockDays int
	// TrailBucketNameTail (trailBucketNameTail) keeps an existing stack's
	// trail bucket name, as Storage.BucketNameTail does the others'.
	TrailBucketNameTail string
}

// Trading holds the feature flag and limits the trading service reads from
// /trading/<suffix>/flags and /trading/<suffix>/limits.
type Trading struct {
	Enabled         bool
	MaxNotional     int
	PriceBandPct    int
	OrdersPerSecond int
}

// audit reads the trail keys; deletionProtection decides the default
// Object Lock mode.
func (r *reader) audit(k func(string) string, deletionProtection bool) Audit {
	a := Audit{
		CloudTrail: r.boolean(k("cloudTrailEnabled")),
		TrailObjectLockMode: r.modeOr(k("trailObjectLockMode"), protectedOr(deletionProtection, ObjectLockCompliance, ObjectLockGovernance),
			ObjectLockGovernance, ObjectLockCompliance, ObjectLockOff),
		TrailObjectLockDays: r.integer(k("trailObjectLockDays"), 1, 36500),
		TrailBucketNameTail: r.optional(k("trailBucketNameTail"), legacyTail, legacyTailRule),
	}
	if a.TrailObjectLockMode == ObjectLockCompliance && !deletionProtection {
		r.fail(k("trailObjectLockMode"), a.TrailObjectLockMode,
			"must be governance or off when deletionProtection is false: no one can delete a compliance-locked log file before its retention ends, so `pulumi destroy` could not empty and delete the trail bucket (docs/destroy.md)")
	}
	return a
}

// liveTraffic checks what a stack serving real clients (liveTraffic,
// read with the service's keys) needs of its certificate and name.
func (r *reader) liveTraffic(k func(string) string, svc Service, dns DNS) {
	if !svc.LiveTraffic {
		return
	}
	if svc.CertificateMode == CertSelfSigned {
		r.fail(k("certificateMode"), svc.CertificateMode,
			"must be existing or dns when liveTraffic is true: a stack serving real clients presents a CA-issued certificate (docs/deploy.md)")
	}
	if dns.DomainName == "" {
		r.fail(k("domainName"), "",
			"required when liveTraffic is true: clients and the canary verify the certificate against the app name, appRecordName.domainName")
	}
	if !dns.Delegated {
		r.fail(k("dnsDelegated"), "false",
			"must be true when liveTraffic is true: clients and the canary verify the certificate against the delegated app name")
	}
}

// protectedOr is protected's value when deletionProtection is on, else
// unprotected's: the default of a mode key whose strict value would keep a
// stack from destroying.
func protectedOr(deletionProtection bool, protected, unprotected string) string {
	if deletionProtection {
		return protected
	}
	return unprotected
}

// modeOr reads a mode key whose empty value (its Pulumi.yaml default)
// means derived; any other value must be one of allowed.
func (r *reader) modeOr(key, derived string, allowed ...string) string {
	v, _ := r.lookup(key)
	if v == "" {
		return derived
	}
	if !slices.Contains(allowed, v) {
		r.fail(key, v, "must be one of %s, or empty for the default (%s here)", strings.Join(allowed, ", "), derived)
	}
	return v
}

// trading reads the flag and limits published to Parameter Store.
func (r *reader) trading(k func(string) string) Trading {
	t := Trading{
		Enabled:         r.boolean(k("tradingEnabled")),
		MaxNotional:     r.integer(k("maxNotional"), 1, 1_000_000_000),
		PriceBandPct:    r.integer(k("priceBandPct"), 1, 50),
		OrdersPerSecond: r.integer(k("ordersPerSecond"), 1, 10_000),
	}
	return t
}

// KillSwitchParam and LimitsPath are the kill switch's parameter and the
// risk limits' path below /trading/<suffix>/.
const (
	KillSwitchParam = "flags/" + KillSwitchFlag
	LimitsPath      = "limits"
)

// TradingParams are the trading service's flag and limits: path below
// /trading/<suffix>/ and value, in the order they are created.
func (t Trading) Params() [][2]string {
	return [][2]string{
		{KillSwitchParam, strconv.FormatBool(t.Enabled)},
		{LimitsPath + "/max-notional", strconv.Itoa(t.MaxNotional)},
		{LimitsPath + "/price-band-pct", strconv.Itoa(t.PriceBandPct)},
		{LimitsPath + "/max-orders-per-second", strconv.Itoa(t.OrdersPerSecond)},
	}
}

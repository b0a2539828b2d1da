package config

import (
	"slices"
	"strings"
	"time"
)

// ResiliencyTiers are the tiers AWS Resilience Hub accepts for a resiliency
// policy (CreateResiliencyPolicy, tier).
var ResiliencyTiers = []string{"MissionCritical", "Critical", "Important", "CoreServices", "NonCritical", "NotApplicable"}

// MaxDisruption bounds drillDisruptionDuration: FIS allows up to 12 hours
// for aws:network:disrupt-connectivity; a game day never needs more than an
// hour of one AZ cut off.
const MaxDisruption = time.Hour

// Drills configures the resilience component: FIS experiment templates and
// the Resilience Hub policy.
type Drills struct {
	// AvailabilityZone is the AZ the drills hit; one of AvailabilityZones.
	AvailabilityZone string
	// AZIndex is AvailabilityZone's position in AvailabilityZones, which is
	// also the index of its subnets in the network's subnet lists.
	AZIndex int
	// DisruptionDuration is how long the network disruption lasts.
	DisruptionDuration time.Duration
	// ResiliencyTier is the Resilience Hub policy tier.
	ResiliencyTier string
}

// drills reads the drill keys. The drill AZ defaults to the first of azs.
func (r *reader) drills(k func(string) string, azs []string) Drills {
	d := Drills{
		DisruptionDuration: r.duration(k("drillDisruptionDuration"), time.Minute, MaxDisruption),
		ResiliencyTier:     r.oneOf(k("resiliencyTier"), ResiliencyTiers...),
	}
	if d.DisruptionDuration%time.Second != 0 {
		r.fail(k("drillDisruptionDuration"), d.DisruptionDuration.String(), "must be whole seconds (FIS durations are ISO 8601 seconds at the finest)")
	}
	az, _ := r.lookup(k("drillAvailabilityZone"))
	if az == "" {
		if len(azs) > 0 {
			d.AvailabilityZone = azs[0]
		}
		return d
	}
	d.AvailabilityZone = az
	d.AZIndex = slices.Index(azs, az)
	if d.AZIndex < 0 {
		r.fail(k("drillAvailabilityZone"), az, "must be one of availabilityZones (%s)", strings.Join(azs, ", "))
		d.AZIndex = 0
	}
	return d
}

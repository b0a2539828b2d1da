package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/trading-ha/trading-ha/infra/naming"
)

// DNS configures the public hosted zone, the app records and the Route 53
// health check of the public endpoint.
type DNS struct {
	// DomainName is the stack's public hosted zone, e.g. trading.acmebank.net;
	// empty (the default) creates no zone: the endpoint is the ALB's own
	// DNS name, which deploys in any fresh account.
	DomainName string
	// AppRecordName is the label of the app's alias records inside the zone ("app").
	AppRecordName string
	// Delegated says the parent zone delegates DomainName to our name servers.
	// Until it does, the health check and the canary probe the ALB's own DNS
	// name instead of the app FQDN.
	Delegated bool
	// HealthCheckFailureThreshold is how many consecutive failed checks turn
	// the Route 53 health check unhealthy (1-10).
	HealthCheckFailureThreshold int
	// HealthCheckRegions are the Route 53 checker regions (at least 3).
	HealthCheckRegions []string
}

// HealthCheckerRegions are the regions Route 53 health checkers run in (the
// values the Regions field of a health check accepts).
var HealthCheckerRegions = []string{
	"us-east-1", "us-west-1", "us-west-2", "eu-west-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "sa-east-1",
}

var (
	domainPattern = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	labelPattern  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// dns reads the Route 53 keys.
func (r *reader) dns(k func(string) string) DNS {
	d := DNS{
		DomainName:                  r.optional(k("domainName"), domainPattern, "empty or a lowercase DNS name of two or more labels, such as trading.acmebank.net"),
		AppRecordName:               r.str(k("appRecordName"), labelPattern, "one lowercase DNS label (letters, digits, inner hyphens, at most 63 characters)"),
		Delegated:                   r.boolean(k("dnsDelegated")),
		HealthCheckFailureThreshold: r.integer(k("healthCheckFailureThreshold"), 1, 10),
		HealthCheckRegions:          r.strings(k("healthCheckRegions"), 3, len(HealthCheckerRegions)),
	}
	if d.DomainName != "" {
		if fqdn := d.AppRecordName + "." + d.DomainName; len(fqdn) > 253 {
			r.fail(k("domainName"), d.DomainName, "with appRecordName %q the app name %q exceeds 253 characters", d.AppRecordName, fqdn)
		}
		if err := naming.CheckDomain(d.DomainName); err != nil {
			r.fail(k("domainName"), d.DomainName, "%v; set domainName to a domain you own, or leave it empty to serve on the ALB's DNS name", err)
		}
	}
	if d.Delegated && d.DomainName == "" {
		r.fail(k("dnsDelegated"), "true", "needs domainName: there is no zone to delegate while domainName is empty")
	}
	for _, region := range d.HealthCheckRegions {
		if !slices.Contains(HealthCheckerRegions, region) {
			r.fail(k("healthCheckRegions"), region, "each region must be a Route 53 health checker region: %s", strings.Join(HealthCheckerRegions, ", "))
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(d.HealthCheckRegions)))) != len(d.HealthCheckRegions) {
		r.fail(k("healthCheckRegions"), fmt.Sprint(d.HealthCheckRegions), "must not repeat a region")
	}
	return d
}

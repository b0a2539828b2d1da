package tests

import (
	"testing"

	"github.com/trading-ha/trading-ha/proof/offline"
)

const (
	typZone        = "aws:route53/zone:Zone"
	typRecord      = "aws:route53/record:Record"
	typHealthCheck = "aws:route53/healthCheck:HealthCheck"
	// The ALB name and zone the offline mocks give the service's load
	// balancer (proof/offline/outputs.go).
	mockALBZoneID = "Z35SXDOTRQ7X7K"
)

func mockALBDNS(stack string) string {
	return "alb-" + stack + "-1234567890.us-east-1.elb.amazonaws.com"
}

// domainOf is a domain a bank could own (not a reserved name): prod's stack
// file names it (a placeholder to replace), dev's leaves domainName empty.
func domainOf(stack string) string {
	return map[string]string{"dev": "dev.trading.acmebank.net", "prod": "trading.acmebank.net"}[stack]
}

// servesClients says whether the stack file serves clients (liveTraffic):
// prod presents a CA-issued certificate on its delegated app name.
func servesClients(stack string) bool { return stack == "prod" }

// freshAccount sets the keys with which Pulumi.prod.yaml serves clients
// (liveTraffic, domain, delegation, certificate) back to Pulumi.yaml's
// defaults, with which a fresh account deploys: no zone, the self-signed
// fallback, the ALB's own name. dev sets none of them.
var freshAccount = map[string]string{
	"trading-ha:liveTraffic": "false", "trading-ha:domainName": "", "trading-ha:dnsDelegated": "false",
	"trading-ha:certificateMode": "selfsigned", "trading-ha:certificateArn": "",
}

// selfSignedDomain is freshAccount with the stack's domain kept: a zone,
// but the self-signed fallback and no delegation yet.
func selfSignedDomain(stack string) map[string]string {
	o := map[string]string{}
	for k, v := range freshAccount {
		o[k] = v
	}
	delete(o, "trading-ha:domainName")
	return o
}

// recordFresh records a stack with the freshAccount defaults.
func recordFresh(t *testing.T, stack string) *offline.Recording {
	t.Helper()
	rec, err := recordWith(t, stack, freshAccount)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// probeHost is what the health check and the canary request in the stack
// file: the app name where the stack serves clients, else the ALB's name.
func probeHost(stack string) string {
	if servesClients(stack) {
		return "app." + domainOf(stack)
	}
	return mockALBDNS(stack)
}

// withDomain records a stack with domainName set, plus extra overrides.
func withDomain(t *testing.T, stack string, extra map[string]string) *offline.Recording {
	t.Helper()
	o := map[string]string{"trading-ha:domainName": domainOf(stack)}
	for k, v := range extra {
		o[k] = v
	}
	rec, err := recordWith(t, stack, o)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// forStacksWithDomain runs fn per stack on a recording with domainName set.
func forStacksWithDomain(t *testing.T, fn func(t *testing.T, stack string, rec *offline.Recording)) {
	for _, s := range Stacks {
		t.Run(s, func(t *testing.T) { fn(t, s, withDomain(t, s, nil)) })
	}
}

// TestNoDomainNoZone: without domainName (dev's stack file, and the
// defaults) a fresh account deploys with no zone and no records, and the
// endpoint is the ALB's name.
func TestNoDomainNoZone(t *testing.T) {
	for _, stack := range Stacks {
		t.Run(stack, func(t *testing.T) { noDomainNoZone(t, stack, recordFresh(t, stack)) })
	}
}

// TestProdServesClients: Pulumi.prod.yaml serves clients: its own zone
// with alias records, the health check and the canary on the app name, the
// canary verifying TLS, and the listener on the configured CA-issued
// certificate with no self-signed fallback.
func TestProdServesClients(t *testing.T) {
	rec := record(t, "prod")
	fqdn := "app." + domainOf("prod")
	eq(t, one(t, rec, typZone, "zone"), "name", domainOf("prod"))
	eq(t, one(t, rec, typHealthCheck, "endpoint"), "fqdn", fqdn)
	c := one(t, rec, typCanary, "api")
	eq(t, c, "runConfig.environmentVariables.TARGET_URL", "https://"+fqdn)
	if _, insecure := get(t, c, "runConfig.environmentVariables").(map[string]any)["TLS_INSECURE"]; insecure {
		t.Error("prod's canary must verify TLS")
	}
	arn := rec.Config["trading-ha:certificateArn"]
	if arn == "" {
		t.Fatal("Pulumi.prod.yaml names no certificateArn")
	}
	eq(t, one(t, rec, "aws:lb/listener:Listener", "https"), "certificateArn", arn)
	for _, typ := range []string{"tls:index/privateKey:PrivateKey", "tls:index/selfSignedCert:SelfSignedCert", "aws:acm/certificate:Certificate"} {
		if n := len(rec.ByType(typ)); n != 0 {
			t.Errorf("prod creates %d %s; it serves the configured certificate", n, typ)
		}
	}
	if n := len(rec.ByType(typRecord)); n == 0 {
		t.Error("prod routes no alias records to the ALB")
	}
}

func noDomainNoZone(t *testing.T, stack string, rec *offline.Recording) {
	{
		if n := len(rec.ByType(typZone)) + len(rec.ByType(typRecord)); n != 0 {
			t.Errorf("%d zones and records without domainName, want 0", n)
		}
		eq(t, one(t, rec, typHealthCheck, "endpoint"), "fqdn", mockALBDNS(stack))
	}
}

// TestReservedDomainsRefused: names no registrar delegates fail before any
// resource, naming the key, the value and the RFC.
func TestReservedDomainsRefused(t *testing.T) {
	for domain, rfc := range map[string]string{
		"dev.trading-ha.example.com": "RFC 2606", "trading.test": "RFC 6761", "app.invalid": "RFC 6761",
		"desk.local": "RFC 6762", "x.home.arpa": "RFC 8375", "trading.internal": "private use",
	} {
		t.Run(domain, func(t *testing.T) {
			rejects(t, "dev", map[string]string{"trading-ha:domainName": domain}, []string{"domainName", domain, rfc})
		})
	}
	rejects(t, "dev", map[string]string{"trading-ha:dnsDelegated": "true"}, []string{"dnsDelegated", "needs domainName"})
	rejects(t, "dev", map[string]string{"trading-ha:certificateMode": "dns", "trading-ha:hostedZoneId": "Z0123456789ABCDEFGHIJ"},
		[]string{"certificateMode", "needs domainName"})
}

// TestHostedZone: with domainName, one public zone per stack, destroyable
// with its records.
func TestHostedZone(t *testing.T) {
	forStacksWithDomain(t, func(t *testing.T, stack string, rec *offline.Recording) {
		if n := len(rec.ByType(typZone)); n != 1 {
			t.Fatalf("%d hosted zones, want 1", n)
		}
		z := one(t, rec, typZone, "zone")
		eq(t, z, "name", domainOf(stack))
		eq(t, z, "forceDestroy", true)
		eq(t, z, "comment", "zone-"+stack+": trading-ha public zone")
		if _, private := z.Inputs["vpcs"]; private {
			t.Error("zone has VPC associations; it must be public")
		}
		if z.Component != "trading:dns:Zone" {
			t.Errorf("zone belongs to %q, want trading:dns:Zone", z.Component)
		}
	})
}

// TestAppAliasRecords: A and AAAA aliases of app.<domain> to the ALB that
// evaluate target health.
func TestAppAliasRecords(t *testing.T) {
	forStacksWithDomain(t, func(t *testing.T, stack string, rec *offline.Recording) {
		if n := len(rec.ByType(typRecord)); n != 2 {
			t.Fatalf("%d records, want 2 (A and AAAA)", n)
		}
		for _, typ := range []string{"A", "AAAA"} {
			r := one(t, rec, typRecord, "app-"+typ)
			eq(t, r, "type", typ)
			eq(t, r, "name", "app."+domainOf(stack))
			eq(t, r, "zoneId", out(t, one(t, rec, "aws:route53/zone:Zone", "zone"), "zoneId"))
			eq(t, r, "aliases.0.name", mockALBDNS(stack))
			eq(t, r, "aliases.0.zoneId", mockALBZoneID)
			eq(t, r, "aliases.0.evaluateTargetHealth", true)
			if _, ok := r.Inputs["records"]; ok {
				t.Error("alias record must not carry plain records")
			}
		}
	})
}

// TestEndpointHealthCheck: HTTPS on 443 with SNI against the ALB's edge
// probe (the service's health paths answer 404 from the internet) every 10 s
// from at least three regions, measuring latency; until delegation it
// probes the ALB's own name (dev), once delegated the app name (prod).
func TestEndpointHealthCheck(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		hc := one(t, rec, typHealthCheck, "endpoint")
		eq(t, hc, "type", "HTTPS")
		eq(t, hc, "port", 443)
		eq(t, hc, "resourcePath", "/edge-probe")
		eq(t, hc, "requestInterval", 10)
		eq(t, hc, "failureThreshold", 3)
		eq(t, hc, "enableSni", true)
		eq(t, hc, "measureLatency", true)
		eq(t, hc, "regions", []string{"us-east-1", "us-west-2", "eu-west-1"})
		eq(t, hc, "fqdn", probeHost(stack))
		eq(t, hc, "tags.Name", "hc-"+stack)
		if _, ok := hc.Inputs["ipAddress"]; ok {
			t.Error("health check must probe a name, not an IP")
		}
	})
}

// TestDelegatedZoneProbesAppName: with dnsDelegated the health check and the
// canary go to the app FQDN and the canary verifies TLS.
func TestDelegatedZoneProbesAppName(t *testing.T) {
	for _, stack := range Stacks {
		t.Run(stack, func(t *testing.T) {
			rec := withDomain(t, stack, map[string]string{
				"trading-ha:dnsDelegated": "true", "trading-ha:healthCheckFailureThreshold": "2",
			})
			fqdn := "app." + domainOf(stack)
			hc := one(t, rec, typHealthCheck, "endpoint")
			eq(t, hc, "fqdn", fqdn)
			eq(t, hc, "failureThreshold", 2)
			c := one(t, rec, typCanary, "api")
			eq(t, c, "runConfig.environmentVariables.TARGET_URL", "https://"+fqdn)
			if _, insecure := get(t, c, "runConfig.environmentVariables").(map[string]any)["TLS_INSECURE"]; insecure {
				t.Error("a delegated zone's canary must verify TLS")
			}
		})
	}
}

// TestMonitoringBeforeTraffic: the alias records that route customers wait
// for the Route 53 health check, the canary, the paging composite and each
// of its member alarms ("all health checks and monitoring must be in place
// before traffic routing").
func TestMonitoringBeforeTraffic(t *testing.T) {
	forStacksWithDomain(t, func(t *testing.T, stack string, rec *offline.Recording) {
		must := []*offline.Resource{
			one(t, rec, typHealthCheck, "endpoint"),
			one(t, rec, typCanary, "api"),
			one(t, rec, "aws:cloudwatch/compositeAlarm:CompositeAlarm", "degraded"),
		}
		for _, k := range []string{"canary-success", "r53-health", "alb-5xx-rate", "p99-latency"} {
			must = append(must, one(t, rec, "aws:cloudwatch/metricAlarm:MetricAlarm", "alarm-"+k))
		}
		for _, typ := range []string{"A", "AAAA"} {
			r := one(t, rec, typRecord, "app-"+typ)
			for _, m := range must {
				if !rec.After(r, m) {
					t.Errorf("record app-%s does not wait for %s %s", typ, m.Type, m.Name)
				}
			}
		}
	})
}

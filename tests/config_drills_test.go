package tests

import (
	"testing"
)

// TestBadDrillConfigFailsBeforeAnyResource: each bad drill key is reported
// with its key, value and rule, and nothing is registered.
func TestBadDrillConfigFailsBeforeAnyResource(t *testing.T) {
	cases := []struct {
		name      string
		overrides map[string]string
		want      []string
	}{
		{"drill zone outside the stack's zones", map[string]string{"trading-ha:drillAvailabilityZone": "us-east-1d"},
			[]string{"trading-ha:drillAvailabilityZone", `"us-east-1d"`, "must be one of availabilityZones (us-east-1a, us-east-1b, us-east-1c)"}},
		{"drill zone of another region", map[string]string{"trading-ha:drillAvailabilityZone": "eu-west-1a"},
			[]string{"trading-ha:drillAvailabilityZone", `"eu-west-1a"`, "must be one of availabilityZones"}},
		{"zones moved without the drill zone", map[string]string{
			"trading-ha:availabilityZones":     `["us-east-1b","us-east-1c","us-east-1d"]`,
			"trading-ha:drillAvailabilityZone": "us-east-1a"},
			[]string{"trading-ha:drillAvailabilityZone", `"us-east-1a"`, "(us-east-1b, us-east-1c, us-east-1d)"}},
		{"disruption not a duration", map[string]string{"trading-ha:drillDisruptionDuration": "5 minutes"},
			[]string{"trading-ha:drillDisruptionDuration", `"5 minutes"`, "must be a duration"}},
		{"disruption too short", map[string]string{"trading-ha:drillDisruptionDuration": "30s"},
			[]string{"trading-ha:drillDisruptionDuration", `"30s"`, "between 1m0s and 1h0m0s"}},
		{"disruption too long", map[string]string{"trading-ha:drillDisruptionDuration": "2h"},
			[]string{"trading-ha:drillDisruptionDuration", `"2h"`, "between 1m0s and 1h0m0s"}},
		{"disruption fractional seconds", map[string]string{"trading-ha:drillDisruptionDuration": "90.5s"},
			[]string{"trading-ha:drillDisruptionDuration", "whole seconds"}},
		{"tier unknown", map[string]string{"trading-ha:resiliencyTier": "Gold"},
			[]string{"trading-ha:resiliencyTier", `"Gold"`, "MissionCritical, Critical, Important, CoreServices, NonCritical, NotApplicable"}},
		{"tier missing", map[string]string{"trading-ha:resiliencyTier": ""},
			[]string{"trading-ha:resiliencyTier is not set", "required"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rejects(t, "dev", c.overrides, c.want)
		})
	}
}

// TestDrillZoneDefaultsToFirstZone: with drillAvailabilityZone unset (the
// Pulumi.yaml default is empty) the drills hit the first configured zone.
func TestDrillZoneDefaultsToFirstZone(t *testing.T) {
	rec, err := recordWith(t, "dev", map[string]string{
		"trading-ha:availabilityZones":     `["us-east-1c","us-east-1a","us-east-1b"]`,
		"trading-ha:drillAvailabilityZone": "",
	})
	if err != nil {
		t.Fatal(err)
	}
	tasks := one(t, rec, fisType, "stop-tasks-az")
	eq(t, tasks, "targets.0.filters.0.values", []string{"us-east-1c"})
	// Index 0 of each subnet list is the first configured zone.
	eq(t, one(t, rec, fisType, "disrupt-network-az"), "targets.0.resourceArns", zoneSubnets("us-east-1a"))
}

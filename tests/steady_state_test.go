package tests

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"

	"github.com/trading-ha/trading-ha/proof/offline"
)

// continuous are the metrics AWS publishes every period while the platform
// runs, healthy or not; an alarm that treats missing data as breaching is
// only sound on one of them (silence would otherwise hold it in ALARM).
var continuous = map[string]string{
	"CloudWatchSynthetics/SuccessPercent":    "one datapoint per canary run",
	"AWS/Route53/HealthCheckStatus":          "every minute while the health check exists",
	"AWS/ApplicationELB/HealthyHostCount":    "every minute per AZ while targets are registered",
	"ECS/ContainerInsights/RunningTaskCount": "every minute with Container Insights on",
}

var canaryRate = regexp.MustCompile(`^rate\((\d+) minutes?\)$`)

// steadyStateFindings lists every metric alarm of a recording that could not
// be OK while the platform is healthy at its configured capacity: a per-AZ
// healthy-host alarm with fewer tasks than AZs, a running-task alarm above
// the desired count, missing-as-breaching on a metric that is not
// continuous, or a canary alarm whose period is shorter than the canary's
// interval (the empty periods would breach).
func steadyStateFindings(rec *offline.Recording) []string {
	var findings []string
	svc := rec.ByType("aws:ecs/service:Service")
	if len(svc) != 1 {
		return []string{"no single ECS service recorded"}
	}
	desired, _ := svc[0].Inputs["desiredCount"].(float64)
	subnets, _ := offline.Lookup(svc[0].Inputs, "networkConfiguration.subnets").([]any)
	canaryEvery := 0.0
	for _, c := range rec.ByType("aws:synthetics/canary:Canary") {
		if m := canaryRate.FindStringSubmatch(fmt.Sprint(offline.Lookup(c.Inputs, "schedule.expression"))); m != nil {
			n, _ := strconv.Atoi(m[1])
			canaryEvery = float64(n * 60)
		}
	}
	for _, a := range rec.ByType("aws:cloudwatch/metricAlarm:MetricAlarm") {
		metric := fmt.Sprintf("%v/%v", a.Inputs["namespace"], a.Inputs["metricName"])
		threshold, _ := a.Inputs["threshold"].(float64)
		period, _ := a.Inputs["period"].(float64)
		name := fmt.Sprint(a.Inputs["name"])
		if a.Inputs["treatMissingData"] == "breaching" {
			if _, ok := continuous[metric]; !ok {
				findings = append(findings, fmt.Sprintf("%s treats missing %s as breaching; AWS does not publish it continuously", name, metric))
			}
		}
		switch metric {
		case "AWS/ApplicationELB/HealthyHostCount":
			if _, perAZ := offline.Lookup(a.Inputs, "dimensions.AvailabilityZone").(string); perAZ && len(subnets) > 0 {
				if perTask := int(desired) / len(subnets); float64(perTask) < threshold {
					findings = append(findings, fmt.Sprintf("%s needs %.0f healthy task(s) in its AZ; %.0f tasks over %d AZs leave an AZ with %d", name, threshold, desired, len(subnets), perTask))
				}
			}
		case "ECS/ContainerInsights/RunningTaskCount":
			if threshold > desired {
				findings = append(findings, fmt.Sprintf("%s alarms below %.0f running tasks; the service runs %.0f", name, threshold, desired))
			}
		case "CloudWatchSynthetics/SuccessPercent":
			if canaryEvery > 0 && period < canaryEvery {
				findings = append(findings, fmt.Sprintf("%s has %.0f s periods; the canary runs every %.0f s, so most periods are empty", name, period, canaryEvery))
			}
		}
	}
	return findings
}

// TestEveryAlarmCanBeOK: in steady state, at the configured capacity, no
// alarm of either stack is condemned to ALARM (so the composite, the health
// check runbook and recovery are quiet until something breaks).
func TestEveryAlarmCanBeOK(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		for _, f := range steadyStateFindings(rec) {
			t.Error(f)
		}
		if n := len(rec.ByType("aws:cloudwatch/metricAlarm:MetricAlarm")); n < 20 {
			t.Errorf("only %d alarms checked", n)
		}
	})
}

// TestSteadyStateFindingsFire: the review's dev defect (2 tasks over 3 AZs)
// and a canary alarm with one-minute periods on a 5-minute canary are
// found.
func TestSteadyStateFindingsFire(t *testing.T) {
	rec, err := recordWith(t, "dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rec.Resources {
		switch {
		case r.Type == "aws:ecs/service:Service":
			r.Inputs["desiredCount"] = float64(2)
		case r.Type == "aws:cloudwatch/metricAlarm:MetricAlarm" && r.Inputs["metricName"] == "SuccessPercent":
			r.Inputs["period"] = float64(60)
		}
	}
	got := fmt.Sprint(steadyStateFindings(rec))
	for _, want := range []string{"alarm-healthy-hosts-us-east-1a-dev needs 1 healthy task(s)", "alarm-ecs-running-tasks-dev alarms below 3", "alarm-canary-success-dev has 60 s periods"} {
		if !regexp.MustCompile(regexp.QuoteMeta(want)).MatchString(got) {
			t.Errorf("findings do not report %q: %s", want, got)
		}
	}
}

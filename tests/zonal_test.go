package tests

import (
	"strconv"
	"testing"

	"github.com/trading-ha/trading-ha/proof/metricmath"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// TestZonalShiftEnabled: the ALB takes an ARC zonal shift (off by default
// per load balancer, ELB User Guide "Zonal shift for your Application Load
// Balancer"), the answer to a gray AZ.
func TestZonalShiftEnabled(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		a := one(t, rec, "aws:lb/loadBalancer:LoadBalancer", "alb")
		eq(t, a, "enableZonalShift", true)
		eq(t, a, "enableCrossZoneLoadBalancing", true)
	})
}

// TestZonalOutlierAlarms evaluates each AZ's recorded outlier expressions
// over per-AZ datapoints: a gray AZ (errors or latency on its targets
// only) fires its own alarms and no other AZ's; trouble everywhere (a
// dependency, a bad deploy) and a quiet AZ fire none.
func TestZonalOutlierAlarms(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		lb, _ := albSuffixes(t, rec)
		// Both stacks: 5 % ALB 5xx rate, 1 s p99 (Pulumi.yaml defaults).
		cases := []struct {
			name             string
			errs, reqs, p99s [3]float64
			fire5xx, fireLat [3]bool
		}{
			{"healthy", [3]float64{0, 1, 0}, [3]float64{600, 600, 600}, [3]float64{.05, .06, .05}, [3]bool{}, [3]bool{}},
			{"gray 1a: errors", [3]float64{300, 2, 1}, [3]float64{600, 600, 600}, [3]float64{.05, .05, .05}, [3]bool{true}, [3]bool{}},
			{"gray 1b: latency", [3]float64{0, 0, 0}, [3]float64{600, 600, 600}, [3]float64{.05, 2.5, .06}, [3]bool{}, [3]bool{false, true}},
			{"everywhere: a dependency", [3]float64{300, 310, 290}, [3]float64{600, 600, 600}, [3]float64{3, 3, 3}, [3]bool{}, [3]bool{}},
			{"1c quiet: 10 requests, all failed", [3]float64{0, 0, 10}, [3]float64{600, 600, 10}, [3]float64{.05, .05, .05}, [3]bool{}, [3]bool{}},
			{"1c: no data at all", [3]float64{0, 0, -1}, [3]float64{600, 600, -1}, [3]float64{.05, .05, -1}, [3]bool{}, [3]bool{}},
			{"1a worse but not 2x", [3]float64{60, 40, 35}, [3]float64{600, 600, 600}, [3]float64{1.5, 1.0, 1.1}, [3]bool{}, [3]bool{}},
		}
		for i, az := range azs {
			for _, kind := range []string{"5xx", "latency"} {
				key := "zonal-" + kind + "-" + az
				a := one(t, rec, typAlarm, "alarm-"+key)
				alarmCommon(t, stack, a, key, alarmWant{comparison: "GreaterThanOrEqualToThreshold", threshold: 1, evals: 2, dtA: 2, missing: "notBreaching"})
				q := queries(t, a)
				vars := map[string]string{} // id -> "metric@az"
				for id, m := range q {
					if id == "e1" {
						continue
					}
					if m.Metric.Namespace != "AWS/ApplicationELB" || m.Metric.Period != 60 || len(m.Metric.Dimensions) != 2 || m.Metric.Dimensions["LoadBalancer"] != lb {
						t.Errorf("%s %s: %+v", key, id, m.Metric)
					}
					vars[id] = m.Metric.MetricName + "/" + m.Metric.Stat + "@" + m.Metric.Dimensions["AvailabilityZone"]
				}
				if want := map[string]int{"5xx": 7, "latency": 4}[kind]; len(q) != want {
					t.Errorf("%s: %d queries, want %d", key, len(q), want)
				}
				for _, c := range cases {
					data := map[string]float64{}
					for j, z := range azs {
						if c.reqs[j] < 0 {
							continue // the AZ published nothing
						}
						data["HTTPCode_Target_5XX_Count/Sum@"+z] = c.errs[j]
						data["RequestCount/Sum@"+z] = c.reqs[j]
						data["TargetResponseTime/p99@"+z] = c.p99s[j]
					}
					env := map[string]*float64{}
					for id, series := range vars {
						env[id] = nil
						if v, ok := data[series]; ok {
							env[id] = &v
						}
					}
					got, err := metricmath.Eval(q["e1"].Expression, env)
					if err != nil {
						t.Fatalf("%s: %v", key, err)
					}
					want := c.fire5xx[i]
					if kind == "latency" {
						want = c.fireLat[i]
					}
					if fired := got != nil && *got >= 1; fired != want {
						value := "missing"
						if got != nil {
							value = strconv.FormatFloat(*got, 'g', -1, 64)
						}
						t.Errorf("%s, %s: fires %v, want %v (expression value %s)", key, c.name, fired, want, value)
					}
				}
			}
		}
	})
}

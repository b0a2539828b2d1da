package tests

import (
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/proof/offline"
	"github.com/trading-ha/trading-ha/proof/resilience"
)

// TestStaticStability: in both stacks, when the AZ holding the most tasks
// is lost, the tasks left carry the load at the CPU target without new
// capacity, at the autoscaling floor and at the ceiling (docs/resilience.md,
// "Static stability").
func TestStaticStability(t *testing.T) {
	want := map[string]map[string]string{
		"dev":  {"floor": "3 tasks over 3 AZs, worst AZ holds 1: CPU target 60% x 3 / 2 survivors", "ceiling": "6 tasks over 3 AZs, worst AZ holds 2: CPU target 60% x 6 / 4 survivors"},
		"prod": {"floor": "3 tasks over 3 AZs, worst AZ holds 1: CPU target 60% x 3 / 2 survivors", "ceiling": "12 tasks over 3 AZs, worst AZ holds 4: CPU target 60% x 12 / 8 survivors"},
	}
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		rep := resilience.Compute(rec)
		if len(rep.Capacity) != 2 {
			t.Fatalf("%d capacity rows, want the floor and the ceiling: %+v", len(rep.Capacity), rep.Capacity)
		}
		for _, c := range rep.Capacity {
			bound := "floor"
			if strings.HasSuffix(c.Name, "ceiling") {
				bound = "ceiling"
			}
			if c.Basis != want[stack][bound] || c.Load != 90 || c.Limit != 100 || !c.OK() {
				t.Errorf("%s: load %.1f%% of %.0f%%, basis %q; want 90%% of 100%%, %q", c.Name, c.Load, c.Limit, c.Basis, want[stack][bound])
			}
		}
		if !strings.Contains(rep.Table(), "static stability") {
			t.Error("the report's table lacks the static stability section")
		}
	})
}

// TestStaticStabilityOverFromRecording: a recording whose ceiling leaves
// two of four tasks is over (the report's own check, beside config's).
func TestStaticStabilityOverFromRecording(t *testing.T) {
	rec := appTier(5, 2, 3, 3)
	rec.Resources = append(rec.Resources,
		res("aws:appautoscaling/target:Target", "db", map[string]any{"serviceNamespace": "rds", "minCapacity": float64(1), "maxCapacity": float64(1)}),
		res("aws:appautoscaling/target:Target", "app", map[string]any{"serviceNamespace": "ecs", "minCapacity": float64(3), "maxCapacity": float64(4)}),
		res("aws:appautoscaling/policy:Policy", "cpu", map[string]any{"targetTrackingScalingPolicyConfiguration": map[string]any{
			"targetValue": float64(60), "predefinedMetricSpecification": map[string]any{"predefinedMetricType": "ECSServiceAverageCPUUtilization"}}}))
	rep := resilience.Compute(rec)
	var over []string
	for _, c := range rep.Capacity {
		if !c.OK() {
			over = append(over, c.Name)
		}
	}
	if len(over) != 1 || !strings.HasSuffix(over[0], "ceiling") || len(rep.Failing()) == 0 {
		t.Fatalf("over: %v, failing: %v; want the ceiling (4 tasks, 2 left at 120%%)", over, rep.Failing())
	}
}

package tests

import (
	"regexp"
	"slices"
	"testing"

	"github.com/trading-ha/trading-ha/internal/offline"
)

// TestServiceDeploymentAlarmsRollBack: the ECS service fails and rolls back
// a deployment when a customer-impact alarm enters ALARM (deploymentConfiguration
// alarms, beside the circuit breaker). Every named alarm is a metric alarm the
// stack records, and the names are exactly the customer-impact composite's
// members: a bad deployment that passes health is rolled back by ECS itself.
func TestServiceDeploymentAlarmsRollBack(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		svc := one(t, rec, "aws:ecs/service:Service", "app")
		eq(t, svc, "alarms.enable", true)
		eq(t, svc, "alarms.rollback", true)
		eq(t, svc, "deploymentController.type", "ECS") // DeploymentAlarms need the ECS controller
		raw, _ := get(t, svc, "alarms.alarmNames").([]any)
		var names []string
		for _, n := range raw {
			s, _ := n.(string)
			names = append(names, s)
		}
		metric := map[string]bool{}
		for _, a := range rec.ByType("aws:cloudwatch/metricAlarm:MetricAlarm") {
			if n, ok := a.Inputs["name"].(string); ok {
				metric[n] = true
			}
		}
		for _, n := range names {
			if !metric[n] {
				t.Errorf("deployment alarm %q is not a recorded metric alarm", n)
			}
		}
		// The composite's members, as its rule names them.
		composites := rec.ByType("aws:cloudwatch/compositeAlarm:CompositeAlarm")
		if len(composites) != 1 {
			t.Fatalf("%d composite alarms, want 1", len(composites))
		}
		rule, _ := composites[0].Inputs["alarmRule"].(string)
		var members []string
		for _, m := range regexp.MustCompile(`ALARM\("([^"]+)"\)`).FindAllStringSubmatch(rule, -1) {
			members = append(members, m[1])
		}
		slices.Sort(members)
		got := slices.Sorted(slices.Values(names))
		if len(got) == 0 || !slices.Equal(got, members) {
			t.Errorf("deployment alarms %v, want the customer-impact members %v", got, members)
		}
		for _, n := range names {
			if n == "alarm-degraded-"+stack {
				t.Errorf("the composite %q is named; ECS deployment alarms are documented for metric alarms", n)
			}
		}
	})
}

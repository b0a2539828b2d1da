package tests

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/trading-ha/trading-ha/proof/offline"
)

// TestHealthCheckTimingIsChangeable: healthCheckIntervalSeconds and
// unhealthyThreshold move within the 30 s detection budget, and the task
// follows them: the app's DRAIN_DELAY is interval x unhealthyThreshold (a
// draining task serves until the ALB has seen it fail), the container's
// stopTimeout that plus SHUTDOWN_TIMEOUT (15 s) and a 5 s margin.
func TestHealthCheckTimingIsChangeable(t *testing.T) {
	const p = "trading-ha:"
	for _, c := range []struct {
		interval, unhealthy int
		drain               string
		stop                int
	}{
		{5, 2, "10s", 30}, // the defaults
		{10, 2, "20s", 40},
		{5, 3, "15s", 35},
		{15, 2, "30s", 50},
		{5, 6, "30s", 50},
	} {
		t.Run(fmt.Sprintf("%dx%d", c.interval, c.unhealthy), func(t *testing.T) {
			rec, err := recordWith(t, "dev", map[string]string{
				p + "healthCheckIntervalSeconds": strconv.Itoa(c.interval), p + "unhealthyThreshold": strconv.Itoa(c.unhealthy)})
			if err != nil {
				t.Fatalf("interval %d x unhealthy %d refused: %v", c.interval, c.unhealthy, err)
			}
			tg := one(t, rec, "aws:lb/targetGroup:TargetGroup", "app")
			eq(t, tg, "healthCheck.interval", c.interval)
			eq(t, tg, "healthCheck.unhealthyThreshold", c.unhealthy)
			checkDrain(t, rec, c.drain, c.stop)
		})
	}
}

// checkDrain asserts the app container's DRAIN_DELAY and stopTimeout.
func checkDrain(t *testing.T, rec *offline.Recording, drain string, stop int) {
	t.Helper()
	c := container(t, rec)
	env := map[string]string{}
	for _, kv := range c.Environment {
		env[kv.Name] = kv.Value
	}
	if env["DRAIN_DELAY"] != drain || env["SHUTDOWN_TIMEOUT"] != "15s" || c.StopTimeout != stop {
		t.Errorf("DRAIN_DELAY %q SHUTDOWN_TIMEOUT %q stopTimeout %d; want %q, 15s, %d", env["DRAIN_DELAY"], env["SHUTDOWN_TIMEOUT"], c.StopTimeout, drain, stop)
	}
}

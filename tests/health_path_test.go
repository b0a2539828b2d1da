package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// TestTargetGroupChecksProcessLocalReadiness: in every stack the target
// group checks the service's readiness path, and that path's contract row
// (CONTRACT.md section 2) answers from process-local state and names no
// dependency check. ECS replaces tasks that fail their load balancer health
// check (Amazon ECS Developer Guide, "Health checks for Amazon ECS
// services"): a check that pings the database, DynamoDB or SSM would restart
// the whole fleet during an Aurora failover.
func TestTargetGroupChecksProcessLocalReadiness(t *testing.T) {
	contract, err := os.ReadFile(filepath.Join("..", "CONTRACT.md"))
	if err != nil {
		t.Fatal(err)
	}
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		tg := one(t, rec, "aws:lb/targetGroup:TargetGroup", "app")
		path, _ := get(t, tg, "healthCheck.path").(string)
		if path != config.ReadinessPath {
			t.Fatalf("%s: target group checks %q, want %q", stack, path, config.ReadinessPath)
		}
		var row string
		for _, line := range strings.Split(string(contract), "\n") {
			if strings.HasPrefix(line, "| `GET "+path+"`") {
				row = line
			}
		}
		if row == "" {
			t.Fatalf("CONTRACT.md has no API row for GET %s", path)
		}
		if !strings.Contains(row, "process-local") {
			t.Errorf("%s: CONTRACT.md row for %s does not promise a process-local answer: %s", stack, path, row)
		}
		for _, dep := range []string{"`database`", "`sessions`", "`limits`", "GetItem", "pg_is_in_recovery"} {
			if strings.Contains(row, dep) {
				t.Errorf("%s: the target group's check %s depends on a shared dependency (%s): %s", stack, path, dep, row)
			}
		}
		if c := container(t, rec); len(c.HealthCheck.Command) == 0 || strings.Contains(strings.Join(c.HealthCheck.Command, " "), path) {
			t.Errorf("%s: container health check %v should probe liveness, not %s", stack, c.HealthCheck.Command, path)
		}
	})
}

package runbooks

import (
	"fmt"

	"github.com/trading-ha/trading-ha/infra/asl"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/statemachine"
)

// plan is one runbook built and validated at program time. Every target is
// a name or a name-derived ARN (asl.Targets; the data key is named by its
// alias), so the definition and the role policy are plain strings, known
// at the first preview.
type plan struct {
	definition, policy string
}

// planMachine builds rb over t, validates it (statemachine.Render) and
// derives its role policy (statemachine.Policy).
func planMachine(rb asl.Runbook, t asl.Targets, telemetry iamdoc.Key) (plan, error) {
	sm, err := rb.Build(t)
	if err != nil {
		return plan{}, fmt.Errorf("build %s: %w", rb.Name, err)
	}
	def, err := statemachine.Render(rb.Name, sm)
	if err != nil {
		return plan{}, err
	}
	policy, err := statemachine.Policy(sm, telemetry).JSON()
	if err != nil {
		return plan{}, fmt.Errorf("%s role policy: %w", rb.Name, err)
	}
	return plan{definition: def, policy: policy}, nil
}

package runbooks

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumix"

	awsarn "github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/asl"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/statemachine"
)

// plan is one runbook built and validated at program time. Two values the
// targets need may be outputs: the data key's ARN (a random key id AWS
// makes at create) and the data bucket's ARN (known at program time since
// infra/storage names buckets by account, but passed as an input). planMachine builds the runbook over two different
// stand-ins for them: both builds must validate, and when their JSON is
// equal the definition embeds neither, so it is deployed as the plain
// string built now (known at the first preview). Otherwise it is rebuilt
// over the real values once they resolve.
type plan struct {
	rb      asl.Runbook
	targets asl.Targets
	at      awsarn.At
	// known is the definition when it embeds neither output, else "".
	known string
	// builds are the machines built over the two stand-ins.
	builds [2]*asl.StateMachine
}

// standIns are two distinct, well-formed values for the outputs.
func standIns(at awsarn.At) [2][2]string {
	return [2][2]string{
		{at.Key("00000000-0000-4000-8000-000000000000"), at.Bucket("stand-in-0")},
		{at.Key("11111111-1111-4111-8111-111111111111"), at.Bucket("stand-in-1")},
	}
}

// withOutputs completes t with the data key ARN and the data bucket ARN
// (the last protected resource).
func withOutputs(t asl.Targets, keyArn, bucketArn string) asl.Targets {
	t.RestoreKmsKeyArn = keyArn
	t.ProtectedResourceArns = append(slices.Clone(t.ProtectedResourceArns), bucketArn)
	return t
}

// build builds and validates rb over t.
func build(rb asl.Runbook, t asl.Targets) (*asl.StateMachine, string, error) {
	sm, err := rb.Build(t)
	if err != nil {
		return nil, "", fmt.Errorf("build %s: %w", rb.Name, err)
	}
	def, err := statemachine.Render(rb.Name, sm)
	if err != nil {
		return nil, "", err
	}
	return sm, def, nil
}

// planMachine builds and validates rb at program time (see plan).
func planMachine(rb asl.Runbook, t asl.Targets, at awsarn.At) (*plan, error) {
	var defs [2]string
	p := &plan{rb: rb, targets: t, at: at}
	for i, v := range standIns(at) {
		sm, def, err := build(rb, withOutputs(t, v[0], v[1]))
		if err != nil {
			return nil, err
		}
		p.builds[i], defs[i] = sm, def
	}
	if defs[0] == defs[1] {
		p.known = defs[0]
	}
	return p, nil
}

// definition is the deployed definition: the plain string built at
// program time, or the build over the resolved key and bucket ARNs.
func (p *plan) definition(keyArn, bucketArn pulumi.StringInput) pulumi.StringInput {
	if p.known != "" {
		return pulumi.String(p.known)
	}
	return pulumix.Cast[pulumi.StringOutput](pulumix.Apply2Err(keyArn.ToStringOutput(), bucketArn.ToStringOutput(),
		func(key, bucket string) (string, error) {
			_, def, err := build(p.rb, withOutputs(p.targets, key, bucket))
			return def, err
		}))
}

// policy is the role's inline policy, derived from the definition (its
// permissions may name the data key). A definition known at program time
// gives a policy known at program time; otherwise it is derived from the
// build over the resolved ARNs, which must equal a known definition.
func (p *plan) policy(keyArn, bucketArn pulumi.StringInput, telemetry, data iamdoc.Key) (pulumi.StringInput, error) {
	// The policy is plain when the two stand-in builds give the same
	// document: then it names neither output.
	var docs [2]string
	for i, v := range standIns(p.at) {
		var err error
		if docs[i], err = statemachine.Policy(p.builds[i], telemetry, map[string]iamdoc.Key{v[0]: data}).JSON(); err != nil {
			return nil, fmt.Errorf("%s role policy: %w", p.rb.Name, err)
		}
	}
	if docs[0] == docs[1] {
		return pulumi.String(docs[0]), nil
	}
	return pulumix.Cast[pulumi.StringOutput](pulumix.Apply2Err(keyArn.ToStringOutput(), bucketArn.ToStringOutput(),
		func(key, bucket string) (string, error) {
			sm, def, err := build(p.rb, withOutputs(p.targets, key, bucket))
			if err != nil {
				return "", err
			}
			if p.known != "" && def != p.known {
				return "", fmt.Errorf("%s: the definition built at program time differs from the one over the resolved ARNs", p.rb.Name)
			}
			return statemachine.Policy(sm, telemetry, map[string]iamdoc.Key{key: data}).JSON()
		})), nil
}

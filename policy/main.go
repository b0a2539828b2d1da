// Command policy is the compliance suite of proof/policy as a Pulumi
// policy pack (runtime go, PulumiPolicy.yaml): each rule is a mandatory
// policy named by its ID, run over what the engine sends an analyzer,
// converted to the suite's policy.Stack. Rules that read only the resource
// they report are resource policies (run on each resource's inputs as it
// registers); the others are stack policies (run once on every resource's
// outputs). Use: pulumi preview --policy-pack ./policy.
//
// In a preview of new resources some values are unknown until create; a
// rule passes on an unknown value it needs only the presence of, and
// defers where it needs the value (proof/policy, Unknown). A deferred
// finding is no violation: the pack logs it to the engine as an info
// message naming the policy and the resource, and the rule decides on
// pulumi up, which analyzes each resource once its inputs are known.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/trading-ha/trading-ha/proof/policy"
)

// Name is the pack's name (policyx: [a-zA-Z0-9-_.]{1,100}).
const Name = "trading-ha"

// Version is the pack's version; PulumiPolicy.yaml says the same.
const Version = "1.0.0"

func main() {
	// policyx.Main serves the analyzer over gRPC and prints its port on
	// stdout, the line the engine reads to connect.
	if err := policyx.Main(newPack); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// newPack builds the pack once the engine has configured the stack
// (policyx calls it from ConfigureStack with the stack's config).
func newPack(ctx *pulumi.Context) (policyx.PolicyPack, error) {
	version, err := semver.Parse(Version)
	if err != nil {
		return nil, fmt.Errorf("pack version %q: %w", Version, err)
	}
	cfg := map[string]string{}
	for _, k := range policy.ConfigKeys {
		if v, ok := ctx.GetConfig(k); ok {
			cfg[k] = v
		}
	}
	stack := ctx.Stack()
	policies := make([]policyx.Policy, 0, len(policy.Rules))
	for _, rule := range policy.Rules {
		policies = append(policies, newPolicy(ctx, rule, stack, cfg))
	}
	pack, err := policyx.NewPolicyPack(Name, version, policyx.EnforcementLevelMandatory, policies)
	if err != nil {
		return nil, fmt.Errorf("policy pack %s: %w", Name, err)
	}
	return pack, nil
}

// newPolicy turns one rule into a resource or a stack policy; ctx is the
// pack's context, through which deferred findings reach the engine's log.
func newPolicy(ctx *pulumi.Context, rule policy.Rule, stack string, cfg map[string]string) policyx.Policy {
	if rule.PerResource {
		return policyx.NewResourceValidationPolicy(rule.ID, policyx.ResourceValidationPolicyArgs{
			Description:      rule.Description(),
			EnforcementLevel: policyx.EnforcementLevelMandatory,
			ValidateResource: func(_ context.Context, args policyx.ResourceValidationArgs) error {
				report(ctx, args.Manager, rule, &policy.Stack{Name: stack, Config: cfg, Resources: []*policy.Resource{fromAnalyzer(args.Resource)}})
				return nil
			},
		})
	}
	return policyx.NewStackValidationPolicy(rule.ID, policyx.StackValidationPolicyArgs{
		Description:      rule.Description(),
		EnforcementLevel: policyx.EnforcementLevelMandatory,
		ValidateStack: func(_ context.Context, args policyx.StackValidationArgs) error {
			s := &policy.Stack{Name: stack, Config: cfg, Resources: make([]*policy.Resource, 0, len(args.Resources))}
			for _, r := range args.Resources {
				s.Resources = append(s.Resources, fromAnalyzer(r))
			}
			report(ctx, args.Manager, rule, s)
			return nil
		},
	})
}

// report sends the rule's open findings as violations on their subjects'
// URNs; exempted findings (policy-exempt:<id> tags) are not violations,
// and deferred ones (a value the rule needs is unknown until create) are
// logged to the engine as info messages (policy.Finding.Deferral).
func report(ctx *pulumi.Context, m policyx.PolicyManager, rule policy.Rule, s *policy.Stack) {
	open, _, deferred := rule.Evaluate(s)
	for _, f := range open {
		m.ReportViolation(f.Message, f.URN)
	}
	for _, f := range deferred {
		msg := f.Deferral()
		if err := ctx.Log.Info(msg, nil); err != nil {
			// A log the engine did not take must not fail the analysis.
			fmt.Fprintf(os.Stderr, "policy pack %s: logging %q: %v\n", Name, msg, err)
		}
	}
}

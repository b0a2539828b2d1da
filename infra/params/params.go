// Package params owns the SSM Parameter Store hierarchy /trading/<suffix>/...:
// connection settings, feature flags and environment settings the service
// reads at start. Sensitive values are SecureString under our KMS key and
// arrive as secret Outputs, so neither config nor state holds them in
// plain text.
package params

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/naming"
)

// Entry is one parameter below the stack's root.
type Entry struct {
	// Path is relative to /trading/<suffix>, e.g. "db/writer-host".
	Path        string
	Value       pulumi.StringInput
	Description string
	// Secure stores a SecureString encrypted with the data key.
	Secure bool
	// Written says another writer owns the value after creation (the key
	// sync workflow): Value is the initial value only, and later updates
	// leave the value alone.
	Written bool
}

// Args configures the hierarchy.
type Args struct {
	Names      naming.Namer
	DataKeyArn pulumi.StringInput
	Entries    []Entry
}

// Store is the component.
type Store struct {
	pulumi.ResourceState

	// Names maps each entry's Path to its full parameter name.
	Names map[string]string
	// Arns maps each entry's Path to its parameter ARN.
	Arns map[string]pulumi.StringOutput
	// Parameters maps each entry's Path to its resource, for a document
	// that names a parameter by the ARN its name gives (infra/arn) and
	// must still wait for it.
	Parameters map[string]pulumi.Resource
}

// New creates one parameter per entry. Paths must be unique.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Store, error) {
	s := &Store{Names: map[string]string{}, Arns: map[string]pulumi.StringOutput{}, Parameters: map[string]pulumi.Resource{}}
	if err := ctx.RegisterComponentResource("trading:params:Store", name, s, opts...); err != nil {
		return nil, fmt.Errorf("register params component: %w", err)
	}
	// Children are named from the component (naming.ChildrenOf).
	kids := naming.ChildrenOf(name)
	outputs := pulumi.Map{}
	for _, e := range args.Entries {
		if _, dup := s.Names[e.Path]; dup {
			return nil, fmt.Errorf("parameter %q declared twice", e.Path)
		}
		full := args.Names.Parameter(e.Path)
		// Plain settings use insecureValue so state and diffs show them;
		// SecureString values stay secrets end to end.
		p := &ssm.ParameterArgs{
			Name:          pulumi.String(full),
			Type:          pulumi.String("String"),
			InsecureValue: e.Value,
			Description:   pulumi.String(e.Description),
			Tier:          pulumi.String("Standard"),
		}
		if e.Secure {
			p.Type = pulumi.String("SecureString")
			p.KeyId = args.DataKeyArn
			p.InsecureValue = nil
			p.Value = pulumi.ToSecret(e.Value).(pulumi.StringOutput)
		}
		key := "param-" + strings.ReplaceAll(e.Path, "/", "-")
		popts := []pulumi.ResourceOption{pulumi.Parent(s)}
		if e.Written {
			popts = append(popts, pulumi.IgnoreChanges([]string{"insecureValue", "value"}))
		}
		param, err := ssm.NewParameter(ctx, kids.Name(key), p, popts...)
		if err != nil {
			return nil, fmt.Errorf("create parameter %s: %w", full, err)
		}
		s.Names[e.Path] = full
		s.Arns[e.Path] = param.Arn
		s.Parameters[e.Path] = param
		outputs[e.Path] = pulumi.String(full)
	}
	if err := ctx.RegisterResourceOutputs(s, outputs); err != nil {
		return nil, fmt.Errorf("register params outputs: %w", err)
	}
	return s, nil
}

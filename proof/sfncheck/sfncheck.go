// Package sfncheck validates the AWS SDK service integration Tasks of Step
// Functions state machines against the aws-sdk-go-v2 service modules, and
// the state machine's role against what those Tasks call.
//
// For every Task whose Resource is arn:<partition>:states:::aws-sdk:<service>:<action>
// (optionally with .waitForTaskToken), or one of the optimized integrations
// whose Parameters are exactly the API input (see optimized), Check reports
// (the HTTP Task, arn:<partition>:states:::http:invoke, is checked by
// httpTask instead):
//
//   - an unknown service (no aws-sdk-go-v2 module registered for it) or an
//     action the service's client has no operation for;
//   - a parameter (Parameters or Arguments key, ".$" stripped) that is not
//     a member of the operation's input shape, compared case-insensitively
//     because Step Functions spells members as the Java SDK v2 does
//     (DbClusterIdentifier for the Go SDK's DBClusterIdentifier); nested
//     members are checked through structs, slices and maps;
//   - a static value of the wrong JSON kind for its member;
//   - a required member that is missing, as the SDK's own validation
//     middleware reports it (see required.go);
//   - an IAM action the role does not grant, or a resource the Task names
//     (an identifier parameter resolved to its ARN, see grants.go) that no
//     grant of the action covers.
//
// States are walked recursively: Parallel branches and Map ItemProcessor
// (or the older Iterator) states are checked like top-level ones.
//
// The package depends on aws-sdk-go-v2 only (no Pulumi), so it compiles
// fast and its unit tests run on small hand-built fixtures.
package sfncheck

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Env is the partition, region and account the state machines run in; it
// turns identifiers into ARNs (DbClusterIdentifier x ->
// arn:<partition>:rds:<region>:<account>:cluster:x).
type Env struct {
	Partition, Region, Account string
}

// Machine is one state machine to check.
type Machine struct {
	// Name identifies the machine in findings.
	Name string
	// Definition is the ASL JSON.
	Definition string
	// Policies are the identity-policy documents (JSON) of the machine's
	// role; their Allow statements are its grants.
	Policies []string
}

// Kind classifies a finding.
type Kind string

// The kinds of finding.
const (
	UnknownService     Kind = "unknown-service"
	UnknownAction      Kind = "unknown-action"
	UnknownMember      Kind = "unknown-member"
	WrongType          Kind = "wrong-type"
	MissingRequired    Kind = "missing-required"
	InvalidParam       Kind = "invalid-param"
	SDKError           Kind = "sdk-error"
	ActionNotGranted   Kind = "action-not-granted"
	ResourceNotGranted Kind = "resource-not-granted"
)

// Finding is one problem of one Task.
type Finding struct {
	// Machine and State locate the Task; State is a path through Parallel
	// branches and Map processors ("Checks/branch[0]/HcDescribeCluster").
	Machine, State string
	// Resource is the Task's Resource.
	Resource string
	// Kind classifies the problem.
	Kind Kind
	// Detail explains it.
	Detail string
}

// String formats a finding on one line.
func (f Finding) String() string {
	return fmt.Sprintf("%s %s (%s): %s: %s", f.Machine, f.State, f.Resource, f.Kind, f.Detail)
}

// TaskRef names one Task.
type TaskRef struct {
	Machine, State, Resource string
	// Service and Action are the Step Functions names (rds, failoverDBCluster);
	// IAMAction the action the role needs (rds:FailoverDBCluster).
	Service, Action, IAMAction string
}

// Result is what Check found in one machine.
type Result struct {
	// Tasks are the validated Tasks.
	Tasks []TaskRef
	// Skipped are Tasks whose Resource is neither an aws-sdk integration
	// nor a supported optimized one (Lambda, activities, .sync jobs).
	Skipped []TaskRef
	// Findings are the problems, in state order.
	Findings []Finding
}

// Check validates every SDK integration Task of m. It returns an error only
// when the definition or a policy is not readable; problems of the Tasks
// are Findings.
func Check(env Env, m Machine) (*Result, error) {
	var def map[string]any
	if err := json.Unmarshal([]byte(m.Definition), &def); err != nil {
		return nil, fmt.Errorf("state machine %s: definition is not JSON: %w", m.Name, err)
	}
	grants, err := parsePolicies(m.Policies)
	if err != nil {
		return nil, fmt.Errorf("state machine %s: %w", m.Name, err)
	}
	states, ok := def["States"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("state machine %s: definition has no States object", m.Name)
	}
	c := &checker{env: env, machine: m.Name, grants: grants, res: &Result{}}
	ql, _ := def["QueryLanguage"].(string)
	if err := c.walk("", states, ql); err != nil {
		return nil, fmt.Errorf("state machine %s: %w", m.Name, err)
	}
	return c.res, nil
}

// checker carries one Check call.
type checker struct {
	env     Env
	machine string
	grants  []statement
	res     *Result
}

func (c *checker) add(state, resource string, kind Kind, format string, args ...any) {
	c.res.Findings = append(c.res.Findings, Finding{
		Machine: c.machine, State: state, Resource: resource, Kind: kind, Detail: fmt.Sprintf(format, args...),
	})
}

// walk visits every state of a States object in name order, descending into
// Parallel branches and Map processors. ql is the inherited QueryLanguage.
func (c *checker) walk(prefix string, states map[string]any, ql string) error {
	names := make([]string, 0, len(states))
	for n := range states {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		st, ok := states[name].(map[string]any)
		if !ok {
			return fmt.Errorf("state %s%s is not an object", prefix, name)
		}
		path := prefix + name
		lang := ql
		if q, ok := st["QueryLanguage"].(string); ok && q != "" {
			lang = q
		}
		switch st["Type"] {
		case "Task":
			c.task(path, st, lang)
		case "Parallel":
			branches, _ := st["Branches"].([]any)
			for i, b := range branches {
				if err := c.branch(fmt.Sprintf("%s/branch[%d]/", path, i), b, lang); err != nil {
					return err
				}
			}
		case "Map":
			proc, ok := st["ItemProcessor"]
			if !ok {
				proc = st["Iterator"]
			}
			if proc != nil {
				if err := c.branch(path+"/", proc, lang); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (c *checker) branch(prefix string, b any, ql string) error {
	obj, ok := b.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: branch is not an object", strings.TrimSuffix(prefix, "/"))
	}
	states, ok := obj["States"].(map[string]any)
	if !ok {
		return fmt.Errorf("%s: branch has no States object", strings.TrimSuffix(prefix, "/"))
	}
	if q, ok := obj["QueryLanguage"].(string); ok && q != "" {
		ql = q
	}
	return c.walk(prefix, states, ql)
}

// task checks one Task state.
func (c *checker) task(path string, st map[string]any, ql string) {
	resource, _ := st["Resource"].(string)
	if isHTTPInvoke(resource) {
		c.httpTask(path, resource, st)
		return
	}
	svcName, action, job, ok := parseResource(resource)
	ref := TaskRef{Machine: c.machine, State: path, Resource: resource, Service: svcName, Action: action}
	if !ok {
		c.res.Skipped = append(c.res.Skipped, ref)
		return
	}
	svc, known := services[svcName]
	if !known {
		c.res.Tasks = append(c.res.Tasks, ref)
		c.add(path, resource, UnknownService, "no aws-sdk-go-v2 service module is registered for Step Functions service %q", svcName)
		return
	}
	ref.IAMAction = iamAction(svc, action)
	c.res.Tasks = append(c.res.Tasks, ref)

	op, found := findOperation(svc, c.env, action)
	if !found {
		c.add(path, resource, UnknownAction, "service %s (module %s) has no operation %q", svcName, svc.module, action)
		return
	}
	params, hasParams := st["Parameters"]
	if !hasParams {
		params = st["Arguments"]
	}
	jsonata := strings.EqualFold(ql, "JSONata")
	args := map[string]any{}
	shapeChecked := true
	switch p := params.(type) {
	case nil:
	case map[string]any:
		args = p
	case string:
		// JSONata Arguments computed as a whole: members are unknown here.
		shapeChecked = false
	default:
		c.add(path, resource, WrongType, "parameters are %T, want an object", params)
		return
	}
	if shapeChecked {
		b := &builder{jsonata: jsonata}
		input := b.build(op.input, args)
		for _, p := range b.problems {
			c.add(path, resource, p.kind, "%s", p.detail)
		}
		for _, p := range op.validate(input, b.dynamic) {
			c.add(path, resource, p.kind, "%s", p.detail)
		}
	}
	for _, p := range c.checkGrants(svcName, svc, action, args, jsonata, job) {
		c.add(path, resource, p.kind, "%s", p.detail)
	}
}

// problem is a finding before it is located.
type problem struct {
	kind   Kind
	detail string
}

// isHTTPInvoke reports whether resource is the HTTP Task,
// arn:<partition>:states:::http:invoke.
func isHTTPInvoke(resource string) bool {
	parts := strings.SplitN(resource, ":", 6)
	return len(parts) == 6 && parts[0] == "arn" && parts[2] == "states" && parts[3] == "" && parts[4] == "" && parts[5] == httpInvoke
}

// parseResource splits an integration Resource into the Step Functions
// service and action names; job is the optimized integration's key when
// the Resource runs it as a job (.sync, syncJobs). It reports false for
// Resources that are not integrations this package validates.
func parseResource(resource string) (svc, action, job string, ok bool) {
	parts := strings.SplitN(resource, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "states" || parts[3] != "" || parts[4] != "" {
		return "", "", "", false
	}
	rest := parts[5]
	if after, isSDK := strings.CutPrefix(rest, "aws-sdk:"); isSDK {
		svc, action, found := strings.Cut(after, ":")
		if !found || svc == "" || action == "" {
			return "", "", "", false
		}
		action = strings.TrimSuffix(action, ".waitForTaskToken")
		return svc, action, "", true
	}
	key := strings.TrimSuffix(rest, ".waitForTaskToken")
	if k, isJob := strings.CutSuffix(key, ".sync"); isJob {
		if !syncJobs[k] {
			return "", "", "", false
		}
		key, job = k, k
	}
	o, found := optimized[key]
	if !found {
		return "", "", "", false
	}
	return o[0], o[1], job, true
}

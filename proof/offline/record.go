package offline

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"github.com/trading-ha/trading-ha/infra"
	"github.com/trading-ha/trading-ha/infra/config"
)

// AccountID is the account the mocks pretend to deploy into.
const AccountID = "123456789012"

// Resource is one registered resource with the inputs the program gave it.
type Resource struct {
	Type string
	Name string
	// Key is Name with its parent component's name and "-" trimmed: the
	// child's key within its component (naming.ChildrenOf names children
	// <component>-<key>), so "sessions-sessions" under the component
	// "sessions" has the key "sessions". It equals Name when the parent is
	// not a trading:* component or the name does not start with the
	// parent's name. One matches it as well as Name.
	Key       string
	URN       string
	ParentURN string
	// Component is the type of the nearest trading:* component above the
	// resource (or its own type when it is one).
	Component string
	Custom    bool
	ID        string
	// Provider is the provider reference ("<urn>::<id>") the resource uses;
	// Providers holds the per-package providers a remote component received.
	Provider  string
	Providers map[string]string
	// Inputs are the plain values (secrets unwrapped, unknowns nil); Raw
	// keeps the property map, where secrets and unknowns are still marked.
	Inputs map[string]any
	Raw    resource.PropertyMap
	// Outputs are the plain values of the state the provider returned;
	// RawOutputs keeps that property map: what the engine holds as the
	// resource's outputs and sends an analyzer's AnalyzeStack, with the
	// values computed on create unknown in a preview (RunPreview).
	Outputs        map[string]any
	RawOutputs     resource.PropertyMap
	Protect        bool
	RetainOnDelete bool
	// DependsOn is every URN the resource waits for, as the engine sees it:
	// explicit DependsOn plus the resources its inputs came from
	// (components expanded to their custom children).
	DependsOn []string
	// PropertyDeps says which input carried which dependencies.
	PropertyDeps map[string][]string
	// Aliases are the URNs the resource claims it had before, resolved
	// from the alias specs the SDK sent (see aliasURN).
	Aliases []string
	// DeleteBeforeReplace and ReplaceOnChanges are the replacement options
	// the program set.
	DeleteBeforeReplace bool
	ReplaceOnChanges    []string
	// IgnoreChanges are the inputs whose changes the engine does not apply
	// after create.
	IgnoreChanges []string
	// Unknown lists the dotted paths of inputs that were unknown (computed)
	// when the program registered the resource; only a preview run
	// (RunPreview) has any.
	Unknown []string
}

// Recording is everything one mocked run registered.
type Recording struct {
	Stack     string
	Config    map[string]string
	Resources []*Resource
	// Preview is true for a first-preview recording (RunPreview).
	Preview bool
	// Invokes are the data-source calls the program made, in call order.
	Invokes []Invoke
}

// Invoke is one data-source call: its token and the provider reference
// ("<urn>::<id>") it went through, empty when the engine would pick the
// package's default provider.
type Invoke struct {
	Token    string
	Provider string
}

// Run loads the stack's config from dir (Pulumi.yaml and
// Pulumi.<stack>.yaml), applies overrides, and runs infra.Deploy under mocks.
// The recording is returned even when Deploy fails, so callers can check
// that nothing was registered.
func Run(dir, stack string, overrides map[string]string) (*Recording, error) {
	cfg, err := stackConfig(dir, stack, overrides)
	if err != nil {
		return nil, err
	}
	return runProgram(dir, stack, cfg, infra.Deploy, false)
}

// stackConfig is the stack's config (LoadStack) with overrides applied; an
// empty override value removes the key.
func stackConfig(dir, stack string, overrides map[string]string) (map[string]string, error) {
	cfg, err := LoadStack(dir, stack)
	if err != nil {
		return nil, err
	}
	for k, v := range overrides {
		if v == "" {
			delete(cfg, k)
			continue
		}
		cfg[k] = v
	}
	return cfg, nil
}

// RunPreview is Run as the first `pulumi preview` of a new stack sees it:
// the program runs as a dry run and every resource is being created, so a
// provider knows only the inputs it was given. The mocks echo the inputs
// and return no ID and no computed attribute (arn, id, endpoints), and the
// SDK resolves every output missing from that state as unknown during a
// dry run (sdk/go/pulumi/context.go resourceState.resolve: "If this is an
// unknown or missing value during a dry run ... do nothing", with
// keepUnknowns = ctx.DryRun(); an empty id resolves as computed). Any
// value the program derives from an output is then unknown, exactly as on
// a new stack; Resource.Unknown records which inputs were. The state the
// mocks return holds every attribute the provider would compute on create
// (the ones Outputs adds to the inputs, and the id) as an unknown value,
// as a provider plans a create, so RawOutputs is what the engine would
// send a policy pack's AnalyzeStack; the program resolves a missing and an
// unknown output alike. Invokes still answer, as they run during preview.
func RunPreview(dir, stack string, overrides map[string]string) (*Recording, error) {
	cfg, err := stackConfig(dir, stack, overrides)
	if err != nil {
		return nil, err
	}
	return runProgram(dir, stack, cfg, infra.Deploy, true)
}

// RunProgram runs any Pulumi program under the recording mocks with the
// given config; tests use it to exercise one component in isolation.
func RunProgram(stack string, cfg map[string]string, program pulumi.RunFunc) (*Recording, error) {
	return runProgram("", stack, cfg, program, false)
}

// RunProgramPreview is RunProgram as a first preview (see RunPreview).
func RunProgramPreview(stack string, cfg map[string]string, program pulumi.RunFunc) (*Recording, error) {
	return runProgram("", stack, cfg, program, true)
}

// runProgram runs program under the mocks; dir, when set, is the project
// root the program sees as ctx.RootDirectory (where Pulumi.yaml is, as the
// language host reports it in a real run).
func runProgram(dir, stack string, cfg map[string]string, program pulumi.RunFunc, preview bool) (*Recording, error) {
	return runMocked(&mocks{stack: stack, preview: preview}, dir, cfg, program)
}

// RunRolledBack is Run as an up whose ECS deployment the circuit breaker
// rolled back: the service, read back after its steady-state wait, runs
// the previous task definition. The program must fail.
func RunRolledBack(dir, stack string) (*Recording, error) {
	cfg, err := stackConfig(dir, stack, nil)
	if err != nil {
		return nil, err
	}
	return runMocked(&mocks{stack: stack, rolledBack: true}, dir, cfg, infra.Deploy)
}

func runMocked(m *mocks, dir string, cfg map[string]string, program pulumi.RunFunc) (*Recording, error) {
	stack, preview := m.stack, m.preview
	rec := &Recording{Stack: stack, Config: cfg, Preview: preview}
	m.rec = rec
	root := ""
	if dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return rec, fmt.Errorf("project directory %s: %w", dir, err)
		}
		root = abs
	}
	opts := []pulumi.RunOption{
		pulumi.WithMocks(config.Project, stack, m),
		func(info *pulumi.RunInfo) { info.Config, info.RootDirectory = cfg, root },
	}
	if preview {
		// A dry run against a monitor that keeps unknowns (monitor.go).
		addr, stop, err := servePreview(config.Project, stack, m)
		if err != nil {
			return rec, err
		}
		defer stop()
		opts = []pulumi.RunOption{func(info *pulumi.RunInfo) {
			info.Project, info.Stack, info.Config = config.Project, stack, cfg
			info.MonitorAddr, info.EngineAddr, info.DryRun = addr, addr, true
			info.RootDirectory = root
		}}
	}
	err := pulumi.RunErr(program, opts...)
	sort.SliceStable(rec.Resources, func(i, j int) bool { return rec.Resources[i].URN < rec.Resources[j].URN })
	return rec, err
}

// ByType returns the resources of one type token, e.g. "aws:rds/cluster:Cluster".
func (r *Recording) ByType(typ string) []*Resource {
	var out []*Resource
	for _, res := range r.Resources {
		if res.Type == typ {
			out = append(out, res)
		}
	}
	return out
}

// One returns the single resource of a type whose logical name or key
// (Resource.Key: the name within its component, without the component's
// name) is name; so lookups by a child's key survive the component naming
// its children <component>-<key>, and two components' children of one key
// are an error rather than a silent pick.
func (r *Recording) One(typ, name string) (*Resource, error) {
	var found *Resource
	for _, res := range r.Resources {
		if res.Type == typ && (res.Name == name || res.Key == name) {
			if found != nil {
				return nil, fmt.Errorf("two %s resources named %q", typ, name)
			}
			found = res
		}
	}
	if found == nil {
		return nil, fmt.Errorf("no %s resource named %q", typ, name)
	}
	return found, nil
}

// Components returns the trading:* component types, sorted.
func (r *Recording) Components() []string {
	seen := map[string]bool{}
	for _, res := range r.Resources {
		if res.Component != "" {
			seen[res.Component] = true
		}
	}
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// ByURN finds a resource by URN.
func (r *Recording) ByURN(urn string) *Resource {
	for _, res := range r.Resources {
		if res.URN == urn {
			return res
		}
	}
	return nil
}

type mocks struct {
	stack   string
	preview bool
	mu      sync.Mutex
	rec     *Recording
	// urns and aliases are what the engine checks each registration
	// against: a URN registered twice, or an old URN claimed by two
	// resources, fails the deployment (see register).
	urns    map[string]bool
	aliases map[string]string
	// rolledBack makes ecs getService answer the previous task definition.
	rolledBack bool
}

func (m *mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	_, id, state, err := m.register(args)
	return id, state, err
}

// register records one registration and returns its URN, ID and state.
func (m *mocks) register(args pulumi.MockResourceArgs) (string, string, resource.PropertyMap, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if args.RegisterRPC == nil && args.ReadRPC != nil {
		// A stand-in for the engine's getResource of a reference
		// (refs.go): not a resource the program registers.
		return "", args.ID, args.Inputs, nil
	}
	rpc := args.RegisterRPC
	parent := ""
	if rpc != nil {
		parent = rpc.GetParent()
	}
	parentType := tokens.Type("")
	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	}
	urn := string(resource.NewURN(tokens.QName(m.stack), tokens.PackageName(config.Project), parentType, tokens.Type(args.TypeToken), args.Name))
	// The engine refuses a second registration of a URN in one deployment:
	// "Duplicate resource URN '%v'; try giving it a unique name" (pulumi/pulumi
	// pkg/diag/errors.go, GetDuplicateResourceURNError, code 2001, raised by
	// the step generator when a URN is seen twice). The Go mocks do not
	// check, so the recorder does.
	if m.urns == nil {
		m.urns, m.aliases = map[string]bool{}, map[string]string{}
	}
	if m.urns[urn] {
		return "", "", nil, fmt.Errorf("duplicate resource URN '%s'; try giving it a unique name", urn)
	}
	var aliases []string
	if rpc != nil {
		for _, a := range rpc.GetAliases() {
			old := aliasURN(m.stack, args.TypeToken, args.Name, parent, a)
			// Two resources may not claim one old URN: "Duplicate resource
			// alias '%v' applied to resource with URN '%v' conflicting with
			// resource with URN '%v'" (pkg/diag/errors.go,
			// GetDuplicateResourceAliasError).
			if other, ok := m.aliases[old]; ok && other != urn {
				return "", "", nil, fmt.Errorf("duplicate resource alias '%s' applied to resource with URN '%s' conflicting with resource with URN '%s'", old, urn, other)
			}
			m.aliases[old] = urn
			aliases = append(aliases, old)
		}
	}
	m.urns[urn] = true

	id := ""
	var outputs resource.PropertyMap
	if m.preview {
		// A create at preview: the provider plans the inputs it was
		// given; the ID and every computed attribute stay unknown.
		outputs = plannedOutputs(args.TypeToken, args.Name, args.Custom, args.Inputs)
	} else {
		if args.Custom {
			id = mockID(args.TypeToken, urn, args.Inputs)
		}
		outputs = Outputs(args.TypeToken, args.Name, id, args.Inputs)
		if args.TypeToken == "awsx:ec2:Vpc" {
			outputs["routeTables"] = resource.NewArrayProperty(vpcRouteTables(resource.URN(urn)))
		}
	}
	res := &Resource{
		Type: args.TypeToken, Name: args.Name, Key: keyOf(args.Name, parent), URN: urn, ParentURN: parent, Custom: args.Custom, ID: id, Provider: args.Provider,
		Inputs: Plain(args.Inputs), Raw: args.Inputs, Outputs: Plain(outputs), RawOutputs: outputs,
		Component: componentOf(args.TypeToken, string(parentType)),
		Unknown:   unknownPaths("", resource.NewObjectProperty(args.Inputs)),
	}
	if rpc != nil {
		res.Protect = rpc.GetProtect()
		res.RetainOnDelete = rpc.GetRetainOnDelete()
		res.DependsOn = rpc.GetDependencies()
		res.PropertyDeps = map[string][]string{}
		for k, deps := range rpc.GetPropertyDependencies() {
			res.PropertyDeps[k] = deps.GetUrns()
		}
		res.Providers = rpc.GetProviders()
		res.Aliases = aliases
		res.DeleteBeforeReplace = rpc.GetDeleteBeforeReplace()
		res.ReplaceOnChanges = rpc.GetReplaceOnChanges()
		res.IgnoreChanges = rpc.GetIgnoreChanges()
	}
	m.rec.Resources = append(m.rec.Resources, res)
	return urn, id, outputs, nil
}

// plannedOutputs is the state a provider plans for a create at preview:
// the inputs as given (unknowns kept), and every attribute it computes on
// create, which Outputs would add to the inputs (ARNs, names AWS assigns,
// endpoints, the id of a custom resource), unknown.
func plannedOutputs(typ, name string, custom bool, inputs resource.PropertyMap) resource.PropertyMap {
	out := inputs.Copy()
	id := ""
	if custom {
		id = "planned"
		out["id"] = resource.MakeComputed(resource.NewProperty(""))
	}
	for k, v := range Outputs(typ, name, id, inputs) {
		if _, given := inputs[k]; !given {
			out[k] = resource.MakeComputed(v)
		}
	}
	return out
}

// aliasURN resolves one alias the SDK sent as the engine does. A URN alias
// is taken as is. A spec's empty fields mean "as the resource is now": the
// SDK's Alias doc ("If not provided, the current name/type/parent of the
// resource is used") and Context.resolveAliasParent, which sends
// NoParent=false when the alias names no parent, for the engine to use the
// current one (pulumi sdk v3.274.1 go/pulumi/alias.go, context.go).
func aliasURN(stack, typ, name, parent string, a *pulumirpc.Alias) string {
	if u := a.GetUrn(); u != "" {
		return u
	}
	spec := a.GetSpec()
	if spec == nil {
		return ""
	}
	if spec.GetName() != "" {
		name = spec.GetName()
	}
	if spec.GetType() != "" {
		typ = spec.GetType()
	}
	if spec.GetStack() != "" {
		stack = spec.GetStack()
	}
	project := config.Project
	if spec.GetProject() != "" {
		project = spec.GetProject()
	}
	switch {
	case spec.GetParentUrn() != "":
		parent = spec.GetParentUrn()
	case spec.GetNoParent():
		parent = ""
	}
	parentType := tokens.Type("")
	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	}
	return string(resource.NewURN(tokens.QName(stack), tokens.PackageName(project), parentType, tokens.Type(typ), name))
}

func (m *mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	m.mu.Lock()
	m.rec.Invokes = append(m.rec.Invokes, Invoke{Token: args.Token, Provider: args.Provider})
	m.mu.Unlock()
	if args.Token == "aws:ecs/getService:getService" {
		return m.service(args.Args)
	}
	return Answer(args.Token, args.Args)
}

// service answers ecs getService with the recorded service of that name:
// it runs the task definition it was given (a deployment that completed),
// or, in a run of RunRolledBack, the revision before it.
func (m *mocks) service(args resource.PropertyMap) (resource.PropertyMap, error) {
	name := args["serviceName"].StringValue()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.rec.Resources {
		if r.Type == "aws:ecs/service:Service" && r.Inputs["name"] == name {
			td, _ := r.Inputs["taskDefinition"].(string)
			if m.rolledBack {
				td = td[:strings.LastIndex(td, ":")+1] + "0"
			}
			return resource.NewPropertyMapFromMap(map[string]any{
				"arn": r.Outputs["arn"], "serviceName": name, "clusterArn": r.Inputs["cluster"],
				"taskDefinition": td, "desiredCount": r.Inputs["desiredCount"], "id": r.ID,
			}), nil
		}
	}
	return nil, fmt.Errorf("offline: getService %q: no such service was registered", name)
}

// unknownPaths lists the dotted paths below v that hold an unknown
// (computed) value, sorted; a secret or output wrapper is looked through.
func unknownPaths(path string, v resource.PropertyValue) []string {
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch {
	case v.IsComputed():
		return []string{path}
	case v.IsOutput():
		if !v.OutputValue().Known {
			return []string{path}
		}
		return unknownPaths(path, v.OutputValue().Element)
	case v.IsSecret():
		return unknownPaths(path, v.SecretValue().Element)
	case v.IsObject():
		var out []string
		obj := v.ObjectValue()
		for _, k := range obj.StableKeys() {
			out = append(out, unknownPaths(join(string(k)), obj[k])...)
		}
		return out
	case v.IsArray():
		var out []string
		for i, e := range v.ArrayValue() {
			out = append(out, unknownPaths(join(strconv.Itoa(i)), e)...)
		}
		return out
	}
	return nil
}

// IsUnknown reports whether the input at a dotted path, or anything below
// it, was unknown when the resource registered.
func (r *Resource) IsUnknown(path string) bool {
	for _, u := range r.Unknown {
		if u == path || strings.HasPrefix(u, path+".") {
			return true
		}
	}
	return false
}

// keyOf is a child's name without its parent component's name and "-"
// (Resource.Key); the parent's name is the last part of its URN.
func keyOf(name, parent string) string {
	p := resource.URN(parent)
	if p == "" || !p.IsValid() || !strings.HasPrefix(string(p.Type()), "trading:") {
		return name
	}
	if k, ok := strings.CutPrefix(name, p.Name()+"-"); ok && k != "" {
		return k
	}
	return name
}

// componentOf finds the nearest trading:* type in a qualified type chain
// ("trading:network:Network$awsx:ec2:Vpc").
func componentOf(typ, parentQualified string) string {
	if strings.HasPrefix(typ, "trading:") {
		return typ
	}
	parts := strings.Split(parentQualified, "$")
	for i := len(parts) - 1; i >= 0; i-- {
		if strings.HasPrefix(parts[i], "trading:") {
			return parts[i]
		}
	}
	return ""
}

// shortType turns "aws:rds/cluster:Cluster" into "cluster".
func shortType(typ string) string {
	parts := strings.Split(typ, ":")
	last := strings.ToLower(parts[len(parts)-1])
	return last
}

// Plain turns a property map into plain Go values, unwrapping secrets and
// known outputs (Raw keeps the secret marks); an unknown value is nil.
func Plain(m resource.PropertyMap) map[string]any {
	return valuesOf(m, nil)
}

// valuesOf turns a property map into plain Go values, secrets and known
// outputs unwrapped, and every unknown value (computed, or an output not
// known) given as unknown.
func valuesOf(m resource.PropertyMap, unknown any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[string(k)] = valueOf(v, unknown)
	}
	return out
}

func valueOf(v resource.PropertyValue, unknown any) any {
	switch {
	case v.IsComputed():
		return unknown
	case v.IsOutput():
		if !v.OutputValue().Known {
			return unknown
		}
		return valueOf(v.OutputValue().Element, unknown)
	case v.IsSecret():
		return valueOf(v.SecretValue().Element, unknown)
	case v.IsObject():
		return valuesOf(v.ObjectValue(), unknown)
	case v.IsArray():
		arr := v.ArrayValue()
		out := make([]any, len(arr))
		for i, e := range arr {
			out[i] = valueOf(e, unknown)
		}
		return out
	default:
		return v.Mappable()
	}
}

// idIsName lists types whose AWS ID is the physical name input.
var idIsName = map[string]resource.PropertyKey{
	"aws:s3/bucketV2:BucketV2":         "bucket",
	"aws:iam/role:Role":                "name",
	"aws:dynamodb/table:Table":         "name",
	"aws:cloudwatch/logGroup:LogGroup": "name",
	"aws:ssm/parameter:Parameter":      "name",
	"aws:ecs/cluster:Cluster":          "name",
	"aws:cloudwatch/eventBus:EventBus": "name",
	"aws:backup/vault:Vault":           "name",
	"aws:synthetics/canary:Canary":     "name",
	// pulumi-aws cloudwatch.EventConnection: the ID is the name.
	"aws:cloudwatch/eventConnection:EventConnection": "name",
	"aws:rds/cluster:Cluster":                        "clusterIdentifier",
	"aws:rds/clusterInstance:ClusterInstance":        "identifier",
}

// mockID is the physical ID: the name where AWS uses the name, otherwise a
// stable hash of the URN, so recordings are identical run to run.
func mockID(typ, urn string, inputs resource.PropertyMap) string {
	if k, ok := idIsName[typ]; ok {
		if v, ok := inputs[k]; ok && v.IsString() && v.StringValue() != "" {
			return v.StringValue()
		}
	}
	sum := sha256.Sum256([]byte(urn))
	if f, ok := idFormats[typ]; ok {
		return f(sum)
	}
	return shortType(typ) + "-" + hex.EncodeToString(sum[:4])
}

// idFormats shape the IDs other resources reference as AWS does.
var idFormats = map[string]func(sum [32]byte) string{
	// KMS key IDs are UUIDs: 1234abcd-12ab-34cd-56ef-1234567890ab (KMS
	// Developer Guide, "Key identifiers (KeyId)").
	"aws:kms/key:Key": func(s [32]byte) string { return uuidOf(string(s[:])) },
	// EC2 IDs are the resource prefix and 17 hex digits (sg-, vpce-, fl-).
	"aws:ec2/securityGroup:SecurityGroup":               func(s [32]byte) string { return "sg-" + hex.EncodeToString(s[:9])[:17] },
	"aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": func(s [32]byte) string { return "sg-" + hex.EncodeToString(s[:9])[:17] },
	"aws:ec2/vpcEndpoint:VpcEndpoint":                   func(s [32]byte) string { return "vpce-" + hex.EncodeToString(s[:9])[:17] },
	"aws:ec2/flowLog:FlowLog":                           func(s [32]byte) string { return "fl-" + hex.EncodeToString(s[:9])[:17] },
	// Hosted zone IDs are "Z" and uppercase letters and digits, at most 32
	// characters (Route 53 API Reference: CreateHostedZone example
	// /hostedzone/Z1PA6795UKMFR9; GetHostedZone Id "Maximum length of 32").
	"aws:route53/zone:Zone": func(s [32]byte) string { return "Z0" + strings.ToUpper(hex.EncodeToString(s[:10])) },
	// Route 53 health check, ACM certificate and backup plan IDs are UUIDs.
	"aws:route53/healthCheck:HealthCheck": func(s [32]byte) string { return uuidOf(string(s[:])) },
	"aws:acm/certificate:Certificate":     func(s [32]byte) string { return uuidOf(string(s[:])) },
	"aws:backup/plan:Plan":                func(s [32]byte) string { return uuidOf(string(s[:])) },
	// WAFv2 web ACL IDs are UUIDs (regional/webacl/<name>/<id>).
	"aws:wafv2/webAcl:WebAcl": func(s [32]byte) string { return uuidOf(string(s[:])) },
	// Cognito user pool IDs are <region>_<id> (Amazon Cognito API
	// Reference, UserPoolType Id: [\w-]+_[0-9a-zA-Z]+).
	"aws:cognito/userPool:UserPool": func(s [32]byte) string { return Region + "_" + hex.EncodeToString(s[:5]) },
}

// After reports whether the engine orders r after dep: dep is reachable from
// r through dependencies (explicit or from inputs) and parents, so dep is
// created first and deleted last.
func (rec *Recording) After(r, dep *Resource) bool {
	seen := map[string]bool{}
	stack := []string{r.URN}
	for len(stack) > 0 {
		urn := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[urn] {
			continue
		}
		seen[urn] = true
		cur := rec.ByURN(urn)
		if cur == nil {
			continue
		}
		for _, d := range cur.DependsOn {
			if d == dep.URN {
				return true
			}
			stack = append(stack, d)
		}
		if cur.ParentURN != "" {
			if cur.ParentURN == dep.URN {
				return true
			}
			stack = append(stack, cur.ParentURN)
		}
	}
	return false
}

// Walk follows a dotted path ("healthCheck.interval", "rules.0.id")
// through plain values, map keys and list indices, and says which step
// failed when the path does not exist.
func Walk(root any, path string) (any, error) {
	cur := root
	for _, part := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[part]
			if !ok {
				return nil, fmt.Errorf("no %q in path %q", part, path)
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(c) {
				return nil, fmt.Errorf("bad index %q in path %q (len %d)", part, path, len(c))
			}
			cur = c[i]
		default:
			return nil, fmt.Errorf("cannot descend into %T at %q in %q", cur, part, path)
		}
	}
	return cur, nil
}

// Lookup is Walk for callers that treat a missing path as nil.
func Lookup(root any, path string) any {
	v, _ := Walk(root, path)
	return v
}

// Input is the recorded input at a dotted path, or nil.
func (r *Resource) Input(path string) any { return Lookup(r.Inputs, path) }

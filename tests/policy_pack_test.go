package tests

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/proof/offline"
	"github.com/trading-ha/trading-ha/proof/policy"
)

// The policy pack (policy/) is tested as the engine runs it, over the
// analyzer protocol. Every protocol fact below is from pulumi sdk v3.274.1
// or the engine (github.com/pulumi/pulumi):
//   - build and start: with runtime go, the engine has the Go language
//     host's RunPlugin run the pack (plugin.NewPolicyAnalyzer in
//     sdk/go/common/resource/plugin/analyzer_plugin.go, args
//     []string{host.ServerAddr()}); RunPlugin runs `go build -o <tmp>` in
//     the pack's directory and execs the binary with those args
//     (sdk/go/pulumi-language-go/main.go, compileProgram, RunPlugin).
//   - port: the plugin writes one line to stdout, the port it listens on
//     (plugin.go "we expect it to write a single line to STDOUT: the port";
//     policyx.Main prints handle.Port).
//   - order: Handshake (root and program directory are the pack's
//     directory), then ConfigureStack with the stack's config
//     (analyzer_plugin.go NewPolicyAnalyzer); policyx builds the pack in
//     ConfigureStack and refuses it before Handshake (policyx/server.go),
//     so GetAnalyzerInfo comes after.
//   - Analyze gets one resource's inputs; AnalyzeStack every resource's
//     outputs ("Unlike Analyze, AnalyzeStack is called on the final outputs
//     of each resource", pkg/resource/deploy/step_generator.go
//     AnalyzeResources), each with its provider's URN, type, name and
//     inputs; properties marshalled with KeepUnknowns, KeepSecrets,
//     SkipInternalKeys (analyzer_plugin.go AnalyzeStack).
//   - options carry protect but no retainOnDelete
//     (pulumirpc.AnalyzerResourceOptions), so a fixture here sets Protect.
//   - a value unknown at preview travels as the sentinel
//     plugin.UnknownStringValue (or a sibling for its type;
//     sdk/go/common/resource/plugin/rpc.go marshalUnknownProperty), which
//     policyx unmarshals with KeepUnknowns into a computed value.
//   - the engine address is the engine's host server, whose Log the pack
//     may call (pulumi.Context.Log); the test serves one that records
//     the messages, and the pack logs each deferred finding there.

var packBuild struct {
	once sync.Once
	bin  string
	err  error
}

// packBinary builds policy/ once, as the Go language host does.
func packBinary(t *testing.T) string {
	t.Helper()
	packBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "trading-ha-pack")
		if err != nil {
			packBuild.err = err
			return
		}
		packBuild.bin = filepath.Join(dir, "pack")
		cmd := exec.Command("go", "build", "-o", packBuild.bin)
		cmd.Dir = filepath.Join("..", "policy")
		if out, err := cmd.CombinedOutput(); err != nil {
			packBuild.err = fmt.Errorf("go build policy/: %w\n%s", err, out)
		}
	})
	if packBuild.err != nil {
		t.Fatal(packBuild.err)
	}
	return packBuild.bin
}

// engineLog is the engine's side of the analyzer's Log calls: it records
// every message, as the engine's host server would show them.
type engineLog struct {
	pulumirpc.UnimplementedEngineServer
	mu       sync.Mutex
	messages []*pulumirpc.LogRequest
}

func (e *engineLog) Log(_ context.Context, in *pulumirpc.LogRequest) (*emptypb.Empty, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.messages = append(e.messages, in)
	return &emptypb.Empty{}, nil
}

// deferrals are the deferred findings the pack logged, as "<policy>
// <urn>", sorted; each must be an info message.
func (e *engineLog) deferrals(t *testing.T) []string {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, m := range e.messages {
		rest, ok := strings.CutPrefix(m.GetMessage(), policy.DeferralPrefix)
		if !ok {
			continue
		}
		if m.GetSeverity() != pulumirpc.LogSeverity_INFO {
			t.Errorf("deferral logged at %v, want info: %s", m.GetSeverity(), m.GetMessage())
		}
		rule, rest, _ := strings.Cut(rest, " on ")
		urn, _, _ := strings.Cut(rest, ": ")
		out = append(out, rule+" "+urn)
	}
	slices.Sort(out)
	return out
}

// serveEngine serves an engine that records Log calls on a loopback port.
func serveEngine(t *testing.T) (string, *engineLog) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	log := &engineLog{}
	pulumirpc.RegisterEngineServer(srv, log)
	go func() { _ = srv.Serve(lis) }() // returns when Stop closes the listener
	t.Cleanup(srv.Stop)
	return lis.Addr().String(), log
}

// startPack runs the pack, reads its port and connects, handshakes and
// configures the stack.
func startPack(t *testing.T, stack string, cfg map[string]string) pulumirpc.AnalyzerClient {
	t.Helper()
	client, _ := startPackLogged(t, stack, cfg)
	return client
}

// startPackLogged is startPack with the engine's log of the pack's
// messages.
func startPackLogged(t *testing.T, stack string, cfg map[string]string) (pulumirpc.AnalyzerClient, *engineLog) {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "policy"))
	if err != nil {
		t.Fatal(err)
	}
	engine, log := serveEngine(t)
	cmd := exec.Command(packBinary(t), engine)
	cmd.Dir = ".."
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the pack's port: %v", err)
	}
	port, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || port <= 0 || port > 65535 {
		t.Fatalf("pack wrote %q, want a port", line)
	}
	conn, err := grpc.NewClient("127.0.0.1:"+strconv.Itoa(port), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	client := pulumirpc.NewAnalyzerClient(conn)
	ctx := rpcContext(t)
	if _, err := client.Handshake(ctx, &pulumirpc.AnalyzerHandshakeRequest{EngineAddress: engine, RootDirectory: &dir, ProgramDirectory: &dir}); err != nil {
		t.Fatalf("Handshake: %v", err)
	}
	if _, err := client.ConfigureStack(ctx, &pulumirpc.AnalyzerStackConfigureRequest{
		Stack: stack, Project: config.Project, Organization: "organization", Config: cfg, DryRun: true,
	}); err != nil {
		t.Fatalf("ConfigureStack: %v", err)
	}
	return client, log
}

func rpcContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func marshal(t *testing.T, m resource.PropertyMap) *structpb.Struct {
	t.Helper()
	s, err := plugin.MarshalProperties(m, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipInternalKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// packViolations sends the recording to the pack as the engine would:
// Analyze per resource (inputs), then AnalyzeStack (outputs). It returns
// "<policy> <urn>" per diagnostic, sorted, and checks each diagnostic is
// mandatory and carries the rule's description.
func packViolations(t *testing.T, client pulumirpc.AnalyzerClient, rec *offline.Recording) []string {
	t.Helper()
	ctx := rpcContext(t)
	provider := func(r *offline.Resource) *pulumirpc.AnalyzerProviderResource {
		// A provider reference is "<urn>::<id>", and a URN holds "::" too.
		i := strings.LastIndex(r.Provider, "::")
		if i < 0 {
			return nil
		}
		p := rec.ByURN(r.Provider[:i])
		if p == nil {
			return nil
		}
		return &pulumirpc.AnalyzerProviderResource{Urn: p.URN, Type: p.Type, Name: p.Name, Properties: marshal(t, props(p.Raw, p.Inputs))}
	}
	var diags []*pulumirpc.AnalyzeDiagnostic
	var stack []*pulumirpc.AnalyzerResource
	for _, r := range rec.Resources {
		opts := &pulumirpc.AnalyzerResourceOptions{Protect: r.Protect, Parent: r.ParentURN}
		resp, err := client.Analyze(ctx, &pulumirpc.AnalyzeRequest{
			Urn: r.URN, Type: r.Type, Name: r.Name, Properties: marshal(t, props(r.Raw, r.Inputs)), Options: opts, Provider: provider(r),
		})
		if err != nil {
			t.Fatalf("Analyze %s: %v", r.URN, err)
		}
		diags = append(diags, resp.GetDiagnostics()...)
		deps := map[string]*pulumirpc.AnalyzerPropertyDependencies{}
		for k, urns := range r.PropertyDeps {
			deps[k] = &pulumirpc.AnalyzerPropertyDependencies{Urns: urns}
		}
		stack = append(stack, &pulumirpc.AnalyzerResource{
			Urn: r.URN, Type: r.Type, Name: r.Name, Properties: marshal(t, outputs(r)),
			Options: opts, Provider: provider(r), Parent: r.ParentURN, Dependencies: r.DependsOn, PropertyDependencies: deps,
		})
	}
	resp, err := client.AnalyzeStack(ctx, &pulumirpc.AnalyzeStackRequest{Resources: stack})
	if err != nil {
		t.Fatalf("AnalyzeStack: %v", err)
	}
	diags = append(diags, resp.GetDiagnostics()...)
	rules := map[string]policy.Rule{}
	for _, r := range policy.Rules {
		rules[r.ID] = r
	}
	var out []string
	for _, d := range diags {
		if d.GetEnforcementLevel() != pulumirpc.EnforcementLevel_MANDATORY {
			t.Errorf("%s on %s: enforcement %v, want mandatory", d.GetPolicyName(), d.GetUrn(), d.GetEnforcementLevel())
		}
		if want := rules[d.GetPolicyName()].Description(); d.GetDescription() != want {
			t.Errorf("%s: description %q, want %q", d.GetPolicyName(), d.GetDescription(), want)
		}
		out = append(out, d.GetPolicyName()+" "+d.GetUrn())
	}
	slices.Sort(out)
	return out
}

// outputs is the state a provider returns: the recorded state, which
// under the mocks carries every input (offline.Outputs) and, at a first
// preview, every computed attribute unknown (offline.RunPreview);
// fixtures built by res() record only arn, name and id, so their inputs
// are added.
func outputs(r *offline.Resource) resource.PropertyMap {
	if r.RawOutputs != nil {
		return r.RawOutputs
	}
	m := map[string]any{}
	for k, v := range r.Inputs {
		m[k] = v
	}
	for k, v := range r.Outputs {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	return resource.NewPropertyMapFromMap(m)
}

func props(raw resource.PropertyMap, inputs map[string]any) resource.PropertyMap {
	if raw != nil {
		return raw
	}
	return resource.NewPropertyMapFromMap(inputs)
}

// suiteViolations are the suite's open findings as "<rule> <urn>", sorted.
func suiteViolations(rec *offline.Recording) []string {
	open, _, _ := policy.Evaluate(rec.Policy())
	return ruleURNs(open)
}

// suiteDeferrals are the suite's deferred findings as "<rule> <urn>",
// sorted.
func suiteDeferrals(rec *offline.Recording) []string {
	_, _, deferred := policy.Evaluate(rec.Policy())
	return ruleURNs(deferred)
}

func ruleURNs(fs []policy.Finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.Rule+" "+f.URN)
	}
	slices.Sort(out)
	return out
}

// TestPolicyPackDescribesTheSuite: the pack's analyzer info lists every
// rule as a mandatory policy with its description, at the version of
// PulumiPolicy.yaml.
func TestPolicyPackDescribesTheSuite(t *testing.T) {
	proj, err := workspace.LoadPolicyPack(filepath.Join("..", "policy", "PulumiPolicy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if proj.Runtime.Name() != "go" {
		t.Errorf("PulumiPolicy.yaml runtime %q, want go", proj.Runtime.Name())
	}
	client := startPack(t, "dev", map[string]string{})
	info, err := client.GetAnalyzerInfo(rpcContext(t), &emptypb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	if info.GetVersion() != proj.Version {
		t.Errorf("pack version %q, PulumiPolicy.yaml says %q", info.GetVersion(), proj.Version)
	}
	if len(info.GetPolicies()) != len(policy.Rules) {
		t.Fatalf("%d policies, want one per rule (%d)", len(info.GetPolicies()), len(policy.Rules))
	}
	for i, p := range info.GetPolicies() {
		r := policy.Rules[i]
		if p.GetName() != r.ID || p.GetDescription() != r.Description() || p.GetEnforcementLevel() != pulumirpc.EnforcementLevel_MANDATORY {
			t.Errorf("policy %d: %s %q %v, want %s %q mandatory", i, p.GetName(), p.GetDescription(), p.GetEnforcementLevel(), r.ID, r.Description())
		}
		if c := r.Control(); c != "" && !strings.Contains(p.GetDescription(), "FSBP "+c) {
			t.Errorf("policy %s does not name its FSBP control", r.ID)
		}
	}
}

// TestPolicyPackMatchesTheSuite: over the protocol, the pack reports
// exactly the suite's open findings (same policy names, same URNs): none on
// the real stacks, and on a fixture that breaks several rules, all of them.
func TestPolicyPackMatchesTheSuite(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		got := packViolations(t, startPack(t, stack, rec.Config), rec)
		if want := suiteViolations(rec); !slices.Equal(got, want) {
			t.Errorf("pack reports %v, suite %v", got, want)
		}
		if len(got) != 0 {
			t.Errorf("%d violations on %s, want none", len(got), stack)
		}
	})
	t.Run("violations", func(t *testing.T) {
		rec := packFixture()
		want := suiteViolations(rec)
		got := packViolations(t, startPack(t, rec.Stack, rec.Config), rec)
		if !slices.Equal(got, want) {
			t.Errorf("pack reports\n  %v\nsuite\n  %v", got, want)
		}
		for _, id := range []string{"S3.17", "KMS.4", "CloudTrail.4", "TH-DES-1", "TH-NAME-1"} {
			if !slices.ContainsFunc(got, func(v string) bool { return strings.HasPrefix(v, id+" ") }) {
				t.Errorf("pack did not report %s: %v", id, got)
			}
		}
		for _, v := range got {
			if strings.HasPrefix(v, "S3.13 ") {
				t.Errorf("exempted finding reported: %s", v)
			}
		}
		rules := map[string]bool{}
		for _, v := range got {
			id, _, _ := strings.Cut(v, " ")
			rules[id] = true
		}
		t.Logf("%d violations of %d rules (of %d)", len(got), len(rules), len(policy.Rules))
	})
}

// packFixture breaks several rules at once: a bucket without encryption
// (and its other settings; lifecycle exempted by tag), a KMS key without
// rotation, a trail without log validation, a protected table and a queue
// named without the suffix.
func packFixture() *offline.Recording {
	bucket := res("aws:s3/bucketV2:BucketV2", "data", map[string]any{"bucket": "data-dev", "forceDestroy": true,
		"tags": map[string]any{policy.ExemptTagPrefix + "S3.13": "kept forever by design"}})
	table := res("aws:dynamodb/table:Table", "orders", map[string]any{"name": "orders-dev", "deletionProtectionEnabled": true,
		"pointInTimeRecovery": map[string]any{"enabled": true}, "serverSideEncryption": map[string]any{"enabled": true, "kmsKeyArn": "arn:k"}})
	table.Protect = true
	return &offline.Recording{Stack: "dev", Config: map[string]string{"trading-ha:environmentSuffix": "dev"}, Resources: []*offline.Resource{
		bucket, table,
		res("aws:kms/key:Key", "data-key", map[string]any{"enableKeyRotation": false, "deletionWindowInDays": float64(7)}),
		res(tTrail, "trail", map[string]any{"enableLogFileValidation": false, "isMultiRegionTrail": true, "kmsKeyId": "arn:k"}),
		res("aws:sqs/queue:Queue", "orders", map[string]any{"name": "orders-staging", "kmsMasterKeyId": "arn:k"}),
	}}
}

// TestPerResourceRulesReadOneResource: a rule marked PerResource (which the
// pack runs on each resource alone) finds on a stack exactly what it finds
// on each resource alone, on both stacks and on every violation fixture.
func TestPerResourceRulesReadOneResource(t *testing.T) {
	stacks := map[string]*offline.Recording{"fixture": packFixture(), "unknowns": unknownFixture()}
	for _, s := range Stacks {
		stacks[s] = record(t, s)
		stacks[s+" at first preview"] = recordPreview(t, s)
	}
	for id, fixture := range violations {
		stacks["violations-"+id] = &offline.Recording{Stack: "t", Config: map[string]string{"trading-ha:environmentSuffix": "dev"}, Resources: fixture}
	}
	for name, rec := range stacks {
		whole := rec.Policy()
		for _, rule := range policy.Rules {
			if !rule.PerResource {
				continue
			}
			want, _, wantDeferred := rule.Evaluate(whole)
			var got, gotDeferred []policy.Finding
			for _, r := range whole.Resources {
				open, _, deferred := rule.Evaluate(&policy.Stack{Name: whole.Name, Config: whole.Config, Resources: []*policy.Resource{r}})
				got, gotDeferred = append(got, open...), append(gotDeferred, deferred...)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s on %s: alone %v, in the stack %v", rule.ID, name, got, want)
			}
			if fmt.Sprint(gotDeferred) != fmt.Sprint(wantDeferred) {
				t.Errorf("%s on %s: deferred alone %v, in the stack %v", rule.ID, name, gotDeferred, wantDeferred)
			}
		}
	}
}

// TestAttachedWhileUnknown: in a preview of a new stack the encryption
// configuration's bucket is not known yet; its property dependency on the
// bucket attaches it (S3.17 green), and without one S3.17 fires.
func TestAttachedWhileUnknown(t *testing.T) {
	bucket := res("aws:s3/bucketV2:BucketV2", "b", map[string]any{})
	enc := res("aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", "e", map[string]any{
		"rules": []any{map[string]any{"applyServerSideEncryptionByDefault": map[string]any{"sseAlgorithm": "aws:kms"}}}})
	rule := policyRule(t, "S3.17")
	rec := &offline.Recording{Resources: []*offline.Resource{bucket, enc}}
	if got := rule.Check(rec.Policy()); len(got) != 1 {
		t.Errorf("S3.17 without a value or dependency: %v, want one finding", got)
	}
	enc.PropertyDeps = map[string][]string{"bucket": {bucket.URN}}
	if got := rule.Check(rec.Policy()); len(got) != 0 {
		t.Errorf("S3.17 with the bucket dependency: %v, want none", got)
	}
}

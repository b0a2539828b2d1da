package tests

// Docs that cannot drift: every fact the docs state that the program or
// its recording knows (names, defaults, counts, per-stack values,
// commands) is either generated between markers by proof/docgen
// (tests/docs_test.go holds those current) or checked here against both
// stacks' recordings and the config schema:
//
//   - TestDocFacts: a table of claims, each a regexp over a doc's text whose
//     capture groups are the stated values and a function computing the true
//     values from the recordings (or the code); a wrong doc fails naming the
//     file, the claim, what it says and what is true.
//   - TestDocNamesExist: every physical name or name pattern the docs write
//     in code (`alarm-degraded-<suffix>`, `aurora-dev-1`) is a name the
//     program registers in some stack.
//   - TestDocConfigTables: the component docs' config tables (key, default,
//     dev, prod) agree with Pulumi.yaml and the stack files.
//   - TestDocKeyDefaults: a config key written with its value in
//     parentheses ("`albIdleTimeoutSeconds` (60)", "(dev 7, prod 90)") states
//     its default or its per-stack values.
//   - TestDocConfigCommands: every `pulumi config set` in the docs names a
//     declared key and stores a value of the key's type (the CLI's --path
//     rules: digits become a number unless --type string).
//   - TestDocStackValuesAreChecked: every per-stack figure in the prose
//     ("dev 2, prod 3", "7 in dev") lies inside a claim TestDocFacts checks,
//     so a new one cannot be added unchecked.

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/trading-ha/trading-ha/infra/identity"
	"github.com/trading-ha/trading-ha/proof/docgen"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// checkedDocs are the documents the generic checks read.
var checkedDocs = []string{
	"README.md",
	"docs/architecture.md", "docs/backup.md", "docs/database.md", "docs/deploy.md",
	"docs/destroy.md", "docs/events.md", "docs/gameday.md", "docs/monitoring.md",
	"docs/operations.md", "docs/resilience.md", "docs/runbooks.md", "docs/service.md",
	"docs/validation.md", "docs/app.md",
}

// stackValueDocs are the documents whose every per-stack figure must be
// checked (TestDocStackValuesAreChecked). validation.md and resilience.md
// quote figures other tests log (documents validated, findings); they are
// not held here yet.
var stackValueDocs = []string{
	"README.md", "docs/architecture.md", "docs/backup.md", "docs/database.md", "docs/deploy.md",
	"docs/events.md", "docs/monitoring.md", "docs/operations.md", "docs/service.md",
}

// --- the documents ---------------------------------------------------------

var (
	docMu    sync.Mutex
	docCache = map[string]string{}
)

// docText is a document as written.
func docText(t *testing.T, file string) string {
	t.Helper()
	docMu.Lock()
	defer docMu.Unlock()
	if s, ok := docCache[file]; ok {
		return s
	}
	b, err := os.ReadFile(filepath.Join("..", file))
	if err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	docCache[file] = string(b)
	return string(b)
}

// plainDoc is a document with its Markdown code and bold marks removed, so
// the claims' regexps read the words as a reader does.
func plainDoc(t *testing.T, file string) string {
	return strings.NewReplacer("```", "~~~", "`", "", "**", "").Replace(docText(t, file))
}

// generatedSpans are the byte ranges of a text between BEGIN GENERATED and
// END GENERATED markers (the generator owns them; docs_test.go checks them).
func generatedSpans(text string) [][2]int {
	var out [][2]int
	for i := 0; ; {
		b := strings.Index(text[i:], "<!-- BEGIN GENERATED")
		if b < 0 {
			return out
		}
		b += i
		e := strings.Index(text[b:], "<!-- END GENERATED")
		if e < 0 {
			return append(out, [2]int{b, len(text)})
		}
		e += b
		out = append(out, [2]int{b, e})
		i = e + 1
	}
}

// codeBlockSpans are the byte ranges of fenced code blocks.
func codeBlockSpans(text string) [][2]int {
	var out [][2]int
	lines := strings.SplitAfter(text, "\n")
	pos, start := 0, -1
	for _, l := range lines {
		if f := strings.TrimSpace(l); strings.HasPrefix(f, "```") || strings.HasPrefix(f, "~~~") {
			if start < 0 {
				start = pos
			} else {
				out = append(out, [2]int{start, pos + len(l)})
				start = -1
			}
		}
		pos += len(l)
	}
	return out
}

func inSpans(i int, spans [][2]int) bool {
	for _, s := range spans {
		if i >= s[0] && i < s[1] {
			return true
		}
	}
	return false
}

// --- the truth ---------------------------------------------------------------

// world is what the claims are checked against: both stacks' recordings.
type world struct {
	t    *testing.T
	recs map[string]*offline.Recording
}

func newWorld(t *testing.T) *world {
	return &world{t: t, recs: map[string]*offline.Recording{"dev": record(t, "dev"), "prod": record(t, "prod")}}
}

// cfg is a key's effective value in a stack (defaults applied).
func (w *world) cfg(stack, key string) string {
	return w.recs[stack].Config["trading-ha:"+key]
}

// all returns a stack's resources of a type.
func (w *world) all(stack, typ string) []*offline.Resource {
	return w.recs[stack].ByType(typ)
}

// named returns the resource of a type whose physical name is name, or an
// empty one (its values read as absent, so the claim fails naming them).
func (w *world) named(stack, typ, name string) *offline.Resource {
	for _, r := range w.all(stack, typ) {
		for _, k := range []string{"name", "alarmName", "bucket", "identifier", "clusterIdentifier", "family", "ruleName"} {
			if s, _ := r.Inputs[k].(string); s == name {
				return r
			}
		}
	}
	return &offline.Resource{Type: typ, Name: "(no " + name + ")", Inputs: map[string]any{}, Outputs: map[string]any{}}
}

// first returns a stack's first resource of a type (or an empty one).
func (w *world) first(stack, typ string) *offline.Resource {
	if rs := w.all(stack, typ); len(rs) > 0 {
		return rs[0]
	}
	return &offline.Resource{Type: typ, Name: "(none)", Inputs: map[string]any{}, Outputs: map[string]any{}}
}

// in formats an input of a resource at a dotted path.
func in(r *offline.Resource, path string) string {
	v, err := offline.Walk(r.Inputs, path)
	if err != nil {
		return "<absent " + path + ">"
	}
	return fmtv(v)
}

// jsonIn parses a JSON-string input.
func jsonIn(r *offline.Resource, path string, into any) {
	s, _ := offline.Lookup(r.Inputs, path).(string)
	_ = json.Unmarshal([]byte(s), into)
}

func fmtv(v any) string {
	switch t := v.(type) {
	case nil:
		return "<null>"
	case string:
		return t
	case float64:
		if t == math.Trunc(t) {
			return strconv.FormatInt(int64(t), 10)
		}
		return strconv.FormatFloat(t, 'f', -1, 64)
	case int:
		return strconv.Itoa(t)
	case bool:
		return strconv.FormatBool(t)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// eachStack is [f(dev), f(prod)].
func eachStack(f func(stack string) string) []string {
	return []string{f("dev"), f("prod")}
}

// agreed is f's value when both stacks agree, else both values.
func agreed(f func(stack string) string) string {
	d, p := f("dev"), f("prod")
	if d == p {
		return d
	}
	return "dev " + d + " / prod " + p
}

// stacksWhere lists the stacks for which f holds ("dev", "dev and prod").
func stacksWhere(f func(stack string) bool) string {
	var out []string
	for _, s := range Stacks {
		if f(s) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, " and ")
}

// container returns a stack's container definition by name.
// container returns the named container of any of the stack's task
// definitions (the app's, the migrate task's).
func (w *world) container(stack, name string) map[string]any {
	for _, td := range w.recs[stack].ByType("aws:ecs/taskDefinition:TaskDefinition") {
		var defs []map[string]any
		jsonIn(td, "containerDefinitions", &defs)
		for _, d := range defs {
			if d["name"] == name {
				return d
			}
		}
	}
	return map[string]any{}
}

func walk(v any, path string) string {
	x, err := offline.Walk(v, path)
	if err != nil {
		return "<absent " + path + ">"
	}
	return fmtv(x)
}

// asl returns a state machine's definition.
func (w *world) asl(stack, name string) map[string]any {
	var def map[string]any
	jsonIn(w.named(stack, "aws:sfn/stateMachine:StateMachine", name), "definition", &def)
	return def
}

// alarm returns a metric alarm by name.
func (w *world) alarm(stack, name string) *offline.Resource {
	return w.named(stack, "aws:cloudwatch/metricAlarm:MetricAlarm", name+"-"+stack)
}

// countAlarms counts a stack's metric alarms whose name matches re.
func (w *world) countAlarms(stack, re string) int {
	rx := regexp.MustCompile(re)
	n := 0
	for _, a := range w.all(stack, "aws:cloudwatch/metricAlarm:MetricAlarm") {
		if rx.MatchString(in(a, "name")) {
			n++
		}
	}
	return n
}

// scaling returns a stack's scalable target of a dimension.
func (w *world) scaling(stack, dimension string) *offline.Resource {
	for _, r := range w.all(stack, "aws:appautoscaling/target:Target") {
		if in(r, "scalableDimension") == dimension {
			return r
		}
	}
	return &offline.Resource{Inputs: map[string]any{}}
}

// backupRule returns a stack's backup plan rule by name.
func (w *world) backupRule(stack, rule string) map[string]any {
	for _, p := range w.all(stack, "aws:backup/plan:Plan") {
		rules, _ := p.Inputs["rules"].([]any)
		for _, r := range rules {
			if m, _ := r.(map[string]any); m["ruleName"] == rule {
				return m
			}
		}
	}
	return map[string]any{}
}

// ruled returns the value rejected or accepted by config for a stack with
// overrides: "rejected" or "accepted".
func ruled(t *testing.T, stack string, overrides map[string]string) string {
	rec, err := recordWith(t, stack, overrides)
	if err != nil && rec != nil && len(rec.Resources) == 0 {
		return "rejected"
	}
	if err != nil {
		return "error: " + err.Error()
	}
	return "accepted"
}

func atoi(s string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(s))
	return n
}

// --- normalising what a doc says ---------------------------------------------

var numberWords = map[string]string{
	"no": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
	"seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
}

var wordRe = regexp.MustCompile(`[a-z]+`)

// normClaim makes a stated and a true value comparable: case, number
// words, dashes and spacing do not matter.
func normClaim(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.NewReplacer("–", "-", "—", "-", "×", "x", "\u00a0", " ", "`", "").Replace(s)
	s = wordRe.ReplaceAllStringFunc(s, func(w string) string {
		if n, ok := numberWords[w]; ok {
			return n
		}
		return w
	})
	return strings.Join(strings.Fields(s), " ")
}

// listItems counts the items of "a, b, c and d".
func listItems(s string) string {
	s = strings.ReplaceAll(s, " and ", ", ")
	n := 0
	for _, p := range strings.Split(s, ",") {
		if strings.TrimSpace(p) != "" {
			n++
		}
	}
	return strconv.Itoa(n)
}

// --- the claims ----------------------------------------------------------------

// docFact is one checked claim.
type docFact struct {
	// files the claim is in; it must occur in each.
	files []string
	// claim says what is claimed, for the failure message.
	claim string
	// re matches the claim in the plain text (no backticks, no bold); its
	// capture groups are the stated values. Every match is checked.
	re string
	// want computes the true values, one per group.
	want func(w *world) []string
	// wantGot, instead of want, computes the true values from the stated
	// ones, for claims that name what they state a value of ("x=1").
	wantGot func(w *world, got []string) []string
	// count, if set, compares the number of items a group lists
	// ("a, b and c" -> 3) instead of its text, for these group indexes.
	count []int
}

func one1(s string) []string { return []string{s} }

func (w *world) readers(stack string) int {
	return len(w.all(stack, "aws:rds/clusterInstance:ClusterInstance")) - 1
}

func (w *world) stateMachines(stack, component string) int {
	n := 0
	for _, r := range w.all(stack, "aws:sfn/stateMachine:StateMachine") {
		if component == "" || r.Component == component {
			n++
		}
	}
	return n
}

func (w *world) forceDestroysAll(stack string) bool {
	for _, typ := range []string{"aws:s3/bucketV2:BucketV2", "aws:backup/vault:Vault", "aws:route53/zone:Zone"} {
		for _, r := range w.all(stack, typ) {
			if v, _ := r.Inputs["forceDestroy"].(bool); !v {
				return false
			}
		}
	}
	return true
}

func (w *world) natGateways(stack string) int {
	vpc := w.first(stack, "awsx:ec2:Vpc")
	azs, _ := vpc.Inputs["availabilityZoneNames"].([]any)
	switch in(vpc, "natGateways.strategy") {
	case "OnePerAz":
		return len(azs)
	case "Single":
		return 1
	}
	return 0
}

func (w *world) interfaceEndpoints(stack string) int {
	n := 0
	for _, e := range w.all(stack, "aws:ec2/vpcEndpoint:VpcEndpoint") {
		if in(e, "vpcEndpointType") == "Interface" {
			n++
		}
	}
	return n
}

func (w *world) hasInterfaceEndpoint(stack, service string) bool {
	for _, e := range w.all(stack, "aws:ec2/vpcEndpoint:VpcEndpoint") {
		if in(e, "serviceName") == "com.amazonaws.us-east-1."+service {
			return true
		}
	}
	return false
}

func (w *world) tasksEgressAnywhere(stack string) bool {
	for _, r := range w.all(stack, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") {
		if in(r, "cidrIpv4") == "0.0.0.0/0" && strings.Contains(r.Name, "tasks") {
			return true
		}
	}
	return false
}

// targetGroupPattern is the target group's recorded name written as the
// docs write it: tg-<suffix>-<8 hex>.
func (w *world) targetGroupPattern(stack string) string {
	name := in(w.first(stack, "aws:lb/targetGroup:TargetGroup"), "name")
	name = regexp.MustCompile(`-[0-9a-f]{8}$`).ReplaceAllString(name, "-<8 hex>")
	return strings.Replace(name, "-"+stack, "-<suffix>", 1)
}

// facts is the table of checked claims. Keep it in the order of the docs.
var facts = []docFact{
	// README.md
	{files: []string{"README.md", "docs/architecture.md"}, claim: "availability zones", re: `in us-east-1,?\s+(?:across|spread over)\s+(\w+) availability zones`,
		want: func(w *world) []string {
			return one1(agreed(func(s string) string {
				return fmtv(len(w.first(s, "awsx:ec2:Vpc").Inputs["availabilityZoneNames"].([]any)))
			}))
		}},
	{files: []string{"README.md", "docs/architecture.md", "docs/database.md"}, claim: "Aurora PostgreSQL major version", re: `Aurora PostgreSQL (\d+)`,
		want: func(w *world) []string {
			return one1(agreed(func(s string) string {
				return strings.Split(in(w.first(s, "aws:rds/cluster:Cluster"), "engineVersion"), ".")[0]
			}))
		}},
	{files: []string{"README.md"}, claim: "RTO in minutes", re: `automatically well inside (\d+) minutes`,
		want: func(w *world) []string { return one1(agreed(func(s string) string { return w.cfg(s, "rtoMinutes") })) }},
	{files: []string{"README.md"}, claim: "Go version", re: `Prerequisites: Go (\d+\.\d+)`,
		want: func(w *world) []string {
			b, _ := os.ReadFile("../go.mod")
			m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(string(b))
			if m == nil {
				return one1("<no go directive>")
			}
			return one1(m[1])
		}},
	{files: []string{"README.md"}, claim: "mutants in the mutation run", re: `mutation run: (\d+) regressions`, want: mutantCount},
	{files: []string{"docs/validation.md"}, claim: "mutants in the mutation run", re: `each of the (\d+) mutants`, want: mutantCount},
	{files: []string{"README.md"}, claim: "which stacks one pulumi destroy removes entirely (force-destroying buckets, vaults, zone)", re: `pulumi destroy +# (?:(\w+): )?removes everything`,
		want: func(w *world) []string {
			return one1(stacksWhere(func(s string) bool { return w.forceDestroysAll(s) && w.cfg(s, "deletionProtection") != "true" }))
		}},
	{files: []string{"README.md"}, claim: "dev's AZs", re: `Stacks: dev \(small, still (\w+) AZs\)`,
		want: func(w *world) []string {
			return one1(fmtv(len(w.first("dev", "awsx:ec2:Vpc").Inputs["availabilityZoneNames"].([]any))))
		}},

	// docs/architecture.md
	{files: []string{"docs/architecture.md"}, claim: "stacks with NAT gateways one per AZ / with none", re: `NAT gateways \((\w+): one per AZ[^;)]*; (\w+): none`,
		want: func(w *world) []string {
			return []string{
				stacksWhere(func(s string) bool { return w.natGateways(s) == 3 }),
				stacksWhere(func(s string) bool { return w.natGateways(s) == 0 }),
			}
		}},
	{files: []string{"docs/architecture.md"}, claim: "NAT gateways per AZ in which stacks", re: `NAT gateways per AZ(?: in (\w+))?`,
		want: func(w *world) []string {
			return one1(stacksWhere(func(s string) bool { return w.natGateways(s) == 3 }))
		}},
	{files: []string{"docs/architecture.md"}, claim: "gateway endpoints", re: `gateway endpoints for (\w+) and (\w+)`,
		want: func(w *world) []string {
			var svcs []string
			for _, e := range w.all("dev", "aws:ec2/vpcEndpoint:VpcEndpoint") {
				if in(e, "vpcEndpointType") == "Gateway" {
					svcs = append(svcs, strings.TrimPrefix(in(e, "serviceName"), "com.amazonaws.us-east-1."))
				}
			}
			sort.Sort(sort.Reverse(sort.StringSlice(svcs))) // s3, dynamodb
			return svcs
		}},
	{files: []string{"docs/architecture.md"}, claim: "runbooks in the operations tier", re: `Step Functions runbooks \(([^)]*)\)`, count: []int{0},
		want: func(w *world) []string {
			return one1(agreed(func(s string) string { return fmtv(w.stateMachines(s, "trading:runbooks:Runbooks")) }))
		}},
	{files: []string{"docs/architecture.md"}, claim: "state machine definitions known at first preview", re: `all (\d+) definitions \(([^)]*)\)`, count: []int{1},
		want: func(w *world) []string {
			n := agreed(func(s string) string { return fmtv(w.stateMachines(s, "")) })
			return []string{n, n}
		}},
	{files: []string{"docs/validation.md"}, claim: "state machines known at first preview", re: `the state machines at first preview: all (\d+)\s+register[^.]*all (\d+) definitions are\s+known[^.]*\.[^.]*All (\w+) are built`,
		want: func(w *world) []string {
			n := agreed(func(s string) string { return fmtv(w.stateMachines(s, "")) })
			return []string{n, n, n}
		}},
	{files: []string{"docs/architecture.md", "docs/validation.md"}, claim: "policy documents known at first preview", re: `policy documents\s+dev (\d+) of (\d+) \((\d+)%\), prod (\d+) of (\d+)\s+\((\d+)%\)`,
		want: func(w *world) []string {
			var out []string
			for _, s := range Stacks {
				k, n, _, _ := knownAtPreview(w.t, s)
				out = append(out, fmtv(k), fmtv(n), fmtv(int(math.Round(100*float64(k)/float64(n)))))
			}
			return out
		}},
	{files: []string{"docs/architecture.md", "docs/validation.md"}, claim: "reviewed documents known at first preview", re: `event patterns\)? dev (\d+) of (\d+), prod (\d+) of (\d+)`,
		want: func(w *world) []string {
			var out []string
			for _, s := range Stacks {
				_, _, k, n := knownAtPreview(w.t, s)
				out = append(out, fmtv(k), fmtv(n))
			}
			return out
		}},

	// docs/service.md
	{files: []string{"docs/service.md"}, claim: "desired count", re: `Desired count: dev (\d+), prod (\d+)`,
		want: func(w *world) []string {
			return eachStack(func(s string) string { return in(w.first(s, "aws:ecs/service:Service"), "desiredCount") })
		}},
	{files: []string{"docs/service.md"}, claim: "where config rejects fewer than 3 tasks", re: `Config rejects fewer than (\d+)(?: tasks)? in (?:the )?(\w+) stack`,
		want: func(w *world) []string {
			scope := "prod"
			if ruled(w.t, "dev", map[string]string{"trading-ha:desiredCount": "2", "trading-ha:minCapacity": "2"}) == "rejected" {
				scope = "every"
			}
			return []string{"3", scope}
		}},
	{files: []string{"docs/service.md"}, claim: "deployment minimum healthy / maximum percent", re: `Minimum healthy (\d+) %, maximum (\d+) %`,
		want: func(w *world) []string {
			svc := w.first("prod", "aws:ecs/service:Service")
			return []string{in(svc, "deploymentMinimumHealthyPercent"), in(svc, "deploymentMaximumPercent")}
		}},
	{files: []string{"docs/service.md"}, claim: "health check grace period", re: `Health check grace period (\d+) s`,
		want: func(w *world) []string {
			return one1(agreed(func(s string) string {
				return in(w.first(s, "aws:ecs/service:Service"), "healthCheckGracePeriodSeconds")
			}))
		}},
	{files: []string{"docs/service.md"}, claim: "container health check start period", re: `health check's start period is (\d+) s`,
		want: func(w *world) []string {
			return one1(agreed(func(s string) string { return walk(w.container(s, "trading"), "healthCheck.startPeriod") }))
		}},
	{files: []string{"docs/service.md"}, claim: "task CPU/memory per stack", re: `Dev uses (\d+)/(\d+) and prod uses (\d+)/(\d+)`,
		want: func(w *world) []string {
			var out []string
			for _, s := range Stacks {
				td := w.first(s, "aws:ecs/taskDefinition:TaskDefinition")
				out = append(out, in(td, "cpu"), in(td, "memory"))
			}
			return out
		}},
	{files: []string{"docs/service.md"}, claim: "container health check", re: `interval (\d+), timeout (\d+), retries (\d+), startPeriod (\d+)[^|]*unhealthy in (\d+) s`,
		want: func(w *world) []string {
			c := w.container("dev", "trading")
			return []string{walk(c, "healthCheck.interval"), walk(c, "healthCheck.timeout"), walk(c, "healthCheck.retries"), walk(c, "healthCheck.startPeriod"),
				fmtv(atoi(walk(c, "healthCheck.interval")) * atoi(walk(c, "healthCheck.retries")))}
		}},
	{files: []string{"docs/service.md"}, claim: "container stopTimeout", re: `\| stopTimeout \| (\d+)`,
		want: func(w *world) []string { return one1(walk(w.container("dev", "trading"), "stopTimeout")) }},
	{files: []string{"docs/service.md"}, claim: "container user", re: `\| user \| ([\d:]+)`,
		want: func(w *world) []string { return one1(walk(w.container("dev", "trading"), "user")) }},
	{files: []string{"docs/service.md"}, claim: "nofile ulimit", re: `nofile (\d+)/(\d+)`,
		want: func(w *world) []string {
			c := w.container("dev", "trading")
			return []string{walk(c, "ulimits.0.softLimit"), walk(c, "ulimits.0.hardLimit")}
		}},
	{files: []string{"docs/service.md"}, claim: "drain delay and shutdown timeout", re: `DRAIN_DELAY \((\w+)\), SHUTDOWN_TIMEOUT \((\w+)\)`,
		want: func(w *world) []string { return []string{envOf(w, "DRAIN_DELAY"), envOf(w, "SHUTDOWN_TIMEOUT")} }},
	{files: []string{"docs/service.md"}, claim: "awslogs options", re: `logs \| awslogs → ([^ ]+) [^|]*stream prefix (\w+), mode: ([\w-]+), (\w+) buffer`,
		want: func(w *world) []string {
			c := w.container("dev", "trading")
			return []string{strings.Replace(walk(c, "logConfiguration.options.awslogs-group"), "-dev", "-<suffix>", 1),
				walk(c, "logConfiguration.options.awslogs-stream-prefix"), walk(c, "logConfiguration.options.mode"), walk(c, "logConfiguration.options.max-buffer-size")}
		}},
	{files: []string{"docs/service.md"}, claim: "container environment and secrets (the Environment table)", re: `(?s)\| variable \| source \|\n\|---\|---\|\n(.*?)\n\n`,
		want: func(w *world) []string { return one1("") }},
	{files: []string{"docs/service.md"}, claim: "ALB idle timeout", re: `albIdleTimeoutSeconds \((\d+)\)`,
		want: func(w *world) []string {
			return one1(agreed(func(s string) string { return in(w.first(s, "aws:lb/loadBalancer:LoadBalancer"), "idleTimeout") }))
		}},
	{files: []string{"docs/service.md"}, claim: "target group name, type and port", re: `Target group ([^:]+): target type (\w+), HTTP to port (\d+)`,
		want: func(w *world) []string {
			tg := w.first("dev", "aws:lb/targetGroup:TargetGroup")
			return []string{w.targetGroupPattern("dev"), in(tg, "targetType"), in(tg, "port")}
		}},
	{files: []string{"docs/deploy.md"}, claim: "target group name pattern", re: `target group \(([^)]+)\)`,
		want: func(w *world) []string { return one1(w.targetGroupPattern("prod")) }},
	{files: []string{"docs/service.md"}, claim: "target group health check", re: `Interval (\d+), timeout (\d+), healthy\s+(\d+), unhealthy (\d+), matcher (\d+)`,
		want: func(w *world) []string {
			tg := w.first("dev", "aws:lb/targetGroup:TargetGroup")
			return []string{in(tg, "healthCheck.interval"), in(tg, "healthCheck.timeout"), in(tg, "healthCheck.healthyThreshold"), in(tg, "healthCheck.unhealthyThreshold"), in(tg, "healthCheck.matcher")}
		}},
	{files: []string{"docs/service.md"}, claim: "deregistration delay", re: `Deregistration delay (\d+) s, the same as the container's stopTimeout`,
		want: func(w *world) []string {
			return one1(agreed(func(s string) string { return in(w.first(s, "aws:lb/targetGroup:TargetGroup"), "deregistrationDelay") }))
		}},
	{files: []string{"docs/service.md"}, claim: "deregistration delay cap", re: `Config caps it at (\d+)`,
		want: func(w *world) []string {
			cap := "?"
			for _, v := range []int{60, 90, 120, 300} {
				if ruled(w.t, "dev", map[string]string{"trading-ha:deregistrationDelaySeconds": strconv.Itoa(v + 1)}) == "rejected" {
					cap = strconv.Itoa(v)
					break
				}
			}
			return one1(cap)
		}},
	{files: []string{"docs/service.md"}, claim: "slow start", re: `Slow start is off \(slowStartSeconds (\d+)`,
		want: func(w *world) []string {
			v := in(w.first("dev", "aws:lb/targetGroup:TargetGroup"), "slowStart")
			if strings.HasPrefix(v, "<") {
				v = "0"
			}
			return one1(v)
		}},
	{files: []string{"docs/service.md"}, claim: "HTTPS listener", re: `(\d+) HTTPS forwards to the target group with ([\w-]+)`,
		want: func(w *world) []string {
			for _, l := range w.all("dev", "aws:lb/listener:Listener") {
				if in(l, "protocol") == "HTTPS" {
					return []string{in(l, "port"), in(l, "sslPolicy")}
				}
			}
			return nil
		}},
	{files: []string{"docs/service.md"}, claim: "HTTP listener redirect (httpRedirect)", re: `port-80 listener that only redirects to HTTPS:(\d+) with (HTTP_\d+)`,
		want: func(w *world) []string {
			for _, l := range w.all("dev", "aws:lb/listener:Listener") {
				if in(l, "protocol") == "HTTP" {
					return []string{in(l, "defaultActions.0.redirect.port"), in(l, "defaultActions.0.redirect.statusCode")}
				}
			}
			return []string{"443", "HTTP_301"} // TestHTTPRedirectOnRequest holds the listener httpRedirect creates
		}},
	{files: []string{"docs/service.md"}, claim: "listener rules before the default action", re: `priority (\d+): /healthz\* and /readyz\*`,
		want: func(w *world) []string {
			for _, r := range w.all("dev", "aws:lb/listenerRule:ListenerRule") {
				if strings.Contains(in(r, "conditions"), "/healthz*") {
					return one1(in(r, "priority"))
				}
			}
			return one1("<none>")
		}},
	{files: []string{"docs/service.md"}, claim: "self-signed certificate validity and renewal", re: `valid for (\w+) year and re-issued by the first pulumi up in its last (\d+) days`,
		want: func(w *world) []string {
			c := w.first("dev", "tls:index/selfSignedCert:SelfSignedCert")
			return []string{fmtv(atoi(in(c, "validityPeriodHours")) / 8760), fmtv(atoi(in(c, "earlyRenewalHours")) / 24)}
		}},
	{files: []string{"docs/service.md"}, claim: "stacks whose tasks may reach 0.0.0.0/0 / only the endpoints group", re: `(\w+)\s+\(privateEgress: nat\) lets the tasks out on 443 to 0\.0\.0\.0/0[^.]*\. (\w+) \(endpoints\) lets\s+them out only to the endpoints group`,
		want: func(w *world) []string {
			return []string{stacksWhere(w.tasksEgressAnywhere), stacksWhere(func(s string) bool {
				for _, r := range w.all(s, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") {
					if strings.HasSuffix(r.Name, "tasks-out-endpoints") {
						return !w.tasksEgressAnywhere(s)
					}
				}
				return false
			})}
		}},
	{files: []string{"docs/service.md"}, claim: "service autoscaling bounds", re: `DesiredCount between dev (\d+)[–-](\d+) and prod (\d+)[–-](\d+)`,
		want: func(w *world) []string {
			var out []string
			for _, s := range Stacks {
				t := w.scaling(s, "ecs:service:DesiredCount")
				out = append(out, in(t, "minCapacity"), in(t, "maxCapacity"))
			}
			return out
		}},
	{files: []string{"docs/service.md"}, claim: "CPU target tracking", re: `ECSServiceAverageCPUUtilization at (\d+) %`,
		want: func(w *world) []string {
			return one1(scalingPolicy(w, "ECSServiceAverageCPUUtilization", "targetValue"))
		}},
	{files: []string{"docs/service.md"}, claim: "request count target tracking", re: `ALBRequestCountPerTarget at (\d+)`,
		want: func(w *world) []string { return one1(scalingPolicy(w, "ALBRequestCountPerTarget", "targetValue")) }},
	{files: []string{"docs/service.md"}, claim: "scaling cooldowns", re: `Both use a (\d+) s scale-in cooldown and a (\d+) s scale-out cooldown`,
		want: func(w *world) []string {
			return []string{scalingPolicy(w, "ECSServiceAverageCPUUtilization", "scaleInCooldown"), scalingPolicy(w, "ALBRequestCountPerTarget", "scaleOutCooldown")}
		}},
	{files: []string{"docs/service.md"}, claim: "WAF rule priorities", re: `\| (\d+) \| (AWSManagedRules\w+|RateLimitPerIP)`,
		want: nil},
	{files: []string{"docs/service.md"}, claim: "WAF rate rule window and limit", re: `rate-based, per IP, (\d+) s window, limit wafRateLimit \(dev (\d+), prod (\d+)\)`,
		want: func(w *world) []string {
			return []string{wafRate(w, "dev", "evaluationWindowSec"), wafRate(w, "dev", "limit"), wafRate(w, "prod", "limit")}
		}},
	{files: []string{"docs/service.md"}, claim: "how the tasks reach SSM per stack", re: `reach SSM over NAT in (\w+) and through the\s+ssm interface endpoint in (\w+)`,
		want: func(w *world) []string {
			return []string{
				stacksWhere(func(s string) bool { return w.natGateways(s) > 0 && !w.hasInterfaceEndpoint(s, "ssm") }),
				stacksWhere(func(s string) bool { return w.hasInterfaceEndpoint(s, "ssm") }),
			}
		}},
	{files: []string{"docs/service.md"}, claim: "key sync schedule", re: `identity\.KeySyncSchedule, (rate\(1 minute\))`,
		want: func(w *world) []string {
			return one1(in(w.named("dev", "aws:scheduler/schedule:Schedule", "sched-key-sync-dev"), "scheduleExpression"))
		}},
	{files: []string{"docs/service.md"}, claim: "key sync fetch timeout and retries", re: `(\d+) s timeout, (\w+) retries`,
		want: func(w *world) []string {
			def := w.asl("dev", "sm-key-sync-dev")
			return []string{walk(def, "States.FetchJWKS.TimeoutSeconds"), walk(def, "States.FetchJWKS.Retry.0.MaxAttempts")}
		}},
	{files: []string{"docs/service.md"}, claim: "key sync failed periods", re: `identity\.KeySyncFailedPeriods \((\d+)\)`,
		want: func(w *world) []string {
			return one1(in(w.alarm("dev", "alarm-sm-key-sync-failed"), "evaluationPeriods"))
		}},
	{files: []string{"docs/service.md"}, claim: "ALB detection of a failed task", re: `at most (\d+) s \((\d+) s × (\d+) \+ (\d+) s timeout\)`,
		want: func(w *world) []string {
			tg := w.first("dev", "aws:lb/targetGroup:TargetGroup")
			i, u, to := atoi(in(tg, "healthCheck.interval")), atoi(in(tg, "healthCheck.unhealthyThreshold")), atoi(in(tg, "healthCheck.timeout"))
			return []string{fmtv(i*u + to), fmtv(i), fmtv(u), fmtv(to)}
		}},
	{files: []string{"docs/service.md"}, claim: "container detection of a hang", re: `marks a hang after (\d+) s \((\d+) s × (\d+)\)`,
		want: func(w *world) []string {
			c := w.container("dev", "trading")
			i, r := atoi(walk(c, "healthCheck.interval")), atoi(walk(c, "healthCheck.retries"))
			return []string{fmtv(i * r), fmtv(i), fmtv(r)}
		}},
	{files: []string{"docs/service.md"}, claim: "draining figures", re: `out within (\d+) s \((\d+) s × (\d+)\) while it keeps serving for DRAIN_DELAY (\d+) s, then (\d+) s for in-flight requests, inside stopTimeout (\d+) s; deregistration delay (\d+) s`,
		want: func(w *world) []string {
			tg := w.first("dev", "aws:lb/targetGroup:TargetGroup")
			i, u := atoi(in(tg, "healthCheck.interval")), atoi(in(tg, "healthCheck.unhealthyThreshold"))
			return []string{fmtv(i * u), fmtv(i), fmtv(u), strings.TrimSuffix(envOf(w, "DRAIN_DELAY"), "s"), strings.TrimSuffix(envOf(w, "SHUTDOWN_TIMEOUT"), "s"),
				walk(w.container("dev", "trading"), "stopTimeout"), in(tg, "deregistrationDelay")}
		}},

	{files: []string{"docs/architecture.md", "docs/service.md"}, claim: "HTTPS listener TLS policy", re: `TLS 1\.3 policy ([\w-]+)|forwards to the target group with ([\w-]+)`,
		wantGot: func(w *world, got []string) []string {
			p := ""
			for _, l := range w.all("prod", "aws:lb/listener:Listener") {
				if in(l, "protocol") == "HTTPS" {
					p = in(l, "sslPolicy")
				}
			}
			out := make([]string, len(got))
			for i, g := range got {
				if g != "" {
					out[i] = p
				}
			}
			return out
		}},
	{files: []string{"docs/service.md"}, claim: "drain delay and shutdown timeout inside stopTimeout", re: `stopTimeout \| (\d+) \(the app's DRAIN_DELAY (\d+) s \+ SHUTDOWN_TIMEOUT (\d+) s`,
		want: func(w *world) []string {
			return []string{walk(w.container("dev", "trading"), "stopTimeout"), strings.TrimSuffix(envOf(w, "DRAIN_DELAY"), "s"), strings.TrimSuffix(envOf(w, "SHUTDOWN_TIMEOUT"), "s")}
		}},
	{files: []string{"docs/service.md"}, claim: "drain delay in the health check rule", re: `above the app's (\d+) s drain delay`,
		want: func(w *world) []string { return one1(strings.TrimSuffix(envOf(w, "DRAIN_DELAY"), "s")) }},
	{files: []string{"docs/service.md"}, claim: "key retention after a key is missed", re: `token lifetime\s+\(identity\.TokenValidityMinutes, (\d+)\) plus the service's refresh period\s+\(identity\.ServiceKeyRefreshMinutes, (\d+)\): (\d+) min`,
		want: func(w *world) []string {
			return []string{fmtv(identity.TokenValidityMinutes), fmtv(identity.ServiceKeyRefreshMinutes), fmtv(identity.KeyRetentionMinutes)}
		}},
	{files: []string{"docs/service.md"}, claim: "Cognito access token lifetime", re: `identity\.TokenValidityMinutes, (\d+)\)`,
		want: func(w *world) []string {
			c := w.first("dev", "aws:cognito/userPoolClient:UserPoolClient")
			v := in(c, "accessTokenValidity")
			if in(c, "tokenValidityUnits.accessToken") == "hours" {
				v = fmtv(atoi(v) * 60)
			}
			return one1(v)
		}},
	{files: []string{"docs/service.md"}, claim: "AZ loss detection", re: `AZ loss \| ALB health checks per target \((\d+) s\)`,
		want: func(w *world) []string {
			tg := w.first("dev", "aws:lb/targetGroup:TargetGroup")
			return one1(fmtv(atoi(in(tg, "healthCheck.interval"))*atoi(in(tg, "healthCheck.unhealthyThreshold")) + atoi(in(tg, "healthCheck.timeout"))))
		}},

	// docs/events.md
	{files: []string{"docs/events.md"}, claim: "event archive retention", re: `eventArchiveRetentionDays\s+\(dev (\d+), prod (\d+)\)`,
		want: func(w *world) []string {
			return eachStack(func(s string) string {
				return in(w.first(s, "aws:cloudwatch/eventArchive:EventArchive"), "retentionDays")
			})
		}},
	{files: []string{"docs/events.md"}, claim: "orders rule pattern and target count", re: `Rule rule-orders-<suffix> \((\{[^\n]*?\})(?::[^)]*)?\), (\w+) targets?`,
		want: func(w *world) []string {
			r := w.named("dev", "aws:cloudwatch/eventRule:EventRule", "rule-orders-dev")
			n := 0
			for _, t := range w.all("dev", "aws:cloudwatch/eventTarget:EventTarget") {
				if in(t, "rule") == "rule-orders-dev" {
					n++
				}
			}
			return []string{canonicalJSON(in(r, "eventPattern")), fmtv(n)}
		}},
	{files: []string{"docs/events.md"}, claim: "orders queue redrive receives", re: `after\s+ordersQueueMaxReceiveCount receives \(default (\d+)\)`,
		want: func(w *world) []string {
			var rp struct{ MaxReceiveCount float64 }
			jsonIn(w.named("dev", "aws:sqs/queue:Queue", "orders-dev"), "redrivePolicy", &rp)
			return one1(fmtv(rp.MaxReceiveCount))
		}},
	{files: []string{"docs/events.md"}, claim: "events component's targets (retry policy and DLQ on each)", re: `Every target of the events component \((\d+)\) has retryPolicy`,
		want: func(w *world) []string {
			return one1(agreed(func(s string) string {
				n := 0
				for _, t := range w.all(s, "aws:cloudwatch/eventTarget:EventTarget") {
					if t.Component == "trading:events:Events" && in(t, "deadLetterConfig.arn") != "" && !strings.HasPrefix(in(t, "retryPolicy.maximumRetryAttempts"), "<") {
						n++
					}
				}
				return fmtv(n)
			}))
		}},
	{files: []string{"docs/events.md"}, claim: "events DLQ retention", re: `dlq-<suffix> \((\d+)-day retention`,
		want: func(w *world) []string {
			return one1(fmtv(atoi(in(w.named("dev", "aws:sqs/queue:Queue", "dlq-dev"), "messageRetentionSeconds")) / 86400))
		}},
	{files: []string{"docs/events.md"}, claim: "rule ARNs the DLQ admits", re: `one of our (\w+) rule ARNs`,
		want: func(w *world) []string {
			var d policyDoc
			for _, r := range w.all("dev", "aws:sqs/queuePolicy:QueuePolicy") {
				if strings.Contains(in(r, "policy"), ":dlq-dev\"") {
					jsonIn(r, "policy", &d)
				}
			}
			for _, st := range d.Statement {
				if arns, ok := st.Condition["ArnEquals"]["aws:SourceArn"].([]any); ok {
					return one1(fmtv(len(arns)))
				}
			}
			return one1("<none>")
		}},
	{files: []string{"docs/events.md"}, claim: "state machines role-events may start", re: `states:StartExecution on those (\w+) state machines`,
		want: func(w *world) []string {
			for _, r := range w.all("dev", "aws:iam/rolePolicy:RolePolicy") {
				if strings.Contains(r.Name, "events-role") {
					var d policyDoc
					jsonIn(r, "policy", &d)
					n := 0
					for _, st := range d.Statement {
						n += len(st.Resource)
					}
					return one1(fmtv(n))
				}
			}
			return one1("<no events role policy>")
		}},
	{files: []string{"docs/events.md"}, claim: "KMS key-state rule's targets, retries and DLQ", re: `rule-kms-key-state-<suffix>[^.]*?(\w+) targets[^.]*?retry (\d+) times within (\d+) s and have no dead-letter queue`,
		want: func(w *world) []string {
			var ts []*offline.Resource
			for _, t := range w.all("dev", "aws:cloudwatch/eventTarget:EventTarget") {
				if in(t, "rule") == "rule-kms-key-state-dev" {
					ts = append(ts, t)
				}
			}
			if len(ts) == 0 {
				return one1("<no targets>")
			}
			return []string{fmtv(len(ts)), in(ts[0], "retryPolicy.maximumRetryAttempts"), in(ts[0], "retryPolicy.maximumEventAgeInSeconds")}
		}},

	// docs/backup.md
	{files: []string{"docs/backup.md"}, claim: "stacks whose vault is force-destroyed", re: `Vault vault-<suffix>: encrypted with the data KMS key, forceDestroy: true(?: in (\w+) only)?`,
		want: func(w *world) []string {
			return one1(stacksWhere(func(s string) bool {
				for _, v := range w.all(s, "aws:backup/vault:Vault") {
					if b, _ := v.Inputs["forceDestroy"].(bool); !b {
						return false
					}
				}
				return true
			}))
		}},
	{files: []string{"docs/backup.md"}, claim: "vault notifications topic", re: `Vault notifications to ([\w<>-]+):`, want: vaultTopic},
	{files: []string{"docs/backup.md"}, claim: "vault notifications topic (copies)", re: `source vault's notifications \(([\w<>-]+)\)`, want: vaultTopic},
	{files: []string{"docs/backup.md"}, claim: "daily rule windows and retention", re: `start window backupStartWindowMinutes \((\d+)\), completion window backupCompletionWindowMinutes\s+\((\d+)\), delete after backupRetentionDays \(dev (\d+), prod (\d+)\)`,
		want: func(w *world) []string {
			r := w.backupRule("dev", "daily")
			return []string{walk(r, "startWindow"), walk(r, "completionWindow"), walk(r, "lifecycle.deleteAfter"), walk(w.backupRule("prod", "daily"), "lifecycle.deleteAfter")}
		}},
	{files: []string{"docs/backup.md"}, claim: "daily selection", re: `Selection selection-daily: ([^,]+, [^,]+ and [^,]+), by ARN`, count: []int{0},
		want: func(w *world) []string {
			rs, _ := w.named("dev", "aws:backup/selection:Selection", "selection-daily-dev").Inputs["resources"].([]any)
			return one1(fmtv(len(rs)))
		}},
	{files: []string{"docs/backup.md"}, claim: "continuous rule retention", re: `continuousBackupRetentionDays \(dev (\d+), prod (\d+);`,
		want: func(w *world) []string {
			return eachStack(func(s string) string { return walk(w.backupRule(s, "continuous"), "lifecycle.deleteAfter") })
		}},
	{files: []string{"docs/backup.md"}, claim: "backup role's managed policies", re: `with the AWS\s+managed policies ([^()]*?) \(the S3 ones`, count: []int{0},
		want: func(w *world) []string {
			n := 0
			for _, a := range w.all("dev", "aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
				if strings.Contains(in(a, "policyArn"), "AWSBackupServiceRolePolicy") {
					n++
				}
			}
			return one1(fmtv(n))
		}},
	{files: []string{"docs/backup.md"}, claim: "restore testing windows", re: `start window (\d+) h, the\s+latest SNAPSHOT recovery point of our vault within (\d+) days`,
		want: func(w *world) []string {
			p := w.first("dev", "aws:backup/restoreTestingPlan:RestoreTestingPlan")
			return []string{in(p, "startWindowHours"), in(p, "recoveryPointSelection.selectionWindowDays")}
		}},
	{files: []string{"docs/backup.md"}, claim: "restore validation hours", re: `restoreTestingValidationHours \((\d+)\) before AWS Backup deletes it`,
		want: func(w *world) []string {
			return one1(in(w.first("dev", "aws:backup/restoreTestingSelection:RestoreTestingSelection"), "validationWindowHours"))
		}},
	{files: []string{"docs/backup.md"}, claim: "service snapshot schedule per stack", re: `serviceSnapshotSchedule:\s+dev (rate\([^)]*\)), prod (rate\([^)]*\))`,
		want: func(w *world) []string {
			return eachStack(func(s string) string {
				return in(w.named(s, "aws:scheduler/schedule:Schedule", "sched-svc-snapshot-"+s), "scheduleExpression")
			})
		}},
	{files: []string{"docs/backup.md"}, claim: "snapshot task retries", re: `Every Task retries (\d+) times \((\d+) s, backoff (\d+)\)`,
		want: func(w *world) []string {
			def := w.asl("dev", "sm-svc-snapshot-dev")
			return []string{walk(def, "States.DescribeService.Retry.0.MaxAttempts"), walk(def, "States.DescribeService.Retry.0.IntervalSeconds"), walk(def, "States.DescribeService.Retry.0.BackoffRate")}
		}},
	{files: []string{"docs/backup.md"}, claim: "topic the snapshot failure notifies", re: `caught into NotifyFailure\s+\(sns:publish to ([\w<>-]+)\)`,
		want: func(w *world) []string {
			def := w.asl("dev", "sm-svc-snapshot-dev")
			arn := walk(def, "States.NotifyFailure.Arguments.TopicArn")
			if strings.HasPrefix(arn, "<") {
				arn = walk(def, "States.NotifyFailure.Parameters.TopicArn")
			}
			return one1(strings.Replace(arnTail(arn), "-dev", "-<suffix>", 1))
		}},
	{files: []string{"docs/backup.md"}, claim: "snapshot logging level", re: `Logging: level\s+(\w+)`,
		want: func(w *world) []string {
			return one1(in(w.named("dev", "aws:sfn/stateMachine:StateMachine", "sm-svc-snapshot-dev"), "loggingConfiguration.level"))
		}},
	{files: []string{"docs/backup.md"}, claim: "cross-region copy per stack", re: `drRegion set \(prod: ([\w-]+); dev: (\w+)\)`,
		want: func(w *world) []string {
			dev := w.cfg("dev", "drRegion")
			if dev == "" {
				dev = "off"
			}
			return []string{w.cfg("prod", "drRegion"), dev}
		}},

	// docs/database.md
	{files: []string{"docs/database.md"}, claim: "dev's instance names", re: `\| (aurora-dev-1(?:, -\d+)*)(?: \(prod also[^)]*\))? \|`,
		want: func(w *world) []string {
			var ids []string
			for i, r := range w.all("dev", "aws:rds/clusterInstance:ClusterInstance") {
				id := in(r, "identifier")
				if i > 0 {
					id = id[strings.LastIndex(id, "-"):]
				}
				ids = append(ids, id)
			}
			return one1(strings.Join(ids, ", "))
		}},
	{files: []string{"docs/database.md"}, claim: "instance placement and promotion tiers", re: `-1 in AZ\[0\] tier (\d+) \(writer\), -2 AZ\[1\] tier (\d+), -3 AZ\[2\] tier (\d+)`,
		want: func(w *world) []string {
			var out []string
			for _, r := range w.all("prod", "aws:rds/clusterInstance:ClusterInstance") {
				out = append(out, in(r, "promotionTier"))
			}
			return out
		}},
	{files: []string{"docs/database.md"}, claim: "engine version default", re: `dbEngineVersion \(default ([\d.]+)\)`,
		want: func(w *world) []string {
			return one1(agreed(func(s string) string { return in(w.first(s, "aws:rds/cluster:Cluster"), "engineVersion") }))
		}},
	{files: []string{"docs/database.md"}, claim: "instance CA", re: `CA (rds-ca-[\w-]+)`,
		want: func(w *world) []string {
			return one1(in(w.first("prod", "aws:rds/clusterInstance:ClusterInstance"), "caCertIdentifier"))
		}},
	{files: []string{"docs/database.md"}, claim: "parameter group name (dev)", re: `ClusterParameterGroup \| (aurora-pg14-cluster-dev[\w<> -]*?)(?: \([^)]*\))? \|`,
		want: func(w *world) []string {
			n := in(w.first("dev", "aws:rds/clusterParameterGroup:ClusterParameterGroup"), "name")
			return one1(regexp.MustCompile(`-[0-9a-f]{8}$`).ReplaceAllString(n, "-<8 hex>"))
		}},
	{files: []string{"docs/database.md"}, claim: "track_activity_query_size", re: `track_activity_query_size=(\d+)`,
		want: func(w *world) []string { return one1(clusterParam(w, "track_activity_query_size")) }},
	{files: []string{"docs/database.md"}, claim: "reader scaling cooldowns", re: `RDSReaderAverageCPUUtilization at dbReaderCpuTarget %, cooldowns (\d+) s`,
		want: func(w *world) []string {
			return one1(scalingPolicy(w, "RDSReaderAverageCPUUtilization", "scaleInCooldown"))
		}},
	{files: []string{"docs/database.md"}, claim: "connection parameters' type", re: `Connection settings go to Parameter Store \(([\w ]+),`,
		want: func(w *world) []string {
			return one1(in(w.named("dev", "aws:ssm/parameter:Parameter", "/trading/dev/db/writer-host"), "type"))
		}},
	{files: []string{"docs/database.md"}, claim: "db/port value", re: `db/port \((\d+)\)`,
		want: func(w *world) []string {
			return one1(in(w.named("dev", "aws:ssm/parameter:Parameter", "/trading/dev/db/port"), "value"))
		}},
	{files: []string{"docs/database.md"}, claim: "db/sslmode value", re: `db/sslmode \(([\w-]+);`,
		want: func(w *world) []string {
			return one1(in(w.named("dev", "aws:ssm/parameter:Parameter", "/trading/dev/db/sslmode"), "value"))
		}},
	{files: []string{"docs/database.md"}, claim: "environment the master secret is injected as", re: `maps (?:them )?to\s+([A-Z_]+)/([A-Z_]+)`,
		want: func(w *world) []string {
			var out []string
			secrets, _ := w.container("dev", "migrate")["secrets"].([]any)
			for _, s := range secrets {
				m, _ := s.(map[string]any)
				if v, _ := m["valueFrom"].(string); strings.Contains(v, ":secretsmanager:") || strings.Contains(v, "secret:") || v == "" {
					out = append(out, fmtv(m["name"]))
				}
			}
			return out
		}},
	{files: []string{"docs/database.md"}, claim: "resources per stack", re: `Dev: (\d+) resources \(writer \+ (\d+) reader\)\. Prod: (\d+) \(writer \+ (\d+) readers\)`,
		want: func(w *world) []string {
			var out []string
			for _, s := range Stacks {
				n := 0
				for _, r := range w.recs[s].Resources {
					if r.Component == "trading:database:Cluster" && r.Type != "trading:database:Cluster" {
						n++
					}
				}
				out = append(out, fmtv(n), fmtv(w.readers(s)))
			}
			return out
		}},
	{files: []string{"docs/database.md"}, claim: "PITR window per stack", re: `dbBackupRetentionDays \((\d+) dev, (\d+) prod\)`,
		want: func(w *world) []string {
			return eachStack(func(s string) string { return in(w.first(s, "aws:rds/cluster:Cluster"), "backupRetentionPeriod") })
		}},
	{files: []string{"docs/database.md"}, claim: "default dbReaderMaxCount and dbReaderCount", re: `\(the default is (\d+), the default dbReaderCount\)`,
		want: func(w *world) []string { return one1(schemaDefault(w.t, "dbReaderMaxCount")) }},
	{files: []string{"docs/database.md"}, claim: "prod readers and their autoscaling", re: `Prod keeps\s+reader autoscaling \((\d+) \+ (\d+) readers, up to (\d+)\)`,
		want: func(w *world) []string {
			t := w.scaling("prod", "rds:cluster:ReadReplicaCount")
			return []string{"1", fmtv(w.readers("prod")), in(t, "maxCapacity")}
		}},
	{files: []string{"docs/database.md"}, claim: "prod instance class in the restore script", re: `--db-instance-class ([\w.]+)`,
		want: func(w *world) []string {
			return one1(in(w.first("prod", "aws:rds/clusterInstance:ClusterInstance"), "instanceClass"))
		}},

	{files: []string{"docs/database.md"}, claim: "cluster parameter values", re: `(rds\.force_ssl|log_connections|log_disconnections|log_lock_waits|pgaudit\.log|pgaudit\.log_parameter|pgaudit\.log_catalog|pgaudit\.log_relation) ?= ?(\w+(?:,[a-z]+)*)`,
		wantGot: func(w *world, got []string) []string { return []string{got[0], clusterParam(w, got[0])} }},
	{files: []string{"docs/database.md"}, claim: "database port in the security group rules", re: `TCP (\d+) from the tasks group only`,
		want: func(w *world) []string {
			for _, r := range w.all("dev", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
				if strings.HasSuffix(r.Name, "db-from-tasks") {
					return one1(in(r, "fromPort"))
				}
			}
			return one1("<no db-from-tasks rule>")
		}},
	{files: []string{"docs/database.md"}, claim: "promotion order of the readers", re: `so -2 \(tier (\d+)\)\s+and then -3 \(tier (\d+)\)`,
		want: func(w *world) []string {
			ins := w.all("prod", "aws:rds/clusterInstance:ClusterInstance")
			if len(ins) < 3 {
				return []string{"<", "<"}
			}
			return []string{in(ins[1], "promotionTier"), in(ins[2], "promotionTier")}
		}},

	// docs/monitoring.md
	{files: []string{"docs/monitoring.md"}, claim: "certificate page and notice thresholds", re: `(?s)certificate inside (\d+) days of expiry.*?the certificate inside (\d+) days`,
		want: func(w *world) []string {
			return []string{in(w.alarm("dev", "alarm-cert-expiry"), "threshold"), in(w.alarm("dev", "alarm-cert-expiry-notice"), "threshold")}
		}},
	{files: []string{"docs/monitoring.md"}, claim: "composite suppressor wait and extension", re: `waits up to (\d+) s for the suppressor[^)]*\) and keeps\s+actions suppressed (\d+) s after the window closes`,
		want: func(w *world) []string {
			c := w.first("dev", "aws:cloudwatch/compositeAlarm:CompositeAlarm")
			return []string{in(c, "actionsSuppressor.waitPeriod"), in(c, "actionsSuppressor.extensionPeriod")}
		}},
	{files: []string{"docs/monitoring.md"}, claim: "canary alarm per stack", re: `The dev canary runs every (\d+) minutes,\s+so its alarm judges each run on its own \((\d+) of (\d+), (\d+) s period\)[^;]*; prod's (\d+)-minute canary uses the configured (\d+) of (\d+)`,
		want: func(w *world) []string {
			d, p := w.alarm("dev", "alarm-canary-success"), w.alarm("prod", "alarm-canary-success")
			return []string{rateMinutes(w, "dev"), in(d, "datapointsToAlarm"), in(d, "evaluationPeriods"), in(d, "period"),
				rateMinutes(w, "prod"), in(p, "datapointsToAlarm"), in(p, "evaluationPeriods")}
		}},
	{files: []string{"docs/monitoring.md"}, claim: "Route 53 check interval in the 5-minute rule", re: `alarmPeriodSeconds × alarmEvaluationPeriods \+ (\d+) × healthCheckFailureThreshold ≤ (\d+)`,
		want: func(w *world) []string {
			return []string{in(w.first("prod", "aws:route53/healthCheck:HealthCheck"), "requestInterval"), "300"}
		}},
	{files: []string{"docs/monitoring.md"}, claim: "alarms the composite watches (★)", re: `(?s)\| key \| metric \| fires when \|(.*?)\n\n`,
		want: nil},
	{files: []string{"docs/monitoring.md"}, claim: "per-AZ alarm counts", re: `healthy-hosts-<az> ×(\d+)[^\n]*60 s × (\d+)`,
		want: func(w *world) []string {
			return []string{fmtv(w.countAlarms("dev", `^alarm-healthy-hosts-`)), in(w.alarm("dev", "alarm-healthy-hosts-us-east-1a"), "evaluationPeriods")}
		}},
	{files: []string{"docs/monitoring.md"}, claim: "zonal alarm counts", re: `zonal-5xx-<az> ×(\d+)[^\n]*\n\| zonal-latency-<az> ×(\d+)`,
		want: func(w *world) []string {
			return []string{fmtv(w.countAlarms("dev", `^alarm-zonal-5xx-`)), fmtv(w.countAlarms("dev", `^alarm-zonal-latency-`))}
		}},
	{files: []string{"docs/monitoring.md"}, claim: "Aurora alarm thresholds", re: `aurora-<n>-cpu \|[^\n]*\| > (\d+) % \|[^\n]*\n\| aurora-<n>-memory \|[^\n]*\| < (\d+) MiB \|[^\n]*\n\| aurora-<n>-connections \|[^\n]*\| > (\d+) \|[^\n]*\n\| aurora-<n>-replica-lag \|[^\n]*\| > (\d+) ms`,
		want: func(w *world) []string {
			return []string{in(w.alarm("dev", "alarm-aurora-1-cpu"), "threshold"), fmtv(atoi(in(w.alarm("dev", "alarm-aurora-1-memory"), "threshold")) / (1 << 20)),
				in(w.alarm("dev", "alarm-aurora-1-connections"), "threshold"), in(w.alarm("dev", "alarm-aurora-1-replica-lag"), "threshold")}
		}},
	{files: []string{"docs/monitoring.md"}, claim: "5xx and latency thresholds", re: `> alarmAlb5xxRatePercent \((\d+)\)[^\n]*\n(?s:.*?)> alarmTarget5xxCount \((\d+)\)[^\n]*\n\| (?:★ )?p99-latency \|[^\n]*> alarmP99LatencyMs \((\d+) ms\)`,
		want: func(w *world) []string {
			p99, _ := w.alarm("dev", "alarm-p99-latency").Inputs["threshold"].(float64) // seconds
			return []string{in(w.alarm("dev", "alarm-alb-5xx-rate"), "threshold"), in(w.alarm("dev", "alarm-target-5xx"), "threshold"), fmtv(p99 * 1000)}
		}},
	{files: []string{"docs/monitoring.md"}, claim: "DynamoDB operations summed", re: `over the (\d+) operations`,
		want: func(w *world) []string {
			qs, _ := w.alarm("dev", "alarm-ddb-sessions-throttles").Inputs["metricQueries"].([]any)
			n := 0
			for _, q := range qs {
				if m, _ := q.(map[string]any); m["metric"] != nil {
					n++
				}
			}
			return one1(fmtv(n))
		}},
	{files: []string{"docs/monitoring.md"}, claim: "state machine failure alarms", re: `sm-<machine>-failed ×(\d+) \|[^\n]*sm-key-sync: (\d+) of (\d+)`,
		want: func(w *world) []string {
			a := w.alarm("dev", "alarm-sm-key-sync-failed")
			return []string{fmtv(w.countAlarms("dev", `^alarm-sm-.*-failed-`)), in(a, "datapointsToAlarm"), in(a, "evaluationPeriods")}
		}},
	{files: []string{"docs/monitoring.md"}, claim: "canary runtime, handler, memory and timeout", re: `Runtime (syn-[\w.-]+) [^\n]*handler ([\w.]+), (\d+) MB, (\d+) s timeout`,
		want: func(w *world) []string {
			c := w.first("dev", "aws:synthetics/canary:Canary")
			return []string{in(c, "runtimeVersion"), in(c, "handler"), in(c, "runConfig.memoryInMb"), in(c, "runConfig.timeoutInSeconds")}
		}},
	{files: []string{"docs/monitoring.md"}, claim: "canary schedule per stack", re: `Schedule: (rate\([^)]*\)) in prod, (rate\([^)]*\)) in dev`,
		want: func(w *world) []string {
			return []string{in(w.first("prod", "aws:synthetics/canary:Canary"), "schedule.expression"), in(w.first("dev", "aws:synthetics/canary:Canary"), "schedule.expression")}
		}},
	{files: []string{"docs/monitoring.md"}, claim: "canary artifacts expiry", re: `\((\d+) with the defaults, both stacks\)`,
		want: func(w *world) []string {
			return one1(agreed(func(s string) string {
				for _, lc := range w.all(s, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2") {
					rules, _ := lc.Inputs["rules"].([]any)
					for _, r := range rules {
						if m, _ := r.(map[string]any); m["id"] == "canary-artifacts" {
							return walk(m, "expiration.days")
						}
					}
				}
				return "<none>"
			}))
		}},
	{files: []string{"docs/monitoring.md"}, claim: "canary run retention", re: `Run data is kept (\d+) days for successes and (\d+) days for failures`,
		want: func(w *world) []string {
			c := w.first("dev", "aws:synthetics/canary:Canary")
			return []string{in(c, "successRetentionPeriod"), in(c, "failureRetentionPeriod")}
		}},

	{files: []string{"docs/monitoring.md"}, claim: "stacks without a domain", re: `domainName is empty by default \((\w+)'s stack file keeps it; (\w+)'s names ([\w.]+),`,
		want: func(w *world) []string {
			return []string{stacksWhere(func(s string) bool { return w.cfg(s, "domainName") == "" }), stacksWhere(func(s string) bool { return w.cfg(s, "domainName") != "" }), w.cfg("prod", "domainName")}
		}},

	// docs/operations.md
	{files: []string{"docs/operations.md"}, claim: "WAF rules", re: `WAF web ACL \((\d+) rules\)`,
		want: func(w *world) []string {
			return one1(agreed(func(s string) string {
				rules, _ := w.first(s, "aws:wafv2/webAcl:WebAcl").Inputs["rules"].([]any)
				return fmtv(len(rules))
			}))
		}},
	{files: []string{"docs/operations.md"}, claim: "canary runs per stack", re: `Synthetics canary \| every (\d+ min|minute) [^|]*\| every (\d+ min|minute) `,
		want: func(w *world) []string {
			return eachStack(func(s string) string {
				if m := rateMinutes(w, s); m != "1" {
					return m + " min"
				}
				return "minute"
			})
		}},
	{files: []string{"docs/operations.md"}, claim: "KMS keys per stack", re: `KMS keys \(dev (\d+), prod (\d+)\)`,
		want: func(w *world) []string {
			return eachStack(func(s string) string { return fmtv(len(w.all(s, "aws:kms/key:Key"))) })
		}},
	{files: []string{"docs/operations.md"}, claim: "log retention per stack", re: `retention \((\d+) days dev, (\d+) prod\)`,
		want: func(w *world) []string {
			return eachStack(func(s string) string { return in(w.first(s, "aws:cloudwatch/logGroup:LogGroup"), "retentionInDays") })
		}},
	{files: []string{"docs/operations.md"}, claim: "CIS alarms", re: `(\d+) CIS alarms`,
		want: func(w *world) []string {
			return one1(agreed(func(s string) string { return fmtv(w.countAlarms(s, `^alarm-trail-`)) }))
		}},
	{files: []string{"docs/operations.md"}, claim: "NAT gateways and interface endpoints in the egress cost table", re: `nat \((\d+) NAT gateways, OnePerAz\)[^\n]*\n\| endpoints \((\d+) interface endpoints x (\d+) AZs`,
		want: func(w *world) []string {
			return []string{fmtv(w.natGateways("dev")), fmtv(w.interfaceEndpoints("prod")), fmtv(len(w.first("prod", "awsx:ec2:Vpc").Inputs["availabilityZoneNames"].([]any)))}
		}},

	{files: []string{"docs/operations.md"}, claim: "NAT gateways per stack in the cost table", re: `NAT gateways \(one per AZ, (\d+)\) \| [^|]*\| — \((closed egress)\)`,
		want: func(w *world) []string {
			p := "closed egress"
			if w.natGateways("prod") > 0 {
				p = fmtv(w.natGateways("prod"))
			}
			return []string{fmtv(w.natGateways("dev")), p}
		}},
	{files: []string{"docs/operations.md"}, claim: "interface endpoints in endpoints mode", re: `only through (\d+) interface endpoints \(([^)]*)\)`, count: []int{1},
		want: func(w *world) []string {
			n := fmtv(w.interfaceEndpoints("prod"))
			return []string{n, n}
		}},
	{files: []string{"docs/operations.md", "docs/monitoring.md"}, claim: "certificate expiry page and notice", re: `certificate (?:expires in < (\d+) days \(notify\) / < (\d+) days \(page\)|inside (\d+) days of expiry)`,
		wantGot: func(w *world, got []string) []string {
			notice, page := in(w.alarm("dev", "alarm-cert-expiry-notice"), "threshold"), in(w.alarm("dev", "alarm-cert-expiry"), "threshold")
			if got[0] == "" {
				return []string{"", "", page}
			}
			return []string{notice, page, ""}
		}},
	{files: []string{"docs/monitoring.md"}, claim: "fewest tasks config accepts", re: `config refuses\s+desiredCount < (\d+)`,
		wantGot: func(w *world, got []string) []string {
			n := atoi(got[0])
			lo := ruled(w.t, "dev", map[string]string{"trading-ha:desiredCount": strconv.Itoa(n - 1), "trading-ha:minCapacity": strconv.Itoa(n - 1)})
			at := ruled(w.t, "dev", map[string]string{"trading-ha:desiredCount": strconv.Itoa(n), "trading-ha:minCapacity": strconv.Itoa(n)})
			if lo == "rejected" && at == "accepted" {
				return got
			}
			return one1(fmt.Sprintf("%d is %s, %d is %s", n-1, lo, n, at))
		}},
	{files: []string{"docs/monitoring.md"}, claim: "slowest canary schedule config accepts", re: `rejects canary schedules slower than (\d+) minutes`,
		wantGot: func(w *world, got []string) []string {
			n := atoi(got[0])
			slower := ruled(w.t, "dev", map[string]string{"trading-ha:canarySchedule": fmt.Sprintf("rate(%d minutes)", n+1)})
			if slower == "rejected" && w.cfg("dev", "canarySchedule") == fmt.Sprintf("rate(%d minutes)", n) {
				return got
			}
			return one1(fmt.Sprintf("rate(%d minutes) is %s", n+1, slower))
		}},
	{files: []string{"docs/deploy.md"}, claim: "longest environmentSuffix", re: `a (\d+)-character suffix leaves room`,
		wantGot: func(w *world, got []string) []string {
			n := atoi(got[0])
			long := ruled(w.t, "dev", map[string]string{"trading-ha:environmentSuffix": "d" + strings.Repeat("e", n)})
			if long == "rejected" {
				return got
			}
			return one1(fmt.Sprintf("a %d-character suffix is %s", n+1, long))
		}},
	{files: []string{"docs/deploy.md"}, claim: "bucket name tail format", re: `Both keys accept only empty or (\d+) lowercase hex digits`,
		wantGot: func(w *world, got []string) []string {
			n := atoi(got[0])
			short := ruled(w.t, "dev", map[string]string{"trading-ha:bucketNameTail": strings.Repeat("a", n-1)})
			upper := ruled(w.t, "dev", map[string]string{"trading-ha:bucketNameTail": strings.Repeat("A", n)})
			if short == "rejected" && upper == "rejected" {
				return got
			}
			return one1(fmt.Sprintf("%d hex digits %s, %d uppercase %s", n-1, short, n, upper))
		}},
	{files: []string{"docs/deploy.md"}, claim: "account ID digits", re: `AWS accounts \((\d+) digits each\)`,
		wantGot: func(w *world, got []string) []string {
			n := atoi(got[0])
			short := ruled(w.t, "prod", map[string]string{"trading-ha:allowedAccountIds": `["` + strings.Repeat("1", n-1) + `"]`})
			if short == "rejected" {
				return got
			}
			return one1(fmt.Sprintf("%d digits %s", n-1, short))
		}},

	// docs/deploy.md
	{files: []string{"docs/deploy.md"}, claim: "where NAT gateways slow the first deploy", re: `Aurora and NAT gateways dominate|Aurora dominates, and in (\w+) the NAT gateways`,
		want: func(w *world) []string {
			return one1(stacksWhere(func(s string) bool { return w.natGateways(s) > 0 }))
		}},
	{files: []string{"docs/deploy.md"}, claim: "security groups replaced once", re: `replaces the target group, the (\w+)(?: \(dev\) or (\w+) \(prod\))? security groups`,
		want: func(w *world) []string {
			return eachStack(func(s string) string { return fmtv(len(w.all(s, "aws:ec2/securityGroup:SecurityGroup"))) })
		}},
	{files: []string{"docs/deploy.md"}, claim: "runbook state machines", re: `the (\w+) runbooks, the backup's service snapshot and\s+identity's key sync`,
		want: func(w *world) []string {
			return one1(agreed(func(s string) string { return fmtv(w.stateMachines(s, "trading:runbooks:Runbooks")) }))
		}},
	{files: []string{"docs/deploy.md"}, claim: "EIP and NAT gateway quotas per stack", re: `Quotas(?: \((\w+)[^)]*\))?: (\d+) Elastic IPs and (\d+) NAT gateways`,
		want: func(w *world) []string {
			return []string{stacksWhere(func(s string) bool { return w.natGateways(s) > 0 }), fmtv(w.natGateways("dev")), fmtv(w.natGateways("dev"))}
		}},
	{files: []string{"docs/deploy.md"}, claim: "CloudWatch Logs resource policies per stack", re: `\(10 per region, (\w+) per stack: ([\w<>-]+)\)`,
		want: func(w *world) []string {
			rs := w.all("dev", "aws:cloudwatch/logResourcePolicy:LogResourcePolicy")
			names := make([]string, 0, len(rs))
			for _, r := range rs {
				names = append(names, strings.Replace(in(r, "policyName"), "-dev", "-<suffix>", 1))
			}
			return []string{fmtv(len(rs)), strings.Join(names, ", ")}
		}},
	{files: []string{"docs/deploy.md"}, claim: "stacks whose buckets are all force-destroyed", re: `- (?:(\w+)'s )?S3 buckets have forceDestroy: true`,
		want: func(w *world) []string {
			return one1(stacksWhere(func(s string) bool {
				for _, b := range w.all(s, "aws:s3/bucketV2:BucketV2") {
					if v, _ := b.Inputs["forceDestroy"].(bool); !v {
						return false
					}
				}
				return true
			}))
		}},
	{files: []string{"docs/deploy.md"}, claim: "stacks whose backup vault is force-destroyed", re: `- (?:(\w+)'s )?(?:The )?AWS Backup vault has forceDestroy: true`,
		want: func(w *world) []string {
			return one1(stacksWhere(func(s string) bool {
				for _, v := range w.all(s, "aws:backup/vault:Vault") {
					if b, _ := v.Inputs["forceDestroy"].(bool); !b {
						return false
					}
				}
				return true
			}))
		}},
	{files: []string{"docs/deploy.md"}, claim: "prod's final snapshot", re: `a final\s+snapshot (aurora-final-[\w-]+)`,
		want: func(w *world) []string {
			return one1(in(w.first("prod", "aws:rds/cluster:Cluster"), "finalSnapshotIdentifier"))
		}},
	{files: []string{"docs/deploy.md"}, claim: "prod's buckets and vaults not force-destroyed", re: `the (data)\s+bucket, the (CloudTrail) bucket and the backup vaults (not) force-destroyed`,
		want: func(w *world) []string {
			var kept []string
			for _, b := range w.all("prod", "aws:s3/bucketV2:BucketV2") {
				if v, _ := b.Inputs["forceDestroy"].(bool); !v {
					kept = append(kept, map[string]string{"data": "data", "trail": "CloudTrail", "logs": "logs"}[strings.SplitN(in(b, "bucket"), "-", 2)[0]])
				}
			}
			sort.Strings(kept)
			sort.Sort(sort.Reverse(sort.StringSlice(kept))) // data, CloudTrail
			vaults := "not"
			for _, v := range w.all("prod", "aws:backup/vault:Vault") {
				if b, _ := v.Inputs["forceDestroy"].(bool); b {
					vaults = "some"
				}
			}
			return append(kept, vaults)
		}},
	{files: []string{"docs/deploy.md"}, claim: "KMS deletion windows", re: `KMS deletion window (\d+) days\s+\((\d+) in dev\)`,
		want: func(w *world) []string {
			return []string{in(w.first("prod", "aws:kms/key:Key"), "deletionWindowInDays"), in(w.first("dev", "aws:kms/key:Key"), "deletionWindowInDays")}
		}},
	{files: []string{"docs/deploy.md"}, claim: "KMS deletion window in the destroy notes", re: `after the (\d+)-day\s+window \(deletionWindowInDays: (\d+); (\d+) in a protected stack\)`,
		want: func(w *world) []string {
			d := in(w.first("dev", "aws:kms/key:Key"), "deletionWindowInDays")
			return []string{d, d, in(w.first("prod", "aws:kms/key:Key"), "deletionWindowInDays")}
		}},
	{files: []string{"docs/deploy.md"}, claim: "smoke runbook timeout default", re: `-runbook-timeout, default (\w+)\)`,
		want: func(w *world) []string {
			b, _ := os.ReadFile("../scripts/smoke/main.go")
			m := regexp.MustCompile(`"runbook-timeout", (\d+)\*time\.Minute`).FindStringSubmatch(string(b))
			if m == nil {
				return one1("<not found in scripts/smoke>")
			}
			return one1(m[1] + "m")
		}},
}

func vaultTopic(w *world) []string {
	return one1(strings.Replace(arnTail(in(w.first("dev", "aws:backup/vaultNotifications:VaultNotifications"), "snsTopicArn")), "-dev", "-<suffix>", 1))
}

// knownAtPreview counts (policy documents known, policy documents, all
// reviewed documents known, all reviewed documents) at a stack's first
// preview, as TestDocumentsKnownAtFirstPreview does.
func knownAtPreview(t *testing.T, stack string) (int, int, int, int) {
	docs := reviewedDocs(record(t, stack))
	unknown := unknownAtPreview(recordPreview(t, stack), docs)
	var policies, unknownPolicies int
	for _, d := range docs {
		if d.path == "containerDefinitions" || d.path == "dashboardBody" || d.path == "eventPattern" {
			continue
		}
		policies++
		for _, u := range unknown {
			if u == d.String() || strings.HasPrefix(u, d.String()+" (") {
				unknownPolicies++
				break
			}
		}
	}
	return policies - unknownPolicies, policies, len(docs) - len(unknown), len(docs)
}

// mutantCount is the length of scripts/mutate's list.
func mutantCount(w *world) []string {
	b, err := os.ReadFile("../scripts/mutate/mutants.go")
	if err != nil {
		return one1(err.Error())
	}
	return one1(fmtv(len(regexp.MustCompile(`\{ID: "`).FindAllIndex(b, -1))))
}

func envOf(w *world, name string) string {
	env, _ := w.container("dev", "trading")["environment"].([]any)
	for _, e := range env {
		if m, _ := e.(map[string]any); m["name"] == name {
			return fmtv(m["value"])
		}
	}
	return "<no " + name + ">"
}

func scalingPolicy(w *world, metric, field string) string {
	return agreed(func(s string) string {
		for _, p := range w.all(s, "aws:appautoscaling/policy:Policy") {
			if in(p, "targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType") == metric {
				return in(p, "targetTrackingScalingPolicyConfiguration."+field)
			}
		}
		return "<no " + metric + " policy>"
	})
}

func wafRate(w *world, stack, field string) string {
	rules, _ := w.first(stack, "aws:wafv2/webAcl:WebAcl").Inputs["rules"].([]any)
	for _, r := range rules {
		if v := walk(r, "statement.rateBasedStatement."+field); !strings.HasPrefix(v, "<") {
			return v
		}
	}
	return "<no rate rule>"
}

func clusterParam(w *world, name string) string {
	ps, _ := w.first("dev", "aws:rds/clusterParameterGroup:ClusterParameterGroup").Inputs["parameters"].([]any)
	for _, p := range ps {
		if m, _ := p.(map[string]any); m["name"] == name {
			return fmtv(m["value"])
		}
	}
	return "<no " + name + ">"
}

func rateMinutes(w *world, stack string) string {
	e := in(w.first(stack, "aws:synthetics/canary:Canary"), "schedule.expression")
	m := regexp.MustCompile(`rate\((\d+) minutes?\)`).FindStringSubmatch(e)
	if m == nil {
		return e
	}
	return m[1]
}

func arnTail(arn string) string {
	return arn[strings.LastIndexAny(arn, ":/")+1:]
}

// canonicalJSON re-marshals JSON with sorted keys, so key order does not
// matter.
func canonicalJSON(s string) string {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// schemaKey is one key of Pulumi.yaml with its list item type.
type schemaKey struct {
	Type        string `yaml:"type"`
	Default     any    `yaml:"default"`
	Description string `yaml:"description"`
	Items       struct {
		Type string `yaml:"type"`
	} `yaml:"items"`
}

var (
	schemaOnce sync.Once
	schemaKeys map[string]schemaKey
	schemaErr  error
)

// schema reads Pulumi.yaml's config block.
func schema(t *testing.T) map[string]schemaKey {
	t.Helper()
	schemaOnce.Do(func() {
		b, err := os.ReadFile("../Pulumi.yaml")
		if err != nil {
			schemaErr = err
			return
		}
		var p struct {
			Config map[string]schemaKey `yaml:"config"`
		}
		schemaErr = yaml.Unmarshal(b, &p)
		schemaKeys = p.Config
	})
	if schemaErr != nil {
		t.Fatalf("Pulumi.yaml: %v", schemaErr)
	}
	return schemaKeys
}

// schemaDefault is a key's default as config passes it to the program.
func schemaDefault(t *testing.T, key string) string {
	k, ok := schema(t)[key]
	if !ok {
		return "<undeclared " + key + ">"
	}
	return configText(k.Default)
}

// configText renders a config value as the program receives it: scalars
// as text, lists as JSON.
func configText(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case []any, map[string]any:
		b, _ := json.Marshal(t)
		return string(b)
	}
	return fmtv(v)
}

// --- the tests ----------------------------------------------------------------

// TestDocFacts checks every claim of the facts table against the recordings.
func TestDocFacts(t *testing.T) {
	w := newWorld(t)
	claims, values := 0, 0
	defer func() { t.Logf("%d claims in %d rows, %d stated values checked", claims, len(facts), values) }()
	for _, f := range facts {
		re := regexp.MustCompile(f.re)
		for _, file := range f.files {
			text := plainDoc(t, file)
			ms := re.FindAllStringSubmatch(text, -1)
			if len(ms) == 0 {
				t.Errorf("%s: claim %q not found (/%s/): reworded? Keep the claim checkable and update its row in tests/docs_facts_test.go", file, f.claim, f.re)
				continue
			}
			for _, m := range ms {
				got := m[1:]
				claims++
				values += len(got)
				switch f.claim {
				case "WAF rule priorities":
					checkWAFPriority(t, w, file, got)
					continue
				case "alarms the composite watches (★)":
					checkCompositeStars(t, w, file, got[0])
					continue
				case "container environment and secrets (the Environment table)":
					checkEnvironmentTable(t, w, file, got[0])
					continue
				}
				var want []string
				if f.wantGot != nil {
					want = f.wantGot(w, got)
				} else {
					want = f.want(w)
				}
				if len(want) != len(got) {
					t.Errorf("%s: %s: the row computes %d values for %d stated (%q); fix the row", file, f.claim, len(want), len(got), got)
					continue
				}
				for i := range got {
					g := got[i]
					for _, c := range f.count {
						if c == i {
							g = listItems(g)
						}
					}
					if f.claim == "orders rule pattern and target count" && i == 0 {
						g, got[i] = canonicalJSON(g), canonicalJSON(got[i])
					}
					if normClaim(g) != normClaim(want[i]) {
						if g != got[i] {
							g = fmt.Sprintf("%s items: %s", g, got[i])
						}
						t.Errorf("%s: %s: the doc says %q, the program has %q (in %q)", file, f.claim, g, want[i], strings.TrimSpace(m[0]))
					}
				}
			}
		}
	}
}

// checkWAFPriority: a row of the WAF table names the rule at its priority.
func checkWAFPriority(t *testing.T, w *world, file string, got []string) {
	rules, _ := w.first("dev", "aws:wafv2/webAcl:WebAcl").Inputs["rules"].([]any)
	for _, r := range rules {
		m, _ := r.(map[string]any)
		if m["name"] == got[1] {
			if p := fmtv(m["priority"]); p != got[0] {
				t.Errorf("%s: WAF rule %s: the doc says priority %s, the program has %s", file, got[1], got[0], p)
			}
			return
		}
	}
	t.Errorf("%s: WAF rule %s: the web ACL has no such rule", file, got[1])
}

// checkCompositeStars: the alarms the monitoring table marks ★ are exactly
// the composite alarm's members, in both stacks.
func checkCompositeStars(t *testing.T, w *world, file, table string) {
	var starred []string
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 2 || !strings.Contains(cells[1], "★") {
			continue
		}
		key := strings.Fields(strings.TrimSpace(strings.ReplaceAll(cells[1], "★", "")))[0]
		starred = append(starred, key)
	}
	sort.Strings(starred)
	for _, s := range Stacks {
		var members []string
		for _, m := range regexp.MustCompile(`ALARM\("alarm-([^"]+)-`+s+`"\)`).FindAllStringSubmatch(in(w.first(s, "aws:cloudwatch/compositeAlarm:CompositeAlarm"), "alarmRule"), -1) {
			members = append(members, regexp.MustCompile(`-[a-z]{2}-[a-z]+-\d[a-z]$`).ReplaceAllString(m[1], "-<az>"))
		}
		sort.Strings(members)
		members = slicesCompact(members)
		if strings.Join(starred, ",") != strings.Join(members, ",") {
			t.Errorf("%s: alarms marked ★ (the composite's members): the doc says %v, %s's alarm-degraded watches %v", file, starred, s, members)
		}
	}
}

func slicesCompact(xs []string) []string {
	var out []string
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// checkEnvironmentTable: the variables service.md's Environment table names
// are exactly the trading container's environment and secrets, and each
// stated value in parentheses is the recorded one.
func checkEnvironmentTable(t *testing.T, w *world, file, table string) {
	c := w.container("dev", "trading")
	actual := map[string]string{}
	for _, k := range []string{"environment", "secrets"} {
		xs, _ := c[k].([]any)
		for _, x := range xs {
			m, _ := x.(map[string]any)
			actual[fmtv(m["name"])] = fmtv(m["value"])
		}
	}
	stated := map[string]string{}
	for _, m := range regexp.MustCompile(`\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{4,})\b(?: \(([^)]*)\))?`).FindAllStringSubmatch(table, -1) {
		if m[1] == "KMS" || m[1] == "SSM" {
			continue
		}
		stated[m[1]] = m[2]
	}
	for name, v := range stated {
		av, ok := actual[name]
		if !ok {
			t.Errorf("%s: Environment table names %s, which the trading container does not have", file, name)
			continue
		}
		if v != "" && av != "<null>" && !strings.Contains(strings.ReplaceAll(av, "dev", "<suffix>"), v) {
			t.Errorf("%s: Environment table: %s (%s), the container has %q", file, name, v, av)
		}
	}
	for name := range actual {
		if _, ok := stated[name]; !ok {
			t.Errorf("%s: Environment table leaves out %s, which the trading container has", file, name)
		}
	}
}

// TestDocNamesExist: every physical name or name pattern a doc writes in
// code is a name the program registers: with <suffix> or <s> for the
// stack's suffix, any other <placeholder>, … or * standing for any text.
func TestDocNamesExist(t *testing.T) {
	w := newWorld(t)
	names := map[string]map[string]bool{}
	for _, s := range Stacks {
		names[s] = recordedStrings(w.recs[s])
	}
	code := regexp.MustCompile("`([^`\n]+)`")
	checked := 0
	defer func() { t.Logf("%d names checked", checked) }()
	for _, file := range checkedDocs {
		text := docText(t, file)
		gen := generatedSpans(text)
		for _, m := range code.FindAllStringSubmatchIndex(text, -1) {
			if inSpans(m[0], gen) {
				continue
			}
			for _, word := range nameWords(text[m[2]:m[3]]) {
				if exemptName(word) {
					continue
				}
				checked++
				if !matchesSomeStack(word, names) {
					line := strings.Count(text[:m[0]], "\n") + 1
					t.Errorf("%s:%d: %q names nothing either stack registers", file, line, word)
				}
			}
		}
	}
}

// nameWords splits a code span into the words that look like physical
// names of one stack: containing <suffix>/<s>, or ending in -dev/-prod.
func nameWords(span string) []string {
	var out []string
	span = regexp.MustCompile(`<[^<>]*>`).ReplaceAllStringFunc(span, func(p string) string { return strings.ReplaceAll(p, " ", "_") })
	for _, word := range strings.FieldsFunc(span, func(r rune) bool {
		return r == ' ' || r == '\'' || r == '"' || r == '=' || r == ',' || r == '(' || r == ')' || r == '[' || r == ']'
	}) {
		word = strings.TrimRight(word, ".:;")
		switch {
		case strings.Contains(word, "<suffix>") || strings.Contains(word, "<s>"):
			if strings.ContainsAny(word, "{$") {
				continue // shell or brace expansions
			}
			out = append(out, word)
		case regexp.MustCompile(`^[a-z][a-z0-9/_.-]*-(dev|prod)(-\d+)?$`).MatchString(word):
			out = append(out, word)
		}
	}
	return out
}

// exemptNames are names the docs mention that AWS, not the program,
// creates (destroy.md lists them) or that are examples.
var exemptNames = []string{
	"sessions-<suffix>-verify-",          // the backup verification's test restore (AWS Backup)
	"aurora-<suffix>-restore",            // a PITR restore an operator makes
	"/aws/lambda/cwsyn-canary-<suffix>-", // Synthetics names the function
	"auth-trading-<suffix>-",             // the Cognito domain's random tail
	"events!connection/conn-jwks-<suffix>/",
	"s3://", "trading-dev-alerts@",
}

func exemptName(w string) bool {
	for _, e := range exemptNames {
		if strings.HasPrefix(w, e) {
			return true
		}
	}
	return false
}

func matchesSomeStack(word string, names map[string]map[string]bool) bool {
	for _, s := range Stacks {
		if !strings.Contains(word, "<") && !strings.HasSuffix(word, "-"+s) && !strings.Contains(word, "-"+s+"-") {
			continue
		}
		word = regexp.MustCompile(`:<[^>]+>$`).ReplaceAllString(word, "") // a task definition revision
		pat := regexp.QuoteMeta(word)
		if strings.HasSuffix(word, "/") {
			pat += ".*" // a path prefix
		}
		pat = strings.NewReplacer(`<suffix>`, s, `<s>`, s, `…`, `.*`, `\.\.\.`, `.*`, `\*`, `.*`).Replace(pat)
		pat = regexp.MustCompile(`<[^>]+>`).ReplaceAllString(pat, `[^ ]+`)
		re, err := regexp.Compile("^" + pat + "$")
		if err != nil {
			continue
		}
		for n := range names[s] {
			if re.MatchString(n) {
				return true
			}
		}
	}
	return false
}

// recordedStrings are every string a recording holds: names, inputs,
// outputs, the strings inside JSON documents, and the parts of ARNs.
func recordedStrings(rec *offline.Recording) map[string]bool {
	out := map[string]bool{}
	var add func(v any)
	add = func(v any) {
		switch t := v.(type) {
		case string:
			out[t] = true
			if strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
				var x any
				if json.Unmarshal([]byte(t), &x) == nil {
					add(x)
				}
			}
			if strings.HasPrefix(t, "arn:") {
				parts := strings.SplitN(t, ":", 6)
				if len(parts) == 6 {
					res := parts[5]
					out[res] = true
					segs := strings.FieldsFunc(res, func(r rune) bool { return r == '/' || r == ':' })
					for i := range segs {
						out[strings.Join(segs[i:], "/")] = true
						out[segs[i]] = true
					}
				}
			}
		case map[string]any:
			for k, x := range t {
				out[k] = true
				add(x)
			}
		case []any:
			for _, x := range t {
				add(x)
			}
		}
	}
	for _, r := range rec.Resources {
		out[r.Name] = true
		add(r.Inputs)
		add(r.Outputs)
	}
	return out
}

// TestDocConfigTables: each component doc's config table (key, default,
// dev, prod, rule) states Pulumi.yaml's default and each stack's value. A
// stack cell that is empty, "=" or "default" claims the default; "set: ..."
// claims the stack sets its own value; anything else is the value.
func TestDocConfigTables(t *testing.T) {
	w := newWorld(t)
	keys := schema(t)
	header := regexp.MustCompile(`^\| key \| default \| dev \| prod \|`)
	tables, nvals := 0, 0
	for _, file := range checkedDocs {
		lines := strings.Split(docText(t, file), "\n")
		for i := 0; i < len(lines); i++ {
			if !header.MatchString(lines[i]) {
				continue
			}
			tables++
			for i += 2; i < len(lines) && strings.HasPrefix(lines[i], "|"); i++ {
				cells := strings.Split(strings.Trim(lines[i], "|"), "|")
				if len(cells) < 4 {
					continue
				}
				var names []string
				for _, k := range strings.Split(cells[0], "/") {
					names = append(names, strings.Trim(strings.TrimSpace(k), "`"))
				}
				for _, k := range names {
					if _, ok := keys[k]; !ok {
						t.Errorf("%s:%d: config table names %q, which Pulumi.yaml does not declare", file, i+1, k)
					}
				}
				defaults := splitCell(cells[1], len(names))
				for j, k := range names {
					def := configText(keys[k].Default)
					nvals += 3
					if !sameConfig(defaults[j], def) {
						t.Errorf("%s:%d: %s: the table's default is %q, Pulumi.yaml's is %q", file, i+1, k, defaults[j], def)
					}
					for c, s := range Stacks {
						cell := strings.TrimSpace(cells[2+c])
						vals := splitCell(cell, len(names))
						actual := w.cfg(s, k)
						switch v := strings.ToLower(strings.TrimSpace(vals[j])); {
						case v == "" || v == "=" || v == "default" || v == "·":
							if !sameConfig(def, actual) {
								t.Errorf("%s:%d: %s: the table says %s uses the default %q, it has %q", file, i+1, k, s, def, actual)
							}
						case strings.HasPrefix(v, "set"):
							if sameConfig(def, actual) {
								t.Errorf("%s:%d: %s: the table says %s sets its own value, it uses the default %q", file, i+1, k, s, def)
							}
						default:
							if !sameConfig(vals[j], actual) {
								t.Errorf("%s:%d: %s: the table says %s has %q, it has %q", file, i+1, k, s, vals[j], actual)
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d config tables, %d stated values checked", tables, nvals)
	if tables < 5 {
		t.Errorf("found %d config tables (| key | default | dev | prod |), want the 5 component docs' at least", tables)
	}
}

// splitCell splits "a / b" into n values; one value stands for all n.
func splitCell(cell string, n int) []string {
	parts := strings.Split(cell, " / ")
	if len(parts) != n {
		parts = make([]string, n)
		for i := range parts {
			parts[i] = cell
		}
	}
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// sameConfig compares a value as a doc writes it with a config value:
// backticks, quotes, "empty" and parenthesised notes do not matter; lists
// compare by their items.
func sameConfig(doc, actual string) bool {
	return configWords(doc) == configWords(actual)
}

var parenNote = regexp.MustCompile(`\s+\([^)]*\)$`)

func configWords(s string) string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "`", ""))
	s = parenNote.ReplaceAllString(s, "")
	if s == `""` || strings.EqualFold(s, "empty") {
		s = ""
	}
	var list []any
	if strings.HasPrefix(s, "[") && json.Unmarshal([]byte(s), &list) == nil {
		items := make([]string, len(list))
		for i, x := range list {
			items[i] = fmtv(x)
		}
		return strings.Join(items, ",")
	}
	return strings.Join(strings.Fields(strings.ReplaceAll(s, ", ", ",")), " ")
}

// TestDocKeyDefaults: a config key followed by its value in parentheses
// ("albIdleTimeoutSeconds (60)", "(default 14.20)", "(dev 7, prod 90)",
// "(7 dev, 35 prod)") or ", default N" states the default or each stack's
// value.
func TestDocKeyDefaults(t *testing.T) {
	w := newWorld(t)
	keys := schema(t)
	// Anchored at every word, so "retryPolicy (eventTargetRetryAttempts,
	// default 10" checks the key inside the parentheses too.
	word := regexp.MustCompile(`\b[a-z][a-zA-Z0-9]+\b`)
	re := regexp.MustCompile(`^([a-z][a-zA-Z0-9]+)(?: \(|, default )((?:default )?[^),;]+(?:, (?:dev|prod) [^),;]+)?)`)
	perStackRe := regexp.MustCompile(`^(?:dev ([^,]+), prod (.+)|([^ ]+) dev, ([^ ]+) prod)$`)
	valueRe := regexp.MustCompile(`^(?:default )?(-?[0-9][0-9.]*|rate\([^)]*|cron\([^)]*|[a-z]+)(?: %| s| ms| minutes| days)?$`)
	checked := 0
	for _, file := range checkedDocs {
		text := plainDoc(t, file)
		for _, wm := range word.FindAllStringIndex(text, -1) {
			k, ok := keys[text[wm[0]:wm[1]]]
			if !ok || k.Type == "array" {
				continue
			}
			m := re.FindStringSubmatchIndex(text[wm[0]:])
			if m == nil {
				continue
			}
			key := text[wm[0] : wm[0]+m[3]]
			val := strings.TrimSpace(text[wm[0]+m[4] : wm[0]+m[5]])
			line := strings.Count(text[:wm[0]], "\n") + 1
			if ps := perStackRe.FindStringSubmatch(val); ps != nil {
				dev, prod := ps[1], ps[2]
				if dev == "" {
					dev, prod = ps[3], ps[4]
				}
				checked++
				for s, v := range map[string]string{"dev": dev, "prod": prod} {
					if !sameConfig(v, w.cfg(s, key)) {
						t.Errorf("%s:%d: %s: the doc says %s %q, the stack has %q", file, line, key, s, v, w.cfg(s, key))
					}
				}
				continue
			}
			vm := valueRe.FindStringSubmatch(val)
			if vm == nil {
				continue
			}
			v := vm[1]
			if strings.HasPrefix(v, "rate(") || strings.HasPrefix(v, "cron(") {
				v += ")"
			}
			def := configText(k.Default)
			if k.Type == "string" && regexp.MustCompile(`^[a-z]+$`).MatchString(v) && !strings.EqualFold(v, def) && !strings.HasPrefix(val, "default") {
				continue // a word in parentheses, not a value
			}
			if k.Type != "string" && !regexp.MustCompile(`^-?[0-9]`).MatchString(v) && v != "true" && v != "false" {
				continue
			}
			checked++
			if !sameConfig(v, def) {
				t.Errorf("%s:%d: %s: the doc says %q, Pulumi.yaml's default is %q", file, line, key, v, def)
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d key values found in the docs; the pattern lost them", checked)
	}
	t.Logf("%d key values checked", checked)
}

// TestDocConfigCommands: every `pulumi config set` a doc shows names a key
// Pulumi.yaml declares and stores a value of its type. The CLI stores a
// top-level value as a string (the program parses it) and, with --path, a
// value of digits as a number and true/false as a bool unless --type says
// otherwise (pulumi config set --help).
func TestDocConfigCommands(t *testing.T) {
	keys := schema(t)
	cmd := regexp.MustCompile(`pulumi config set ([^\n|` + "`" + `#]+)`)
	n := 0
	for _, file := range checkedDocs {
		text := docText(t, file)
		for _, m := range cmd.FindAllStringSubmatchIndex(text, -1) {
			line := strings.Count(text[:m[0]], "\n") + 1
			args := shellWords(text[m[2]:m[3]])
			var path bool
			var typ string
			var pos []string
			for i := 0; i < len(args); i++ {
				switch a := args[i]; {
				case a == "--path":
					path = true
				case a == "--type" && i+1 < len(args):
					typ = args[i+1]
					i++
				case strings.HasPrefix(a, "--type="):
					typ = strings.TrimPrefix(a, "--type=")
				case strings.HasPrefix(a, "--"):
				default:
					pos = append(pos, a)
				}
			}
			if len(pos) == 0 || strings.HasPrefix(pos[0], "<") {
				continue // the generic form
			}
			n++
			key := strings.TrimPrefix(pos[0], "trading-ha:")
			index := ""
			if i := strings.IndexAny(key, "[."); path && i >= 0 {
				key, index = key[:i], key[i:]
			}
			k, ok := keys[key]
			if !ok {
				t.Errorf("%s:%d: pulumi config set %s: Pulumi.yaml declares no key %q", file, line, pos[0], key)
				continue
			}
			if len(pos) < 2 || strings.ContainsAny(pos[1], "$<") || strings.Contains(pos[1], "...") {
				continue // a placeholder or a command substitution
			}
			value := pos[1]
			want := k.Type
			if index != "" {
				want = k.Items.Type
			}
			stored := "string"
			if path && typ == "" {
				switch {
				case regexp.MustCompile(`^-?[0-9]+$`).MatchString(value):
					stored = "integer"
				case value == "true" || value == "false":
					stored = "boolean"
				}
			}
			if typ != "" {
				stored = map[string]string{"string": "string", "int": "integer", "bool": "boolean", "float": "number"}[typ]
			}
			if index != "" && stored != want {
				t.Errorf("%s:%d: pulumi config set %s %s stores %s; %s%s must be %s (add --type %s)", file, line, pos[0], value, stored, key, index, want, map[string]string{"string": "string", "integer": "int", "boolean": "bool"}[want])
				continue
			}
			if index == "" {
				switch want {
				case "integer":
					if _, err := strconv.Atoi(value); err != nil {
						t.Errorf("%s:%d: pulumi config set %s %s: %s is an integer", file, line, pos[0], value, key)
					}
				case "boolean":
					if value != "true" && value != "false" {
						t.Errorf("%s:%d: pulumi config set %s %s: %s is a boolean", file, line, pos[0], value, key)
					}
				case "array":
					t.Errorf("%s:%d: pulumi config set %s %s: %s is a list; set an entry with --path '%s[0]' --type string", file, line, pos[0], value, key, key)
				}
			}
		}
	}
	if n < 5 {
		t.Errorf("only %d pulumi config set commands found; the pattern lost them", n)
	}
	t.Logf("%d pulumi config set commands checked", n)
}

// shellWords splits a command line on spaces, keeping quoted words whole.
func shellWords(s string) []string {
	var out []string
	var cur strings.Builder
	quote := rune(0)
	in := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote == 0 && (r == '\'' || r == '"'):
			quote, in = r, true
		case quote == 0 && (r == ' ' || r == '\t'):
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// perStackFigure finds a per-stack figure in prose: "dev 2", "prod: 13",
// "(dev 7, prod 90)", "7 in dev", "35 prod", "dev rate(1 day)".
var perStackFigure = regexp.MustCompile(`(?i)\b(?:dev|prod)\b[ :]*(?:uses |has |keeps |stack |is )?[(]*[0-9][^ ,;)]*|(?i)\b(?:dev|prod)\b[ :]*(?:rate|cron)\(|[0-9][0-9a-z./ ()-]{0,14} (?:in|for) (?:dev|prod)\b|[0-9]+ (?:dev|prod)\b`)

// TestDocStackValuesAreChecked: every per-stack figure in the prose of the
// docs lies inside a claim TestDocFacts or TestDocKeyDefaults checks, a
// config table, a generated section or a code block, so a per-stack value
// cannot be written unchecked.
func TestDocStackValuesAreChecked(t *testing.T) {
	keyed := regexp.MustCompile(`\b[a-z][a-zA-Z0-9]+ \((?:dev|[0-9][^ ]* dev)[^)]*\)`)
	figures := 0
	defer func() { t.Logf("%d per-stack figures found, in the prose", figures) }()
	for _, file := range stackValueDocs {
		text := plainDoc(t, file)
		var covered [][2]int
		covered = append(covered, generatedSpans(text)...)
		covered = append(covered, codeBlockSpans(text)...)
		for _, f := range facts {
			if !contains(f.files, file) {
				continue
			}
			for _, m := range regexp.MustCompile(f.re).FindAllStringIndex(text, -1) {
				covered = append(covered, [2]int{m[0], m[1]})
			}
		}
		for _, m := range keyed.FindAllStringIndex(text, -1) {
			covered = append(covered, [2]int{m[0], m[1]})
		}
		lines := strings.SplitAfter(text, "\n")
		pos := 0
		for _, l := range lines {
			if regexp.MustCompile(`^\| [a-zA-Z /]+ \| `).MatchString(l) && tableHasStackColumns(text, pos) {
				covered = append(covered, [2]int{pos, pos + len(l)})
			}
			pos += len(l)
		}
		for _, m := range perStackFigure.FindAllStringIndex(text, -1) {
			figures++
			if !inSpans(m[0], covered) {
				line := strings.Count(text[:m[0]], "\n") + 1
				t.Errorf("%s:%d: per-stack value %q is not checked: state it in a checked form or add a row to the facts table", file, line, text[m[0]:m[1]])
			}
		}
	}
}

// tableHasStackColumns reports whether the table holding the line at pos
// has dev and prod columns (config tables; TestDocConfigTables checks them).
func tableHasStackColumns(text string, pos int) bool {
	start := strings.LastIndex(text[:pos], "\n\n")
	if start < 0 {
		start = 0
	}
	head := text[start:pos]
	return regexp.MustCompile(`\| dev \| prod \|`).MatchString(head)
}

// TestStackValuesTableReadsTheRecording ties docgen's per-stack table to
// the facts above where they overlap, so the two readings cannot part.
func TestStackValuesTableReadsTheRecording(t *testing.T) {
	w := newWorld(t)
	for _, s := range Stacks {
		if got, want := docgen.ContainerStartPeriod(w.recs[s]), walk(w.container(s, "trading"), "healthCheck.startPeriod"); got != want {
			t.Errorf("%s: docgen container start period %q, recording %q", s, got, want)
		}
		if got := docgen.NATGateways(w.recs[s]); !strings.HasPrefix(got, map[int]string{0: "none", 1: "1", 3: "3"}[w.natGateways(s)]) {
			t.Errorf("%s: docgen NAT gateways %q, recording %d", s, got, w.natGateways(s))
		}
	}
	_ = fmt.Sprint
}

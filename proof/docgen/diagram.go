// Package docgen generates the parts of the documentation that are facts
// about the program rather than prose: the architecture diagram (a Mermaid
// flowchart built from an offline recording) and the configuration
// reference (built from Pulumi.yaml's schema and the stack files). It is
// generic over the recording: components that land later appear in the
// output the next time the generator runs, without changes here.
package docgen

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/trading-ha/trading-ha/proof/offline"
)

// keyKinds are the resource types drawn as their own node, with the label
// a reader knows them by. Everything else is counted (countKinds) or folded
// into one "supporting resources" line per component.
var keyKinds = map[string]string{
	"awsx:ec2:Vpc":                                     "VPC",
	"aws:ec2/vpc:Vpc":                                  "VPC",
	"aws:ec2/vpcEndpoint:VpcEndpoint":                  "VPC endpoint",
	"aws:ec2/flowLog:FlowLog":                          "VPC flow log",
	"aws:kms/key:Key":                                  "KMS key",
	"aws:lb/loadBalancer:LoadBalancer":                 "ALB",
	"aws:lb/listener:Listener":                         "listener",
	"aws:lb/targetGroup:TargetGroup":                   "target group",
	"aws:wafv2/webAcl:WebAcl":                          "WAF web ACL",
	"aws:acm/certificate:Certificate":                  "ACM certificate",
	"aws:ecs/cluster:Cluster":                          "ECS cluster",
	"aws:ecs/service:Service":                          "ECS service",
	"aws:ecr/repository:Repository":                    "ECR repository",
	"aws:appautoscaling/target:Target":                 "autoscaling target",
	"aws:rds/cluster:Cluster":                          "Aurora cluster",
	"aws:rds/clusterInstance:ClusterInstance":          "Aurora instance",
	"aws:dynamodb/table:Table":                         "DynamoDB table",
	"aws:s3/bucketV2:BucketV2":                         "S3 bucket",
	"aws:s3/bucket:Bucket":                             "S3 bucket",
	"aws:cloudwatch/eventBus:EventBus":                 "event bus",
	"aws:cloudwatch/eventRule:EventRule":               "event rule",
	"aws:cloudwatch/eventArchive:EventArchive":         "event archive",
	"aws:sqs/queue:Queue":                              "SQS queue",
	"aws:sns/topic:Topic":                              "SNS topic",
	"aws:lambda/function:Function":                     "Lambda function",
	"aws:synthetics/canary:Canary":                     "Synthetics canary",
	"aws:cloudwatch/compositeAlarm:CompositeAlarm":     "composite alarm",
	"aws:cloudwatch/dashboard:Dashboard":               "dashboard",
	"aws:route53/zone:Zone":                            "hosted zone",
	"aws:route53/healthCheck:HealthCheck":              "Route 53 health check",
	"aws:sfn/stateMachine:StateMachine":                "state machine",
	"aws:backup/vault:Vault":                           "backup vault",
	"aws:backup/plan:Plan":                             "backup plan",
	"aws:backup/restoreTestingPlan:RestoreTestingPlan": "restore testing plan",
	"aws:scheduler/schedule:Schedule":                  "schedule",
}

// countKinds are the types summarised as one node per component ("12 SSM
// parameters"): there are many of them and one by one they are noise.
var countKinds = map[string][2]string{
	"aws:ecs/taskDefinition:TaskDefinition":       {"task definition", "task definitions"},
	"aws:ssm/parameter:Parameter":                 {"SSM parameter", "SSM parameters"},
	"aws:iam/role:Role":                           {"IAM role", "IAM roles"},
	"aws:iam/policy:Policy":                       {"IAM policy", "IAM policies"},
	"aws:cloudwatch/logGroup:LogGroup":            {"log group", "log groups"},
	"aws:cloudwatch/metricAlarm:MetricAlarm":      {"CloudWatch alarm", "CloudWatch alarms"},
	"aws:ec2/securityGroup:SecurityGroup":         {"security group", "security groups"},
	"aws:route53/record:Record":                   {"DNS record", "DNS records"},
	"aws:sns/topicSubscription:TopicSubscription": {"topic subscription", "topic subscriptions"},
	"aws:backup/selection:Selection":              {"backup selection", "backup selections"},
}

// nameKeys are the inputs that carry a resource's physical name, the first
// present wins (an Aurora instance has an identifier and names its cluster).
var nameKeys = []string{"name", "alarmName", "dashboardName", "bucket", "identifier", "clusterIdentifier", "family"}

// refOutputs are the outputs other resources use to point at a resource.
var refOutputs = []string{"arn", "endpoint", "readerEndpoint", "dnsName", "url", "repositoryUrl", "vpcId"}

// node is one box in the diagram: a key resource, or a count of a kind.
type node struct {
	id, label, component string
	count                bool
}

// edge is one arrow; label "" draws a dotted reference arrow.
type edge struct {
	from, to, label string
}

// graph is the diagram before rendering.
type graph struct {
	components []string
	nodes      map[string]*node    // by node id
	byURN      map[string]string   // resource URN -> node id
	members    map[string][]string // component -> node ids
	supporting map[string]int      // component -> resources not drawn
	edges      map[edge]bool
	index      map[string][]*offline.Resource // reference value -> resources
	resources  []*offline.Resource
}

// Diagram returns a Mermaid flowchart of the recording: one subgraph per
// trading:* component with its key resources and counts of the rest, and
// arrows for the data and event flows the recorded inputs reveal. The
// output is deterministic: nodes and edges are sorted.
func Diagram(rec *offline.Recording) string {
	g := build(rec)
	return g.render()
}

func build(rec *offline.Recording) *graph {
	g := &graph{
		nodes: map[string]*node{}, byURN: map[string]string{}, members: map[string][]string{},
		supporting: map[string]int{}, edges: map[edge]bool{}, index: map[string][]*offline.Resource{},
		resources: rec.Resources,
	}
	counts := map[string]int{} // count node id -> members
	for _, r := range rec.Resources {
		c := r.Component
		if c == "" || r.Type == c || strings.HasPrefix(r.Type, "trading:") || strings.HasPrefix(r.Type, "pulumi:") {
			continue
		}
		if label, ok := keyKinds[r.Type]; ok {
			id := nodeID(c, r.Type, key(r))
			g.nodes[id] = &node{id: id, label: keyLabel(label, r), component: c}
			g.byURN[r.URN] = id
			g.members[c] = append(g.members[c], id)
			continue
		}
		if _, ok := countKinds[r.Type]; ok {
			id := nodeID(c, r.Type, "all")
			if counts[id] == 0 {
				g.nodes[id] = &node{id: id, component: c, count: true}
				g.members[c] = append(g.members[c], id)
			}
			counts[id]++
			g.nodes[id].label = countLabel(r.Type, counts[id])
			g.byURN[r.URN] = id
			continue
		}
		g.supporting[c]++
	}
	for c := range g.members {
		g.components = append(g.components, c)
	}
	for c := range g.supporting {
		if _, ok := g.members[c]; !ok {
			g.components = append(g.components, c)
		}
	}
	sort.Strings(g.components)

	for _, r := range rec.Resources {
		for _, v := range refValues(r) {
			g.index[v] = append(g.index[v], r)
		}
	}
	g.flows()
	g.references()
	return g
}

// refValues are the strings by which other resources can refer to r.
func refValues(r *offline.Resource) []string {
	var out []string
	add := func(v any) {
		if s, ok := v.(string); ok && len(s) >= 6 {
			out = append(out, s)
		}
	}
	for _, k := range refOutputs {
		// An output that is also an input (an event target's or topic
		// policy's arn) names another resource, not this one.
		if _, isInput := r.Inputs[k]; isInput {
			continue
		}
		add(r.Outputs[k])
	}
	// The RDS-managed master secret belongs to its cluster.
	if secrets, ok := r.Outputs["masterUserSecrets"].([]any); ok {
		for _, x := range secrets {
			if m, ok := x.(map[string]any); ok {
				add(m["secretArn"])
			}
		}
	}
	for _, k := range nameKeys {
		if s, ok := r.Inputs[k].(string); ok && s != "" {
			add(s)
			break
		}
	}
	if r.Custom {
		add(r.ID)
	}
	return out
}

// resolve finds the single resource a string refers to (nil if none or
// ambiguous). ARNs with a "/*" or "/index/*" tail resolve to their base.
func (g *graph) resolve(s string) *offline.Resource {
	cands := []string{s, strings.TrimSuffix(s, "/*"), strings.TrimSuffix(s, "/index/*"), strings.TrimSuffix(s, ":*")}
	if parts := strings.Split(s, ":"); len(parts) > 7 && parts[0] == "arn" {
		// A Secrets Manager ARN with a JSON key and version ("...:secret:x-AbCdEf:password::").
		cands = append(cands, strings.Join(parts[:7], ":"))
	}
	for _, cand := range cands {
		if rs := g.index[cand]; len(rs) == 1 {
			return rs[0]
		}
	}
	return nil
}

// resolveInput resolves the string at a dotted input path ("arn",
// "deadLetterConfig.arn") to the resource it names, or nil.
func (g *graph) resolveInput(r *offline.Resource, path string) *offline.Resource {
	if s, ok := unwrap(r.Input(path)).(string); ok {
		return g.resolve(s)
	}
	return nil
}

// unwrap returns the plain value inside a secret the recording kept
// marked (some inputs arrive as *resource.Secret).
func unwrap(v any) any {
	for i := 0; i < 4; i++ {
		switch t := v.(type) {
		case *resource.Secret:
			v = t.Element.Mappable()
		case resource.PropertyValue:
			v = t.Mappable()
		default:
			return v
		}
	}
	return v
}

// refsOf returns every resource r's inputs refer to, JSON strings
// (policies, ASL, container definitions) included, sorted by URN.
func (g *graph) refsOf(r *offline.Resource) []*offline.Resource {
	seen := map[string]*offline.Resource{}
	var walk func(v any)
	walk = func(v any) {
		switch t := unwrap(v).(type) {
		case map[string]any:
			for _, x := range t {
				walk(x)
			}
		case []any:
			for _, x := range t {
				walk(x)
			}
		case string:
			if target := g.resolve(t); target != nil && target.URN != r.URN {
				seen[target.URN] = target
			}
			if s := strings.TrimSpace(t); len(s) > 1 && (s[0] == '{' || s[0] == '[') {
				var parsed any
				if json.Unmarshal([]byte(s), &parsed) == nil {
					walk(parsed)
				}
			}
		}
	}
	walk(r.Inputs)
	out := make([]*offline.Resource, 0, len(seen))
	for _, x := range seen {
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URN < out[j].URN })
	return out
}

// through adds, for every SSM parameter among rs, the resource the
// parameter's value names (a task reads the table name from
// /trading/<suffix>/sessions/table), sorted by URN.
func (g *graph) through(rs []*offline.Resource) []*offline.Resource {
	seen := map[string]*offline.Resource{}
	for _, r := range rs {
		seen[r.URN] = r
		if r.Type != "aws:ssm/parameter:Parameter" {
			continue
		}
		for _, k := range []string{"value", "insecureValue"} {
			if t := g.resolveInput(r, k); t != nil {
				seen[t.URN] = t
			}
		}
	}
	out := make([]*offline.Resource, 0, len(seen))
	for _, x := range seen {
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URN < out[j].URN })
	return out
}

// add draws an arrow between the nodes of two resources, skipping it when
// either end is not drawn or both ends are the same node.
func (g *graph) add(from, to *offline.Resource, label string) {
	if from == nil || to == nil {
		return
	}
	a, b := g.byURN[from.URN], g.byURN[to.URN]
	if a == "" || b == "" || a == b {
		return
	}
	g.edges[edge{from: a, to: b, label: label}] = true
}

// flowLabels name the curated flows by the type of their two ends. A flow
// is drawn only when the recording shows one end referring to the other.
var flowLabels = map[[2]string]string{
	{"aws:lb/listener:Listener", "aws:lb/targetGroup:TargetGroup"}:                    "forward",
	{"aws:ecs/service:Service", "aws:rds/cluster:Cluster"}:                            "SQL (writer/reader)",
	{"aws:ecs/service:Service", "aws:dynamodb/table:Table"}:                           "sessions",
	{"aws:ecs/service:Service", "aws:cloudwatch/eventBus:EventBus"}:                   "PutEvents",
	{"aws:ecs/service:Service", "aws:s3/bucketV2:BucketV2"}:                           "objects",
	{"aws:ecs/service:Service", "aws:cloudwatch/logGroup:LogGroup"}:                   "logs",
	{"aws:cloudwatch/metricAlarm:MetricAlarm", "aws:sns/topic:Topic"}:                 "ALARM",
	{"aws:cloudwatch/compositeAlarm:CompositeAlarm", "aws:sns/topic:Topic"}:           "ALARM",
	{"aws:cloudwatch/metricAlarm:MetricAlarm", "aws:route53/healthCheck:HealthCheck"}: "watches",
	{"aws:route53/record:Record", "aws:lb/loadBalancer:LoadBalancer"}:                 "alias",
	{"aws:synthetics/canary:Canary", "aws:s3/bucketV2:BucketV2"}:                      "artifacts",
	{"aws:backup/plan:Plan", "aws:backup/vault:Vault"}:                                "recovery points",
	{"aws:cloudwatch/eventArchive:EventArchive", "aws:cloudwatch/eventBus:EventBus"}:  "archives",
}

// flows draws the curated, labelled data and event flows.
func (g *graph) flows() {
	for _, r := range g.resources {
		switch r.Type {
		case "aws:lb/listener:Listener":
			// Traffic enters at the ALB, passes the listener, goes to the
			// target group it forwards to.
			for _, t := range g.refsOf(r) {
				switch t.Type {
				case "aws:lb/loadBalancer:LoadBalancer":
					proto, _ := r.Inputs["protocol"].(string)
					if proto == "" {
						proto = "traffic"
					}
					g.add(t, r, proto)
				case "aws:lb/targetGroup:TargetGroup":
					g.add(r, t, "forward")
				}
			}
		case "aws:ecs/service:Service":
			for _, t := range g.refsOf(r) {
				switch t.Type {
				case "aws:lb/targetGroup:TargetGroup":
					g.add(t, r, "tasks")
				case "aws:ecs/taskDefinition:TaskDefinition":
					// What the task talks to is in its container definitions,
					// directly or through the SSM parameters it reads.
					for _, u := range g.through(g.refsOf(t)) {
						if l, ok := flowLabels[[2]string{r.Type, u.Type}]; ok {
							g.add(r, u, l)
						}
					}
				}
			}
		case "aws:cloudwatch/eventRule:EventRule":
			for _, t := range g.refsOf(r) {
				if t.Type == "aws:cloudwatch/eventBus:EventBus" {
					g.add(t, r, "events")
				}
			}
		case "aws:cloudwatch/eventTarget:EventTarget":
			// A target connects its rule to what it delivers to, and to the
			// queue that keeps what could not be delivered.
			rule := g.resolveInput(r, "rule")
			g.add(rule, g.resolveInput(r, "arn"), "target")
			g.add(rule, g.resolveInput(r, "deadLetterConfig.arn"), "dead letters")
		case "aws:sns/topicSubscription:TopicSubscription":
			var topic *offline.Resource
			var ends []*offline.Resource
			for _, t := range g.refsOf(r) {
				if t.Type == "aws:sns/topic:Topic" && topic == nil {
					topic = t
				} else if t.Type != "aws:iam/role:Role" {
					ends = append(ends, t)
				}
			}
			for _, t := range ends {
				g.add(topic, t, "notify")
			}
		case "aws:backup/selection:Selection":
			var plan *offline.Resource
			var protected []*offline.Resource
			for _, t := range g.refsOf(r) {
				switch t.Type {
				case "aws:backup/plan:Plan":
					plan = t
				case "aws:iam/role:Role":
				default:
					protected = append(protected, t)
				}
			}
			for _, t := range protected {
				g.add(plan, t, "backs up")
			}
		default:
			for _, t := range g.refsOf(r) {
				if l, ok := flowLabels[[2]string{r.Type, t.Type}]; ok {
					g.add(r, t, l)
				}
			}
		}
	}
}

// plumbing are targets every resource points at (encryption keys, the
// VPC, roles): drawing those references would bury the flows.
var plumbing = map[string]bool{
	"aws:kms/key:Key": true, "awsx:ec2:Vpc": true, "aws:ec2/vpc:Vpc": true,
	"aws:iam/role:Role": true, "aws:iam/policy:Policy": true,
	"aws:ec2/securityGroup:SecurityGroup": true, "aws:cloudwatch/logGroup:LogGroup": true,
}

// references draws a dotted arrow wherever a key resource's inputs name
// another key resource and no labelled flow already joins the two.
func (g *graph) references() {
	joined := map[[2]string]bool{}
	for e := range g.edges {
		joined[[2]string{e.from, e.to}] = true
		joined[[2]string{e.to, e.from}] = true
	}
	for _, r := range g.resources {
		a := g.byURN[r.URN]
		if a == "" || g.nodes[a].count {
			continue
		}
		for _, t := range g.refsOf(r) {
			b := g.byURN[t.URN]
			if b == "" || b == a || g.nodes[b].count || plumbing[t.Type] || joined[[2]string{a, b}] {
				continue
			}
			g.edges[edge{from: a, to: b}] = true
			joined[[2]string{a, b}], joined[[2]string{b, a}] = true, true
		}
	}
}

// render writes the Mermaid source.
func (g *graph) render() string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	b.WriteString("  classDef count fill:#f4f4f4,stroke:#999,color:#333,stroke-dasharray:3 3\n")
	for _, c := range g.components {
		fmt.Fprintf(&b, "  subgraph %s[\"%s\"]\n", "c_"+sanitize(pkgOf(c)), escape(c))
		b.WriteString("    direction TB\n")
		ids := append([]string(nil), g.members[c]...)
		sort.Slice(ids, func(i, j int) bool {
			ni, nj := g.nodes[ids[i]], g.nodes[ids[j]]
			if ni.count != nj.count {
				return !ni.count
			}
			return ids[i] < ids[j]
		})
		for _, id := range ids {
			n := g.nodes[id]
			if n.count {
				fmt.Fprintf(&b, "    %s[\"%s\"]:::count\n", id, escape(n.label))
			} else {
				fmt.Fprintf(&b, "    %s[\"%s\"]\n", id, n.label)
			}
		}
		if n := g.supporting[c]; n > 0 {
			fmt.Fprintf(&b, "    %s[\"+%d supporting resources\"]:::count\n", "c_"+sanitize(pkgOf(c))+"_more", n)
		}
		b.WriteString("  end\n")
	}
	edges := make([]edge, 0, len(g.edges))
	for e := range g.edges {
		edges = append(edges, e)
	}
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].from != edges[j].from {
			return edges[i].from < edges[j].from
		}
		if edges[i].to != edges[j].to {
			return edges[i].to < edges[j].to
		}
		return edges[i].label < edges[j].label
	})
	for _, e := range edges {
		if e.label == "" {
			fmt.Fprintf(&b, "  %s -.-> %s\n", e.from, e.to)
		} else {
			fmt.Fprintf(&b, "  %s -->|%s| %s\n", e.from, escape(e.label), e.to)
		}
	}
	return b.String()
}

// Flows lists the diagram's arrows as text ("ALB alb-dev -> listener: HTTPS"),
// sorted, for readers without a Mermaid renderer.
func Flows(rec *offline.Recording) []string {
	g := build(rec)
	var out []string
	for e := range g.edges {
		from, to := plain(g.nodes[e.from].label), plain(g.nodes[e.to].label)
		label := e.label
		if label == "" {
			label = "references"
		}
		out = append(out, fmt.Sprintf("%s → %s (%s)", from, to, label))
	}
	sort.Strings(out)
	return out
}

func plain(label string) string {
	return strings.ReplaceAll(label, "<br/>", " ")
}

// keyLabel is "<kind><br/><physical name>" plus the detail that matters for
// the picture (the AZ of an Aurora instance, the task count of a service).
func keyLabel(kind string, r *offline.Resource) string {
	parts := []string{escape(kind)}
	if n := physical(r); n != "" {
		parts = append(parts, escape(n))
	}
	switch r.Type {
	case "aws:rds/clusterInstance:ClusterInstance":
		if az, ok := r.Inputs["availabilityZone"].(string); ok {
			parts = append(parts, escape(az))
		}
	case "aws:ecs/service:Service":
		if n, ok := r.Inputs["desiredCount"].(float64); ok {
			parts = append(parts, fmt.Sprintf("%d tasks", int(n)))
		}
	case "aws:lb/listener:Listener":
		if p, ok := r.Inputs["port"].(float64); ok {
			parts[0] = fmt.Sprintf("listener :%d", int(p))
		}
	case "aws:ec2/vpcEndpoint:VpcEndpoint":
		if s, ok := r.Inputs["serviceName"].(string); ok {
			parts = append(parts[:1], escape(s[strings.LastIndex(s, ".")+1:]))
		}
	case "awsx:ec2:Vpc":
		if c, ok := r.Inputs["cidrBlock"].(string); ok {
			parts = append(parts, escape(c))
		}
		if azs, ok := r.Inputs["availabilityZoneNames"].([]any); ok {
			parts = append(parts, fmt.Sprintf("%d AZs", len(azs)))
		}
	}
	return strings.Join(parts, "<br/>")
}

// physical is the resource's AWS name as far as the recording knows it.
func physical(r *offline.Resource) string {
	for _, k := range nameKeys {
		if s, ok := r.Inputs[k].(string); ok && s != "" {
			return s
		}
	}
	if tags, ok := r.Inputs["tags"].(map[string]any); ok {
		if s, ok := tags["Name"].(string); ok {
			return s
		}
	}
	return key(r)
}

// key names a resource within its component (offline.Resource.Key), so a
// component naming its children <component>-<key> leaves the diagram's
// node IDs as they were; a hand-built resource without a key uses its name.
func key(r *offline.Resource) string {
	if r.Key != "" {
		return r.Key
	}
	return r.Name
}

func countLabel(typ string, n int) string {
	names := countKinds[typ]
	if n == 1 {
		return "1 " + names[0]
	}
	return fmt.Sprintf("%d %s", n, names[1])
}

// nodeID is a Mermaid-safe, stable identifier.
func nodeID(component, typ, name string) string {
	short := typ[strings.LastIndex(typ, ":")+1:]
	return sanitize(pkgOf(component) + "_" + strings.ToLower(short) + "_" + name)
}

// pkgOf returns "service" for "trading:service:Service".
func pkgOf(component string) string {
	parts := strings.Split(component, ":")
	if len(parts) == 3 {
		return parts[1]
	}
	return component
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		default:
			b.WriteRune('_')
		}
	}
	return b.String()
}

// escape makes text safe inside a quoted Mermaid label.
func escape(s string) string {
	r := strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;", "|", "#124;")
	return r.Replace(s)
}

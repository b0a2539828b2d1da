package tests

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/infra/monitoring"
	"github.com/trading-ha/trading-ha/proof/offline"
)

const tLogGroupType = "aws:cloudwatch/logGroup:LogGroup"

// runtimeLogGroup is a log group an AWS service creates when it first
// writes for a recorded resource and finds no group: unencrypted, kept
// forever, outside the stack, left behind by destroy.
type runtimeLogGroup struct {
	name   string
	writer *offline.Resource
	// source is where AWS documents the name.
	source string
}

// runtimeLogGroups derives, from a recording, every log group a service
// would create at run time for the stack's resources. It reads the
// resources' own settings (and, for the canary, the engine ARN the
// provider returns), not the program's names, so a writer added without
// its group shows up here.
func runtimeLogGroups(t *testing.T, rec *offline.Recording) []runtimeLogGroup {
	t.Helper()
	var groups []runtimeLogGroup
	for _, c := range rec.ByType("aws:rds/cluster:Cluster") {
		exports, _ := c.Inputs["enabledCloudwatchLogsExports"].([]any)
		for _, typ := range exports {
			groups = append(groups, runtimeLogGroup{"/aws/rds/cluster/" + str(t, c, "clusterIdentifier") + "/" + typ.(string), c,
				"Aurora User Guide, Publishing Aurora PostgreSQL logs to Amazon CloudWatch Logs: /aws/rds/cluster/<cluster>/postgresql"})
		}
	}
	for _, i := range rec.ByType("aws:rds/clusterInstance:ClusterInstance") {
		if n, _ := i.Inputs["monitoringInterval"].(float64); n > 0 && !slices.ContainsFunc(groups, func(g runtimeLogGroup) bool { return g.name == "RDSOSMetrics" }) {
			groups = append(groups, runtimeLogGroup{"RDSOSMetrics", i, "Aurora User Guide, Monitoring OS metrics with Enhanced Monitoring: the RDSOSMetrics log group"})
		}
	}
	for _, c := range rec.ByType("aws:ecs/cluster:Cluster") {
		settings, _ := c.Inputs["settings"].([]any)
		for _, s := range settings {
			m, _ := s.(map[string]any)
			if m["name"] == "containerInsights" && (m["value"] == "enabled" || m["value"] == "enhanced") {
				groups = append(groups, runtimeLogGroup{"/aws/ecs/containerinsights/" + str(t, c, "name") + "/performance", c,
					"CloudWatch User Guide, Container Insights performance log events for Amazon ECS"})
			}
		}
	}
	for _, c := range rec.ByType("aws:synthetics/canary:Canary") {
		// arn:aws:lambda:<region>:<account>:function:<name>[:<version>]
		parts := strings.Split(out(t, c, "engineArn"), ":")
		if len(parts) < 7 || parts[5] != "function" {
			t.Fatalf("canary %s engine ARN %q is not a Lambda function ARN", c.Name, out(t, c, "engineArn"))
		}
		groups = append(groups, runtimeLogGroup{"/aws/lambda/" + parts[6], c, "Synthetics API Reference, DeleteCanary: log groups created for the canary are not deleted"})
	}
	for _, f := range rec.ByType("aws:lambda/function:Function") {
		if g, _ := offline.Walk(f.Inputs, "loggingConfig.logGroup"); g == nil || g == "" {
			groups = append(groups, runtimeLogGroup{"/aws/lambda/" + str(t, f, "name"), f, "AWS Lambda Developer Guide, Sending Lambda function logs to CloudWatch Logs"})
		}
	}
	for _, td := range rec.ByType("aws:ecs/taskDefinition:TaskDefinition") {
		var defs []struct {
			LogConfiguration *struct {
				Options map[string]string `json:"options"`
			} `json:"logConfiguration"`
		}
		jsonInput(t, td, "containerDefinitions", &defs)
		for _, d := range defs {
			if d.LogConfiguration != nil && d.LogConfiguration.Options["awslogs-create-group"] == "true" {
				groups = append(groups, runtimeLogGroup{d.LogConfiguration.Options["awslogs-group"], td, "Amazon ECS Developer Guide, awslogs-create-group"})
			}
		}
	}
	return groups
}

// str is a string input of r.
func str(t *testing.T, r *offline.Resource, key string) string {
	t.Helper()
	s, ok := r.Inputs[key].(string)
	if !ok {
		t.Fatalf("%s %s: input %s is %T, want string", r.Type, r.Name, key, r.Inputs[key])
	}
	return s
}

// logGroupRow is a row of docs/destroy.md's runtime log group table.
type logGroupRow struct {
	pattern *regexp.Regexp
	text    string
	// owned: the stack creates the group ("created by" names the stack);
	// otherwise the row says the group is left behind.
	owned bool
}

// runtimeLogGroupRows parses the table under "## Log groups services
// create at runtime": the first cell is the group, <placeholders> match
// one path segment; the third cell says who creates it.
func runtimeLogGroupRows(t *testing.T) []logGroupRow {
	t.Helper()
	b, err := os.ReadFile("../docs/destroy.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Log groups services create at runtime\n")
	if !ok {
		t.Fatal(`docs/destroy.md has no "## Log groups services create at runtime" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	placeholder := regexp.MustCompile(`<[^>]+>`)
	var rows []logGroupRow
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		parts := placeholder.Split(name, -1)
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		created := strings.TrimSpace(cells[3])
		owned := strings.HasPrefix(created, "the stack")
		if !owned && !strings.Contains(created, "left behind") {
			t.Fatalf("docs/destroy.md row %q: the created-by cell must start with \"the stack\" or say \"left behind\"", name)
		}
		rows = append(rows, logGroupRow{pattern: regexp.MustCompile("^" + strings.Join(parts, "[^/]+") + "$"), text: name, owned: owned})
	}
	if len(rows) == 0 {
		t.Fatal("docs/destroy.md's runtime log group table has no rows")
	}
	return rows
}

// TestRuntimeLogGroupsOwnedOrListed: every log group a service creates at
// run time for the stack (runtimeLogGroups) is created by the stack itself
// — KMS, retention, deleted by destroy — or is a row of docs/destroy.md
// marked left behind; a row marked as the stack's is one the stack
// creates, and every row matches a group of some stack (none is stale).
func TestRuntimeLogGroupsOwnedOrListed(t *testing.T) {
	rows := runtimeLogGroupRows(t)
	used := make([]bool, len(rows))
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		created := map[string]bool{}
		for _, g := range rec.ByType(tLogGroupType) {
			created[str(t, g, "name")] = true
		}
		groups := runtimeLogGroups(t, rec)
		if len(groups) < 4 {
			t.Fatalf("found %d runtime log groups, want the cluster's export, Container Insights, the canary's and RDSOSMetrics at least", len(groups))
		}
		for _, g := range groups {
			var match []int
			for i, r := range rows {
				if r.pattern.MatchString(g.name) {
					match = append(match, i)
				}
			}
			switch {
			case len(match) == 0 && created[g.name]:
				t.Errorf("%s (written for %s %s) is created by the stack but not listed in docs/destroy.md's runtime log group table", g.name, g.writer.Type, g.writer.Name)
			case len(match) == 0:
				t.Errorf("%s (written for %s %s; %s) is created by AWS at run time and left behind by destroy: create it in the program before its writer, or list it in docs/destroy.md as left behind",
					g.name, g.writer.Type, g.writer.Name, g.source)
			case len(match) > 1:
				t.Errorf("%s matches %d rows of docs/destroy.md", g.name, len(match))
			default:
				row := rows[match[0]]
				used[match[0]] = true
				if row.owned && !created[g.name] {
					t.Errorf("docs/destroy.md says the stack creates %s, but the stack creates no log group %s: AWS will, and destroy leaves it", row.text, g.name)
				}
				if !row.owned && created[g.name] {
					t.Errorf("docs/destroy.md says %s is left behind, but the stack creates %s", row.text, g.name)
				}
			}
		}
	})
	for i, r := range rows {
		if !used[i] {
			t.Errorf("docs/destroy.md lists %s, which no service writes for either stack: a stale row", r.text)
		}
	}
}

// TestRuntimeLogGroupsBeatTheirWriters: a group the stack creates for a
// service must exist before the service can create it, or `pulumi up`
// fails on ResourceAlreadyExistsException (and a destroy that deletes the
// group first sees it come back). The RDS and ECS clusters wait for their
// groups; the canary's group can only follow the canary (its name carries
// the id Synthetics assigns), so the canary's role must not be able to
// create log groups.
func TestRuntimeLogGroupsBeatTheirWriters(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		groups := map[string]*offline.Resource{}
		for _, g := range rec.ByType(tLogGroupType) {
			groups[str(t, g, "name")] = g
		}
		for _, rg := range runtimeLogGroups(t, rec) {
			g := groups[rg.name]
			if g == nil {
				continue // left behind by design: TestRuntimeLogGroupsOwnedOrListed
			}
			switch {
			case slices.Contains(rg.writer.DependsOn, g.URN):
				// The writer is created after its group.
			case slices.Contains(g.DependsOn, rg.writer.URN) && rg.writer.Type == "aws:synthetics/canary:Canary":
				if grants := logGroupCreators(t, rec, rg.writer); len(grants) > 0 {
					t.Errorf("%s is created after canary %s, whose role may create it first: %v", rg.name, rg.writer.Name, grants)
				}
			default:
				t.Errorf("%s %s does not wait for its log group %s, and nothing stops it from creating the group first", rg.writer.Type, rg.writer.Name, rg.name)
			}
		}
	})
}

// logGroupCreators lists the grants of logs:CreateLogGroup (or a wildcard
// covering it) in the canary's execution role: inline policies and any
// attached managed policy (AWSLambdaBasicExecutionRole grants it).
func logGroupCreators(t *testing.T, rec *offline.Recording, canary *offline.Resource) []string {
	t.Helper()
	roleArn := str(t, canary, "executionRoleArn")
	role := roleArn[strings.LastIndex(roleArn, "/")+1:]
	var grants []string
	for _, p := range rec.ByType(typRolePolicy) {
		if p.Inputs["role"] != role {
			continue
		}
		var doc policyDoc
		jsonInput(t, p, "policy", &doc)
		for _, s := range doc.Statement {
			for _, a := range s.Action {
				if s.Effect == "Allow" && (a == "logs:CreateLogGroup" || a == "logs:*" || a == "*" || a == "logs:Create*") {
					grants = append(grants, p.Name+": "+s.Sid+" "+a)
				}
			}
		}
	}
	for _, a := range rec.ByType("aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
		if a.Inputs["role"] == role {
			grants = append(grants, "managed policy "+str(t, a, "policyArn"))
		}
	}
	return grants
}

// TestCanaryFunctionFromEngineArn: the canary's log group is named from
// the function in its engine ARN, with or without a version.
func TestCanaryFunctionFromEngineArn(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:lambda:us-east-1:123456789012:function:cwsyn-canary-dev-6b1f0e2a-1c2d-4e5f-8a9b-0c1d2e3f4a5b:3": "cwsyn-canary-dev-6b1f0e2a-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
		"arn:aws:lambda:us-east-1:123456789012:function:cwsyn-canary-dev-abc":                                    "cwsyn-canary-dev-abc",
	} {
		if got, err := monitoring.CanaryFunction(arn); err != nil || got != want {
			t.Errorf("CanaryFunction(%q) = %q, %v; want %q", arn, got, err, want)
		}
	}
	for _, bad := range []string{"", "cwsyn-canary-dev-abc", "arn:aws:lambda:us-east-1:123456789012:layer:x:1", "arn:aws:lambda:us-east-1:123456789012:function:"} {
		if got, err := monitoring.CanaryFunction(bad); err == nil {
			t.Errorf("CanaryFunction(%q) = %q, want an error", bad, got)
		}
	}
}

// TestNoFunctionInTheVPC holds docs/destroy.md's network interface row: no
// Lambda function (the canary's included) runs in the VPC, so destroy never
// waits on Lambda's interfaces in the stack's subnets and security groups.
func TestNoFunctionInTheVPC(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		for _, typ := range []string{"aws:synthetics/canary:Canary", "aws:lambda/function:Function"} {
			for _, r := range rec.ByType(typ) {
				if v, ok := r.Inputs["vpcConfig"]; ok && v != nil {
					t.Errorf("%s %s runs in the VPC (vpcConfig %v): docs/destroy.md must list its network interfaces", r.Type, r.Name, v)
				}
			}
		}
	})
}

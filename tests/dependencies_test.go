package tests

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/trading-ha/trading-ha/infra/arn"
	rb "github.com/trading-ha/trading-ha/infra/asl"
	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/dependencies"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/service"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// TestDependencyMap derives every row of the dependency table
// (infra/dependencies) from each stack's recording: the network path in
// the stack's privateEgress mode, the grants on the role that calls, the
// alarms that notice, and the app tests that show the failure behaviour.
func TestDependencyMap(t *testing.T) {
	tests := appTests(t)
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		for _, p := range dependencyProblems(rec, dependencies.Rows(), tests) {
			t.Error(p)
		}
	})
}

// TestDependencyFactsMatchTheService: the facts the table restates from
// infra/service (it may not import a component) are the service's own.
func TestDependencyFactsMatchTheService(t *testing.T) {
	if dependencies.DBAppUser != service.DBAppUser {
		t.Errorf("table connects as %q, the service as %q", dependencies.DBAppUser, service.DBAppUser)
	}
	if !slices.Equal(dependencies.ReadPaths, service.ReadPaths) {
		t.Errorf("table reads %v, the service %v", dependencies.ReadPaths, service.ReadPaths)
	}
}

// TestDependencyChecksCanFail shows each check red: the recordings with a
// path, a grant or an alarm taken away, and tables that name what the
// recording or app/ does not hold, each make the check report the row.
func TestDependencyChecksCanFail(t *testing.T) {
	tests := appTests(t)
	dev, prod := record(t, "dev"), record(t, "prod")
	rows := dependencies.Rows()
	drop := func(rec *offline.Recording, typ, name string) *offline.Recording {
		return alter(t, rec, typ, name, func(*offline.Resource) *offline.Resource { return nil })
	}
	set := func(rec *offline.Recording, typ, name, key string, v any) *offline.Recording {
		return alter(t, rec, typ, name, func(r *offline.Resource) *offline.Resource { r.Inputs[key] = v; return r })
	}
	policy := func(rec *offline.Recording, name string, edit func(doc *policyDoc)) *offline.Recording {
		return alter(t, rec, "aws:iam/rolePolicy:RolePolicy", name, func(r *offline.Resource) *offline.Resource {
			var doc policyDoc
			if err := json.Unmarshal([]byte(r.Inputs["policy"].(string)), &doc); err != nil {
				t.Fatal(err)
			}
			edit(&doc)
			b, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			r.Inputs["policy"] = string(b)
			return r
		})
	}
	withoutSid := func(sid string) func(*policyDoc) {
		return func(doc *policyDoc) {
			doc.Statement = slices.DeleteFunc(doc.Statement, func(s policyStatement) bool { return s.Sid == sid })
		}
	}
	tableWith := func(edit func(rows []dependencies.Row) []dependencies.Row) []dependencies.Row {
		return edit(dependencies.Rows())
	}
	endpointType := "aws:ec2/vpcEndpoint:VpcEndpoint"
	nonECR, err := recordWith(t, "dev", map[string]string{"trading-ha:appImage": "docker.io/library/nginx:1.27"})
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		rec  *offline.Recording
		rows []dependencies.Row
		want string
	}{
		{"closed egress without the events endpoint", drop(prod, endpointType, "endpoint-events"), rows,
			"bus: no interface endpoint com.amazonaws.us-east-1.events"},
		{"an endpoint without private DNS", set(prod, endpointType, "endpoint-ssm", "privateDnsEnabled", false), rows,
			"limits: endpoint ssm: private DNS off"},
		{"an endpoint outside the task subnets", set(prod, endpointType, "endpoint-logs", "subnetIds", []any{"subnet-private-a"}), rows,
			"logs: endpoint logs: subnets [subnet-private-a]"},
		{"an endpoint policy without the row's actions", set(prod, endpointType, "endpoint-events", "policy",
			`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":["ssm:GetParameter"],"Resource":["*"]}]}`), rows,
			"bus: endpoint events: its policy does not allow events:PutEvents"},
		{"the endpoint group admits nothing from the tasks", drop(prod, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "endpoints-in-tasks"), rows,
			"bus: endpoint events: no security group of it admits 443 from the tasks group"},
		{"the endpoint group admits nothing from the migrate task", drop(prod, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "endpoints-in-migrate"), rows,
			"secrets (migrate task): endpoint secretsmanager: no security group of it admits 443 from the migrate group"},
		{"the migrate task may not reach the database", drop(dev, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "db-from-migrate"), rows,
			"schema (migrate task): the aurora group admits no 5432 from the migrate group"},
		{"the migrate task without internet egress (NAT)", drop(dev, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "migrate-out-https"), rows,
			"image (migrate task): privateEgress nat but the migrate group sends no 443 to 0.0.0.0/0"},
		{"the migrate task's role without the master secret", policy(dev, "migrate-execution", withoutSid("ReadDBSecret")), rows,
			"secrets: role-migrate-execution-dev does not allow secretsmanager:GetSecretValue on arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-mock-AbCdEf"},
		{"the tasks may not send to the endpoints", drop(prod, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "tasks-out-endpoints"), rows,
			"image: endpoint ecr.dkr: the tasks group sends no 443 to its security group"},
		{"NAT without NAT gateways", set(dev, "awsx:ec2:Vpc", "vpc", "natGateways", map[string]any{"strategy": "None"}), rows,
			"bus: privateEgress nat but the VPC's NAT strategy is None"},
		{"NAT without internet egress", drop(dev, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "tasks-out-https"), rows,
			"config: privateEgress nat but the tasks group sends no 443 to 0.0.0.0/0"},
		{"a gateway endpoint off the private route tables", set(prod, endpointType, "endpoint-dynamodb", "routeTableIds", []any{"rtb-x"}), rows,
			"sessions: gateway endpoint dynamodb is not on private route table"},
		{"no egress to the gateway endpoint", drop(prod, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "tasks-out-s3"), rows,
			"image: gateway endpoint s3: the tasks group sends no 443 to its prefix list"},
		{"the database group admits nothing from the tasks", drop(dev, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "db-from-tasks"), rows,
			"aurora: the aurora group admits no 5432 from the tasks"},
		{"no grant for the relay", policy(prod, "task", withoutSid("PublishOrderEvents")), rows,
			"bus: role-task-prod does not allow events:PutEvents on arn:aws:events:us-east-1:123456789012:event-bus/events-prod"},
		{"a key grant without its service", policy(dev, "migrate-execution", func(doc *policyDoc) {
			for i, s := range doc.Statement {
				if s.Sid == "DecryptConfig" {
					doc.Statement[i].Condition["StringEquals"]["kms:ViaService"] = []string{"ssm.us-east-1.amazonaws.com"}
				}
			}
		}), rows, "kms: role-migrate-execution-dev does not allow kms:Decrypt on arn:aws:kms:us-east-1:123456789012:key/*"},
		{"a key sync that may not write", policy(prod, "key-sync-role", func(doc *policyDoc) {
			for i, s := range doc.Statement {
				doc.Statement[i].Action = slices.DeleteFunc(slices.Clone(s.Action), func(a string) bool { return a == "ssm:PutParameter" })
			}
		}), rows, "signing-keys: role-sm-key-sync-prod does not allow ssm:PutParameter"},
		{"an image outside ECR (config override appImage)", nonECR, rows,
			"image: role-task-execution-dev does not allow ecr:BatchGetImage"},
		{"the alarm is gone", drop(prod, "aws:cloudwatch/metricAlarm:MetricAlarm", "alarm-outbox-backlog-age"), rows,
			"bus: no metric alarm alarm-outbox-backlog-age-prod"},
		{"an alarm said to page that does not", prod, tableWith(func(rs []dependencies.Row) []dependencies.Row {
			rs[0].Alarms = append(rs[0].Alarms, dependencies.Alarm{Key: "target-5xx", Pages: true})
			return rs
		}), "aurora: alarm-target-5xx-prod pages true, but the composite alarm-degraded-prod names it: false"},
		{"a renamed app test", prod, tableWith(func(rs []dependencies.Row) []dependencies.Row {
			rs[1].AppTests = []string{"TestTableThatNeverAnswers"}
			return rs
		}), "sessions: no func TestTableThatNeverAnswers( in app/"},
		{"a row whose service has no endpoint", prod, tableWith(func(rs []dependencies.Row) []dependencies.Row {
			return append(rs, dependencies.Row{Key: "athena", Paths: []dependencies.Path{{Route: dependencies.Interface, Service: "athena"}},
				Grants: rs[2].Grants, AppTests: rs[2].AppTests, Alarms: rs[2].Alarms})
		}), "athena: no interface endpoint com.amazonaws.us-east-1.athena"},
		{"an endpoint no row uses", alter(t, prod, endpointType, "endpoint-sts", func(r *offline.Resource) *offline.Resource {
			r.Inputs["serviceName"] = "com.amazonaws.us-east-1.athena"
			return r
		}), rows, "interface endpoint athena: no row calls through it and SpareEndpoints does not list it"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := dependencyProblems(tc.rec, tc.rows, tests)
			for _, p := range got {
				if strings.HasPrefix(p, tc.want) {
					return
				}
			}
			t.Errorf("no problem starting %q; got %d:\n%s", tc.want, len(got), strings.Join(got, "\n"))
		})
	}
}

// alter returns a recording whose resource of typ and name (or key) is
// replaced by what edit makes of a copy of it (nil drops it).
func alter(t *testing.T, rec *offline.Recording, typ, name string, edit func(*offline.Resource) *offline.Resource) *offline.Recording {
	t.Helper()
	out := &offline.Recording{Stack: rec.Stack, Config: rec.Config}
	found := false
	for _, r := range rec.Resources {
		if r.Type == typ && (r.Name == name || r.Key == name) {
			found = true
			cp := *r
			cp.Inputs = maps.Clone(r.Inputs)
			if e := edit(&cp); e != nil {
				out.Resources = append(out.Resources, e)
			}
			continue
		}
		out.Resources = append(out.Resources, r)
	}
	if !found {
		t.Fatalf("alter: the recording has no %s %s", typ, name)
	}
	return out
}

// appTests returns the names of the test functions under app/.
func appTests(t *testing.T) map[string]bool {
	t.Helper()
	re := regexp.MustCompile(`(?m)^func (Test\w+)\(`)
	out := map[string]bool{}
	err := filepath.WalkDir(filepath.Join("..", "app"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			out[m[1]] = true
		}
		return nil
	})
	if err != nil || len(out) == 0 {
		t.Fatalf("app tests: %v (%d found)", err, len(out))
	}
	return out
}

// depStack is what the checks read from one recording.
type depStack struct {
	rec      *offline.Recording
	scope    dependencies.Scope
	mode     string
	nets     map[dependencies.Task]taskNet
	problems []string
}

// taskNet is where one task's paths start: its security groups and
// subnets, and how messages name it.
type taskNet struct {
	// who prefixes a problem after the row's key ("" for the service's
	// tasks, " (migrate task)"); group names its security group.
	who, group string
	sgs        []string
	subnets    []string
}

// rowNet is one row checked from one task's network.
type rowNet struct {
	row dependencies.Row
	net taskNet
}

// key is the problem prefix: the row's key, and the task when it is not
// the service's.
func (rn rowNet) key() string { return rn.row.Key + rn.net.who }

func (d *depStack) fail(format string, args ...any) {
	d.problems = append(d.problems, fmt.Sprintf(format, args...))
}

// dependencyProblems checks rows against rec and returns every problem,
// each starting with the row's key.
func dependencyProblems(rec *offline.Recording, rows []dependencies.Row, appTests map[string]bool) []string {
	d := &depStack{rec: rec, mode: rec.Config["trading-ha:privateEgress"]}
	d.scope = dependencies.Scope{Region: offline.Region, Account: acct, Names: naming.New(rec.Config["trading-ha:environmentSuffix"])}
	if cl := rec.ByType("aws:rds/cluster:Cluster"); len(cl) == 1 {
		d.scope.ClusterResourceID, _ = cl[0].Outputs["clusterResourceId"].(string)
		d.scope.DBSecretArn, _ = offline.Lookup(cl[0].Outputs, "masterUserSecrets.0.secretArn").(string)
	} else {
		d.fail("stack: %d Aurora clusters, want 1", len(cl))
	}
	service := taskNet{group: "tasks"}
	if svc := rec.ByType("aws:ecs/service:Service"); len(svc) == 1 {
		service.sgs = strs(offline.Lookup(svc[0].Inputs, "networkConfiguration.securityGroups"))
		service.subnets = strs(offline.Lookup(svc[0].Inputs, "networkConfiguration.subnets"))
	}
	if len(service.sgs) == 0 || len(service.subnets) == 0 {
		d.fail("stack: no ECS service with subnets and security groups")
	}
	// The migrate task runs where the migrate runbook reads it from: the
	// parameter the stack writes (asl.MigrateNetworkPath).
	migrate := taskNet{who: " (migrate task)", group: "migrate"}
	if p, err := rec.One("aws:ssm/parameter:Parameter", "params-param-"+strings.ReplaceAll(rb.MigrateNetworkPath, "/", "-")); err == nil {
		var n rb.MigrateNetwork
		if err := json.Unmarshal([]byte(fmt.Sprint(p.Inputs["insecureValue"])), &n); err != nil {
			d.fail("stack: the migrate network parameter is not JSON: %v", err)
		}
		migrate.sgs, migrate.subnets = n.SecurityGroups, n.Subnets
	}
	if len(migrate.sgs) == 0 || len(migrate.subnets) == 0 {
		d.fail("stack: no migrate network parameter with subnets and security groups")
	}
	d.nets = map[dependencies.Task]taskNet{dependencies.ServiceTask: service, dependencies.MigrateTask: migrate}
	if d.mode != config.EgressNAT && d.mode != config.EgressEndpoints {
		d.fail("stack: privateEgress %q", d.mode)
	}

	reached := map[string]bool{}
	for _, row := range rows {
		for _, p := range row.Paths {
			if p.Route == dependencies.Interface || p.Route == dependencies.Gateway {
				reached[p.Service] = true
			}
		}
	}
	for _, row := range rows {
		if len(row.Paths) == 0 || len(row.Grants) == 0 {
			d.fail("%s: a row needs a path and a grant", row.Key)
		}
		for _, task := range row.CallerTasks() {
			for _, p := range row.Paths {
				d.path(rowNet{row, d.nets[task]}, p, reached)
			}
		}
		for _, g := range row.Grants {
			d.grant(row, g)
		}
		d.alarms(row)
		if len(row.AppTests) == 0 && row.NoAppTest == "" {
			d.fail("%s: no app test and no reason (NoAppTest)", row.Key)
		}
		for _, name := range row.AppTests {
			if !appTests[name] {
				d.fail("%s: no func %s( in app/", row.Key, name)
			}
		}
	}
	// The table and infra/network agree: every interface endpoint the
	// stack builds is a row's path or a listed spare.
	spare := map[string]bool{}
	for _, s := range dependencies.SpareEndpoints {
		spare[s.Service] = true
	}
	for svc := range interfaceEndpoints(rec) {
		if !spare[svc] && !slices.ContainsFunc(rows, func(r dependencies.Row) bool {
			return slices.ContainsFunc(r.Paths, func(p dependencies.Path) bool { return p.Route == dependencies.Interface && p.Service == svc })
		}) {
			d.fail("interface endpoint %s: no row calls through it and SpareEndpoints does not list it", svc)
		}
	}
	return d.problems
}

// path checks one network path in the stack's mode, from one task's network.
func (d *depStack) path(rn rowNet, p dependencies.Path, reached map[string]bool) {
	switch p.Route {
	case dependencies.Interface:
		if d.mode == config.EgressNAT {
			d.nat(rn)
			return
		}
		d.interfaceEndpoint(rn, p)
	case dependencies.Gateway:
		d.gatewayEndpoint(rn, p)
	case dependencies.InVPC:
		d.inVPC(rn, p)
	case dependencies.ViaService:
		// The calling service must itself be reachable: another path of
		// the table goes to it, and that path is checked there.
		if !reached[p.Service] {
			d.fail("%s: via %s, which no row reaches", rn.key(), p.Service)
		}
	default:
		d.fail("%s: path %+v has no route", rn.key(), p)
	}
}

func (d *depStack) nat(rn rowNet) {
	vpcs := d.rec.ByType("awsx:ec2:Vpc")
	if len(vpcs) != 1 {
		d.fail("%s: %d awsx VPCs, want 1", rn.key(), len(vpcs))
		return
	}
	// awsx gives each private subnet a default route to a NAT gateway
	// unless the strategy is None.
	if s := offline.Lookup(vpcs[0].Inputs, "natGateways.strategy"); s != "OnePerAz" && s != "Single" {
		d.fail("%s: privateEgress nat but the VPC's NAT strategy is %v", rn.key(), s)
	}
	if !d.egress(rn.net, 443, func(r *offline.Resource) bool { return r.Inputs["cidrIpv4"] == "0.0.0.0/0" }) {
		d.fail("%s: privateEgress nat but the %s group sends no 443 to 0.0.0.0/0", rn.key(), rn.net.group)
	}
}

func (d *depStack) interfaceEndpoint(rn rowNet, p dependencies.Path) {
	e, ok := interfaceEndpoints(d.rec)[p.Service]
	if !ok {
		d.fail("%s: no interface endpoint com.amazonaws.%s.%s in closed egress", rn.key(), d.scope.Region, p.Service)
		return
	}
	if e.Inputs["privateDnsEnabled"] != true {
		d.fail("%s: endpoint %s: private DNS off (the SDKs' regional names would not resolve to it)", rn.key(), p.Service)
	}
	if got := strs(e.Inputs["subnetIds"]); !sameSet(got, rn.net.subnets) {
		d.fail("%s: endpoint %s: subnets %v, want the task subnets %v", rn.key(), p.Service, got, rn.net.subnets)
	}
	groups := strs(e.Inputs["securityGroupIds"])
	admits := slices.ContainsFunc(groups, func(g string) bool {
		return d.rule("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", g, 443, func(r *offline.Resource) bool {
			return slices.Contains(rn.net.sgs, fmt.Sprint(r.Inputs["referencedSecurityGroupId"]))
		})
	})
	if !admits {
		d.fail("%s: endpoint %s: no security group of it admits 443 from the %s group", rn.key(), p.Service, rn.net.group)
	}
	if !d.egress(rn.net, 443, func(r *offline.Resource) bool {
		return slices.Contains(groups, fmt.Sprint(r.Inputs["referencedSecurityGroupId"]))
	}) {
		d.fail("%s: endpoint %s: the %s group sends no 443 to its security group", rn.key(), p.Service, rn.net.group)
	}
	d.endpointPolicy(rn.row, p, e)
}

func (d *depStack) gatewayEndpoint(rn rowNet, p dependencies.Path) {
	var e *offline.Resource
	for _, r := range d.rec.ByType("aws:ec2/vpcEndpoint:VpcEndpoint") {
		if r.Inputs["vpcEndpointType"] == "Gateway" && r.Inputs["serviceName"] == "com.amazonaws."+d.scope.Region+"."+p.Service {
			e = r
		}
	}
	if e == nil {
		d.fail("%s: no gateway endpoint com.amazonaws.%s.%s", rn.key(), d.scope.Region, p.Service)
		return
	}
	tables := strs(e.Inputs["routeTableIds"])
	private := privateRouteTables(d.rec)
	if len(private) == 0 {
		d.fail("%s: the VPC records no private route tables", rn.key())
	}
	for _, rt := range private {
		if !slices.Contains(tables, rt) {
			d.fail("%s: gateway endpoint %s is not on private route table %s", rn.key(), p.Service, rt)
		}
	}
	pl := fmt.Sprint(e.Outputs["prefixListId"])
	if !d.egress(rn.net, 443, func(r *offline.Resource) bool { return r.Inputs["prefixListId"] == pl }) {
		d.fail("%s: gateway endpoint %s: the %s group sends no 443 to its prefix list %s", rn.key(), p.Service, rn.net.group, pl)
	}
	d.endpointPolicy(rn.row, p, e)
}

// privateRouteTables are the IDs of the awsx VPC's private subnets' route
// tables (its routeTables output: references named <vpc>-private-<n>).
func privateRouteTables(rec *offline.Recording) []string {
	var out []string
	for _, v := range rec.ByType("awsx:ec2:Vpc") {
		tables, _ := v.Outputs["routeTables"].([]any)
		for _, t := range tables {
			if ref, ok := t.(resource.ResourceReference); ok && strings.Contains(ref.URN.Name(), "-private-") && ref.ID.IsString() {
				out = append(out, ref.ID.StringValue())
			}
		}
	}
	return out
}

func (d *depStack) inVPC(rn rowNet, p dependencies.Path) {
	if p.Service != "aurora" {
		d.fail("%s: no in-VPC resource %q known to the check", rn.key(), p.Service)
		return
	}
	cl := d.rec.ByType("aws:rds/cluster:Cluster")
	if len(cl) != 1 {
		return // reported by dependencyProblems
	}
	if port := cl[0].Inputs["port"]; port != float64(p.Port) {
		d.fail("%s: the cluster listens on %v, the table says %d", rn.key(), port, p.Port)
	}
	if cl[0].Inputs["iamDatabaseAuthenticationEnabled"] != true {
		d.fail("%s: IAM database authentication is off on the cluster", rn.key())
	}
	groups := strs(cl[0].Inputs["vpcSecurityGroupIds"])
	if !slices.ContainsFunc(groups, func(g string) bool {
		return d.rule("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", g, p.Port, func(r *offline.Resource) bool {
			return slices.Contains(rn.net.sgs, fmt.Sprint(r.Inputs["referencedSecurityGroupId"]))
		})
	}) {
		d.fail("%s: the aurora group admits no %d from the %s group", rn.key(), p.Port, rn.net.group)
	}
	if !d.egress(rn.net, p.Port, func(r *offline.Resource) bool {
		return slices.Contains(groups, fmt.Sprint(r.Inputs["referencedSecurityGroupId"]))
	}) {
		d.fail("%s: the %s group sends no %d to the aurora group", rn.key(), rn.net.group, p.Port)
	}
}

// egress reports whether an egress rule of the network's groups covering
// port matches.
func (d *depStack) egress(net taskNet, port int, match func(*offline.Resource) bool) bool {
	return slices.ContainsFunc(net.sgs, func(g string) bool {
		return d.rule("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", g, port, match)
	})
}

// rule reports whether a rule of typ on group covers TCP port and matches.
func (d *depStack) rule(typ, group string, port int, match func(*offline.Resource) bool) bool {
	for _, r := range d.rec.ByType(typ) {
		if r.Inputs["securityGroupId"] != group || !match(r) {
			continue
		}
		if r.Inputs["ipProtocol"] == "-1" {
			return true
		}
		from, _ := r.Inputs["fromPort"].(float64)
		to, _ := r.Inputs["toPort"].(float64)
		if r.Inputs["ipProtocol"] == "tcp" && from <= float64(port) && float64(port) <= to {
			return true
		}
	}
	return false
}

// endpointPolicy checks that the endpoint's policy allows the path's
// actions. An endpoint without a policy has AWS's default, full access.
func (d *depStack) endpointPolicy(row dependencies.Row, p dependencies.Path, e *offline.Resource) {
	raw, _ := e.Inputs["policy"].(string)
	if raw == "" {
		return
	}
	var doc policyDoc
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		d.fail("%s: endpoint %s: policy is not JSON: %v", row.Key, p.Service, err)
		return
	}
	actions := p.EndpointActions
	if len(actions) == 0 {
		for _, g := range row.Grants {
			for _, a := range g.Actions {
				if strings.HasPrefix(a, p.EndpointPrefix()+":") {
					actions = append(actions, a)
				}
			}
		}
	}
	if len(actions) == 0 {
		d.fail("%s: endpoint %s: no action of the row goes through it", row.Key, p.Service)
	}
	for _, a := range actions {
		if !allows(doc, a, "*", nil) {
			d.fail("%s: endpoint %s: its policy does not allow %s", row.Key, p.Service, a)
		}
	}
}

// grant checks that the role's recorded inline policies allow every action
// on every resource with the conditions, and that the role is the one the
// caller runs with.
func (d *depStack) grant(row dependencies.Row, g dependencies.Grant) {
	name := d.scope.Names.Name(g.Role)
	roleArn := arn.In(d.scope.Region, acct).Role(name)
	switch g.Role.Type {
	case naming.TaskRole.Type, naming.TaskExecutionRole.Type, naming.MigrateExecutionRole.Type:
		field, def := "executionRoleArn", "app"
		switch g.Role.Type {
		case naming.TaskRole.Type:
			field = "taskRoleArn"
		case naming.MigrateExecutionRole.Type:
			def = "migrate"
		}
		td, err := d.rec.One("aws:ecs/taskDefinition:TaskDefinition", def)
		if err != nil || td.Inputs[field] != roleArn {
			d.fail("%s: the %s task definition's %s is not %s", row.Key, def, field, roleArn)
		}
	case naming.KeySyncRole.Type:
		sm := d.scope.Names.Name(naming.KeySyncSM)
		if !slices.ContainsFunc(d.rec.ByType("aws:sfn/stateMachine:StateMachine"), func(r *offline.Resource) bool {
			return r.Inputs["name"] == sm && r.Inputs["roleArn"] == roleArn
		}) {
			d.fail("%s: no state machine %s runs as %s", row.Key, sm, name)
		}
	default:
		d.fail("%s: the check knows no caller of role %s", row.Key, name)
	}
	var docs []policyDoc
	for _, r := range d.rec.ByType("aws:iam/rolePolicy:RolePolicy") {
		if r.Inputs["role"] != name {
			continue
		}
		var doc policyDoc
		if err := json.Unmarshal([]byte(fmt.Sprint(r.Inputs["policy"])), &doc); err != nil {
			d.fail("%s: %s policy %s is not JSON: %v", row.Key, name, r.Name, err)
			continue
		}
		docs = append(docs, doc)
	}
	var conds map[string][]string
	if g.Conditions != nil {
		conds = g.Conditions(d.scope)
	}
	for _, a := range g.Actions {
		for _, res := range g.Resources(d.scope) {
			if !slices.ContainsFunc(docs, func(doc policyDoc) bool { return allows(doc, a, res, conds) }) {
				with := ""
				if len(conds) > 0 {
					with = fmt.Sprintf(" with conditions naming %v", conds)
				}
				d.fail("%s: %s does not allow %s on %s%s", row.Key, name, a, res, with)
			}
		}
	}
}

// allows reports whether doc allows action on resource in a statement
// whose conditions name every wanted value, and no Deny matches both.
func allows(doc policyDoc, action, res string, want map[string][]string) bool {
	matches := func(s policyStatement) bool {
		return slices.ContainsFunc(s.Action, func(p string) bool { return glob(strings.ToLower(p), strings.ToLower(action)) }) &&
			slices.ContainsFunc(s.Resource, func(p string) bool { return glob(p, res) })
	}
	ok := false
	for _, s := range doc.Statement {
		if !matches(s) {
			continue
		}
		if s.Effect == "Deny" {
			return false
		}
		if s.Effect == "Allow" && conditionsName(s, want) {
			ok = true
		}
	}
	return ok
}

// conditionsName reports whether the statement's conditions (any
// operator) hold every wanted value of every wanted key.
func conditionsName(s policyStatement, want map[string][]string) bool {
	for key, values := range want {
		var have []string
		for _, kv := range s.Condition {
			have = append(have, strs(kv[key])...)
		}
		for _, v := range values {
			if !slices.Contains(have, v) {
				return false
			}
		}
	}
	return true
}

// alarms checks the row's alarms against the recorded metric alarms and
// the customer-impact composite (the only alarm that pages).
func (d *depStack) alarms(row dependencies.Row) {
	if len(row.Alarms) == 0 && row.Unwatched == "" {
		d.fail("%s: no alarm and no reason (Unwatched)", row.Key)
	}
	composite := d.scope.Names.Name(naming.CompositeAlarm)
	var rule string
	for _, c := range d.rec.ByType("aws:cloudwatch/compositeAlarm:CompositeAlarm") {
		if c.Inputs["alarmName"] == composite {
			rule = fmt.Sprint(c.Inputs["alarmRule"])
		}
	}
	if rule == "" {
		d.fail("%s: no composite alarm %s", row.Key, composite)
	}
	for _, a := range row.Alarms {
		name := d.scope.Names.Member(naming.Alarm, a.Key)
		if !slices.ContainsFunc(d.rec.ByType("aws:cloudwatch/metricAlarm:MetricAlarm"), func(r *offline.Resource) bool { return r.Inputs["name"] == name }) {
			d.fail("%s: no metric alarm %s", row.Key, name)
			continue
		}
		if member := strings.Contains(rule, `ALARM("`+name+`")`); member != a.Pages {
			d.fail("%s: %s pages %v, but the composite %s names it: %v", row.Key, name, a.Pages, composite, member)
		}
	}
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

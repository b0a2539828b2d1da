package tests

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/proof/offline"
	"github.com/trading-ha/trading-ha/proof/policy"
)

// wantInterfaceEndpoints are the interface endpoints of closed egress, by
// service (infra/network/endpoints.go says who calls each).
var wantInterfaceEndpoints = []string{"ecr.api", "ecr.dkr", "events", "kms", "logs", "secretsmanager", "ssm", "sts"}

// interfaceEndpoints returns the recording's interface endpoints by
// service (the last part of the service name).
func interfaceEndpoints(rec *offline.Recording) map[string]*offline.Resource {
	out := map[string]*offline.Resource{}
	for _, e := range rec.ByType("aws:ec2/vpcEndpoint:VpcEndpoint") {
		if e.Inputs["vpcEndpointType"] == "Interface" {
			out[strings.TrimPrefix(e.Inputs["serviceName"].(string), "com.amazonaws.us-east-1.")] = e
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestClosedEgress: prod reaches AWS only through endpoints (interface
// endpoints in the three private subnets with private DNS, the endpoint
// group, account-scoped policies, no NAT gateways, no internet egress from
// the tasks); dev keeps NAT and builds no interface endpoint.
func TestClosedEgress(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		eps := interfaceEndpoints(rec)
		vpc := one(t, rec, "awsx:ec2:Vpc", "vpc")
		if stack == "dev" {
			if len(eps) != 0 {
				t.Errorf("dev (privateEgress nat) has interface endpoints %v", sortedKeys(eps))
			}
			// alb, tasks, db and the migrate task's group; no endpoint group
			if len(rec.ByType("aws:ec2/securityGroup:SecurityGroup")) != 4 {
				t.Errorf("dev has an endpoint security group")
			}
			eq(t, vpc, "natGateways.strategy", "OnePerAz")
			return
		}
		if got := sortedKeys(eps); !slices.Equal(got, wantInterfaceEndpoints) {
			t.Fatalf("interface endpoints %v, want %v", got, wantInterfaceEndpoints)
		}
		eq(t, vpc, "natGateways.strategy", "None")
		eq(t, vpc, "enableDnsHostnames", true)
		eq(t, vpc, "enableDnsSupport", true)
		group := one(t, rec, "aws:ec2/securityGroup:SecurityGroup", "sg-endpoints")
		eq(t, group, "namePrefix", "secgroup-endpoints-prod-")
		for svc, e := range eps {
			if e.Inputs["privateDnsEnabled"] != true {
				t.Errorf("%s: private DNS off", svc)
			}
			if sgs, _ := e.Inputs["securityGroupIds"].([]any); len(sgs) != 1 || sgs[0] != group.ID {
				t.Errorf("%s: security groups %v, want only the endpoint group", svc, sgs)
			}
			subnets, _ := e.Inputs["subnetIds"].([]any)
			if len(subnets) != 3 {
				t.Errorf("%s: %d subnets, want one per AZ (3)", svc, len(subnets))
			}
			var doc struct {
				Statement []struct {
					Effect    string
					Principal map[string]any
					Condition map[string]map[string]any
				}
			}
			if err := json.Unmarshal([]byte(e.Inputs["policy"].(string)), &doc); err != nil {
				t.Fatalf("%s policy: %v", svc, err)
			}
			for _, st := range doc.Statement {
				if st.Effect == "Allow" && st.Condition["StringEquals"]["aws:PrincipalAccount"] != acct {
					t.Errorf("%s: an Allow not scoped to aws:PrincipalAccount %s: %+v", svc, acct, st)
				}
			}
		}
		// The endpoint group admits HTTPS from the tasks group and the
		// migrate task's group only and sends nothing.
		tasks, migrate := sgID(t, rec, "sg-tasks"), sgID(t, rec, "sg-migrate")
		for _, r := range rec.ByType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
			from := r.Inputs["referencedSecurityGroupId"]
			if r.Inputs["securityGroupId"] == group.ID && ((from != tasks && from != migrate) || r.Inputs["fromPort"] != float64(443) || r.Inputs["toPort"] != float64(443)) {
				t.Errorf("endpoint group ingress %s: %v", r.Name, r.Inputs)
			}
		}
		for _, r := range rec.ByType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") {
			if r.Inputs["securityGroupId"] == group.ID {
				t.Errorf("endpoint group has egress rule %s", r.Name)
			}
			c, _ := r.Inputs["cidrIpv4"].(string)
			c6, _ := r.Inputs["cidrIpv6"].(string)
			if (r.Inputs["securityGroupId"] == tasks || r.Inputs["securityGroupId"] == migrate) && (c != "" || c6 != "") {
				t.Errorf("egress rule %s to %s%s: closed egress allows only groups and prefix lists", r.Name, c, c6)
			}
		}
	})
}

// TestClosedEgressConfig: the mode is a config key: nat on prod brings back
// NAT and the 0.0.0.0/0 rule; endpoints on dev builds the endpoints, and
// ECS Exec adds the ssmmessages endpoint.
func TestClosedEgressConfig(t *testing.T) {
	rec, err := recordWith(t, "prod", map[string]string{"trading-ha:privateEgress": "nat"})
	if err != nil {
		t.Fatal(err)
	}
	if eps := interfaceEndpoints(rec); len(eps) != 0 {
		t.Errorf("privateEgress nat still builds %v", sortedKeys(eps))
	}
	one(t, rec, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "tasks-out-https")
	eq(t, one(t, rec, "awsx:ec2:Vpc", "vpc"), "natGateways.strategy", "OnePerAz")

	rec, err = recordWith(t, "dev", map[string]string{"trading-ha:privateEgress": "endpoints", "trading-ha:enableExecuteCommand": "true"})
	if err != nil {
		t.Fatal(err)
	}
	want := append([]string{"ssmmessages"}, wantInterfaceEndpoints...)
	sort.Strings(want)
	if got := sortedKeys(interfaceEndpoints(rec)); !slices.Equal(got, want) {
		t.Errorf("dev endpoints with ECS Exec: %v, want %v", got, want)
	}
	if _, err := rec.One("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "tasks-out-https"); err == nil {
		t.Error("closed egress keeps the 0.0.0.0/0 rule")
	}

	rejects(t, "prod", map[string]string{"trading-ha:privateEgress": "open"},
		[]string{"trading-ha:privateEgress", `"open"`, "nat, endpoints"})
	rejects(t, "prod", map[string]string{"trading-ha:appImage": "docker.io/library/nginx:1.27"},
		[]string{"trading-ha:appImage", "privateEgress is endpoints"})
}

// TestClosedEgressPolicy: TH-NET-1 is active in prod (interface endpoints
// exist) and green; the same recording with an internet egress rule added
// turns it red. In dev it is inactive.
func TestClosedEgressPolicy(t *testing.T) {
	rule := policyRule(t, "TH-NET-1")
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		if got := rule.Check(rec.Policy()); len(got) != 0 {
			t.Fatalf("TH-NET-1 findings in %s: %v", stack, got)
		}
		if stack != "prod" {
			return
		}
		bad := &offline.Recording{Stack: rec.Stack, Config: rec.Config, Resources: append(slices.Clone(rec.Resources),
			res("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "tasks-out-https", map[string]any{"cidrIpv4": "0.0.0.0/0"}))}
		if got := rule.Check(bad.Policy()); len(got) != 1 {
			t.Errorf("TH-NET-1 on prod with an internet egress rule: %v, want one finding", got)
		}
	})
}

func policyRule(t *testing.T, id string) policy.Rule {
	t.Helper()
	for _, r := range policy.Rules {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no policy rule %s", id)
	return policy.Rule{}
}

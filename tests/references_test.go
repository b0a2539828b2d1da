package tests

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/proof/offline"
)

// A reference is one resource naming another (by name, ARN or ID) in an
// input AWS resolves when it creates the resource: the engine must create
// the named resource first and delete it last.
type reference struct {
	from, to *offline.Resource
	path     string
}

func (r reference) String() string {
	return fmt.Sprintf("%s %s names %s %s at %s", r.from.Type, r.from.Name, r.to.Type, r.to.Name, r.path)
}

// nameReferenced are the types AWS APIs take by physical name (the input
// that holds it): an alarm rule names alarms, a role policy its role, an ALB
// its log bucket, an alarm dimension... Exact matches only.
var nameReferenced = map[string]string{
	"aws:cloudwatch/metricAlarm:MetricAlarm":       "name",
	"aws:cloudwatch/compositeAlarm:CompositeAlarm": "alarmName",
	"aws:cloudwatch/logGroup:LogGroup":             "name",
	"aws:s3/bucketV2:BucketV2":                     "bucket",
	"aws:iam/role:Role":                            "name",
	"aws:ecs/cluster:Cluster":                      "name",
	"aws:dynamodb/table:Table":                     "name",
	"aws:synthetics/canary:Canary":                 "name",
	"aws:backup/vault:Vault":                       "name",
	"aws:cloudwatch/eventBus:EventBus":             "name",
	"aws:rds/cluster:Cluster":                      "clusterIdentifier",
	"aws:rds/clusterInstance:ClusterInstance":      "identifier",
	"aws:rds/subnetGroup:SubnetGroup":              "name",
	"aws:ssm/parameter:Parameter":                  "name",
	"aws:ecr/repository:Repository":                "name",
	"aws:sqs/queue:Queue":                          "name",
}

// idReferenced are the types other resources name by their ID.
var idReferenced = map[string]bool{
	"aws:ec2/securityGroup:SecurityGroup": true, "aws:route53/zone:Zone": true,
	"aws:route53/healthCheck:HealthCheck": true, "aws:acm/certificate:Certificate": true,
	"aws:ec2/vpcEndpoint:VpcEndpoint": true, "aws:kms/key:Key": true,
}

// unresolved are inputs AWS stores without looking the named resource up
// at create time: metric dimensions, dashboards, ASL task parameters
// (resolved when an execution runs), parameter values, descriptions, tags.
// Inside IAM documents only principals are resolved (a policy naming a
// missing principal fails with "Invalid principal"); Resource and
// Condition elements are matched at request time. An EventBridge event
// pattern is a filter matched against each event (EventBridge User Guide,
// "Event patterns"); PutRule does not look its values up, so a rule may
// exist before the resources whose events it matches (and then misses none
// of their first events).
var unresolved = map[string]bool{
	"tags": true, "tagsAll": true, "description": true, "alarmDescription": true,
	"dimensions": true, "dashboardBody": true, "definition": true, "value": true, "insecureValue": true,
	"comment": true, "eventPattern": true,
}

var ruleAlarm = regexp.MustCompile(`(?:ALARM|OK|INSUFFICIENT_DATA)\("([^"]+)"\)`)

// references finds every create-time reference in a recording.
func references(rec *offline.Recording) []reference {
	byIdent := map[string][]*offline.Resource{}
	for _, r := range rec.Resources {
		if !r.Custom {
			continue
		}
		// An arn input (event target, topic policy) names another resource.
		if _, isInput := r.Inputs["arn"]; isInput {
			continue
		}
		if arn, ok := r.Outputs["arn"].(string); ok && arn != "" {
			byIdent[arn] = append(byIdent[arn], r)
			if r.Type == "aws:cloudwatch/logGroup:LogGroup" {
				byIdent[arn+":*"] = append(byIdent[arn+":*"], r)
			}
		}
		if k, ok := nameReferenced[r.Type]; ok {
			if n, ok := r.Outputs[k].(string); ok && n != "" {
				byIdent[n] = append(byIdent[n], r)
			}
		}
		if idReferenced[r.Type] && r.ID != "" {
			byIdent[r.ID] = append(byIdent[r.ID], r)
		}
	}
	var refs []reference
	for _, r := range rec.Resources {
		if !r.Custom {
			continue
		}
		var walk func(path string, v any, inPolicy bool)
		note := func(path, s string) {
			for _, to := range byIdent[s] {
				if to != r {
					refs = append(refs, reference{from: r, to: to, path: path})
				}
			}
		}
		walk = func(path string, v any, inPolicy bool) {
			switch x := v.(type) {
			case map[string]any:
				if st, ok := x["Statement"]; ok && !inPolicy {
					// An IAM document: only principals are resolved.
					stmts, _ := st.([]any)
					for i, s := range stmts {
						m, _ := s.(map[string]any)
						for _, k := range []string{"Principal", "NotPrincipal"} {
							if p, ok := m[k]; ok {
								walk(fmt.Sprintf("%s.Statement.%d.%s", path, i, k), p, true)
							}
						}
					}
					return
				}
				for k, e := range x {
					// Top-level unresolved inputs, and metric dimensions at
					// any depth (metric math queries carry their own).
					if (path == "" && unresolved[k]) || k == "dimensions" {
						continue
					}
					walk(join(path, k), e, inPolicy)
				}
			case []any:
				for i, e := range x {
					walk(fmt.Sprintf("%s.%d", path, i), e, inPolicy)
				}
			case string:
				note(path, x)
				for _, m := range ruleAlarm.FindAllStringSubmatch(x, -1) {
					note(path+"("+m[1]+")", m[1])
				}
				if t := strings.TrimSpace(x); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
					var doc any
					if json.Unmarshal([]byte(t), &doc) == nil {
						walk(path+"(json)", doc, inPolicy)
					}
				}
			}
		}
		for k, v := range r.Inputs {
			if unresolved[k] {
				continue
			}
			// A resource's own name is not a reference to its namesake.
			if k == nameReferenced[r.Type] {
				continue
			}
			walk(k, v, false)
		}
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].String() < refs[j].String() })
	return refs
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// TestReferencesAreOrdered: every resource that names another in an input
// AWS resolves at create time depends on it (directly, via DependsOn, or
// through an input or parent the engine follows).
func TestReferencesAreOrdered(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		refs := references(rec)
		if len(refs) == 0 {
			t.Fatal("no references found: the scan is broken")
		}
		for _, ref := range refs {
			if !rec.After(ref.from, ref.to) {
				t.Errorf("%s, but does not depend on it", ref)
			}
		}
	})
}

// waits asserts r is ordered after every dep, naming why.
func waits(t *testing.T, rec *offline.Recording, r *offline.Resource, deps []*offline.Resource, why string) {
	t.Helper()
	if len(deps) == 0 {
		t.Fatalf("%s %s: nothing to wait for (%s)", r.Type, r.Name, why)
	}
	for _, d := range deps {
		if !rec.After(r, d) {
			t.Errorf("%s %s does not depend on %s %s: %s", r.Type, r.Name, d.Type, d.Name, why)
		}
	}
}

// TestCompositeAlarmDependsOnMembers: PutCompositeAlarm rejects a rule
// naming an alarm that does not exist, and destroy must delete the
// composite before its members.
func TestCompositeAlarmDependsOnMembers(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		for _, c := range rec.ByType("aws:cloudwatch/compositeAlarm:CompositeAlarm") {
			var members []*offline.Resource
			rule, _ := c.Input("alarmRule").(string)
			for _, m := range ruleAlarm.FindAllStringSubmatch(rule, -1) {
				found := false
				for _, a := range rec.ByType("aws:cloudwatch/metricAlarm:MetricAlarm") {
					if a.Input("name") == m[1] {
						members, found = append(members, a), true
					}
				}
				if !found {
					t.Errorf("composite %s names alarm %q, which the stack does not create", c.Name, m[1])
				}
			}
			waits(t, rec, c, members, "CloudWatch resolves the alarm rule's names at PutCompositeAlarm")
		}
	})
}

// bucketOf finds the bucket resource a bucket-name input names.
func bucketOf(rec *offline.Recording, name any) *offline.Resource {
	for _, b := range rec.ByType("aws:s3/bucketV2:BucketV2") {
		if b.Outputs["bucket"] == name || b.ID == name {
			return b
		}
	}
	return nil
}

// subresources are a bucket's configuration resources of one type.
func subresources(rec *offline.Recording, typ string, bucket *offline.Resource) []*offline.Resource {
	var out []*offline.Resource
	for _, r := range rec.ByType(typ) {
		if bucket != nil && (r.Input("bucket") == bucket.ID || r.Input("bucket") == bucket.Outputs["bucket"]) {
			out = append(out, r)
		}
	}
	return out
}

// TestALBAccessLogsWaitForBucketPolicy: enabling access logs makes ELB
// write a test object; without the bucket policy granting the ELB account
// it fails with "Access Denied for bucket".
func TestALBAccessLogsWaitForBucketPolicy(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		for _, lb := range rec.ByType("aws:lb/loadBalancer:LoadBalancer") {
			if lb.Input("accessLogs.enabled") != true {
				continue
			}
			b := bucketOf(rec, lb.Input("accessLogs.bucket"))
			if b == nil {
				t.Fatalf("ALB %s logs to %v, which the stack does not create", lb.Name, lb.Input("accessLogs.bucket"))
			}
			waits(t, rec, lb, subresources(rec, "aws:s3/bucketPolicy:BucketPolicy", b), "ELB checks it can write to the access log bucket")
		}
	})
}

// TestBucketPolicyWaitsForBucketControls: S3 answers OperationAborted ("A
// conflicting conditional operation is currently in progress") when a
// bucket policy is put while the same bucket's public access block or
// ownership controls are being set (hashicorp/terraform-provider-aws#7628).
func TestBucketPolicyWaitsForBucketControls(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		for _, p := range rec.ByType("aws:s3/bucketPolicy:BucketPolicy") {
			b := bucketOf(rec, p.Input("bucket"))
			var deps []*offline.Resource
			deps = append(deps, subresources(rec, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", b)...)
			deps = append(deps, subresources(rec, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", b)...)
			waits(t, rec, p, deps, "concurrent bucket configuration calls abort")
		}
	})
}

// TestCanaryWaitsForRolePolicies: the canary starts on creation
// (startCanary) and its first run writes artifacts and logs with its
// role's permissions; the role's inline policies and attachments must be in
// place first, and destroy must stop the canary before revoking them.
func TestCanaryWaitsForRolePolicies(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		for _, c := range rec.ByType("aws:synthetics/canary:Canary") {
			var role *offline.Resource
			for _, r := range rec.ByType("aws:iam/role:Role") {
				if r.Outputs["arn"] == c.Input("executionRoleArn") {
					role = r
				}
			}
			if role == nil {
				t.Fatalf("canary %s: execution role %v not in the stack", c.Name, c.Input("executionRoleArn"))
			}
			var deps []*offline.Resource
			for _, typ := range []string{"aws:iam/rolePolicy:RolePolicy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment"} {
				for _, p := range rec.ByType(typ) {
					if p.Input("role") == role.Outputs["name"] {
						deps = append(deps, p)
					}
				}
			}
			waits(t, rec, c, deps, "the canary runs with its role's policies from its first run")
		}
	})
}

// TestCanaryPolicyNamed: the canary role's inline policy carries the
// environment suffix like every other name (naming.CanaryPolicy).
func TestCanaryPolicyNamed(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		p := one(t, rec, "aws:iam/rolePolicy:RolePolicy", "canary-policy")
		eq(t, p, "name", "policy-canary-"+stack)
	})
}

package tests

import (
	"fmt"
	"slices"
	"sort"
	"testing"

	"github.com/trading-ha/trading-ha/proof/offline"
)

// trustSourceArn says, per service principal, what aws:SourceArn its role
// trust must carry, from the service's own documentation of confused-deputy
// protection in a role trust policy, and how the test derives the value
// from the recording (the role, the stack's recording, the stack's region
// and account prefix arn:aws:<service>:us-east-1:<acct>:).
var trustSourceArn = map[string]struct {
	source string
	want   func(t *testing.T, rec *offline.Recording, role *offline.Resource) []string
}{
	// Step Functions Developer Guide, "Creating an IAM role for your state
	// machine", Prevent cross-service confused deputy issue: aws:SourceArn
	// the state machine.
	"states.amazonaws.com": {"Step Functions Developer Guide", func(t *testing.T, rec *offline.Recording, role *offline.Resource) []string {
		var out []string
		for _, sm := range rec.ByType("aws:sfn/stateMachine:StateMachine") {
			if sm.Inputs["roleArn"] == out1(t, role) {
				out = append(out, "arn:aws:states:us-east-1:"+acct+":stateMachine:"+fmt.Sprint(sm.Inputs["name"]))
			}
		}
		return out
	}},
	// EventBridge Scheduler User Guide, "Confused deputy prevention":
	// aws:SourceArn the schedule group of the schedules using the role.
	"scheduler.amazonaws.com": {"EventBridge Scheduler User Guide", func(t *testing.T, rec *offline.Recording, role *offline.Resource) []string {
		var out []string
		for _, s := range rec.ByType("aws:scheduler/schedule:Schedule") {
			if offline.Lookup(s.Inputs, "target.roleArn") == out1(t, role) {
				group, _ := s.Inputs["groupName"].(string)
				if group == "" {
					group = "default"
				}
				out = append(out, "arn:aws:scheduler:us-east-1:"+acct+":schedule-group/"+group)
			}
		}
		return out
	}},
	// Amazon EventBridge User Guide, "Cross-service confused deputy
	// prevention": for event bus rule targets, aws:SourceArn is the rule.
	"events.amazonaws.com": {"Amazon EventBridge User Guide", func(t *testing.T, rec *offline.Recording, role *offline.Resource) []string {
		var out []string
		for _, tg := range rec.ByType("aws:cloudwatch/eventTarget:EventTarget") {
			if tg.Inputs["roleArn"] == out1(t, role) {
				bus, rule := fmt.Sprint(tg.Inputs["eventBusName"]), fmt.Sprint(tg.Inputs["rule"])
				arn := "arn:aws:events:us-east-1:" + acct + ":rule/" + rule
				if bus != "default" {
					arn = "arn:aws:events:us-east-1:" + acct + ":rule/" + bus + "/" + rule
				}
				if !slices.Contains(out, arn) {
					out = append(out, arn)
				}
			}
		}
		return out
	}},
	// Amazon VPC User Guide, "IAM role for publishing flow logs to
	// CloudWatch Logs": aws:SourceArn the flow log, its ID a wildcard until
	// it exists.
	"vpc-flow-logs.amazonaws.com": {"Amazon VPC User Guide", fixed("arn:aws:ec2:us-east-1:" + acct + ":vpc-flow-log/*")},
	// AWS FIS User Guide, "IAM roles for AWS FIS experiments": aws:SourceArn
	// the experiments of the account.
	"fis.amazonaws.com": {"AWS FIS User Guide", fixed("arn:aws:fis:us-east-1:" + acct + ":experiment/*")},
	// Amazon RDS User Guide, "Setting up and enabling Enhanced Monitoring",
	// Protecting against the confused deputy problem: aws:SourceArn the DB
	// instance; every instance of the account, so readers Aurora Auto
	// Scaling adds (named by the service) are covered.
	"monitoring.rds.amazonaws.com": {"Amazon RDS User Guide", fixed("arn:aws:rds:us-east-1:" + acct + ":db:*")},
	// Amazon ECS Developer Guide, "Amazon ECS task IAM role": aws:SourceArn
	// arn:aws:ecs:<region>:<account>:* (infra/service/iam.go).
	"ecs-tasks.amazonaws.com": {"Amazon ECS Developer Guide", fixed("arn:aws:ecs:us-east-1:" + acct + ":*")},
}

// trustSourceAccountOnly are the service principals whose documentation
// gives no aws:SourceArn for a role trust policy: the role carries
// aws:SourceAccount alone.
var trustSourceAccountOnly = map[string]string{
	// CloudWatch Synthetics' canary role trust (CloudWatch User Guide,
	// "Required roles and permissions for canaries") names the principal
	// only; the Lambda Developer Guide keeps aws:SourceArn for policies on
	// the function itself.
	"lambda.amazonaws.com": "no aws:SourceArn for execution roles",
	// AWS Backup's confused-deputy page covers its SNS and KMS resource
	// policies, not the backup role.
	"backup.amazonaws.com": "no aws:SourceArn for the backup role",
	// CloudTrail's confused-deputy page covers the bucket, key and topic
	// policies, not the CloudWatch Logs delivery role.
	"cloudtrail.amazonaws.com": "no aws:SourceArn for the CloudWatch Logs role",
}

func fixed(arn string) func(*testing.T, *offline.Recording, *offline.Resource) []string {
	return func(*testing.T, *offline.Recording, *offline.Resource) []string { return []string{arn} }
}

// out1 is a role's ARN output.
func out1(t *testing.T, role *offline.Resource) string { return out(t, role, "arn") }

// conditionValues returns the values a statement's condition holds for
// key under any of the operators, and the operators it found it under.
func conditionValues(s policyStatement, key string, ops ...string) ([]string, []string) {
	var vals, found []string
	for _, op := range ops {
		v, ok := s.Condition[op][key]
		if !ok {
			continue
		}
		found = append(found, op)
		switch x := v.(type) {
		case string:
			vals = append(vals, x)
		case []any:
			for _, e := range x {
				vals = append(vals, fmt.Sprint(e))
			}
		}
	}
	return vals, found
}

// TestServiceTrustsNameTheirSource: every role a service assumes, in both
// stacks, trusts that service only on behalf of our account
// (aws:SourceAccount) and, where the service documents it, only for the
// resource that uses the role (aws:SourceArn): the confused-deputy guard
// of IAM User Guide, "The confused deputy problem".
func TestServiceTrustsNameTheirSource(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		services := 0
		for _, role := range rec.ByType("aws:iam/role:Role") {
			name := fmt.Sprint(role.Inputs["name"])
			var doc policyDoc
			jsonInput(t, role, "assumeRolePolicy", &doc)
			for _, s := range doc.Statement {
				principals := []string{}
				switch p := s.Principal["Service"].(type) {
				case string:
					principals = append(principals, p)
				case []any:
					for _, e := range p {
						principals = append(principals, fmt.Sprint(e))
					}
				case nil:
					continue
				}
				services++
				accounts, _ := conditionValues(s, "aws:SourceAccount", "StringEquals")
				if !slices.Equal(accounts, []string{acct}) {
					t.Errorf("role %s trusts %v without aws:SourceAccount %s (StringEquals): %v", name, principals, acct, s.Condition)
				}
				for _, svc := range principals {
					rule, wantsArn := trustSourceArn[svc]
					_, accountOnly := trustSourceAccountOnly[svc]
					switch {
					case !wantsArn && !accountOnly:
						t.Errorf("role %s trusts %s, which neither table knows: add it with its AWS source", name, svc)
						continue
					case accountOnly:
						continue
					}
					got, ops := conditionValues(s, "aws:SourceArn", "ArnLike", "ArnEquals", "StringEquals", "StringLike")
					want := rule.want(t, rec, role)
					sort.Strings(got)
					sort.Strings(want)
					if len(want) == 0 {
						t.Errorf("role %s (%s): no resource in the recording uses it", name, svc)
					}
					if !slices.Equal(got, want) {
						t.Errorf("role %s trusts %s for aws:SourceArn %v (%v), want %v (%s)", name, svc, got, ops, want, rule.source)
					}
				}
			}
		}
		if services == 0 {
			t.Fatal("no service trust found")
		}
	})
}

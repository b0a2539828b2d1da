package tests

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	awsarn "github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/runbooks"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// policyKnownAtPreviewMin is the share of policy documents that must be
// plain strings at the first preview of a new stack, so that a reviewer
// reads what will be applied rather than "output<string>".
const policyKnownAtPreviewMin = 0.90

// knownAtPreviewMin guards every reviewed document (policies, container
// definitions, dashboard bodies, event patterns) at the measured figure.
const knownAtPreviewMin = 0.90 // measured figures: docs/architecture.md, known at preview (held by TestDocFacts)

// recordPreview runs a stack as its first `pulumi preview` (every output
// unknown, proof/offline RunPreview) once per test binary.
func recordPreview(t *testing.T, stack string) *offline.Recording {
	t.Helper()
	return cached(t, "stack "+stack+" at first preview", func() (*offline.Recording, error) { return offline.RunPreview("..", stack, nil) })
}

// reviewedInput is one document a reviewer reads in a preview: where it
// sits (type, logical name, input path).
type reviewedInput struct {
	typ, name, path string
}

func (d reviewedInput) String() string { return d.typ + " " + d.name + " " + d.path }

// reviewedDocs are the documents the known-at-preview figure counts, taken
// from the resolved recording so the list cannot miss one: every IAM
// document (role trust and inline policies, managed policies, bucket,
// topic, queue, key, bus, endpoint, vault and log resource policies — any
// input holding a JSON "Statement"), every ECS container definition list,
// every dashboard body and every EventBridge rule's event pattern. State
// machine definitions are held apart: all of them must be known.
func reviewedDocs(rec *offline.Recording) []reviewedInput {
	seen := map[reviewedInput]bool{}
	var out []reviewedInput
	add := func(d reviewedInput) {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	for _, p := range policyDocs(rec) {
		add(reviewedInput{p.res.Type, p.res.Name, p.path})
	}
	for _, r := range rec.ByType("aws:ecs/taskDefinition:TaskDefinition") {
		add(reviewedInput{r.Type, r.Name, "containerDefinitions"})
	}
	for _, r := range rec.ByType("aws:cloudwatch/dashboard:Dashboard") {
		add(reviewedInput{r.Type, r.Name, "dashboardBody"})
	}
	for _, r := range rec.ByType("aws:cloudwatch/eventRule:EventRule") {
		if r.Input("eventPattern") != nil {
			add(reviewedInput{r.Type, r.Name, "eventPattern"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// unknownAtPreview returns, of docs, those the preview recording registered
// unknown (or did not register at all).
func unknownAtPreview(prev *offline.Recording, docs []reviewedInput) []string {
	var unknown []string
	for _, d := range docs {
		r, err := prev.One(d.typ, d.name)
		if err != nil {
			unknown = append(unknown, d.String()+" (not registered at preview)")
			continue
		}
		if r.IsUnknown(d.path) {
			unknown = append(unknown, d.String())
		}
	}
	return unknown
}

// TestDocumentsKnownAtFirstPreview: on the first preview of a new stack,
// at least 90% of the documents a reviewer must read are plain strings,
// not [unknown]. The figure and the unknown ones are logged.
func TestDocumentsKnownAtFirstPreview(t *testing.T) {
	for _, stack := range Stacks {
		t.Run(stack, func(t *testing.T) {
			docs := reviewedDocs(record(t, stack))
			if len(docs) < 30 {
				t.Fatalf("only %d reviewed documents found; the list lost some", len(docs))
			}
			unknown := unknownAtPreview(recordPreview(t, stack), docs)
			known := len(docs) - len(unknown)
			share := float64(known) / float64(len(docs))
			t.Logf("%s: %d of %d documents known at first preview (%.0f%%)", stack, known, len(docs), 100*share)
			for _, u := range unknown {
				t.Logf("  unknown: %s", u)
				// Rule scopes are names and name-derived ARNs: every
				// event pattern is known.
				if strings.Contains(u, " eventPattern") {
					t.Errorf("event pattern unknown at first preview: %s", u)
				}
			}
			if share < knownAtPreviewMin {
				t.Errorf("%d of %d documents known at first preview (%.0f%%), want at least %.0f%%",
					known, len(docs), 100*share, 100*knownAtPreviewMin)
			}
			// The measure: policy documents (IAM and resource
			// policies: every input holding a Statement), at least 90%.
			var policies, unknownPolicies int
			for _, d := range docs {
				if d.path == "containerDefinitions" || d.path == "dashboardBody" || d.path == "eventPattern" {
					continue
				}
				policies++
				if slices.ContainsFunc(unknown, func(u string) bool { return u == d.String() || strings.HasPrefix(u, d.String()+" (") }) {
					unknownPolicies++
				}
			}
			pshare := float64(policies-unknownPolicies) / float64(policies)
			t.Logf("%s: %d of %d policy documents known at first preview (%.1f%%)", stack, policies-unknownPolicies, policies, 100*pshare)
			if pshare < policyKnownAtPreviewMin {
				t.Errorf("%d of %d policy documents known at first preview (%.1f%%), want at least %.0f%%",
					policies-unknownPolicies, policies, 100*pshare, 100*policyKnownAtPreviewMin)
			}
		})
	}
}

// TestStateMachinesKnownAtFirstPreview: every state machine definition is
// a plain string when it registers on a new stack, so the preview shows
// the ASL and its validation ran before anything registered.
func TestStateMachinesKnownAtFirstPreview(t *testing.T) {
	for _, stack := range Stacks {
		t.Run(stack, func(t *testing.T) {
			sms := recordPreview(t, stack).ByType("aws:sfn/stateMachine:StateMachine")
			if len(sms) == 0 {
				t.Fatal("no state machines registered at preview")
			}
			var unknown []string
			for _, sm := range sms {
				if sm.IsUnknown("definition") {
					unknown = append(unknown, fmt.Sprintf("%s (unknown: %s)", sm.Name, strings.Join(sm.Unknown, ", ")))
				}
			}
			t.Logf("%s: %d of %d state machine definitions known at first preview", stack, len(sms)-len(unknown), len(sms))
			if len(sms) != 7 {
				t.Errorf("%d state machines registered at preview, want 7", len(sms))
			}
			for _, sm := range sms {
				for _, path := range []string{"roleArn", "loggingConfiguration.logDestination"} {
					if sm.IsUnknown(path) {
						t.Errorf("%s: %s unknown at first preview; it is name-derived", sm.Name, path)
					}
				}
				if sm.IsUnknown("definition") {
					t.Errorf("definition unknown at first preview: %s (unknown: %s)", sm.Name, strings.Join(sm.Unknown, ", "))
				}
			}
		})
	}
}

// TestValidationErrorFailsFirstPreview: an error the program finds at
// program time is the Deploy error of a first preview, with nothing
// registered. The fixture is a config error (log retention CloudWatch Logs
// does not accept); TestBrokenRunbookFailsFirstPreview holds the runbooks'
// ASL and target validation to the same.
func TestValidationErrorFailsFirstPreview(t *testing.T) {
	rec, err := offline.RunPreview("..", "dev", map[string]string{"trading-ha:logRetentionDays": "45"})
	refused(t, rec, err, []string{"trading-ha:logRetentionDays"})
}

// runbookArgs are complete runbooks.Args for a stack with suffix, in the
// mocks' account, for tests that build the component alone.
func runbookArgs(suffix string) runbooks.Args {
	at := awsarn.In("us-east-1", acct)
	n := func(kind string) string { return kind + "-" + suffix }
	return runbooks.Args{
		Names: naming.New(suffix), At: at,
		Shared: config.Shared{LogRetentionDays: 30},
		Runbooks: config.Runbooks{
			BackupMaxAgeMinutes: 1560, FailoverTimeoutSeconds: 600, DeploymentTimeoutSeconds: 900, RestoreTimeoutSeconds: 3600,
			HealthCheckSchedule: "rate(5 minutes)", BackupVerifySchedule: "cron(0 6 * * ? *)",
		},
		TelemetryKeyArn: pulumi.String("arn:aws:kms:us-east-1:" + acct + ":key/telemetry"),
		TelemetryKey:    iamdoc.Key{Keys: at.Keys(), Alias: "alias/" + n("kms-telemetry")},
		DataKey:         iamdoc.Key{Keys: at.Keys(), Alias: "alias/" + n("kms-data")},
		TopicArn:        at.Topic(n("notify")), SchedulerDLQArn: pulumi.String(at.Queue(n("dlq"))), SchedulerDLQName: n("dlq"),
		ClusterIdentifier: n("aurora"), ClusterArn: at.DBCluster(n("aurora")),
		WriterInstanceIdentifier: n("aurora") + "-1", ReaderInstanceIdentifiers: []string{n("aurora") + "-2"},
		ECSClusterArn: at.ECSCluster(n("ecs")), ECSServiceName: n("svc"), ECSServiceArn: at.ECSService(n("ecs"), n("svc")),
		ECSTaskRoleArn: at.Role(n("task")), ECSExecutionRoleArn: at.Role(n("exec")),
		MigrateTaskFamily: n("task-migrate"), MigrateExecutionRoleArn: at.Role(n("migrate-exec")),
		MigrateNetworkParameter: "/trading/" + suffix + "/migrate/network",
		TargetGroupNames:        []string{n("tg")},
		TableName:               n("sessions"), TableArn: at.Table(n("sessions")), BackupVaultName: n("vault"),
		ProtectedResourceArns: []string{at.DBCluster(n("aurora")), at.Table(n("sessions")), at.Bucket(n("data"))},
		RestoreRoleArn:        at.Role(n("backup")),
		CanaryName:            n("canary"), AlarmNames: []string{n("alarm")},
		CustomerImpactAlarmNames: []string{n("alarm-canary")}, PageTopicArn: at.Topic(n("alarms")),
	}
}

// TestRunbooksTwiceHasNoDuplicateURN: the runbooks component's children
// (one state machine, log group, role and schedule set per runbook, made by
// statemachine.New) are named from the component, so a second instance
// registers its own URNs, and neither claims another through an alias.
func TestRunbooksTwiceHasNoDuplicateURN(t *testing.T) {
	rec, err := offline.RunProgram("dev", nil, func(ctx *pulumi.Context) error {
		for name, suffix := range map[string]string{"runbooks": "dev", "runbooks-b": "dev-b"} {
			if _, err := runbooks.New(ctx, name, runbookArgs(suffix)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("two runbooks components: %v", err)
	}
	machines := rec.ByType("aws:sfn/stateMachine:StateMachine")
	if len(machines) != 10 {
		t.Fatalf("%d state machines, want 5 per instance", len(machines))
	}
	for _, r := range rec.Resources {
		if r.Type == "trading:runbooks:Runbooks" {
			continue
		}
		if !strings.HasPrefix(r.Name, "runbooks-") {
			t.Errorf("%s is not named from its component", r.URN)
		}
		if len(r.Aliases) != 0 {
			t.Errorf("%s claims aliases %v, want none", r.URN, r.Aliases)
		}
	}
}

// TestBrokenRunbookFailsFirstPreview: a runbook whose targets are broken
// (no target group to check) fails the first preview at program time,
// before the runbooks component or any resource registers: the ASL and
// target validation no longer waits for an apply.
func TestBrokenRunbookFailsFirstPreview(t *testing.T) {
	program := func(ctx *pulumi.Context) error {
		args := runbookArgs("dev")
		args.TargetGroupNames = nil // the fixture: no target group
		_, err := runbooks.New(ctx, "runbooks", args)
		return err
	}
	rec, err := offline.RunProgramPreview("dev", nil, program)
	refused(t, rec, err, []string{"TargetGroupNames"})
}

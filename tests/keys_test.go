package tests

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/infra/audit"
	"github.com/trading-ha/trading-ha/infra/security"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// publishersOf lists, from the recording, the service principals that
// deliver into a resource encrypted with the key whose ARN is keyArn: alarm
// actions on an encrypted topic (CloudWatch), rule targets and rule DLQs on
// an encrypted topic or queue (EventBridge), vault notifications to an
// encrypted topic (AWS Backup). It is read off the resources, not a list.
func publishersOf(t *testing.T, rec *offline.Recording, keyArn string) map[string][]string {
	t.Helper()
	encrypted := map[string]string{} // ARN -> resource
	for _, typ := range []string{"aws:sns/topic:Topic", "aws:sqs/queue:Queue"} {
		for _, r := range rec.ByType(typ) {
			if r.Inputs["kmsMasterKeyId"] == keyArn {
				encrypted[out(t, r, "arn")] = r.Type + " " + r.Name
			}
		}
	}
	need := map[string][]string{}
	add := func(principal, arn, via string) {
		if res, ok := encrypted[arn]; ok {
			need[principal] = append(need[principal], via+" -> "+res)
		}
	}
	for _, typ := range []string{"aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/compositeAlarm:CompositeAlarm"} {
		for _, a := range rec.ByType(typ) {
			for _, k := range []string{"alarmActions", "okActions", "insufficientDataActions"} {
				xs, _ := a.Inputs[k].([]any)
				for _, x := range xs {
					add("cloudwatch.amazonaws.com", fmt.Sprint(x), a.Name)
				}
			}
		}
	}
	for _, tg := range rec.ByType("aws:cloudwatch/eventTarget:EventTarget") {
		add("events.amazonaws.com", fmt.Sprint(tg.Inputs["arn"]), tg.Name)
		if dlq := offline.Lookup(tg.Inputs, "deadLetterConfig.arn"); dlq != nil {
			add("events.amazonaws.com", fmt.Sprint(dlq), tg.Name+" (DLQ)")
		}
	}
	for _, n := range rec.ByType("aws:backup/vaultNotifications:VaultNotifications") {
		add("backup.amazonaws.com", fmt.Sprint(n.Inputs["snsTopicArn"]), n.Name)
	}
	return need
}

// deliveryFindings checks a key policy against the deliveries the
// recording needs: every publishing service has a statement of its own
// with the KMS actions its documentation lists and no condition (none of
// these services documents one for this use; security.Deliveries cites
// each source), and no service statement exists that nothing needs.
func deliveryFindings(need map[string][]string, doc policyDoc) []string {
	var findings []string
	documented := map[string]security.Delivery{}
	for _, d := range security.Deliveries {
		documented[d.Principal] = d
	}
	granted := map[string]bool{}
	for _, s := range doc.Statement {
		p, ok := s.Principal["Service"].(string)
		// CloudWatch Logs and CloudTrail are not deliveries: each documents
		// its own key-policy conditions (tests/audit_test.go for CloudTrail).
		if !ok || strings.HasPrefix(p, "logs.") || p == audit.Principal {
			if _, list := s.Principal["Service"].([]any); list {
				findings = append(findings, fmt.Sprintf("statement %s groups several services; each delivery needs its own documented statement", s.Sid))
			}
			continue
		}
		d, ok := documented[p]
		if !ok {
			findings = append(findings, fmt.Sprintf("statement %s lets %s use the key, which no documented delivery needs", s.Sid, p))
			continue
		}
		if !slices.Equal(s.Action, d.Actions) {
			findings = append(findings, fmt.Sprintf("statement %s grants %s %v; its documentation lists %v", s.Sid, p, s.Action, d.Actions))
		}
		for op, kv := range s.Condition {
			for key := range kv {
				findings = append(findings, fmt.Sprintf("statement %s conditions %s on %s %s, which %s does not document for key policies: deliveries would be dropped", s.Sid, p, op, key, p))
			}
		}
		granted[p] = true
	}
	var principals []string
	for p := range need {
		principals = append(principals, p)
	}
	sort.Strings(principals)
	for _, p := range principals {
		if !granted[p] {
			findings = append(findings, fmt.Sprintf("%s delivers to encrypted resources (%s) but the key policy does not let it use the key", p, strings.Join(need[p], "; ")))
		}
	}
	return findings
}

// TestTelemetryKeyLetsEveryPublisherDeliver: CloudWatch alarms, EventBridge
// rules and AWS Backup each deliver to resources the telemetry key encrypts
// in both stacks, and the key policy writes exactly the statement each
// service documents.
func TestTelemetryKeyLetsEveryPublisherDeliver(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		key := one(t, rec, "aws:kms/key:Key", "key-telemetry")
		need := publishersOf(t, rec, out(t, key, "arn"))
		for _, p := range []string{"cloudwatch.amazonaws.com", "events.amazonaws.com", "backup.amazonaws.com"} {
			if len(need[p]) == 0 {
				t.Errorf("expected %s to deliver to a telemetry-encrypted resource; the walk found none", p)
			}
		}
		var doc policyDoc
		jsonInput(t, key, "policy", &doc)
		for _, f := range deliveryFindings(need, doc) {
			t.Error(f)
		}
	})
}

// TestDeliveryFindingsFire: the check fails on the defect the review found
// (events.amazonaws.com only under aws:SourceAccount), on a missing
// publisher and on a grouped statement.
func TestDeliveryFindingsFire(t *testing.T) {
	need := map[string][]string{"events.amazonaws.com": {"rule -> queue"}, "backup.amazonaws.com": {"vault -> topic"}}
	var doc policyDoc
	doc.Statement = append(doc.Statement, policyStatement{
		Sid: "Events", Effect: "Allow", Principal: map[string]any{"Service": "events.amazonaws.com"},
		Action: []string{"kms:Decrypt", "kms:GenerateDataKey"}, Resource: []string{"*"},
		Condition: map[string]map[string]any{"StringEquals": {"aws:SourceAccount": acct}},
	}, policyStatement{
		Sid: "Grouped", Effect: "Allow", Principal: map[string]any{"Service": []any{"cloudwatch.amazonaws.com", "states.amazonaws.com"}},
		Action: []string{"kms:Decrypt"}, Resource: []string{"*"},
	})
	got := strings.Join(deliveryFindings(need, doc), "\n")
	for _, want := range []string{"aws:SourceAccount", "backup.amazonaws.com delivers", "groups several services"} {
		if !strings.Contains(got, want) {
			t.Errorf("findings do not report %q:\n%s", want, got)
		}
	}
}

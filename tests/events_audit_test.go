package tests

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/proof/offline"
)

// patternMatches is EventBridge's matching for the pattern shapes the
// stacks use: every pattern field must match; a list of values matches when
// the event's value equals one of them (an array value when one element
// does), {"exists": false} when the field is absent; an object recurses
// (Amazon EventBridge User Guide, "Creating event patterns").
func patternMatches(pattern, event map[string]any) bool {
	for k, want := range pattern {
		got, present := event[k]
		switch w := want.(type) {
		case map[string]any:
			sub, ok := got.(map[string]any)
			if !ok || !patternMatches(w, sub) {
				return false
			}
		case []any:
			if !valueMatches(w, got, present) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func valueMatches(allowed []any, got any, present bool) bool {
	for _, a := range allowed {
		if m, ok := a.(map[string]any); ok {
			if ex, ok := m["exists"].(bool); ok && ex == present {
				return true
			}
			// Prefix matching on a string value (Amazon EventBridge User
			// Guide, "Content filtering in event patterns": prefix).
			if pre, ok := m["prefix"].(string); ok {
				if g, ok := got.(string); ok && present && strings.HasPrefix(g, pre) {
					return true
				}
			}
			continue
		}
		if !present {
			continue
		}
		if list, ok := got.([]any); ok {
			for _, g := range list {
				if reflect.DeepEqual(g, a) {
					return true
				}
			}
			continue
		}
		if reflect.DeepEqual(got, a) {
			return true
		}
	}
	return false
}

// orderEvent is an event of the trading service on its bus (CONTRACT.md):
// an order of the given detail-type, synthetic or not.
func orderEvent(detailType string, synthetic bool) map[string]any {
	return map[string]any{
		"source": "trading.orders", "detail-type": detailType, "account": acct, "region": "us-east-1",
		"detail": map[string]any{"order_id": "ord-1", "symbol": "AAPL", "synthetic": synthetic},
	}
}

// TestAuditLogTakesEveryOrderEvent: every event the trading service puts
// on its bus, synthetic probes (the canary's, the smoke test's) included,
// reaches the audit log and the archive; the consumer queue still gets real
// OrderPlaced events only. The audit log's resource policy lets exactly the
// rule that feeds it write.
func TestAuditLogTakesEveryOrderEvent(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		auditArn := "arn:aws:logs:us-east-1:" + acct + ":log-group:/aws/events/events-audit-" + stack
		queueArn := "arn:aws:sqs:us-east-1:" + acct + ":orders-" + stack
		rules := map[string]*offline.Resource{}
		for _, r := range rec.ByType("aws:cloudwatch/eventRule:EventRule") {
			rules[fmt.Sprint(r.Inputs["name"])] = r
		}
		ruleFeeding := func(arn string) *offline.Resource {
			t.Helper()
			var found *offline.Resource
			for _, tg := range rec.ByType("aws:cloudwatch/eventTarget:EventTarget") {
				if tg.Inputs["arn"] == arn {
					if found != nil {
						t.Fatalf("two targets deliver to %s", arn)
					}
					found = rules[fmt.Sprint(tg.Inputs["rule"])]
				}
			}
			if found == nil {
				t.Fatalf("no rule delivers to %s", arn)
			}
			return found
		}
		pattern := func(r *offline.Resource, path string) map[string]any {
			var p map[string]any
			jsonInput(t, r, path, &p)
			return p
		}
		events := map[string]map[string]any{
			"real OrderPlaced":      orderEvent("OrderPlaced", false),
			"synthetic OrderPlaced": orderEvent("OrderPlaced", true),
			"real other type":       orderEvent("OrderRejected", false),
			"synthetic other type":  orderEvent("OrderRejected", true),
		}

		audit := ruleFeeding(auditArn)
		archive := one(t, rec, "aws:cloudwatch/eventArchive:EventArchive", "archive")
		for name, ev := range events {
			if !patternMatches(pattern(audit, "eventPattern"), ev) {
				t.Errorf("audit rule %v does not take a %s event", audit.Inputs["name"], name)
			}
			if !patternMatches(pattern(archive, "eventPattern"), ev) {
				t.Errorf("archive %v does not take a %s event", archive.Inputs["name"], name)
			}
		}
		consumer := ruleFeeding(queueArn)
		if got := patternMatches(pattern(consumer, "eventPattern"), events["real OrderPlaced"]); !got {
			t.Errorf("consumer rule %v drops a real OrderPlaced event", consumer.Inputs["name"])
		}
		if patternMatches(pattern(consumer, "eventPattern"), events["synthetic OrderPlaced"]) {
			t.Errorf("consumer rule %v takes a synthetic order", consumer.Inputs["name"])
		}
		if consumer.URN == audit.URN {
			t.Errorf("the consumer queue and the audit log share rule %v: one of them gets the other's filter", audit.Inputs["name"])
		}

		var lp policyDoc
		jsonInput(t, one(t, rec, "aws:cloudwatch/logResourcePolicy:LogResourcePolicy", "audit-policy"), "policyDocument", &lp)
		wantSource := "arn:aws:events:us-east-1:" + acct + ":rule/events-" + stack + "/" + fmt.Sprint(audit.Inputs["name"])
		if got := lp.Statement[0].Condition["ArnEquals"]["aws:SourceArn"]; got != wantSource {
			t.Errorf("audit log policy lets %v write, want the audit rule %s", got, wantSource)
		}
	})
}

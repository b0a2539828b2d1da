package tests

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/proof/offline"
)

// TestRiskParameterChangesPage: a change to the trading kill switch or to
// any risk limit in Parameter Store (create, update, delete, label) pages
// through both paging topics, from a rule on the default bus matching
// Systems Manager's own "Parameter Store Change" events (no trail needed).
// The parameters are found in the recording: every parameter under
// /trading/<suffix>/flags/trading-enabled and /trading/<suffix>/limits/;
// a change to any other parameter does not page.
func TestRiskParameterChangesPage(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		root := "/trading/" + stack + "/"
		var risk, other []string
		for _, p := range rec.ByType("aws:ssm/parameter:Parameter") {
			name := fmt.Sprint(p.Inputs["name"])
			if name == root+"flags/trading-enabled" || strings.HasPrefix(name, root+"limits/") {
				risk = append(risk, name)
			} else {
				other = append(other, name)
			}
		}
		if len(risk) < 4 {
			t.Fatalf("%d kill switch and limit parameters recorded (%v), want the kill switch and three limits", len(risk), risk)
		}
		change := func(name, operation string) map[string]any {
			return map[string]any{
				"source": "aws.ssm", "detail-type": "Parameter Store Change", "account": acct, "region": "us-east-1",
				"detail": map[string]any{"name": name, "type": "String", "operation": operation},
			}
		}
		var paging []*offline.Resource
		for _, r := range rec.ByType("aws:cloudwatch/eventRule:EventRule") {
			var p map[string]any
			jsonInput(t, r, "eventPattern", &p)
			if patternMatches(p, change(root+"flags/trading-enabled", "Update")) {
				paging = append(paging, r)
			}
		}
		if len(paging) != 1 {
			t.Fatalf("%d rules match a kill switch update, want 1", len(paging))
		}
		rule := paging[0]
		eq(t, rule, "eventBusName", "default")
		var p map[string]any
		jsonInput(t, rule, "eventPattern", &p)
		for _, name := range risk {
			for _, op := range []string{"Create", "Update", "Delete", "LabelParameterVersion"} {
				if !patternMatches(p, change(name, op)) {
					t.Errorf("rule %v does not match %s of %s", rule.Inputs["name"], op, name)
				}
			}
		}
		// A limit an operator adds after the deploy (the service reads
		// every parameter under limits/) pages too.
		for _, name := range []string{root + "limits/max-staleness-seconds"} {
			if !patternMatches(p, change(name, "Create")) {
				t.Errorf("rule %v does not match the creation of %s", rule.Inputs["name"], name)
			}
		}
		for _, name := range append(other, root+"reference-prices/AAPL", root+"limitsx") {
			if patternMatches(p, change(name, "Update")) {
				t.Errorf("rule %v pages on %s, which is no risk parameter", rule.Inputs["name"], name)
			}
		}
		var arns []string
		for _, tg := range rec.ByType("aws:cloudwatch/eventTarget:EventTarget") {
			if tg.Inputs["rule"] == rule.Inputs["name"] {
				arns = append(arns, fmt.Sprint(tg.Inputs["arn"]))
				eq(t, tg, "eventBusName", "default")
			}
		}
		slices.Sort(arns)
		want := []string{topicArn(stack), backstopArn(stack)}
		slices.Sort(want)
		if !slices.Equal(arns, want) {
			t.Errorf("rule %v targets %v, want both paging topics %v", rule.Inputs["name"], arns, want)
		}
		// Its own failed deliveries notify like every rule's.
		one(t, rec, typAlarm, "alarm-"+strings.TrimSuffix(fmt.Sprint(rule.Inputs["name"]), "-"+stack)+"-failed")
	})
}

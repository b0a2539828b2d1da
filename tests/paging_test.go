package tests

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/infra/monitoring"
	"github.com/trading-ha/trading-ha/infra/security"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// topicKeys maps each recorded topic's ARN to the key that encrypts it.
func topicKeys(t *testing.T, rec *offline.Recording) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tp := range rec.ByType(typTopic) {
		out[fmt.Sprintf("arn:aws:sns:us-east-1:%s:%s", acct, get(t, tp, "name"))], _ = tp.Inputs["kmsMasterKeyId"].(string)
	}
	return out
}

// TestPagingSurvivesAnyOneKey derives from the recording, for every KMS
// key of the stack, that the page reporting customer impact and the page
// reporting a key's loss (and the certificate page) each still have a
// topic that key does not encrypt and, in prod, that somebody is
// subscribed to (dev subscribes nobody to pages). A stack with one paging
// topic under the telemetry key fails it: disabling that key silences the
// page that reports it.
func TestPagingSurvivesAnyOneKey(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		keyOf := topicKeys(t, rec)
		subscribed := map[string]bool{}
		for _, s := range rec.ByType(typSub) {
			if s.Inputs["topic"] != notifyArn(stack) {
				subscribed[get(t, s, "topic").(string)] = true
			}
		}
		paths := map[string][]string{
			"customer impact (composite)": strs(get(t, one(t, rec, typComposite, "degraded"), "alarmActions")),
			"certificate expiry":          strs(get(t, one(t, rec, typAlarm, "alarm-cert-expiry"), "alarmActions")),
			"key disabled (rule)":         nil,
		}
		for _, tg := range rec.ByType("aws:cloudwatch/eventTarget:EventTarget") {
			if get(t, tg, "rule") == "rule-kms-key-state-"+stack {
				paths["key disabled (rule)"] = append(paths["key disabled (rule)"], get(t, tg, "arn").(string))
			}
		}
		keys := rec.ByType("aws:kms/key:Key")
		if len(keys) < 3 {
			t.Fatalf("%d keys, want the data, telemetry and paging keys at least", len(keys))
		}
		for what, topics := range paths {
			for _, k := range keys {
				arn := out(t, k, "arn")
				survives := false
				for _, tp := range topics {
					if _, ok := keyOf[tp]; !ok {
						t.Errorf("%s publishes to %s, which the stack does not create", what, tp)
					}
					if keyOf[tp] != arn && (stack == "dev" || subscribed[tp]) {
						survives = true
					}
				}
				if !survives {
					t.Errorf("%s: disabling key %s silences every topic it pages through %v", what, k.Name, topics)
				}
			}
		}
		// Each paging topic's delivery failures report through the other.
		for logical, via := range map[string]string{"alarm-page-delivery": backstopArn(stack), "alarm-backstop-delivery": topicArn(stack)} {
			a := one(t, rec, typAlarm, logical)
			eq(t, a, "namespace", "AWS/SNS")
			eq(t, a, "metricName", "NumberOfNotificationsFailed")
			eq(t, a, "alarmActions", []string{via})
			reported := strings.TrimPrefix(via, "arn:aws:sns:us-east-1:"+acct+":")
			if got := get(t, a, "dimensions.TopicName"); got == reported {
				t.Errorf("%s watches topic %v and reports through it", logical, got)
			}
		}
	})
}

// TestPagingKeyPolicy: the paging key serves the backstop topic only: the
// account uses it through SNS, and only CloudWatch alarms and EventBridge
// may encrypt with it (no Backup, no Logs).
func TestPagingKeyPolicy(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		k := one(t, rec, "aws:kms/key:Key", "key-paging")
		eq(t, k, "enableKeyRotation", true)
		var doc policyDoc
		jsonInput(t, k, "policy", &doc)
		var services []string
		for _, s := range doc.Statement {
			if p, ok := s.Principal["Service"].(string); ok {
				services = append(services, p)
			}
			if s.Sid == "AccountUsesKeyViaSNS" {
				if got := fmt.Sprint(s.Condition["StringEquals"]["kms:ViaService"]); got != "[sns.us-east-1.amazonaws.com]" {
					t.Errorf("paging key used via %s, want SNS only", got)
				}
			}
		}
		if !slices.Equal(services, security.PagePublishers) {
			t.Errorf("paging key trusts services %v, want %v", services, security.PagePublishers)
		}
		eq(t, one(t, rec, "aws:kms/alias:Alias", "alias-paging"), "name", "alias/kms-paging-"+stack)
	})
}

// TestKeyStateRulePages: a KMS key disabled or scheduled for deletion pages
// through both paging topics, with retries, from CloudTrail's events on
// the default bus (not from the trail's log group, which the telemetry key
// encrypts).
func TestKeyStateRulePages(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		var arns []string
		for _, tg := range rec.ByType("aws:cloudwatch/eventTarget:EventTarget") {
			if get(t, tg, "rule") != "rule-kms-key-state-"+stack {
				continue
			}
			arns = append(arns, get(t, tg, "arn").(string))
			eq(t, tg, "retryPolicy.maximumEventAgeInSeconds", monitoring.KeyStateEventMaxAgeSeconds)
		}
		if !slices.Equal(arns, []string{topicArn(stack), backstopArn(stack)}) {
			t.Errorf("key state rule targets %v, want both paging topics", arns)
		}
		// Its own delivery failures notify like every rule's.
		one(t, rec, typAlarm, "alarm-rule-kms-key-state-failed")
	})
}

// TestCertificateExpiryAlarms: ACM's DaysToExpiry of the listener's own
// certificate notifies at 45 days and pages (both topics) at 14.
func TestCertificateExpiryAlarms(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		cert := get(t, one(t, rec, "aws:lb/listener:Listener", "https"), "certificateArn")
		for logical, w := range map[string]struct {
			days    int
			actions []string
		}{
			"alarm-cert-expiry-notice": {monitoring.CertNoticeDays, []string{notifyArn(stack)}},
			"alarm-cert-expiry":        {monitoring.CertPageDays, []string{topicArn(stack), backstopArn(stack)}},
		} {
			a := one(t, rec, typAlarm, logical)
			eq(t, a, "namespace", "AWS/CertificateManager")
			eq(t, a, "metricName", "DaysToExpiry")
			eq(t, a, "dimensions", map[string]any{"CertificateArn": cert})
			eq(t, a, "comparisonOperator", "LessThanThreshold")
			eq(t, a, "threshold", w.days)
			eq(t, a, "period", 86400)
			eq(t, a, "alarmActions", w.actions)
		}
	})
}

// TestDeploymentAlarms: the ECS service rolls a deployment back on its
// own gate alarms. Derived from the recording: every named alarm exists,
// reads this stack's target group, treats missing data as not breaching
// (a first deployment without traffic must not fail on silence), uses
// monitoring's thresholds, and the service waits for it
// (TestReferencesAreOrdered holds the dependency).
func TestDeploymentAlarms(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		svc := one(t, rec, "aws:ecs/service:Service", "app")
		eq(t, svc, "alarms.enable", true)
		eq(t, svc, "alarms.rollback", true)
		names := strs(get(t, svc, "alarms.alarmNames"))
		if want := []string{"alarm-deploy-5xx-rate-" + stack, "alarm-deploy-p99-" + stack}; !slices.Equal(names, want) {
			t.Fatalf("deployment alarms %v, want %v", names, want)
		}
		tgSuffix := out(t, one(t, rec, "aws:lb/targetGroup:TargetGroup", "app"), "arnSuffix")
		for _, n := range names {
			a := one(t, rec, typAlarm, strings.TrimSuffix(n, "-"+stack))
			eq(t, a, "treatMissingData", "notBreaching")
			if _, ok := a.Inputs["alarmActions"]; ok {
				t.Errorf("%s has alarm actions; ECS reads it, the composite pages", n)
			}
			if !strings.Contains(fmt.Sprint(a.Inputs["dimensions"], a.Inputs["metricQueries"]), tgSuffix) {
				t.Errorf("%s does not read this stack's target group %s", n, tgSuffix)
			}
		}
		rate := one(t, rec, typAlarm, "alarm-deploy-5xx-rate")
		eq(t, rate, "threshold", get(t, one(t, rec, typAlarm, "alarm-alb-5xx-rate"), "threshold"))
		p99 := one(t, rec, typAlarm, "alarm-deploy-p99")
		eq(t, p99, "threshold", get(t, one(t, rec, typAlarm, "alarm-p99-latency"), "threshold"))
		eq(t, p99, "extendedStatistic", "p99")
		eq(t, p99, "dimensions.TargetGroup", tgSuffix)
		rq := queries(t, rate)
		if rq["t5xx"].Metric.Dimensions["TargetGroup"] != tgSuffix || rq["requests"].Metric.Dimensions["TargetGroup"] != tgSuffix {
			t.Errorf("deploy-5xx-rate reads %+v, want the target group %s", rq, tgSuffix)
		}
	})
}

// TestCostBudget: the account's monthly budget mails its people on the
// forecast and on the actual cost passing it; no topic or key of ours in
// between.
func TestCostBudget(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		b := one(t, rec, "aws:budgets/budget:Budget", "budget")
		eq(t, b, "name", "budget-"+stack)
		eq(t, b, "budgetType", "COST")
		eq(t, b, "timeUnit", "MONTHLY")
		eq(t, b, "limitUnit", "USD")
		eq(t, b, "limitAmount", map[string]string{"dev": "1500", "prod": "25000"}[stack])
		emails := map[string][]string{"dev": {"trading-dev-alerts@acmebank.net"}, "prod": {"trading-platform@acmebank.net"}}[stack]
		var kinds []string
		for i := range get(t, b, "notifications").([]any) {
			p := fmt.Sprintf("notifications.%d", i)
			kinds = append(kinds, get(t, b, p+".notificationType").(string))
			eq(t, b, p+".threshold", monitoring.BudgetThresholdPercent)
			eq(t, b, p+".thresholdType", "PERCENTAGE")
			eq(t, b, p+".subscriberEmailAddresses", emails)
		}
		if !slices.Equal(kinds, []string{"FORECASTED", "ACTUAL"}) {
			t.Errorf("budget notifications %v", kinds)
		}
	})
	rejects(t, "dev", map[string]string{"trading-ha:notifyEmails": "[]"}, []string{"trading-ha:monthlyBudgetUsd", `"1500"`, "somebody to tell"})
	rejects(t, "prod", map[string]string{"trading-ha:notifyEmails": "[]"}, []string{"trading-ha:notifyEmails", "prod must tell somebody"})
	rec, err := recordWith(t, "dev", map[string]string{"trading-ha:monthlyBudgetUsd": "0"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rec.ByType("aws:budgets/budget:Budget")); n != 0 {
		t.Errorf("monthlyBudgetUsd 0 created %d budgets", n)
	}
}

package tests

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/infra/events"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// canonical re-marshals a Go value through JSON so it compares with parsed inputs.
func canonical(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEventsBusPolicyOnlyTaskRole(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		bus := one(t, rec, "aws:cloudwatch/eventBus:EventBus", "bus")
		eq(t, bus, "name", "events-"+stack)
		busArn := "arn:aws:events:us-east-1:" + acct + ":event-bus/events-" + stack
		taskRole := "arn:aws:iam::" + acct + ":role/role-task-" + stack

		pol := one(t, rec, "aws:cloudwatch/eventBusPolicy:EventBusPolicy", "bus-policy")
		eq(t, pol, "eventBusName", "events-"+stack)
		var doc policyDoc
		jsonInput(t, pol, "policy", &doc)
		if len(doc.Statement) != 2 {
			t.Fatalf("bus policy has %d statements, want 2", len(doc.Statement))
		}
		allow, deny := doc.Statement[0], doc.Statement[1]
		if allow.Effect != "Allow" || !reflect.DeepEqual(allow.Action, []string{"events:PutEvents"}) ||
			!reflect.DeepEqual(allow.Resource, []string{busArn}) ||
			allow.Principal["AWS"] != "arn:aws:iam::"+acct+":root" ||
			allow.Condition["StringEquals"]["aws:PrincipalArn"] != taskRole ||
			allow.Condition["StringEquals"]["aws:PrincipalAccount"] != acct {
			t.Errorf("allow statement = %+v", allow)
		}
		if deny.Effect != "Deny" || !reflect.DeepEqual(deny.Action, []string{"events:PutEvents"}) ||
			!reflect.DeepEqual(deny.Resource, []string{busArn}) ||
			deny.Condition["StringNotEquals"]["aws:PrincipalArn"] != taskRole ||
			deny.Condition["Null"]["aws:PrincipalArn"] != "false" {
			t.Errorf("deny statement = %+v", deny)
		}
	})
}

func TestEventsArchive(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		a := one(t, rec, "aws:cloudwatch/eventArchive:EventArchive", "archive")
		eq(t, a, "name", "archive-"+stack)
		eq(t, a, "eventSourceArn", "arn:aws:events:us-east-1:"+acct+":event-bus/events-"+stack)
		want := map[string]int{"dev": 7, "prod": 90}[stack]
		eq(t, a, "retentionDays", want)
		var p map[string]any
		jsonInput(t, a, "eventPattern", &p)
		// Every event of the service, synthetic probes included
		// (TestAuditLogTakesEveryOrderEvent).
		if !reflect.DeepEqual(p, canonical(t, map[string]any{"source": []string{"trading.orders"}})) {
			t.Errorf("archive pattern = %v", p)
		}
	})
}

func TestEventsRulePatterns(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		arn := func(svc, res string) string { return "arn:aws:" + svc + ":us-east-1:" + acct + ":" + res }
		cases := []struct {
			logical, name, bus string
			want               map[string]any
		}{
			{"rule-orders", "rule-orders-" + stack, "events-" + stack, map[string]any{
				"source": []string{"trading.orders"}, "detail-type": []string{"OrderPlaced"}, "detail": map[string]any{"synthetic": []bool{false}}}},
			{"rule-orders-audit", "rule-orders-audit-" + stack, "events-" + stack, map[string]any{
				"source": []string{"trading.orders"}}},
			{"rule-restore-failed", "rule-restore-failed-" + stack, "default", map[string]any{
				"source": []string{"aws.backup"}, "detail-type": []string{"Restore Job State Change"},
				"detail": map[string]any{"status": []string{"FAILED", "ABORTED"}}}},
			{"rule-copy-failed", "rule-copy-failed-" + stack, "default", map[string]any{
				"source": []string{"aws.backup"}, "detail-type": []string{"Copy Job State Change"},
				"detail": map[string]any{"state": []string{"FAILED", "PARTIAL"}, "sourceBackupVaultArn": []string{arn("backup", "backup-vault:vault-"+stack)}}}},
			{"rule-aurora", "rule-aurora-" + stack, "default", map[string]any{
				"source": []string{"aws.rds"}, "detail-type": []string{"RDS DB Cluster Event"},
				"resources": []string{arn("rds", "cluster:aurora-"+stack)},
				"detail":    map[string]any{"EventCategories": []string{"failover", "failure"}}}},
			{"rule-backup-failed", "rule-backup-failed-" + stack, "default", map[string]any{
				"source": []string{"aws.backup"}, "detail-type": []string{"Backup Job State Change"},
				"detail": map[string]any{"state": []string{"FAILED", "ABORTED", "EXPIRED"}, "backupVaultName": []string{"vault-" + stack}}}},
			{"rule-ecs-deploy", "rule-ecs-deploy-" + stack, "default", map[string]any{
				"source": []string{"aws.ecs"}, "detail-type": []string{"ECS Deployment State Change"},
				"resources": []string{arn("ecs", "service/ecs-"+stack+"/svc-trading-"+stack)},
				"detail":    map[string]any{"eventName": []string{"SERVICE_DEPLOYMENT_FAILED"}}}},
			{"rule-ecs-task-stopped", "rule-ecs-task-stopped-" + stack, "default", map[string]any{
				"source": []string{"aws.ecs"}, "detail-type": []string{"ECS Task State Change"},
				"detail": map[string]any{
					"clusterArn": []string{arn("ecs", "cluster/ecs-"+stack)}, "group": []string{"service:svc-trading-" + stack},
					"lastStatus": []string{"STOPPED"}, "stopCode": []string{"EssentialContainerExited", "TaskFailedToStart"}}}},
			{"rule-degraded", "rule-degraded-" + stack, "default", map[string]any{
				"source": []string{"aws.cloudwatch"}, "detail-type": []string{"CloudWatch Alarm State Change"},
				"resources": []string{arn("cloudwatch", "alarm:alarm-degraded-"+stack)},
				"detail": map[string]any{"state": map[string]any{"value": []string{"ALARM"},
					"actionsSuppressedBy": []map[string]bool{{"exists": false}}}}}},
			{"kms-key-state", "rule-kms-key-state-" + stack, "default", map[string]any{
				"source": []string{"aws.kms"}, "detail-type": []string{"AWS API Call via CloudTrail"},
				"detail": map[string]any{"eventSource": []string{"kms.amazonaws.com"}, "eventName": []string{"DisableKey", "ScheduleKeyDeletion"}}}},
			{"risk-params", "rule-risk-params-" + stack, "default", map[string]any{
				"source": []string{"aws.ssm"}, "detail-type": []string{"Parameter Store Change"},
				"detail": map[string]any{"name": []any{
					"/trading/" + stack + "/flags/trading-enabled", map[string]any{"prefix": "/trading/" + stack + "/limits/"}}}}},
		}
		rules := rec.ByType("aws:cloudwatch/eventRule:EventRule")
		if len(rules) != len(cases) {
			t.Errorf("%d event rules, want %d", len(rules), len(cases))
		}
		for _, c := range cases {
			r := one(t, rec, "aws:cloudwatch/eventRule:EventRule", c.logical)
			eq(t, r, "name", c.name)
			eq(t, r, "eventBusName", c.bus)
			var got any
			jsonInput(t, r, "eventPattern", &got)
			if want := canonical(t, c.want); !reflect.DeepEqual(got, want) {
				t.Errorf("%s pattern\n got %v\nwant %v", c.logical, got, want)
			}
		}
	})
}

func TestEventsTargetsRetryAndDeadLetter(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		sqsArn := func(n string) string { return "arn:aws:sqs:us-east-1:" + acct + ":" + n + "-" + stack }
		topic := "arn:aws:sns:us-east-1:" + acct + ":notify-" + stack
		sm := "arn:aws:states:us-east-1:" + acct + ":stateMachine:sm-svc-recovery-" + stack
		hc := "arn:aws:states:us-east-1:" + acct + ":stateMachine:sm-health-check-" + stack
		role := "arn:aws:iam::" + acct + ":role/role-events-" + stack
		cases := []struct {
			logical, rule, bus, arn string
			role                    string
		}{
			{"orders-audit", "rule-orders-audit", "events-" + stack, "arn:aws:logs:us-east-1:" + acct + ":log-group:/aws/events/events-audit-" + stack, ""},
			{"orders-queue", "rule-orders", "events-" + stack, sqsArn("orders"), ""},
			{"aurora-sns", "rule-aurora", "default", topic, ""},
			{"backup-failed-sns", "rule-backup-failed", "default", topic, ""},
			{"restore-failed-sns", "rule-restore-failed", "default", topic, ""},
			{"copy-failed-sns", "rule-copy-failed", "default", topic, ""},
			{"ecs-deploy-sns", "rule-ecs-deploy", "default", topic, ""},
			{"ecs-task-stopped-sns", "rule-ecs-task-stopped", "default", topic, ""},
			{"degraded-recovery", "rule-degraded", "default", sm, role},
			{"degraded-health-check", "rule-degraded", "default", hc, role},
		}
		// The key-state and risk parameter rules' page targets:
		// tests/paging_test.go, tests/params_change_test.go.
		n := 0
		for _, tg := range rec.ByType("aws:cloudwatch/eventTarget:EventTarget") {
			if !strings.HasPrefix(tg.Key, "kms-key-state-") && !strings.HasPrefix(tg.Key, "risk-params-") {
				n++
			}
		}
		if n != len(cases) {
			t.Errorf("%d targets, want %d", n, len(cases))
		}
		for _, c := range cases {
			tg := one(t, rec, "aws:cloudwatch/eventTarget:EventTarget", "target-"+c.logical)
			eq(t, tg, "rule", c.rule+"-"+stack)
			eq(t, tg, "eventBusName", c.bus)
			eq(t, tg, "arn", c.arn)
			eq(t, tg, "retryPolicy.maximumRetryAttempts", 10)
			eq(t, tg, "retryPolicy.maximumEventAgeInSeconds", 3600)
			eq(t, tg, "deadLetterConfig.arn", sqsArn("dlq"))
			if got, _ := tg.Inputs["roleArn"].(string); got != c.role {
				t.Errorf("target %s roleArn = %q, want %q", c.logical, got, c.role)
			}
			// Runbook targets turn the alarm event into the runbooks' input
			// contract; the other targets get the event as is.
			_, hasTransformer := tg.Inputs["inputTransformer"]
			if hasTransformer != (c.role != "") {
				t.Errorf("target %s: input transformer present = %v", c.logical, hasTransformer)
			}
			if c.role != "" {
				eq(t, tg, "inputTransformer.inputPaths", map[string]any{"alarm": "$.detail.alarmName", "time": "$.time"})
				var in map[string]any
				jsonInput(t, tg, "inputTransformer.inputTemplate", &in)
				if in["requestedBy"] != "eventbridge:rule-degraded-"+stack || in["reason"] != "<alarm> entered ALARM at <time>" {
					t.Errorf("target %s input template = %v", c.logical, in)
				}
			}
		}

		// The events role may start exactly the recovery and health check runbooks.
		var trust, doc policyDoc
		r := one(t, rec, "aws:iam/role:Role", "events-role")
		jsonInput(t, r, "assumeRolePolicy", &trust)
		if trust.Statement[0].Principal["Service"] != "events.amazonaws.com" || trust.Statement[0].Condition["StringEquals"]["aws:SourceAccount"] != acct {
			t.Errorf("events role trust = %+v", trust.Statement)
		}
		jsonInput(t, one(t, rec, "aws:iam/rolePolicy:RolePolicy", "events-role"), "policy", &doc)
		if len(doc.Statement) != 1 || !reflect.DeepEqual(doc.Statement[0].Action, []string{"states:StartExecution"}) ||
			!reflect.DeepEqual(doc.Statement[0].Resource, []string{sm, hc}) {
			t.Errorf("events role policy = %+v", doc.Statement)
		}
	})
}

func TestEventsQueuesAndAuditLog(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		telemetry := out(t, one(t, rec, "aws:kms/key:Key", "key-telemetry"), "arn")
		ruleArn := func(path string) string { return "arn:aws:events:us-east-1:" + acct + ":rule/" + path }
		ordersRule := ruleArn("events-" + stack + "/rule-orders-" + stack)
		auditRule := ruleArn("events-" + stack + "/rule-orders-audit-" + stack)

		for _, q := range []string{"orders", "orders-dlq", "dlq"} {
			r := one(t, rec, "aws:sqs/queue:Queue", q)
			eq(t, r, "name", q+"-"+stack)
			eq(t, r, "kmsMasterKeyId", telemetry)
		}
		var redrive map[string]any
		jsonInput(t, one(t, rec, "aws:sqs/queue:Queue", "orders"), "redrivePolicy", &redrive)
		if redrive["deadLetterTargetArn"] != "arn:aws:sqs:us-east-1:"+acct+":orders-dlq-"+stack || redrive["maxReceiveCount"] != float64(5) {
			t.Errorf("orders redrive = %v", redrive)
		}

		// Queue policies: TLS only everywhere; events.amazonaws.com may send
		// to the orders queue for the orders rule, to the DLQ for every rule.
		allRules := []string{ordersRule, auditRule}
		for _, n := range []string{"aurora", "backup-failed", "restore-failed", "copy-failed", "ecs-deploy", "ecs-task-stopped", "degraded"} {
			allRules = append(allRules, ruleArn("rule-"+n+"-"+stack))
		}
		for _, c := range []struct {
			policy  string
			senders []string
		}{{"orders-policy", []string{ordersRule}}, {"dlq-policy", allRules}, {"orders-dlq-policy", nil}} {
			var doc policyDoc
			jsonInput(t, one(t, rec, "aws:sqs/queuePolicy:QueuePolicy", c.policy), "policy", &doc)
			if doc.Statement[0].Effect != "Deny" || doc.Statement[0].Condition["Bool"]["aws:SecureTransport"] != "false" {
				t.Errorf("%s: first statement is not the TLS-only deny: %+v", c.policy, doc.Statement[0])
			}
			if c.senders == nil {
				if len(doc.Statement) != 1 {
					t.Errorf("%s grants senders: %+v", c.policy, doc.Statement)
				}
				continue
			}
			if len(doc.Statement) != 2 {
				t.Fatalf("%s has %d statements", c.policy, len(doc.Statement))
			}
			s := doc.Statement[1]
			got := s.Condition["ArnEquals"]["aws:SourceArn"]
			if s.Principal["Service"] != "events.amazonaws.com" || !reflect.DeepEqual(s.Action, []string{"sqs:SendMessage"}) ||
				!reflect.DeepEqual(canonical(t, got), canonical(t, c.senders)) {
				t.Errorf("%s sender statement = %+v", c.policy, s)
			}
		}

		lg := one(t, rec, "aws:cloudwatch/logGroup:LogGroup", "audit")
		eq(t, lg, "name", "/aws/events/events-audit-"+stack)
		eq(t, lg, "kmsKeyId", telemetry)
		eq(t, lg, "retentionInDays", map[string]int{"dev": 30, "prod": 365}[stack])
		var lp policyDoc
		lpr := one(t, rec, "aws:cloudwatch/logResourcePolicy:LogResourcePolicy", "audit-policy")
		eq(t, lpr, "policyName", "events-audit-logs-"+stack)
		jsonInput(t, lpr, "policyDocument", &lp)
		s := lp.Statement[0]
		principals, _ := s.Principal["Service"].([]any)
		names := []string{}
		for _, p := range principals {
			names = append(names, p.(string))
		}
		sort.Strings(names)
		if !reflect.DeepEqual(names, []string{"delivery.logs.amazonaws.com", "events.amazonaws.com"}) ||
			!reflect.DeepEqual(s.Action, []string{"logs:CreateLogStream", "logs:PutLogEvents"}) ||
			!reflect.DeepEqual(s.Resource, []string{"arn:aws:logs:us-east-1:" + acct + ":log-group:/aws/events/events-audit-" + stack + ":*"}) ||
			s.Condition["ArnEquals"]["aws:SourceArn"] != auditRule {
			t.Errorf("audit log policy = %+v", s)
		}
	})
}

// TestEventsPatternMatchesContract ties the orders rule to CONTRACT.md.
func TestEventsPatternMatchesContract(t *testing.T) {
	if events.OrdersSource != "trading.orders" || events.OrderPlacedType != "OrderPlaced" {
		t.Fatalf("orders pattern constants drifted from CONTRACT.md: %s / %s", events.OrdersSource, events.OrderPlacedType)
	}
}

package docgen

import (
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/trading-ha/trading-ha/infra/dependencies"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/proof/offline"
)

const acct = "arn:aws:x:us-east-1:123456789012:"

// res builds a recorded resource under component pkg.
func res(pkg, typ, name string, inputs, outputs map[string]any) *offline.Resource {
	comp := "trading:" + pkg + ":" + strings.ToUpper(pkg[:1]) + pkg[1:]
	if outputs == nil {
		outputs = map[string]any{}
	}
	if _, ok := outputs["arn"]; !ok {
		outputs["arn"] = acct + name
	}
	return &offline.Resource{
		Type: typ, Name: name, URN: "urn:" + pkg + ":" + typ + ":" + name, Component: comp, Custom: true,
		ID: typ[strings.LastIndex(typ, ":")+1:] + "-" + name, Inputs: inputs, Outputs: outputs,
	}
}

// platform is a synthetic recording shaped like the full program: every
// flow the generator knows, plus plumbing it must leave out.
func platform() *offline.Recording {
	key := res("security", "aws:kms/key:Key", "key-data", map[string]any{}, nil)
	containers := `[{"name":"app","environment":[` +
		`{"name":"DB_WRITER_HOST","value":"aurora-dev.cluster-mock.rds.amazonaws.com"},` +
		`{"name":"LOG_LEVEL","value":"info"}],"secrets":[` +
		`{"name":"SESSIONS_TABLE","valueFrom":"` + acct + `p-table"},` +
		`{"name":"DB_PASSWORD","valueFrom":"` + acct + `secret:rds!cluster-x-AbCdEf:password::"},` +
		`{"name":"EVENT_BUS_NAME","value":"events-dev"}]}]`
	asl := `{"StartAt":"A","States":{"A":{"Type":"Task","Parameters":{"Cluster":"` + acct + `ecs-dev"},"End":true}}}`
	rs := []*offline.Resource{
		{Type: "trading:service:Service", Name: "service", URN: "urn:service", Component: "trading:service:Service", Inputs: map[string]any{}, Outputs: map[string]any{}},
		key,
		res("service", "aws:lb/loadBalancer:LoadBalancer", "alb", map[string]any{"name": "alb-dev"}, map[string]any{"dnsName": "alb-dev-1.elb.amazonaws.com"}),
		res("service", "aws:lb/targetGroup:TargetGroup", "tg", map[string]any{"name": "tg-dev"}, nil),
		res("service", "aws:lb/listener:Listener", "https", map[string]any{
			"port": 443.0, "protocol": "HTTPS", "loadBalancerArn": acct + "alb",
			"defaultActions": []any{map[string]any{"type": "forward", "targetGroupArn": acct + "tg"}},
		}, nil),
		res("service", "aws:lb/listener:Listener", "http", map[string]any{"port": 80.0, "protocol": "HTTP", "loadBalancerArn": acct + "alb"}, nil),
		res("service", "aws:ecs/cluster:Cluster", "ecs", map[string]any{"name": "ecs-dev"}, map[string]any{"arn": acct + "ecs-dev"}),
		res("service", "aws:ecs/taskDefinition:TaskDefinition", "task", map[string]any{"family": "task-dev", "containerDefinitions": containers}, nil),
		res("service", "aws:ecs/service:Service", "svc", map[string]any{
			"name": "svc-dev", "desiredCount": 3.0, "cluster": acct + "ecs-dev", "taskDefinition": acct + "task",
			"loadBalancers": []any{map[string]any{"targetGroupArn": acct + "tg"}},
		}, nil),
		res("database", "aws:rds/cluster:Cluster", "aurora", map[string]any{"clusterIdentifier": "aurora-dev", "kmsKeyId": key.Outputs["arn"]},
			map[string]any{"endpoint": "aurora-dev.cluster-mock.rds.amazonaws.com", "masterUserSecrets": []any{map[string]any{"secretArn": acct + "secret:rds!cluster-x-AbCdEf"}}}),
		res("database", "aws:rds/clusterInstance:ClusterInstance", "aurora-1", map[string]any{"identifier": "aurora-dev-1", "clusterIdentifier": "aurora-dev", "availabilityZone": "us-east-1a"}, nil),
		res("database", "aws:rds/clusterInstance:ClusterInstance", "aurora-2", map[string]any{"identifier": "aurora-dev-2", "clusterIdentifier": "aurora-dev", "availabilityZone": "us-east-1b"}, nil),
		res("sessions", "aws:dynamodb/table:Table", "sessions", map[string]any{"name": "sessions-dev"}, nil),
		res("events", "aws:cloudwatch/eventBus:EventBus", "bus", map[string]any{"name": "events-dev"}, nil),
		res("events", "aws:cloudwatch/eventRule:EventRule", "orders", map[string]any{"name": "rule-orders-dev", "eventBusName": "events-dev"}, nil),
		res("events", "aws:sqs/queue:Queue", "orders-q", map[string]any{"name": "orders-dev"}, nil),
		res("events", "aws:sqs/queue:Queue", "dlq", map[string]any{"name": "dlq-dev"}, nil),
		res("events", "aws:cloudwatch/eventTarget:EventTarget", "orders-queue", map[string]any{
			"rule": "rule-orders-dev", "eventBusName": "events-dev", "arn": acct + "orders-q",
			"deadLetterConfig": map[string]any{"arn": acct + "dlq"},
		}, nil),
		res("events", "aws:cloudwatch/eventTarget:EventTarget", "orders-gone", map[string]any{
			"rule": "rule-orders-dev", "arn": acct + "not-in-the-recording",
		}, nil),
		res("monitoring", "aws:sns/topic:Topic", "alarms", map[string]any{"name": "alarms-dev", "kmsMasterKeyId": key.Outputs["arn"]}, nil),
		res("monitoring", "aws:cloudwatch/metricAlarm:MetricAlarm", "alarm-5xx", map[string]any{"alarmActions": []any{acct + "alarms"}}, nil),
		res("monitoring", "aws:cloudwatch/metricAlarm:MetricAlarm", "alarm-hc", map[string]any{"alarmActions": []any{acct + "alarms"}}, nil),
		res("monitoring", "aws:cloudwatch/eventRule:EventRule", "on-alarm", map[string]any{"name": "rule-alarm-dev"}, nil),
		res("monitoring", "aws:cloudwatch/eventTarget:EventTarget", "on-alarm", map[string]any{"rule": "rule-alarm-dev", "arn": acct + "recover"}, nil),
		res("runbooks", "aws:sfn/stateMachine:StateMachine", "recover", map[string]any{"name": "sfn-recover-dev", "definition": asl}, nil),
		res("backup", "aws:backup/vault:Vault", "vault", map[string]any{"name": "vault-dev"}, nil),
		res("backup", "aws:backup/plan:Plan", "plan", map[string]any{"name": "backup-plan-dev", "rules": []any{map[string]any{"targetVaultName": "vault-dev"}}}, nil),
		res("backup", "aws:backup/selection:Selection", "selection", map[string]any{
			"planId": "Plan-plan", "resources": []any{acct + "aurora", acct + "sessions"},
		}, nil),
		res("params", "aws:ssm/parameter:Parameter", "p1", map[string]any{"name": "/trading/dev/a"}, nil),
		res("params", "aws:ssm/parameter:Parameter", "p2", map[string]any{"name": "/trading/dev/b"}, nil),
		res("params", "aws:ssm/parameter:Parameter", "p3", map[string]any{"name": "/trading/dev/c"}, nil),
		res("params", "aws:ssm/parameter:Parameter", "p-table", map[string]any{"name": "/trading/dev/sessions/table", "value": &resource.Secret{Element: resource.NewStringProperty("sessions-dev")}}, nil),
		res("params", "aws:iam/rolePolicy:RolePolicy", "noise", map[string]any{}, nil),
	}
	return &offline.Recording{Stack: "dev", Resources: rs}
}

func TestDiagramFlows(t *testing.T) {
	d := Diagram(platform())
	for _, want := range []string{
		`service_loadbalancer_alb -->|HTTPS| service_listener_https`,
		`service_listener_https -->|forward| service_targetgroup_tg`,
		`service_targetgroup_tg -->|tasks| service_service_svc`,
		`service_service_svc -->|SQL (writer/reader)| database_cluster_aurora`,
		`service_service_svc -->|sessions| sessions_table_sessions`,
		`service_service_svc -->|PutEvents| events_eventbus_bus`,
		`events_eventbus_bus -->|events| events_eventrule_orders`,
		`events_eventrule_orders -->|target| events_queue_orders_q`,
		`events_eventrule_orders -->|dead letters| events_queue_dlq`,
		`monitoring_metricalarm_all -->|ALARM| monitoring_topic_alarms`,
		`monitoring_eventrule_on_alarm -->|target| runbooks_statemachine_recover`,
		`backup_plan_plan -->|recovery points| backup_vault_vault`,
		`backup_plan_plan -->|backs up| database_cluster_aurora`,
		`backup_plan_plan -->|backs up| sessions_table_sessions`,
		`runbooks_statemachine_recover -.-> service_cluster_ecs`,
		`database_clusterinstance_aurora_1 -.-> database_cluster_aurora`,
		`monitoring_metricalarm_all["2 CloudWatch alarms"]:::count`,
		`service_loadbalancer_alb -->|HTTP| service_listener_http`,
		`service_taskdefinition_all["1 task definition"]:::count`,
		`params_parameter_all["4 SSM parameters"]:::count`,
		`c_params_more["+1 supporting resources"]:::count`,
		`database_clusterinstance_aurora_1["Aurora instance<br/>aurora-dev-1<br/>us-east-1a"]`,
		`service_service_svc["ECS service<br/>svc-dev<br/>3 tasks"]`,
		`subgraph c_service["trading:service:Service"]`,
	} {
		if !strings.Contains(d, want+"\n") {
			t.Errorf("diagram lacks %q", want)
		}
	}
	for _, unwanted := range []string{"service_taskdefinition_task", "security_key_key_data -", "-> security_key_key_data", "not_in_the_recording", "-.-> database_clusterinstance"} {
		if strings.Contains(d, unwanted) {
			t.Errorf("diagram has %q:\n%s", unwanted, d)
		}
	}
	// A dotted reference never duplicates a labelled flow between the same nodes.
	if strings.Contains(d, "service_service_svc -.-> service_targetgroup_tg") || strings.Contains(d, "service_listener_https -.->") {
		t.Errorf("reference arrow duplicates a flow:\n%s", d)
	}
}

func TestDiagramIsDeterministic(t *testing.T) {
	want := Diagram(platform())
	for i := 0; i < 5; i++ {
		rec := platform()
		rand.New(rand.NewSource(int64(i))).Shuffle(len(rec.Resources), func(a, b int) {
			rec.Resources[a], rec.Resources[b] = rec.Resources[b], rec.Resources[a]
		})
		if got := Diagram(rec); got != want {
			t.Fatalf("shuffle %d changed the diagram:\n%s\nwant:\n%s", i, got, want)
		}
	}
}

func TestArchitectureListsFlowsAndInventory(t *testing.T) {
	a := Architecture(platform())
	for _, want := range []string{
		"```mermaid\nflowchart LR\n",
		"- event rule rule-orders-dev → SQS queue orders-dev (target)\n",
		"- ECS service svc-dev 3 tasks → Aurora cluster aurora-dev (SQL (writer/reader))\n",
		"| `trading:params:Params` | 5 | iam/rolePolicy ×1, ssm/parameter ×4 |\n",
	} {
		if !strings.Contains(a, want) {
			t.Errorf("architecture lacks %q:\n%s", want, a)
		}
	}
}

func TestSplice(t *testing.T) {
	doc := "# A\nprose before\n" + BeginArchitecture + "\nold\n" + EndArchitecture + "\nprose after\n"
	got, err := Splice(doc, "new\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "# A\nprose before\n" + BeginArchitecture + "\nnew\n" + EndArchitecture + "\nprose after\n"
	if got != want {
		t.Errorf("Splice = %q, want %q", got, want)
	}
	again, err := Splice(got, "new\n")
	if err != nil || again != got {
		t.Errorf("Splice is not idempotent: %q, %v", again, err)
	}
	for _, bad := range []string{"no markers", EndArchitecture + BeginArchitecture, BeginArchitecture + BeginArchitecture + EndArchitecture} {
		if _, err := Splice(bad, "x"); err == nil {
			t.Errorf("Splice(%q) did not fail", bad)
		}
	}
}

func TestConfigReference(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Pulumi.yaml", `name: proj
runtime: go
config:
  suffix:
    type: string
    description: Ends <every> name | pipe.
  zones:
    type: array
    items: {type: string}
    description: Zones.
    default: [a, b]
  retention:
    type: integer
    description: Days.
    default: 30
`)
	write("Pulumi.dev.yaml", "config:\n  proj:suffix: dev\n  aws:region: us-east-1\n")
	write("Pulumi.prod.yaml", "config:\n  proj:suffix: prod\n  proj:retention: 365\n  aws:defaultTags:\n    tags:\n      Environment: prod\n")
	write("Pulumi.qa.yaml", "config:\n  proj:suffix: qa\n")
	got, err := ConfigReference(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| key | type | default | dev | prod | qa | description |\n",
		"| `retention` | integer | `30` | · | `365` | · | Days. |\n",
		"| `suffix` | string | *(required)* | `dev` | `prod` | `qa` | Ends &lt;every&gt; name \\| pipe. |\n",
		"| `zones` | array | `[\"a\",\"b\"]` | · | · | · | Zones. |\n",
		"| `aws:defaultTags` | · | `{\"tags\":{\"Environment\":\"prod\"}}` | · |\n",
		"| `aws:region` | `us-east-1` | · | · |\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("config reference lacks %q:\n%s", want, got)
		}
	}
}

// TestDependencies: the table has a path column per stack in that stack's
// mode, the grants with their placeholders, the paging mark, and the
// reasons where a row has no app test or no alarm.
func TestDependencies(t *testing.T) {
	row := dependencies.Row{
		Key: "bus", Dependency: "the bus", Caller: "app", OnFailure: "outbox | holds",
		Paths: []dependencies.Path{{Route: dependencies.Interface, Service: "events"}, {Route: dependencies.ViaService, Service: "ssm"}},
		Grants: []dependencies.Grant{{Role: naming.TaskRole, Actions: []string{"events:PutEvents"},
			Resources: func(s dependencies.Scope) []string {
				return []string{"arn:" + s.Account + ":" + s.Names.Name(naming.EventBus)}
			}}},
		NoAppTest: "none here", Alarms: []dependencies.Alarm{{Key: "canary-success", Pages: true}, {Key: "outbox-backlog-age"}},
		Answer: "the relay",
	}
	quiet := row
	quiet.Key, quiet.Alarms, quiet.Unwatched = "logs", nil, "nobody looks"
	got := Dependencies([]dependencies.Row{row, quiet}, []StackEgress{{"dev", "nat"}, {"prod", "endpoints"}})
	for _, want := range []string{
		"| dependency | caller | path in dev (`nat`) | path in prod (`endpoints`) | IAM |",
		"NAT gateway to the public `events` endpoint",
		"interface endpoint `com.amazonaws.us-east-1.events`",
		"none of its own: `ssm` call it for the caller",
		"`role-task-<suffix>`: `events:PutEvents` on `arn:<account>:events-<suffix>`",
		"outbox \\| holds",
		"none: none here",
		"`alarm-canary-success-<suffix>` (pages), `alarm-outbox-backlog-age-<suffix>`",
		"none: nobody looks",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("dependency table lacks %q:\n%s", want, got)
		}
	}
}

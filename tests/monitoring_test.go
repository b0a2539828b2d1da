package tests

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/audit"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/archive"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/asset"

	"github.com/trading-ha/trading-ha/infra/monitoring"
	"github.com/trading-ha/trading-ha/infra/monitoring/canary"
	"github.com/trading-ha/trading-ha/proof/offline"
)

const (
	typCanary     = "aws:synthetics/canary:Canary"
	typAlarm      = "aws:cloudwatch/metricAlarm:MetricAlarm"
	typComposite  = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
	typTopic      = "aws:sns/topic:Topic"
	typTopicPol   = "aws:sns/topicPolicy:TopicPolicy"
	typSub        = "aws:sns/topicSubscription:TopicSubscription"
	typObject     = "aws:s3/bucketObjectv2:BucketObjectv2"
	typDashboard  = "aws:cloudwatch/dashboard:Dashboard"
	typRolePolicy = "aws:iam/rolePolicy:RolePolicy"
)

// The failure-mode table's budgets (docs/resilience.md, "Failure modes and
// budgets"), in seconds.
const (
	budgetEndpointUnreachable = 5 * 60
	budgetAZLoss              = 60
)

var azs = []string{"us-east-1a", "us-east-1b", "us-east-1c"}

func telemetryKey(t *testing.T, rec *offline.Recording) string {
	return out(t, one(t, rec, "aws:kms/key:Key", "key-telemetry"), "arn")
}

func logsBucket(t *testing.T, rec *offline.Recording) (name, arn string) {
	b := one(t, rec, "aws:s3/bucketV2:BucketV2", "logs")
	return out(t, b, "bucket"), out(t, b, "arn")
}

// topicArn is the paging topic; notifyArn the notification topic.
func topicArn(stack string) string { return "arn:aws:sns:us-east-1:123456789012:alarms-" + stack }

func notifyArn(stack string) string { return "arn:aws:sns:us-east-1:123456789012:notify-" + stack }

func backstopArn(stack string) string {
	return "arn:aws:sns:us-east-1:123456789012:alarms-backstop-" + stack
}

// TestPagingAndNotifyTopics: three TLS-only topics publishable by our
// account's alarm services: "alarms" and "alarms-backstop" page (under the
// telemetry and the paging key), "notify" does not. Prod subscribes its
// paging service and on-call rota to both paging topics; dev mails its
// notifications only.
func TestPagingAndNotifyTopics(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		paging := out(t, one(t, rec, "aws:kms/key:Key", "key-paging"), "arn")
		for logical, arn := range map[string]string{"alarms": topicArn(stack), "alarms-backstop": backstopArn(stack), "notify": notifyArn(stack)} {
			topic := one(t, rec, typTopic, logical)
			eq(t, topic, "name", logical+"-"+stack)
			key := telemetryKey(t, rec)
			if logical == "alarms-backstop" {
				key = paging
			}
			eq(t, topic, "kmsMasterKeyId", key)
			pol := one(t, rec, typTopicPol, logical+"-policy")
			eq(t, pol, "arn", arn)
			var doc policyDoc
			jsonInput(t, pol, "policy", &doc)
			if len(doc.Statement) != 2 {
				t.Fatalf("%d statements, want 2", len(doc.Statement))
			}
			deny, allow := doc.Statement[0], doc.Statement[1]
			if deny.Effect != "Deny" || deny.Principal["AWS"] != "*" || !slices.Equal(deny.Action, []string{"sns:*"}) ||
				!slices.Equal(deny.Resource, []string{arn}) || deny.Condition["Bool"]["aws:SecureTransport"] != "false" {
				t.Errorf("TLS-only statement wrong: %+v", deny)
			}
			services, _ := allow.Principal["Service"].([]any)
			if allow.Effect != "Allow" || fmt.Sprint(services) != "[cloudwatch.amazonaws.com events.amazonaws.com backup.amazonaws.com]" ||
				!slices.Equal(allow.Action, []string{"sns:Publish"}) || !slices.Equal(allow.Resource, []string{arn}) ||
				allow.Condition["StringEquals"]["aws:SourceAccount"] != offline.AccountID {
				t.Errorf("publisher statement wrong: %+v", allow)
			}
		}
		subs := rec.ByType(typSub)
		switch stack {
		case "dev":
			sub := one(t, rec, typSub, "notify-email-trading-dev-alerts@acmebank.net")
			eq(t, sub, "topic", notifyArn("dev"))
			if len(subs) != 1 {
				t.Errorf("%d subscriptions in dev, want 1 (the notification address)", len(subs))
			}
		case "prod":
			for logical, arn := range map[string]string{"alarms": topicArn(stack), "alarms-backstop": backstopArn(stack)} {
				sub := one(t, rec, typSub, logical+"-email-trading-oncall@acmebank.net")
				eq(t, sub, "protocol", "email")
				eq(t, sub, "endpoint", "trading-oncall@acmebank.net")
				eq(t, sub, "topic", arn)
				https := one(t, rec, typSub, logical+"-https")
				eq(t, https, "protocol", "https")
				eq(t, https, "topic", arn)
				eq(t, https, "endpoint", "https://events.pagerduty.com/integration/00000000000000000000000000000000/enqueue")
				if v, ok := https.Raw["endpoint"]; !ok || !v.IsSecret() {
					t.Errorf("%s: the paging service's URL (it carries the integration key) is not secret", https.Name)
				}
			}
			eq(t, one(t, rec, typSub, "notify-email-trading-platform@acmebank.net"), "topic", notifyArn(stack))
			if len(subs) != 5 {
				t.Errorf("%d subscriptions in prod, want 5 (paging service and on-call mail on both paging topics, the platform team on notify)", len(subs))
			}
		}
	})
	rec, err := recordWith(t, "dev", map[string]string{
		"trading-ha:pageEmails": `["a@acmebank.net","b@acmebank.net"]`, "trading-ha:notifyEmails": `["ops@acmebank.net"]`,
		"trading-ha:pageHttpsEndpoint": "https://events.pagerduty.com/integration/abc/enqueue",
	})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, one(t, rec, typSub, "alarms-email-b@acmebank.net"), "endpoint", "b@acmebank.net")
	eq(t, one(t, rec, typSub, "alarms-backstop-email-b@acmebank.net"), "topic", backstopArn("dev"))
	eq(t, one(t, rec, typSub, "notify-email-ops@acmebank.net"), "topic", notifyArn("dev"))
	https := one(t, rec, typSub, "alarms-https")
	eq(t, https, "protocol", "https")
	eq(t, https, "endpoint", "https://events.pagerduty.com/integration/abc/enqueue")
	eq(t, https, "endpointAutoConfirms", true)
	if n := len(rec.ByType(typSub)); n != 7 {
		t.Errorf("%d subscriptions, want 7", n)
	}
}

// TestProdMustPageSomebody: prod without a paging service, or without
// on-call mail beside it, fails at preview, naming the key.
func TestProdMustPageSomebody(t *testing.T) {
	rejects(t, "prod", map[string]string{"trading-ha:pageEmails": "[]"}, []string{"trading-ha:pageEmails", "prod must also page by email"})
	rejects(t, "prod", map[string]string{"trading-ha:pageHttpsEndpoint": ""}, []string{"trading-ha:pageHttpsEndpoint", "paging service that acknowledges and escalates"})
	rejects(t, "dev", map[string]string{"trading-ha:pageEmails": `["oncall"]`}, []string{"trading-ha:pageEmails", `"oncall"`, "email address"})
	rejects(t, "dev", map[string]string{"trading-ha:pageHttpsEndpoint": "http://pager.example.net/x"}, []string{"trading-ha:pageHttpsEndpoint", "https:// URL"})
}

// TestCanary: runtime, handler, schedule per stack, code from the versioned
// object, artifacts in our bucket under KMS, run settings, cleanup on destroy.
func TestCanary(t *testing.T) {
	schedule := map[string]string{"dev": "rate(5 minutes)", "prod": "rate(1 minute)"}
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		bucket, _ := logsBucket(t, rec)
		code := one(t, rec, typObject, "canary-code")
		eq(t, code, "bucket", bucket)
		eq(t, code, "key", "canary-code/canary-"+stack+".zip")

		c := one(t, rec, typCanary, "api")
		eq(t, c, "name", "canary-"+stack)
		eq(t, c, "runtimeVersion", canary.Runtime)
		eq(t, c, "handler", canary.Handler)
		eq(t, c, "schedule.expression", schedule[stack])
		eq(t, c, "s3Bucket", bucket)
		eq(t, c, "s3Key", "canary-code/canary-"+stack+".zip")
		eq(t, c, "s3Version", out(t, code, "versionId"))
		eq(t, c, "artifactS3Location", "s3://"+bucket+"/canary/")
		eq(t, c, "artifactConfig.s3Encryption.encryptionMode", "SSE_KMS")
		eq(t, c, "artifactConfig.s3Encryption.kmsKeyArn", telemetryKey(t, rec))
		eq(t, c, "runConfig.timeoutInSeconds", 60)
		eq(t, c, "runConfig.memoryInMb", 960)
		eq(t, c, "runConfig.activeTracing", true)
		// The canary authenticates as its own Cognito client (CONTRACT.md).
		env := map[string]any{
			"TARGET_URL":              "https://" + probeHost(stack),
			"TOKEN_URL":               "https://auth-trading-" + stack + "-a1b2c3d4.auth.us-east-1.amazoncognito.com/oauth2/token",
			"CLIENT_ID":               out(t, one(t, rec, "aws:cognito/userPoolClient:UserPoolClient", "identity-client-canary"), "id"),
			"CLIENT_SECRET_PARAMETER": "/trading/" + stack + "/probes/canary/client-secret",
		}
		if !servesClients(stack) {
			// dev probes the ALB's name, which its self-signed certificate
			// cannot match; prod verifies its CA-issued certificate.
			env["TLS_INSECURE"] = "true"
		}
		eq(t, c, "runConfig.environmentVariables", env)
		eq(t, c, "deleteLambda", true)
		eq(t, c, "startCanary", true)
		eq(t, c, "successRetentionPeriod", 7)
		eq(t, c, "failureRetentionPeriod", 31)
		eq(t, c, "executionRoleArn", "arn:aws:iam::123456789012:role/role-canary-"+stack)
		if _, ok := c.Inputs["zipFile"]; ok {
			t.Error("canary must take its code from S3, not zipFile")
		}
	})
}

// TestCanaryCodeArchive: the uploaded object is a zip holding the embedded
// script at canary.ScriptPath, as the engine would build it.
func TestCanaryCodeArchive(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		code := one(t, rec, typObject, "canary-code")
		a, ok := get(t, code, "source").(*archive.Archive)
		if !ok {
			t.Fatalf("source is %T, want an archive", get(t, code, "source"))
		}
		assets, _ := a.GetAssets()
		if len(assets) != 1 {
			t.Fatalf("archive holds %d entries, want 1", len(assets))
		}
		s, ok := assets[canary.ScriptPath].(*asset.Asset)
		if !ok || s.Text != string(canary.Script()) {
			t.Fatalf("archive entry %s is %T or differs from the embedded script", canary.ScriptPath, assets[canary.ScriptPath])
		}
		b, err := a.Bytes(archive.ZIPArchive)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		if len(zr.File) != 1 || zr.File[0].Name != canary.ScriptPath {
			t.Fatalf("zip entries %v, want [%s]", zr.File, canary.ScriptPath)
		}
		f, _ := zr.File[0].Open()
		body, _ := io.ReadAll(f)
		if !bytes.Equal(body, canary.Script()) {
			t.Error("zipped script differs from canary.Script()")
		}
	})
}

// TestCanaryRole: trusted by Lambda; each action on exactly the resources
// the documented canary role needs, narrowed to ours.
func TestCanaryRole(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		role := one(t, rec, "aws:iam/role:Role", "canary-role")
		eq(t, role, "name", "role-canary-"+stack)
		var trust policyDoc
		jsonInput(t, role, "assumeRolePolicy", &trust)
		if len(trust.Statement) != 1 || trust.Statement[0].Principal["Service"] != "lambda.amazonaws.com" ||
			!slices.Equal(trust.Statement[0].Action, []string{"sts:AssumeRole"}) {
			t.Errorf("trust policy %+v", trust)
		}

		_, bucketArn := logsBucket(t, rec)
		keys := arn.In(offline.Region, acct).Keys()
		p := one(t, rec, typRolePolicy, "canary-policy")
		eq(t, p, "role", "role-canary-"+stack)
		var doc policyDoc
		jsonInput(t, p, "policy", &doc)
		got := map[string][]string{}
		for _, s := range doc.Statement {
			if s.Effect != "Allow" {
				t.Errorf("statement %s is %s", s.Sid, s.Effect)
			}
			for _, a := range s.Action {
				if strings.Contains(a, "*") {
					t.Errorf("wildcard action %s", a)
				}
				got[a] = append(got[a], s.Resource...)
			}
			if slices.Contains(s.Action, "cloudwatch:PutMetricData") &&
				s.Condition["StringEquals"]["cloudwatch:namespace"] != "CloudWatchSynthetics" {
				t.Errorf("PutMetricData not limited to the CloudWatchSynthetics namespace: %v", s.Condition)
			}
		}
		logs := "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/cwsyn-canary-" + stack + "-*"
		// No logs:CreateLogGroup: the group is the stack's
		// (TestRuntimeLogGroupsBeatTheirWriters).
		want := map[string][]string{
			"s3:PutObject":             {bucketArn + "/canary/*"},
			"s3:GetBucketLocation":     {bucketArn},
			"s3:ListAllMyBuckets":      {"*"},
			"logs:CreateLogStream":     {logs},
			"logs:PutLogEvents":        {logs},
			"cloudwatch:PutMetricData": {"*"},
			"xray:PutTraceSegments":    {"*"},
			"kms:GenerateDataKey":      {keys},
			// The telemetry key for artifacts; the data key for the client
			// secret, only through SSM (both by alias: checked below).
			"kms:Decrypt":      {keys, keys},
			"ssm:GetParameter": {"arn:aws:ssm:us-east-1:123456789012:parameter/trading/" + stack + "/probes/canary/client-secret"},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("canary permissions\n got %v\nwant %v", got, want)
		}
		keyGrantIs(t, "canary policy", statementBySid(t, "canary policy", doc, "EncryptArtifacts"), "alias/kms-telemetry-"+stack, nil)
		keyGrantIs(t, "canary policy", statementBySid(t, "canary policy", doc, "DecryptClientSecret"), "alias/kms-data-"+stack,
			map[string]map[string]any{"StringEquals": {"kms:ViaService": "ssm.us-east-1.amazonaws.com"}})
	})
}

// alarmWant is what one metric alarm must say.
type alarmWant struct {
	namespace, metric, stat string
	dims                    map[string]any
	comparison              string
	threshold               float64
	period, evals, dtA      int
	missing                 string
}

// albSuffixes are the recorded ALB and target group arnSuffix outputs the
// alarm dimensions carry.
func albSuffixes(t *testing.T, rec *offline.Recording) (lb, tg string) {
	t.Helper()
	return out(t, one(t, rec, "aws:lb/loadBalancer:LoadBalancer", "alb"), "arnSuffix"),
		out(t, one(t, rec, "aws:lb/targetGroup:TargetGroup", "app"), "arnSuffix")
}

func expectedAlarms(t *testing.T, stack string, rec *offline.Recording) map[string]alarmWant {
	t.Helper()
	lb, tg := albSuffixes(t, rec)
	canaryPeriod := map[string]int{"dev": 300, "prod": 60}[stack]
	w := map[string]alarmWant{
		"canary-success": {"CloudWatchSynthetics", "SuccessPercent", "Average", map[string]any{"CanaryName": "canary-" + stack},
			// dev's 5-minute canary is judged run by run (1 of 1) so its
			// path stays inside the RTO; prod's 1-minute canary 2 of 2.
			"LessThanThreshold", 100, canaryPeriod, perStack(stack, 1, 2), perStack(stack, 1, 2), "breaching"},
		"r53-health": {"AWS/Route53", "HealthCheckStatus", "Minimum", map[string]any{"HealthCheckId": "healthcheck-HCID"},
			"LessThanThreshold", 1, 60, 2, 2, "breaching"},
		"target-5xx": {"AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", map[string]any{"LoadBalancer": lb},
			"GreaterThanThreshold", 10, 60, 2, 2, "notBreaching"},
		"p99-latency": {"AWS/ApplicationELB", "TargetResponseTime", "p99", map[string]any{"LoadBalancer": lb},
			"GreaterThanThreshold", 1, 60, 2, 2, "notBreaching"},
		"unhealthy-hosts": {"AWS/ApplicationELB", "UnHealthyHostCount", "Maximum", map[string]any{"LoadBalancer": lb, "TargetGroup": tg},
			"GreaterThanThreshold", 0, 60, 2, 2, "notBreaching"},
		"ecs-running-tasks": {"ECS/ContainerInsights", "RunningTaskCount", "Minimum",
			map[string]any{"ClusterName": "ecs-" + stack, "ServiceName": "svc-trading-" + stack},
			"LessThanThreshold", 3, 60, 2, 2, "breaching"},
	}
	for _, az := range azs {
		w["healthy-hosts-"+az] = alarmWant{"AWS/ApplicationELB", "HealthyHostCount", "Minimum",
			map[string]any{"LoadBalancer": lb, "TargetGroup": tg, "AvailabilityZone": az}, "LessThanThreshold", 1, 60, 1, 1, "breaching"}
	}
	// One set per Aurora instance: dev runs a writer and one reader, prod two readers.
	instances := map[string]int{"dev": 2, "prod": 3}[stack]
	for i := 1; i <= instances; i++ {
		n := strconv.Itoa(i)
		dims := map[string]any{"DBInstanceIdentifier": "aurora-" + stack + "-" + n}
		w["aurora-"+n+"-cpu"] = alarmWant{"AWS/RDS", "CPUUtilization", "Average", dims, "GreaterThanThreshold", 80, 60, 2, 2, "notBreaching"}
		w["aurora-"+n+"-memory"] = alarmWant{"AWS/RDS", "FreeableMemory", "Minimum", dims, "LessThanThreshold", 256 * 1024 * 1024, 60, 2, 2, "notBreaching"}
		w["aurora-"+n+"-connections"] = alarmWant{"AWS/RDS", "DatabaseConnections", "Maximum", dims, "GreaterThanThreshold", 400, 60, 2, 2, "notBreaching"}
		w["aurora-"+n+"-replica-lag"] = alarmWant{"AWS/RDS", "AuroraReplicaLag", "Maximum", dims, "GreaterThanThreshold", 2000, 60, 2, 2, "notBreaching"}
	}
	for _, sm := range []string{"sm-health-check", "sm-backup-verify", "sm-db-failover", "sm-svc-recovery", "sm-svc-snapshot", "sm-migrate"} {
		w[sm+"-failed"] = alarmWant{"AWS/States", "ExecutionsFailed", "Sum",
			map[string]any{"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:" + sm + "-" + stack},
			"GreaterThanThreshold", 0, 60, 1, 1, "notBreaching"}
	}
	// The key sync runs every minute and retries on its next run: it
	// alarms after 3 periods in a row with a failed execution.
	w["sm-key-sync-failed"] = alarmWant{"AWS/States", "ExecutionsFailed", "Sum",
		map[string]any{"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:sm-key-sync-" + stack},
		"GreaterThanThreshold", 0, 60, 3, 3, "notBreaching"}
	return w
}

// alarmCommon checks name, actions and M-of-N of every metric alarm.
func alarmCommon(t *testing.T, stack string, a *offline.Resource, key string, w alarmWant) {
	t.Helper()
	eq(t, a, "name", "alarm-"+key+"-"+stack)
	eq(t, a, "alarmActions", []string{notifyArn(stack)})
	eq(t, a, "okActions", []string{notifyArn(stack)})
	eq(t, a, "actionsEnabled", true)
	eq(t, a, "comparisonOperator", w.comparison)
	eq(t, a, "threshold", w.threshold)
	eq(t, a, "evaluationPeriods", w.evals)
	eq(t, a, "datapointsToAlarm", w.dtA)
	eq(t, a, "treatMissingData", w.missing)
}

// TestMetricAlarms: every single-metric alarm, by value.
func TestMetricAlarms(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		hcID := one(t, rec, typHealthCheck, "endpoint").ID
		want := expectedAlarms(t, stack, rec)
		for key, w := range want {
			t.Run(key, func(t *testing.T) {
				a := one(t, rec, typAlarm, "alarm-"+key)
				if w.namespace == "AWS/Route53" {
					w.dims = map[string]any{"HealthCheckId": hcID}
				}
				alarmCommon(t, stack, a, key, w)
				eq(t, a, "namespace", w.namespace)
				eq(t, a, "metricName", w.metric)
				eq(t, a, "dimensions", w.dims)
				eq(t, a, "period", w.period)
				if strings.HasPrefix(w.stat, "p") {
					eq(t, a, "extendedStatistic", w.stat)
					eq(t, a, "evaluateLowSampleCountPercentiles", "ignore")
				} else {
					eq(t, a, "statistic", w.stat)
				}
			})
		}
		// 6 single + 3 AZ + 4 per Aurora instance + 7 state machines, plus 1 ALB rate, 2 DynamoDB and 6 zonal outlier
		// (TestZonalOutlierAlarms) math alarms and the maintenance suppressor;
		// the failure paths (3 DLQ depths, 11 rules' failed deliveries, 1 scheduler, 2 outbox, 1 risk-limit age): TestDeliveryFailureAlarms;
		// 2 certificate expiry, 2 paging topic delivery and the service's 2 deployment gates: tests/paging_test.go.
		// The trail's CIS alarms: tests/audit_test.go.
		if n, w := len(rec.ByType(typAlarm)), len(want)+10+18+4+2+len(audit.Watches); n != w {
			t.Errorf("%d metric alarms, want %d", n, w)
		}
	})
}

type query struct {
	ID         string
	Expression string
	ReturnData bool
	Metric     struct {
		Namespace  string
		MetricName string
		Stat       string
		Period     int
		Dimensions map[string]string
	}
}

func queries(t *testing.T, a *offline.Resource) map[string]query {
	t.Helper()
	b, _ := json.Marshal(get(t, a, "metricQueries"))
	var qs []query
	if err := json.Unmarshal(b, &qs); err != nil {
		t.Fatal(err)
	}
	out := map[string]query{}
	returned := 0
	for _, q := range qs {
		out[q.ID] = q
		if q.ReturnData {
			returned++
		}
	}
	if returned != 1 || !out["e1"].ReturnData {
		t.Errorf("%s: exactly e1 must return data", a.Name)
	}
	return out
}

// TestMetricMathAlarms: the ALB 5xx rate and the DynamoDB sums over every
// operation.
func TestMetricMathAlarms(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		lb, _ := albSuffixes(t, rec)
		a := one(t, rec, typAlarm, "alarm-alb-5xx-rate")
		alarmCommon(t, stack, a, "alb-5xx-rate", alarmWant{comparison: "GreaterThanThreshold", threshold: 5, evals: 2, dtA: 2, missing: "notBreaching"})
		q := queries(t, a)
		if q["e1"].Expression != "100 * FILL(elb5xx, 0) / requests" {
			t.Errorf("rate expression %q", q["e1"].Expression)
		}
		for id, m := range map[string]string{"elb5xx": "HTTPCode_ELB_5XX_Count", "requests": "RequestCount"} {
			got := q[id].Metric
			if got.Namespace != "AWS/ApplicationELB" || got.MetricName != m || got.Stat != "Sum" || got.Period != 60 ||
				fmt.Sprint(got.Dimensions) != fmt.Sprint(map[string]string{"LoadBalancer": lb}) {
				t.Errorf("%s: %+v", id, got)
			}
		}

		for key, metric := range map[string]string{"throttles": "ThrottledRequests", "system-errors": "SystemErrors"} {
			a := one(t, rec, typAlarm, "alarm-ddb-sessions-"+key)
			alarmCommon(t, stack, a, "ddb-sessions-"+key, alarmWant{comparison: "GreaterThanThreshold", threshold: 0, evals: 2, dtA: 2, missing: "notBreaching"})
			q := queries(t, a)
			var ops, ids []string
			for id, m := range q {
				if id == "e1" {
					continue
				}
				ids = append(ids, "FILL("+id+", 0)")
				if m.Metric.Namespace != "AWS/DynamoDB" || m.Metric.MetricName != metric || m.Metric.Stat != "Sum" ||
					m.Metric.Dimensions["TableName"] != "sessions-"+stack || len(m.Metric.Dimensions) != 2 {
					t.Errorf("%s %s: %+v", key, id, m.Metric)
				}
				ops = append(ops, m.Metric.Dimensions["Operation"])
			}
			sort.Strings(ops)
			// Every operation DynamoDB publishes the two metrics for.
			wantOps := slices.Sorted(slices.Values([]string{"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan",
				"BatchGetItem", "BatchWriteItem", "TransactGetItems", "TransactWriteItems"}))
			if !slices.Equal(ops, wantOps) || len(q) != 11 {
				t.Errorf("%s operations %v, want %v (10 metrics + 1 expression)", key, ops, wantOps)
			}
			sum := q["e1"].Expression
			for _, id := range ids {
				if !strings.Contains(sum, id) {
					t.Errorf("%s expression %q does not sum %s", key, sum, id)
				}
			}
			if !strings.HasPrefix(sum, "SUM([") {
				t.Errorf("%s expression %q", key, sum)
			}
		}
	})
}

// TestCompositeAlarm: the one alarm that pages, on customer impact only
// (canary, Route 53, ALB 5xx rate, p99 latency; not the per-AZ causes a
// drill lowers), suppressed by the maintenance alarm.
func TestCompositeAlarm(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		c := one(t, rec, typComposite, "degraded")
		eq(t, c, "alarmName", "alarm-degraded-"+stack)
		eq(t, c, "alarmActions", []string{topicArn(stack), backstopArn(stack)})
		eq(t, c, "okActions", []string{topicArn(stack), backstopArn(stack)})
		eq(t, c, "actionsSuppressor.alarm", "alarm-maintenance-"+stack)
		eq(t, c, "actionsSuppressor.waitPeriod", 60)
		eq(t, c, "actionsSuppressor.extensionPeriod", 300)
		m := one(t, rec, typAlarm, "alarm-maintenance")
		eq(t, m, "namespace", "TradingHA/Operations")
		eq(t, m, "metricName", "MaintenanceWindow")
		eq(t, m, "dimensions", map[string]any{"Stack": stack})
		eq(t, m, "treatMissingData", "notBreaching")
		eq(t, m, "actionsEnabled", false)
		var terms []string
		for _, k := range []string{"canary-success", "r53-health", "alb-5xx-rate", "p99-latency"} {
			terms = append(terms, `ALARM("alarm-`+k+`-`+stack+`")`)
		}
		eq(t, c, "alarmRule", strings.Join(terms, " OR "))
		// Every alarm the rule names exists.
		rule := get(t, c, "alarmRule").(string)
		for _, m := range regexp.MustCompile(`ALARM\("([^"]+)"\)`).FindAllStringSubmatch(rule, -1) {
			found := false
			for _, a := range rec.ByType(typAlarm) {
				found = found || a.Inputs["name"] == m[1]
			}
			if !found {
				t.Errorf("rule names %s, which is not an alarm", m[1])
			}
		}
	})
}

// TestDashboard: the body is JSON with a header and graphs for every tier,
// plotting our resources.
func TestDashboard(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		d := one(t, rec, typDashboard, "dashboard")
		eq(t, d, "dashboardName", "dashboard-"+stack)
		var body monitoring.Body
		jsonInput(t, d, "dashboardBody", &body)
		metrics := map[string][]string{}
		headers := map[string]bool{}
		for _, w := range body.Widgets {
			if w.Type == "text" {
				headers[strings.TrimPrefix(w.Properties.Markdown, "## ")] = true
				continue
			}
			tier, _, ok := strings.Cut(w.Properties.Title, ": ")
			if !ok || w.Type != "metric" || w.Properties.Region != "us-east-1" || len(w.Properties.Metrics) == 0 {
				t.Errorf("widget %+v", w)
			}
			for _, m := range w.Properties.Metrics {
				metrics[tier] = append(metrics[tier], fmt.Sprint(m))
			}
		}
		want := map[string][]string{
			"edge":       {"RequestCount", "HTTPCode_ELB_5XX_Count", "TargetResponseTime", "HealthyHostCount"},
			"app":        {"RunningTaskCount", "CPUUtilization", "MemoryUtilization", "ExecutionsFailed"},
			"data":       {"CPUUtilization", "AuroraReplicaLag", "DatabaseConnections", "SuccessfulRequestLatency", "ThrottledRequests", "aurora-" + stack + "-2"},
			"synthetics": {"SuccessPercent CanaryName canary-" + stack},
		}
		for tier, names := range want {
			if !headers[tier] {
				t.Errorf("no header for tier %s", tier)
			}
			all := strings.Join(metrics[tier], "\n")
			for _, n := range names {
				if !strings.Contains(all, n) {
					t.Errorf("tier %s does not plot %s", tier, n)
				}
			}
		}
	})
}

// TestDetectionFitsGuideBudgets computes the worst-case detection time of
// each failure mode from the recorded health check, canary and alarm
// settings and holds it to the failure-mode table's budgets
// (docs/resilience.md).
func TestDetectionFitsGuideBudgets(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		window := func(key string) int {
			a := one(t, rec, typAlarm, "alarm-"+key)
			return int(get(t, a, "period").(float64) * get(t, a, "evaluationPeriods").(float64))
		}
		hc := one(t, rec, typHealthCheck, "endpoint")
		r53 := int(get(t, hc, "requestInterval").(float64)*get(t, hc, "failureThreshold").(float64)) + window("r53-health")

		c := one(t, rec, typCanary, "api")
		sub := regexp.MustCompile(`^rate\((\d+) minutes?\)$`).FindStringSubmatch(get(t, c, "schedule.expression").(string))
		if sub == nil {
			t.Fatalf("schedule %v is not a rate in minutes", get(t, c, "schedule.expression"))
		}
		minutes, _ := strconv.Atoi(sub[1])
		canaryPath := minutes*60 + int(get(t, c, "runConfig.timeoutInSeconds").(float64)) + window("canary-success")

		endpoint := min(r53, canaryPath)
		t.Logf("endpoint unreachable: Route 53 path %d s, canary path %d s -> pages after %d s (budget %d s)", r53, canaryPath, endpoint, budgetEndpointUnreachable)
		if endpoint > budgetEndpointUnreachable {
			t.Errorf("endpoint unreachable pages after %d s; budget %d s", endpoint, budgetEndpointUnreachable)
		}
		if r53 > budgetEndpointUnreachable {
			t.Errorf("Route 53 path alone takes %d s; it must fit %d s on its own", r53, budgetEndpointUnreachable)
		}
		// In prod the canary alone must also fit: it is the deeper check.
		if stack == "prod" && canaryPath > budgetEndpointUnreachable {
			t.Errorf("prod canary path takes %d s; budget %d s", canaryPath, budgetEndpointUnreachable)
		}

		az := 0
		for _, zone := range azs {
			az = max(az, window("healthy-hosts-"+zone))
		}
		t.Logf("AZ loss: healthy-host alarm window %d s (budget %d s)", az, budgetAZLoss)
		// ALB metrics have one-minute resolution: one 60 s datapoint is the
		// earliest CloudWatch can see an AZ go dark. The ALB itself stops
		// routing to the AZ sooner (target health checks, service component).
		if az > budgetAZLoss {
			t.Errorf("AZ loss alarm window %d s; budget %d s", az, budgetAZLoss)
		}

	})
}

// TestDeliveryFailureAlarms: every dead-letter queue has a depth alarm,
// every EventBridge rule (both buses) a failed-delivery alarm, and
// EventBridge Scheduler's failures one alarm; each notifies.
func TestDeliveryFailureAlarms(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		for _, q := range []string{"dlq", "orders-dlq", "sched-dlq"} {
			a := one(t, rec, typAlarm, "alarm-depth-"+q)
			eq(t, a, "name", "alarm-depth-"+q+"-"+stack)
			eq(t, a, "metricName", "ApproximateNumberOfMessagesVisible")
			eq(t, a, "dimensions", map[string]any{"QueueName": q + "-" + stack})
			eq(t, a, "threshold", 0)
			eq(t, a, "alarmActions", []string{notifyArn(stack)})
			// The queue exists in the recording under that name.
			found := false
			for _, r := range rec.ByType("aws:sqs/queue:Queue") {
				found = found || r.Inputs["name"] == q+"-"+stack
			}
			if !found {
				t.Errorf("alarm watches queue %s-%s, which the stack does not create", q, stack)
			}
		}
		rules := rec.ByType("aws:cloudwatch/eventRule:EventRule")
		for _, r := range rules {
			name := get(t, r, "name").(string)
			a := one(t, rec, typAlarm, "alarm-"+strings.TrimSuffix(name, "-"+stack)+"-failed")
			eq(t, a, "name", "alarm-"+strings.TrimSuffix(name, "-"+stack)+"-failed-"+stack)
			metrics := map[string]map[string]string{}
			for _, q := range queries(t, a) {
				if q.Metric.MetricName != "" {
					metrics[q.Metric.MetricName] = q.Metric.Dimensions
				}
			}
			wantDims := map[string]string{"RuleName": name}
			if bus := r.Inputs["eventBusName"].(string); bus != "default" {
				wantDims["EventBusName"] = bus
			}
			for _, m := range []string{"FailedInvocations", "InvocationsFailedToBeSentToDlq"} {
				if fmt.Sprint(metrics[m]) != fmt.Sprint(wantDims) {
					t.Errorf("%s: %s dimensions %v, want %v", a.Name, m, metrics[m], wantDims)
				}
			}
		}
		if n := len(rules); n != 11 {
			t.Errorf("%d rules, want 11", n)
		}
		// And no alarm watches a rule the stack does not create.
		failed := 0
		for _, a := range rec.ByType(typAlarm) {
			if n, _ := a.Inputs["name"].(string); strings.HasPrefix(n, "alarm-rule-") && strings.HasSuffix(n, "-failed-"+stack) {
				failed++
			}
		}
		if failed != len(rules) {
			t.Errorf("%d failed-delivery alarms for %d rules", failed, len(rules))
		}
		s := one(t, rec, typAlarm, "alarm-scheduler-failures")
		eq(t, s, "alarmActions", []string{notifyArn(stack)})
		// The service's outbox, as CONTRACT.md section 7 publishes it.
		age := one(t, rec, typAlarm, "alarm-outbox-backlog-age")
		eq(t, age, "namespace", "Trading/"+stack)
		eq(t, age, "metricName", "OutboxOldestUnpublishedAgeSeconds")
		eq(t, age, "dimensions", map[string]any{"Service": "trading"})
		eq(t, age, "statistic", "Maximum")
		eq(t, age, "threshold", 300)
		eq(t, age, "evaluationPeriods", 2)
		// The risk inputs' age, per task (Maximum): notifies at half the
		// service's refusal bound, limits/max-staleness-seconds (60 s).
		stale := one(t, rec, typAlarm, "alarm-risk-limits-stale")
		eq(t, stale, "namespace", "Trading/"+stack)
		eq(t, stale, "metricName", "RiskLimitsAgeSeconds")
		eq(t, stale, "dimensions", map[string]any{"Service": "trading"})
		eq(t, stale, "statistic", "Maximum")
		eq(t, stale, "threshold", 30)
		eq(t, stale, "evaluationPeriods", 2)
		eq(t, stale, "alarmActions", []string{notifyArn(stack)})
		dl := one(t, rec, typAlarm, "alarm-outbox-dead-letters")
		eq(t, dl, "metricName", "OutboxDeadLetterCount")
		eq(t, dl, "threshold", 0)
		// The container publishes into exactly that namespace.
		if !strings.Contains(get(t, one(t, rec, "aws:ecs/taskDefinition:TaskDefinition", "app"), "containerDefinitions").(string), `"METRICS_NAMESPACE","value":"Trading/`+stack+`"`) {
			t.Error("the container's METRICS_NAMESPACE is not the alarms' namespace")
		}
	})
}

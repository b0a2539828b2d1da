package monitoring

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	awsarn "github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/naming"
)

// EventRule is an EventBridge rule whose failed deliveries notify. Bus is
// empty for the default bus: its metrics carry RuleName only, a custom
// bus's carry EventBusName and RuleName (Amazon EventBridge User Guide,
// Monitoring Amazon EventBridge).
type EventRule struct {
	Name string
	Bus  string
}

// SchedulerDLQRetentionSeconds keeps undelivered schedule invocations for
// 14 days, SQS's maximum (SetQueueAttributes, MessageRetentionPeriod).
const SchedulerDLQRetentionSeconds = 1209600

// deliverySpecs are the alarms on the failure paths nobody watches
// otherwise: messages in any dead-letter queue, EventBridge rule
// invocations that failed permanently or could not even reach their DLQ,
// and EventBridge Scheduler invocations that failed, were dropped or could
// not reach their DLQ. Each notifies; none pages.
func deliverySpecs(args Args, schedulerDLQ string) []alarmSpec {
	f := func(v float64) pulumi.Float64Input { return pulumi.Float64(v) }
	period := args.Monitoring.AlarmPeriodSeconds
	var specs []alarmSpec
	queues := append(append([]string{}, args.DeadLetterQueues...), schedulerDLQ)
	// Keys drop the stack suffix: the alarm name adds it once.
	bare := func(name string) string { return strings.TrimSuffix(name, "-"+args.Names.Suffix()) }
	for _, q := range queues {
		specs = append(specs, alarmSpec{
			key:         "depth-" + bare(q),
			description: "Dead-letter queue " + q + " holds messages: deliveries failed after their retries; inspect and redrive.",
			single: &metric{namespace: "AWS/SQS", name: "ApproximateNumberOfMessagesVisible",
				dims: pulumi.StringMap{"QueueName": pulumi.String(q)}, stat: "Maximum"},
			comparison: "GreaterThanThreshold", threshold: f(0),
			period: period, evaluation: 1, datapoints: 1,
			// SQS stops publishing for queues idle for six hours: an empty,
			// idle DLQ is the healthy state.
			missing: missingNotBreaching,
		})
	}
	for _, r := range args.EventRules {
		dims := pulumi.StringMap{"RuleName": pulumi.String(r.Name)}
		if r.Bus != "" {
			dims["EventBusName"] = pulumi.String(r.Bus)
		}
		specs = append(specs, alarmSpec{
			key:         bare(r.Name) + "-failed",
			description: "EventBridge rule " + r.Name + " failed to deliver an event permanently, or could not put it in its dead-letter queue.",
			expression:  "FILL(failed, 0) + FILL(nodlq, 0)",
			inputs: map[string]metric{
				"failed": {namespace: "AWS/Events", name: "FailedInvocations", dims: dims, stat: "Sum"},
				"nodlq":  {namespace: "AWS/Events", name: "InvocationsFailedToBeSentToDlq", dims: dims, stat: "Sum"},
			},
			comparison: "GreaterThanThreshold", threshold: f(0),
			period: period, evaluation: 1, datapoints: 1,
			// EventBridge publishes these only when they are not zero.
			missing: missingNotBreaching,
		})
	}
	// EventBridge Scheduler's delivery metrics, account-wide (AWS/Scheduler,
	// no dimension: every schedule of the account's default group is ours
	// or the operator's).
	specs = append(specs, alarmSpec{
		key:         "scheduler-failures",
		description: "EventBridge Scheduler could not start a runbook or snapshot: target errors, dropped invocations or undeliverable dead letters.",
		expression:  "FILL(targeterr, 0) + FILL(dropped, 0) + FILL(nodlq, 0)",
		inputs: map[string]metric{
			"targeterr": {namespace: "AWS/Scheduler", name: "TargetErrorCount", stat: "Sum"},
			"dropped":   {namespace: "AWS/Scheduler", name: "InvocationDroppedCount", stat: "Sum"},
			"nodlq":     {namespace: "AWS/Scheduler", name: "InvocationsFailedToBeSentToDeadLetterCount", stat: "Sum"},
		},
		comparison: "GreaterThanThreshold", threshold: f(0),
		period: period, evaluation: 1, datapoints: 1,
		missing: missingNotBreaching,
	})
	// The trading service's outbox (CONTRACT.md section 7: EMF metrics in
	// Trading/<suffix>, dimension Service=trading, every task reports the
	// same database-wide figures, so Maximum): events stop flowing when the
	// oldest unpublished order event ages, and a dead letter needs an
	// operator to replay it.
	outbox := func(name string) *metric {
		return &metric{namespace: "Trading/" + args.Names.Suffix(), name: name,
			dims: pulumi.StringMap{"Service": pulumi.String(OutboxService)}, stat: "Maximum"}
	}
	specs = append(specs,
		alarmSpec{
			key:         "outbox-backlog-age",
			description: "The oldest unpublished OrderPlaced event is older than the threshold: the outbox relay is not getting events onto the bus.",
			single:      outbox("OutboxOldestUnpublishedAgeSeconds"), comparison: "GreaterThanThreshold", threshold: f(OutboxMaxAgeSeconds),
			period: period, evaluation: 2, datapoints: 2,
			// Tasks report every minute; no report means no task runs, which
			// the running-task alarm covers.
			missing: missingNotBreaching,
		},
		alarmSpec{
			key:         "outbox-dead-letters",
			description: "Order events moved to outbox_dead_letter after repeated row-specific failures: replay them (docs/app.md).",
			single:      outbox("OutboxDeadLetterCount"), comparison: "GreaterThanThreshold", threshold: f(0),
			period: period, evaluation: 1, datapoints: 1,
			missing: missingNotBreaching,
		},
		// Each task reports how old its risk limits and kill switch are
		// (CONTRACT.md section 7, RiskLimitsAgeSeconds: time since its last
		// successful Parameter Store read). A task refuses new orders once
		// they are older than limits/max-staleness-seconds (60 s by
		// default); this notifies at half that, while orders still flow,
		// and the customer-impact composite pages once refusals show as
		// 5xx.
		alarmSpec{
			key:         "risk-limits-stale",
			description: "A task's risk limits and kill switch were last read from Parameter Store more than " + fmt.Sprint(RiskLimitsStaleSeconds) + " s ago: Parameter Store is unreachable or refusing the task role; at limits/max-staleness-seconds the tasks refuse new orders (503 limits_stale).",
			single:      outbox("RiskLimitsAgeSeconds"), comparison: "GreaterThanThreshold", threshold: f(RiskLimitsStaleSeconds),
			period: period, evaluation: 2, datapoints: 2,
			missing: missingNotBreaching,
		},
	)
	for i := range specs {
		specs[i].name = args.Names.Member(naming.Alarm, specs[i].key)
	}
	return specs
}

// OutboxService is the Service dimension of the trading service's metrics,
// and OutboxMaxAgeSeconds the backlog age that notifies (CONTRACT.md
// section 7 suggests 300 s for 2 x 1 min).
const (
	OutboxService       = "trading"
	OutboxMaxAgeSeconds = 300
)

// RiskLimitsStaleSeconds is the age of a task's risk limits that notifies:
// half the service's default refusal bound (limits/max-staleness-seconds,
// 60 s), six missed refreshes at SSM_REFRESH_INTERVAL (5 s).
const RiskLimitsStaleSeconds = 30

// newSchedulerDLQ creates the dead-letter queue every EventBridge Scheduler
// schedule delivers undeliverable invocations to (CreateSchedule,
// Target.DeadLetterConfig), encrypted with the telemetry key; the
// schedules' execution roles send to it. TLS only.
func newSchedulerDLQ(ctx *pulumi.Context, kids naming.Children, args Args, name string, parent pulumi.ResourceOption) (*sqs.Queue, error) {
	q, err := sqs.NewQueue(ctx, kids.Name("scheduler-dlq"), &sqs.QueueArgs{
		Name:                    pulumi.String(name),
		KmsMasterKeyId:          args.TelemetryKeyArn,
		MessageRetentionSeconds: pulumi.Int(SchedulerDLQRetentionSeconds),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create scheduler dead-letter queue: %w", err)
	}
	// Name-derived ARN: a plain string at preview (infra/arn).
	arn := awsarn.In(args.Shared.Region, args.AccountID).Queue(name)
	doc, err := iamdoc.New(iamdoc.DenyInsecureTransport([]string{"sqs:*"}, []string{arn})).JSON()
	if err != nil {
		return nil, fmt.Errorf("scheduler dead-letter queue policy: %w", err)
	}
	if _, err := sqs.NewQueuePolicy(ctx, kids.Name("scheduler-dlq-policy"), &sqs.QueuePolicyArgs{QueueUrl: q.Url, Policy: pulumi.String(doc)}, parent); err != nil {
		return nil, fmt.Errorf("attach scheduler dead-letter queue policy: %w", err)
	}
	return q, nil
}

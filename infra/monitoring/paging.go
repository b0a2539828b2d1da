package monitoring

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/budgets"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/naming"
)

// route is where an alarm's actions publish.
type route int

const (
	// routeNotify publishes to the notification topic (the default).
	routeNotify route = iota
	// routePage publishes to both paging topics: the page survives the
	// loss of either topic's key.
	routePage
	// routeBackstop publishes to the backstop paging topic only: the
	// alarm reports the paging topic failing.
	routeBackstop
	// routePrimary publishes to the paging topic only: the alarm reports
	// the backstop topic failing.
	routePrimary
)

// topics are the three topics alarms publish to.
type topics struct {
	page, backstop, notify pulumi.StringOutput
}

// actions are the alarm actions of a route.
func (t topics) actions(r route) pulumi.Array {
	switch r {
	case routePage:
		return pulumi.Array{t.page, t.backstop}
	case routeBackstop:
		return pulumi.Array{t.backstop}
	case routePrimary:
		return pulumi.Array{t.page}
	default:
		return pulumi.Array{t.notify}
	}
}

// Certificate expiry thresholds, in days. ACM starts renewing an
// ACM-issued certificate 60 days before it expires and emits its own
// expiry events from 45 days for certificates it cannot renew (AWS
// Certificate Manager User Guide, "Managed certificate renewal" and
// "Amazon EventBridge support for ACM"): a certificate inside 45 days has
// failed renewal or was imported, so somebody must act; inside 14 days
// that somebody is paged.
const (
	CertNoticeDays = 45
	CertPageDays   = 14
)

// certificateSpecs are the expiry alarms of the listener's certificate,
// on ACM's DaysToExpiry (namespace AWS/CertificateManager, dimension
// CertificateArn, published once a day for every certificate, imported
// ones included: ACM User Guide, "Supported CloudWatch metrics").
func certificateSpecs(args Args) []alarmSpec {
	days := func(key, description string, threshold int, r route) alarmSpec {
		return alarmSpec{
			key: key, description: description,
			single: &metric{namespace: "AWS/CertificateManager", name: "DaysToExpiry",
				dims: pulumi.StringMap{"CertificateArn": args.Endpoint.CertificateArn}, stat: "Minimum"},
			comparison: "LessThanThreshold", threshold: pulumi.Float64(float64(threshold)),
			// One datapoint a day: a one-day period sees each.
			period: CertMetricPeriodSeconds, evaluation: 1, datapoints: 1,
			// A day without a datapoint says nothing new; the next day's does.
			missing: missingNotBreaching, route: r,
		}
	}
	return []alarmSpec{
		days("cert-expiry-notice", fmt.Sprintf("The listener's certificate expires in less than %d days: ACM did not renew it (validation records missing?) or it is imported and must be re-imported.", CertNoticeDays), CertNoticeDays, routeNotify),
		days("cert-expiry", fmt.Sprintf("The listener's certificate expires in less than %d days: clients will refuse the endpoint when it does. Renew or re-import it now.", CertPageDays), CertPageDays, routePage),
	}
}

// CertMetricPeriodSeconds is one day: ACM publishes DaysToExpiry daily.
const CertMetricPeriodSeconds = 86400

// topicFailureSpecs alarm when a paging topic fails to deliver (SNS
// NumberOfNotificationsFailed: the paging service or a mail relay refused
// every retry). Each reports through the other topic.
func topicFailureSpecs(args Args) []alarmSpec {
	failed := func(key string, kind naming.Kind, r route) alarmSpec {
		topic := args.Names.Name(kind)
		return alarmSpec{
			key:         key,
			description: "SNS could not deliver pages from topic " + topic + " after its retries: pages are not reaching the paging service or on-call mail.",
			single: &metric{namespace: "AWS/SNS", name: "NumberOfNotificationsFailed",
				dims: pulumi.StringMap{"TopicName": pulumi.String(topic)}, stat: "Sum"},
			comparison: "GreaterThanThreshold", threshold: pulumi.Float64(0),
			period: args.Monitoring.AlarmPeriodSeconds, evaluation: 1, datapoints: 1,
			// SNS publishes the metric only when there were deliveries.
			missing: missingNotBreaching, route: r,
		}
	}
	return []alarmSpec{
		failed("page-delivery", naming.AlarmTopic, routeBackstop),
		failed("backstop-delivery", naming.PageBackstopTopic, routePrimary),
	}
}

// KeyStateEvents are the KMS API calls that make a key unusable: a
// disabled key refuses every cryptographic call at once, and a key
// scheduled for deletion refuses them too and is gone when its window
// ends (AWS KMS Developer Guide, "Key states of AWS KMS keys").
var KeyStateEvents = []string{"DisableKey", "ScheduleKeyDeletion"}

// KeyStatePattern matches those calls on any key of the account, delivered
// by CloudTrail to the default bus (Amazon EventBridge User Guide, "AWS
// service events delivered via AWS CloudTrail": it needs a trail that
// logs management events, which infra/audit creates or an organization
// trail provides). Any key, not only ours: key IDs are unknown at preview,
// and in an account that runs this platform, disabling any key is a
// deliberate act somebody must own.
func KeyStatePattern() (string, error) {
	b, err := json.Marshal(map[string]any{
		"source":      []string{"aws.kms"},
		"detail-type": []string{"AWS API Call via CloudTrail"},
		"detail": map[string]any{
			"eventSource": []string{"kms.amazonaws.com"},
			"eventName":   KeyStateEvents,
		},
	})
	if err != nil {
		return "", fmt.Errorf("key state event pattern: %w", err)
	}
	return string(b), nil
}

// KeyStateEventMaxAgeSeconds is how long EventBridge keeps retrying a
// page about a key: an hour, then the event is dropped (and the rule's
// failed-invocation alarm notifies).
const KeyStateEventMaxAgeSeconds = 3600

// newKeyStateRule pages through both paging topics when a KMS key is
// disabled or scheduled for deletion. It does not read the trail's log
// group, which the telemetry key encrypts: the metric filter on that
// group (infra/audit) goes blind exactly when the telemetry key is the
// one disabled.
func newKeyStateRule(ctx *pulumi.Context, kids naming.Children, args Args, t topics, parent pulumi.ResourceOption) error {
	pattern, err := KeyStatePattern()
	if err != nil {
		return err
	}
	return newPagingRule(ctx, kids, "kms-key-state", args.Names.Name(naming.RuleKMSKeyState),
		"Pages when a KMS key of the account is disabled or scheduled for deletion: data, telemetry or paging stop working.",
		pattern, t, parent)
}

// newPagingRule creates a rule on the default bus that delivers each
// matching event to both paging topics, retried for an hour
// (KeyStateEventMaxAgeSeconds).
func newPagingRule(ctx *pulumi.Context, kids naming.Children, key, name, description, pattern string, t topics, parent pulumi.ResourceOption) error {
	rule, err := cloudwatch.NewEventRule(ctx, kids.Name(key), &cloudwatch.EventRuleArgs{
		Name:         pulumi.String(name),
		EventBusName: pulumi.String("default"),
		Description:  pulumi.String(description),
		EventPattern: pulumi.String(pattern),
	}, parent)
	if err != nil {
		return fmt.Errorf("create rule %s: %w", name, err)
	}
	for i, topic := range []pulumi.StringOutput{t.page, t.backstop} {
		if _, err := cloudwatch.NewEventTarget(ctx, kids.Name(fmt.Sprintf("%s-%d", key, i+1)), &cloudwatch.EventTargetArgs{
			Rule: rule.Name, EventBusName: pulumi.String("default"), Arn: topic,
			RetryPolicy: &cloudwatch.EventTargetRetryPolicyArgs{
				MaximumEventAgeInSeconds: pulumi.Int(KeyStateEventMaxAgeSeconds),
				MaximumRetryAttempts:     pulumi.Int(185),
			},
		}, parent); err != nil {
			return fmt.Errorf("create target %d of rule %s: %w", i+1, name, err)
		}
	}
	return nil
}

// RiskParameters are the Parameter Store names whose change pages: the
// trading kill switch, and every parameter under the limits path
// (/trading/<suffix>/limits/..., those the program creates from
// config.Trading.Params and those an operator adds later, such as
// limits/max-staleness-seconds). Operators own their values after the first
// deploy; a change is an operator's deliberate act or an attacker's, and
// either way on-call must know at once: the kill switch stops every order,
// a raised limit lets orders through that the desk never allowed.
// Reference prices are market data that change daily and do not page.
func RiskParameters(names naming.Namer) (killSwitch, limitsPrefix string) {
	return names.Parameter(config.KillSwitchParam), names.Parameter(config.LimitsPath) + "/"
}

// RiskParamsPattern matches Systems Manager's own "Parameter Store Change"
// events (source aws.ssm; detail.name the parameter's name, detail.operation
// Create, Update, Delete or LabelParameterVersion) on the kill switch and
// on any name under the limits prefix, every operation. Systems Manager
// sends them to the default bus itself, so unlike the key-state rule it
// needs no trail (AWS Systems Manager User Guide, "Monitoring Systems
// Manager events with Amazon EventBridge"; prefix matching: Amazon
// EventBridge User Guide, "Content filtering in event patterns").
func RiskParamsPattern(killSwitch, limitsPrefix string) (string, error) {
	b, err := json.Marshal(map[string]any{
		"source":      []string{"aws.ssm"},
		"detail-type": []string{"Parameter Store Change"},
		"detail":      map[string]any{"name": []any{killSwitch, map[string]string{"prefix": limitsPrefix}}},
	})
	if err != nil {
		return "", fmt.Errorf("risk parameter event pattern: %w", err)
	}
	return string(b), nil
}

// newRiskParamsRule pages through both paging topics when the kill switch
// or a risk limit changes.
func newRiskParamsRule(ctx *pulumi.Context, kids naming.Children, args Args, t topics, parent pulumi.ResourceOption) error {
	pattern, err := RiskParamsPattern(RiskParameters(args.Names))
	if err != nil {
		return err
	}
	return newPagingRule(ctx, kids, "risk-params", args.Names.Name(naming.RuleRiskParams),
		"Pages when the trading kill switch or a risk limit changes in Parameter Store.", pattern, t, parent)
}

// Budget thresholds: a notification when the month's forecast passes the
// budget, another when the actual cost does (percent of the budget).
const BudgetThresholdPercent = 100

// newBudget creates the account's monthly cost budget. AWS Budgets mails
// the addresses itself: no topic and no key of ours stands between a
// runaway bill and the people who pay it.
func newBudget(ctx *pulumi.Context, kids naming.Children, args Args, parent pulumi.ResourceOption) error {
	cfg := args.Monitoring
	if cfg.MonthlyBudgetUSD == 0 {
		return nil
	}
	emails := pulumi.ToStringArray(cfg.BudgetEmails())
	notify := func(kind string) budgets.BudgetNotificationInput {
		return &budgets.BudgetNotificationArgs{
			NotificationType: pulumi.String(kind), ComparisonOperator: pulumi.String("GREATER_THAN"),
			Threshold: pulumi.Float64(BudgetThresholdPercent), ThresholdType: pulumi.String("PERCENTAGE"),
			SubscriberEmailAddresses: emails,
		}
	}
	if _, err := budgets.NewBudget(ctx, kids.Name("budget"), &budgets.BudgetArgs{
		Name:          pulumi.String(args.Names.Name(naming.Budget)),
		BudgetType:    pulumi.String("COST"),
		LimitAmount:   pulumi.String(fmt.Sprintf("%d", cfg.MonthlyBudgetUSD)),
		LimitUnit:     pulumi.String("USD"),
		TimeUnit:      pulumi.String("MONTHLY"),
		Notifications: budgets.BudgetNotificationArray{notify("FORECASTED"), notify("ACTUAL")},
	}, parent); err != nil {
		return fmt.Errorf("create cost budget: %w", err)
	}
	return nil
}

// named gives specs their alarm names (alarm-<key>-<suffix>).
func named(args Args, specs []alarmSpec) []alarmSpec {
	for i := range specs {
		specs[i].name = args.Names.Member(naming.Alarm, specs[i].key)
	}
	return specs
}

package config

import (
	"regexp"
	"strconv"
)

// Monitoring configures the canary, the alarms and where they page.
type Monitoring struct {
	// PageEmails and PageHTTPSEndpoint receive pages: the customer-impact
	// composite alarm and the alarms no automation can answer. Prod
	// requires both: the paging service acknowledges and escalates, and
	// email still arrives when the paging service does not.
	PageEmails        []string
	PageHTTPSEndpoint string
	// MonthlyBudgetUSD is the account's monthly cost budget in US dollars;
	// 0 creates none. AWS Budgets mails NotifyEmails (PageEmails when
	// there are none) when the month's actual or forecast cost exceeds it.
	MonthlyBudgetUSD int
	// NotifyEmails receive notifications: component alarms, operational
	// events and runbook reports (never a page).
	NotifyEmails []string
	// CanarySchedule is the canary's rate expression, e.g. "rate(1 minute)".
	CanarySchedule string
	// CanaryScheduleMinutes is the minutes between canary runs (1-5).
	CanaryScheduleMinutes int
	// CanaryTimeoutSeconds bounds one canary run (15 to the schedule interval).
	CanaryTimeoutSeconds int
	// CanarySuccessRetentionDays and CanaryFailureRetentionDays keep run data (1-455).
	CanarySuccessRetentionDays int
	CanaryFailureRetentionDays int
	// Traffic are the service traffic alarms' period and thresholds,
	// which the service's deployment gates use too.
	Traffic
	// Target5xxCount pages when targets return more 5xx than this per period.
	Target5xxCount int
	// AuroraCPUPercent, AuroraFreeableMemoryMB, AuroraReplicaLagMs and
	// AuroraConnections are the per-instance Aurora thresholds.
	AuroraCPUPercent       int
	AuroraFreeableMemoryMB int
	AuroraReplicaLagMs     int
	AuroraConnections      int
}

// EndpointPageBudgetSeconds is the failure-mode table's budget for
// "endpoint unreachable" (docs/resilience.md, "Failure modes and budgets"):
// detected and paged within 5 minutes.
const EndpointPageBudgetSeconds = 300

// HealthCheckIntervalSeconds is the Route 53 request interval (the fast one).
const HealthCheckIntervalSeconds = 10

var (
	ratePattern  = regexp.MustCompile(`^rate\(([1-9][0-9]*) (minute|minutes)\)$`)
	emailPattern = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$`)
	httpsPattern = regexp.MustCompile(`^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[^\s]*)?$`)
)

// Traffic are the period, "M out of N" and thresholds of the alarms that
// judge the service's traffic at the load balancer.
type Traffic struct {
	// AlarmPeriodSeconds is the period of the metric alarms (a multiple of 60, 60-300).
	AlarmPeriodSeconds int
	// AlarmEvaluationPeriods and AlarmDatapointsToAlarm are "M out of N".
	AlarmEvaluationPeriods int
	AlarmDatapointsToAlarm int
	// ALB5xxRatePercent pages when ELB 5xx / requests exceeds it.
	ALB5xxRatePercent int
	// P99LatencyMs pages when the ALB's p99 target response time exceeds it.
	P99LatencyMs int
}

// monitoring reads the alarm and canary keys; dns supplies the health check
// settings the 5-minute paging budget is checked against. In prod somebody
// must be paged: pageEmails or pageHttpsEndpoint is required.
func (r *reader) monitoring(stack string, k func(string) string, dns DNS) Monitoring {
	m := Monitoring{
		PageEmails:                 r.strings(k("pageEmails"), 0, 10),
		PageHTTPSEndpoint:          r.optional(k("pageHttpsEndpoint"), httpsPattern, "empty or an https:// URL (a paging service's SNS integration endpoint)"),
		NotifyEmails:               r.strings(k("notifyEmails"), 0, 10),
		CanarySuccessRetentionDays: r.integer(k("canarySuccessRetentionDays"), 1, 455),
		CanaryFailureRetentionDays: r.integer(k("canaryFailureRetentionDays"), 1, 455),
		Traffic: Traffic{
			AlarmEvaluationPeriods: r.integer(k("alarmEvaluationPeriods"), 1, 5),
			ALB5xxRatePercent:      r.integer(k("alarmAlb5xxRatePercent"), 1, 100),
			P99LatencyMs:           r.integer(k("alarmP99LatencyMs"), 50, 60000),
		},
		Target5xxCount:         r.integer(k("alarmTarget5xxCount"), 1, 100000),
		AuroraCPUPercent:       r.integer(k("alarmAuroraCpuPercent"), 10, 100),
		AuroraFreeableMemoryMB: r.integer(k("alarmAuroraFreeableMemoryMb"), 64, 262144),
		AuroraReplicaLagMs:     r.integer(k("alarmAuroraReplicaLagMs"), 10, 600000),
		AuroraConnections:      r.integer(k("alarmAuroraConnections"), 1, 100000),
	}

	for _, key := range []string{"pageEmails", "notifyEmails"} {
		list := m.PageEmails
		if key == "notifyEmails" {
			list = m.NotifyEmails
		}
		for _, e := range list {
			if !emailPattern.MatchString(e) {
				r.fail(k(key), e, "each entry must be an email address")
			}
		}
	}
	if stack == ProdStack && m.PageHTTPSEndpoint == "" {
		r.fail(k("pageHttpsEndpoint"), "", "prod must page a paging service that acknowledges and escalates: set your paging service's SNS integration URL, which carries its integration key: %s", SetCommand(k("pageHttpsEndpoint")))
	}
	if stack == ProdStack && len(m.PageEmails) == 0 {
		r.fail(k("pageEmails"), "[]", "prod must also page by email, which still arrives when the paging service is down: set the on-call addresses")
	}
	if stack == ProdStack && len(m.NotifyEmails) == 0 {
		r.fail(k("notifyEmails"), "[]", "prod must tell somebody what does not page (a gray AZ, throttling, dead letters, a failing key sync): set the platform team's addresses")
	}
	m.MonthlyBudgetUSD = r.integer(k("monthlyBudgetUsd"), 0, 10000000)
	if m.MonthlyBudgetUSD > 0 && len(m.BudgetEmails()) == 0 {
		r.fail(k("monthlyBudgetUsd"), strconv.Itoa(m.MonthlyBudgetUSD), "a budget needs somebody to tell: set notifyEmails or pageEmails, or set 0 for no budget")
	}

	if v, ok := r.raw(k("canarySchedule")); ok {
		m.CanarySchedule = v
		sub := ratePattern.FindStringSubmatch(v)
		n := 0
		if sub != nil {
			n, _ = strconv.Atoi(sub[1]) // the pattern admits digits only
		}
		switch {
		case sub == nil || (n == 1) != (sub[2] == "minute"):
			r.fail(k("canarySchedule"), v, "must be a rate expression in minutes: rate(1 minute) or rate(N minutes)")
		case n > 5:
			r.fail(k("canarySchedule"), v, "must run at least every 5 minutes so a failing endpoint pages within the 5-minute budget")
		default:
			m.CanaryScheduleMinutes = n
		}
	}
	maxTimeout := 840
	if m.CanaryScheduleMinutes > 0 {
		maxTimeout = min(maxTimeout, m.CanaryScheduleMinutes*60)
	}
	m.CanaryTimeoutSeconds = r.integer(k("canaryTimeoutSeconds"), 15, maxTimeout)

	if v, ok := r.raw(k("alarmPeriodSeconds")); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 60 || n > 300 || n%60 != 0 {
			r.fail(k("alarmPeriodSeconds"), v, "must be 60, 120, 180, 240 or 300 (a multiple of 60: the metrics alarmed on are standard resolution)")
		} else {
			m.AlarmPeriodSeconds = n
		}
	}
	m.AlarmDatapointsToAlarm = r.integer(k("alarmDatapointsToAlarm"), 1, max(m.AlarmEvaluationPeriods, 1))

	// The Route 53 path must page within the budget on its own: the health
	// check turns unhealthy after interval x threshold, then the alarm needs
	// period x evaluation periods.
	if dns.HealthCheckFailureThreshold > 0 && m.AlarmPeriodSeconds > 0 && m.AlarmEvaluationPeriods > 0 {
		if t := HealthCheckIntervalSeconds*dns.HealthCheckFailureThreshold + m.AlarmPeriodSeconds*m.AlarmEvaluationPeriods; t > EndpointPageBudgetSeconds {
			r.fail(k("alarmEvaluationPeriods"), strconv.Itoa(m.AlarmEvaluationPeriods),
				"with alarmPeriodSeconds %d and healthCheckFailureThreshold %d an unreachable endpoint pages after %d s; the budget is %d s",
				m.AlarmPeriodSeconds, dns.HealthCheckFailureThreshold, t, EndpointPageBudgetSeconds)
		}
	}
	return m
}

// BudgetEmails are the addresses AWS Budgets mails: NotifyEmails, or
// PageEmails when there are none (a notification holds at most 10 email
// subscribers; each list holds at most 10).
func (m Monitoring) BudgetEmails() []string {
	if len(m.NotifyEmails) > 0 {
		return m.NotifyEmails
	}
	return m.PageEmails
}

package audit

import "github.com/trading-ha/trading-ha/infra/audit/cis"

// Watch is one CIS metric filter with an alarm (cis.Watch).
type Watch = cis.Watch

// MetricNamespace holds the trail metrics (cis.MetricNamespace).
const MetricNamespace = cis.MetricNamespace

// Watches are the changes alarmed on (cis.Watches).
var Watches = cis.Watches

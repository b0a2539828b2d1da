package naming

import (
	"regexp"
	"strings"
)

// RequirePrefix refuses names that do not start with prefix (WAF logging
// destinations).
func RequirePrefix(source, prefix string) Rule {
	return Rule{
		Says:   "must start with " + quoteAll([]string{prefix}),
		Source: source,
		broken: func(name string) bool { return !strings.HasPrefix(name, prefix) },
	}
}

// Sources of the audit and protection kinds (audit trail, WAF logs, DR vault,
// endpoints).
const (
	srcTrail = "CloudTrail API Reference, CreateTrail, Name: 3-128 characters, ASCII letters, numbers, periods, underscores or dashes; " +
		"starts with a letter or number and ends with a letter or number; no adjacent periods, underscores or dashes; not an IP address"
	srcClusterSnapshot = "RDS API Reference, DeleteDBCluster, FinalDBSnapshotIdentifier (CreateDBClusterSnapshot constraints): 1-255 letters, numbers or hyphens, " +
		"first a letter, can't end with a hyphen or contain two consecutive hyphens"
	srcWAFLogs      = "AWS WAF API Reference, LoggingConfiguration, LogDestinationConfigs: the name of the destination (CloudWatch Logs log group) must start with aws-waf-logs-"
	srcMetricFilter = "CloudWatch Logs API Reference, PutMetricFilter, filterName: 1-512 characters, no : or *"
	srcEndpointSG   = srcSecurityGroup
)

var (
	trailChars        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]$`)
	metricFilterChars = regexp.MustCompile(`^[^:*\x00-\x1f]+$`)
	trailRules        = []Rule{NoDoubleHyphen(srcTrail), NoAdjacentPeriods(srcTrail), NotIPAddress(srcTrail)}
	wafLogRules       = []Rule{RequirePrefix(srcWAFLogs, "aws-waf-logs-")}
)

package naming

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// Rule is one of AWS's naming rules beyond length and character set: a
// reserved prefix or suffix, hyphen placement, a reserved word. AWS refuses
// a name that breaks one at create time, after `pulumi preview` has passed,
// so config validation and the tests check every name against its kind's
// rules first.
type Rule struct {
	// Says is the rule as AWS documents it, e.g. `must not start with "sg-"`.
	Says string
	// Source is where AWS documents it (API reference page and field).
	Source string
	// broken reports whether name breaks the rule.
	broken func(name string) bool
}

// Broken reports whether name breaks the rule.
func (r Rule) Broken(name string) bool { return r.broken(name) }

// Error describes a broken rule for name.
func (r Rule) Error(name string) error {
	return fmt.Errorf("name %q %s (%s)", name, r.Says, r.Source)
}

// NoPrefix refuses names that start with any of prefixes.
func NoPrefix(source string, prefixes ...string) Rule {
	return Rule{
		Says:   "must not start with " + quoteAll(prefixes),
		Source: source,
		broken: func(name string) bool {
			for _, p := range prefixes {
				if strings.HasPrefix(name, p) {
					return true
				}
			}
			return false
		},
	}
}

// NoPrefixFold refuses names that start with any of prefixes, ignoring
// case and one leading slash (SSM parameter names).
func NoPrefixFold(source string, prefixes ...string) Rule {
	return Rule{
		Says:   "must not start with " + quoteAll(prefixes) + " in any case",
		Source: source,
		broken: func(name string) bool {
			n := strings.ToLower(strings.TrimPrefix(name, "/"))
			for _, p := range prefixes {
				if strings.HasPrefix(n, strings.ToLower(p)) {
					return true
				}
			}
			return false
		},
	}
}

// NoSuffix refuses names that end with any of suffixes.
func NoSuffix(source string, suffixes ...string) Rule {
	return Rule{
		Says:   "must not end with " + quoteAll(suffixes),
		Source: source,
		broken: func(name string) bool {
			for _, s := range suffixes {
				if strings.HasSuffix(name, s) {
					return true
				}
			}
			return false
		},
	}
}

// NoEdgeHyphen refuses names that begin or end with a hyphen.
func NoEdgeHyphen(source string) Rule {
	return Rule{
		Says:   "must not begin or end with a hyphen",
		Source: source,
		broken: func(name string) bool { return strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-") },
	}
}

// NoDoubleHyphen refuses names with two consecutive hyphens.
func NoDoubleHyphen(source string) Rule {
	return Rule{
		Says:   "must not contain two consecutive hyphens",
		Source: source,
		broken: func(name string) bool { return strings.Contains(name, "--") },
	}
}

// NoAdjacentPeriods refuses names with two adjacent periods.
func NoAdjacentPeriods(source string) Rule {
	return Rule{
		Says:   "must not contain two adjacent periods",
		Source: source,
		broken: func(name string) bool { return strings.Contains(name, "..") },
	}
}

// NotIPAddress refuses names formatted as an IPv4 address.
func NotIPAddress(source string) Rule {
	return Rule{
		Says:   "must not be formatted as an IP address",
		Source: source,
		broken: func(name string) bool {
			a, err := netip.ParseAddr(name)
			return err == nil && a.Is4()
		},
	}
}

// NotWord refuses names equal (case-insensitively) to a reserved word.
func NotWord(source string, words ...string) Rule {
	return Rule{
		Says:   "must not be " + quoteAll(words),
		Source: source,
		broken: func(name string) bool {
			for _, w := range words {
				if strings.EqualFold(name, w) {
					return true
				}
			}
			return false
		},
	}
}

// NoSubstring refuses names containing any of words.
func NoSubstring(source string, words ...string) Rule {
	return Rule{
		Says:   "must not contain " + quoteAll(words),
		Source: source,
		broken: func(name string) bool {
			for _, w := range words {
				if strings.Contains(strings.ToLower(name), w) {
					return true
				}
			}
			return false
		},
	}
}

// MaxDepth refuses slash-separated names deeper than n levels.
func MaxDepth(source string, n int) Rule {
	return Rule{
		Says:   fmt.Sprintf("must not be more than %d levels deep", n),
		Source: source,
		broken: func(name string) bool { return len(strings.Split(strings.Trim(name, "/"), "/")) > n },
	}
}

// NoChars refuses names containing any of chars.
func NoChars(source, chars string) Rule {
	return Rule{
		Says:   "must not contain any of " + fmt.Sprintf("%q", chars),
		Source: source,
		broken: func(name string) bool { return strings.ContainsAny(name, chars) },
	}
}

func quoteAll(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

// Sources of the rules below. Each is the AWS API reference (or user guide)
// page that documents the rule for the field the name goes into.
const (
	srcSecurityGroup = "EC2 API Reference, CreateSecurityGroup, GroupName: up to 255 characters, can't start with sg-, a-z A-Z 0-9 spaces ._-:/()#,@[]+=&;{}!$*"
	srcLoadBalancer  = "ELBv2 API Reference, CreateLoadBalancer, Name: at most 32 alphanumerics or hyphens, must not begin or end with a hyphen, must not begin with internal-"
	srcTargetGroup   = "ELBv2 API Reference, CreateTargetGroup, Name: at most 32 alphanumerics or hyphens, must not begin or end with a hyphen"
	srcBucket        = "Amazon S3 User Guide, General purpose bucket naming rules: 3-63 lowercase letters, numbers, dots, hyphens; begin and end with a letter or number; no adjacent periods; not an IP address; prefixes xn--, sthree-, amzn-s3-demo- and suffixes -s3alias, --ol-s3, .mrap, --x-s3, --table-s3 are reserved"
	srcKMSAlias      = "AWS KMS Developer Guide, Create aliases: 1-256 alphanumerics, /, _ and -; a customer managed key's alias cannot begin with alias/aws/"
	srcSSMParameter  = "Systems Manager API Reference, PutParameter, Name: can't be prefixed with aws or ssm (case-insensitive), a-zA-Z0-9_.- and /, at most fifteen levels"
	srcRDSIdentifier = "RDS API Reference, CreateDBCluster, DBClusterIdentifier (and CreateDBClusterParameterGroup, DBClusterParameterGroupName): 1-63 letters, digits or hyphens, first a letter, can't end with a hyphen or contain two consecutive hyphens"
	srcDBSubnetGroup = "RDS API Reference, CreateDBSubnetGroup, DBSubnetGroupName: at most 255 letters, numbers, periods, underscores, spaces or hyphens; must not be default"
	srcEventBus      = "EventBridge API Reference, CreateEventBus, Name: [/\\.\\-_A-Za-z0-9]+, custom event bus names can't contain /, can't be default"
	srcIAMName       = "IAM API Reference, CreateRole, RoleName (and PutRolePolicy, PolicyName): at most 64 (policy 128) characters of [\\w+=,.@-]"
	srcLogGroup      = "CloudWatch Logs API Reference, CreateLogGroup, logGroupName: 1-512 characters of a-z A-Z 0-9 _ - / . #"
	srcCanary        = "pulumi-aws v6.83.4 aws.synthetics.Canary name: at most 21 characters, lowercase alphanumerics, hyphen or underscore (Synthetics API Reference, CreateCanary, Name: ^[0-9a-z_\\-]+$)"
	srcQueue         = "SQS API Reference, CreateQueue, QueueName: up to 80 alphanumerics, hyphens and underscores"
	srcTopic         = "SNS API Reference, CreateTopic, Name: up to 256 alphanumerics, hyphens and underscores"
	srcBudget        = "AWS Budgets API Reference, Budget, BudgetName: 1-100 characters, no : or \\"
	srcConnection    = "EventBridge API Reference, CreateConnection, Name: 1-64 characters, [\\.\\-_A-Za-z0-9]+"
	srcEventsName    = "EventBridge API Reference, PutRule, Name (64) and CreateArchive, ArchiveName (48): [\\.\\-_A-Za-z0-9]+"
	srcSchedule      = "EventBridge Scheduler API Reference, CreateSchedule, Name: 1-64 of [0-9a-zA-Z-_.]+"
	srcStateMachine  = "Step Functions API Reference, CreateStateMachine, name: 1-80 characters; only A-Z a-z 0-9 - _ if CloudWatch logging is enabled"
	srcBackupVault   = "AWS Backup API Reference, CreateBackupVault, BackupVaultName: ^[a-zA-Z0-9\\-\\_]{2,50}$; CreateBackupPlan BackupPlanName and CreateBackupSelection SelectionName: 1-50 alphanumerics or -_."
	srcRestoreTest   = "AWS Backup API Reference, CreateRestoreTestingPlan, RestoreTestingPlanName: at most 50 characters, must start with a letter, alphanumerics and underscores only"
	srcECS           = "ECS API Reference, CreateCluster clusterName, CreateService serviceName, RegisterTaskDefinition family: up to 255 letters, numbers, underscores and hyphens"
	srcECR           = "ECR API Reference, CreateRepository, repositoryName: 2-256 characters, (?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*"
	srcDynamoDB      = "DynamoDB API Reference, CreateTable, TableName: 3-255 characters of [a-zA-Z0-9_.-]+"
	srcWAF           = "WAFV2 API Reference, CreateWebACL, Name: 1-128 characters of ^[\\w\\-]+$"
	srcDashboard     = "CloudWatch API Reference, PutDashboard, DashboardName: up to 255 alphanumerics, - and _"
	srcAlarm         = "CloudWatch API Reference, PutMetricAlarm/PutCompositeAlarm, AlarmName: 1-255 characters"
	srcResilience    = "Resilience Hub API Reference, CreateResiliencyPolicy, policyName: ^[A-Za-z0-9][A-Za-z0-9_\\-]{1,59}$"
	srcScaling       = "Application Auto Scaling API Reference, PutScalingPolicy, PolicyName: 1-256 printable characters except : / |"
	srcTagValue      = "Tagging AWS resources, tag values: up to 256 Unicode characters"
	srcUserPool      = "Cognito API Reference, CreateUserPool, PoolName: 1-128 characters of [\\w\\s+=,.@-]+"
	srcPoolDomain    = "Cognito API Reference, CreateUserPoolDomain, Domain: 1-63 characters, ^[a-z0-9](?:[a-z0-9\\-]{0,61}[a-z0-9])?$; Amazon Cognito Developer Guide, Using the prefix domain: the prefix can't contain aws, amazon or cognito (the API answers InvalidParameterException \"Domain cannot contain reserved word: aws\")"
	srcPoolClient    = "Cognito API Reference, CreateUserPoolClient, ClientName (1-128 of [\\w\\s+=,.@-]+) and CreateResourceServer, Name (1-256 of [\\w\\s+=,.@-]+)"
)

// Character sets, each from the source that documents it.
var (
	albChars      = regexp.MustCompile(`^[A-Za-z0-9-]+$`)
	bucketChars   = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*[a-z0-9]$`)
	sgChars       = regexp.MustCompile(`^[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]+$`)
	iamChars      = regexp.MustCompile(`^[\w+=,.@-]+$`)
	kmsChars      = regexp.MustCompile(`^[A-Za-z0-9/_-]+$`)
	ecsChars      = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	ecrChars      = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
	dynamoChars   = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	eventsChars   = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	queueChars    = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	smChars       = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	vaultChars    = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	backupChars   = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	word          = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	canaryChars   = regexp.MustCompile(`^[a-z0-9_-]+$`)
	logGroupChars = regexp.MustCompile(`^[A-Za-z0-9._/#-]+$`)
	wafChars      = regexp.MustCompile(`^[\w-]+$`)
	resilChars    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)
	scalingChars  = regexp.MustCompile(`^[^:/|\x00-\x1f]+$`)
	printable     = regexp.MustCompile(`^[\x20-\x7e]+$`)
	rdsChars      = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	subnetGroup   = regexp.MustCompile(`^[a-z0-9._ -]+$`)
	ssmChars      = regexp.MustCompile(`^[A-Za-z0-9_./-]+$`)
	cognitoChars  = regexp.MustCompile(`^[\w\s+=,.@-]+$`)
	domainPrefix  = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)
)

// Rule sets per kind of name.
var (
	sgRules     = []Rule{NoPrefix(srcSecurityGroup, "sg-")}
	albRules    = []Rule{NoEdgeHyphen(srcLoadBalancer), NoPrefix(srcLoadBalancer, "internal-")}
	tgRules     = []Rule{NoEdgeHyphen(srcTargetGroup)}
	bucketRules = []Rule{
		NoAdjacentPeriods(srcBucket), NotIPAddress(srcBucket),
		NoPrefix(srcBucket, "xn--", "sthree-", "amzn-s3-demo-"),
		NoSuffix(srcBucket, "-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"),
	}
	kmsAliasRules   = []Rule{NoPrefix(srcKMSAlias, "alias/aws/")}
	rdsRules        = []Rule{NoEdgeHyphen(srcRDSIdentifier), NoDoubleHyphen(srcRDSIdentifier)}
	subnetRules     = []Rule{NotWord(srcDBSubnetGroup, "default")}
	busRules        = []Rule{NotWord(srcEventBus, "default"), NoChars(srcEventBus, "/")}
	poolDomainRules = []Rule{NoSubstring(srcPoolDomain, "aws", "amazon", "cognito")}
	// ParameterRules are SSM Parameter Store's rules for a full parameter name.
	ParameterRules = []Rule{NoPrefixFold(srcSSMParameter, "aws", "ssm"), MaxDepth(srcSSMParameter, 15)}
)

// CheckParameter reports whether a full SSM parameter name keeps AWS's rules.
func CheckParameter(name string) error {
	if len(name) > 1011 || !ssmChars.MatchString(name) {
		// PutParameter: the documented 2048 includes 1037 characters of ARN
		// and parameter-name prefix, leaving 1011 for the name.
		return fmt.Errorf("parameter name %q must be 1-1011 characters of a-zA-Z0-9_.-/ (%s)", name, srcSSMParameter)
	}
	for _, r := range ParameterRules {
		if r.Broken(name) {
			return r.Error(name)
		}
	}
	return nil
}

// Reserved DNS names no registrar delegates and Route 53 refuses as hosted
// zones (CreateHostedZone answers InvalidDomainName): each entry is the
// name itself and everything below it.
var reservedDomains = map[string]string{
	"example":     "RFC 2606 section 2 (reserved TLD)",
	"example.com": "RFC 2606 section 3 (reserved second-level domain)",
	"example.net": "RFC 2606 section 3 (reserved second-level domain)",
	"example.org": "RFC 2606 section 3 (reserved second-level domain)",
	"test":        "RFC 2606 section 2 and RFC 6761 section 6.2 (reserved TLD)",
	"invalid":     "RFC 2606 section 2 and RFC 6761 section 6.4 (reserved TLD)",
	"localhost":   "RFC 2606 section 2 and RFC 6761 section 6.3 (reserved TLD)",
	"local":       "RFC 6762 section 3 (multicast DNS)",
	"onion":       "RFC 7686 section 2 (special-use domain)",
	"home.arpa":   "RFC 8375 section 4 (special-use domain)",
	"internal":    "ICANN board, 2024: reserved for private use, never delegated",
}

// CheckDomain reports whether a public hosted zone name is one AWS can
// create and the internet can delegate to: not a reserved name nor below
// one, and not a bare TLD (Route 53 API Reference, CreateHostedZone, Name:
// "You can't create a hosted zone for a top-level domain (TLD)").
func CheckDomain(domain string) error {
	d := strings.TrimSuffix(strings.ToLower(domain), ".")
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return fmt.Errorf("domain %q is a top-level domain; Route 53 cannot host a zone for a TLD (Route 53 API Reference, CreateHostedZone)", domain)
	}
	for i := range labels {
		if src, ok := reservedDomains[strings.Join(labels[i:], ".")]; ok {
			return fmt.Errorf("domain %q is under the reserved name %q (%s): no registrar delegates it and Route 53 refuses it", domain, strings.Join(labels[i:], "."), src)
		}
	}
	return nil
}

// srcContainerInsights is where CloudWatch names an ECS cluster's Container
// Insights performance log group.
const srcContainerInsights = "CloudWatch User Guide, Container Insights performance log events for Amazon ECS: the log group /aws/ecs/containerinsights/CLUSTER_NAME/performance"

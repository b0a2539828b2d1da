package asl

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// service describes one AWS SDK integration: its IAM prefix and the error
// names (without the "<Prefix>." part) worth retrying — throttling and
// server-side faults. "<Prefix>.<Prefix>Exception" is the name Step
// Functions gives to errors the SDK does not model, which includes
// unmodelled throttling ("Throttling") and 5xx responses.
type service struct {
	iamPrefix string
	errPrefix string
	retryable []string
}

var services = map[string]service{
	"rds":                    {"rds", "Rds", []string{"ThrottlingException", "RdsException"}},
	"ecs":                    {"ecs", "Ecs", []string{"ThrottlingException", "ServerException", "EcsException"}},
	"elasticloadbalancingv2": {"elasticloadbalancing", "ElasticLoadBalancingV2", []string{"ThrottlingException", "ElasticLoadBalancingV2Exception"}},
	"dynamodb":               {"dynamodb", "DynamoDb", []string{"ThrottlingException", "LimitExceededException", "InternalServerErrorException", "DynamoDbException"}},
	"backup":                 {"backup", "Backup", []string{"ThrottlingException", "ServiceUnavailableException", "BackupException"}},
	"cloudwatch":             {"cloudwatch", "CloudWatch", []string{"ThrottlingException", "CloudWatchException"}},
	"synthetics":             {"synthetics", "Synthetics", []string{"ThrottlingException", "InternalServerException", "SyntheticsException"}},
	// KMS's server-side faults are KMSInternalException and
	// DependencyTimeoutException (AWS KMS API Reference, DescribeKey,
	// Errors). Step Functions names an SDK error <Service>.<Error>, both in
	// PascalCase (Developer Guide, AWS SDK integrations): the spelling of
	// the AWS SDK for Java v2's classes (software.amazon.awssdk.services.kms.model
	// KmsInternalException, KmsException), as DynamoDb.DynamoDbException
	// above follows DynamoDbException.
	"kms": {"kms", "Kms", []string{"ThrottlingException", "KmsInternalException", "DependencyTimeoutException", "KmsException"}},
	// Used by the service snapshot only, which retries every error
	// (snapshotRetry), so no retryable names are listed.
	"s3":  {"s3", "S3", nil},
	"sns": {"sns", "Sns", nil},
	// Systems Manager's server-side fault is InternalServerError and its
	// throttling ThrottlingException (AWS Systems Manager API Reference,
	// GetParameter and PutParameter, Errors; Common Errors); Step Functions
	// spells them as the AWS SDK for Java v2's classes
	// (software.amazon.awssdk.services.ssm.model InternalServerErrorException,
	// SsmException), as for KMS above.
	// EventBridge's server-side fault is InternalException (EventBridge API
	// Reference, DescribeConnection, Errors).
	"eventbridge": {"events", "EventBridge", []string{"ThrottlingException", "InternalException", "EventBridgeException"}},
	"ssm":         {"ssm", "Ssm", []string{"ThrottlingException", "InternalServerErrorException", "SsmException"}},
}

// ErrorPath is where every Catch stores the error object, so the original
// state data survives for the failure report.
const ErrorPath = "$.error"

func retryPolicy(errors []string) []Retrier {
	return []Retrier{{
		ErrorEquals:     errors,
		IntervalSeconds: 2,
		MaxAttempts:     4,
		BackoffRate:     2,
		MaxDelaySeconds: 30,
		JitterStrategy:  "FULL",
	}}
}

func catchAll(next string) []Catcher {
	return []Catcher{{ErrorEquals: []string{"States.ALL"}, Next: next, ResultPath: ErrorPath}}
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

// sdkCall builds a Task calling arn:aws:states:::aws-sdk:<svc>:<action>
// with its IAM permission and no Retry or Catch. action is the API name in
// PascalCase (e.g. "DescribeDBClusters"); the IAM action is
// <iamPrefix>:<action>. "*" is accepted as a resource only for the actions
// in WildcardActions.
func sdkCall(svc, action string, params map[string]any, resources []string) (*Task, error) {
	info, ok := services[svc]
	if !ok {
		return nil, fmt.Errorf("sdk task %s:%s: unknown service", svc, action)
	}
	iamAction := info.iamPrefix + ":" + action
	if len(resources) == 0 {
		return nil, fmt.Errorf("sdk task %s: no resources", iamAction)
	}
	if _, wildcard := WildcardActions[iamAction]; !wildcard {
		for _, r := range resources {
			if r == "*" {
				return nil, fmt.Errorf("sdk task %s: \"*\" is not allowed for a resource-scoped action", iamAction)
			}
		}
	}
	return &Task{
		Resource:   "arn:aws:states:::aws-sdk:" + svc + ":" + lowerFirst(action),
		Parameters: params,
		Policy:     []Permission{{Actions: []string{iamAction}, Resources: resources}},
	}, nil
}

// sdkTask is sdkCall with the runbooks' error handling: retry the service's
// throttling and server-side errors, then catch everything into onError.
func sdkTask(svc, action string, params map[string]any, resources []string, onError string) (*Task, error) {
	task, err := sdkCall(svc, action, params, resources)
	if err != nil {
		return nil, err
	}
	info := services[svc]
	if len(info.retryable) == 0 {
		return nil, fmt.Errorf("sdk task %s:%s: no retryable errors known for the service", svc, action)
	}
	retry := make([]string, 0, len(info.retryable))
	for _, e := range info.retryable {
		retry = append(retry, info.errPrefix+"."+e)
	}
	task.Retry = retryPolicy(retry)
	task.Catch = catchAll(onError)
	return task, nil
}

// notifyTask publishes the JSON document at reportPath to the topic through
// the optimized SNS integration. Publishing is retried on any task error:
// a report that does not arrive is the failure we most want to avoid.
func notifyTask(topicArn, subject, reportPath, next, onError string) *Task {
	return &Task{
		Resource: "arn:aws:states:::sns:publish",
		Parameters: map[string]any{
			"TopicArn":  topicArn,
			"Subject":   subject,
			"Message.$": "States.JsonToString(" + reportPath + ")",
		},
		ResultPath: "$.notification",
		Retry:      retryPolicy([]string{"States.TaskFailed"}),
		Catch:      catchAll(onError),
		Next:       next,
		Policy:     []Permission{{Actions: []string{"sns:Publish"}, Resources: []string{topicArn}}},
	}
}

// Choice rule helpers.

func ptr[T any](v T) *T { return &v }

func isPresent(path string) ChoiceRule { return ChoiceRule{Variable: path, IsPresent: ptr(true)} }

// isAbsent is Not(IsPresent: true): the same rule as IsPresent: false in
// Step Functions, but aws-local-stepfunctions 3.0.0 evaluates
// IsPresent: false as always false, which would hide optional-field paths
// from the local tests.
func isAbsent(path string) ChoiceRule { return not(isPresent(path)) }
func strEq(path, v string) ChoiceRule { return ChoiceRule{Variable: path, StringEquals: ptr(v)} }
func boolEq(path string, v bool) ChoiceRule {
	return ChoiceRule{Variable: path, BooleanEquals: ptr(v)}
}
func numEq(path string, v float64) ChoiceRule {
	return ChoiceRule{Variable: path, NumericEquals: ptr(v)}
}
func numGte(path string, v float64) ChoiceRule {
	return ChoiceRule{Variable: path, NumericGreaterThanEquals: ptr(v)}
}
func and(rules ...ChoiceRule) ChoiceRule { return ChoiceRule{And: rules} }
func or(rules ...ChoiceRule) ChoiceRule  { return ChoiceRule{Or: rules} }
func not(rule ChoiceRule) ChoiceRule     { return ChoiceRule{Not: &rule} }
func next(rule ChoiceRule, to string) ChoiceRule {
	rule.Next = to
	return rule
}

// requiredString accepts a present, non-empty string.
func requiredString(path string) ChoiceRule {
	return and(isPresent(path), ChoiceRule{Variable: path, IsString: ptr(true)},
		ChoiceRule{Variable: path, StringMatches: ptr("?*")})
}

// optionalBool accepts an absent field or a boolean.
func optionalBool(path string) ChoiceRule {
	return or(isAbsent(path), ChoiceRule{Variable: path, IsBoolean: ptr(true)})
}

// optionalString accepts an absent field or a non-empty string.
func optionalString(path string) ChoiceRule {
	return or(isAbsent(path), and(ChoiceRule{Variable: path, IsString: ptr(true)},
		ChoiceRule{Variable: path, StringMatches: ptr("?*")}))
}

// InvalidInputError is the error name of the Fail state reached when the
// execution input does not match a runbook's input contract.
const InvalidInputError = "Runbook.InvalidInput"

// addInputValidation adds "ValidateInput" (Choice) and "InvalidInput"
// (Fail) to states. valid moves on to next; anything else fails with a
// message that names the contract.
func addInputValidation(states map[string]State, contract string, next string, valid ...ChoiceRule) {
	states["ValidateInput"] = &Choice{
		Comment: "Input contract: " + contract,
		Choices: []ChoiceRule{{And: valid, Next: next}},
		Default: "InvalidInput",
	}
	states["InvalidInput"] = &Fail{
		Error: InvalidInputError,
		Cause: "invalid execution input; expected " + contract,
	}
}

// NotificationFailedError is the error of the Fail state reached when even
// the report could not be published.
const NotificationFailedError = "Runbook.NotificationFailed"

// addFailurePath adds a report-notify-fail chain named <name>Report,
// <name>Notify and <name>, returning the entry state. The report embeds the
// whole state data (inputs, results so far and the caught error). A reason
// starting with "$" is a path to the reason string in the state data.
func addFailurePath(states map[string]State, runbook, topicArn, name, outcome, reason, errorName string) string {
	report := name + "Report"
	notify := name + "Notify"
	params := map[string]any{
		"runbook":       runbook,
		"outcome":       outcome,
		"executionId.$": "$$.Execution.Id",
		"startedAt.$":   "$$.Execution.StartTime",
		"details.$":     "$",
	}
	if strings.HasPrefix(reason, "$") {
		params["reason.$"] = reason
	} else {
		params["reason"] = reason
	}
	states[report] = &Pass{
		Parameters: params,
		ResultPath: "$.report",
		Next:       notify,
	}
	states[notify] = notifyTask(topicArn, subject(runbook, outcome), "$.report", name, "NotificationFailed")
	fail := &Fail{Error: errorName, Cause: reason}
	if strings.HasPrefix(reason, "$") {
		fail.Cause, fail.CausePath = "", reason
	}
	states[name] = fail
	addNotificationFailed(states)
	return report
}

func addNotificationFailed(states map[string]State) {
	states["NotificationFailed"] = &Fail{
		Error: NotificationFailedError,
		Cause: "the runbook report could not be published to SNS; see the execution history",
	}
}

func subject(runbook, outcome string) string {
	return fmt.Sprintf("[trading-ha] %s: %s", runbook, strings.ReplaceAll(outcome, "_", " "))
}

// pollAttempts converts a timeout into a number of polls of interval
// seconds, at least one.
func pollAttempts(timeoutSeconds, interval int) int {
	n := (timeoutSeconds + interval - 1) / interval
	if n < 1 {
		n = 1
	}
	return n
}

// addPollBudget adds the two states that bound a poll loop on $.poll:
// Count<loop>Poll adds one to $.poll.attempt, then <loop>PollBudget goes
// to exhausted once the attempts of timeoutSeconds polled every interval
// seconds are spent (pollAttempts), and back to wait before that. It
// returns the counting state's name, where the loop continues.
func addPollBudget(states map[string]State, loop string, timeoutSeconds, interval int, exhausted, wait string) string {
	count, budget := "Count"+loop+"Poll", loop+"PollBudget"
	states[count] = &Pass{
		Parameters: map[string]any{"attempt.$": "States.MathAdd($.poll.attempt, 1)"},
		ResultPath: "$.poll",
		Next:       budget,
	}
	states[budget] = &Choice{
		Choices: []ChoiceRule{next(numGte("$.poll.attempt", float64(pollAttempts(timeoutSeconds, interval))), exhausted)},
		Default: wait,
	}
	return count
}

// addTargetHealthCheck adds states that resolve the target groups named
// names to their ARNs, check each and continue with onHealthy or
// onUnhealthy. A target group is healthy when it has at least one healthy
// target and none unhealthy. The lookup is stored at $.<key>.lookup, the
// per-group results at $.<key>.groups. Names are prefixed; the entry state
// is <prefix>ResolveTargetGroups.
//
// The ARNs are looked up at run time because AWS appends a random id to a
// target group's ARN (targetgroup/<name>/<16 hex>), while the name is known
// at program time: DescribeTargetGroups filters by "the names of one or
// more target groups" (ELBv2 API Reference, DescribeTargetGroups, Names)
// and fails with TargetGroupNotFound when one does not exist, which is
// caught into onError. The action has no resource types (WildcardActions).
func addTargetHealthCheck(states map[string]State, prefix, key string, names []string, onHealthy, onUnhealthy, onError string) (string, error) {
	lookup, err := sdkTask("elasticloadbalancingv2", "DescribeTargetGroups",
		map[string]any{"Names": names}, []string{"*"}, onError)
	if err != nil {
		return "", err
	}
	lookup.Comment = "The target groups' ARNs by name: an ARN ends in an id AWS assigns at creation"
	lookup.ResultSelector = map[string]any{"targetGroupArns.$": "$.TargetGroups[*].TargetGroupArn"}
	lookup.ResultPath = "$." + key + ".lookup"
	lookup.Next = prefix + "CheckTargetGroups"
	states[prefix+"ResolveTargetGroups"] = lookup

	describe, err := sdkTask("elasticloadbalancingv2", "DescribeTargetHealth",
		map[string]any{"TargetGroupArn.$": "$.targetGroupArn"}, []string{"*"}, prefix+"TargetGroupFailed")
	if err != nil {
		return "", err
	}
	// Filters and projections over empty arrays are errors in JSONPath
	// evaluation, so emptiness is checked with States.ArrayLength first.
	describe.ResultSelector = map[string]any{
		"descriptions.$": "$.TargetHealthDescriptions",
		"count.$":        "States.ArrayLength($.TargetHealthDescriptions)",
	}
	describe.ResultPath = "$.health"
	describe.Next = prefix + "HasTargets"

	group := func(healthy bool) *Pass {
		return &Pass{
			Parameters: map[string]any{
				"targetGroupArn.$": "$.targetGroupArn",
				"healthy":          healthy,
				"targets.$":        "$.health.descriptions",
			},
			End: true,
		}
	}
	processor := Branch{
		ProcessorConfig: &ProcessorConfig{Mode: "INLINE"},
		StartAt:         prefix + "DescribeTargetHealth",
		States: map[string]State{
			prefix + "DescribeTargetHealth": describe,
			prefix + "HasTargets": &Choice{
				Choices: []ChoiceRule{next(numGte("$.health.count", 1), prefix+"ListTargetStates")},
				Default: prefix + "TargetGroupUnhealthy",
			},
			prefix + "ListTargetStates": &Pass{
				Parameters: map[string]any{"states.$": "$.health.descriptions[*].TargetHealth.State"},
				ResultPath: "$.flags",
				Next:       prefix + "FlagTargetStates",
			},
			prefix + "FlagTargetStates": &Pass{
				Parameters: map[string]any{
					"anyHealthy.$":   "States.ArrayContains($.flags.states, 'healthy')",
					"anyUnhealthy.$": "States.ArrayContains($.flags.states, 'unhealthy')",
				},
				ResultPath: "$.flags",
				Next:       prefix + "EvaluateTargetGroup",
			},
			prefix + "EvaluateTargetGroup": &Choice{
				Choices: []ChoiceRule{next(and(boolEq("$.flags.anyHealthy", true), boolEq("$.flags.anyUnhealthy", false)), prefix+"TargetGroupHealthy")},
				Default: prefix + "TargetGroupUnhealthy",
			},
			prefix + "TargetGroupHealthy":   group(true),
			prefix + "TargetGroupUnhealthy": group(false),
			prefix + "TargetGroupFailed": &Pass{
				Parameters: map[string]any{
					"targetGroupArn.$": "$.targetGroupArn",
					"healthy":          false,
					"error.$":          "$.error",
				},
				End: true,
			},
		},
	}
	states[prefix+"CheckTargetGroups"] = &Map{
		Comment:        "Target health of every target group of the service",
		ItemsPath:      "$." + key + ".lookup.targetGroupArns",
		ItemSelector:   map[string]any{"targetGroupArn.$": "$$.Map.Item.Value"},
		ItemProcessor:  processor,
		MaxConcurrency: 5,
		ResultPath:     "$." + key + ".groups",
		Catch:          catchAll(onError),
		Next:           prefix + "CollectTargetFlags",
	}
	states[prefix+"CollectTargetFlags"] = &Pass{
		Parameters: map[string]any{"flags.$": "$." + key + ".groups[*].healthy"},
		ResultPath: "$." + key + ".summary",
		Next:       prefix + "SummarizeTargets",
	}
	states[prefix+"SummarizeTargets"] = &Pass{
		Parameters: map[string]any{
			"flags.$":        "$." + key + ".summary.flags",
			"anyUnhealthy.$": "States.ArrayContains($." + key + ".summary.flags, false)",
		},
		ResultPath: "$." + key + ".summary",
		Next:       prefix + "AllTargetsHealthy",
	}
	states[prefix+"AllTargetsHealthy"] = &Choice{
		Choices: []ChoiceRule{next(boolEq("$."+key+".summary.anyUnhealthy", false), onHealthy)},
		Default: onUnhealthy,
	}
	return prefix + "ResolveTargetGroups", nil
}

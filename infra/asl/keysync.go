package asl

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// KeySyncName is the workflow's name; it is also the logical name of its
// resources.
const KeySyncName = "key-sync"

// KeySync's state names: the tests drive and assert them.
const (
	KeySyncRead       = "ReadKeySet"
	KeySyncSource     = "ReadJWKSURL"
	KeySyncConnection = "DescribeConnection"
	KeySyncFetch      = "FetchJWKS"
	KeySyncCompute    = "ComputeKeySet"
	KeySyncDecide     = "KeySetChanged"
	KeySyncWrite      = "WriteKeySet"
)

// KeySync's error names: the Fail states an execution ends in. Each fails
// the execution, so the AWS/States ExecutionsFailed metric counts it.
const (
	KeySyncReadFailedError  = "KeySync.ReadFailed"
	KeySyncFetchFailedError = "KeySync.FetchFailed"
	KeySyncInvalidJWKSError = "KeySync.InvalidJWKS"
	KeySyncWriteFailedError = "KeySync.WriteFailed"
)

// keySyncFetchTimeoutSeconds bounds one request to the JWKS URL; with its
// two retries an execution ends well inside the one-minute schedule.
const keySyncFetchTimeoutSeconds = 10

// KeySyncTargets carries what the key sync embeds: names and name-derived
// ARNs, known at program time, so the definition and its role policy are
// known at the first preview. The two values AWS assigns at create time
// are read at run time: the JWKS URL (it holds the user pool id) from the
// parameter JWKSURLParameterName, which the stack writes, and the
// connection's ARN (connection/<name>/<id>) from
// events:DescribeConnection.
type KeySyncTargets struct {
	// StateMachineArn is the machine's own ARN (a name-derived ARN): its
	// partition, region and account build the other ARNs.
	StateMachineArn string
	// ParameterName and ParameterArn are the key set parameter
	// (paramtable.KeySetPath) the service reads and the sync writes.
	ParameterName, ParameterArn string
	// JWKSURLParameterName and JWKSURLParameterArn are the parameter that
	// holds the user pool's JWKS URL.
	JWKSURLParameterName, JWKSURLParameterArn string
	// ConnectionName is the EventBridge connection the HTTP Task names.
	ConnectionName string
	// RetentionMinutes is how long a key the JWKS no longer lists stays in
	// the parameter after the sync first missed it: the longest token
	// lifetime plus the service's key refresh period.
	RetentionMinutes int
}

// Validate reports every missing or malformed field at once.
func (t KeySyncTargets) Validate() error {
	var errs []error
	if _, err := parseARN(t.StateMachineArn); err != nil || !strings.Contains(t.StateMachineArn, ":states:") {
		errs = append(errs, fmt.Errorf("key sync targets: StateMachineArn %q is not a state machine ARN", t.StateMachineArn))
	}
	param := func(field, name, arn string) {
		if !strings.HasPrefix(name, "/") {
			errs = append(errs, fmt.Errorf("key sync targets: %sName %q is not a full parameter name (/...)", field, name))
		}
		if !strings.HasPrefix(arn, "arn:") || !strings.HasSuffix(arn, ":parameter"+name) {
			errs = append(errs, fmt.Errorf("key sync targets: %sArn %q is not the ARN of %q", field, arn, name))
		}
	}
	param("Parameter", t.ParameterName, t.ParameterArn)
	param("JWKSURLParameter", t.JWKSURLParameterName, t.JWKSURLParameterArn)
	if !connectionName.MatchString(t.ConnectionName) {
		errs = append(errs, fmt.Errorf("key sync targets: ConnectionName %q is not a connection name", t.ConnectionName))
	}
	if t.RetentionMinutes < 1 {
		errs = append(errs, fmt.Errorf("key sync targets: RetentionMinutes %d must be at least 1", t.RetentionMinutes))
	}
	return errors.Join(errs...)
}

// connectionName is an EventBridge connection name (EventBridge API
// Reference, CreateConnection, Name: 1-64 of [\.\-_A-Za-z0-9]+).
var connectionName = regexp.MustCompile(`^[.\-_A-Za-z0-9]{1,64}$`)

// JWKSURL is a user pool's JSON Web Key Set (Amazon Cognito Developer
// Guide, "Verifying JSON web tokens"): the value the stack writes to the
// JWKS URL parameter.
func JWKSURL(region, userPoolID string) string {
	return fmt.Sprintf("https://cognito-idp.%s.amazonaws.com/%s/.well-known/jwks.json", region, userPoolID)
}

// JWKSURLPattern is what the role may call: the JWKS of any user pool in
// the machine's region (a pool id is <region>_<id>, assigned by AWS, so a
// policy known at program time names every pool of the region).
func (t KeySyncTargets) JWKSURLPattern() string {
	a, _ := parseARN(t.StateMachineArn) // checked by Validate
	return JWKSURL(a.region, a.region+"_*")
}

// KeySync builds the key sync: it keeps the key set parameter equal to the
// user pool's JWKS plus the keys the JWKS stopped listing within
// RetentionMinutes, and writes only when that changes.
//
//	ReadKeySet, ReadJWKSURL (ssm:GetParameter) -> DescribeConnection
//	(events) -> FetchJWKS (HTTP Task, GET the JWKS URL) -> ComputeKeySet (JSONata: KeySyncExpression) -> KeySetChanged (Choice)
//	-> WriteKeySet (ssm:PutParameter, String, Overwrite) | Unchanged
//
// A failed read (of either parameter or the connection), fetch or write,
// and a JWKS with no key or a malformed one,
// each end in a Fail state (the execution fails, the parameter keeps its
// value): the service goes on with the keys it has, and the failed-execution
// alarm (infra/monitoring) tells a person.
//
// The HTTP Task is the Step Functions Developer Guide's, "Call HTTPS APIs
// in Step Functions workflows": Resource arn:aws:states:::http:invoke,
// Parameters ApiEndpoint, Method and Authentication.ConnectionArn (an
// EventBridge connection is required even for a public URL); the
// execution role needs states:InvokeHTTPEndpoint (conditions
// states:HTTPMethod and states:HTTPEndpoint), events:RetrieveConnectionCredentials
// on the connection and secretsmanager:GetSecretValue and DescribeSecret on
// the connection's secret (events!connection/<name>/...), as that guide's
// "IAM permissions to run an HTTP Task" lists. A response other than 2xx
// fails the task (States.Http.StatusCode.<code>).
func KeySync(t KeySyncTargets) (*StateMachine, error) {
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("key sync: %w", err)
	}
	a, _ := parseARN(t.StateMachineArn)
	states := map[string]State{}

	read, err := sdkTask("ssm", "GetParameter", map[string]any{"Name": t.ParameterName}, []string{t.ParameterArn}, "ReadFailed")
	if err != nil {
		return nil, fmt.Errorf("key sync: %w", err)
	}
	read.Comment = "The key set the service reads now: the previous document"
	read.ResultSelector = map[string]any{"value.$": "$.Parameter.Value"}
	read.ResultPath = "$.current"
	read.Next = KeySyncSource
	states[KeySyncRead] = read

	source, err := sdkTask("ssm", "GetParameter", map[string]any{"Name": t.JWKSURLParameterName}, []string{t.JWKSURLParameterArn}, "ReadFailed")
	if err != nil {
		return nil, fmt.Errorf("key sync: %w", err)
	}
	source.Comment = "The user pool's JWKS URL, as the stack wrote it (the pool id is assigned at create)"
	source.ResultSelector = map[string]any{"url.$": "$.Parameter.Value"}
	source.ResultPath = "$.source"
	source.Next = KeySyncConnection
	states[KeySyncSource] = source

	conn, err := sdkTask("eventbridge", "DescribeConnection", map[string]any{"Name": t.ConnectionName},
		[]string{a.arn("events", "connection/"+t.ConnectionName+"/*")}, "ReadFailed")
	if err != nil {
		return nil, fmt.Errorf("key sync: %w", err)
	}
	conn.Comment = "The connection's ARN: it ends in an id AWS assigns at create (connection/<name>/<id>)"
	conn.ResultSelector = map[string]any{"arn.$": "$.ConnectionArn"}
	conn.ResultPath = "$.connection"
	conn.Next = KeySyncFetch
	states[KeySyncConnection] = conn

	states[KeySyncFetch] = &Task{
		Comment:  "GET the user pool's JWKS; the connection's API-key header is one Cognito ignores",
		Resource: "arn:aws:states:::http:invoke",
		Parameters: map[string]any{
			"ApiEndpoint.$":  "$.source.url",
			"Method":         "GET",
			"Authentication": map[string]any{"ConnectionArn.$": "$.connection.arn"},
		},
		ResultSelector: map[string]any{"body.$": "$.ResponseBody"},
		ResultPath:     "$.fetched",
		TimeoutSeconds: keySyncFetchTimeoutSeconds,
		// A GET changes nothing: every error is worth two more tries.
		Retry: []Retrier{{ErrorEquals: []string{"States.ALL"}, IntervalSeconds: 2, MaxAttempts: 2, BackoffRate: 2, JitterStrategy: "FULL"}},
		Catch: catchAll("FetchFailed"),
		Next:  KeySyncCompute,
		Policy: []Permission{
			// The reference lists no resource type for the action ("*");
			// the conditions name the method and the endpoints: a user
			// pool's JWKS in this region, nothing else.
			{Actions: []string{"states:InvokeHTTPEndpoint"}, Resources: []string{"*"},
				Condition: map[string]map[string]any{
					"StringEquals": {"states:HTTPMethod": "GET"},
					"StringLike":   {"states:HTTPEndpoint": t.JWKSURLPattern()},
				}},
			{Actions: []string{"events:RetrieveConnectionCredentials"},
				Resources: []string{a.arn("events", "connection/"+t.ConnectionName+"/*")}},
			{Actions: []string{"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"},
				Resources: []string{a.arn("secretsmanager", "secret:events!connection/"+t.ConnectionName+"/*")}},
		},
	}
	states[KeySyncCompute] = &Pass{
		Comment:       "the new document: the JWKS's keys, plus the keys it no longer lists kept until missingSince is older than the retention",
		QueryLanguage: "JSONata",
		Output:        KeySyncExpression(t.RetentionMinutes),
		Next:          KeySyncDecide,
	}
	states[KeySyncDecide] = &Choice{
		Choices: []ChoiceRule{
			next(boolEq("$.next.valid", false), "InvalidJWKS"),
			next(boolEq("$.next.changed", true), KeySyncWrite),
		},
		Default: "Unchanged",
	}
	write, err := sdkTask("ssm", "PutParameter", map[string]any{
		"Name": t.ParameterName, "Value.$": "$.next.document", "Type": "String", "Overwrite": true,
	}, []string{t.ParameterArn}, "WriteFailed")
	if err != nil {
		return nil, fmt.Errorf("key sync: %w", err)
	}
	write.ResultSelector = map[string]any{"version.$": "$.Version"}
	write.ResultPath = "$.written"
	write.Next = "Written"
	states[KeySyncWrite] = write

	states["Written"] = &Succeed{Comment: "the parameter holds the new key set"}
	states["Unchanged"] = &Succeed{Comment: "the key set is unchanged: nothing written (Parameter Store keeps 100 versions)"}
	states["ReadFailed"] = &Fail{Error: KeySyncReadFailedError, CausePath: "$.error.Cause"}
	states["FetchFailed"] = &Fail{Error: KeySyncFetchFailedError, CausePath: "$.error.Cause"}
	states["WriteFailed"] = &Fail{Error: KeySyncWriteFailedError, CausePath: "$.error.Cause"}
	states["InvalidJWKS"] = &Fail{Error: KeySyncInvalidJWKSError,
		Cause: "the JWKS lists no key, or a key without a string kid and kty: the parameter keeps the keys it has"}

	return &StateMachine{
		Comment: "trading-ha key sync: copies the user pool's JWKS into the key set parameter, keeping retired keys for the token lifetime",
		StartAt: KeySyncRead,
		States:  states,
	}, nil
}

// KeySyncExpression is the JSONata Output of ComputeKeySet: the state input
// with next = {valid, changed, document, kids, retired}.
//
//   - valid: the JWKS (ResponseBody, an object or its JSON text) lists at
//     least one key, each an object with a string kid and kty.
//   - document: {"keys": [...], "retired": [{"kid", "missingSince"}]} as
//     JSON text. keys are every key the JWKS lists, in its order, then each
//     key of the previous document the JWKS no longer lists while its
//     missingSince (from the previous document's retired list, else this
//     execution's start) is at most retentionMinutes before this
//     execution's start. The service's reader ignores "retired" (members a
//     JWKS does not define are ignored, RFC 7517 section 5).
//   - changed: the JWKS is valid and the keys (by kid, with their members)
//     or the retired list differ from the previous document's.
func KeySyncExpression(retentionMinutes int) string {
	expr := fmt.Sprintf(`{%% (
  $list := function($v) { $append([], $v) };
  $prev := $parse($states.input.current.value);
  $body := $states.input.fetched.body;
  $jwks := $type($body) = 'string' ? $parse($body) : $body;
  $now := $states.context.Execution.StartTime;
  $keys := $type($jwks) = 'object' ? $lookup($jwks, 'keys') : undefined;
  $fetched := $type($keys) = 'array' ? $keys : [];
  $wellFormed := function($k) { $type($k) = 'object' and $type($k.kid) = 'string' and $type($k.kty) = 'string' };
  $valid := $count($fetched) > 0 and $count($list($filter($fetched, $wellFormed))) = $count($fetched);
  $fetchedKids := $list($map($fetched, function($k) { $k.kid }));
  $prevKeys := $type($prev) = 'object' and $type($lookup($prev, 'keys')) = 'array' ? $lookup($prev, 'keys') : [];
  $prevRetired := $type($prev) = 'object' and $type($lookup($prev, 'retired')) = 'array' ? $lookup($prev, 'retired') : [];
  $since := function($kid) { ( $r := $list($filter($prevRetired, function($x) { $x.kid = $kid })); $count($r) > 0 ? $r[0].missingSince : $now ) };
  $missing := $list($filter($prevKeys, function($k) { $wellFormed($k) and $not($k.kid in $fetchedKids) }));
  $kept := $list($filter($missing, function($k) { $toMillis($now) - $toMillis($since($k.kid)) <= %d }));
  $newKeys := $append($fetched, $kept);
  $newRetired := $list($map($kept, function($k) { {'kid': $k.kid, 'missingSince': $since($k.kid)} }));
  $byKid := function($a, $b) { $a.kid > $b.kid };
  $changed := $valid ? ($string($sort($newKeys, $byKid)) != $string($sort($list($filter($prevKeys, $wellFormed)), $byKid)) or $string($sort($newRetired, $byKid)) != $string($sort($prevRetired, $byKid))) : false;
  $merge([$states.input, {'next': {
    'valid': $valid,
    'changed': $changed,
    'document': $string({'keys': $newKeys, 'retired': $newRetired}),
    'kids': $list($map($newKeys, function($k) { $k.kid })),
    'retired': $newRetired
  }}])
) %%}`, retentionMinutes*60*1000)
	// One line: asl-validator's JSONata pattern (^{% .+ %}$) does not match
	// a line break.
	return strings.Join(strings.Fields(expr), " ")
}

// ExampleKeySyncTargets returns a complete KeySyncTargets value for tests.
func ExampleKeySyncTargets() KeySyncTargets {
	const acct = "123456789012"
	return KeySyncTargets{
		StateMachineArn:      "arn:aws:states:us-east-1:" + acct + ":stateMachine:sm-key-sync-dev",
		ParameterName:        "/trading/dev/identity/jwks",
		ParameterArn:         "arn:aws:ssm:us-east-1:" + acct + ":parameter/trading/dev/identity/jwks",
		JWKSURLParameterName: "/trading/dev/identity/jwks-url",
		JWKSURLParameterArn:  "arn:aws:ssm:us-east-1:" + acct + ":parameter/trading/dev/identity/jwks-url",
		ConnectionName:       "conn-jwks-dev",
		RetentionMinutes:     61,
	}
}

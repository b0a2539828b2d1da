package sfncheck

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/synthetics"
)

// service is one Step Functions SDK service and its aws-sdk-go-v2 module.
type service struct {
	// module is the Go module path, for messages.
	module string
	// iamPrefix is the service prefix of its IAM actions; it differs from
	// the Step Functions name for sfn (states) and elasticloadbalancingv2
	// (elasticloadbalancing).
	iamPrefix string
	// iamActions maps API actions (lower case) whose IAM action has another
	// name.
	iamActions map[string]string
	// newClient builds the module's client from cfg.
	newClient func(cfg aws.Config) any
}

// services maps the Step Functions service names (the <service> of
// arn:aws:states:::aws-sdk:<service>:<action>) to their modules. The pinned
// module versions are in go.mod and docs/runbooks.md.
var services = map[string]service{
	"backup": {module: "github.com/aws/aws-sdk-go-v2/service/backup", iamPrefix: "backup",
		newClient: func(cfg aws.Config) any { return backup.NewFromConfig(cfg) }},
	"cloudwatch": {module: "github.com/aws/aws-sdk-go-v2/service/cloudwatch", iamPrefix: "cloudwatch",
		newClient: func(cfg aws.Config) any { return cloudwatch.NewFromConfig(cfg) }},
	"dynamodb": {module: "github.com/aws/aws-sdk-go-v2/service/dynamodb", iamPrefix: "dynamodb",
		newClient: func(cfg aws.Config) any { return dynamodb.NewFromConfig(cfg) }},
	"ecs": {module: "github.com/aws/aws-sdk-go-v2/service/ecs", iamPrefix: "ecs",
		newClient: func(cfg aws.Config) any { return ecs.NewFromConfig(cfg) }},
	"elasticloadbalancingv2": {module: "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2", iamPrefix: "elasticloadbalancing",
		newClient: func(cfg aws.Config) any { return elasticloadbalancingv2.NewFromConfig(cfg) }},
	"eventbridge": {module: "github.com/aws/aws-sdk-go-v2/service/eventbridge", iamPrefix: "events",
		newClient: func(cfg aws.Config) any { return eventbridge.NewFromConfig(cfg) }},
	"kms": {module: "github.com/aws/aws-sdk-go-v2/service/kms", iamPrefix: "kms",
		newClient: func(cfg aws.Config) any { return kms.NewFromConfig(cfg) }},
	"rds": {module: "github.com/aws/aws-sdk-go-v2/service/rds", iamPrefix: "rds",
		newClient: func(cfg aws.Config) any { return rds.NewFromConfig(cfg) }},
	"s3": {module: "github.com/aws/aws-sdk-go-v2/service/s3", iamPrefix: "s3",
		// Service Authorization Reference, Amazon S3: these API operations
		// are authorized by an action of another name.
		iamActions: map[string]string{
			"listobjectsv2": "ListBucket", "listobjects": "ListBucket", "headobject": "GetObject",
			"headbucket": "ListBucket", "listobjectversions": "ListBucketVersions",
		},
		newClient: func(cfg aws.Config) any { return s3.NewFromConfig(cfg) }},
	"sfn": {module: "github.com/aws/aws-sdk-go-v2/service/sfn", iamPrefix: "states",
		newClient: func(cfg aws.Config) any { return sfn.NewFromConfig(cfg) }},
	"sns": {module: "github.com/aws/aws-sdk-go-v2/service/sns", iamPrefix: "sns",
		newClient: func(cfg aws.Config) any { return sns.NewFromConfig(cfg) }},
	"ssm": {module: "github.com/aws/aws-sdk-go-v2/service/ssm", iamPrefix: "ssm",
		newClient: func(cfg aws.Config) any { return ssm.NewFromConfig(cfg) }},
	"synthetics": {module: "github.com/aws/aws-sdk-go-v2/service/synthetics", iamPrefix: "synthetics",
		newClient: func(cfg aws.Config) any { return synthetics.NewFromConfig(cfg) }},
}

// optimized maps the optimized integrations whose Parameters are exactly
// the API operation's input (the part after arn:aws:states:::, without
// .waitForTaskToken) to their SDK service and action. Integrations with
// their own parameter semantics (.sync jobs, ecs:runTask, lambda:invoke)
// are not listed and are skipped.
var optimized = map[string][2]string{
	"sns:publish":           {"sns", "publish"},
	"dynamodb:getItem":      {"dynamodb", "getItem"},
	"dynamodb:putItem":      {"dynamodb", "putItem"},
	"dynamodb:updateItem":   {"dynamodb", "updateItem"},
	"dynamodb:deleteItem":   {"dynamodb", "deleteItem"},
	"states:startExecution": {"sfn", "startExecution"},
}

// iamAction is the IAM action a Task of svc calling action needs:
// aws-sdk:rds:failoverDBCluster -> rds:FailoverDBCluster.
func iamAction(svc service, action string) string {
	if a, ok := svc.iamActions[strings.ToLower(action)]; ok {
		return svc.iamPrefix + ":" + a
	}
	return svc.iamPrefix + ":" + upperFirst(action)
}

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

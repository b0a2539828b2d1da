package sfncheck

import (
	"fmt"
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
// .waitForTaskToken or, for a job in syncJobs, .sync) to their SDK service
// and action. Integrations with their own parameter semantics
// (lambda:invoke, the other .sync jobs) are not listed and are skipped.
var optimized = map[string][2]string{
	"sns:publish":           {"sns", "publish"},
	"dynamodb:getItem":      {"dynamodb", "getItem"},
	"dynamodb:putItem":      {"dynamodb", "putItem"},
	"dynamodb:updateItem":   {"dynamodb", "updateItem"},
	"dynamodb:deleteItem":   {"dynamodb", "deleteItem"},
	"states:startExecution": {"sfn", "startExecution"},
	// The ECS integration's Parameters are RunTask's input (Step Functions
	// Developer Guide, "Run Amazon ECS or Fargate tasks with Step
	// Functions": RunTask is its only optimized API).
	"ecs:runTask": {"ecs", "runTask"},
}

// syncJobs are the optimized integrations validated as a job (.sync):
// besides the start call's own grants, the role needs what Step Functions
// does to watch the job, per job (jobNeeds).
var syncJobs = map[string]bool{"ecs:runTask": true}

// ecsTaskEventsRule is the EventBridge rule Step Functions manages to learn
// that an ECS task it started stopped.
const ecsTaskEventsRule = "StepFunctionsGetEventsForECSTaskRule"

// jobNeeds are the grants Step Functions needs to watch a job (.sync) it
// started, beyond the start call (Step Functions Developer Guide, "IAM
// policies for Amazon ECS/AWS Fargate", Run a Job (.sync)): for ECS
// RunTask, ecs:StopTask and ecs:DescribeTasks on the tasks it starts (in
// the request's cluster) and events:PutTargets, PutRule and DescribeRule
// on the managed rule.
func jobNeeds(env Env, key string, args map[string]arg) []need {
	if key != "ecs:runTask" {
		return nil
	}
	tasks := fmt.Sprintf("arn:%s:ecs:%s:%s:task/", env.Partition, env.Region, env.Account)
	if c, ok := args["cluster"]; ok {
		if s, isString := c.value.(string); isString && !c.dyn {
			tasks += s[strings.LastIndex(s, "/")+1:] + "/"
		}
	} else {
		tasks += "default/"
	}
	rule := fmt.Sprintf("arn:%s:events:%s:%s:rule/%s", env.Partition, env.Region, env.Account, ecsTaskEventsRule)
	var out []need
	for _, a := range []string{"ecs:StopTask", "ecs:DescribeTasks"} {
		out = append(out, need{action: a, resource: tasks, prefix: true, member: "the job's tasks"})
	}
	for _, a := range []string{"events:PutTargets", "events:PutRule", "events:DescribeRule"} {
		out = append(out, need{action: a, resource: rule, member: "the job's managed rule"})
	}
	return out
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

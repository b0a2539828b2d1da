package identity

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	awsarn "github.com/trading-ha/trading-ha/infra/arn"
	"github.com/trading-ha/trading-ha/infra/asl"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/statemachine"
)

// The key sync's timing (docs/service.md, "Signing keys").
const (
	// KeySyncSchedule starts the key sync every minute: a key Cognito
	// publishes reaches the parameter within one period plus an execution.
	KeySyncSchedule = "rate(1 minute)"
	// ServiceKeyRefreshMinutes is the service's key refresh period
	// (OIDC_JWKS_REFRESH_INTERVAL, default 1m, which the task definition
	// keeps): a task may hold a key that long after the parameter drops it.
	ServiceKeyRefreshMinutes = 1
	// KeyRetentionMinutes is how long a key the JWKS no longer lists stays
	// in the parameter: the longest token lifetime plus the service's
	// refresh, so a token signed just before its key was retired verifies
	// on every task until it expires.
	KeyRetentionMinutes = TokenValidityMinutes + ServiceKeyRefreshMinutes
	// KeySyncFailedPeriods is how many consecutive alarm periods with a
	// failed execution the key sync's alarm waits for: one failed fetch
	// (Cognito or the network, retried within the execution) does not page,
	// a key sync that keeps failing does, long before a retired key would be
	// missed.
	KeySyncFailedPeriods = 3
)

// KeySyncAPIKeyHeader is the header of the key sync's EventBridge
// connection. An HTTP Task needs a connection (Step Functions Developer
// Guide, "Call HTTPS APIs in Step Functions workflows"); the JWKS URL is
// public and needs no credentials, so the connection uses API_KEY
// authorization with a header and value Cognito ignores. The value is not
// a secret.
const (
	KeySyncAPIKeyHeader = "x-trading-ha-key-sync"
	KeySyncAPIKeyValue  = "public-jwks"
)

// KeySyncArgs configures the key sync.
type KeySyncArgs struct {
	Names naming.Namer
	// At is where the machine deploys.
	At awsarn.At
	// LogRetentionDays is the log group's retention.
	LogRetentionDays int
	// TelemetryKeyArn and TelemetryKey encrypt the log group and the
	// schedule's dead-letter queue.
	TelemetryKeyArn pulumi.StringInput
	TelemetryKey    iamdoc.Key
	// SchedulerDLQArn and SchedulerDLQName are the schedules' dead-letter
	// queue (monitoring).
	SchedulerDLQArn  pulumi.StringInput
	SchedulerDLQName string
	// ParameterName is the key set parameter's full name
	// (paramtable.KeySetPath); JWKSURLParameterName is the parameter that
	// holds the pool's JWKS URL (Identity.JWKSURL, JWKSURLPath).
	// Parameters are their resources, which the machine waits for.
	ParameterName, JWKSURLParameterName string
	Parameters                          []pulumi.Resource
}

// KeySync is the component: the state machine that keeps the key set
// parameter equal to the pool's JWKS plus recently retired keys.
type KeySync struct {
	pulumi.ResourceState

	// StateMachineArn is the key sync's state machine.
	StateMachineArn pulumi.StringOutput
}

// KeySyncTargets is what the definition embeds: names and name-derived
// ARNs only (the pool id and the connection's id are read at run time).
func KeySyncTargets(names naming.Namer, at awsarn.At, parameterName, jwksURLParameterName string) asl.KeySyncTargets {
	return asl.KeySyncTargets{
		StateMachineArn:      at.StateMachine(names.Name(naming.KeySyncSM)),
		ParameterName:        parameterName,
		ParameterArn:         at.Parameter(parameterName),
		JWKSURLParameterName: jwksURLParameterName,
		JWKSURLParameterArn:  at.Parameter(jwksURLParameterName),
		ConnectionName:       names.Name(naming.KeySyncConnection),
		RetentionMinutes:     KeyRetentionMinutes,
	}
}

// JWKSURLPath is the parameter, below /trading/<suffix>, that holds the
// user pool's JWKS URL (Identity.JWKSURL) for the key sync: the URL holds
// the pool id AWS assigns at create time, so the definition, known at
// program time, reads it at run time.
const JWKSURLPath = "identity/jwks-url"

// NewKeySync creates the key sync: an EventBridge connection for the HTTP
// Task, and the state machine (infra/asl.KeySync) with its role, log group
// and a schedule every minute (KeySyncSchedule). Its failed executions
// alarm through monitoring (deploy.go lists the machine there).
func NewKeySync(ctx *pulumi.Context, name string, args KeySyncArgs, opts ...pulumi.ResourceOption) (*KeySync, error) {
	if args.ParameterName == "" || args.JWKSURLParameterName == "" || len(args.Parameters) == 0 {
		return nil, fmt.Errorf("key sync: the key set and JWKS URL parameters are required")
	}
	// The definition and its role policy are built and validated now,
	// before anything registers: a broken definition fails Deploy at the
	// first preview.
	sm, err := asl.KeySync(KeySyncTargets(args.Names, args.At, args.ParameterName, args.JWKSURLParameterName))
	if err != nil {
		return nil, err
	}
	plan, err := statemachine.NewPlan(asl.KeySyncName, sm, args.TelemetryKey)
	if err != nil {
		return nil, fmt.Errorf("key sync: %w", err)
	}

	c := &KeySync{}
	if err := ctx.RegisterComponentResource("trading:identity:KeySync", name, c, opts...); err != nil {
		return nil, fmt.Errorf("register key sync component: %w", err)
	}
	parent := pulumi.Parent(c)
	kids := naming.ChildrenOf(name)

	conn, err := cloudwatch.NewEventConnection(ctx, kids.Name("connection"), &cloudwatch.EventConnectionArgs{
		Name:              pulumi.String(args.Names.Name(naming.KeySyncConnection)),
		Description:       pulumi.String("trading-ha key sync: the HTTP Task's connection to the public Cognito JWKS URL (the API key header is ignored)"),
		AuthorizationType: pulumi.String("API_KEY"),
		AuthParameters: &cloudwatch.EventConnectionAuthParametersArgs{
			ApiKey: &cloudwatch.EventConnectionAuthParametersApiKeyArgs{
				Key: pulumi.String(KeySyncAPIKeyHeader), Value: pulumi.String(KeySyncAPIKeyValue),
			},
		},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create key sync connection: %w", err)
	}
	// The definition names the parameters and the connection by name:
	// the machine and its schedule wait for them.
	machine, err := statemachine.New(ctx, kids, asl.KeySyncName, statemachine.Spec{
		Name:             args.Names.Name(naming.KeySyncSM),
		LogGroupName:     args.Names.Name(naming.KeySyncLogs),
		RoleName:         args.Names.Name(naming.KeySyncRole),
		At:               args.At,
		LogRetentionDays: args.LogRetentionDays,
		TelemetryKeyArn:  args.TelemetryKeyArn,
		TelemetryKey:     args.TelemetryKey,
		Plan:             plan,
		Schedule: &statemachine.Schedule{
			Name: args.Names.Name(naming.KeySyncSchedule), RoleName: args.Names.Name(naming.KeySyncSchedRole),
			Description: "trading-ha key sync: Cognito JWKS to the key set parameter", Expression: KeySyncSchedule,
			Input: "{}", MaxEventAgeSeconds: 60,
			DeadLetterArn: args.SchedulerDLQArn, DeadLetterQueueName: args.SchedulerDLQName,
		},
	}, pulumi.Composite(parent, pulumi.DependsOn(append([]pulumi.Resource{conn}, args.Parameters...))))
	if err != nil {
		return nil, fmt.Errorf("key sync: %w", err)
	}
	c.StateMachineArn = machine.Arn
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{"stateMachineArn": machine.Arn}); err != nil {
		return nil, fmt.Errorf("register key sync outputs: %w", err)
	}
	return c, nil
}

package service

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumix"

	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/iamdoc"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/paramtable"
)

// ExecutionPolicy is a task execution role's policy: what ECS needs to
// start the task — pull our image, write its log group, read its
// parameters (and, for the migrate task only, the master secret), decrypt
// them — and nothing else. repositoryArn is empty when the image is not in
// ECR; secretArn is empty for a task that holds no secret (the app).
func ExecutionPolicy(repositoryArn, logGroupArn string, parameterArns []string, secretArn string, dataKey iamdoc.Key) iamdoc.Document {
	var stmts []iamdoc.Statement
	if repositoryArn != "" {
		stmts = append(stmts,
			// GetAuthorizationToken is account-wide: it has no resource type,
			// so IAM only accepts "*" for it. It returns a registry login,
			// not image access; the next statement scopes the pulls.
			iamdoc.Allow("EcrLogin", []string{"ecr:GetAuthorizationToken"}, []string{"*"}),
			iamdoc.Allow("PullOurImage", []string{"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}, []string{repositoryArn}),
		)
	}
	stmts = append(stmts,
		iamdoc.Allow("WriteOurLogGroup", []string{"logs:CreateLogStream", "logs:PutLogEvents"}, []string{logGroupArn + ":*"}),
		// Exactly the parameters the containers read (infra/paramtable), not
		// the whole hierarchy: the probes' client secrets are not the task's.
		iamdoc.Allow("ReadOurParameters", []string{"ssm:GetParameters"}, parameterArns),
	)
	via := []string{"ssm." + config.Region + ".amazonaws.com"}
	if secretArn != "" {
		stmts = append(stmts, iamdoc.Allow("ReadDBSecret", []string{"secretsmanager:GetSecretValue"}, []string{secretArn}))
		via = append(via, "secretsmanager."+config.Region+".amazonaws.com")
	}
	// Only as SSM (and Secrets Manager) decrypt the SecureStrings (and the
	// secret) for it: the data key admits no other use by the account.
	stmts = append(stmts, dataKey.Allow("DecryptConfig", []string{"kms:Decrypt"},
		map[string]map[string]any{"StringEquals": {"kms:ViaService": via}}))
	return iamdoc.New(stmts...)
}

// ExecActions are the ECS Exec channel actions; ssmmessages has no resource
// types, so they only take "*". Granted only when enableExecuteCommand is on.
var ExecActions = []string{
	"ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
	"ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel",
}

// TaskPolicy is the app's own policy: exactly the calls the service makes
// (app/internal/sessions: dynamodb PutItem and GetItem on the sessions
// table; app/internal/events: events PutEvents on the bus), the flags and
// limits it reads (ssm GetParametersByPath below /flags and /limits), and
// the data key only as DynamoDB uses it on the table's behalf
// (kms:ViaService, and the aws:dynamodb:tableName encryption context
// DynamoDB documents in "How Amazon DynamoDB uses AWS KMS").
// parameterRoot is arn:aws:ssm:<region>:<account>:parameter/trading/<suffix>.
//
// The service connects to Aurora with IAM database authentication as the
// application role (CONTRACT.md sections 3 and 8): rds-db:connect on
// arn:aws:rds-db:<region>:<account>:dbuser:<cluster resource id>/<role>
// (Amazon Aurora User Guide, Creating and using an IAM policy for IAM
// database access: the resource is the cluster's DbClusterResourceId, not
// its name).
//
// The issuer's signing keys come from one parameter (keySetArn,
// paramtable.KeySetPath): ssm:GetParameter on exactly that ARN.
func TaskPolicy(tableArn, tableName, busArn string, dataKey iamdoc.Key, parameterRoot, keySetArn, region, dbUserArn string, exec bool) iamdoc.Document {
	var paths []string
	for _, p := range ReadPaths {
		paths = append(paths, parameterRoot+"/"+p, parameterRoot+"/"+p+"/*")
	}
	stmts := []iamdoc.Statement{
		iamdoc.Allow("SessionsTable", []string{"dynamodb:GetItem", "dynamodb:PutItem"}, []string{tableArn}),
		iamdoc.Allow("PublishOrderEvents", []string{"events:PutEvents"}, []string{busArn}),
		iamdoc.Allow("ReadFlagsAndLimits", []string{"ssm:GetParametersByPath"}, paths),
		iamdoc.Allow("ReadSigningKeys", []string{"ssm:GetParameter"}, []string{keySetArn}),
		iamdoc.Allow("ConnectAsAppRole", []string{"rds-db:connect"}, []string{dbUserArn}),
		dataKey.Allow("DataKeyViaDynamoDB", []string{"kms:Decrypt", "kms:GenerateDataKey"},
			map[string]map[string]any{"StringEquals": {
				"kms:ViaService": "dynamodb." + region + ".amazonaws.com",
				"kms:EncryptionContext:aws:dynamodb:tableName": tableName,
			}}),
	}
	if exec {
		// ECS Exec: ssmmessages has no resource types; "*" is the only form.
		stmts = append(stmts, iamdoc.Allow("EcsExec", ExecActions, []string{"*"}))
	}
	return iamdoc.New(stmts...)
}

// ReadPaths are the hierarchies below /trading/<suffix> the service reads
// with GetParametersByPath: the feature flags, the trading limits and the
// reference prices of the price band (CONTRACT.md section 5).
var ReadPaths = []string{"flags", "limits", "reference-prices"}

// DBAppUser is the application role the service connects as; the migrate
// step creates it with DML on the service's own tables only.
const DBAppUser = "trading_app"

// DBUserArn is the rds-db:connect resource of the application role.
func DBUserArn(region, account, clusterResourceID string) string {
	return fmt.Sprintf("arn:aws:rds-db:%s:%s:dbuser:%s/%s", region, account, clusterResourceID, DBAppUser)
}

// ecsTrust lets ECS tasks of this account (and no other) assume a role.
func ecsTrust(account, region string) iamdoc.Document {
	doc := iamdoc.AssumeRole("ecs-tasks.amazonaws.com", account)
	doc.Statement[0].Condition["ArnLike"] = map[string]any{"aws:SourceArn": fmt.Sprintf("arn:aws:ecs:%s:%s:*", region, account)}
	return doc
}

// roles creates the execution role and the task role with inline policies.
func (b *builder) roles() error {
	trust, err := ecsTrust(b.args.AccountID, b.args.Shared.Region).JSON()
	if err != nil {
		return err
	}
	var paramArns []string
	for _, row := range paramtable.Rows {
		paramArns = append(paramArns, fmt.Sprintf("arn:aws:ssm:%s:%s:parameter%s", b.args.Shared.Region, b.args.AccountID, b.args.Names.Parameter(row.Path)))
	}

	repo := b.repoArn()
	// The data key is named by alias (iamdoc.Key); the log group and
	// repository outputs stay inside the apply. The app's tasks hold no
	// secret: the master secret is the migrate task's alone (migrate.go).
	execPolicy := pulumix.Cast[pulumi.StringOutput](pulumix.Apply2Err[string, string](repo, b.logGroupArn,
		func(repo, logGroup string) (string, error) {
			return ExecutionPolicy(repo, logGroup, paramArns, "", b.args.DataKey).JSON()
		}))
	exec := b.cfg.EnableExecuteCommand
	paramRoot := fmt.Sprintf("arn:aws:ssm:%s:%s:parameter%s", b.args.Shared.Region, b.args.AccountID, b.args.Names.ParameterPath())
	keySetArn := fmt.Sprintf("arn:aws:ssm:%s:%s:parameter%s", b.args.Shared.Region, b.args.AccountID, b.args.Names.Parameter(paramtable.KeySetPath))
	region := b.args.Shared.Region
	account := b.args.AccountID
	// The cluster's resource ID (RDS chooses it) stays inside the apply.
	taskPolicy := pulumix.Cast[pulumi.StringOutput](pulumix.Apply2Err[string, string](b.args.SessionsTableArn.ToStringOutput(), b.args.DBClusterResourceID.ToStringOutput(),
		func(tableArn, clusterResourceID string) (string, error) {
			return TaskPolicy(tableArn, b.args.Names.Name(naming.SessionsTable), b.s.EventBusArn, b.args.DataKey, paramRoot, keySetArn, region,
				DBUserArn(region, account, clusterResourceID), exec).JSON()
		}))

	for _, r := range []struct {
		logical string
		kind    naming.Kind
		desc    string
		policy  pulumi.StringOutput
		arn     *pulumi.StringOutput
	}{
		{"task-execution", naming.TaskExecutionRole, "ECS starts the trading task: image pull, logs, configuration", execPolicy, &b.execRole},
		{"task", naming.TaskRole, "the trading service's own AWS access", taskPolicy, &b.taskRole},
	} {
		role, err := iam.NewRole(b.ctx, b.kids.Name(r.logical), &iam.RoleArgs{
			Name:             pulumi.String(b.args.Names.Name(r.kind)),
			Description:      pulumi.String(r.desc),
			AssumeRolePolicy: pulumi.String(trust),
		}, b.parent)
		if err != nil {
			return fmt.Errorf("create %s role: %w", r.logical, err)
		}
		pol, err := iam.NewRolePolicy(b.ctx, b.kids.Name(r.logical), &iam.RolePolicyArgs{Role: role.Name, Policy: r.policy}, b.parent)
		if err != nil {
			return fmt.Errorf("attach %s policy: %w", r.logical, err)
		}
		b.rolePolicies = append(b.rolePolicies, pol)
		*r.arn = role.Arn
	}
	b.s.TaskRoleArn, b.s.ExecutionRoleArn = b.taskRole, b.execRole
	return nil
}

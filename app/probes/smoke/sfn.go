package smoke

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

// SFNAPI is the part of the Step Functions client the smoke test uses.
type SFNAPI interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, opts ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, opts ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

// StepFunctions implements Runbooks with the AWS SDK's Step Functions client.
type StepFunctions struct {
	API SFNAPI
}

// Start implements Runbooks.
func (s StepFunctions) Start(ctx context.Context, stateMachineArn, name, input string) (string, error) {
	out, err := s.API.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(stateMachineArn), Name: aws.String(name), Input: aws.String(input),
	})
	if err != nil {
		return "", fmt.Errorf("StartExecution of %s: %w", stateMachineArn, err)
	}
	return aws.ToString(out.ExecutionArn), nil
}

// Describe implements Runbooks.
func (s StepFunctions) Describe(ctx context.Context, executionArn string) (Execution, error) {
	out, err := s.API.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(executionArn)})
	if err != nil {
		return Execution{}, fmt.Errorf("DescribeExecution of %s: %w", executionArn, err)
	}
	return Execution{
		Status: string(out.Status), Output: aws.ToString(out.Output),
		Error: aws.ToString(out.Error), Cause: aws.ToString(out.Cause),
	}, nil
}

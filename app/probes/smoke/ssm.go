package smoke

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// SSMAPI is the part of the SSM client the smoke test uses.
type SSMAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// ReadClientSecret reads the SecureString parameter name (GetParameter
// WithDecryption: the caller needs ssm:GetParameter on it and kms:Decrypt
// on its key).
func ReadClientSecret(ctx context.Context, api SSMAPI, name string) (string, error) {
	out, err := api.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("read client secret from SSM parameter %s: %w", name, err)
	}
	if out.Parameter == nil || aws.ToString(out.Parameter.Value) == "" {
		return "", fmt.Errorf("SSM parameter %s has no value", name)
	}
	return aws.ToString(out.Parameter.Value), nil
}

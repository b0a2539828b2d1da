package probes_test

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/trading-ha/trading-ha/app/internal/testkit"
)

func ssmClient(endpoint string) *ssm.Client {
	return ssm.New(ssm.Options{Region: testkit.Region, BaseEndpoint: aws.String(endpoint), Credentials: testkit.Credentials()})
}

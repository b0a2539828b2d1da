// Command smoke is the post-deploy smoke test of a live stack. It reads the
// stack outputs, checks the public endpoint over HTTPS (GET /edge-probe is
// 200 and the health paths /healthz and /readyz are 404 from the internet,
// a synthetic order placed, replayed with the same Idempotency-Key and read
// back), runs the health-check runbook (Step Functions) to completion,
// checks that database audit is on (the newest line of the migrate step in
// the log group of output migrateLogGroup names the pgaudit version;
// CloudWatch Logs FilterLogEvents) and checks the account-wide
// prerequisites the stack does not own (AWS Backup's advanced DynamoDB
// features in the stack's region; docs/deploy.md, section 5a), then prints
// a pass/fail summary with the time each step took. It exits 1 on any
// failure.
//
// Session and order calls carry a bearer token from the stack's Cognito
// token endpoint (outputs oidcTokenUrl and smokeClientId, client
// credentials). The client secret is -client-secret, else $SMOKE_CLIENT_SECRET,
// else the SSM SecureString parameter <parameterRoot>/probes/smoke/client-secret
// (-client-secret-parameter overrides the name), read with GetParameter
// WithDecryption.
//
//	pulumi stack output --json --show-secrets=false | go run ./scripts/smoke
//	go run ./scripts/smoke -outputs outputs.json -insecure   # self-signed certificate stacks
//
// AWS credentials and region come from the usual SDK chain (environment,
// profile, SSO); the region defaults to the state machine ARN's, else the
// token endpoint's.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/trading-ha/trading-ha/app/probes/smoke"
)

func main() {
	outputs := flag.String("outputs", "-", "file with `pulumi stack output --json` (- reads stdin)")
	insecure := flag.Bool("insecure", false, "accept any TLS certificate (certificateMode=selfsigned stacks)")
	skipRunbook := flag.Bool("skip-runbook", false, "skip the Step Functions health-check runbook")
	skipPrereqs := flag.Bool("skip-prerequisites", false, "skip the account-wide prerequisite checks (AWS Backup region settings)")
	skipAudit := flag.Bool("skip-audit", false, "skip the database audit check (the migrate step's pgaudit line in CloudWatch Logs)")
	timeout := flag.Duration("runbook-timeout", 5*time.Minute, "how long to wait for the runbook execution")
	poll := flag.Duration("poll", 5*time.Second, "DescribeExecution polling interval")
	secret := flag.String("client-secret", "", "the smoke client's secret (default $SMOKE_CLIENT_SECRET, else read from SSM)")
	secretParam := flag.String("client-secret-parameter", "", "SSM SecureString parameter with the client secret (default <parameterRoot>/probes/smoke/client-secret)")
	scope := flag.String("scope", smoke.DefaultScope, "OAuth2 scope to request")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *secret == "" {
		*secret = os.Getenv("SMOKE_CLIENT_SECRET")
	}
	ok, err := run(ctx, os.Stdout, options{outputs: *outputs, insecure: *insecure, skipRunbook: *skipRunbook, skipPrereqs: *skipPrereqs, skipAudit: *skipAudit,
		timeout: *timeout, poll: *poll,
		secret: *secret, secretParameter: *secretParam, scope: *scope})
	if err != nil {
		fmt.Fprintln(os.Stderr, "smoke:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

type options struct {
	outputs                 string
	insecure, skipRunbook   bool
	skipPrereqs, skipAudit  bool
	timeout, poll           time.Duration
	secret, secretParameter string
	scope                   string
}

func run(ctx context.Context, w io.Writer, o options) (bool, error) {
	outputsPath, insecure, skipRunbook, timeout, poll := o.outputs, o.insecure, o.skipRunbook, o.timeout, o.poll
	in := io.Reader(os.Stdin)
	if outputsPath != "-" {
		f, err := os.Open(outputsPath)
		if err != nil {
			return false, fmt.Errorf("open outputs: %w", err)
		}
		defer f.Close()
		in = f
	}
	outs, err := smoke.ParseOutputs(in, skipRunbook)
	if err != nil {
		return false, err
	}

	transport := http.DefaultTransport.(*http.Transport).Clone()
	if insecure {
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // opt-in for self-signed stacks
	}
	cfg := smoke.Config{
		Outputs:        outs,
		HTTP:           &http.Client{Transport: transport, Timeout: 30 * time.Second},
		RunbookTimeout: timeout,
		PollInterval:   poll,
		ClientSecret:   o.secret,
		Scope:          o.scope,
	}
	var awsCfg *aws.Config
	loadAWS := func() (aws.Config, error) {
		if awsCfg != nil {
			return *awsCfg, nil
		}
		c, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return c, fmt.Errorf("load AWS configuration: %w", err)
		}
		if c.Region == "" {
			c.Region = regionOf(outs.HealthCheckStateMachineArn)
		}
		if c.Region == "" {
			c.Region = cognitoRegion(outs.TokenURL)
		}
		if c.Region == "" {
			return c, errors.New("no AWS region configured and none in the state machine ARN or token URL")
		}
		awsCfg = &c
		return c, nil
	}
	if cfg.ClientSecret == "" {
		name := o.secretParameter
		if name == "" {
			if outs.ParameterRoot == "" {
				return false, fmt.Errorf("no client secret: pass -client-secret, set SMOKE_CLIENT_SECRET, pass -client-secret-parameter or export stack output %q", smoke.OutputParameterRoot)
			}
			name = smoke.ClientSecretParameter(outs.ParameterRoot)
		}
		c, err := loadAWS()
		if err != nil {
			return false, err
		}
		if cfg.ClientSecret, err = smoke.ReadClientSecret(ctx, ssm.NewFromConfig(c), name); err != nil {
			return false, err
		}
	}
	if !skipRunbook {
		c, err := loadAWS()
		if err != nil {
			return false, err
		}
		cfg.Runbooks = smoke.StepFunctions{API: sfn.NewFromConfig(c)}
	}
	if !o.skipAudit {
		c, err := loadAWS()
		if err != nil {
			return false, err
		}
		cfg.MigrateLog = smoke.CloudWatchLogs{API: cloudwatchlogs.NewFromConfig(c)}
	}
	if !o.skipPrereqs {
		c, err := loadAWS()
		if err != nil {
			return false, err
		}
		region := stackRegion(outs, c.Region)
		cfg.Prerequisites = append(cfg.Prerequisites, smoke.AdvancedDynamoDBBackup(backup.NewFromConfig(c), region))
	}

	fmt.Fprintf(w, "smoke test of %s\n", outs.EndpointURL)
	rep := smoke.Run(ctx, cfg)
	if err := rep.Write(w); err != nil {
		return false, fmt.Errorf("write report: %w", err)
	}
	return rep.OK(), nil
}

// stackRegion is the region the stack runs in: the health-check state
// machine's, else the token endpoint's, else fallback (the SDK's).
func stackRegion(outs smoke.Outputs, fallback string) string {
	if r := regionOf(outs.HealthCheckStateMachineArn); r != "" {
		return r
	}
	if r := cognitoRegion(outs.TokenURL); r != "" {
		return r
	}
	return fallback
}

// cognitoRegion returns the region of a Cognito domain token URL
// (https://<domain>.auth.<region>.amazoncognito.com/oauth2/token).
func cognitoRegion(tokenURL string) string {
	u, err := url.Parse(tokenURL)
	if err != nil {
		return ""
	}
	labels := strings.Split(u.Hostname(), ".")
	for i := 0; i+2 < len(labels); i++ {
		if labels[i] == "auth" && labels[i+2] == "amazoncognito" {
			return labels[i+1]
		}
	}
	return ""
}

// regionOf returns the region field of an ARN (arn:aws:states:<region>:...).
func regionOf(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) > 3 {
		return parts[3]
	}
	return ""
}

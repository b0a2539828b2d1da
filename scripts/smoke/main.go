// Command smoke is the post-deploy smoke test of a live stack. It reads the
// stack outputs, checks the public endpoint over HTTPS (GET /healthz, GET
// /readyz, a synthetic order placed, replayed with the same Idempotency-Key
// and read back) and runs the health-check runbook (Step Functions) to
// completion, then prints a pass/fail summary with the time each step took.
// It exits 1 on any failure.
//
//	pulumi stack output --json --show-secrets=false | go run ./scripts/smoke
//	go run ./scripts/smoke -outputs outputs.json -insecure   # self-signed certificate stacks
//
// AWS credentials and region come from the usual SDK chain (environment,
// profile, SSO); the region defaults to the state machine ARN's.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/trading-ha/trading-ha/internal/smoke"
)

func main() {
	outputs := flag.String("outputs", "-", "file with `pulumi stack output --json` (- reads stdin)")
	insecure := flag.Bool("insecure", false, "accept any TLS certificate (certificateMode=selfsigned stacks)")
	skipRunbook := flag.Bool("skip-runbook", false, "skip the Step Functions health-check runbook")
	timeout := flag.Duration("runbook-timeout", 5*time.Minute, "how long to wait for the runbook execution")
	poll := flag.Duration("poll", 5*time.Second, "DescribeExecution polling interval")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ok, err := run(ctx, os.Stdout, *outputs, *insecure, *skipRunbook, *timeout, *poll)
	if err != nil {
		fmt.Fprintln(os.Stderr, "smoke:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, outputsPath string, insecure, skipRunbook bool, timeout, poll time.Duration) (bool, error) {
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
	}
	if !skipRunbook {
		awsCfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return false, fmt.Errorf("load AWS configuration: %w", err)
		}
		if awsCfg.Region == "" {
			awsCfg.Region = regionOf(outs.HealthCheckStateMachineArn)
		}
		if awsCfg.Region == "" {
			return false, errors.New("no AWS region configured and none in the state machine ARN")
		}
		cfg.Runbooks = smoke.StepFunctions{API: sfn.NewFromConfig(awsCfg)}
	}

	fmt.Fprintf(w, "smoke test of %s\n", outs.EndpointURL)
	rep := smoke.Run(ctx, cfg)
	if err := rep.Write(w); err != nil {
		return false, fmt.Errorf("write report: %w", err)
	}
	return rep.OK(), nil
}

// regionOf returns the region field of an ARN (arn:aws:states:<region>:...).
func regionOf(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) > 3 {
		return parts[3]
	}
	return ""
}

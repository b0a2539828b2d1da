// Command devstack runs the real trading service on loopback with every
// dependency faked or local — PostgreSQL (TLS, least-privileged role),
// dynalite, a recording EventBridge, SSM Parameter Store, and an OIDC issuer
// shaped like a Cognito user pool with client-credentials clients — so the
// canary (infra/monitoring/canary) and the smoke test (scripts/smoke) can be
// pointed at the real thing. It prints one JSON object (endpoint, issuer,
// token endpoint, client ids and secrets, a ready-made access token per
// client, the SSM path) and serves until interrupted.
//
//	go run ./scripts/devstack [-tls] [-clients canary,smoke,desk-a]
//
// Get a token like a desk does against Cognito:
//
//	curl -s -u "$CLIENT_ID:$SECRET" -d grant_type=client_credentials -d scope=trading/orders "$TOKEN_URL"
//
// Prerequisites: app/testdata/setup-integration.sh.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/trading-ha/trading-ha/app/devstack"
)

func main() {
	useTLS := flag.Bool("tls", false, "serve HTTPS with a self-signed certificate (smoke test: -insecure)")
	clients := flag.String("clients", strings.Join(devstack.DefaultClients, ","), "comma-separated client ids (trader id = client id)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	info, closeFn, err := devstack.Start(startCtx, strings.Split(*clients, ","), *useTLS)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(2)
	}
	defer closeFn()
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(info)
	fmt.Fprintln(os.Stderr, "devstack: serving; Ctrl-C stops")
	<-ctx.Done()
}

// Command drill runs the trading service's failover drill on this machine:
// it starts PostgreSQL (TLS), dynalite and a fake EventBridge on loopback,
// runs the service in-process, drives concurrent idempotent orders, kills
// the database's connections and restarts the server mid-run, and prints the
// figures. It exits 1 if any property failed, 2 on setup errors.
//
//	go run ./scripts/drill [-workers 8] [-duration 20s] [-downtime 3s] [-batch-workers -1]
//
// Prerequisites: app/testdata/setup-integration.sh.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/trading-ha/trading-ha/app/drill"
)

func main() {
	var o drill.Options
	flag.IntVar(&o.Workers, "workers", 8, "concurrent clients")
	flag.DurationVar(&o.Duration, "duration", 20*time.Second, "how long clients place new orders")
	flag.DurationVar(&o.TerminateAt, "terminate-at", 3*time.Second, "when to pg_terminate_backend every connection")
	flag.DurationVar(&o.RestartAt, "restart-at", 8*time.Second, "when to stop the PostgreSQL server")
	flag.DurationVar(&o.Downtime, "downtime", 3*time.Second, "how long the server stays down")
	flag.DurationVar(&o.RecoveryLimit, "recovery-limit", 30*time.Second, "maximum time from server stop to the first order acknowledged after it is back")
	verbose := flag.Bool("v", false, "print the service's JSON logs to stderr")
	batch := flag.Int("batch-workers", -1, "ORDER_BATCH_WORKERS for the service (-1: the service's default, group commit on; 0: off)")
	flag.Parse()
	if *batch >= 0 {
		o.Env = map[string]string{"ORDER_BATCH_WORKERS": fmt.Sprint(*batch)}
	}
	if *verbose {
		o.Logger = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	o.Progress = func(format string, args ...any) { fmt.Fprintf(os.Stderr, "drill: "+format+"\n", args...) }

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := drill.Run(ctx, o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "drill: %v\n", err)
		os.Exit(2)
	}
	fmt.Print(rep.String())
	if len(rep.Failures()) > 0 {
		os.Exit(1)
	}
}

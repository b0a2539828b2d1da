// Command gameday runs the local game day (proof/gameday): a task
// killed, an AZ cut off, the database writer killed, on one machine with
// real parts, measured from a desk client's side and held to the
// resilience report. Needs root, iproute2, haproxy, pg_auto_failover and
// PostgreSQL 15 (app/testdata/setup-gameday.sh). Exit 0 within model, 1
// outside it (or anything lost/duplicated), 2 setup error.
//
//	go run ./scripts/gameday [-stack dev] [-set trading-ha:desiredCount=3] [-client-attempts 1] [-quiet] [-keep]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/trading-ha/trading-ha/proof/gameday"
)

type sets map[string]string

func (s sets) String() string { return fmt.Sprint(map[string]string(s)) }
func (s sets) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("want key=value, got %q", v)
	}
	s[k] = val
	return nil
}

func main() {
	opts := gameday.Options{Overrides: sets{}}
	flag.StringVar(&opts.Stack, "stack", "dev", "stack file whose recording configures HAProxy and the tasks")
	flag.Var(sets(opts.Overrides), "set", "config override key=value (repeatable), e.g. trading-ha:desiredCount=3")
	flag.IntVar(&opts.ClientAttempts, "client-attempts", 40, "attempts per order (1 = a desk client without retries: the deliberate regression)")
	flag.IntVar(&opts.Desks, "desks", 4, "concurrent desks")
	quiet := flag.Bool("quiet", false, "no progress lines on stderr")
	flag.BoolVar(&opts.KeepDir, "keep", false, "keep the work directory (logs)")
	limit := flag.Duration("limit", 8*time.Minute, "hard bound on the whole run")
	only := flag.String("only", "", "comma-separated scenario keys to run (default all)")
	flag.StringVar(&opts.AppDir, "app-dir", "", "build the service from this checkout (an older commit shows a fix red)")
	flag.StringVar(&opts.RecoveryDefinition, "recovery-definition", "", "run this service-recovery definition (ASL JSON) instead of the recorded one")
	flag.Parse()
	if *only != "" {
		opts.Only = strings.Split(*only, ",")
	}
	opts.Log = io.Discard
	if !*quiet {
		opts.Log = os.Stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *limit)
	defer cancel()
	res, err := gameday.Run(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gameday:", err)
		if len(res.Scenarios) > 0 {
			fmt.Print(res.String())
		}
		os.Exit(2)
	}
	fmt.Print(res.String())
	if !res.OK() {
		os.Exit(1)
	}
}

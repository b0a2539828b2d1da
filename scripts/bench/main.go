// Command bench measures the trading service against the database it runs
// on: it starts the real service on loopback (PostgreSQL with TLS, the
// least-privileged role, dynalite, fake EventBridge and SSM, a local OIDC
// issuer: authentication on), drives POST /orders with unique idempotency
// keys from -conns keep-alive connections (one desk each, its own bearer
// token and session), and runs pgbench against the same server with the
// same order and outbox insert (store.CreateOrderSQL) and as many clients,
// in alternating slices of -duration in total per side. The comparison is
// kept fair:
//
//   - durable: PostgreSQL runs with fsync on for both sides (-durable=false
//     turns it off);
//   - same concurrency: the service's writer pool (DB_POOL_MAX_CONNS) gets
//     as many connections as pgbench has clients (-db-conns overrides);
//   - same relay: the service stays up during the pgbench slices and its
//     outbox relay publishes pgbench's rows as it does the service's; each
//     side's time includes draining its own outbox, so the relay's claim,
//     publish and settle are charged to the side whose orders they serve;
//   - the service is warmed up (its pools dial lazily) as pgbench's
//     connection time is excluded.
//
// It ends with one line:
//
//	bench: service X orders/s p50 A ms p99 B ms; pgbench Y tps; ratio R
//
// Usage:
//
//	go run ./scripts/bench [-duration 30s] [-rounds 3] [-conns 16] [-db-conns 0] [-durable=true] [-cpuprofile cpu.out] [-env K=V]
//
// Prerequisites: app/testdata/setup-integration.sh (pgbench ships with the
// PostgreSQL server package). Progress, pgbench's latencies, the CPU time
// per order of each side (this process, the PostgreSQL server, the pgbench
// client) and the load average go to stderr: figures from a shared machine
// are only comparable at similar load.
// Exit 0 on success, 1 on failure, 2 when a dependency is missing.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/trading-ha/trading-ha/app/bench"
	"github.com/trading-ha/trading-ha/app/drill"
)

func main() {
	var o bench.Options
	flag.DurationVar(&o.Duration, "duration", 30*time.Second, "total time of each side (capped at 5m)")
	flag.IntVar(&o.Conns, "conns", 16, "concurrent client connections (and pgbench clients)")
	flag.IntVar(&o.DBConns, "db-conns", 0, "service DB_POOL_MAX_CONNS (0: -conns, the same concurrency as pgbench)")
	flag.IntVar(&o.Rounds, "rounds", 3, "alternating service/pgbench slices (a shared machine's load drifts)")
	flag.BoolVar(&o.Durable, "durable", true, "run PostgreSQL with fsync on (production durability) for both phases; -durable=false turns it off")
	flag.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the service phase to this file")
	var env envFlag
	flag.Var(&env, "env", "KEY=VALUE service environment override (repeatable), e.g. -env ORDER_BATCH_WORKERS=4")
	flag.Parse()
	o.Env = env
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	line, err := bench.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		if errors.Is(err, drill.ErrUnavailable) {
			os.Exit(2)
		}
		os.Exit(1)
	}
	fmt.Println(line)
}

// envFlag collects -env KEY=VALUE flags.
type envFlag map[string]string

func (e *envFlag) String() string { return fmt.Sprint(map[string]string(*e)) }

func (e *envFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	if *e == nil {
		*e = envFlag{}
	}
	(*e)[k] = val
	return nil
}

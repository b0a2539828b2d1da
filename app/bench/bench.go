// Package bench is the benchmark behind scripts/bench: the real service on
// loopback (authentication on) against pgbench running the same
// transaction on the same PostgreSQL server. See scripts/bench.
package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trading-ha/trading-ha/app/internal/testkit"
	"github.com/trading-ha/trading-ha/app/internal/testkit/stack"
)

// Options shape a run.
type Options struct {
	// Duration of each phase (default 30s, capped at 5m).
	Duration time.Duration
	// Conns is the number of client connections and pgbench clients (default 16).
	Conns int
	// DBConns overrides the service's connections per pool (0: default).
	DBConns int
	// CPUProfile, if set, receives a CPU profile of the service phase.
	CPUProfile string
	// Durable runs PostgreSQL with fsync on (both phases).
	Durable bool
	// Env adds service environment variables (e.g. ORDER_BATCH_WORKERS).
	Env map[string]string
	// Rounds is the number of alternating service/pgbench slices (default 3).
	Rounds int
}

// Run runs both phases and returns the summary line.
func Run(ctx context.Context, o Options) (string, error) {
	if o.Duration <= 0 {
		o.Duration = 30 * time.Second
	}
	if o.Conns <= 0 {
		o.Conns = 16
	}
	if o.Rounds <= 0 {
		o.Rounds = 3
	}
	o.Duration = min(max(o.Duration, time.Second), 5*time.Minute)
	o.Conns = min(o.Conns, 256)
	return run(ctx, o)
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func run(ctx context.Context, o Options) (string, error) {
	duration, conns, maxConns, cpuProfile, durable := o.Duration, o.Conns, o.DBConns, o.CPUProfile, o.Durable
	env := map[string]string{"LOG_LEVEL": "info"}
	for k, v := range o.Env {
		env[k] = v
	}
	clients := make([]string, conns)
	for i := range clients {
		clients[i] = fmt.Sprintf("bench-desk-%d", i)
	}
	// Production-like logging: JSON at info, one write(2) per line, to /dev/null.
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", os.DevNull, err)
	}
	defer devNull.Close()
	logger := slog.New(slog.NewJSONHandler(devNull, &slog.HandlerOptions{Level: slog.LevelInfo}))
	st, err := stack.Start(ctx, stack.Options{Logger: logger, Clients: clients, MaxConns: int32(maxConns), DurablePostgres: durable,
		Env:        env,
		Parameters: map[string]string{"limits/max-orders-per-second": "1000000", "limits/max-notional": "1000000000"}})
	if err != nil {
		return "", fmt.Errorf("start stack: %w", err)
	}
	defer st.Close()
	fmt.Fprintf(os.Stderr, "bench: stack up (service %s, postgres 127.0.0.1:%d, fsync %s); load average %s\n",
		st.BaseURL, st.Postgres.Port, map[bool]string{true: "on", false: "off"}[durable], loadavg())

	transport := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, IdleConnTimeout: time.Minute}
	httpc := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	sessions := make([]string, conns)
	tokens := make([]string, conns)
	for i := range clients {
		tokens[i] = st.Token(clients[i])
		if sessions[i], err = session(httpc, st.BaseURL, tokens[i]); err != nil {
			return "", err
		}
	}
	// The machine is shared: background load changes by the second. The
	// two phases therefore alternate in Rounds slices (service, pgbench,
	// pgbench, service, ...) so both see the same background on average.
	rounds := max(o.Rounds, 1)
	slice := duration / time.Duration(rounds)
	fmt.Fprintf(os.Stderr, "bench: %d connections, %s per side in %d alternating slices\n", conns, duration, rounds)
	var (
		latencies  []time.Duration
		failures   int64
		serviceDur time.Duration
		pgbTx      float64
		pgbDur     time.Duration
		idx        = make([]int, conns)
	)
	for r := range rounds {
		phases := []string{"service", "pgbench"}
		if r%2 == 1 {
			phases = []string{"pgbench", "service"}
		}
		for _, ph := range phases {
			if err := checkpoint(ctx, st); err != nil {
				return "", err
			}
			if ph == "pgbench" {
				tps, err := pgbench(ctx, st, conns, slice)
				if err != nil {
					return "", err
				}
				// pgbench's outbox rows are not the relay's work: mark them
				// published (untimed) so the next service slice does not
				// drain them.
				if err := markPublished(ctx, st); err != nil {
					return "", err
				}
				pgbTx += tps * slice.Seconds()
				pgbDur += slice
				fmt.Fprintf(os.Stderr, "bench: slice %d pgbench %.0f tps (load %s)\n", r+1, tps, loadavg())
				continue
			}
			if cpuProfile != "" && r == 0 {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return "", fmt.Errorf("create profile: %w", err)
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					return "", fmt.Errorf("start profile: %w", err)
				}
				defer f.Close()
			}
			lat, fails, d, err := load(ctx, st, httpc, tokens, sessions, idx, slice)
			if cpuProfile != "" && r == 0 {
				pprof.StopCPUProfile()
			}
			if err != nil {
				return "", err
			}
			latencies = append(latencies, lat...)
			failures += fails
			serviceDur += d
			fmt.Fprintf(os.Stderr, "bench: slice %d service %.0f orders/s incl. outbox drain (load %s)\n", r+1, float64(len(lat))/d.Seconds(), loadavg())
		}
	}
	slices.Sort(latencies)
	if len(latencies) == 0 {
		return "", fmt.Errorf("no order succeeded (%d failures)", failures)
	}
	rate := float64(len(latencies)) / serviceDur.Seconds()
	tps := pgbTx / pgbDur.Seconds()
	p50, p99 := pct(latencies, 0.50), pct(latencies, 0.99)
	fmt.Fprintf(os.Stderr, "bench: service %d orders, %d failures; load average %s\n", len(latencies), failures, loadavg())
	return fmt.Sprintf("bench: service %.0f orders/s p50 %.1f ms p99 %.1f ms; pgbench %.0f tps; ratio %.2f",
		rate, ms(p50), ms(p99), tps, rate/tps), nil
}

// load drives POST /orders for d and then waits for the relay to publish
// the backlog; the returned duration includes that drain (the relay's work
// is part of the cost of an order).
func load(ctx context.Context, st *stack.Stack, httpc *http.Client, tokens, sessions []string, idx []int, d time.Duration) ([]time.Duration, int64, time.Duration, error) {
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failures  atomic.Int64
		wg        sync.WaitGroup
	)
	start := time.Now()
	stopAt := start.Add(d)
	for w := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1<<14)
			body := []byte(`{"symbol":"AAPL","side":"buy","quantity":100,"limit_price":"187.25","synthetic":true}`)
			for time.Now().Before(stopAt) {
				idx[w]++
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, st.BaseURL+"/orders", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+tokens[w])
				req.Header.Set("X-Session-ID", sessions[w])
				req.Header.Set("Idempotency-Key", "bench-"+strconv.Itoa(w)+"-"+strconv.Itoa(idx[w]))
				t0 := time.Now()
				resp, err := httpc.Do(req)
				if err != nil {
					failures.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					failures.Add(1)
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			latencies = append(latencies, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		n, err := st.Service.Store().PendingOutbox(ctx)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("outbox backlog: %w", err)
		}
		if n == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return latencies, failures.Load(), time.Since(start), nil
}

func pct(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func session(c *http.Client, base, token string) (string, error) {
	req, _ := http.NewRequest(http.MethodPost, base+"/sessions", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`"session_id":"([^"]+)"`).FindSubmatch(b)
	if resp.StatusCode != http.StatusCreated || m == nil {
		return "", fmt.Errorf("create session: status %d: %s", resp.StatusCode, b)
	}
	return string(m[1]), nil
}

func markPublished(ctx context.Context, st *stack.Stack) error {
	conn, err := pgx.Connect(ctx, st.Postgres.AdminURL(st.Postgres.Database))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE outbox SET published_at = now() WHERE published_at IS NULL
		AND order_id IN (SELECT order_id FROM orders WHERE trader_id LIKE 'pgbench-%')`); err != nil {
		return fmt.Errorf("mark pgbench rows published: %w", err)
	}
	return nil
}

func checkpoint(ctx context.Context, st *stack.Stack) error {
	conn, err := pgx.Connect(ctx, st.Postgres.AdminURL(st.Postgres.Database))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	for _, t := range []string{"orders", "outbox"} {
		if _, err := conn.Exec(ctx, `VACUUM ANALYZE `+t); err != nil {
			return fmt.Errorf("vacuum: %w", err)
		}
	}
	if _, err := conn.Exec(ctx, `CHECKPOINT`); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// pgbenchScript is store.CreateOrderSQL with pgbench variables: a unique
// key per transaction, a payload of the service's size.
const pgbenchScript = `\set n random(1, 2000000000)
WITH o AS (
  INSERT INTO orders (order_id, session_id, trader_id, idempotency_key, request_hash,
                      symbol, side, quantity, limit_price, status, synthetic, created_at)
  VALUES (gen_random_uuid(), 'c2f1e7a0-3b7c-4c47-9a8e-5d6f7a8b9c0d', 'pgbench-desk-' || :client_id,
          'pgbench-' || :client_id || '-' || :n || '-' || gen_random_uuid(),
          'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
          'AAPL', 'buy', 100, 187.25::numeric, 'accepted', true, now())
  ON CONFLICT (trader_id, idempotency_key) WHERE key_active DO NOTHING
  RETURNING order_id)
INSERT INTO outbox (order_id, event_type, payload)
SELECT order_id, 'OrderPlaced', jsonb_build_object('order_id', order_id, 'trader_id', 'pgbench-desk-' || :client_id,
  'symbol', 'AAPL', 'side', 'buy', 'quantity', 100, 'limit_price', '187.25', 'status', 'accepted',
  'synthetic', true, 'created_at', now()) FROM o
RETURNING order_id::text;
`

func pgbench(ctx context.Context, st *stack.Stack, clients int, duration time.Duration) (float64, error) {
	bin := ""
	dirs := testkit.PostgresBinDirs
	if d := os.Getenv("TRADING_PG_BIN"); d != "" {
		dirs = append([]string{d}, dirs...)
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pgbench")); err == nil {
			bin = filepath.Join(d, "pgbench")
			break
		}
	}
	if bin == "" {
		return 0, fmt.Errorf("%w: pgbench not found in %v", testkit.ErrUnavailable, dirs)
	}
	script := filepath.Join(os.TempDir(), fmt.Sprintf("trading-bench-%d.sql", os.Getpid()))
	if err := os.WriteFile(script, []byte(pgbenchScript), 0o644); err != nil {
		return 0, fmt.Errorf("write pgbench script: %w", err)
	}
	defer os.Remove(script)
	cmd := exec.CommandContext(ctx, bin, "-n", "-M", "prepared", "-c", strconv.Itoa(clients), "-j", "2",
		"-T", strconv.Itoa(int(duration.Seconds())), "-f", script,
		"-h", "127.0.0.1", "-p", strconv.Itoa(st.Postgres.Port), "-U", st.Postgres.User, st.Postgres.Database)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+st.Postgres.Password, "PGSSLMODE=verify-full", "PGSSLROOTCERT="+st.Postgres.CAFile)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pgbench: %w: %s", err, out)
	}
	m := regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`).FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("pgbench: no tps in output: %s", out)
	}
	tps, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		return 0, fmt.Errorf("pgbench tps: %w", err)
	}
	return tps, nil
}

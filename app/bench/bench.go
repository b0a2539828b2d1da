// Package bench is the benchmark behind scripts/bench: the real service on
// loopback (authentication on) against pgbench running the same
// transaction on the same PostgreSQL server, with the same concurrency, the
// same durability and the same outbox relay draining both sides' events.
// See scripts/bench.
package bench

import (
	"context"
	"errors"
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
	"syscall"
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
	// DBConns is the service's writer pool size (DB_POOL_MAX_CONNS; 0:
	// Conns, the same concurrency as pgbench's clients).
	DBConns int
	// CPUProfile, if set, receives a CPU profile of the first service slice.
	CPUProfile string
	// Durable runs PostgreSQL with fsync on (both phases). scripts/bench
	// sets it unless -durable=false.
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
	if o.DBConns <= 0 {
		o.DBConns = o.Conns
	}
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
		Env: env,
		Parameters: map[string]string{"limits/max-orders-per-second": "1000000", "limits/max-notional": "1000000000",
			// A desk's order needs its symbol's reference price (the band).
			"reference-prices/AAPL": "187.25"}})
	if err != nil {
		return "", fmt.Errorf("start stack: %w", err)
	}
	defer st.Close()
	fmt.Fprintf(os.Stderr, "bench: stack up (service %s, postgres 127.0.0.1:%d, fsync %s, service db conns %d); load average %s\n",
		st.BaseURL, st.Postgres.Port, map[bool]string{true: "on", false: "off"}[durable], maxConns, loadavg())

	httpc := &http.Client{Timeout: 10 * time.Second}
	orderClients := make([]*orderClient, conns)
	for i := range clients {
		token := st.Token(clients[i])
		sid, err := session(httpc, st.BaseURL, token)
		if err != nil {
			return "", err
		}
		if orderClients[i], err = newOrderClient(st.BaseURL, token, sid); err != nil {
			return "", err
		}
		defer orderClients[i].close()
	}
	// Warm up (unmeasured): the service's pools dial lazily, and its first
	// TLS handshakes and statement preparations are no more part of the
	// steady state than pgbench's connection set-up is.
	if _, _, _, err := load(ctx, st, orderClients, make([]int, conns), time.Second, "warm"); err != nil {
		return "", err
	}
	// The machine is shared: background load changes by the second. The
	// two phases therefore alternate in Rounds slices (service, pgbench,
	// pgbench, service, ...) so both see the same background on average.
	rounds := max(o.Rounds, 1)
	slice := duration / time.Duration(rounds)
	fmt.Fprintf(os.Stderr, "bench: %d connections, %s per side in %d alternating slices\n", conns, duration, rounds)
	var (
		latencies  []time.Duration
		pgbLat     []time.Duration
		failures   int64
		serviceDur time.Duration
		pgbTx      int64
		pgbDur     time.Duration
		idx        = make([]int, conns)
		svcCPU     cpuUse
		pgbCPU     cpuUse
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
				// The service stays up: its relay publishes pgbench's
				// outbox rows as it does the service's, and pgbench's
				// time includes draining them (the relay's work is part
				// of the cost of an order on both sides).
				before := cpuNow(st)
				tx, lat, d, client, err := pgbench(ctx, st, conns, slice)
				if err != nil {
					return "", err
				}
				pgbTx += tx
				pgbLat = append(pgbLat, lat...)
				pgbDur += d
				used := cpuNow(st).minus(before)
				used.client = client
				pgbCPU = pgbCPU.plus(used)
				fmt.Fprintf(os.Stderr, "bench: slice %d pgbench %.0f tps incl. outbox drain; CPU per transaction %s (load %s)\n",
					r+1, float64(tx)/d.Seconds(), used.per(tx), loadavg())
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
			before := cpuNow(st)
			lat, fails, d, err := load(ctx, st, orderClients, idx, slice, "bench")
			used := cpuNow(st).minus(before)
			svcCPU = svcCPU.plus(used)
			if cpuProfile != "" && r == 0 {
				pprof.StopCPUProfile()
			}
			if err != nil {
				return "", err
			}
			latencies = append(latencies, lat...)
			failures += fails
			serviceDur += d
			fmt.Fprintf(os.Stderr, "bench: slice %d service %.0f orders/s incl. outbox drain; CPU per order %s (load %s)\n",
				r+1, float64(len(lat))/d.Seconds(), used.per(int64(len(lat))), loadavg())
		}
	}
	slices.Sort(latencies)
	slices.Sort(pgbLat)
	if len(latencies) == 0 || len(pgbLat) == 0 {
		return "", fmt.Errorf("no order succeeded (%d failures) or no pgbench transaction logged", failures)
	}
	rate := float64(len(latencies)) / serviceDur.Seconds()
	tps := float64(pgbTx) / pgbDur.Seconds()
	p50, p99 := pct(latencies, 0.50), pct(latencies, 0.99)
	fmt.Fprintf(os.Stderr, "bench: service %d orders, %d failures, CPU per order %s\n", len(latencies), failures, svcCPU.per(int64(len(latencies))))
	fmt.Fprintf(os.Stderr, "bench: pgbench %d transactions, p50 %.1f ms p99 %.1f ms, CPU per transaction %s; load average %s\n",
		pgbTx, ms(pct(pgbLat, 0.50)), ms(pct(pgbLat, 0.99)), pgbCPU.per(pgbTx), loadavg())
	return fmt.Sprintf("bench: service %.0f orders/s p50 %.1f ms p99 %.1f ms; pgbench %.0f tps; ratio %.2f",
		rate, ms(p50), ms(p99), tps, rate/tps), nil
}

// load drives POST /orders for d and then waits for the relay to publish
// the backlog; the returned duration includes that drain (the relay's work
// is part of the cost of an order).
func load(ctx context.Context, st *stack.Stack, clients []*orderClient, idx []int, d time.Duration, prefix string) ([]time.Duration, int64, time.Duration, error) {
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failures  atomic.Int64
		wg        sync.WaitGroup
	)
	start := time.Now()
	stopAt := start.Add(d)
	for w, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1<<14)
			for time.Now().Before(stopAt) && ctx.Err() == nil {
				idx[w]++
				key := prefix + "-" + strconv.Itoa(w) + "-" + strconv.Itoa(idx[w])
				t0 := time.Now()
				status, err := c.post(key)
				if err != nil && status == 0 {
					failures.Add(1)
					continue
				}
				if status != http.StatusCreated {
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
	if err := drain(ctx, st); err != nil {
		return nil, 0, 0, err
	}
	return latencies, failures.Load(), time.Since(start), nil
}

// drain waits until the relay has published every outbox row.
func drain(ctx context.Context, st *stack.Stack) error {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		n, err := st.Service.Store().PendingOutbox(ctx)
		if err != nil {
			return fmt.Errorf("outbox backlog: %w", err)
		}
		if n == 0 {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("outbox not drained within a minute")
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
          'AAPL', 'buy', 100, 187.25::numeric, 'accepted', false, now())
  ON CONFLICT (trader_id, idempotency_key) WHERE key_active DO NOTHING
  RETURNING order_id)
INSERT INTO outbox (order_id, event_type, payload)
SELECT order_id, 'OrderPlaced', jsonb_build_object('order_id', order_id, 'trader_id', 'pgbench-desk-' || :client_id,
  'symbol', 'AAPL', 'side', 'buy', 'quantity', 100, 'limit_price', '187.25', 'status', 'accepted',
  'synthetic', false, 'created_at', now()) FROM o
RETURNING order_id::text;
`

// pgbench runs pgbench for d, then waits for the relay to drain its outbox
// rows. It returns the transactions, their latencies (from pgbench's
// per-transaction log) and the time including the drain.
func pgbench(ctx context.Context, st *stack.Stack, clients int, d time.Duration) (int64, []time.Duration, time.Duration, time.Duration, error) {
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
		return 0, nil, 0, 0, fmt.Errorf("%w: pgbench not found in %v", testkit.ErrUnavailable, dirs)
	}
	dir, err := os.MkdirTemp("", "trading-bench-")
	if err != nil {
		return 0, nil, 0, 0, fmt.Errorf("pgbench work dir: %w", err)
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "order.sql")
	if err := os.WriteFile(script, []byte(pgbenchScript), 0o644); err != nil {
		return 0, nil, 0, 0, fmt.Errorf("write pgbench script: %w", err)
	}
	secs := max(int(d.Seconds()), 1)
	cmd := exec.CommandContext(ctx, bin, "-n", "-M", "prepared", "-c", strconv.Itoa(clients), "-j", "2",
		"-T", strconv.Itoa(secs), "-f", script, "-l", "--log-prefix", filepath.Join(dir, "log"),
		"-h", "127.0.0.1", "-p", strconv.Itoa(st.Postgres.Port), "-U", st.Postgres.User, st.Postgres.Database)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+st.Postgres.Password, "PGSSLMODE=verify-full", "PGSSLROOTCERT="+st.Postgres.CAFile)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, nil, 0, 0, fmt.Errorf("pgbench: %w: %s", err, out)
	}
	m := regexp.MustCompile(`number of transactions actually processed: ([0-9]+)`).FindSubmatch(out)
	if m == nil {
		return 0, nil, 0, 0, fmt.Errorf("pgbench: unexpected output: %s", out)
	}
	tx, _ := strconv.ParseInt(string(m[1]), 10, 64)
	lat, err := pgbenchLatencies(dir)
	if err != nil {
		return 0, nil, 0, 0, err
	}
	drainStart := time.Now()
	if err := drain(ctx, st); err != nil {
		return 0, nil, 0, 0, err
	}
	// pgbench's transactions ran for -T (its connections, like the
	// service's, were opened before), then the relay drained their rows.
	client := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return tx, lat, time.Duration(secs)*time.Second + time.Since(drainStart), client, nil
}

// pgbenchLatencies reads pgbench's per-transaction logs (-l): the third
// field of each line is the latency in microseconds.
func pgbenchLatencies(dir string) ([]time.Duration, error) {
	files, err := filepath.Glob(filepath.Join(dir, "log.*"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("pgbench transaction logs: none in %s (%v)", dir, err)
	}
	var lat []time.Duration
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read pgbench log: %w", err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			fields := strings.Fields(line)
			if len(fields) < 3 {
				continue
			}
			us, err := strconv.ParseInt(fields[2], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("pgbench log line %q: %w", line, err)
			}
			lat = append(lat, time.Duration(us)*time.Microsecond)
		}
	}
	return lat, nil
}

// cpuUse is CPU time by process group.
type cpuUse struct {
	// self is this process: the service, its relay and the load generator.
	self time.Duration
	// postgres is the server: postmaster, backends and background workers.
	postgres time.Duration
	// client is the pgbench process.
	client time.Duration
}

func (a cpuUse) minus(b cpuUse) cpuUse {
	return cpuUse{a.self - b.self, a.postgres - b.postgres, a.client - b.client}
}

func (a cpuUse) plus(b cpuUse) cpuUse {
	return cpuUse{a.self + b.self, a.postgres + b.postgres, a.client + b.client}
}

// per renders the CPU time per unit of work, in microseconds.
func (a cpuUse) per(n int64) string {
	if n <= 0 {
		return "-"
	}
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n) }
	out := fmt.Sprintf("%.0f us (bench process %.0f, postgres %.0f", us(a.self+a.postgres+a.client), us(a.self), us(a.postgres))
	if a.client > 0 {
		out += fmt.Sprintf(", pgbench %.0f", us(a.client))
	}
	return out + ")"
}

// cpuNow reads the CPU time of this process and of the PostgreSQL server
// (the postmaster, including the children it has reaped, plus its live
// children), from /proc. Unavailable figures count as zero.
func cpuNow(st *stack.Stack) cpuUse {
	var u cpuUse
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		u.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b, err := os.ReadFile(filepath.Join(st.Postgres.Dir(), "data", "postmaster.pid"))
	if err != nil {
		return u
	}
	master, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		return u
	}
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range procs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// Fields after the parenthesised command name: state ppid ... utime(14) stime(15) cutime(16) cstime(17).
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(b[i+1:]))
		if len(fields) < 15 {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
		ppid, _ := strconv.Atoi(fields[1])
		if pid != master && ppid != master {
			continue
		}
		n := 0
		last := 12
		if pid == master {
			last = 14 // the reaped backends' time too
		}
		for k := 11; k <= last; k++ {
			v, _ := strconv.Atoi(fields[k])
			n += v
		}
		u.postgres += time.Duration(n) * tick
	}
	return u
}

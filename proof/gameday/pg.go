package gameday

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Monitor settings for the local failover. pg_autoctl(5) lists the monitor
// GUCs that decide when the secondary is promoted
// (pgautofailover.health_check_max_retries, health_check_period,
// health_check_retry_delay, health_check_timeout,
// node_considered_unhealthy_timeout) and the one that bounds the promotion
// itself (pgautofailover.primary_demote_timeout: the monitor waits for it so
// that writes on the old primary reach the secondary) —
// https://manpages.ubuntu.com/manpages/lunar/man5/pg_autoctl.5.html . The
// defaults (5 s period, 5 s timeout, 2 retries 2 s apart, 20 s unhealthy,
// 30 s demote; same page's pg_settings listing) would make one scenario
// last a minute; we shorten them and the model reads them back from
// pg_settings, so the figure printed is the one in effect. The keeper's
// timeout.network_partition_timeout (an isolated primary demotes itself
// after it) must stay below primary_demote_timeout, or an isolated old
// primary and the promoted one could overlap.
var monitorGUCs = map[string]string{
	"pgautofailover.health_check_period":               "2000",
	"pgautofailover.health_check_timeout":              "1000",
	"pgautofailover.health_check_max_retries":          "1",
	"pgautofailover.health_check_retry_delay":          "1000",
	"pgautofailover.node_considered_unhealthy_timeout": "5000",
	"pgautofailover.primary_demote_timeout":            "10000",
}

const networkPartitionTimeout = "5" // seconds, keeper config (< primary_demote_timeout)

// pgCluster is a pg_auto_failover formation: monitor in AZ c, primary in
// AZ a, synchronous standby in AZ b.
type pgCluster struct {
	base     string
	uid, gid int
	ps       *procs
	monitor  *proc
	nodes    map[string]*proc // az -> keeper (pg_autoctl run)
	logDir   string
}

func (c *pgCluster) env(node string) []string {
	return []string{"HOME=" + c.base, "PATH=" + pgBinDir + ":/usr/sbin:/usr/bin:/sbin:/bin",
		"XDG_CONFIG_HOME=" + filepath.Join(c.base, "cfg-"+node), "XDG_DATA_HOME=" + filepath.Join(c.base, "data-"+node),
		"XDG_RUNTIME_DIR=" + filepath.Join(c.base, "run-"+node), "LANG=C"}
}

// wrap runs argv in az's namespace as postgres with node's socket directory
// bind-mounted on /var/run/postgresql.
func (c *pgCluster) wrap(az, node string, argv ...string) []string {
	sock := filepath.Join(c.base, "sock-"+node)
	inner := fmt.Sprintf("mount --bind %s /var/run/postgresql && exec nsenter --net=/run/netns/%s -S %d -G %d -- \"$@\"", sock, nsName(az), c.uid, c.gid)
	return append([]string{"unshare", "--mount", "--propagation", "private", "--", "sh", "-c", inner, "sh"}, argv...)
}

func newPGCluster(base string, ps *procs) (*pgCluster, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("%w: OS user postgres: %v", ErrUnavailable, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	c := &pgCluster{base: filepath.Join(base, "pg"), uid: uid, gid: gid, ps: ps, nodes: map[string]*proc{}, logDir: base}
	for _, d := range []string{"", "cfg-mon", "data-mon", "run-mon", "sock-mon", "cfg-a", "data-a", "run-a", "sock-a", "cfg-b", "data-b", "run-b", "sock-b"} {
		p := filepath.Join(c.base, d)
		if err := os.MkdirAll(p, 0o700); err != nil {
			return nil, err
		}
		if err := os.Chown(p, uid, gid); err != nil {
			return nil, err
		}
	}
	_ = os.Chmod(base, 0o755)
	return c, nil
}

func monitorURI() string {
	return fmt.Sprintf("postgres://autoctl_node@%s:%d/pg_auto_failover?sslmode=require", azIP("c"), monPort)
}

// adminURL reaches a data node as postgres from the root namespace (the
// hba line start() adds).
func adminURL(az string) string {
	return fmt.Sprintf("postgres://postgres@%s:%d/%s?sslmode=require&connect_timeout=2", azIP(az), pgPort, dbName)
}

func (c *pgCluster) helper(ctx context.Context, az, node string, argv ...string) (string, error) {
	full := c.wrap(az, node, argv...)
	ctx, cancel := context.WithTimeout(ctx, cmdBudget)
	defer cancel()
	cmd := execCommand(ctx, full, c.env(node))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// start brings up monitor, primary (a) and standby (b); it returns when b
// is a synchronous secondary.
func (c *pgCluster) start(ctx context.Context) error {
	var err error
	c.monitor, err = c.ps.start("monitor", filepath.Join(c.logDir, "pg-monitor.log"), c.env("mon"),
		c.wrap("c", "mon", "pg_autoctl", "create", "monitor", "--pgdata", filepath.Join(c.base, "mon"), "--pgport", itoa(monPort),
			"--hostname", azIP("c"), "--auth", "trust", "--ssl-self-signed", "--run")...)
	if err != nil {
		return err
	}
	if err := poll(ctx, 60*time.Second, 300*time.Millisecond, "monitor accepting connections", func() (bool, error) {
		conn, err := connect(ctx, monitorURI())
		if err != nil {
			return false, nil
		}
		defer conn.Close(ctx)
		var n int
		return conn.QueryRow(ctx, "select count(*) from pgautofailover.formation").Scan(&n) == nil, nil
	}); err != nil {
		return err
	}
	for k, v := range monitorGUCs {
		if _, err := c.helper(ctx, "c", "mon", "psql", "-X", "-q", "-h", "/var/run/postgresql", "-p", itoa(monPort), "-d", "pg_auto_failover",
			"-c", fmt.Sprintf("ALTER SYSTEM SET %s = '%s'", k, v)); err != nil {
			return err
		}
	}
	if _, err := c.helper(ctx, "c", "mon", "psql", "-X", "-q", "-h", "/var/run/postgresql", "-p", itoa(monPort), "-d", "pg_auto_failover", "-c", "SELECT pg_reload_conf()"); err != nil {
		return err
	}
	if err := c.startNode(ctx, "a"); err != nil {
		return err
	}
	if err := c.waitState(ctx, 60*time.Second, map[string]string{"a": "single"}); err != nil {
		return err
	}
	// Let the root namespace (migrate step, verification) in as postgres,
	// the service's role from the AZ subnet with SCRAM, and the replication
	// user into the postgres database from the other data node: an old
	// primary rejoins with pg_rewind, which connects there (otherwise
	// pg_autoctl falls back to pg_basebackup, which waits for a spread
	// checkpoint: minutes). pg_basebackup copies the file to the standby.
	hba := filepath.Join(c.base, "node-a", "pg_hba.conf")
	f, err := os.OpenFile(hba, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("pg_hba.conf: %w", err)
	}
	_, err = fmt.Fprintf(f, "hostssl all postgres %s/32 trust\nhostssl %s %s %s.0/24 scram-sha-256\nhostssl postgres pgautofailover_replicator %s/32 trust\nhostssl postgres pgautofailover_replicator %s/32 trust\n",
		hostIP, dbName, appRole, subnet, azIP("a"), azIP("b"))
	f.Close()
	if err != nil {
		return err
	}
	if _, err := c.helper(ctx, "a", "a", "psql", "-X", "-q", "-h", "/var/run/postgresql", "-p", itoa(pgPort), "-d", dbName, "-c", "SELECT pg_reload_conf()"); err != nil {
		return err
	}
	if err := c.startNode(ctx, "b"); err != nil {
		return err
	}
	// pg_autoctl's pg_basebackup waits for a spread checkpoint on the
	// primary; requesting one makes it immediate.
	if err := poll(ctx, 120*time.Second, time.Second, "standby b secondary", func() (bool, error) {
		if conn, err := connect(ctx, adminURL("a")); err == nil {
			_, _ = conn.Exec(ctx, "CHECKPOINT")
			conn.Close(ctx)
		}
		st, err := c.states(ctx)
		return err == nil && st["a"].reported == "primary" && st["b"].reported == "secondary", nil
	}); err != nil {
		return err
	}
	for _, az := range []string{"a", "b"} {
		if err := c.configureKeeper(ctx, az); err != nil {
			return err
		}
	}
	return nil
}

func (c *pgCluster) startNode(ctx context.Context, az string) error {
	pgdata := filepath.Join(c.base, "node-"+az)
	p, err := c.ps.start("pg-"+az, filepath.Join(c.logDir, "pg-"+az+".log"), c.env(az),
		c.wrap(az, az, "pg_autoctl", "create", "postgres", "--pgdata", pgdata, "--pgport", itoa(pgPort), "--hostname", azIP(az),
			"--name", "az-"+az, "--auth", "trust", "--ssl-self-signed", "--monitor", monitorURI(), "--dbname", dbName, "--run")...)
	if err != nil {
		return err
	}
	c.nodes[az] = p
	return nil
}

// restartNode runs an existing node's keeper again (pg_autoctl run): the
// old primary coming back, to rejoin as a standby.
func (c *pgCluster) restartNode(az string) error {
	pgdata := filepath.Join(c.base, "node-"+az)
	p, err := c.ps.start("pg-"+az+"-rejoin", filepath.Join(c.logDir, "pg-"+az+"-rejoin.log"), c.env(az),
		c.wrap(az, az, "pg_autoctl", "run", "--pgdata", pgdata)...)
	if err != nil {
		return fmt.Errorf("restart node %s: %w", az, err)
	}
	c.nodes[az] = p
	return nil
}

// duplicateRowsMutant is the test-only mutant that makes the duplicated
// count fire: every order row gets a copy with another order id and
// key_active false (outside the partial unique index, so ON CONFLICT still
// infers it) and the old per-session constraint is dropped. Stored rows per
// (trader, key) are then 2.
const duplicateRowsMutant = `
ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_session_idempotency_key;
CREATE FUNCTION gameday_duplicate() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r orders%ROWTYPE;
BEGIN
  IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;
  r := NEW; r.order_id := gen_random_uuid(); r.key_active := false;
  INSERT INTO orders SELECT (r).*;
  RETURN NULL;
END $$;
CREATE TRIGGER gameday_duplicate AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION gameday_duplicate();`

// applyMutant runs sql as the superuser on the current writer.
func applyMutant(ctx context.Context, sql string) error {
	conn, err := connect(ctx, fmt.Sprintf("postgres://postgres@%s:%d,%s:%d/%s?sslmode=require&target_session_attrs=read-write&connect_timeout=3",
		azIP("a"), pgPort, azIP("b"), pgPort, dbName))
	if err != nil {
		return fmt.Errorf("mutant: connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("mutant: %w", err)
	}
	return nil
}

// configureKeeper sets the keeper's partition timeout on a node that has
// reached its first state (a SIGHUP during registration breaks it).
func (c *pgCluster) configureKeeper(ctx context.Context, az string) error {
	pgdata := filepath.Join(c.base, "node-"+az)
	return poll(ctx, 30*time.Second, 500*time.Millisecond, "keeper "+az+" configured", func() (bool, error) {
		if _, err := c.helper(ctx, az, az, "pg_autoctl", "config", "set", "--pgdata", pgdata, "timeout.network_partition_timeout", networkPartitionTimeout); err != nil {
			return false, nil
		}
		_, err := c.helper(ctx, az, az, "pg_autoctl", "reload", "--pgdata", pgdata)
		return err == nil, nil
	})
}

type nodeState struct{ reported, goal string }

// states reads the monitor's view (what `pg_autoctl show state` prints).
func (c *pgCluster) states(ctx context.Context) (map[string]nodeState, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := connect(ctx, monitorURI())
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "select nodename, reportedstate::text, goalstate::text from pgautofailover.node")
	if err != nil {
		return nil, err
	}
	out := map[string]nodeState{}
	for rows.Next() {
		var n, r, g string
		if err := rows.Scan(&n, &r, &g); err != nil {
			return nil, err
		}
		out[strings.TrimPrefix(n, "az-")] = nodeState{r, g}
	}
	return out, rows.Err()
}

func (c *pgCluster) waitState(ctx context.Context, limit time.Duration, want map[string]string) error {
	return poll(ctx, limit, 300*time.Millisecond, fmt.Sprintf("database states %v", want), func() (bool, error) {
		st, err := c.states(ctx)
		if err != nil {
			return false, nil
		}
		for az, s := range want {
			if st[az].reported != s {
				return false, nil
			}
		}
		return true, nil
	})
}

// waitSteady waits until the monitor reports one primary and one
// secondary, each at its goal state, and returns the primary's AZ. A
// scenario that kills the writer starts from there, as one in AWS starts
// from a healthy cluster: pg_auto_failover does not promote a standby
// while the writer is still in wait_primary (the standby was not yet
// synchronous, so it may lack committed writes), so a kill in that window
// is a different failure from the one the scenario measures.
func (c *pgCluster) waitSteady(ctx context.Context, limit time.Duration) (string, error) {
	var prim string
	err := poll(ctx, limit, 300*time.Millisecond, "database steady (one primary, one secondary, each at its goal)", func() (bool, error) {
		st, err := c.states(ctx)
		if err != nil {
			return false, nil
		}
		roles := map[string]string{}
		for az, s := range st {
			if s.reported != s.goal {
				return false, nil
			}
			roles[s.reported] = az
		}
		prim = roles["primary"]
		_, sec := roles["secondary"]
		return prim != "" && sec, nil
	})
	return prim, err
}

// writable reports whether az's data node accepts writes now: what a
// client connecting with target_session_attrs=read-write finds, and what
// Aurora's "writer available" means. The monitor's reported state lags it
// by the keeper's next report.
func (c *pgCluster) writable(ctx context.Context, az string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := connect(ctx, adminURL(az))
	if err != nil {
		return false
	}
	defer conn.Close(ctx)
	var recovering bool
	if err := conn.QueryRow(ctx, "select pg_is_in_recovery()").Scan(&recovering); err != nil {
		return false
	}
	return !recovering
}

// settings reads the monitor GUCs in effect (milliseconds).
func (c *pgCluster) settings(ctx context.Context) (map[string]time.Duration, error) {
	conn, err := connect(ctx, monitorURI())
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "select name, setting from pg_settings where name like 'pgautofailover.%'")
	if err != nil {
		return nil, err
	}
	out := map[string]time.Duration{}
	for rows.Next() {
		var n, s string
		if err := rows.Scan(&n, &s); err != nil {
			return nil, err
		}
		if v, err := strconv.Atoi(s); err == nil {
			out[strings.TrimPrefix(n, "pgautofailover.")] = time.Duration(v) * time.Millisecond
		}
	}
	return out, rows.Err()
}

func connect(ctx context.Context, url string) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return pgx.Connect(ctx, url)
}

// poll calls f every step until it reports done, limit passes or ctx ends.
func poll(ctx context.Context, limit, step time.Duration, what string, f func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	for i := 0; time.Now().Before(deadline); i++ {
		ok, err := f()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-time.After(step):
		}
	}
	return fmt.Errorf("%s: not reached within %s", what, limit)
}

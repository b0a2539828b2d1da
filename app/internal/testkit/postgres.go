package testkit

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres is a throwaway PostgreSQL server on 127.0.0.1 with TLS enabled.
type Postgres struct {
	// Port is the TCP port.
	Port int
	// Database, User and Password are the application's credentials
	// (the user is the cluster's superuser, which the drill needs for
	// pg_terminate_backend).
	Database, User, Password string
	// CAFile is the PEM CA that signed the server certificate (for verify-full).
	CAFile string

	bin     string
	base    string
	dataDir string
	runAs   *user.User
}

// PostgresBinDirs lists where initdb/pg_ctl are looked for, in order; the
// TRADING_PG_BIN environment variable is tried first.
var PostgresBinDirs = []string{"/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/14/bin"}

func findPostgresBin() (string, error) {
	dirs := PostgresBinDirs
	if d := os.Getenv("TRADING_PG_BIN"); d != "" {
		dirs = append([]string{d}, dirs...)
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("%w: PostgreSQL server binaries (pg_ctl, initdb) not found in %v or PATH", ErrUnavailable, dirs)
}

// PostgresFor starts a PostgreSQL server for t and stops it when t ends.
// It skips in -short mode, and skips or fails, as SkipOrFail decides, when
// PostgreSQL is absent.
func PostgresFor(t testing.TB) *Postgres {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := StartPostgres(ctx)
	SkipOrFail(t, err)
	t.Cleanup(pg.Close)
	return pg
}

// StartPostgres initialises a cluster in a new temporary directory and
// starts it. PostgreSQL refuses to run as root, so when the caller is root
// the server runs as the "postgres" OS user (created by the Debian package).
func StartPostgres(ctx context.Context) (*Postgres, error) {
	return StartPostgresWith(ctx, PostgresOptions{})
}

// PostgresOptions tune the throwaway server.
type PostgresOptions struct {
	// Durable turns fsync, synchronous commit and full page writes on (as a
	// production server has them); the default is fast and crash-unsafe.
	Durable bool
	// WithoutPgaudit leaves pgaudit out of shared_preload_libraries (a
	// server like one whose cluster parameter group has not loaded it yet);
	// by default it is preloaded, as the Aurora cluster parameter group
	// does (infra/database), so the migrate step can create the extension.
	WithoutPgaudit bool
}

// pgauditLibrary is the shared library shared_preload_libraries names.
const pgauditLibrary = "pgaudit"

// checkPgaudit reports ErrUnavailable when the server binaries in bin have
// no pgaudit library: the integration environment installs it
// (app/testdata/setup-integration.sh).
func checkPgaudit(ctx context.Context, bin string) error {
	libdir := filepath.Join(filepath.Dir(bin), "lib")
	if out, err := exec.CommandContext(ctx, filepath.Join(bin, "pg_config"), "--pkglibdir").Output(); err == nil {
		libdir = strings.TrimSpace(string(out))
	}
	if _, err := os.Stat(filepath.Join(libdir, pgauditLibrary+".so")); err != nil {
		return fmt.Errorf("%w: the pgaudit extension is not installed for %s (%v); run app/testdata/setup-integration.sh", ErrUnavailable, bin, err)
	}
	return nil
}

// StartPostgresWith is StartPostgres with options.
func StartPostgresWith(ctx context.Context, opts PostgresOptions) (*Postgres, error) {
	bin, err := findPostgresBin()
	if err != nil {
		return nil, err
	}
	preload := ""
	if !opts.WithoutPgaudit {
		if err := checkPgaudit(ctx, bin); err != nil {
			return nil, err
		}
		preload = pgauditLibrary
	}
	p := &Postgres{bin: bin, Database: "trading", User: "trading_admin", Password: "drill-" + randHex(8)}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("%w: running as root and no 'postgres' OS user to run the server as: %v", ErrUnavailable, err)
		}
		p.runAs = u
	}
	if p.Port, err = FreePort(); err != nil {
		return nil, err
	}
	if p.base, err = os.MkdirTemp("", "trading-pg-"); err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			p.Close()
		}
	}()
	if err := os.Chmod(p.base, 0o755); err != nil {
		return nil, fmt.Errorf("chmod temp dir: %w", err)
	}
	p.dataDir = filepath.Join(p.base, "data")
	pwFile := filepath.Join(p.base, "pwfile")
	if err := os.WriteFile(pwFile, []byte(p.Password+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write password file: %w", err)
	}
	if err := p.chown(pwFile); err != nil {
		return nil, err
	}
	if err := p.chown(p.base); err != nil {
		return nil, err
	}
	if out, err := p.cmd(ctx, "initdb", "-D", p.dataDir, "-U", p.User, "--pwfile", pwFile,
		"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w: %s", err, out)
	}
	if err := p.writeTLS(); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
fsync = %s
synchronous_commit = on
full_page_writes = %s
max_connections = 200
log_min_messages = warning
shared_preload_libraries = '%s'
`, p.Port, p.base, onOff(opts.Durable), onOff(opts.Durable), preload)
	f, err := os.OpenFile(filepath.Join(p.dataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("open postgresql.conf: %w", err)
	}
	_, werr := f.WriteString(conf)
	if cerr := f.Close(); werr != nil || cerr != nil {
		return nil, fmt.Errorf("write postgresql.conf: %w", errors.Join(werr, cerr))
	}
	// Only TLS connections over TCP (the service defaults to sslmode=require).
	hba := "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n"
	if err := os.WriteFile(filepath.Join(p.dataDir, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		return nil, fmt.Errorf("write pg_hba.conf: %w", err)
	}
	if err := p.chown(filepath.Join(p.dataDir, "pg_hba.conf")); err != nil {
		return nil, err
	}
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, p.AdminURL("postgres"))
	if err != nil {
		return nil, fmt.Errorf("connect as admin: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+p.Database); err != nil {
		return nil, fmt.Errorf("create database: %w", err)
	}
	ok = true
	return p, nil
}

// Start starts the (stopped) server and waits until it accepts connections.
func (p *Postgres) Start(ctx context.Context) error {
	out, err := p.cmd(ctx, "pg_ctl", "-D", p.dataDir, "-l", filepath.Join(p.base, "server.log"), "-w", "-t", "60", "start").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl start: %w: %s\n%s", err, out, p.Log())
	}
	return nil
}

// Stop stops the server with the given pg_ctl mode ("fast" terminates
// sessions and checkpoints; "immediate" is a crash).
func (p *Postgres) Stop(ctx context.Context, mode string) error {
	out, err := p.cmd(ctx, "pg_ctl", "-D", p.dataDir, "-m", mode, "-w", "-t", "60", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl stop -m %s: %w: %s", mode, err, out)
	}
	return nil
}

// TerminateBackends kills every other connection to the application
// database (what clients see during a writer failover: 57P01).
func (p *Postgres) TerminateBackends(ctx context.Context) (int, error) {
	conn, err := pgx.Connect(ctx, p.AdminURL("postgres"))
	if err != nil {
		return 0, fmt.Errorf("connect as admin: %w", err)
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()`, p.Database).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("terminate backends: %w", err)
	}
	return n, nil
}

// AdminURL is a connection URL for database db with CA verification.
func (p *Postgres) AdminURL(db string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=verify-full&sslrootcert=%s",
		p.User, p.Password, p.Port, db, p.CAFile)
}

// Log returns the server log (for failure messages).
func (p *Postgres) Log() string {
	b, _ := os.ReadFile(filepath.Join(p.base, "server.log"))
	return string(b)
}

// Close stops the server immediately and removes its files.
func (p *Postgres) Close() {
	if p.dataDir != "" {
		if _, err := os.Stat(filepath.Join(p.dataDir, "postmaster.pid")); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_ = p.Stop(ctx, "immediate")
			cancel()
		}
	}
	if p.base != "" {
		_ = os.RemoveAll(p.base)
	}
}

func (p *Postgres) cmd(ctx context.Context, name string, args ...string) *exec.Cmd {
	path := filepath.Join(p.bin, name)
	var c *exec.Cmd
	if p.runAs != nil {
		c = exec.CommandContext(ctx, "runuser", append([]string{"-u", p.runAs.Username, "--", path}, args...)...)
	} else {
		c = exec.CommandContext(ctx, path, args...)
	}
	c.Dir = p.base
	c.Env = append(os.Environ(), "LC_ALL=C")
	c.Stdin = nil
	return c
}

func (p *Postgres) chown(path string) error {
	if p.runAs == nil {
		return nil
	}
	uid, _ := strconv.Atoi(p.runAs.Uid)
	gid, _ := strconv.Atoi(p.runAs.Gid)
	if err := os.Chown(path, uid, gid); err != nil {
		return fmt.Errorf("chown %s: %w", path, err)
	}
	return nil
}

// writeTLS creates a CA and a server certificate for localhost/127.0.0.1.
func (p *Postgres) writeTLS() error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("ca key: %w", err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "trading-ha test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("ca cert: %w", err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("server key: %w", err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return fmt.Errorf("parse ca: %w", err)
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("server cert: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		return fmt.Errorf("marshal key: %w", err)
	}
	p.CAFile = filepath.Join(p.base, "ca.crt")
	files := []struct {
		path  string
		block *pem.Block
		mode  os.FileMode
	}{
		{p.CAFile, &pem.Block{Type: "CERTIFICATE", Bytes: caDER}, 0o644},
		{filepath.Join(p.dataDir, "server.crt"), &pem.Block{Type: "CERTIFICATE", Bytes: srvDER}, 0o644},
		{filepath.Join(p.dataDir, "server.key"), &pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}, 0o600},
	}
	for _, f := range files {
		var buf bytes.Buffer
		if err := pem.Encode(&buf, f.block); err != nil {
			return fmt.Errorf("encode %s: %w", f.path, err)
		}
		if err := os.WriteFile(f.path, buf.Bytes(), f.mode); err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
		if err := p.chown(f.path); err != nil {
			return err
		}
	}
	return nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(fmt.Sprintf("%x", b))
}

// Dir is the server's temporary base directory (removed by Close).
func (p *Postgres) Dir() string { return p.base }

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

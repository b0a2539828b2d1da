// Command trading is the reference trading service that the trading-ha ECS
// tasks run. See docs/app.md.
//
// Usage:
//
//	trading               serve (configuration from environment variables)
//	trading -migrate      as the master user, set up the owner and application
//	                      roles and pgaudit, apply the schema migrations as the
//	                      owner role, then exit (the migrate step)
//	trading -healthcheck  probe http(s)://127.0.0.1:$APP_PORT/healthz (https
//	                      when APP_TLS=self-signed), exit 0 or 1
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/trading-ha/trading-ha/app/internal/config"
	"github.com/trading-ha/trading-ha/app/internal/retry"
	"github.com/trading-ha/trading-ha/app/internal/service"
	"github.com/trading-ha/trading-ha/app/internal/store"
)

func main() {
	healthcheck := flag.Bool("healthcheck", false, "probe the local /healthz endpoint and exit 0 (healthy) or 1")
	migrateOnly := flag.Bool("migrate", false, "apply migrations and create the application role, then exit")
	flag.Parse()
	if *healthcheck {
		os.Exit(runHealthcheck(os.Getenv("APP_PORT"), os.LookupEnv))
	}
	if *migrateOnly {
		os.Exit(runMigrate())
	}
	os.Exit(run())
}

// runMigrate is the migrate step: the only user of the master credentials.
func runMigrate() int {
	cfg, err := config.LoadMigrate(os.LookupEnv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "trading -migrate: refusing to start: %v\n", err)
		return 2
	}
	// DB_PGAUDIT: require (the stacks' migrate task) or if-loaded.
	audit, err := store.ParseAudit(os.Getenv("DB_PGAUDIT"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "trading -migrate: refusing to start: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	admin := store.AdminConfig{
		DSN: store.DSN{Host: cfg.Host, Port: cfg.Port, Database: cfg.Database, User: cfg.AdminUser,
			SSLMode: cfg.SSLMode, RootCert: cfg.CABundle, ReadWrite: true},
		Credentials: store.StaticPassword(cfg.AdminPassword), AppRole: cfg.AppRole, AppPassword: cfg.AppPassword,
		OwnerRole: store.OwnerRole, Audit: audit,
	}
	var report store.MigrateReport
	err = retry.Do(ctx, retry.Policy{Attempts: 1000, Base: 250 * time.Millisecond, Max: 5 * time.Second}, func(attempt int, err error) {
		log.Warn("migrate step retrying", slog.Int("attempt", attempt), slog.String("error", err.Error()))
	}, func(ctx context.Context) error {
		var err error
		report, err = store.RunMigrateStep(ctx, admin)
		return err
	})
	if err != nil {
		log.Error("migrate step failed", slog.String("error", err.Error()))
		return 1
	}
	// The line the smoke test reads: it names the pgaudit version installed.
	log.LogAttrs(ctx, slog.LevelInfo, store.MigrateCompleteMessage,
		append(report.LogAttrs(admin.OwnerRole), slog.String("app_role", cfg.AppRole))...)
	return 0
}

func run() int {
	cfg, err := config.FromEnv()
	if err != nil {
		// Plain text to stderr as well as JSON: this is what an operator
		// reads in the stopped task's log.
		fmt.Fprintf(os.Stderr, "trading: refusing to start: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	slog.SetDefault(log)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	svc, err := service.New(ctx, cfg, log, service.Options{})
	if err != nil {
		log.Error("startup failed", slog.String("error", err.Error()))
		return 1
	}
	if err := svc.Run(ctx); err != nil {
		log.Error("service stopped with error", slog.String("error", err.Error()))
		return 1
	}
	return 0
}

// runHealthcheck is the container health check: it needs no configuration
// beyond APP_PORT and APP_TLS and no shell or curl in the image.
func runHealthcheck(port string, lookup func(string) (string, bool)) int {
	if port == "" {
		port = strconv.Itoa(config.DefaultPort)
	}
	mode, err := config.ServerTLS(lookup)
	if err != nil {
		fmt.Fprintf(os.Stderr, "healthcheck: %v\n", err)
		return 1
	}
	client := &http.Client{Timeout: 3 * time.Second}
	scheme := "http"
	if mode == config.TLSSelfSigned {
		scheme = "https"
		// The server beside us made its certificate in memory at start;
		// there is nothing to verify it against, and the connection never
		// leaves the task's loopback interface.
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}} // #nosec G402 -- loopback to our own process
	}
	resp, err := client.Get(scheme + "://127.0.0.1:" + port + "/healthz")
	if err != nil {
		fmt.Fprintf(os.Stderr, "healthcheck: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(os.Stderr, "healthcheck: status %d\n", resp.StatusCode)
		return 1
	}
	return 0
}

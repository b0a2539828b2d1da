// Command trading is the reference trading service that the trading-ha ECS
// tasks run. See docs/app.md.
//
// Usage:
//
//	trading               serve (configuration from environment variables)
//	trading -healthcheck  probe http://127.0.0.1:$APP_PORT/healthz, exit 0 or 1
package main

import (
	"context"
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
	"github.com/trading-ha/trading-ha/app/internal/service"
)

func main() {
	healthcheck := flag.Bool("healthcheck", false, "probe the local /healthz endpoint and exit 0 (healthy) or 1")
	flag.Parse()
	if *healthcheck {
		os.Exit(runHealthcheck(os.Getenv("APP_PORT")))
	}
	os.Exit(run())
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
// beyond APP_PORT and no shell or curl in the image.
func runHealthcheck(port string) int {
	if port == "" {
		port = strconv.Itoa(config.DefaultPort)
	}
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get("http://127.0.0.1:" + port + "/healthz")
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

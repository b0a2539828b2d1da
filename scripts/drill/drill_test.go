package main

import (
	"context"
	"testing"
	"time"

	"github.com/trading-ha/trading-ha/app/drill"
)

// TestFailoverDrill is the drill in a shorter form: no acknowledged order
// lost or duplicated, every outbox row published, ready again in time.
func TestFailoverDrill(t *testing.T) {
	if testing.Short() {
		t.Skip("failover drill skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	rep, err := drill.Run(ctx, drill.Options{
		Workers: 6, Duration: 10 * time.Second, TerminateAt: 2 * time.Second, RestartAt: 5 * time.Second,
		Downtime: 2 * time.Second, RecoveryLimit: 20 * time.Second, Progress: t.Logf,
	})
	drill.SkipOrFail(t, err)
	t.Logf("drill figures:\n%s", rep)
	for _, f := range rep.Failures() {
		t.Error(f)
	}
}

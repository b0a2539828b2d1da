package store

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestConnHealthReplacesOnlyWhatTheErrorConcerns: a read-only answer
// (25006, a demoted writer) condemns the connections at least as old as the
// one that got it, not the newer ones; a broken connection makes the pool
// ping idle connections last used before it, not those used since.
func TestConnHealthReplacesOnlyWhatTheErrorConcerns(t *testing.T) {
	cfg, err := pgxpool.ParseConfig("postgres://u@127.0.0.1:1/db")
	if err != nil {
		t.Fatal(err)
	}
	h := &connHealth{}
	h.install(cfg)
	ctx := context.Background()
	conns := []*pgx.Conn{{}, {}, {}}
	for _, c := range conns {
		if err := cfg.AfterConnect(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	h.TraceQueryEnd(ctx, conns[1], pgx.TraceQueryEndData{Err: &pgconn.PgError{Code: "25006"}})
	for i, want := range []bool{false, false, true} {
		if ok, err := cfg.PrepareConn(ctx, conns[i]); ok != want || err != nil {
			t.Errorf("connection %d after a 25006 on connection 1: keep=%v (%v), want %v", i, ok, err, want)
		}
	}
	if cfg.ShouldPing(ctx, pgxpool.ShouldPingParams{Conn: conns[2], IdleDuration: 10 * time.Millisecond}) {
		t.Error("a connection used 10 ms ago is pinged with no error since")
	}
	h.TraceQueryEnd(ctx, conns[2], pgx.TraceQueryEndData{Err: errors.Join(errors.New("read"), io.ErrUnexpectedEOF)})
	if !cfg.ShouldPing(ctx, pgxpool.ShouldPingParams{Conn: conns[2], IdleDuration: 10 * time.Millisecond}) {
		t.Error("a connection idle since before a broken-connection error is not pinged")
	}
	time.Sleep(5 * time.Millisecond)
	if cfg.ShouldPing(ctx, pgxpool.ShouldPingParams{Conn: conns[2], IdleDuration: time.Millisecond}) {
		t.Error("a connection used after the error is pinged")
	}
	cfg.BeforeClose(conns[0])
	if ok, _ := cfg.PrepareConn(ctx, conns[0]); !ok {
		t.Error("a connection the pool no longer tracks is refused")
	}
}

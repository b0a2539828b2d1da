package store

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/trading-ha/trading-ha/app/internal/retry"
)

// Pool size defaults.
const (
	// MinPoolConns and MaxDefaultPoolConns bound DefaultMaxConns.
	MinPoolConns, MaxDefaultPoolConns = 4, 32
	// DefaultRelayConns is the size of the pool the outbox relay, the
	// metrics and the cleanup share (the relay uses one connection at a
	// time; the housekeeper a second).
	DefaultRelayConns = 2
)

// DefaultMaxConns is the default size of the writer and of the reader pool:
// four connections per CPU the process may use (GOMAXPROCS follows the
// container's CPU limit), at least MinPoolConns and at most
// MaxDefaultPoolConns. A request holds a connection for about one round trip
// and a commit, so a few per CPU keep the CPU busy while others wait on the
// network; more only queue inside the database (and every task multiplies
// them against the server's max_connections).
func DefaultMaxConns() int32 {
	return int32(min(max(4*runtime.GOMAXPROCS(0), MinPoolConns), MaxDefaultPoolConns))
}

// connHealth lets a pool replace only the connections that failed. pgx
// already discards a connection whose socket broke; what it cannot know is
// which of the idle ones died with it (a server restart kills them all) or
// which still talk to a demoted writer. Instead of resetting the whole
// pool — every retrying request re-dialling every connection, TLS
// handshakes and IAM tokens included, and closing the fresh connections of
// its neighbours — it:
//
//   - pings, before reuse, any idle connection last used before the most
//     recent broken-connection error (a dead one is then replaced; a live
//     one costs a round trip), besides pgx's ping after a second idle;
//   - destroys, before reuse, connections at least as old as one that
//     answered "read-only transaction" (25006: the server was demoted); new
//     connections go to the new writer (target_session_attrs=read-write).
type connHealth struct {
	lastBroken atomic.Int64 // unix nanoseconds of the last broken-connection error
	staleSeq   atomic.Uint64
	seq        atomic.Uint64
	conns      sync.Map // *pgx.Conn -> uint64 dial sequence
}

func (h *connHealth) install(cfg *pgxpool.Config) {
	after := cfg.AfterConnect
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		h.conns.Store(c, h.seq.Add(1))
		if after != nil {
			return after(ctx, c)
		}
		return nil
	}
	cfg.BeforeClose = func(c *pgx.Conn) { h.conns.Delete(c) }
	cfg.ShouldPing = func(_ context.Context, p pgxpool.ShouldPingParams) bool {
		return p.IdleDuration > time.Second || time.Now().Add(-p.IdleDuration).UnixNano() <= h.lastBroken.Load()
	}
	cfg.PrepareConn = func(_ context.Context, c *pgx.Conn) (bool, error) {
		seq, ok := h.seqOf(c)
		return !ok || seq > h.staleSeq.Load(), nil
	}
	cfg.ConnConfig.Tracer = h
}

// seqOf is the dial sequence number of c (false if unknown).
func (h *connHealth) seqOf(c *pgx.Conn) (uint64, bool) {
	v, ok := h.conns.Load(c)
	if !ok {
		return 0, false
	}
	seq, ok := v.(uint64)
	return seq, ok
}

// TraceQueryStart implements pgx.QueryTracer.
func (h *connHealth) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer: it notes broken connections and
// demoted servers (see connHealth).
func (h *connHealth) TraceQueryEnd(_ context.Context, c *pgx.Conn, data pgx.TraceQueryEndData) {
	if data.Err == nil {
		return
	}
	var pgErr *pgconn.PgError
	if errors.As(data.Err, &pgErr) && pgErr.Code == "25006" {
		if seq, ok := h.seqOf(c); ok {
			for {
				cur := h.staleSeq.Load()
				if seq <= cur || h.staleSeq.CompareAndSwap(cur, seq) {
					break
				}
			}
		}
		return
	}
	if retry.NeedsRedial(data.Err) {
		h.lastBroken.Store(time.Now().UnixNano())
	}
}

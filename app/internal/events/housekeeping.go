package events

import (
	"context"
	"log/slog"
	"time"

	"github.com/trading-ha/trading-ha/app/internal/store"
)

// Metric names published in CloudWatch Embedded Metric Format (see CONTRACT.md).
const (
	MetricOldestUnpublishedAge = "OutboxOldestUnpublishedAgeSeconds"
	MetricDeadLetterCount      = "OutboxDeadLetterCount"
	MetricPending              = "OutboxPending"
	// DimensionService is the only dimension; its value is Housekeeper.Service.
	DimensionService = "Service"
)

// Housekeeper publishes outbox metrics and deletes old rows.
type Housekeeper struct {
	// Store holds the outbox.
	Store *store.Store
	// Logger writes the EMF lines (a JSON handler on stdout, which the
	// awslogs driver ships to CloudWatch Logs, where EMF becomes metrics).
	Logger *slog.Logger
	// Namespace is the CloudWatch namespace, e.g. Trading/dev.
	Namespace string
	// Service is the value of the Service dimension (default "trading").
	Service string
	// MetricsInterval is how often metrics are emitted (default 60s).
	MetricsInterval time.Duration
	// CleanupInterval is how often old rows are deleted and keys released
	// (default 1m). A cycle runs batches until nothing is due or half the
	// interval has passed; a cycle that ran out of time is followed at once
	// by the next, so cleanup keeps pace with any order rate.
	CleanupInterval time.Duration
	// CleanupBatch caps the rows of one cleanup statement (default 5000).
	CleanupBatch int
	// OutboxRetention is how long published rows are kept (default 24h).
	OutboxRetention time.Duration
}

// Run emits metrics and cleans up until ctx ends.
func (h *Housekeeper) Run(ctx context.Context) {
	if h.Service == "" {
		h.Service = "trading"
	}
	if h.MetricsInterval <= 0 {
		h.MetricsInterval = time.Minute
	}
	if h.CleanupInterval <= 0 {
		h.CleanupInterval = time.Minute
	}
	if h.OutboxRetention <= 0 {
		h.OutboxRetention = 24 * time.Hour
	}
	metrics := time.NewTicker(h.MetricsInterval)
	cleanup := time.NewTimer(h.CleanupInterval)
	defer metrics.Stop()
	defer cleanup.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-metrics.C:
			h.EmitMetrics(ctx)
		case <-cleanup.C:
			next := h.CleanupInterval
			if h.Cleanup(ctx).Remaining {
				next = 0 // more is due: continue at once
			}
			cleanup.Reset(next)
		}
	}
}

// EmitMetrics reads the outbox figures and writes one EMF log line.
func (h *Housekeeper) EmitMetrics(ctx context.Context) {
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	m, err := h.Store.OutboxMetrics(c)
	if err != nil {
		h.Logger.LogAttrs(ctx, slog.LevelWarn, "outbox metrics unavailable", slog.String("error", err.Error()))
		return
	}
	emf := map[string]any{
		"Timestamp": time.Now().UnixMilli(),
		"CloudWatchMetrics": []map[string]any{{
			"Namespace":  h.Namespace,
			"Dimensions": [][]string{{DimensionService}},
			"Metrics": []map[string]string{
				{"Name": MetricOldestUnpublishedAge, "Unit": "Seconds"},
				{"Name": MetricDeadLetterCount, "Unit": "Count"},
				{"Name": MetricPending, "Unit": "Count"},
			},
		}},
	}
	h.Logger.LogAttrs(ctx, slog.LevelInfo, "outbox metrics",
		slog.Any("_aws", emf), slog.String(DimensionService, h.Service),
		slog.Float64(MetricOldestUnpublishedAge, m.OldestAgeSeconds),
		slog.Int64(MetricDeadLetterCount, m.DeadLetters),
		slog.Int64(MetricPending, m.Pending))
}

// Cleanup runs one cleanup cycle (see store.Store.Cleanup), bounded by
// half the cleanup interval, logs what it did and returns it.
func (h *Housekeeper) Cleanup(ctx context.Context) store.CleanupStats {
	interval := h.CleanupInterval
	if interval <= 0 {
		interval = time.Minute
	}
	budget := interval / 2
	// The statement in flight when the budget ends still needs time to finish.
	c, cancel := context.WithTimeout(ctx, budget+30*time.Second)
	defer cancel()
	st, err := h.Store.Cleanup(c, store.CleanupOptions{OutboxRetention: h.OutboxRetention, Batch: h.CleanupBatch, Budget: budget})
	if err != nil {
		h.Logger.LogAttrs(ctx, slog.LevelWarn, "cleanup failed", slog.String("error", err.Error()),
			slog.Int64("outbox_rows_deleted", st.Deleted), slog.Int64("idempotency_keys_released", st.Released))
		return st
	}
	if st.Deleted > 0 || st.Released > 0 {
		h.Logger.LogAttrs(ctx, slog.LevelInfo, "cleanup", slog.Int64("outbox_rows_deleted", st.Deleted),
			slog.Int64("idempotency_keys_released", st.Released), slog.Int("batches", st.Batches), slog.Bool("more_due", st.Remaining))
	}
	return st
}

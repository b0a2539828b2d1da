package service_test

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/trading-ha/trading-ha/app/internal/testkit/stack"
)

// pgxConnect opens an admin connection (the application role may not LOCK
// tables it does not own in ACCESS EXCLUSIVE mode... it may, but tests keep
// admin work on admin connections).
func pgxConnect(ctx context.Context, s *stack.Stack) (*pgx.Conn, error) {
	return pgx.Connect(ctx, s.Postgres.AdminURL(s.Postgres.Database))
}

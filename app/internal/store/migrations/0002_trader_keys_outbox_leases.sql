-- Idempotency keys are unique per trader (not per session) while key_active;
-- the janitor clears key_active after the retention window so the index stays
-- bounded and a key may be reused after it.
ALTER TABLE orders ADD COLUMN key_active boolean NOT NULL DEFAULT true;
-- A key one trader used in several sessions before this migration: only the
-- oldest order stays addressable by it.
UPDATE orders o SET key_active = false WHERE EXISTS (
    SELECT 1 FROM orders p
    WHERE p.trader_id = o.trader_id AND p.idempotency_key = o.idempotency_key
      AND (p.created_at, p.order_id) < (o.created_at, o.order_id));
CREATE UNIQUE INDEX orders_trader_idempotency_key ON orders (trader_id, idempotency_key) WHERE key_active;
CREATE INDEX orders_active_keys_by_age ON orders (created_at) WHERE key_active;
ALTER TABLE orders DROP CONSTRAINT orders_session_idempotency_key;

-- Outbox rows are claimed with a lease and retried with per-row backoff;
-- rows that keep failing move to outbox_dead_letter.
ALTER TABLE outbox
    ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN lease_until     timestamptz;
DROP INDEX outbox_unpublished;
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE published_at IS NULL;

CREATE TABLE outbox_dead_letter (
    id          bigint      PRIMARY KEY,
    order_id    uuid        NOT NULL,
    event_type  text        NOT NULL,
    payload     jsonb       NOT NULL,
    created_at  timestamptz NOT NULL,
    attempts    integer     NOT NULL,
    last_error  text,
    dead_at     timestamptz NOT NULL DEFAULT now()
);

-- Events no longer carry the session id or the idempotency key.
UPDATE outbox SET payload = payload - 'session_id' - 'idempotency_key' WHERE published_at IS NULL;

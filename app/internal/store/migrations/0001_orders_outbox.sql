-- Orders and the transactional outbox. Applied once, under an advisory lock.
CREATE TABLE orders (
    order_id         uuid PRIMARY KEY,
    session_id       text        NOT NULL,
    trader_id        text        NOT NULL,
    idempotency_key  text        NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 128),
    request_hash     text        NOT NULL,
    symbol           text        NOT NULL,
    side             text        NOT NULL CHECK (side IN ('buy', 'sell')),
    quantity         bigint      NOT NULL CHECK (quantity > 0),
    limit_price      numeric(16, 4) NOT NULL CHECK (limit_price > 0),
    status           text        NOT NULL,
    synthetic        boolean     NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT orders_session_idempotency_key UNIQUE (session_id, idempotency_key)
);

CREATE TABLE outbox (
    id            bigserial   PRIMARY KEY,
    order_id      uuid        NOT NULL REFERENCES orders (order_id),
    event_type    text        NOT NULL,
    payload       jsonb       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz,
    attempts      integer     NOT NULL DEFAULT 0,
    last_error    text
);

-- The relay only ever scans unpublished rows.
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
CREATE UNIQUE INDEX outbox_order_event ON outbox (order_id, event_type);

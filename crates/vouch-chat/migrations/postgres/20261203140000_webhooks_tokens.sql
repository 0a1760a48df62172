-- Webhooks (with their durable outbox of deliveries) and scoped API tokens (issue 18): the same
-- tables as migrations/sqlite/20261203140000_webhooks_tokens.sql in native types.
-- New tables only: existing data is untouched.

CREATE TABLE webhooks (
    id UUID PRIMARY KEY,
    url TEXT NOT NULL,
    events TEXT NOT NULL, -- JSON array of event types
    secret TEXT NOT NULL, -- the HMAC key; never answered after creation
    created_at BIGINT NOT NULL
);

-- The outbox (see the SQLite migration). Several nodes claim due rows with
-- `FOR UPDATE SKIP LOCKED` and a lease.
CREATE TABLE webhook_deliveries (
    id BIGSERIAL PRIMARY KEY,
    webhook_id UUID NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id UUID NOT NULL,
    event_type TEXT NOT NULL,
    conversation_id UUID,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    last_status_code BIGINT,
    last_error TEXT,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL DEFAULT 0,
    retry_since BIGINT NOT NULL,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries(webhook_id, conversation_id, status, id);

CREATE TABLE api_tokens (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    token_hash BYTEA NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE INDEX conversations_updated ON conversations(updated_at, id);
CREATE INDEX contacts_external ON contacts(external_id);

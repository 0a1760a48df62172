-- Webhooks (with their durable outbox of deliveries) and scoped API tokens (issue 18).
-- New tables only: existing data is untouched.

CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    events TEXT NOT NULL, -- JSON array of event types, e.g. ["message.created"]
    secret TEXT NOT NULL, -- the HMAC key; never answered after creation
    created_at INTEGER NOT NULL
);

-- The outbox: one row per (webhook, event), written in the same transaction as the change the
-- event reports. `id` orders events (per conversation: the commit order, since every change of
-- a conversation holds its row). `retry_since` starts the 24 h give-up window (reset by
-- redeliver); `lease_until` keeps a claimed row from a second worker while it is being sent.
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    conversation_id TEXT,
    body TEXT NOT NULL, -- the exact JSON sent (the same bytes on every attempt)
    created_at INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_status_code INTEGER,
    last_error TEXT,
    next_attempt_at INTEGER NOT NULL,
    lease_until INTEGER NOT NULL DEFAULT 0,
    retry_since INTEGER NOT NULL,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries(webhook_id, conversation_id, status, id);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL, -- JSON array of scopes
    token_hash BLOB NOT NULL UNIQUE, -- SHA-256 of the token; the token itself is never stored
    created_at INTEGER NOT NULL
);

-- Incremental sync (`GET /api/v1/conversations?updated_since=`) and contacts by external id.
CREATE INDEX conversations_updated ON conversations(updated_at, id);
CREATE INDEX contacts_external ON contacts(external_id);

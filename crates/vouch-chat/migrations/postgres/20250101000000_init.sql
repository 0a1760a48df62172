-- The chat service's schema on PostgreSQL: the same tables, columns, keys and checks as
-- migrations/sqlite/20250101000000_init.sql, in native types (UUID, BIGINT Unix milliseconds,
-- BOOLEAN, BYTEA). JSON columns stay TEXT so both back-ends store the same bytes.

CREATE TABLE auth_settings (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    public_key_url TEXT NOT NULL,
    function_name TEXT NOT NULL,
    issuer TEXT,
    leeway_secs BIGINT NOT NULL,
    key_count BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE widgets (
    app_id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    allowed_origins TEXT NOT NULL, -- JSON array of origins
    auth_settings_id UUID REFERENCES auth_settings(id),
    require_auth BOOLEAN NOT NULL,
    title TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE agents (
    id UUID PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('agent', 'admin')),
    password_hash TEXT NOT NULL, -- argon2id PHC string
    created_at BIGINT NOT NULL
);

CREATE TABLE agent_tokens (
    token_hash BYTEA PRIMARY KEY, -- SHA-256 of the bearer token
    agent_id UUID NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX agent_tokens_expires ON agent_tokens(expires_at);

CREATE TABLE contacts (
    id UUID PRIMARY KEY,
    auth_settings_id UUID NOT NULL REFERENCES auth_settings(id),
    external_id TEXT NOT NULL,
    given_name TEXT,
    family_name TEXT,
    email TEXT,
    phone TEXT,
    preferred_username TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (auth_settings_id, external_id)
);

CREATE TABLE conversations (
    id UUID PRIMARY KEY,
    widget_app_id UUID NOT NULL REFERENCES widgets(app_id),
    state TEXT NOT NULL CHECK (state IN ('waiting', 'active', 'ended')),
    verified BOOLEAN NOT NULL,
    contact_id UUID REFERENCES contacts(id),
    context TEXT NOT NULL, -- JSON object of primitives
    agent_id UUID REFERENCES agents(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    ended_at BIGINT,
    last_seq BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX conversations_state ON conversations(state, created_at);
CREATE INDEX conversations_contact ON conversations(contact_id, state);

CREATE TABLE messages (
    conversation_id UUID NOT NULL REFERENCES conversations(id),
    seq BIGINT NOT NULL,
    sender TEXT NOT NULL CHECK (sender IN ('customer', 'agent', 'system')),
    agent_id UUID REFERENCES agents(id),
    text TEXT NOT NULL,
    client_msg_id TEXT,
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, seq),
    UNIQUE (conversation_id, sender, client_msg_id)
);

CREATE TABLE activities (
    id UUID PRIMARY KEY,
    contact_id UUID NOT NULL REFERENCES contacts(id),
    conversation_id UUID NOT NULL UNIQUE REFERENCES conversations(id),
    kind TEXT NOT NULL,
    transcript TEXT NOT NULL, -- JSON array of {seq, sender, text, sent_at}
    created_at BIGINT NOT NULL
);
CREATE INDEX activities_contact ON activities(contact_id, created_at);

CREATE TABLE customer_sessions (
    token_hash BYTEA PRIMARY KEY, -- SHA-256 of the session token
    conversation_id UUID NOT NULL REFERENCES conversations(id),
    widget_app_id UUID NOT NULL REFERENCES widgets(app_id),
    verified_sub TEXT,
    jwt_exp BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX customer_sessions_expires ON customer_sessions(expires_at);

CREATE TABLE verification_failures (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    kid TEXT,
    iss TEXT,
    sub TEXT,
    auth_settings_id UUID
);

CREATE TABLE verification_failure_counts (
    reason TEXT PRIMARY KEY,
    count BIGINT NOT NULL
);

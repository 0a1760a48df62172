-- The chat service's schema. Times are Unix milliseconds; ids are hyphenated UUID text.

CREATE TABLE auth_settings (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    public_key_url TEXT NOT NULL,
    function_name TEXT NOT NULL,
    issuer TEXT,
    leeway_secs INTEGER NOT NULL,
    key_count INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE widgets (
    app_id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    allowed_origins TEXT NOT NULL, -- JSON array of origins
    auth_settings_id TEXT REFERENCES auth_settings(id),
    require_auth INTEGER NOT NULL,
    title TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE agents (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('agent', 'admin')),
    password_hash TEXT NOT NULL, -- argon2id PHC string
    created_at INTEGER NOT NULL
);

CREATE TABLE agent_tokens (
    token_hash BLOB PRIMARY KEY NOT NULL, -- SHA-256 of the bearer token
    agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX agent_tokens_expires ON agent_tokens(expires_at);

CREATE TABLE contacts (
    id TEXT PRIMARY KEY NOT NULL,
    auth_settings_id TEXT NOT NULL REFERENCES auth_settings(id),
    external_id TEXT NOT NULL,
    given_name TEXT,
    family_name TEXT,
    email TEXT,
    phone TEXT,
    preferred_username TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (auth_settings_id, external_id)
);

CREATE TABLE conversations (
    id TEXT PRIMARY KEY NOT NULL,
    widget_app_id TEXT NOT NULL REFERENCES widgets(app_id),
    state TEXT NOT NULL CHECK (state IN ('waiting', 'active', 'ended')),
    verified INTEGER NOT NULL,
    contact_id TEXT REFERENCES contacts(id),
    context TEXT NOT NULL, -- JSON object of primitives
    agent_id TEXT REFERENCES agents(id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    ended_at INTEGER,
    last_seq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX conversations_state ON conversations(state, created_at);
CREATE INDEX conversations_contact ON conversations(contact_id, state);

CREATE TABLE messages (
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    seq INTEGER NOT NULL,
    sender TEXT NOT NULL CHECK (sender IN ('customer', 'agent', 'system')),
    agent_id TEXT REFERENCES agents(id),
    text TEXT NOT NULL,
    client_msg_id TEXT,
    sent_at INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq),
    UNIQUE (conversation_id, sender, client_msg_id)
);

CREATE TABLE activities (
    id TEXT PRIMARY KEY NOT NULL,
    contact_id TEXT NOT NULL REFERENCES contacts(id),
    conversation_id TEXT NOT NULL UNIQUE REFERENCES conversations(id),
    kind TEXT NOT NULL,
    transcript TEXT NOT NULL, -- JSON array of {seq, sender, text, sent_at}
    created_at INTEGER NOT NULL
);
CREATE INDEX activities_contact ON activities(contact_id, created_at);

CREATE TABLE customer_sessions (
    token_hash BLOB PRIMARY KEY NOT NULL, -- SHA-256 of the session token
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    widget_app_id TEXT NOT NULL REFERENCES widgets(app_id),
    verified_sub TEXT,
    jwt_exp INTEGER,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX customer_sessions_expires ON customer_sessions(expires_at);

CREATE TABLE verification_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    kid TEXT,
    iss TEXT,
    sub TEXT,
    auth_settings_id TEXT
);

CREATE TABLE verification_failure_counts (
    reason TEXT PRIMARY KEY NOT NULL,
    count INTEGER NOT NULL
);

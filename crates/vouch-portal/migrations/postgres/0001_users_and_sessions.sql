-- Website accounts on PostgreSQL: the same tables as ../0001_users_and_sessions.sql (SQLite).
-- Emails are stored lower-cased; the unique index on lower(email) keeps uniqueness
-- case-insensitive even for rows written by hand, as SQLite's COLLATE NOCASE does.
CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    email         TEXT    NOT NULL,
    given_name    TEXT    NOT NULL,
    family_name   TEXT    NOT NULL,
    contact_id    TEXT    NOT NULL UNIQUE,
    phone         TEXT,
    -- JSON object of primitives, canonical serde_json text; '{}' when empty.
    context_json  TEXT    NOT NULL DEFAULT '{}',
    password_hash TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL
);
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

-- Server-side sessions. Only the SHA-256 of the session id (the cookie value)
-- is stored, so a copy of the database cannot be replayed as a cookie.
CREATE TABLE sessions (
    id_hash      BYTEA   PRIMARY KEY,
    user_id      BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token   TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL
);

CREATE INDEX sessions_user_id ON sessions(user_id);
CREATE INDEX sessions_last_seen_at ON sessions(last_seen_at);

-- Website accounts. Emails are stored lower-cased; COLLATE NOCASE keeps the
-- uniqueness case-insensitive even for rows written by hand.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    given_name    TEXT    NOT NULL,
    family_name   TEXT    NOT NULL,
    contact_id    TEXT    NOT NULL UNIQUE,
    phone         TEXT,
    -- JSON object of primitives, canonical serde_json text; '{}' when empty.
    context_json  TEXT    NOT NULL DEFAULT '{}',
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

-- Server-side sessions. Only the SHA-256 of the session id (the cookie value)
-- is stored, so a copy of the database cannot be replayed as a cookie.
CREATE TABLE sessions (
    id_hash      BLOB    PRIMARY KEY NOT NULL,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX sessions_user_id ON sessions(user_id);
CREATE INDEX sessions_last_seen_at ON sessions(last_seen_at);

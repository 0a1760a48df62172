-- Business hours and offline email (issue 16 item 4) and agent search (item 5); the same
-- records as migrations/sqlite/20261203130000_offline_search.sql in PostgreSQL's types.

ALTER TABLE widgets ADD COLUMN business_hours TEXT; -- JSON, NULL = always open
ALTER TABLE widgets ADD COLUMN offline_message TEXT NOT NULL DEFAULT '';

-- The outbox of mail to send (see the SQLite migration for the states).
CREATE TABLE email_outbox (
    id UUID PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('offline_notice', 'transcript')),
    conversation_id UUID NOT NULL REFERENCES conversations(id),
    recipient TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX email_outbox_one_notice ON email_outbox(conversation_id)
    WHERE kind = 'offline_notice';
CREATE INDEX email_outbox_due ON email_outbox(status, next_attempt_at);
CREATE INDEX email_outbox_conversation ON email_outbox(conversation_id, kind);

-- Full-text search: generated tsvector columns (kept current by PostgreSQL itself, filled for
-- existing rows by this ALTER) with GIN indexes. The 'simple' configuration: no stemming or stop
-- words, because customers write in several languages and one language's stemmer would be wrong
-- for the others (and SQLite's unicode61 tokenizer does not stem either).
ALTER TABLE messages ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED;
CREATE INDEX messages_search ON messages USING GIN (search);

ALTER TABLE contacts ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple',
        coalesce(given_name, '') || ' ' || coalesce(family_name, '') || ' ' ||
        coalesce(email, '') || ' ' || external_id || ' ' || coalesce(preferred_username, ''))) STORED;
CREATE INDEX contacts_search ON contacts USING GIN (search);

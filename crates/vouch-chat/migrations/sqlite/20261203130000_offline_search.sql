-- Business hours and offline email (issue 16 item 4) and agent search (item 5).

-- A widget's opening hours: JSON {"timezone": IANA, "days": {"mon": [["09:00","17:00"]], …}} or
-- NULL for always open; the text the widget shows while offline ('' = the widget's own words).
ALTER TABLE widgets ADD COLUMN business_hours TEXT;
ALTER TABLE widgets ADD COLUMN offline_message TEXT NOT NULL DEFAULT '';

-- Mail to send, written before it is sent (an outbox): the notice of a conversation started
-- offline (at most one per conversation: the partial unique index) and transcripts a verified
-- customer asked for. A row goes pending -> sending -> sent, or back to pending with a later
-- next_attempt_at after a refused attempt, or failed after the last attempt. A row found in
-- 'sending' (a process stopped mid-send) is never sent again: an email is at most once.
CREATE TABLE email_outbox (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('offline_notice', 'transcript')),
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    recipient TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX email_outbox_one_notice ON email_outbox(conversation_id)
    WHERE kind = 'offline_notice';
CREATE INDEX email_outbox_due ON email_outbox(status, next_attempt_at);
CREATE INDEX email_outbox_conversation ON email_outbox(conversation_id, kind);

-- Full-text search (FTS5). The index tables hold their own copy of the text with the row's key
-- as UNINDEXED columns rather than pointing at the tables' implicit rowids, which VACUUM may
-- renumber (messages and contacts have no INTEGER PRIMARY KEY). `unicode61 remove_diacritics 2`:
-- case- and accent-insensitive words in every script the widget speaks.
CREATE VIRTUAL TABLE messages_fts USING fts5(
    text,
    conversation_id UNINDEXED,
    seq UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);
-- Messages are never updated or deleted; system lines ("joined", "ended") are not worth finding.
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.sender <> 'system'
BEGIN
    INSERT INTO messages_fts (text, conversation_id, seq) VALUES (new.text, new.conversation_id, new.seq);
END;
INSERT INTO messages_fts (text, conversation_id, seq)
    SELECT text, conversation_id, seq FROM messages WHERE sender <> 'system';

CREATE VIRTUAL TABLE contacts_fts USING fts5(
    given_name, family_name, email, external_id, preferred_username,
    contact_id UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts
BEGIN
    INSERT INTO contacts_fts (given_name, family_name, email, external_id, preferred_username, contact_id)
        VALUES (new.given_name, new.family_name, new.email, new.external_id, new.preferred_username, new.id);
END;
-- Every visit of a verified customer updates its contact (updated_at); the index changes only
-- when a searched field does.
CREATE TRIGGER contacts_fts_update AFTER UPDATE ON contacts
    WHEN old.given_name IS NOT new.given_name OR old.family_name IS NOT new.family_name
      OR old.email IS NOT new.email OR old.external_id IS NOT new.external_id
      OR old.preferred_username IS NOT new.preferred_username
BEGIN
    DELETE FROM contacts_fts WHERE contact_id = old.id;
    INSERT INTO contacts_fts (given_name, family_name, email, external_id, preferred_username, contact_id)
        VALUES (new.given_name, new.family_name, new.email, new.external_id, new.preferred_username, new.id);
END;
INSERT INTO contacts_fts (given_name, family_name, email, external_id, preferred_username, contact_id)
    SELECT given_name, family_name, email, external_id, preferred_username, id FROM contacts;

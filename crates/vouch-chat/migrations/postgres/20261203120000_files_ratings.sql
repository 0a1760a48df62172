-- Attachments, ratings and what the report needs (issue 16 items 1-3); the same as
-- migrations/sqlite/20261203120000_files_ratings.sql in native types.

-- A file uploaded into a conversation by one sender; its bytes are in `data`, committed with
-- the row (so every node serves it). A `send` that references it sets `message_seq` (once).
CREATE TABLE attachments (
    id UUID PRIMARY KEY,
    conversation_id UUID NOT NULL REFERENCES conversations(id),
    sender TEXT NOT NULL CHECK (sender IN ('customer', 'agent')),
    agent_id UUID REFERENCES agents(id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    message_seq BIGINT,
    data BYTEA NOT NULL
);
CREATE INDEX attachments_conversation ON attachments(conversation_id, message_seq);

-- The metadata of a message's attachments (JSON text, as in SQLite); NULL for none.
ALTER TABLE messages ADD COLUMN attachments TEXT;

CREATE TABLE ratings (
    conversation_id UUID PRIMARY KEY REFERENCES conversations(id),
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment TEXT,
    created_at BIGINT NOT NULL
);

ALTER TABLE conversations ADD COLUMN accepted_at BIGINT;
UPDATE conversations SET accepted_at = (
    SELECT MIN(m.sent_at) FROM messages m
    WHERE m.conversation_id = conversations.id AND m.sender = 'system'
) WHERE agent_id IS NOT NULL;
CREATE INDEX conversations_created ON conversations(created_at);

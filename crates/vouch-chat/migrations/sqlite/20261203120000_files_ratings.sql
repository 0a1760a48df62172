-- Attachments, ratings and what the report needs (issue 16 items 1-3).

-- A file uploaded into a conversation by one sender; its bytes are a file under the data
-- directory (`attachments/<id>`), written and fsync'd before this row is committed. A `send`
-- that references it sets `message_seq` (once: an attachment belongs to one message).
CREATE TABLE attachments (
    id TEXT PRIMARY KEY NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    sender TEXT NOT NULL CHECK (sender IN ('customer', 'agent')),
    agent_id TEXT REFERENCES agents(id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    message_seq INTEGER
);
CREATE INDEX attachments_conversation ON attachments(conversation_id, message_seq);

-- The metadata of a message's attachments (JSON array of {id, filename, content_type, size}),
-- written with the message; NULL for a message without any (every message before this one).
ALTER TABLE messages ADD COLUMN attachments TEXT;

-- One rating per conversation, after it ended.
CREATE TABLE ratings (
    conversation_id TEXT PRIMARY KEY NOT NULL REFERENCES conversations(id),
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment TEXT,
    created_at INTEGER NOT NULL
);

-- When an agent first took the conversation (the report's wait). Existing conversations get the
-- time of their first system message (the "joined" line of the accept) when they have an agent.
ALTER TABLE conversations ADD COLUMN accepted_at INTEGER;
UPDATE conversations SET accepted_at = (
    SELECT MIN(m.sent_at) FROM messages m
    WHERE m.conversation_id = conversations.id AND m.sender = 'system'
) WHERE agent_id IS NOT NULL;
CREATE INDEX conversations_created ON conversations(created_at);

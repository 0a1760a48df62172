-- Internal notes: agents only. They take no seq (customer seqs stay gapless) and live in their
-- own table, which nothing a session token reaches ever reads.
CREATE TABLE notes (
    id TEXT PRIMARY KEY NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    author_id TEXT NOT NULL REFERENCES agents(id),
    text TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX notes_conversation ON notes(conversation_id, created_at);

-- Canned replies: shared (agent_id NULL, managed by admins) or one agent's own. A shortcut is
-- unique within its scope; the two partial indexes say so (NULLs are distinct in a plain UNIQUE).
CREATE TABLE canned_replies (
    id TEXT PRIMARY KEY NOT NULL,
    agent_id TEXT REFERENCES agents(id),
    shortcut TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX canned_replies_shared ON canned_replies(shortcut) WHERE agent_id IS NULL;
CREATE UNIQUE INDEX canned_replies_own ON canned_replies(agent_id, shortcut) WHERE agent_id IS NOT NULL;

-- The support desk: queues (one default, `General`, from the first start), who works which
-- queue, each widget's routing rules, and per agent: capacity, whether the account is active,
-- presence and what auto-assignment needs (open sockets, the last assignment).
-- Applies to existing data: every existing agent joins General, every existing conversation
-- lands in General.

CREATE TABLE queues (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    priority INTEGER NOT NULL DEFAULT 0,
    auto_assign INTEGER NOT NULL DEFAULT 1,
    is_default INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
-- The fixed id of General (storage::GENERAL_QUEUE_ID).
INSERT INTO queues (id, name, priority, auto_assign, is_default, created_at)
VALUES ('00000000-0000-4000-8000-000000000001', 'General', 0, 1, 1, 0);

CREATE TABLE queue_members (
    queue_id TEXT NOT NULL REFERENCES queues(id) ON DELETE CASCADE,
    agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    PRIMARY KEY (queue_id, agent_id)
);
CREATE INDEX queue_members_agent ON queue_members(agent_id);
INSERT INTO queue_members (queue_id, agent_id)
SELECT '00000000-0000-4000-8000-000000000001', id FROM agents;

CREATE TABLE widget_routing (
    widget_app_id TEXT PRIMARY KEY NOT NULL REFERENCES widgets(app_id),
    rules TEXT NOT NULL, -- JSON array of {"when": {"verified"?, "context"?}, "queue_id"}
    default_queue_id TEXT REFERENCES queues(id),
    updated_at INTEGER NOT NULL
);

ALTER TABLE agents ADD COLUMN capacity INTEGER NOT NULL DEFAULT 3;
ALTER TABLE agents ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
ALTER TABLE agents ADD COLUMN status TEXT NOT NULL DEFAULT 'offline';
-- Agent sockets open on every node; presence turns offline a grace period after it reaches 0.
ALTER TABLE agents ADD COLUMN open_sockets INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN sockets_changed_at INTEGER NOT NULL DEFAULT 0;
-- Ties in auto-assignment go to the agent assigned longest ago (never = first).
ALTER TABLE agents ADD COLUMN last_assigned_at INTEGER;

-- SQLite refuses ADD COLUMN with REFERENCES and a non-NULL default while foreign keys are on;
-- the code only ever stores ids of existing queues (queues are never deleted).
ALTER TABLE conversations ADD COLUMN queue_id TEXT NOT NULL DEFAULT '00000000-0000-4000-8000-000000000001';
CREATE INDEX conversations_queue ON conversations(state, queue_id, created_at);

-- The support desk, as migrations/sqlite/20261203100000_desk.sql in native types.

CREATE TABLE queues (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    priority BIGINT NOT NULL DEFAULT 0,
    auto_assign BOOLEAN NOT NULL DEFAULT TRUE,
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
INSERT INTO queues (id, name, priority, auto_assign, is_default, created_at)
VALUES ('00000000-0000-4000-8000-000000000001', 'General', 0, TRUE, TRUE, 0);

CREATE TABLE queue_members (
    queue_id UUID NOT NULL REFERENCES queues(id) ON DELETE CASCADE,
    agent_id UUID NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    PRIMARY KEY (queue_id, agent_id)
);
CREATE INDEX queue_members_agent ON queue_members(agent_id);
INSERT INTO queue_members (queue_id, agent_id)
SELECT '00000000-0000-4000-8000-000000000001', id FROM agents;

CREATE TABLE widget_routing (
    widget_app_id UUID PRIMARY KEY REFERENCES widgets(app_id),
    rules TEXT NOT NULL,
    default_queue_id UUID REFERENCES queues(id),
    updated_at BIGINT NOT NULL
);

ALTER TABLE agents ADD COLUMN capacity BIGINT NOT NULL DEFAULT 3;
ALTER TABLE agents ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE agents ADD COLUMN status TEXT NOT NULL DEFAULT 'offline';
ALTER TABLE agents ADD COLUMN open_sockets BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN sockets_changed_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN last_assigned_at BIGINT;

ALTER TABLE conversations ADD COLUMN queue_id UUID NOT NULL
    DEFAULT '00000000-0000-4000-8000-000000000001' REFERENCES queues(id);
CREATE INDEX conversations_queue ON conversations(state, queue_id, created_at);

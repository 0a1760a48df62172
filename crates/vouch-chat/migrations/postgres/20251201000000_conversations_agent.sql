-- An agent's open conversations (`conversations_assigned_to`) without a scan of the table.
CREATE INDEX conversations_agent ON conversations(agent_id, state, created_at);

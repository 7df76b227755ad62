-- Agents as assignment sees them: whether each console user takes conversations now,
-- how many open ones they may hold, and when they were last given one (round robin).
CREATE TABLE agents (
    user_id          TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    availability     TEXT NOT NULL,
    capacity         BIGINT,
    last_assigned_at BIGINT,
    updated_at       BIGINT NOT NULL
);
-- The queue: open conversations nobody has, oldest first.
CREATE INDEX conversations_waiting ON conversations (status, assignee_id, created_at);

-- An agent's inbox ("mine", open first) and the unassigned queue, newest activity
-- first, without reading the whole table.
CREATE INDEX conversations_by_assignee ON conversations (assignee_id, status, last_message_at DESC, id DESC);

-- An agent's inbox and the unassigned queue, newest activity first, without reading
-- the whole table: by assignee and status ("mine, open"), and by assignee alone
-- ("mine", "unassigned", whatever the status).
CREATE INDEX conversations_by_assignee ON conversations (assignee_id, status, last_message_at DESC, id DESC);
CREATE INDEX conversations_by_assignee_activity ON conversations (assignee_id, last_message_at DESC, id DESC);

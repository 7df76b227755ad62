-- Service levels: when a conversation's first response and its resolution are due
-- (set when it opens, from the targets and business hours then), and when they
-- happened, so a breach is a comparison the inbox can filter on.
ALTER TABLE conversations ADD COLUMN first_response_due_at BIGINT;
ALTER TABLE conversations ADD COLUMN resolution_due_at BIGINT;
ALTER TABLE conversations ADD COLUMN first_replied_at BIGINT;
ALTER TABLE conversations ADD COLUMN resolved_at BIGINT;

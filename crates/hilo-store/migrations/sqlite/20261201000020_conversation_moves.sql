-- Corrections agents make when a link was wrong, kept so they can be undone: two
-- conversations merged into one, or a conversation moved to another customer.
CREATE TABLE conversation_moves (
    id              TEXT PRIMARY KEY,
    -- merge or move.
    kind            TEXT NOT NULL,
    -- merge: the conversation kept; move: the conversation moved.
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    -- merge: the conversation merged away, and its status before.
    other_id        TEXT,
    previous_status TEXT,
    -- move: the customer fragments it went from and to.
    from_profile    TEXT,
    to_profile      TEXT,
    -- JSON array of the ids of the messages that moved.
    message_ids     TEXT NOT NULL,
    at              BIGINT NOT NULL,
    actor           TEXT NOT NULL,
    undone_at       BIGINT
);
CREATE INDEX conversation_moves_by_conversation ON conversation_moves (conversation_id, id);

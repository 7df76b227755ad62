-- Canned replies: a shortcut agents type and a text with placeholders from the profile.
CREATE TABLE canned_replies (
    id         TEXT PRIMARY KEY,
    shortcut   TEXT NOT NULL UNIQUE,
    content    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- Who a note mentions, for their notifications.
CREATE TABLE message_mentions (
    message_id TEXT NOT NULL REFERENCES messages (id),
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (message_id, user_id)
);
CREATE INDEX message_mentions_by_user ON message_mentions (user_id, message_id);

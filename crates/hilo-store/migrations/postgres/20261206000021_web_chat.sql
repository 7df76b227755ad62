-- Web chat: the visitors of a site's chat widget. A visitor who proved who they are
-- (an identity hashed with the channel's secret) is one row per channel and identity,
-- whatever the device; any other visitor is the holder of a random token the widget
-- keeps. A visitor sees only the messages addressed to or sent by them: the id is the
-- messages' customer_address on the channel.
CREATE TABLE chat_visitors (
    id             TEXT PRIMARY KEY,
    channel_id     TEXT NOT NULL REFERENCES channels (id),
    -- SHA-256 of the token an unverified visitor resumes with; NULL once verified.
    token_digest   TEXT UNIQUE,
    -- user_id:… or email:… for a verified visitor.
    verified_key   TEXT,
    -- The site's anonymous id (its Segment SDK's, if it runs one) last seen.
    anonymous_id   TEXT NOT NULL,
    -- The customer fragment their messages went to, once they wrote (for erasure).
    profile_id     TEXT,
    created_at     BIGINT NOT NULL,
    last_seen_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX chat_visitors_by_identity ON chat_visitors (channel_id, verified_key);
CREATE INDEX chat_visitors_by_profile ON chat_visitors (profile_id);
-- A visitor's messages on a channel, newest first, and a customer's address on one.
CREATE INDEX messages_by_address ON messages (channel_id, customer_address, id);

-- Conversations: the channels customers write on, one thread per customer across them,
-- and every message in either direction.
CREATE TABLE channels (
    id           TEXT PRIMARY KEY,
    channel_type TEXT NOT NULL,
    name         TEXT NOT NULL,
    -- JSON object of the settings that may be shown.
    settings     TEXT NOT NULL,
    -- The credentials, a JSON object sealed under the node's secret key.
    secrets      TEXT NOT NULL,
    -- What it receives for (a phone number, a mailbox, a page id), to route inbound mail.
    address      TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    -- Deleted channels stay, so their messages still say where they came from.
    deleted_at   BIGINT
);
CREATE INDEX channels_by_address ON channels (channel_type, address);

CREATE TABLE conversations (
    id               TEXT PRIMARY KEY,
    -- The customer (the live profile when it began; reads follow merges).
    profile_id       TEXT NOT NULL,
    status           TEXT NOT NULL,
    -- Set when threads are kept per channel: the channel this one is for.
    thread_channel_id TEXT,
    -- The channel the customer wrote on last: where a reply goes by default.
    last_channel_id  TEXT,
    assignee_id      TEXT,
    team_id          TEXT,
    subject          TEXT,
    snoozed_until    BIGINT,
    last_message_at  BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX conversations_by_profile ON conversations (profile_id, status);
CREATE INDEX conversations_by_activity ON conversations (last_message_at DESC, id DESC);
CREATE INDEX conversations_by_status ON conversations (status, last_message_at DESC, id DESC);

CREATE TABLE messages (
    id                  TEXT PRIMARY KEY,
    conversation_id     TEXT NOT NULL REFERENCES conversations (id),
    -- The customer fragment it belongs to, for erasure.
    profile_id          TEXT NOT NULL,
    -- NULL for a private note.
    channel_id          TEXT,
    channel_type        TEXT,
    -- inbound, outbound or note.
    direction           TEXT NOT NULL,
    content             TEXT NOT NULL,
    -- JSON array of attachments: {"url", "content_type"}.
    media               TEXT NOT NULL,
    status              TEXT NOT NULL,
    -- The provider's reason when it failed.
    error_code          TEXT,
    error_message       TEXT,
    -- The provider's own id (Twilio MessageSid, WhatsApp wamid): one message once.
    provider_message_id TEXT,
    -- The customer's address it came from or went to.
    customer_address    TEXT,
    -- Who wrote it: customer, user:…, api_key:….
    author              TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE UNIQUE INDEX messages_by_provider_id ON messages (channel_id, provider_message_id);
CREATE INDEX messages_by_conversation ON messages (conversation_id, id);
CREATE INDEX messages_by_profile ON messages (profile_id);

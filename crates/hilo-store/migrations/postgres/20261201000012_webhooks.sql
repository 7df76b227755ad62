-- Outbound webhooks. An endpoint subscribes to events; each event for it is a message
-- (its id is the `webhook-id` every retry repeats), delivered by a job; every attempt
-- is kept with its status, duration and the first bytes of the answer.
CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL,
    -- JSON array of event types.
    events          TEXT NOT NULL,
    -- whsec_…: shown once to the admin; kept to sign every message.
    secret          TEXT NOT NULL,
    -- Since when every attempt has failed; NULL after a success.
    failing_since   BIGINT,
    disabled_at     BIGINT,
    disabled_reason TEXT,
    -- Since when it receives: creation, or being enabled again. Changes from before
    -- are not sent to it, however late the consumer reads them.
    enabled_since   BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE webhook_messages (
    id          TEXT PRIMARY KEY,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_type  TEXT NOT NULL,
    -- The customer it is about, so an erasure finds it.
    profile_id  TEXT,
    -- The body's "timestamp" (RFC 3339) and "data" (JSON).
    occurred_at TEXT NOT NULL,
    data        TEXT NOT NULL,
    -- pending, delivered or failed.
    status      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX webhook_messages_by_endpoint ON webhook_messages (endpoint_id, id);
CREATE INDEX webhook_messages_by_profile ON webhook_messages (profile_id);

CREATE TABLE webhook_attempts (
    id          TEXT PRIMARY KEY,
    message_id  TEXT NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    endpoint_id TEXT NOT NULL,
    at          BIGINT NOT NULL,
    -- NULL when no answer came (refused, timed out, unreachable).
    status_code INTEGER,
    duration_ms BIGINT NOT NULL,
    -- The first bytes of the answer, or what went wrong.
    response    TEXT NOT NULL,
    succeeded   INTEGER NOT NULL
);
CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (endpoint_id, id);
CREATE INDEX webhook_attempts_by_message ON webhook_attempts (message_id);

-- Change-feed consumers that must see every change once, with several nodes writing:
-- `seq` is drawn when a row is inserted, so a lower seq can commit after a higher one.
-- Each row also records its transaction (xid8); a consumer reads only rows of
-- transactions older than every one still running (pg_snapshot_xmin), in (xid, seq)
-- order, and saves both: nothing can later appear before its position.
ALTER TABLE changes ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX changes_by_xid ON changes (xid, seq);
ALTER TABLE feed_cursors ADD COLUMN changes_xid BIGINT NOT NULL DEFAULT 0;

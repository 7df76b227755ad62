-- Calls: each is a message of its conversation (channel type voice, the phone
-- system's id as its provider id), with what only a call has.
CREATE TABLE calls (
    message_id       TEXT PRIMARY KEY REFERENCES messages (id),
    -- ringing, in_progress, completed, missed, busy, failed.
    status           TEXT NOT NULL,
    from_number      TEXT,
    to_number        TEXT,
    -- The console user who took it, if known.
    agent_id         TEXT,
    started_at       BIGINT NOT NULL,
    answered_at      BIGINT,
    ended_at         BIGINT,
    duration_seconds BIGINT,
    recording_url    TEXT,
    notes            TEXT
);

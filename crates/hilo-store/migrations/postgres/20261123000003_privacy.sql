-- Privacy: consent per channel and purpose with its history, suppressed identifiers of
-- erased customers, and an audit log without personal data.

-- Every consent change, kept: the current state is the newest row per channel and purpose.
CREATE TABLE consents (
    id         TEXT PRIMARY KEY,
    profile_id TEXT NOT NULL REFERENCES profiles (id),
    channel    TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    granted    BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    -- Where the change came from: web, pos, call_center, api…
    via        TEXT NOT NULL,
    source_id  TEXT,
    actor      TEXT
);
CREATE INDEX consents_by_profile ON consents (profile_id, channel, purpose, at);

-- Identifiers of erased customers, as keyed digests: later events carrying them are
-- dropped instead of recreating the person.
CREATE TABLE suppressions (
    digest TEXT PRIMARY KEY,
    at     BIGINT NOT NULL
);

CREATE TABLE audit_log (
    id         TEXT PRIMARY KEY,
    at         BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    detail     TEXT NOT NULL
);

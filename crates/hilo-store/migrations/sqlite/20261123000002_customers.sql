-- Customers: profile fragments merged into live profiles, the identifiers they hold,
-- every merge and conflict, and one timeline of everything about them.

-- A fragment of a customer. A live customer is a fragment with merged_into NULL plus
-- every fragment merged into it, transitively. Identities, traits and timeline items
-- stay on the fragment that received them, so an unmerge restores both sides exactly.
CREATE TABLE profiles (
    id          TEXT PRIMARY KEY,
    merged_into TEXT REFERENCES profiles (id),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    -- {"trait": {"v": value, "t": millis, "by": actor}}: the newest "t" wins per trait.
    traits      TEXT NOT NULL DEFAULT '{}',
    first_seen  INTEGER,
    last_seen   INTEGER,
    event_count INTEGER NOT NULL DEFAULT 0,
    -- JSON array of channel names seen.
    channels    TEXT NOT NULL DEFAULT '[]',
    created_by  TEXT
);
CREATE INDEX profiles_by_merged_into ON profiles (merged_into);

CREATE TABLE identities (
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    profile_id TEXT NOT NULL REFERENCES profiles (id),
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    -- JSON array of source ids that sent it.
    sources    TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (kind, value)
);
CREATE INDEX identities_by_profile ON identities (profile_id);

CREATE TABLE merges (
    id               TEXT PRIMARY KEY,
    survivor_id      TEXT NOT NULL,
    absorbed_id      TEXT NOT NULL,
    identifier_kind  TEXT NOT NULL,
    identifier_value TEXT NOT NULL,
    message_id       TEXT,
    source_id        TEXT,
    at               INTEGER NOT NULL,
    undone_at        INTEGER,
    undone_by        TEXT
);
CREATE INDEX merges_by_survivor ON merges (survivor_id);
CREATE INDEX merges_by_absorbed ON merges (absorbed_id);

-- Profiles an unmerge separated: they never merge again automatically.
CREATE TABLE separations (
    a  TEXT NOT NULL,
    b  TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (a, b)
);

CREATE TABLE identity_conflicts (
    id               TEXT PRIMARY KEY,
    at               INTEGER NOT NULL,
    reason           TEXT NOT NULL,
    detail           TEXT NOT NULL,
    identifier_kind  TEXT NOT NULL,
    identifier_value TEXT NOT NULL,
    profile_id       TEXT,
    other_profile_id TEXT,
    message_id       TEXT,
    source_id        TEXT
);

-- Everything about a customer, newest first by "at": events now; conversations, orders
-- and messages sent as their parts land (item_type says which).
CREATE TABLE timeline (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    profile_id  TEXT NOT NULL,
    item_type   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    name        TEXT,
    channel     TEXT NOT NULL,
    source_id   TEXT,
    message_id  TEXT,
    at          INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    body        TEXT NOT NULL
);
-- Deduplication: a message id is stored once per source, however often it is retried.
CREATE UNIQUE INDEX timeline_dedup ON timeline (source_id, message_id);
CREATE INDEX timeline_by_profile ON timeline (profile_id, at, seq);

-- Profile-level changes, written in the same transaction as the change, for the parts
-- that react to them (segments, journeys). Events are read from the timeline by seq.
CREATE TABLE changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    profile_id TEXT NOT NULL,
    data       TEXT NOT NULL
);

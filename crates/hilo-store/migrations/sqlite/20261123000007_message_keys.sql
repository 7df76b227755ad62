-- The ingestion writer's deduplication window on disk: one small row per stored event
-- (its timeline seq, the digest of source and message id, when it was received), so a
-- restart reloads the window from a few dozen bytes per event instead of from the
-- timeline rows themselves. Rows older than the window are pruned.
CREATE TABLE message_keys (
    seq         INTEGER PRIMARY KEY,
    digest      BLOB NOT NULL,
    received_at INTEGER NOT NULL
);

-- Where each in-process consumer of the change feed has read up to, so it resumes after
-- a restart without missing or repeating what it acknowledged.
CREATE TABLE feed_cursors (
    consumer     TEXT PRIMARY KEY,
    changes_seq  BIGINT NOT NULL,
    timeline_seq BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

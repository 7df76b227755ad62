-- Customers' timelines are indexed behind the ingestion writer instead of on every insert.
-- An index on (profile_id, at, seq) maintained row by row put each event on a random leaf
-- (customers arrive in no order), so almost every stored event rewrote a page of it.
-- Now every timeline row is also appended to timeline_tail (a table in seq order, cheap
-- to append) by whoever appends it, and the ingestion writer moves the tail into
-- timeline_by_customer in rounds, sorted by customer, each leaf written about once per
-- round (crates/hilo-store/src/timeline_index.rs). Readers take the union of both, so a
-- row is findable from the moment it commits. The tail is written by the statements
-- that append (sql::SQLITE_APPEND_TAIL), not by a trigger: a trigger makes every insert
-- keep a statement journal, which cost the ingestion writer about a tenth of its time.
-- Deletions are rare, so a trigger takes their index entries with them.
CREATE TABLE timeline_by_customer (
    profile_id TEXT NOT NULL,
    at         INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    PRIMARY KEY (profile_id, at, seq)
) WITHOUT ROWID;
CREATE TABLE timeline_tail (
    seq        INTEGER PRIMARY KEY,
    profile_id TEXT NOT NULL,
    at         INTEGER NOT NULL
);
INSERT INTO timeline_by_customer (profile_id, at, seq) SELECT profile_id, at, seq FROM timeline;
DROP INDEX timeline_by_profile;
CREATE TRIGGER timeline_leaves_indexes AFTER DELETE ON timeline BEGIN
    DELETE FROM timeline_by_customer
        WHERE profile_id = old.profile_id AND at = old.at AND seq = old.seq;
    DELETE FROM timeline_tail WHERE seq = old.seq;
END;

-- Events are deduplicated by the ingestion writer, which keeps the digests of recent
-- message ids in memory (crates/hilo-store/src/embedded.rs): a unique index over SDKs'
-- random message ids rewrote a page of it for almost every event stored. The index now
-- covers only other items (staff registrations and imports), whose writers use it.
DROP INDEX timeline_dedup;
CREATE UNIQUE INDEX timeline_dedup ON timeline (source_id, message_id) WHERE item_type <> 'event';

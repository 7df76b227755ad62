-- On SQLite this migration narrows the deduplication index to non-event items, because
-- its single ingestion writer deduplicates events in memory. PostgreSQL keeps the full
-- unique index: several nodes write, and the index is what makes them agree.
SELECT 1;

-- On SQLite this adds the ingestion writer's on-disk deduplication window. PostgreSQL
-- deduplicates through its unique index and needs nothing here.
SELECT 1;

-- On SQLite this moves the per-customer timeline index behind the ingestion writer.
-- PostgreSQL keeps its index on timeline (profile_id, at, seq).
SELECT 1;

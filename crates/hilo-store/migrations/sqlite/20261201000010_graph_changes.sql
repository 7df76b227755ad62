-- On PostgreSQL this limits raising the graph version to transactions that change the
-- identity graph. SQLite keeps no version (see 0009).
SELECT 1;

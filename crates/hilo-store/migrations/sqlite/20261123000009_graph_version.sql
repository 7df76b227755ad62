-- On PostgreSQL this adds the graph version several nodes' writers compare. SQLite has
-- one writer per database, and it learns of other connections' commits from
-- PRAGMA data_version.
SELECT 1;

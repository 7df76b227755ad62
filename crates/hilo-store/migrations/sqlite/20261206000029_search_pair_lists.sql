-- On PostgreSQL this gives each pair of words its own ordered list. SQLite's FTS5 index
-- already keeps every word's list in document order (0015).
SELECT 1;

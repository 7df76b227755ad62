-- PostgreSQL only (its graph version becomes a sum of counters); SQLite has one writer.
SELECT 1;

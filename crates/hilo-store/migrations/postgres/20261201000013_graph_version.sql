-- SQLite gains the graph version PostgreSQL has kept since 0009 and 0010.
SELECT 1;

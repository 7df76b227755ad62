-- SQLite only: its inventory levels move into their key's own tree. A PostgreSQL table
-- is a heap with its key beside it whatever the declaration, so nothing changes here.
SELECT 1;

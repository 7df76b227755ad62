-- The graph version (0009, 0010) becomes the sum of sixteen counters, and a commit that
-- changed the identity graph raises the one its connection is given (by backend pid).
-- With one row, every such commit waited for the one before it to reach the disk,
-- since the row stays locked until commit: new customers arriving on several
-- connections at once were written one commit at a time. A sum still counts every
-- change, so an ingestion writer tells another's change apart exactly as before
-- (Tx::commit_versioned).
ALTER TABLE graph_version DROP CONSTRAINT graph_version_id_check;
ALTER TABLE graph_version ADD CONSTRAINT graph_version_stripe CHECK (id BETWEEN 1 AND 16);
INSERT INTO graph_version (id, version) SELECT n, 0 FROM generate_series(2, 16) AS n;

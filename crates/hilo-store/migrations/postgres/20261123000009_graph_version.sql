-- A counter every write transaction raises as it commits (Tx::commit). An ingestion
-- writer keeps what it learned of the identity graph from one group to the next only
-- while the counter is where its own last commit left it, read after it holds the locks
-- on the group's identifiers: so with several nodes on one database, none acts on what
-- another has changed since.
CREATE TABLE graph_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO graph_version (id, version) VALUES (1, 0);

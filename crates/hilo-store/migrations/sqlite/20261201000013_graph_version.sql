-- The graph version on SQLite, as PostgreSQL keeps it (0009, 0010): raised by every
-- change to the identity graph — who holds an identifier, and which fragment is merged
-- into which — and by nothing else. The ingestion writer keeps what it learned of the
-- graph across its commits while the version says nobody else changed it, however many
-- other commits (jobs, the feed's consumers, staff edits of traits) land beside it.
-- The writer's own connection runs without triggers and raises the version once per
-- commit that changed the graph (collect/writer/embedded.rs); every other connection,
-- Hilo's or not, raises it through these triggers.
CREATE TABLE graph_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO graph_version (id, version) VALUES (1, 0);

CREATE TRIGGER identities_added_change_the_graph AFTER INSERT ON identities BEGIN
    UPDATE graph_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER identities_updated_change_the_graph AFTER UPDATE ON identities BEGIN
    UPDATE graph_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER identities_removed_change_the_graph AFTER DELETE ON identities BEGIN
    UPDATE graph_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER profiles_added_change_the_graph AFTER INSERT ON profiles BEGIN
    UPDATE graph_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER profiles_removed_change_the_graph AFTER DELETE ON profiles BEGIN
    UPDATE graph_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER profiles_relinked_change_the_graph
    AFTER UPDATE OF merged_into, root_id ON profiles BEGIN
    UPDATE graph_version SET version = version + 1 WHERE id = 1;
END;

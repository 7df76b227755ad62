-- The graph version (0009) is raised only by transactions that change the identity
-- graph: who holds an identifier, and which fragment is merged into which. Every other
-- write (staff edits of traits or consent, timeline items, jobs, the parts to come)
-- commits without touching the counter's row, so writers of different parts and nodes
-- never take turns on it. A statement-level trigger marks the transaction; the commit
-- (Tx::commit) raises the version only when the mark is there.
CREATE FUNCTION hilo_mark_graph_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('hilo.graph_changed', 'on', true);
    RETURN NULL;
END
$$;

CREATE TRIGGER identities_change_the_graph
    AFTER INSERT OR UPDATE OR DELETE ON identities
    FOR EACH STATEMENT EXECUTE FUNCTION hilo_mark_graph_changed();

CREATE TRIGGER profiles_change_the_graph
    AFTER INSERT OR DELETE OR UPDATE OF merged_into, root_id ON profiles
    FOR EACH STATEMENT EXECUTE FUNCTION hilo_mark_graph_changed();

-- Customer search by pairs of words, read in order (0015 put the pairs in the
-- tsvector). The GIN index gives a pair's profiles in no order, so a page of "jose
-- garc" read every one of its some 600 rows from the wide search_docs heap to sort them
-- by doc: 7-9 ms at a million profiles, most of the request. Here each pair of a profile
-- is a row of a B-tree whose keys are the pair and the doc, so a pair's profiles come
-- from the index alone, in doc order, and the start of a pair being typed is a range of
-- keys. The C collation makes that range the byte order of the words (hilo-domain
-- customers/search.rs, SearchQuery::pair_ranges). The search consumer writes these
-- rows with the profile's tsvector (which keeps its pairs, for the second part of a
-- search); this fills them for the profiles indexed before.
CREATE TABLE search_pairs (
    term TEXT COLLATE "C" NOT NULL,
    doc  BIGINT NOT NULL REFERENCES search_docs (doc) ON DELETE CASCADE,
    PRIMARY KEY (term, doc)
);
CREATE INDEX search_pairs_by_doc ON search_pairs (doc);
INSERT INTO search_pairs (term, doc)
SELECT DISTINCT w.lexeme, d.doc FROM search_docs d, unnest(d.words) w
WHERE strpos(w.lexeme, '_') > 0 AND right(w.lexeme, 1) <> '~';

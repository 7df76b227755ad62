-- Customer search: every live profile's words (hilo-domain customers/search.rs makes
-- them: identifier and trait values, folded and split) as a tsvector under a GIN index,
-- so a search by prefix reads the index, never the profiles. A consumer of the change
-- feed keeps it (hilo-app customers/search_index.rs); erasure removes a person's row at
-- once. The words are made in Rust and given as tsvector text, so no text-search
-- configuration or extension is involved and both engines find the same profiles.
-- doc is the order results come in.
CREATE TABLE search_docs (
    doc        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    profile_id TEXT NOT NULL UNIQUE,
    words      TSVECTOR NOT NULL
);
CREATE INDEX search_docs_words ON search_docs USING GIN (words);

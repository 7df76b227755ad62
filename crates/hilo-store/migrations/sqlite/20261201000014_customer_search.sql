-- Customer search: every live profile's words (hilo-domain customers/search.rs makes
-- them: identifier and trait values, folded and split) in an FTS5 index, so a search by
-- prefix reads the index, never the profiles. A consumer of the change feed keeps it
-- (hilo-app customers/search_index.rs); erasure removes a person's row at once.
--
-- search_docs gives each indexed profile a stable integer, the index's rowid, which is
-- also the order results come in. The FTS table is contentless (the words are kept
-- nowhere else) and without positions (detail=none): a query asks only which rows hold
-- which words. Prefix indexes of 2 to 10 characters (PostgreSQL stores the same
-- prefixes as lexemes) answer a word being typed from one list: without one, FTS5
-- gathers the lists of every word the prefix starts into memory first, 14 ms for "garc"
-- at a million profiles against 0.04 ms for the whole word.
CREATE TABLE search_docs (
    doc        INTEGER PRIMARY KEY,
    profile_id TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE search_words USING fts5 (
    words,
    content = '',
    contentless_delete = 1,
    detail = none,
    tokenize = 'unicode61 remove_diacritics 0',
    prefix = '2 3 4 5 6 7 8 9 10'
);

-- Customer search by pairs of words: a written value of a few words (a name, an
-- address) is also indexed under each pair of neighbouring words joined by "_"
-- ("José García López" under jose_garcia, garcia_lopez and lopez_jose), so a name as
-- typed is read from two short lists instead of intersecting the long lists of common
-- names and surnames (hilo-domain customers/search.rs). The tokenizer must keep "_"
-- inside a word, so the FTS table is made again, empty, and the search consumer's
-- position is dropped: it indexes every profile again from the start of the change
-- feed, in the background, and search finds profiles as they are indexed again.
DROP TABLE search_words;
DELETE FROM search_docs;
CREATE VIRTUAL TABLE search_words USING fts5 (
    words,
    content = '',
    contentless_delete = 1,
    detail = none,
    tokenize = "unicode61 remove_diacritics 0 tokenchars '_'",
    prefix = '2 3 4 5 6 7 8 9 10'
);
DELETE FROM feed_cursors WHERE consumer = 'customers.search';

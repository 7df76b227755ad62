-- Searching conversations by their text: a GIN index over the messages' words
-- (the `simple` configuration: every language, no stemming), with accents folded as
-- SQLite's index folds them, so "donde" finds "dónde" on both engines. Updated with
-- each insert rather than through a pending list, so no webhook's insert pays for
-- flushing one. The first 100,000 characters are indexed: a tsvector holds at most 1 MB.
CREATE FUNCTION hilo_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN translate($1,
        'áàâäãåéèêëíìîïóòôöõúùûüñçÁÀÂÄÃÅÉÈÊËÍÌÎÏÓÒÔÖÕÚÙÛÜÑÇ',
        'aaaaaaeeeeiiiiooooouuuuncAAAAAAEEEEIIIIOOOOOUUUUNC');

CREATE INDEX messages_search ON messages
    USING GIN (to_tsvector('simple', hilo_fold(left(content, 100000))))
    WITH (fastupdate = off);

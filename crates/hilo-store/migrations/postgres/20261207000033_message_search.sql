-- Searching conversations by their text: a GIN index over the messages' words
-- (the `simple` configuration: every language, no stemming). Updated with each insert
-- rather than through a pending list, so no webhook's insert pays for flushing one.
-- The first 100,000 characters are indexed: a tsvector holds at most 1 MB.
CREATE INDEX messages_search ON messages
    USING GIN (to_tsvector('simple', left(content, 100000)))
    WITH (fastupdate = off);

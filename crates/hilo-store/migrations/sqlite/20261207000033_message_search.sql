-- Searching conversations by their text: an FTS5 index over the messages' content,
-- kept by triggers in the same transaction as the message. Words are split at every
-- character that is not a letter or digit, accents folded ("donde" finds "dónde").
-- It reads the content from `messages` by rowid (the table is never VACUUMed, which
-- could renumber rowids; `INSERT INTO message_search (message_search) VALUES
-- ('rebuild')` makes it whole again if it ever is).
CREATE VIRTUAL TABLE message_search USING fts5 (
    content,
    content = 'messages',
    content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO message_search (message_search) VALUES ('rebuild');

CREATE TRIGGER message_search_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_search (rowid, content) VALUES (new.rowid, new.content);
END;

CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN
    INSERT INTO message_search (message_search, rowid, content)
        VALUES ('delete', old.rowid, old.content);
END;

-- Erasure redacts a message's content.
CREATE TRIGGER message_search_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO message_search (message_search, rowid, content)
        VALUES ('delete', old.rowid, old.content);
    INSERT INTO message_search (rowid, content) VALUES (new.rowid, new.content);
END;

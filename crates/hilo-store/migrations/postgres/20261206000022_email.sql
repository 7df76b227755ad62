-- Email: what an email message keeps beside its text (subject, Message-ID and the
-- threading headers, addresses, sanitised HTML, the folded quote, its attachments'
-- list), and the attachments themselves, in the database so every node serves them.
ALTER TABLE messages ADD COLUMN email TEXT;

CREATE TABLE attachments (
    id           TEXT PRIMARY KEY,
    message_id   TEXT NOT NULL REFERENCES messages (id),
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    data         BYTEA NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX attachments_by_message ON attachments (message_id);

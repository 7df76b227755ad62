-- Mailboxes Hilo reads over IMAP: how far each email channel's mailbox has been read
-- (the UID of the last message stored, under the mailbox's UIDVALIDITY), and which
-- node reads it now (a lease, so one node at a time polls and idles on it).
CREATE TABLE mailboxes (
    channel_id   TEXT PRIMARY KEY REFERENCES channels (id),
    uid_validity BIGINT,
    last_uid     BIGINT NOT NULL DEFAULT 0,
    leased_by    TEXT,
    lease_until  BIGINT NOT NULL DEFAULT 0,
    last_error   TEXT,
    checked_at   BIGINT
);

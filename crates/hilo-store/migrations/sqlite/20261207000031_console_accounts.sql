-- Console accounts: each user's language (NULL: the browser's), and invitations, the
-- link an admin gives a new user to set their own password. Only the token's digest is
-- kept; a link works once, until it expires.
ALTER TABLE users ADD COLUMN language TEXT;

CREATE TABLE invitations (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    invited_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX invitations_by_user ON invitations (user_id);

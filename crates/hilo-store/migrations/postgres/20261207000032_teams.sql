-- Teams: a named group of agents a conversation can be given to. A conversation's
-- `team_id` holds the team's name; auto-assignment gives a team's conversations to its
-- members. Deleting a team takes it off its conversations (done by the store).
CREATE TABLE teams (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE team_members (
    team    TEXT NOT NULL REFERENCES teams (name) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (team, user_id)
);
CREATE INDEX team_members_by_user ON team_members (user_id);
CREATE INDEX conversations_by_team ON conversations (team_id, status, last_message_at DESC, id DESC);

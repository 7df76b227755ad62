-- Working the inbox: labels on conversations, and the audit trail of who did what.
CREATE TABLE conversation_labels (
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    label           TEXT NOT NULL,
    PRIMARY KEY (conversation_id, label)
);
CREATE INDEX conversation_labels_by_label ON conversation_labels (label, conversation_id);

CREATE TABLE conversation_events (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    at              BIGINT NOT NULL,
    -- user:…, api_key:…, customer, system.
    actor           TEXT NOT NULL,
    -- status, assignee, team, labels, …
    kind            TEXT NOT NULL,
    -- JSON: what changed, from and to.
    data            TEXT NOT NULL
);
CREATE INDEX conversation_events_by_conversation ON conversation_events (conversation_id, id);

-- Durable jobs: work that runs after the request that caused it, written in the same
-- transaction as its cause, and retried after a failure. A worker claims a due job by
-- setting a lease (`locked_until`, `claim`); if it dies, the lease runs out and another
-- worker takes the job. `attempts` counts claims, so a job that kills its worker still
-- reaches its last attempt.
CREATE TABLE jobs (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    run_at          BIGINT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL,
    last_error      TEXT,
    locked_until    BIGINT,
    claim           TEXT,
    idempotency_key TEXT UNIQUE,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
-- What workers look for: pending jobs by due time, running ones by lease end.
CREATE INDEX jobs_due ON jobs (run_at) WHERE status = 'pending';
CREATE INDEX jobs_leased ON jobs (locked_until) WHERE status = 'running';
CREATE INDEX jobs_by_status ON jobs (status, id);

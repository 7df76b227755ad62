-- Pickup codes (commerce): when a pickup becomes ready, a code is issued. Only its keyed
-- digest (to find it when typed) and the seed it is derived from under the node's
-- secret key are kept; the code itself is never stored.
ALTER TABLE fulfillments ADD COLUMN code_digest TEXT;
ALTER TABLE fulfillments ADD COLUMN code_seed TEXT;
ALTER TABLE fulfillments ADD COLUMN code_expires_at BIGINT;
ALTER TABLE fulfillments ADD COLUMN collected_by TEXT;
CREATE UNIQUE INDEX fulfillments_by_code ON fulfillments (code_digest);

-- Wrong codes typed at a location's desk, to slow anyone guessing.
CREATE TABLE pickup_attempts (
    location_id TEXT NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX pickup_attempts_by_location ON pickup_attempts (location_id, at);

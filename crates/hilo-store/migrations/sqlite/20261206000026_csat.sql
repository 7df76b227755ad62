-- Customer satisfaction: when a resolved conversation's survey was sent, and the
-- rating (1 to 5) the customer answered with.
ALTER TABLE conversations ADD COLUMN csat_requested_at BIGINT;
ALTER TABLE conversations ADD COLUMN csat_rating BIGINT;
ALTER TABLE conversations ADD COLUMN csat_rated_at BIGINT;

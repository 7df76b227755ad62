-- Store staff (commerce): a console user or an API key bound to the store whose desk it
-- works. A member works one store at a time; one not bound works any store's desk.
-- `member` is the actor as audit records name it: `user:<id>` or `api_key:<id>`.
CREATE TABLE store_staff (
    member      TEXT PRIMARY KEY,
    location_id TEXT NOT NULL REFERENCES locations (id),
    assigned_by TEXT NOT NULL,
    assigned_at BIGINT NOT NULL
);
CREATE INDEX store_staff_by_location ON store_staff (location_id, member);

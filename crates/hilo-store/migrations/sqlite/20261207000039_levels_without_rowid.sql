-- Inventory levels keyed by (sku, location_id) alone. As a rowid table with that key,
-- every level an order reserves was found in the key's index and then read, and
-- written, in the table: two random pages per level, three levels per order. Stored in
-- the key's own tree, a level is one page, found by the one lookup.
CREATE TABLE inventory_levels_keyed (
    sku         TEXT NOT NULL REFERENCES variants (sku),
    location_id TEXT NOT NULL REFERENCES locations (id),
    on_hand     BIGINT NOT NULL CHECK (on_hand >= 0),
    reserved    BIGINT NOT NULL CHECK (reserved >= 0),
    safety      BIGINT NOT NULL DEFAULT 0 CHECK (safety >= 0),
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (sku, location_id),
    CHECK (reserved <= on_hand)
) WITHOUT ROWID;
INSERT INTO inventory_levels_keyed (sku, location_id, on_hand, reserved, safety, updated_at)
    SELECT sku, location_id, on_hand, reserved, safety, updated_at FROM inventory_levels;
DROP TABLE inventory_levels;
ALTER TABLE inventory_levels_keyed RENAME TO inventory_levels;
CREATE INDEX inventory_by_location ON inventory_levels (location_id, sku);

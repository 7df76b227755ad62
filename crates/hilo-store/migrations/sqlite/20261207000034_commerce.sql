-- Commerce (1): locations, the catalogue, one inventory across every location, carts and
-- wish lists, and orders with their fulfilments and reservations. Money is in minor
-- units beside its ISO 4217 currency. Rows about a customer name the profile fragment
-- they were written on; reads gather the customer's whole tree, so carts join when
-- identity resolution merges two profiles.

CREATE TABLE locations (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    kind                TEXT NOT NULL,
    address             TEXT NOT NULL DEFAULT '',
    lat                 DOUBLE PRECISION NOT NULL,
    lng                 DOUBLE PRECISION NOT NULL,
    timezone            TEXT NOT NULL,
    -- JSON {"mon": [["09:00", "21:00"]], …}; '{}' means always open.
    opening_hours       TEXT NOT NULL,
    -- JSON array of pickup, ship, returns.
    offers              TEXT NOT NULL,
    pickup_prep_minutes BIGINT NOT NULL,
    -- Higher is chosen first when distance does not decide (warehouses before stores).
    priority            BIGINT NOT NULL DEFAULT 0,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);

CREATE TABLE products (
    id             TEXT PRIMARY KEY,
    name_es        TEXT NOT NULL,
    name_en        TEXT NOT NULL,
    description_es TEXT NOT NULL DEFAULT '',
    description_en TEXT NOT NULL DEFAULT '',
    -- JSON array of category names.
    categories     TEXT NOT NULL DEFAULT '[]',
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

CREATE TABLE variants (
    sku        TEXT PRIMARY KEY,
    product_id TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    position   BIGINT NOT NULL,
    -- JSON {"color": "rojo", …}
    attributes TEXT NOT NULL DEFAULT '{}',
    -- JSON array of image URLs.
    images     TEXT NOT NULL DEFAULT '[]',
    -- JSON array of {"amount", "currency"}: one price per currency, the first the main.
    prices     TEXT NOT NULL
);
CREATE INDEX variants_by_product ON variants (product_id, position);

-- One SKU at one location. The checks are the last guard of what the planner promises.
CREATE TABLE inventory_levels (
    sku         TEXT NOT NULL REFERENCES variants (sku),
    location_id TEXT NOT NULL REFERENCES locations (id),
    on_hand     BIGINT NOT NULL CHECK (on_hand >= 0),
    reserved    BIGINT NOT NULL CHECK (reserved >= 0),
    safety      BIGINT NOT NULL DEFAULT 0 CHECK (safety >= 0),
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (sku, location_id),
    CHECK (reserved <= on_hand)
);
CREATE INDEX inventory_by_location ON inventory_levels (location_id, sku);

-- Every change to a level: a level is the sum of its movements.
CREATE TABLE inventory_movements (
    id              INTEGER PRIMARY KEY,
    sku             TEXT NOT NULL,
    location_id     TEXT NOT NULL,
    reason          TEXT NOT NULL,
    on_hand_change  BIGINT NOT NULL,
    reserved_change BIGINT NOT NULL,
    actor           TEXT NOT NULL,
    order_id        TEXT,
    note            TEXT NOT NULL DEFAULT '',
    at              BIGINT NOT NULL
);
CREATE INDEX movements_by_level ON inventory_movements (sku, location_id, id);

-- A customer's cart and wish list (`list`), one row per SKU.
CREATE TABLE cart_lines (
    profile_id TEXT NOT NULL,
    list       TEXT NOT NULL,
    sku        TEXT NOT NULL REFERENCES variants (sku),
    quantity   BIGINT NOT NULL CHECK (quantity > 0),
    added_at   BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (profile_id, list, sku)
);

-- `number` is what people read out at a desk: one more than the highest so far,
-- drawn under SQLite's single writer.
CREATE TABLE orders (
    id              TEXT PRIMARY KEY,
    number          BIGINT NOT NULL UNIQUE,
    profile_id      TEXT NOT NULL,
    channel         TEXT NOT NULL,
    actor           TEXT NOT NULL,
    staff           TEXT,
    status          TEXT NOT NULL,
    currency        TEXT NOT NULL,
    subtotal        BIGINT NOT NULL,
    discount        BIGINT NOT NULL,
    total           BIGINT NOT NULL,
    coupon_code     TEXT,
    -- JSON {"provider", "reference", "amount", "status"} or {"type": "pay_at_pickup"}.
    payment         TEXT,
    -- The caller's key and a digest of the request it came with, for safe retries.
    idempotency_key TEXT,
    request_digest  TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX orders_by_idempotency_key ON orders (idempotency_key);
CREATE INDEX orders_by_customer ON orders (profile_id, created_at DESC);

CREATE TABLE order_lines (
    order_id   TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_no    BIGINT NOT NULL,
    sku        TEXT NOT NULL,
    name       TEXT NOT NULL,
    quantity   BIGINT NOT NULL,
    unit_price BIGINT NOT NULL,
    PRIMARY KEY (order_id, line_no)
);

CREATE TABLE fulfillments (
    id           TEXT PRIMARY KEY,
    order_id     TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    location_id  TEXT REFERENCES locations (id),
    -- JSON of the address a shipment goes to.
    ship_address TEXT,
    status       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX fulfillments_by_order ON fulfillments (order_id);
CREATE INDEX fulfillments_by_location ON fulfillments (location_id, status);

-- Stock promised to a line at a location; `state` leaves `held` once (released or
-- sold), which is what makes a cancellation give stock back exactly once.
CREATE TABLE reservations (
    order_id       TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_no        BIGINT NOT NULL,
    fulfillment_id TEXT NOT NULL REFERENCES fulfillments (id) ON DELETE CASCADE,
    sku            TEXT NOT NULL,
    location_id    TEXT NOT NULL,
    quantity       BIGINT NOT NULL CHECK (quantity > 0),
    state          TEXT NOT NULL,
    PRIMARY KEY (order_id, line_no, location_id)
);
CREATE INDEX reservations_by_fulfillment ON reservations (fulfillment_id);

-- Every change of an order and its fulfilments: who, on which channel, what.
CREATE TABLE order_history (
    id             INTEGER PRIMARY KEY,
    order_id       TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    fulfillment_id TEXT,
    event          TEXT NOT NULL,
    actor          TEXT NOT NULL,
    channel        TEXT NOT NULL,
    detail         TEXT NOT NULL DEFAULT '{}',
    at             BIGINT NOT NULL
);
CREATE INDEX order_history_by_order ON order_history (order_id, id);

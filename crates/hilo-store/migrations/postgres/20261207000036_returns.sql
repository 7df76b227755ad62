-- Returns (commerce): started online (with a return code), or at any store's desk with
-- the order's number and the customer's email or phone. Each received item is restocked
-- at the receiving store or written off; a refund is recorded apart from the restock.
CREATE TABLE returns (
    id                TEXT PRIMARY KEY,
    order_id          TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    -- requested (waiting to be received) or received.
    status            TEXT NOT NULL,
    reason            TEXT NOT NULL DEFAULT '',
    channel           TEXT NOT NULL,
    actor             TEXT NOT NULL,
    -- As for pickup codes: the keyed digest and the seed, never the code.
    code_digest       TEXT,
    code_seed         TEXT,
    -- JSON of a courier collection asked for, so the customer need not visit a store.
    courier_pickup    TEXT,
    location_id       TEXT REFERENCES locations (id),
    -- JSON {"amount", "currency", "reference", "status"} as the payment provider reported.
    refund            TEXT,
    exchange_order_id TEXT,
    created_at        BIGINT NOT NULL,
    received_at       BIGINT,
    updated_at        BIGINT NOT NULL
);
CREATE UNIQUE INDEX returns_by_code ON returns (code_digest);
CREATE INDEX returns_by_order ON returns (order_id);

CREATE TABLE return_lines (
    return_id   TEXT NOT NULL REFERENCES returns (id) ON DELETE CASCADE,
    line_no     BIGINT NOT NULL,
    sku         TEXT NOT NULL,
    quantity    BIGINT NOT NULL CHECK (quantity > 0),
    -- restock or write_off, once received.
    disposition TEXT,
    PRIMARY KEY (return_id, line_no)
);

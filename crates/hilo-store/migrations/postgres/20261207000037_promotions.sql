-- Promotions and coupons (commerce): a shared code, or codes unique to one customer or
-- generated in bulk; each redemption is written with its order and reverted at most
-- once when the order is cancelled. `redemptions` counts those in force: it is raised
-- by a conditional update, so no limit is passed however many checkouts race.
CREATE TABLE promotions (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL DEFAULT '',
    -- A shared code anyone may use, upper-cased; NULL when only issued coupons apply.
    code               TEXT UNIQUE,
    kind               TEXT NOT NULL,
    value              BIGINT NOT NULL,
    currency           TEXT,
    min_spend          BIGINT,
    -- JSON arrays; empty: every SKU.
    skus               TEXT NOT NULL DEFAULT '[]',
    categories         TEXT NOT NULL DEFAULT '[]',
    new_customers_only BIGINT NOT NULL DEFAULT 0,
    max_redemptions    BIGINT,
    per_customer_limit BIGINT,
    redemptions        BIGINT NOT NULL DEFAULT 0 CHECK (redemptions >= 0),
    starts_at          BIGINT,
    ends_at            BIGINT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

-- A coupon: one code, used once; bound to a customer's profile when issued to them.
CREATE TABLE coupons (
    code         TEXT PRIMARY KEY,
    promotion_id TEXT NOT NULL REFERENCES promotions (id) ON DELETE CASCADE,
    profile_id   TEXT,
    redeemed_at  BIGINT,
    order_id     TEXT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX coupons_by_promotion ON coupons (promotion_id);
CREATE INDEX coupons_by_profile ON coupons (profile_id);

CREATE TABLE redemptions (
    order_id     TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    promotion_id TEXT NOT NULL REFERENCES promotions (id) ON DELETE CASCADE,
    coupon_code  TEXT,
    profile_id   TEXT NOT NULL,
    amount       BIGINT NOT NULL,
    at           BIGINT NOT NULL,
    reverted_at  BIGINT,
    PRIMARY KEY (order_id, promotion_id)
);
CREATE INDEX redemptions_by_promotion ON redemptions (promotion_id, profile_id);

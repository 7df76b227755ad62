//! Promotions, coupons and redemptions.

use hilo_domain::{CustomerId, OrderId, Timestamp};

use super::json;
use crate::sql::{tree, tree_items};
use crate::tx::{Tx, on_tx};
use crate::{Store, StoreResult, on_pool};

/// A stored promotion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromotionRecord {
    pub id: String,
    pub name: String,
    pub code: Option<String>,
    /// percent or fixed.
    pub kind: String,
    pub value: i64,
    pub currency: Option<String>,
    pub min_spend: Option<i64>,
    pub skus: Vec<String>,
    pub categories: Vec<String>,
    pub new_customers_only: bool,
    pub max_redemptions: Option<i64>,
    pub per_customer_limit: Option<i64>,
    /// Redemptions in force.
    pub redemptions: i64,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// A coupon code of a promotion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponRecord {
    pub code: String,
    pub promotion_id: String,
    /// The customer it was issued to.
    pub profile_id: Option<String>,
    pub redeemed_at: Option<Timestamp>,
    pub order_id: Option<String>,
    pub created_at: Timestamp,
}

pub(super) type PromotionRow = (
    String,
    String,
    Option<String>,
    String,
    i64,
    Option<String>,
    Option<i64>,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    i64,
    Option<i64>,
    Option<i64>,
    i64,
);
pub(super) type CouponRow = (
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    i64,
);

macro_rules! promotions {
    ($rest:literal) => {
        concat!(
            "SELECT id, name, code, kind, value, currency, min_spend, skus, categories, \
             new_customers_only, max_redemptions, per_customer_limit, redemptions, starts_at, \
             ends_at, created_at FROM promotions ",
            $rest
        )
    };
}

macro_rules! coupons {
    ($rest:literal) => {
        concat!(
            "SELECT code, promotion_id, profile_id, redeemed_at, order_id, created_at FROM coupons ",
            $rest
        )
    };
}

pub(super) fn promotion(row: PromotionRow) -> StoreResult<PromotionRecord> {
    let (
        id,
        name,
        code,
        kind,
        value,
        currency,
        min_spend,
        skus,
        categories,
        new_only,
        max,
        per,
        redemptions,
        starts,
        ends,
        created,
    ) = row;
    Ok(PromotionRecord {
        id,
        name,
        code,
        kind,
        value,
        currency,
        min_spend,
        skus: json("promotion skus", &skus)?,
        categories: json("promotion categories", &categories)?,
        new_customers_only: new_only != 0,
        max_redemptions: max,
        per_customer_limit: per,
        redemptions,
        starts_at: starts.map(Timestamp::from_millis),
        ends_at: ends.map(Timestamp::from_millis),
        created_at: Timestamp::from_millis(created),
    })
}

pub(super) const COUPON_BY_CODE: &str = coupons!("WHERE code = $1");
pub(super) const PROMOTION_BY_ID: &str = promotions!("WHERE id = $1");
pub(super) const PROMOTION_BY_CODE: &str = promotions!("WHERE code = $1");
/// One more redemption, if the promotion's total limit allows.
pub(super) const TAKE_REDEMPTION: &str = "UPDATE promotions SET redemptions = redemptions + 1, \
    updated_at = $2 WHERE id = $1 AND (max_redemptions IS NULL OR redemptions < max_redemptions)";
/// Redemptions in force of promotion `$2` by the live customer `$1`.
pub(super) const CUSTOMER_REDEMPTIONS: &str = tree!(
    "SELECT COUNT(*) FROM redemptions WHERE promotion_id = $2 \
     AND profile_id IN (SELECT id FROM tree) AND reverted_at IS NULL"
);
pub(super) const USE_COUPON: &str = "UPDATE coupons SET redeemed_at = $3, order_id = $2 \
    WHERE code = $1 AND redeemed_at IS NULL";
pub(super) const INSERT_REDEMPTION: &str = "INSERT INTO redemptions (order_id, promotion_id, \
    coupon_code, profile_id, amount, at) VALUES ($1, $2, $3, $4, $5, $6)";
/// Orders of the live customer `$1` other than `$2`.
pub(super) const ORDERS_BEFORE: &str =
    tree!("SELECT COUNT(*) FROM orders WHERE profile_id IN (SELECT id FROM tree) AND id <> $2");
/// `Order Completed` events on the live customer `$1`'s timeline, on SQLite.
pub(super) const SQLITE_ORDER_EVENTS: &str = tree_items!(
    "SELECT COUNT(*) FROM timeline l WHERE l.seq IN (SELECT seq FROM items) \
     AND l.name = 'Order Completed'"
);

pub(super) fn coupon(row: CouponRow) -> CouponRecord {
    let (code, promotion_id, profile_id, redeemed, order_id, created) = row;
    CouponRecord {
        code,
        promotion_id,
        profile_id,
        redeemed_at: redeemed.map(Timestamp::from_millis),
        order_id,
        created_at: Timestamp::from_millis(created),
    }
}

fn text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

impl Store {
    /// Stores a promotion; a shared code already taken is a conflict.
    pub async fn insert_promotion(&self, p: &PromotionRecord) -> StoreResult<()> {
        on_pool!(self, |pool| sqlx::query(
            "INSERT INTO promotions (id, name, code, kind, value, currency, min_spend, skus, \
             categories, new_customers_only, max_redemptions, per_customer_limit, redemptions, \
             starts_at, ends_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, $13, $14, $15, $15)"
        )
        .bind(&p.id)
        .bind(&p.name)
        .bind(&p.code)
        .bind(&p.kind)
        .bind(p.value)
        .bind(&p.currency)
        .bind(p.min_spend)
        .bind(text(&p.skus))
        .bind(text(&p.categories))
        .bind(i64::from(p.new_customers_only))
        .bind(p.max_redemptions)
        .bind(p.per_customer_limit)
        .bind(p.starts_at.map(Timestamp::millis))
        .bind(p.ends_at.map(Timestamp::millis))
        .bind(p.created_at.millis())
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    pub async fn promotion(&self, id: &str) -> StoreResult<Option<PromotionRecord>> {
        let row = on_pool!(self, |pool| sqlx::query_as::<_, PromotionRow>(promotions!(
            "WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(pool)
        .await?);
        row.map(promotion).transpose()
    }

    /// Promotions, newest first.
    pub async fn promotions(&self) -> StoreResult<Vec<PromotionRecord>> {
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, PromotionRow>(promotions!(
            "ORDER BY created_at DESC, id DESC LIMIT 500"
        ))
        .fetch_all(pool)
        .await?);
        rows.into_iter().map(promotion).collect()
    }

    /// Stores coupon codes of a promotion, bound to `profile` when given; a code already
    /// taken is a conflict and nothing is stored.
    pub async fn insert_coupons(
        &self,
        promotion: &str,
        codes: &[String],
        profile: Option<CustomerId>,
        at: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        for code in codes {
            on_tx!(&mut tx, |conn| sqlx::query(
                "INSERT INTO coupons (code, promotion_id, profile_id, created_at) \
                 VALUES ($1, $2, $3, $4)"
            )
            .bind(code)
            .bind(promotion)
            .bind(profile.map(|p| p.to_string()))
            .bind(at.millis())
            .execute(conn)
            .await?
            .rows_affected());
        }
        tx.commit().await?;
        Ok(())
    }

    /// The coupons issued to the live customer `root`, newest first.
    pub async fn coupons_of(&self, root: CustomerId) -> StoreResult<Vec<CouponRecord>> {
        const SQL: &str = tree!(
            "SELECT code, promotion_id, profile_id, redeemed_at, order_id, created_at FROM coupons \
             WHERE profile_id IN (SELECT id FROM tree) ORDER BY created_at DESC, code"
        );
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, CouponRow>(SQL)
            .bind(root.to_string())
            .fetch_all(pool)
            .await?);
        Ok(rows.into_iter().map(coupon).collect())
    }
}

impl Tx {
    /// The promotion a code names (a coupon's, or a shared code), with the coupon.
    pub async fn promotion_for_code(
        &mut self,
        code: &str,
    ) -> StoreResult<Option<(PromotionRecord, Option<CouponRecord>)>> {
        let found = on_tx!(self, |conn| sqlx::query_as::<_, CouponRow>(COUPON_BY_CODE)
            .bind(code)
            .fetch_optional(conn)
            .await?);
        if let Some(row) = found {
            let coupon = coupon(row);
            let row = on_tx!(self, |conn| sqlx::query_as::<_, PromotionRow>(
                PROMOTION_BY_ID
            )
            .bind(&coupon.promotion_id)
            .fetch_optional(conn)
            .await?);
            return Ok(row.map(promotion).transpose()?.map(|p| (p, Some(coupon))));
        }
        let row = on_tx!(self, |conn| sqlx::query_as::<_, PromotionRow>(
            PROMOTION_BY_CODE
        )
        .bind(code)
        .fetch_optional(conn)
        .await?);
        Ok(row.map(promotion).transpose()?.map(|p| (p, None)))
    }

    /// Counts one more redemption of a promotion if its total limit allows, in one
    /// statement; the row stays locked until the transaction ends (on PostgreSQL), so the
    /// customer's own count read next cannot race. `false` when the limit is reached.
    pub async fn take_redemption(&mut self, promotion: &str, at: Timestamp) -> StoreResult<bool> {
        let done = on_tx!(self, |conn| sqlx::query(TAKE_REDEMPTION)
            .bind(promotion)
            .bind(at.millis())
            .execute(conn)
            .await?
            .rows_affected());
        Ok(done == 1)
    }

    /// Redemptions of a promotion in force by the live customer `root`.
    pub async fn customer_redemptions(
        &mut self,
        promotion: &str,
        root: CustomerId,
    ) -> StoreResult<i64> {
        Ok(on_tx!(self, |conn| sqlx::query_scalar::<_, i64>(
            CUSTOMER_REDEMPTIONS
        )
        .bind(root.to_string())
        .bind(promotion)
        .fetch_one(conn)
        .await?))
    }

    /// Uses a single-use coupon for an order; `false` when it was used already.
    pub async fn use_coupon(
        &mut self,
        code: &str,
        order: OrderId,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let done = on_tx!(self, |conn| sqlx::query(USE_COUPON)
            .bind(code)
            .bind(order.to_string())
            .bind(at.millis())
            .execute(conn)
            .await?
            .rows_affected());
        Ok(done == 1)
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_redemption(
        &mut self,
        order: OrderId,
        promotion: &str,
        coupon: Option<&str>,
        profile: CustomerId,
        amount: i64,
        at: Timestamp,
    ) -> StoreResult<()> {
        on_tx!(self, |conn| sqlx::query(INSERT_REDEMPTION)
            .bind(order.to_string())
            .bind(promotion)
            .bind(coupon)
            .bind(profile.to_string())
            .bind(amount)
            .bind(at.millis())
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Reverts an order's redemptions still in force, each once however many
    /// cancellations race: the promotion's count goes down and a coupon may be used again.
    /// Returns how many were reverted.
    pub async fn revert_redemptions(
        &mut self,
        order: OrderId,
        at: Timestamp,
    ) -> StoreResult<usize> {
        let reverted = on_tx!(self, |conn| {
            sqlx::query_as::<_, (String, Option<String>)>(
            "UPDATE redemptions SET reverted_at = $2 WHERE order_id = $1 AND reverted_at IS NULL \
             RETURNING promotion_id, coupon_code"
        )
        .bind(order.to_string())
        .bind(at.millis())
        .fetch_all(conn)
        .await?
        });
        for (promotion, coupon) in &reverted {
            on_tx!(self, |conn| sqlx::query(
                "UPDATE promotions SET redemptions = redemptions - 1, updated_at = $2 WHERE id = $1"
            )
            .bind(promotion)
            .bind(at.millis())
            .execute(conn)
            .await?
            .rows_affected());
            if let Some(code) = coupon {
                on_tx!(self, |conn| sqlx::query(
                    "UPDATE coupons SET redeemed_at = NULL, order_id = NULL WHERE code = $1"
                )
                .bind(code)
                .execute(conn)
                .await?
                .rows_affected());
            }
        }
        Ok(reverted.len())
    }

    /// The promotion an order's redemption in force belongs to.
    pub async fn redemption_of(&mut self, order: OrderId) -> StoreResult<Option<PromotionRecord>> {
        let id = on_tx!(self, |conn| sqlx::query_scalar::<_, String>(
            "SELECT promotion_id FROM redemptions WHERE order_id = $1 AND reverted_at IS NULL"
        )
        .bind(order.to_string())
        .fetch_optional(conn)
        .await?);
        let Some(id) = id else { return Ok(None) };
        let row = on_tx!(self, |conn| sqlx::query_as::<_, PromotionRow>(promotions!(
            "WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(conn)
        .await?);
        row.map(promotion).transpose()
    }

    /// Whether the live customer `root` has ever ordered, on any channel: an order
    /// placed here (other than `except`, the one being placed), or one a shop reported
    /// as an `Order Completed` event.
    pub async fn has_ordered(&mut self, root: CustomerId, except: OrderId) -> StoreResult<bool> {
        const POSTGRES_EVENTS: &str = tree!(
            "SELECT COUNT(*) FROM timeline WHERE profile_id IN (SELECT id FROM tree) \
             AND name = 'Order Completed'"
        );
        let orders = on_tx!(self, |conn| sqlx::query_scalar::<_, i64>(ORDERS_BEFORE)
            .bind(root.to_string())
            .bind(except.to_string())
            .fetch_one(conn)
            .await?);
        if orders > 0 {
            return Ok(true);
        }
        let events = match self {
            Tx::Sqlite(..) => SQLITE_ORDER_EVENTS,
            Tx::Postgres(_) => POSTGRES_EVENTS,
        };
        let events = on_tx!(self, |conn| sqlx::query_scalar::<_, i64>(events)
            .bind(root.to_string())
            .fetch_one(conn)
            .await?);
        Ok(events > 0)
    }
}

//! What placing an order does inside its transaction, on either kind of transaction: a
//! pooled [`Tx`] (PostgreSQL, and changes made through the pool on SQLite) or the
//! embedded order writer's [`super::embedded::EmbeddedOrderTx`]. The use case is
//! written once, against this trait.

use std::future::Future;

use hilo_domain::commerce::inventory::Level;
use hilo_domain::{CustomerId, LocationId, OrderId, Timestamp};

use super::placing::{OrderCustomer, PlacedTrail, StockTake};
use super::{
    CouponRecord, FulfillmentRecord, LevelRecord, NewMovement, NewOrder, OrderLineRecord,
    PromotionRecord, ReservationRecord, VariantRecord,
};
use crate::StoreResult;
use crate::tx::Tx;

/// The transaction operations of placing an order.
pub trait OrderTx: Send {
    /// The live profile an order is for (`None`: nobody) and the variants of its SKUs
    /// that exist.
    fn customer_and_variants(
        &mut self,
        customer: OrderCustomer<'_>,
        skus: &[String],
    ) -> impl Future<Output = StoreResult<(Option<CustomerId>, Vec<VariantRecord>)>> + Send;
    /// Stores an order's header with the next order number, which it returns, and its
    /// lines.
    fn insert_order_with_lines(
        &mut self,
        o: &NewOrder<'_>,
        lines: &[OrderLineRecord],
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// The levels of these SKUs at every location, as this transaction sees them.
    fn levels_of(
        &mut self,
        skus: &[String],
    ) -> impl Future<Output = StoreResult<Vec<LevelRecord>>> + Send;
    /// The levels of these SKUs at one location, as this transaction sees them, locked
    /// until it ends.
    fn levels_at(
        &mut self,
        skus: &[String],
        location: LocationId,
    ) -> impl Future<Output = StoreResult<Vec<LevelRecord>>> + Send;
    /// One level, locked until the transaction ends; zero when never stocked there.
    fn lock_level(
        &mut self,
        sku: &str,
        location: LocationId,
    ) -> impl Future<Output = StoreResult<Level>> + Send;
    fn insert_fulfillment(
        &mut self,
        f: &FulfillmentRecord,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Takes the stock of an order's plan; `Some(i)` names the first reservation whose
    /// level could not promise its units (nothing written is to be kept then).
    fn take_stock(
        &mut self,
        take: &StockTake<'_>,
    ) -> impl Future<Output = StoreResult<Option<usize>>> + Send;
    /// Applies a planned movement to its level and records it.
    fn apply_movement(
        &mut self,
        m: &NewMovement<'_>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn insert_reservation(
        &mut self,
        r: &ReservationRecord,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn set_order_totals(
        &mut self,
        id: OrderId,
        discount: i64,
        total: i64,
        coupon_code: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn clear_cart(
        &mut self,
        root: CustomerId,
        list: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Records what placing an order leaves: its history's entry, the timeline item and
    /// the change.
    fn record_placed(
        &mut self,
        p: &PlacedTrail<'_>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The live profile a fragment belongs to.
    fn root_of(
        &mut self,
        fragment: CustomerId,
    ) -> impl Future<Output = StoreResult<CustomerId>> + Send;
    /// The promotion a code names (a coupon's, or a shared code), with the coupon.
    fn promotion_for_code(
        &mut self,
        code: &str,
    ) -> impl Future<Output = StoreResult<Option<(PromotionRecord, Option<CouponRecord>)>>> + Send;
    /// Whether the live customer has ordered before, on any channel.
    fn has_ordered(
        &mut self,
        root: CustomerId,
        except: OrderId,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// One more redemption if the promotion's total limit allows; `false` when not.
    fn take_redemption(
        &mut self,
        promotion: &str,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    fn customer_redemptions(
        &mut self,
        promotion: &str,
        root: CustomerId,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Uses a single-use coupon; `false` when it was used already.
    fn use_coupon(
        &mut self,
        code: &str,
        order: OrderId,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    #[allow(clippy::too_many_arguments)]
    fn insert_redemption(
        &mut self,
        order: OrderId,
        promotion: &str,
        coupon: Option<&str>,
        profile: CustomerId,
        amount: i64,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

impl OrderTx for Tx {
    async fn customer_and_variants(
        &mut self,
        customer: OrderCustomer<'_>,
        skus: &[String],
    ) -> StoreResult<(Option<CustomerId>, Vec<VariantRecord>)> {
        Tx::customer_and_variants(self, customer, skus).await
    }
    async fn insert_order_with_lines(
        &mut self,
        o: &NewOrder<'_>,
        lines: &[OrderLineRecord],
    ) -> StoreResult<i64> {
        Tx::insert_order_with_lines(self, o, lines).await
    }
    async fn levels_of(&mut self, skus: &[String]) -> StoreResult<Vec<LevelRecord>> {
        Tx::levels_of(self, skus).await
    }
    async fn levels_at(
        &mut self,
        skus: &[String],
        location: LocationId,
    ) -> StoreResult<Vec<LevelRecord>> {
        Tx::levels_at(self, skus, location).await
    }
    async fn lock_level(&mut self, sku: &str, location: LocationId) -> StoreResult<Level> {
        Tx::lock_level(self, sku, location).await
    }
    async fn insert_fulfillment(&mut self, f: &FulfillmentRecord) -> StoreResult<()> {
        Tx::insert_fulfillment(self, f).await
    }
    async fn take_stock(&mut self, take: &StockTake<'_>) -> StoreResult<Option<usize>> {
        Tx::take_stock(self, take).await
    }
    async fn apply_movement(&mut self, m: &NewMovement<'_>) -> StoreResult<()> {
        Tx::apply_movement(self, m).await
    }
    async fn insert_reservation(&mut self, r: &ReservationRecord) -> StoreResult<()> {
        Tx::insert_reservation(self, r).await
    }
    async fn set_order_totals(
        &mut self,
        id: OrderId,
        discount: i64,
        total: i64,
        coupon_code: &str,
    ) -> StoreResult<()> {
        Tx::set_order_totals(self, id, discount, total, coupon_code).await
    }
    async fn clear_cart(&mut self, root: CustomerId, list: &str) -> StoreResult<()> {
        Tx::clear_cart(self, root, list).await
    }
    async fn record_placed(&mut self, p: &PlacedTrail<'_>) -> StoreResult<()> {
        Tx::record_placed(self, p).await
    }
    async fn root_of(&mut self, fragment: CustomerId) -> StoreResult<CustomerId> {
        Tx::root_of(self, fragment).await
    }
    async fn promotion_for_code(
        &mut self,
        code: &str,
    ) -> StoreResult<Option<(PromotionRecord, Option<CouponRecord>)>> {
        Tx::promotion_for_code(self, code).await
    }
    async fn has_ordered(&mut self, root: CustomerId, except: OrderId) -> StoreResult<bool> {
        Tx::has_ordered(self, root, except).await
    }
    async fn take_redemption(&mut self, promotion: &str, at: Timestamp) -> StoreResult<bool> {
        Tx::take_redemption(self, promotion, at).await
    }
    async fn customer_redemptions(
        &mut self,
        promotion: &str,
        root: CustomerId,
    ) -> StoreResult<i64> {
        Tx::customer_redemptions(self, promotion, root).await
    }
    async fn use_coupon(&mut self, code: &str, order: OrderId, at: Timestamp) -> StoreResult<bool> {
        Tx::use_coupon(self, code, order, at).await
    }
    async fn insert_redemption(
        &mut self,
        order: OrderId,
        promotion: &str,
        coupon: Option<&str>,
        profile: CustomerId,
        amount: i64,
        at: Timestamp,
    ) -> StoreResult<()> {
        Tx::insert_redemption(self, order, promotion, coupon, profile, amount, at).await
    }
}

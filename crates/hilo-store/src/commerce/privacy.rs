//! Erasure reaches commerce: the person's cart and wish list and unused coupons go; their
//! orders stay as the business's records of sales (amounts, SKUs, stock movements) with
//! what is personal in them removed: shipping addresses, who collected for them, courier
//! collections, and the free text of their history and returns.

use hilo_domain::CustomerId;

use crate::StoreResult;
use crate::tx::{Tx, on_tx};

/// What erasure did to commerce.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErasedCommerce {
    pub cart_lines: u64,
    /// Orders kept with their personal data removed.
    pub orders: u64,
}

impl Tx {
    pub async fn erase_commerce(
        &mut self,
        fragments: &[CustomerId],
    ) -> StoreResult<ErasedCommerce> {
        const OF_ORDERS: [&str; 4] = [
            "UPDATE fulfillments SET ship_address = NULL, collected_by = NULL \
             WHERE order_id IN (SELECT id FROM orders WHERE profile_id = $1)",
            "UPDATE returns SET courier_pickup = NULL, reason = '' \
             WHERE order_id IN (SELECT id FROM orders WHERE profile_id = $1)",
            "UPDATE order_history SET detail = '{}' \
             WHERE order_id IN (SELECT id FROM orders WHERE profile_id = $1)",
            // A coupon only they could use goes; a used one stays, bound to nobody.
            "DELETE FROM coupons WHERE profile_id = $1 AND redeemed_at IS NULL",
        ];
        let mut erased = ErasedCommerce::default();
        for fragment in fragments {
            let id = fragment.to_string();
            for sql in OF_ORDERS
                .into_iter()
                .chain(["UPDATE coupons SET profile_id = NULL WHERE profile_id = $1"])
            {
                on_tx!(self, |conn| sqlx::query(sql)
                    .bind(&id)
                    .execute(conn)
                    .await?
                    .rows_affected());
            }
            erased.cart_lines += on_tx!(self, |conn| sqlx::query(
                "DELETE FROM cart_lines WHERE profile_id = $1"
            )
            .bind(&id)
            .execute(conn)
            .await?
            .rows_affected());
            erased.orders += on_tx!(self, |conn| sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM orders WHERE profile_id = $1"
            )
            .bind(&id)
            .fetch_one(conn)
            .await?)
            .unsigned_abs();
        }
        Ok(erased)
    }
}

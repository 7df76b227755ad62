//! Carts and wish lists: one row per SKU on a profile fragment; a customer's list is
//! every row of their fragments, so two profiles' carts join when they merge.

use std::collections::BTreeMap;

use hilo_domain::{CustomerId, Timestamp};

use crate::sql::tree;
use crate::tx::{Tx, on_tx};
use crate::{Store, StoreResult};

/// A SKU on a customer's cart or wish list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLine {
    pub sku: String,
    pub quantity: i64,
    pub added_at: Timestamp,
    pub updated_at: Timestamp,
}

const LINES: &str = tree!(
    "SELECT sku, quantity, added_at, updated_at FROM cart_lines \
     WHERE profile_id IN (SELECT id FROM tree) AND list = $2 ORDER BY added_at, sku"
);

/// Empties the live customer `$1`'s list `$2`.
pub(super) const CLEAR_CART: &str =
    tree!("DELETE FROM cart_lines WHERE profile_id IN (SELECT id FROM tree) AND list = $2");

impl Store {
    /// The live customer `root`'s list (`cart` or `wishlist`).
    pub async fn cart_lines(&self, root: CustomerId, list: &str) -> StoreResult<Vec<CartLine>> {
        let mut tx = self.begin_read().await?;
        tx.cart_lines(root, list).await
    }
}

impl Tx {
    /// The live customer `root`'s list, a SKU held on two merged fragments counted once
    /// with both quantities.
    pub async fn cart_lines(&mut self, root: CustomerId, list: &str) -> StoreResult<Vec<CartLine>> {
        let rows = on_tx!(self, |conn| sqlx::query_as::<_, (String, i64, i64, i64)>(
            LINES
        )
        .bind(root.to_string())
        .bind(list)
        .fetch_all(conn)
        .await?);
        let mut by_sku: BTreeMap<String, CartLine> = BTreeMap::new();
        let mut order = Vec::new();
        for (sku, quantity, added, updated) in rows {
            match by_sku.get_mut(&sku) {
                Some(line) => {
                    line.quantity += quantity;
                    line.updated_at = line.updated_at.max(Timestamp::from_millis(updated));
                }
                None => {
                    order.push(sku.clone());
                    by_sku.insert(
                        sku.clone(),
                        CartLine {
                            sku,
                            quantity,
                            added_at: Timestamp::from_millis(added),
                            updated_at: Timestamp::from_millis(updated),
                        },
                    );
                }
            }
        }
        Ok(order
            .into_iter()
            .filter_map(|sku| by_sku.remove(&sku))
            .collect())
    }

    /// Sets how many of `sku` the list holds (none removes it), as one row on `root`.
    pub async fn set_cart_line(
        &mut self,
        root: CustomerId,
        list: &str,
        sku: &str,
        quantity: i64,
        added_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<()> {
        const CLEAR: &str = tree!(
            "DELETE FROM cart_lines WHERE profile_id IN (SELECT id FROM tree) \
             AND list = $2 AND sku = $3"
        );
        on_tx!(self, |conn| sqlx::query(CLEAR)
            .bind(root.to_string())
            .bind(list)
            .bind(sku)
            .execute(conn)
            .await?
            .rows_affected());
        if quantity > 0 {
            on_tx!(self, |conn| sqlx::query(
                "INSERT INTO cart_lines (profile_id, list, sku, quantity, added_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)"
            )
            .bind(root.to_string())
            .bind(list)
            .bind(sku)
            .bind(quantity)
            .bind(added_at.millis())
            .bind(now.millis())
            .execute(conn)
            .await?
            .rows_affected());
        }
        Ok(())
    }

    /// Empties the list.
    pub async fn clear_cart(&mut self, root: CustomerId, list: &str) -> StoreResult<()> {
        on_tx!(self, |conn| sqlx::query(CLEAR_CART)
            .bind(root.to_string())
            .bind(list)
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }
}

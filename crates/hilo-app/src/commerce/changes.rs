//! Changing an order from any channel (S7): its lines, or the store it is collected at,
//! while nothing of it is being prepared yet. The old fulfilments are cancelled and their
//! stock given back, the new lines' stock taken (at the new store: re-checked there), in
//! one transaction; a coupon's discount is worked out again for the new lines.

use hilo_domain::commerce::order::{FulfillmentKind, FulfillmentStatus};
use hilo_domain::{Invalid, LocationId, OrderId, Principal};
use hilo_store::commerce::{OrderLineRecord, OrderRecord};
use serde_json::json;
use tracing::info;

use super::Commerce;
use super::orders::{
    FulfillmentRequest, LineRequest, OrderView, ShipAddress, channel_name, check_lines,
    price_lines, release, settle_order,
};
use super::promotions::rules_of;
use super::reserve::{self, Route};
use crate::{AppError, AppResult};

/// What a change asks for.
#[derive(Debug, Clone)]
pub struct OrderChange {
    /// The order's new lines, whole.
    pub lines: Option<Vec<LineRequest>>,
    /// Another store to collect at (pickups and reservations).
    pub pickup_location: Option<LocationId>,
    pub channel: String,
}

/// Whether every live fulfilment is still only promised (not picked, ready or gone).
fn changeable(order: &OrderRecord) -> AppResult<FulfillmentKind> {
    let live: Vec<_> = order
        .fulfillments
        .iter()
        .filter(|f| f.status != FulfillmentStatus::Cancelled.as_str())
        .collect();
    let Some(first) = live.first() else {
        return Err(AppError::Conflict(format!(
            "order {} is cancelled",
            order.number
        )));
    };
    if let Some(busy) = live.iter().find(|f| {
        f.status != FulfillmentStatus::Allocated.as_str()
            && f.status != FulfillmentStatus::Placed.as_str()
    }) {
        return Err(AppError::Conflict(format!(
            "order {} is {} already: cancel it instead",
            order.number, busy.status
        )));
    }
    first
        .kind
        .parse()
        .map_err(|_| AppError::Internal("a stored fulfilment kind".into()))
}

impl Commerce<'_> {
    pub async fn change_order(
        &self,
        id: OrderId,
        change: OrderChange,
        by: &Principal,
    ) -> AppResult<OrderView> {
        let channel = channel_name(&change.channel)?;
        if change.lines.is_none() && change.pickup_location.is_none() {
            // Nothing asked: the order as it is.
            return self.order(id).await;
        }
        let before = self.hilo.store.order(id).await?.ok_or(AppError::NotFound)?;
        let kind = changeable(&before)?;
        let current = before
            .fulfillments
            .iter()
            .find(|f| f.status != FulfillmentStatus::Cancelled.as_str())
            .cloned()
            .ok_or(AppError::NotFound)?;
        let request = match (kind, change.pickup_location) {
            (FulfillmentKind::Pickup, Some(l)) => FulfillmentRequest::Pickup(l),
            (FulfillmentKind::Reserve, Some(l)) => FulfillmentRequest::Reserve(l),
            (_, Some(_)) => {
                return Err(Invalid::new(
                    "pickup_location_id",
                    "only a pickup or a reservation is collected at a store",
                )
                .into());
            }
            (FulfillmentKind::Ship, None) => {
                let address: ShipAddress = current
                    .ship_address
                    .as_deref()
                    .and_then(|a| serde_json::from_str(a).ok())
                    .ok_or_else(|| AppError::Internal("a shipment without its address".into()))?;
                FulfillmentRequest::Ship {
                    address: Box::new(address),
                    from: None,
                }
            }
            (kind, None) => {
                let location = current.location_id.ok_or_else(|| {
                    AppError::Internal("a fulfilment without its location".into())
                })?;
                match kind {
                    FulfillmentKind::Reserve => FulfillmentRequest::Reserve(location),
                    _ => FulfillmentRequest::Pickup(location),
                }
            }
        };
        let lines = match change.lines {
            Some(lines) => lines,
            None => before
                .lines
                .iter()
                .map(|l| LineRequest {
                    sku: l.sku.clone(),
                    quantity: l.quantity,
                })
                .collect(),
        };
        check_lines("lines", &lines)?;
        let skus: Vec<String> = lines.iter().map(|l| l.sku.clone()).collect();
        let variants = self.hilo.store.variants(&skus).await?;
        let currency = before
            .currency
            .parse()
            .map_err(|_| AppError::Internal("an order's currency".into()))?;
        let priced = price_lines(&lines, &variants, Some(currency))?;
        let (kind, candidates, split, ship_address) = self.candidates(&request).await?;
        let route = Route {
            kind,
            candidates,
            split,
            ship_address,
        };
        let actor = by.actor();
        let now = self.hilo.now();
        let mut tx = self.hilo.store.begin().await?;
        tx.lock_order(id).await?;
        let order = tx.order(id).await?.ok_or(AppError::NotFound)?;
        changeable(&order)?;
        let mut dropped = Vec::new();
        for f in &order.fulfillments {
            if f.status != FulfillmentStatus::Cancelled.as_str()
                && tx
                    .move_fulfillment(f.id, &["placed", "allocated"], "cancelled", now)
                    .await?
            {
                release(&mut tx, f.id, &actor, id, now).await?;
                dropped.push(f.id.to_string());
            }
        }
        tx.delete_order_lines(id).await?;
        // New lines take new numbers: the old reservations keep theirs.
        let first = order
            .reservations
            .iter()
            .map(|r| r.line_no + 1)
            .chain(order.lines.iter().map(|l| l.line_no + 1))
            .max()
            .unwrap_or(0);
        for (index, (line, name, price)) in priced.lines.iter().enumerate() {
            tx.insert_order_line(
                id,
                &OrderLineRecord {
                    line_no: first + index as i64,
                    sku: line.sku.clone(),
                    name: name.clone(),
                    quantity: line.quantity,
                    unit_price: price.amount,
                },
            )
            .await?;
        }
        let wanted: Vec<(String, i64)> =
            lines.iter().map(|l| (l.sku.clone(), l.quantity)).collect();
        let added = reserve::reserve(&mut tx, id, &wanted, &route, first, &actor, now).await?;
        let subtotal = priced.total;
        let mut discount = 0;
        if let Some(promotion) = tx.redemption_of(id).await? {
            let rules = rules_of(&promotion)?;
            let promo_lines = priced.promotion_lines(&variants);
            // Admitted when it was placed; only what it takes off is worked out again.
            discount = rules
                .discount(&promo_lines, currency, order.created_at, false)
                .map_err(|r| AppError::Conflict(format!("coupon_code: for the new lines, {r}")))?
                .amount;
        }
        tx.set_order_amounts(id, subtotal.amount, discount, subtotal.amount - discount)
            .await?;
        let detail = json!({"cancelled": dropped,
            "fulfillments": added.by_location.values().map(ToString::to_string).collect::<Vec<_>>(),
            "lines": wanted.iter().map(|(sku, q)| json!({"sku": sku, "quantity": q})).collect::<Vec<_>>()});
        tx.record_order_history(
            id,
            None,
            "changed",
            &actor,
            channel,
            &detail.to_string(),
            now,
        )
        .await?;
        settle_order(
            &mut tx,
            &order,
            channel,
            json!({"changed": ["lines", "fulfillments"]}),
            now,
        )
        .await?;
        tx.commit().await?;
        self.hilo.feed_signal.notify_waiters();
        info!(order = %id, channel, "order changed");
        self.order(id).await
    }
}

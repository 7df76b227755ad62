//! Commerce's use cases: locations and the catalogue, one inventory, carts and wish
//! lists that follow the customer, and orders from any channel.

mod carts;
mod catalogue;
mod changes;
mod demo;
mod inventory;
mod locations;
mod notices;
mod orders;
mod pickups;
mod promotions;
mod reserve;
mod returns;
mod staff;

use hilo_domain::customers::identity::{Identifier, IdentifierType};
use hilo_domain::{CustomerId, Invalid, Principal};
use serde_json::Map;

pub use carts::{CartView, LineChange, ListKind};
pub use catalogue::ProductInput;
pub use changes::OrderChange;
pub use inventory::{Availability, StockChange};
pub(crate) use locations::LocationCache;
pub use orders::{FulfillmentRequest, LineRequest, OrderRequest, OrderView, Placed, ShipAddress};
pub use pickups::{PickupCode, QR_PREFIX, Step};
pub use promotions::PromotionInput;
pub use returns::{Exchange, Receipt, ReturnRequest, ReturnView, ReturnedBy};
pub use staff::parse_member;

use crate::{AppError, AppResult, Hilo};

/// Commerce's use cases.
pub struct Commerce<'a> {
    hilo: &'a Hilo,
}

impl Hilo {
    pub fn commerce(&self) -> Commerce<'_> {
        Commerce { hilo: self }
    }
}

/// Who a cart or an order is for: a customer's id, or any identifier of theirs
/// (`email:ana@example.com`, `anonymous_id:…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerRef {
    Id(CustomerId),
    Identifier(Identifier),
}

impl Commerce<'_> {
    /// Reads a reference as the API takes it: an id, or `type:value`.
    pub fn customer_ref(&self, text: &str) -> Result<CustomerRef, Invalid> {
        if let Ok(id) = text.parse::<CustomerId>() {
            return Ok(CustomerRef::Id(id));
        }
        let Some((kind, value)) = text.split_once(':') else {
            return Err(Invalid::new(
                "customer",
                "is a customer id or an identifier written type:value (email:ana@example.com)",
            ));
        };
        let kind: IdentifierType = kind.parse().map_err(|e: Invalid| e.in_field("customer"))?;
        let identifier = Identifier::normalize(kind, value, &self.hilo.settings.default_region)
            .map_err(|e| e.in_field("customer"))?;
        Ok(CustomerRef::Identifier(identifier))
    }

    /// The live customer a reference names; `None` for an identifier nobody holds yet.
    pub async fn find_customer(&self, who: &CustomerRef) -> AppResult<Option<CustomerId>> {
        match who {
            CustomerRef::Id(id) => match self.hilo.store.customer_root(*id).await? {
                Some(root) => Ok(Some(root)),
                None => Err(AppError::NotFound),
            },
            CustomerRef::Identifier(identifier) => {
                Ok(self.hilo.store.customer_by_identifier(identifier).await?)
            }
        }
    }

    /// The live customer a reference names, registered from the identifier when nobody
    /// holds it yet (a visitor's first cart line), as staff registration would.
    pub async fn customer_for_writing(
        &self,
        who: &CustomerRef,
        channel: &str,
        by: &Principal,
    ) -> AppResult<CustomerId> {
        if let Some(root) = self.find_customer(who).await? {
            return Ok(root);
        }
        let CustomerRef::Identifier(identifier) = who else {
            return Err(AppError::NotFound);
        };
        let channel = if channel.parse::<hilo_domain::SourceChannel>().is_ok() {
            channel
        } else {
            "server"
        };
        let (view, _) = self
            .hilo
            .customers()
            .register(
                &[(
                    identifier.kind.as_str().to_owned(),
                    identifier.value.clone(),
                )],
                &Map::new(),
                channel,
                by,
            )
            .await?;
        Ok(view.id)
    }
}

impl Commerce<'_> {
    /// Everything commerce keeps about a customer, for a data export: orders (with
    /// their lines, fulfilments, history and returns), cart, wish list and coupons.
    pub async fn export_of(&self, root: CustomerId) -> AppResult<serde_json::Value> {
        let who = CustomerRef::Id(root);
        let mut orders = Vec::new();
        for order in self.orders_of(&who, None, 1_000).await? {
            let o = &order.record;
            let returns = self.returns_of(o.id).await?;
            orders.push(serde_json::json!({
                "id": o.id.to_string(), "number": o.number, "channel": o.channel,
                "status": o.status, "currency": o.currency, "total": o.total,
                "discount": o.discount, "coupon_code": o.coupon_code,
                "created_at": o.created_at.to_rfc3339(),
                "lines": o.lines.iter().map(|l| serde_json::json!({"sku": l.sku, "name": l.name,
                    "quantity": l.quantity, "unit_price": l.unit_price})).collect::<Vec<_>>(),
                "fulfillments": o.fulfillments.iter().map(|f| serde_json::json!({"type": f.kind,
                    "status": f.status, "location_id": f.location_id.map(|l| l.to_string()),
                    "ship_address": f.ship_address.as_deref().and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok()),
                    "collected_by": f.collected_by})).collect::<Vec<_>>(),
                "history": o.history.iter().map(|h| serde_json::json!({"event": h.event,
                    "channel": h.channel, "at": h.at.to_rfc3339()})).collect::<Vec<_>>(),
                "returns": returns.iter().map(|r| serde_json::json!({"status": r.record.status,
                    "reason": r.record.reason, "lines": r.record.lines.iter().map(|l| serde_json::json!({"sku": l.sku,
                    "quantity": l.quantity, "disposition": l.disposition})).collect::<Vec<_>>()})).collect::<Vec<_>>(),
            }));
        }
        let list = |view: CartView| -> Vec<serde_json::Value> {
            view.lines
                .iter()
                .map(|(line, _)| {
                    serde_json::json!({"sku": line.sku, "quantity": line.quantity,
                    "added_at": line.added_at.to_rfc3339()})
                })
                .collect()
        };
        let cart = list(self.list(&who, ListKind::Cart).await?);
        let wishlist = list(self.list(&who, ListKind::Wishlist).await?);
        let coupons: Vec<serde_json::Value> = self
            .coupons_of(&who)
            .await?
            .into_iter()
            .map(|c| {
                serde_json::json!({"code": c.code, "promotion_id": c.promotion_id,
                "redeemed_at": c.redeemed_at.map(hilo_domain::Timestamp::to_rfc3339)})
            })
            .collect();
        Ok(
            serde_json::json!({"orders": orders, "cart": cart, "wishlist": wishlist, "coupons": coupons}),
        )
    }
}

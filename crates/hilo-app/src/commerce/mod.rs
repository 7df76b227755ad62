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

use hilo_domain::customers::identity::{Identifier, IdentifierType};
use hilo_domain::{CustomerId, Invalid, Principal};
use serde_json::Map;

pub use carts::{CartView, LineChange, ListKind};
pub use catalogue::ProductInput;
pub use changes::OrderChange;
pub use inventory::{Availability, StockChange};
pub use orders::{FulfillmentRequest, LineRequest, OrderRequest, OrderView, Placed, ShipAddress};
pub use pickups::{PickupCode, QR_PREFIX, Step};
pub use promotions::PromotionInput;
pub use returns::{Exchange, Receipt, ReturnRequest, ReturnView, ReturnedBy};

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

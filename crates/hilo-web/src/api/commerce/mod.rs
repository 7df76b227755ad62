//! Commerce's API: locations, products, one inventory, carts and wish lists, orders.

mod carts;
mod inventory;
mod locations;
mod orders;
mod products;
mod promotions;
mod returns;

use axum::Router;
use hilo_domain::commerce::money::{Currency, Money};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::id_field;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(carts::routes())
        .merge(inventory::routes())
        .merge(locations::routes())
        .merge(orders::routes())
        .merge(products::routes())
        .merge(promotions::routes())
        .merge(returns::routes())
}

/// The part's document.
pub struct CommerceApi;

impl CommerceApi {
    pub fn openapi() -> utoipa::openapi::OpenApi {
        let mut doc = locations::LocationsApi::openapi();
        doc.merge(products::ProductsApi::openapi());
        doc.merge(inventory::InventoryApi::openapi());
        doc.merge(carts::CartsApi::openapi());
        doc.merge(orders::OrdersApi::openapi());
        doc.merge(returns::ReturnsApi::openapi());
        doc.merge(promotions::PromotionsApi::openapi());
        doc
    }
}

/// An amount of money: minor units (cents) and an ISO 4217 currency code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Amount {
    /// Minor units: 1999 is 19.99 EUR.
    #[serde(deserialize_with = "crate::json::integer")]
    #[schema(minimum = 0, maximum = 1_000_000_000_000i64)]
    pub amount: i64,
    /// ISO 4217, three capital letters.
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: String,
}

impl Amount {
    pub fn of(money: Money) -> Self {
        Self {
            amount: money.amount,
            currency: money.currency.to_string(),
        }
    }

    pub fn money(&self, field: &str) -> Result<Money, hilo_domain::Invalid> {
        let currency: Currency = self.currency.parse().map_err(|_| {
            hilo_domain::Invalid::new(
                format!("{field}.currency"),
                "is an ISO 4217 code such as EUR",
            )
        })?;
        Money::new(self.amount, currency).check_price(&format!("{field}.amount"))
    }
}

/// A customer named in a path: their id or `type:value`; a 404 when it is neither,
/// as for any malformed id in a path.
fn customer_in_path(
    commerce: &hilo_app::commerce::Commerce<'_>,
    text: &str,
) -> Result<hilo_app::commerce::CustomerRef, crate::ApiError> {
    commerce
        .customer_ref(text)
        .map_err(|_| crate::ApiError::not_found())
}

/// A SKU named in a path: a 404 when it cannot be one.
fn sku_in_path(sku: &str) -> Result<(), crate::ApiError> {
    hilo_domain::commerce::catalogue::check_sku("sku", sku)
        .map(|_| ())
        .map_err(|_| crate::ApiError::not_found())
}

/// The `limit` query parameter of a list read by `before`: 1 to 200, 50 when absent.
fn limit_param(
    params: &std::collections::HashMap<String, String>,
) -> Result<u32, hilo_domain::Invalid> {
    params
        .get("limit")
        .map(|l| l.parse::<u32>().ok().filter(|l| (1..=200).contains(l)))
        .map(|l| {
            l.ok_or_else(|| {
                hilo_domain::Invalid::new("limit", "must be a whole number from 1 to 200")
            })
        })
        .transpose()
        .map(|l| l.unwrap_or(50))
}

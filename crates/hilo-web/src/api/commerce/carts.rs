//! `/api/v1/customers/{id}/cart` and `/wishlist`: the customer's lists, the same
//! on every channel. `{id}` is the customer's id or any identifier of theirs
//! written `type:value` (`anonymous_id:3f2a…`, `email:ana@example.com`).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use hilo_app::commerce::{CartView, LineChange, ListKind};
use hilo_domain::Permission;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::Amount;
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers/{id}/cart", get(cart))
        .route("/customers/{id}/cart/lines", post(add_to_cart))
        .route(
            "/customers/{id}/cart/lines/{sku}",
            put(set_in_cart).delete(remove_from_cart),
        )
        .route("/customers/{id}/wishlist", get(wishlist))
        .route("/customers/{id}/wishlist/lines", post(add_to_wishlist))
        .route(
            "/customers/{id}/wishlist/lines/{sku}",
            put(set_in_wishlist).delete(remove_from_wishlist),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(
        cart,
        add_to_cart,
        set_in_cart,
        remove_from_cart,
        wishlist,
        add_to_wishlist,
        set_in_wishlist,
        remove_from_wishlist
    ),
    components(schemas(Cart, CartLineView, AddLineBody, SetLineBody))
)]
pub struct CartsApi;

#[derive(Debug, Serialize, ToSchema)]
pub struct Cart {
    /// The customer it belongs to; `null` while nobody holds the identifier asked for.
    pub customer_id: Option<String>,
    /// cart or wishlist.
    pub list: String,
    pub lines: Vec<CartLineView>,
    /// The lines' total in the first line's currency, when every line has a price in it.
    pub subtotal: Option<Amount>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CartLineView {
    pub sku: String,
    pub product_id: Option<String>,
    pub name_es: String,
    pub name_en: String,
    pub quantity: i64,
    pub unit_price: Option<Amount>,
    pub added_at: String,
    pub updated_at: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddLineBody {
    #[schema(pattern = "^\\s*[A-Za-z0-9._-]{1,64}\\s*$")]
    pub sku: String,
    /// Units to add to what the list holds; a line holds at most 999.
    #[serde(deserialize_with = "crate::json::integer", default = "one")]
    #[schema(minimum = 1, maximum = 999)]
    pub quantity: i64,
    /// Where the change was made: web, app, pos, kiosk, call_center, voice_assistant,
    /// live_event, store_tablet or server (the default).
    #[serde(default = "server")]
    #[schema(
        pattern = "^(web|app|pos|kiosk|call_center|voice_assistant|live_event|store_tablet|server)$"
    )]
    pub channel: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetLineBody {
    /// Units the line holds; 0 removes it.
    #[serde(deserialize_with = "crate::json::integer")]
    #[schema(minimum = 0, maximum = 999)]
    pub quantity: i64,
    #[serde(default = "server")]
    #[schema(
        pattern = "^(web|app|pos|kiosk|call_center|voice_assistant|live_event|store_tablet|server)$"
    )]
    pub channel: String,
}

fn one() -> i64 {
    1
}

fn server() -> String {
    "server".into()
}

fn view(cart: CartView) -> Cart {
    Cart {
        customer_id: cart.customer_id.map(|c| c.to_string()),
        list: cart.list.as_str().to_owned(),
        lines: cart
            .lines
            .into_iter()
            .map(|(line, variant)| CartLineView {
                unit_price: variant
                    .as_ref()
                    .and_then(|v| v.prices.first().copied())
                    .map(Amount::of),
                product_id: variant.as_ref().map(|v| v.product_id.to_string()),
                name_es: variant
                    .as_ref()
                    .map(|v| v.name_es.clone())
                    .unwrap_or_default(),
                name_en: variant
                    .as_ref()
                    .map(|v| v.name_en.clone())
                    .unwrap_or_default(),
                sku: line.sku,
                quantity: line.quantity,
                added_at: line.added_at.to_rfc3339(),
                updated_at: line.updated_at.to_rfc3339(),
            })
            .collect(),
        subtotal: cart.subtotal.map(Amount::of),
    }
}

async fn read(
    state: &AppState,
    caller: &Caller,
    customer: &str,
    list: ListKind,
) -> Result<Json<Cart>, ApiError> {
    caller.require(Permission::ReadOrders)?;
    let commerce = state.hilo.commerce();
    let who = super::customer_in_path(&commerce, customer)?;
    Ok(Json(view(commerce.list(&who, list).await?)))
}

async fn change(
    state: &AppState,
    caller: &Caller,
    customer: &str,
    list: ListKind,
    sku: &str,
    line: LineChange,
    channel: &str,
) -> Result<Json<Cart>, ApiError> {
    caller.require(Permission::ShopForCustomers)?;
    let commerce = state.hilo.commerce();
    let who = super::customer_in_path(&commerce, customer)?;
    let cart = commerce
        .change_list(&who, list, sku, line, channel, &caller.0)
        .await?;
    Ok(Json(view(cart)))
}

macro_rules! list_endpoints {
    ($list:expr, $name:literal, $path:literal, $lines:literal, $line:literal, $read:ident, $add:ident, $set:ident, $remove:ident) => {
        #[doc = concat!("A customer's ", $name)]
        ///
        /// The same on every channel. An identifier nobody holds yet reads as an empty list.
        #[utoipa::path(get, path = $path, tag = "commerce",
            params(("id" = String, Path, description = "The customer's id, or an identifier written type:value (404 when it is neither)")),
            responses(
                (status = 200, body = Cart),
                (status = 400, body = ErrorBody),
                (status = 401, body = ErrorBody),
                (status = 403, body = ErrorBody),
                (status = 404, body = ErrorBody),
            ),
            security(("bearer" = []), ("session" = [])))]
        pub async fn $read(
            State(state): State<AppState>,
            caller: Caller,
            Path(customer): Path<String>,
        ) -> Result<Json<Cart>, ApiError> {
            read(&state, &caller, &customer, $list).await
        }

        #[doc = concat!("Add to a customer's ", $name)]
        ///
        /// Adds units of a SKU (to what the line holds). A customer named by an identifier
        /// nobody holds yet is registered with it, so a visitor's list is kept and joins
        /// their customer's when identity resolution links them.
        #[utoipa::path(post, path = $lines, tag = "commerce",
            params(("id" = String, Path, description = "The customer's id, or an identifier written type:value (404 when it is neither)")),
            request_body = AddLineBody,
            responses(
                (status = 200, body = Cart),
                (status = 400, body = ErrorBody),
                (status = 401, body = ErrorBody),
                (status = 403, body = ErrorBody),
                (status = 404, body = ErrorBody),
                (status = 409, body = ErrorBody),
                (status = 413, body = ErrorBody),
                (status = 415, body = ErrorBody),
            ),
            security(("bearer" = []), ("session" = [])))]
        pub async fn $add(
            State(state): State<AppState>,
            caller: Caller,
            Path(customer): Path<String>,
            json: JsonBody,
        ) -> Result<Json<Cart>, ApiError> {
            caller.require(Permission::ShopForCustomers)?;
            let body: AddLineBody = json.parse()?;
            change(&state, &caller, &customer, $list, &body.sku, LineChange::Add(body.quantity), &body.channel).await
        }

        #[doc = concat!("Set a line of a customer's ", $name)]
        ///
        /// The line holds `quantity` units; 0 removes it.
        #[utoipa::path(put, path = $line, tag = "commerce",
            params(
                ("id" = String, Path, description = "The customer's id, or an identifier written type:value (404 when it is neither)"),
                ("sku" = String, Path, description = "The line's SKU"),
            ),
            request_body = SetLineBody,
            responses(
                (status = 200, body = Cart),
                (status = 400, body = ErrorBody),
                (status = 401, body = ErrorBody),
                (status = 403, body = ErrorBody),
                (status = 404, body = ErrorBody),
                (status = 409, body = ErrorBody),
                (status = 413, body = ErrorBody),
                (status = 415, body = ErrorBody),
            ),
            security(("bearer" = []), ("session" = [])))]
        pub async fn $set(
            State(state): State<AppState>,
            caller: Caller,
            Path((customer, sku)): Path<(String, String)>,
            json: JsonBody,
        ) -> Result<Json<Cart>, ApiError> {
            caller.require(Permission::ShopForCustomers)?;
            super::sku_in_path(&sku)?;
            let body: SetLineBody = json.parse()?;
            change(&state, &caller, &customer, $list, &sku, LineChange::Set(body.quantity), &body.channel).await
        }

        #[doc = concat!("Remove a line from a customer's ", $name)]
        #[utoipa::path(delete, path = $line, tag = "commerce",
            params(
                ("id" = String, Path, description = "The customer's id, or an identifier written type:value (404 when it is neither)"),
                ("sku" = String, Path, description = "The line's SKU"),
                ("channel" = Option<String>, Query, pattern = "^(web|app|pos|kiosk|call_center|voice_assistant|live_event|store_tablet|server)$", description = "Where the change was made"),
            ),
            responses(
                (status = 200, body = Cart),
                (status = 400, body = ErrorBody),
                (status = 401, body = ErrorBody),
                (status = 403, body = ErrorBody),
                (status = 404, body = ErrorBody),
            ),
            security(("bearer" = []), ("session" = [])))]
        pub async fn $remove(
            State(state): State<AppState>,
            caller: Caller,
            Path((customer, sku)): Path<(String, String)>,
            Query(params): Query<HashMap<String, String>>,
        ) -> Result<Json<Cart>, ApiError> {
            caller.require(Permission::ShopForCustomers)?;
            super::sku_in_path(&sku)?;
            let channel = params.get("channel").map_or("server", String::as_str);
            change(&state, &caller, &customer, $list, &sku, LineChange::Set(0), channel).await
        }
    };
}

list_endpoints!(
    ListKind::Cart,
    "cart",
    "/api/v1/customers/{id}/cart",
    "/api/v1/customers/{id}/cart/lines",
    "/api/v1/customers/{id}/cart/lines/{sku}",
    cart,
    add_to_cart,
    set_in_cart,
    remove_from_cart
);
list_endpoints!(
    ListKind::Wishlist,
    "wishlist",
    "/api/v1/customers/{id}/wishlist",
    "/api/v1/customers/{id}/wishlist/lines",
    "/api/v1/customers/{id}/wishlist/lines/{sku}",
    wishlist,
    add_to_wishlist,
    set_in_wishlist,
    remove_from_wishlist
);

//! `/api/v1/orders`: orders from any channel, managed from any other.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hilo_app::commerce::{
    FulfillmentRequest, LineRequest, OrderChange, OrderRequest, OrderView, ShipAddress, Step,
};
use hilo_domain::commerce::order::OrderChannel;
use hilo_domain::{Invalid, OrderId, Permission};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{OpenApi, ToSchema};

use super::{Amount, id_field};
use crate::api::IdPath;
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orders", post(place))
        .route("/orders/{id}", get(show).patch(change))
        .route("/orders/{id}/cancel", post(cancel))
        .route(
            "/orders/{id}/fulfillments/{fulfillment_id}/{step}",
            post(advance),
        )
        .route("/pickups/collect", post(collect))
        .route("/commerce/settings", get(settings).put(put_settings))
        .route("/customers/{id}/orders", get(of_customer))
}

#[derive(OpenApi)]
#[openapi(
    paths(
        place,
        show,
        change,
        cancel,
        of_customer,
        advance,
        collect,
        settings,
        put_settings
    ),
    components(schemas(
        Order,
        OrderLine,
        Fulfillment,
        FulfillmentLine,
        HistoryEntry,
        OrderList,
        OrderBody,
        LineBody,
        FulfillmentBody,
        AddressBody,
        CancelBody,
        StepBody,
        CollectBody,
        ChangeBody,
        Settings
    ))
)]
pub struct OrdersApi;

#[derive(Debug, Serialize, ToSchema)]
pub struct Order {
    pub id: String,
    /// What people read out at a desk.
    pub number: String,
    /// The customer it belongs to now (after any merge).
    pub customer_id: String,
    /// web, app, pos, kiosk, call_center, voice_assistant, live_event or store_tablet.
    pub channel: String,
    /// open, completed or cancelled.
    pub status: String,
    pub lines: Vec<OrderLine>,
    pub fulfillments: Vec<Fulfillment>,
    pub subtotal: Amount,
    pub discount: Amount,
    pub total: Amount,
    /// The code redeemed with it.
    pub coupon_code: Option<String>,
    /// As given when it was placed.
    #[schema(value_type = Option<Object>)]
    pub payment: Option<Value>,
    /// Who placed it: the API key or user.
    pub actor: String,
    /// The staff member who placed it for the customer, when one did.
    pub staff: Option<String>,
    pub history: Vec<HistoryEntry>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderLine {
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price: Amount,
    pub total: Amount,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Fulfillment {
    pub id: String,
    /// pickup, ship, reserve or counter.
    #[serde(rename = "type")]
    pub kind: String,
    pub location_id: Option<String>,
    /// placed, allocated, picking, ready_for_pickup, shipped, collected, delivered or
    /// cancelled.
    pub status: String,
    /// Where a shipment goes.
    #[schema(value_type = Option<Object>)]
    pub address: Option<Value>,
    /// What it carries, from that location.
    pub lines: Vec<FulfillmentLine>,
    /// While it waits at the desk: the code the customer shows, for the shop's backend
    /// (`storefront` keys) and admins only; store staff check codes and never read them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pickup_code: Option<String>,
    /// What a QR code of the pickup code carries; the desk takes it as the code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pickup_qr: Option<String>,
    /// When an uncollected pickup is cancelled and restocked.
    pub pickup_expires_at: Option<String>,
    /// Who collected it for the customer, when someone else did.
    pub collected_by: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FulfillmentLine {
    pub sku: String,
    pub quantity: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub event: String,
    pub fulfillment_id: Option<String>,
    pub actor: String,
    pub channel: String,
    #[schema(value_type = Object)]
    pub detail: Value,
    pub at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderList {
    pub data: Vec<Order>,
    /// Pass as `before` for older orders; `null` on the last page.
    pub next_before: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderBody {
    /// The customer's id, or an identifier of theirs written type:value; a new
    /// identifier registers the customer.
    #[schema(min_length = 1, max_length = 300)]
    pub customer_id: String,
    /// Where the order was placed.
    #[schema(
        pattern = "^(web|app|pos|kiosk|call_center|voice_assistant|live_event|store_tablet)$"
    )]
    pub channel: String,
    /// The lines, one per SKU; or leave out and set `from_cart`.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Option<Vec<LineBody>>,
    /// Order what the customer's cart holds, and empty it.
    #[serde(default)]
    pub from_cart: bool,
    pub fulfillment: FulfillmentBody,
    /// ISO 4217; the first line's main price's when absent.
    #[serde(default)]
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: Option<String>,
    /// An external payment (`{"provider", "reference", "amount", "status"}`) or
    /// `{"type": "pay_at_pickup"}`; Hilo records it and never calls a provider.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub payment: Option<Value>,
    /// The staff member placing it for the customer (a name or an employee number).
    #[serde(default)]
    #[schema(max_length = 200)]
    pub staff: Option<String>,
    /// A promotion's shared code or a coupon; redeemed with the order, atomically, on
    /// every channel. An unknown code is a 400; one that does not apply (used, fully
    /// redeemed, another customer's, for new customers only, a minimum spend, out of its
    /// dates) is a 409 saying why.
    #[serde(default)]
    #[schema(max_length = 40)]
    pub coupon_code: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineBody {
    #[schema(pattern = "^\\s*[A-Za-z0-9._-]{1,64}\\s*$")]
    pub sku: String,
    #[serde(deserialize_with = "crate::json::integer")]
    #[schema(minimum = 1, maximum = 999)]
    pub quantity: i64,
}

/// How the order reaches the customer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FulfillmentBody {
    /// pickup (collect at `location_id`), reserve (keep at `location_id`, pay there),
    /// counter (a sale at `location_id`'s point of sale) or ship (to `address`, from
    /// `from_location_id` or the locations allocation chooses).
    #[serde(rename = "type")]
    #[schema(pattern = "^(pickup|reserve|counter|ship)$")]
    pub kind: String,
    #[serde(default)]
    #[schema(format = "uuid")]
    pub location_id: Option<String>,
    #[serde(default)]
    pub address: Option<AddressBody>,
    #[serde(default)]
    #[schema(format = "uuid")]
    pub from_location_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressBody {
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub line1: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub line2: String,
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub city: String,
    #[schema(min_length = 1, max_length = 20, pattern = "\\S")]
    pub postal_code: String,
    #[serde(default)]
    #[schema(max_length = 100)]
    pub region: String,
    /// ISO 3166 alpha-2.
    #[schema(pattern = "^\\s*[A-Za-z]{2}\\s*$")]
    pub country: String,
    /// With `lng`, lets allocation ship from the nearest location.
    #[serde(default)]
    #[schema(minimum = -90, maximum = 90)]
    pub lat: Option<f64>,
    #[serde(default)]
    #[schema(minimum = -180, maximum = 180)]
    pub lng: Option<f64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    /// Where the cancellation was asked for.
    #[schema(
        pattern = "^(web|app|pos|kiosk|call_center|voice_assistant|live_event|store_tablet)$"
    )]
    pub channel: String,
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = "^[^\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F]*$"
    )]
    pub reason: String,
}

fn amount(value: i64, currency: &str) -> Amount {
    Amount {
        amount: value,
        currency: currency.to_owned(),
    }
}

/// An order as the caller may see it: with pickup codes when `codes` is given.
pub fn view(order: OrderView, codes: Option<&hilo_app::commerce::Commerce<'_>>) -> Order {
    let o = order.record;
    let c = o.currency.as_str();
    Order {
        id: o.id.to_string(),
        number: o.number.to_string(),
        customer_id: order.customer_id.to_string(),
        channel: o.channel.clone(),
        status: o.status.clone(),
        lines: o
            .lines
            .iter()
            .map(|l| OrderLine {
                sku: l.sku.clone(),
                name: l.name.clone(),
                quantity: l.quantity,
                unit_price: amount(l.unit_price, c),
                total: amount(l.unit_price * l.quantity, c),
            })
            .collect(),
        fulfillments: o
            .fulfillments
            .iter()
            .map(|f| {
                // Derived once: the code and its QR payload come from one digest.
                let code = codes.and_then(|c| c.pickup_code(f));
                Fulfillment {
                    id: f.id.to_string(),
                    kind: f.kind.clone(),
                    location_id: f.location_id.map(|l| l.to_string()),
                    status: f.status.clone(),
                    address: f
                        .ship_address
                        .as_deref()
                        .and_then(|a| serde_json::from_str(a).ok()),
                    lines: o
                        .reservations
                        .iter()
                        .filter(|r| r.fulfillment_id == f.id)
                        .map(|r| FulfillmentLine {
                            sku: r.sku.clone(),
                            quantity: r.quantity,
                        })
                        .collect(),
                    pickup_code: code.as_ref().map(|c| c.code.clone()),
                    pickup_qr: code.map(|c| c.qr_payload),
                    pickup_expires_at: f
                        .code_expires_at
                        .filter(|_| f.status == "ready_for_pickup")
                        .map(|t| t.to_rfc3339()),
                    collected_by: f.collected_by.clone(),
                }
            })
            .collect(),
        subtotal: amount(o.subtotal, c),
        discount: amount(o.discount, c),
        total: amount(o.total, c),
        coupon_code: o.coupon_code.clone(),
        payment: o
            .payment
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok()),
        actor: o.actor.clone(),
        staff: o.staff.clone(),
        history: o
            .history
            .iter()
            .map(|h| HistoryEntry {
                event: h.event.clone(),
                fulfillment_id: h.fulfillment_id.clone(),
                actor: h.actor.clone(),
                channel: h.channel.clone(),
                detail: serde_json::from_str(&h.detail).unwrap_or(Value::Null),
                at: h.at.to_rfc3339(),
            })
            .collect(),
        created_at: o.created_at.to_rfc3339(),
        updated_at: o.updated_at.to_rfc3339(),
    }
}

fn check_payment(payment: &Value) -> Result<(), Invalid> {
    let object = payment
        .as_object()
        .ok_or_else(|| Invalid::new("payment", "is an object"))?;
    if object.get("type").and_then(Value::as_str) == Some("pay_at_pickup") && object.len() == 1 {
        return Ok(());
    }
    for name in object.keys() {
        if !matches!(
            name.as_str(),
            "provider" | "reference" | "amount" | "status"
        ) {
            return Err(Invalid::new(
                "payment",
                "is {\"provider\", \"reference\", \"amount\", \"status\"} or {\"type\": \"pay_at_pickup\"}",
            ));
        }
    }
    for name in ["provider", "reference", "status"] {
        let text = object.get(name).and_then(Value::as_str).unwrap_or_default();
        if text.trim().is_empty() || text.len() > 200 {
            return Err(Invalid::new(
                format!("payment.{name}"),
                "is required: a text of 1 to 200 characters",
            ));
        }
    }
    if let Some(amount) = object.get("amount") {
        let amount: Amount = serde_json::from_value(amount.clone()).map_err(|_| {
            Invalid::new(
                "payment.amount",
                "is {\"amount\", \"currency\"} in minor units",
            )
        })?;
        amount.money("payment.amount")?;
    }
    Ok(())
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|t| (1..=255).contains(&t.len()))
        .ok_or_else(|| Invalid::new("Idempotency-Key", "is 1 to 255 visible ASCII characters"))?;
    Ok(Some(text.to_owned()))
}

/// Place an order
///
/// From a list of lines or the customer's cart (`from_cart`), on any channel. Stock is
/// reserved in the same transaction, at the fulfilment's location (pickup, reserve,
/// counter) or where allocation finds it for a shipment (the nearest to the address
/// when it has coordinates, then by priority, split across locations when one cannot
/// serve all). A line asking for more than can be promised is a 409 `out_of_stock`
/// naming it in `field` (`lines[i]`) with `available`. With an `Idempotency-Key`
/// header, a retry of the same request returns the same order (201, with
/// `Idempotent-Replayed: true`); the key with another request is a 409. Admins,
/// agents, store staff and storefront keys.
#[utoipa::path(post, path = "/api/v1/orders", tag = "commerce",
    params(("Idempotency-Key" = Option<String>, Header, max_length = 255, description = "Makes retries safe: the same key and request place one order")),
    request_body = OrderBody,
    responses(
        (status = 201, body = Order),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn place(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    json: JsonBody,
) -> Result<Response, ApiError> {
    caller.require(Permission::ShopForCustomers)?;
    let key = idempotency_key(&headers)?;
    let (body, canonical): (OrderBody, String) = json.parse_canonical()?;
    let commerce = state.hilo.commerce();
    let customer = commerce
        .customer_ref(&body.customer_id)
        .map_err(|e| e.in_field("customer_id"))?;
    let channel: OrderChannel = body.channel.parse()?;
    let lines = match (body.lines, body.from_cart) {
        (Some(_), true) => {
            return Err(Invalid::new("from_cart", "give lines or from_cart, not both").into());
        }
        (None, false) => return Err(Invalid::new("lines", "give lines or from_cart").into()),
        (Some(lines), false) => Some(
            lines
                .into_iter()
                .map(|l| LineRequest {
                    sku: l.sku.trim().to_owned(),
                    quantity: l.quantity,
                })
                .collect(),
        ),
        (None, true) => None,
    };
    let fulfillment = fulfillment_of(body.fulfillment)?;
    let currency = body
        .currency
        .as_deref()
        .map(|c| c.parse().map_err(|e: Invalid| e.in_field("currency")))
        .transpose()?;
    if let Some(payment) = &body.payment {
        check_payment(payment)?;
    }
    let staff = body
        .staff
        .map(|s| hilo_domain::commerce::catalogue::check_text("staff", &s, 200, false))
        .transpose()?
        .filter(|s| !s.is_empty());
    let placed = commerce
        .place_order(
            OrderRequest {
                customer,
                channel,
                lines,
                fulfillment,
                currency,
                payment: body.payment,
                staff,
                coupon_code: body.coupon_code,
                idempotency_key: key,
                request_digest: state
                    .hilo
                    .settings()
                    .sealing_key
                    .keyed_digest("hilo order request", &canonical),
            },
            &caller.0,
        )
        .await?;
    let codes = caller
        .0
        .allows(Permission::ReadPickupCodes)
        .then_some(&commerce);
    let mut response = (StatusCode::CREATED, Json(view(placed.order, codes))).into_response();
    if placed.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// How an order reaches the customer, as the API takes it.
pub(super) fn fulfillment_of(f: FulfillmentBody) -> Result<FulfillmentRequest, ApiError> {
    let location = |f: &FulfillmentBody| -> Result<_, ApiError> {
        let text = f
            .location_id
            .as_deref()
            .ok_or_else(|| Invalid::new("fulfillment.location_id", "is required for this type"))?;
        id_field("fulfillment.location_id", text)
    };
    Ok(match f.kind.as_str() {
        "pickup" => FulfillmentRequest::Pickup(location(&f)?),
        "reserve" => FulfillmentRequest::Reserve(location(&f)?),
        "counter" => FulfillmentRequest::Counter(location(&f)?),
        "ship" => {
            let a = f
                .address
                .ok_or_else(|| Invalid::new("fulfillment.address", "is required to ship"))?;
            FulfillmentRequest::Ship {
                address: Box::new(ShipAddress {
                    name: a.name,
                    line1: a.line1,
                    line2: a.line2,
                    city: a.city,
                    postal_code: a.postal_code,
                    region: a.region,
                    country: a.country,
                    lat: a.lat,
                    lng: a.lng,
                }),
                from: f
                    .from_location_id
                    .as_deref()
                    .map(|t| id_field("fulfillment.from_location_id", t))
                    .transpose()?,
            }
        }
        _ => {
            return Err(Invalid::new(
                "fulfillment.type",
                "must be pickup, reserve, counter or ship",
            )
            .into());
        }
    })
}

/// Get an order
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "commerce",
    params(("id" = String, Path, description = "The order's id")),
    responses(
        (status = 200, body = Order),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<OrderId>,
) -> Result<Json<Order>, ApiError> {
    caller.require(Permission::ReadOrders)?;
    let commerce = state.hilo.commerce();
    let order = commerce.order(id.id()?).await?;
    Ok(Json(view(order, codes_for(&caller, &commerce))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeBody {
    /// Where the change was asked for.
    #[schema(
        pattern = "^(web|app|pos|kiosk|call_center|voice_assistant|live_event|store_tablet)$"
    )]
    pub channel: String,
    /// The order's lines, whole: what replaces them.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Option<Vec<LineBody>>,
    /// Another store to collect a pickup or reservation at; its stock is checked there.
    #[serde(default)]
    #[schema(format = "uuid")]
    pub pickup_location_id: Option<String>,
}

/// Change an order
///
/// From any channel, while nothing of it is being prepared (every fulfilment still
/// `allocated`; 409 otherwise): new `lines` (whole), or another store to collect at
/// (`pickup_location_id`). The old stock is given back and the new taken in one
/// transaction (a line that cannot be served is a 409 `out_of_stock`, and nothing
/// changes); a coupon's discount is worked out again for the new lines.
#[utoipa::path(patch, path = "/api/v1/orders/{id}", tag = "commerce",
    params(("id" = String, Path, description = "The order's id")),
    request_body = ChangeBody,
    responses(
        (status = 200, body = Order),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn change(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<OrderId>,
    json: JsonBody,
) -> Result<Json<Order>, ApiError> {
    caller.require(Permission::ShopForCustomers)?;
    let id = id.id()?;
    let body: ChangeBody = json.parse()?;
    let pickup_location = body
        .pickup_location_id
        .as_deref()
        .map(|t| id_field("pickup_location_id", t))
        .transpose()?;
    let lines = body.lines.map(|lines| {
        lines
            .into_iter()
            .map(|l| LineRequest {
                sku: l.sku.trim().to_owned(),
                quantity: l.quantity,
            })
            .collect()
    });
    let commerce = state.hilo.commerce();
    let order = commerce
        .change_order(
            id,
            OrderChange {
                lines,
                pickup_location,
                channel: body.channel,
            },
            &caller.0,
        )
        .await?;
    Ok(Json(view(order, codes_for(&caller, &commerce))))
}

/// Cancel an order
///
/// From any channel: every fulfilment not yet handed over is cancelled and its stock
/// given back, exactly once however many cancellations race. An order with nothing
/// left to cancel is a 409.
#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "commerce",
    params(("id" = String, Path, description = "The order's id")),
    request_body = CancelBody,
    responses(
        (status = 200, body = Order),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<OrderId>,
    json: JsonBody,
) -> Result<Json<Order>, ApiError> {
    caller.require(Permission::ShopForCustomers)?;
    let id = id.id()?;
    let body: CancelBody = json.parse()?;
    let commerce = state.hilo.commerce();
    let order = commerce
        .cancel_order(id, &body.channel, &body.reason, &caller.0)
        .await?;
    Ok(Json(view(order, codes_for(&caller, &commerce))))
}

/// A customer's orders
///
/// On every channel, newest first. `{id}` is the customer's id or an identifier of
/// theirs written type:value.
#[utoipa::path(get, path = "/api/v1/customers/{id}/orders", tag = "commerce",
    params(
        ("id" = String, Path, description = "The customer's id, or an identifier written type:value"),
        ("before" = Option<String>, Query, format = "uuid", description = "`next_before` of the previous page"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "Orders per page; 50 when absent"),
    ),
    responses(
        (status = 200, body = OrderList),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn of_customer(
    State(state): State<AppState>,
    caller: Caller,
    Path(customer): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<OrderList>, ApiError> {
    caller.require(Permission::ReadOrders)?;
    let commerce = state.hilo.commerce();
    let who = super::customer_in_path(&commerce, &customer)?;
    let before = params
        .get("before")
        .map(|b| id_field::<OrderId>("before", b))
        .transpose()?;
    let limit = super::limit_param(&params)?;
    let orders = commerce.orders_of(&who, before, limit).await?;
    let next_before = (orders.len() == limit as usize)
        .then(|| orders.last().map(|o| o.record.id.to_string()))
        .flatten();
    Ok(Json(OrderList {
        data: orders
            .into_iter()
            .map(|o| view(o, codes_for(&caller, &commerce)))
            .collect(),
        next_before,
    }))
}

/// The commerce service when the caller may read pickup codes.
fn codes_for<'a>(
    caller: &Caller,
    commerce: &'a hilo_app::commerce::Commerce<'a>,
) -> Option<&'a hilo_app::commerce::Commerce<'a>> {
    caller
        .0
        .allows(Permission::ReadPickupCodes)
        .then_some(commerce)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    /// Where the step was reported: an order channel, or `server` (the default) for a
    /// warehouse's or carrier's system.
    #[serde(default)]
    #[schema(
        pattern = "^(web|app|pos|kiosk|call_center|voice_assistant|live_event|store_tablet|server)$"
    )]
    pub channel: Option<String>,
}

/// Move a fulfilment on
///
/// `step` is `picking`, `ready` (a pickup or reservation waits at the desk: its pickup
/// code is issued, and expires after the settings' `pickup_expiry_days`, when the
/// order is cancelled and restocked), `ship` (the reserved stock leaves) or `deliver`.
/// A step its state does not allow is a 409. Admins and store staff.
#[utoipa::path(post, path = "/api/v1/orders/{id}/fulfillments/{fulfillment_id}/{step}", tag = "commerce",
    params(
        ("id" = String, Path, description = "The order's id"),
        ("fulfillment_id" = String, Path, description = "The fulfilment's id"),
        ("step" = String, Path, pattern = "^(picking|ready|ship|deliver)$", description = "picking, ready, ship or deliver"),
    ),
    request_body(content = Option<StepBody>, description = "Optional"),
    responses(
        (status = 200, body = Order),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn advance(
    State(state): State<AppState>,
    caller: Caller,
    Path((order, fulfilment, step)): Path<(String, String, String)>,
    json: JsonBody,
) -> Result<Json<Order>, ApiError> {
    caller.require(Permission::WorkStoreDesk)?;
    let (Ok(order), Ok(fulfilment)) = (order.parse(), fulfilment.parse()) else {
        return Err(ApiError::not_found());
    };
    let step = match step.as_str() {
        "picking" => Step::Picking,
        "ready" => Step::Ready,
        "ship" => Step::Shipped,
        "deliver" => Step::Delivered,
        _ => return Err(ApiError::not_found()),
    };
    let body: StepBody = json.parse_optional()?.unwrap_or_default();
    let commerce = state.hilo.commerce();
    let channel = body.channel.as_deref().unwrap_or("server");
    let order = commerce
        .advance(order, fulfilment, step, channel, &caller.0)
        .await?;
    Ok(Json(view(order, codes_for(&caller, &commerce))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectBody {
    /// The desk's store.
    #[schema(format = "uuid")]
    pub location_id: String,
    /// As the customer shows it: `ABCDE-FGHJK` (any case, spaces and dashes aside) or
    /// the QR code's `HILO-PICKUP:…`.
    #[schema(min_length = 1, max_length = 100)]
    pub code: String,
    /// Who collects it, when not the customer.
    #[serde(default)]
    #[schema(
        max_length = 200,
        pattern = "^[^\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F]*$"
    )]
    pub collected_by: Option<String>,
}

/// Hand an order over at the pickup desk
///
/// Store staff (and admins) type or scan the customer's code: the ready pickup it is for
/// is collected, its stock leaves the shelf, and the order comes back (without any
/// code: staff check codes, never read them). A code that is not ten letters and
/// digits is a 400; one no pickup waits for, a pickup for another store, an expired or
/// already used code are 409s saying which; after 10 wrong codes in 15 minutes a desk
/// gets 429 with `Retry-After`.
#[utoipa::path(post, path = "/api/v1/pickups/collect", tag = "commerce",
    request_body = CollectBody,
    responses(
        (status = 200, body = Order),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 429, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn collect(
    State(state): State<AppState>,
    caller: Caller,
    json: JsonBody,
) -> Result<Json<Order>, ApiError> {
    caller.require(Permission::WorkStoreDesk)?;
    let body: CollectBody = json.parse()?;
    let location = id_field("location_id", &body.location_id)?;
    let commerce = state.hilo.commerce();
    let order = commerce
        .collect(
            location,
            &body.code,
            body.collected_by.as_deref(),
            &caller.0,
        )
        .await?;
    Ok(Json(view(order, codes_for(&caller, &commerce))))
}

/// Commerce settings.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Days a ready pickup waits before it is cancelled and restocked (1 to 90; 7).
    #[serde(deserialize_with = "crate::json::whole_number")]
    #[schema(minimum = 1, maximum = 90)]
    pub pickup_expiry_days: u32,
    /// Days after an order that its items may be returned (0 to 365; 30).
    #[serde(deserialize_with = "crate::json::whole_number")]
    #[schema(minimum = 0, maximum = 365)]
    pub return_window_days: u32,
}

/// Commerce settings
#[utoipa::path(get, path = "/api/v1/commerce/settings", tag = "commerce",
    responses(
        (status = 200, body = Settings),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn settings(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Settings>, ApiError> {
    caller.require(Permission::ManageCatalogue)?;
    let s = state.hilo.commerce().settings().await?;
    Ok(Json(Settings {
        pickup_expiry_days: s.pickup_expiry_days,
        return_window_days: s.return_window_days,
    }))
}

/// Change commerce settings
///
/// Admins only. A new pickup expiry applies to pickups made ready from then on.
#[utoipa::path(put, path = "/api/v1/commerce/settings", tag = "commerce",
    request_body = Settings,
    responses(
        (status = 200, body = Settings),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn put_settings(
    State(state): State<AppState>,
    caller: Caller,
    json: JsonBody,
) -> Result<Json<Settings>, ApiError> {
    caller.require(Permission::ManageCatalogue)?;
    let body: Settings = json.parse()?;
    let s = state
        .hilo
        .commerce()
        .set_settings(hilo_domain::commerce::policy::CommerceSettings {
            pickup_expiry_days: body.pickup_expiry_days,
            return_window_days: body.return_window_days,
        })
        .await?;
    Ok(Json(Settings {
        pickup_expiry_days: s.pickup_expiry_days,
        return_window_days: s.return_window_days,
    }))
}

//! `/api/v1/orders/{id}/returns` and `/api/v1/returns`: returns and exchanges anywhere.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use hilo_app::commerce::{Exchange, LineRequest, Receipt, ReturnRequest, ReturnView, ReturnedBy};
use hilo_domain::commerce::returns::Disposition;
use hilo_domain::customers::identity::{Identifier, IdentifierType};
use hilo_domain::{Invalid, OrderId, Permission};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{OpenApi, ToSchema};

use super::orders::{FulfillmentBody, LineBody, Order, fulfillment_of, view as order_view};
use super::{Amount, id_field};
use crate::api::IdPath;
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orders/{id}/returns", get(of_order).post(start))
        .route("/returns/receive", post(receive))
        .route("/returns/{id}", get(show))
}

#[derive(OpenApi)]
#[openapi(
    paths(start, of_order, show, receive),
    components(schemas(
        Return,
        ReturnLineView,
        ReturnList,
        ReturnBody,
        ReceiveBody,
        ItemBody,
        RefundBody,
        ExchangeBody,
        Received
    ))
)]
pub struct ReturnsApi;

#[derive(Debug, Serialize, ToSchema)]
pub struct Return {
    pub id: String,
    pub order_id: String,
    /// requested (waiting to be received) or received.
    pub status: String,
    /// While it waits: the code the customer shows at any store's desk; for the shop's
    /// backend and admins only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_code: Option<String>,
    pub reason: String,
    pub channel: String,
    pub lines: Vec<ReturnLineView>,
    /// Where it was received.
    pub location_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub courier_pickup: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub refund: Option<Value>,
    pub exchange_order_id: Option<String>,
    pub created_at: String,
    pub received_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnLineView {
    pub sku: String,
    pub quantity: i64,
    /// restock or write_off, once received.
    pub disposition: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnList {
    pub data: Vec<Return>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnBody {
    /// Items of the order, up to what the customer took and has not returned.
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<LineBody>,
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = "^[^\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F]*$"
    )]
    pub reason: String,
    /// Where it was started.
    #[schema(
        pattern = "^(web|app|pos|kiosk|call_center|voice_assistant|live_event|store_tablet)$"
    )]
    pub channel: String,
    /// A courier collection, so the customer need not visit a store (an address and a
    /// time, as the shop's carrier takes them); recorded as given.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub courier_pickup: Option<Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemBody {
    #[schema(pattern = "^\\s*[A-Za-z0-9._-]{1,64}\\s*$")]
    pub sku: String,
    #[serde(deserialize_with = "crate::json::integer")]
    #[schema(minimum = 1, maximum = 999)]
    pub quantity: i64,
    /// restock (back on sale at the receiving store) or write_off.
    #[schema(pattern = "^(restock|write_off)$")]
    pub disposition: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    pub amount: Amount,
    /// The payment provider's reference of the refund.
    #[schema(min_length = 1, max_length = 200)]
    pub reference: String,
    #[schema(min_length = 1, max_length = 50)]
    pub status: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeBody {
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<LineBody>,
    /// Reserved at the store (`reserve`, `pickup`, `counter`) or shipped (`ship`).
    pub fulfillment: FulfillmentBody,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveBody {
    /// The receiving store (it must take returns).
    #[schema(format = "uuid")]
    pub location_id: String,
    /// The code of a return started online; or give `order_number` with `email` or
    /// `phone`.
    #[serde(default)]
    #[schema(max_length = 100)]
    pub return_code: Option<String>,
    #[serde(default)]
    #[schema(max_length = 20)]
    pub order_number: Option<String>,
    #[serde(default)]
    #[schema(max_length = 255)]
    pub email: Option<String>,
    #[serde(default)]
    #[schema(max_length = 40)]
    pub phone: Option<String>,
    /// What came back and what becomes of each.
    #[schema(min_items = 1, max_items = 100)]
    pub items: Vec<ItemBody>,
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = "^[^\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F]*$"
    )]
    pub reason: String,
    /// The refund, as the payment provider reported it; recorded apart from restocking.
    #[serde(default)]
    pub refund: Option<RefundBody>,
    /// The replacement, placed as a new order for the same customer.
    #[serde(default)]
    pub exchange: Option<ExchangeBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Received {
    #[serde(rename = "return")]
    pub returned: Return,
    /// The exchange's new order, when there is one.
    pub exchange_order: Option<Order>,
}

fn view(r: ReturnView, show_code: bool) -> Return {
    let record = r.record;
    Return {
        id: record.id,
        order_id: record.order_id.to_string(),
        status: record.status,
        return_code: r.code.filter(|_| show_code),
        reason: record.reason,
        channel: record.channel,
        lines: record
            .lines
            .into_iter()
            .map(|l| ReturnLineView {
                sku: l.sku,
                quantity: l.quantity,
                disposition: l.disposition,
            })
            .collect(),
        location_id: record.location_id.map(|l| l.to_string()),
        courier_pickup: record
            .courier_pickup
            .and_then(|c| serde_json::from_str(&c).ok()),
        refund: record.refund.and_then(|c| serde_json::from_str(&c).ok()),
        exchange_order_id: record.exchange_order_id,
        created_at: record.created_at.to_rfc3339(),
        received_at: record.received_at.map(|t| t.to_rfc3339()),
    }
}

fn lines_of(lines: Vec<LineBody>) -> Vec<(String, i64)> {
    lines
        .into_iter()
        .map(|l| (l.sku.trim().to_owned(), l.quantity))
        .collect()
}

/// Start a return
///
/// Some of an order's items, up to what the customer took and has not returned, within
/// the return window (409 after it). The customer gets a return code to show at any
/// store's desk. The shop's backend, agents, store staff and admins.
#[utoipa::path(post, path = "/api/v1/orders/{id}/returns", tag = "commerce",
    params(("id" = String, Path, description = "The order's id")),
    request_body = ReturnBody,
    responses(
        (status = 201, body = Return),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn start(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<OrderId>,
    json: JsonBody,
) -> Result<(StatusCode, Json<Return>), ApiError> {
    caller.require(Permission::ShopForCustomers)?;
    let id = id.id()?;
    let body: ReturnBody = json.parse()?;
    if let Some(pickup) = &body.courier_pickup
        && (!pickup.is_object() || pickup.to_string().len() > 2_000)
    {
        return Err(
            Invalid::new("courier_pickup", "is an object of at most 2,000 characters").into(),
        );
    }
    let started = state
        .hilo
        .commerce()
        .start_return(
            id,
            ReturnRequest {
                lines: lines_of(body.lines),
                reason: body.reason,
                channel: body.channel,
                courier_pickup: body.courier_pickup,
            },
            &caller.0,
        )
        .await?;
    let show = caller.0.allows(Permission::ReadPickupCodes);
    Ok((StatusCode::CREATED, Json(view(started, show))))
}

/// An order's returns
#[utoipa::path(get, path = "/api/v1/orders/{id}/returns", tag = "commerce",
    params(("id" = String, Path, description = "The order's id")),
    responses(
        (status = 200, body = ReturnList),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn of_order(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<OrderId>,
) -> Result<Json<ReturnList>, ApiError> {
    caller.require(Permission::ReadOrders)?;
    let commerce = state.hilo.commerce();
    let id = id.id()?;
    commerce.order(id).await?;
    let show = caller.0.allows(Permission::ReadPickupCodes);
    Ok(Json(ReturnList {
        data: commerce
            .returns_of(id)
            .await?
            .into_iter()
            .map(|r| view(r, show))
            .collect(),
    }))
}

/// Get a return
#[utoipa::path(get, path = "/api/v1/returns/{id}", tag = "commerce",
    params(("id" = String, Path, description = "The return's id")),
    responses(
        (status = 200, body = Return),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Return>, ApiError> {
    caller.require(Permission::ReadOrders)?;
    let show = caller.0.allows(Permission::ReadPickupCodes);
    Ok(Json(view(
        state.hilo.commerce().return_view(&id).await?,
        show,
    )))
}

/// Receive a return at a store's desk
///
/// At any store that takes returns, whichever sold it: with the `return_code` of a
/// return started online (the items must be its items), or with the `order_number` and
/// the customer's `email` or `phone` (items of that order, within the return window;
/// a number and contact that do not match are a 404). Each item is restocked at this
/// store or written off; a `refund` is recorded apart; an `exchange` is placed as a new
/// order for the same customer. Store staff and admins.
#[utoipa::path(post, path = "/api/v1/returns/receive", tag = "commerce",
    request_body = ReceiveBody,
    responses(
        (status = 200, body = Received),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn receive(
    State(state): State<AppState>,
    caller: Caller,
    json: JsonBody,
) -> Result<Json<Received>, ApiError> {
    caller.require(Permission::WorkStoreDesk)?;
    let body: ReceiveBody = json.parse()?;
    let location = id_field("location_id", &body.location_id)?;
    let by = match (&body.return_code, &body.order_number) {
        (Some(code), None) => ReturnedBy::Code(code.clone()),
        (None, Some(number)) => {
            let number = number
                .trim()
                .parse::<i64>()
                .map_err(|_| Invalid::new("order_number", "is the order's number, digits only"))?;
            let contact = match (&body.email, &body.phone) {
                (Some(email), None) => Identifier::normalize(
                    IdentifierType::email(),
                    email,
                    &state.hilo.settings().default_region,
                )
                .map_err(|e| e.in_field("email"))?,
                (None, Some(phone)) => Identifier::normalize(
                    IdentifierType::phone(),
                    phone,
                    &state.hilo.settings().default_region,
                )
                .map_err(|e| e.in_field("phone"))?,
                _ => return Err(Invalid::new("email", "give the customer's email or phone").into()),
            };
            ReturnedBy::Order { number, contact }
        }
        _ => {
            return Err(Invalid::new(
                "return_code",
                "give return_code, or order_number with email or phone",
            )
            .into());
        }
    };
    let mut items = Vec::with_capacity(body.items.len());
    for (i, item) in body.items.into_iter().enumerate() {
        let disposition =
            Disposition::parse(&format!("items[{i}].disposition"), &item.disposition)?;
        items.push((item.sku.trim().to_owned(), item.quantity, disposition));
    }
    let refund = match body.refund {
        Some(r) => {
            r.amount.money("refund.amount")?;
            Some(
                serde_json::json!({"amount": {"amount": r.amount.amount, "currency": r.amount.currency},
                "reference": r.reference, "status": r.status}),
            )
        }
        None => None,
    };
    let exchange = match body.exchange {
        Some(e) => Some(Exchange {
            lines: e
                .lines
                .into_iter()
                .map(|l| LineRequest {
                    sku: l.sku.trim().to_owned(),
                    quantity: l.quantity,
                })
                .collect(),
            fulfillment: fulfillment_of(e.fulfillment).map_err(|mut e| {
                e.field = e.field.map(|f| format!("exchange.{f}"));
                e
            })?,
        }),
        None => None,
    };
    let commerce = state.hilo.commerce();
    let (returned, exchange_order) = commerce
        .receive_return(
            Receipt {
                location,
                by,
                items,
                reason: body.reason,
                refund,
                exchange,
            },
            &caller.0,
        )
        .await?;
    let show = caller.0.allows(Permission::ReadPickupCodes);
    let codes = show.then_some(&commerce);
    Ok(Json(Received {
        returned: view(returned, show),
        exchange_order: exchange_order.map(|o| order_view(o, codes)),
    }))
}

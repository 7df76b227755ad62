//! `/api/v1/inventory` and `/api/v1/availability`: one inventory across every location.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use hilo_app::commerce::{Availability, StockChange};
use hilo_domain::commerce::inventory::Reason;
use hilo_domain::commerce::location::Point;
use hilo_domain::{Invalid, LocationId, Permission};
use hilo_store::commerce::{LevelRecord, MovementRecord};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::id_field;
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/inventory/transfers", post(transfer))
        .route("/inventory/{sku}", get(levels))
        .route("/inventory/{sku}/{location_id}", put(set))
        .route("/inventory/{sku}/{location_id}/movements", get(movements))
        .route("/availability", get(availability))
}

#[derive(OpenApi)]
#[openapi(
    paths(levels, set, transfer, movements, availability),
    components(schemas(
        StockLevel,
        StockLevels,
        StockBody,
        TransferBody,
        Movement,
        MovementList,
        Available,
        AvailableList
    ))
)]
pub struct InventoryApi;

#[derive(Debug, Serialize, ToSchema)]
pub struct StockLevel {
    pub sku: String,
    pub location_id: String,
    pub on_hand: i64,
    /// Promised to orders not yet handed over.
    pub reserved: i64,
    /// Kept back from sale (the last unit on a shelf).
    pub safety: i64,
    /// What can still be promised: on hand less reserved and safety.
    pub available: i64,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StockLevels {
    pub sku: String,
    /// Every location that ever held it.
    pub data: Vec<StockLevel>,
    /// Available across every location.
    pub available: i64,
}

/// A level as staff set it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockBody {
    /// What is on hand now. With neither this nor `safety`, the level is read back unchanged.
    #[serde(default, deserialize_with = "crate::json::optional_integer")]
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub on_hand: Option<i64>,
    /// counted (on hand becomes this, whatever it was), received, returned or
    /// transferred_in (it rises), damaged or transferred_out (it falls).
    #[serde(default = "counted")]
    #[schema(pattern = "^(counted|received|returned|damaged|transferred_in|transferred_out)$")]
    pub reason: String,
    /// Units kept back from sale here.
    #[serde(default, deserialize_with = "crate::json::optional_integer")]
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub safety: Option<i64>,
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = "^[^\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F]*$"
    )]
    pub note: String,
}

fn counted() -> String {
    "counted".into()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    #[schema(pattern = "^\\s*[A-Za-z0-9._-]{1,64}\\s*$")]
    pub sku: String,
    #[schema(format = "uuid")]
    pub from_location_id: String,
    #[schema(format = "uuid")]
    pub to_location_id: String,
    #[serde(deserialize_with = "crate::json::integer")]
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub quantity: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Movement {
    pub id: i64,
    /// received, reserved, released, sold, sold_at_counter, returned, counted, damaged,
    /// transferred_out or transferred_in.
    pub reason: String,
    pub on_hand_change: i64,
    pub reserved_change: i64,
    pub actor: String,
    pub order_id: Option<String>,
    pub note: String,
    pub at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MovementList {
    pub data: Vec<Movement>,
    /// Pass as `before` for older movements.
    pub next_before: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Available {
    pub location_id: String,
    pub name: String,
    pub distance_km: f64,
    pub available: i64,
    /// When an order placed now can be collected: the preparation time counted within
    /// the location's opening hours.
    pub ready_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AvailableList {
    /// Locations offering pickup that can promise the SKU, nearest first.
    pub data: Vec<Available>,
}

fn level_view(l: LevelRecord) -> StockLevel {
    StockLevel {
        available: l.level.available(),
        sku: l.sku,
        location_id: l.location_id.to_string(),
        on_hand: l.level.on_hand,
        reserved: l.level.reserved,
        safety: l.level.safety,
        updated_at: l.updated_at.to_rfc3339(),
    }
}

fn movement_view(m: MovementRecord) -> Movement {
    Movement {
        id: m.id,
        reason: m.reason,
        on_hand_change: m.on_hand_change,
        reserved_change: m.reserved_change,
        actor: m.actor,
        order_id: m.order_id,
        note: m.note,
        at: m.at.to_rfc3339(),
    }
}

fn location_in_path(text: &str) -> Result<LocationId, ApiError> {
    text.parse().map_err(|_| ApiError::not_found())
}

/// Stock of a SKU at every location
#[utoipa::path(get, path = "/api/v1/inventory/{sku}", tag = "commerce",
    params(("sku" = String, Path, description = "The variant's SKU")),
    responses(
        (status = 200, body = StockLevels),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn levels(
    State(state): State<AppState>,
    caller: Caller,
    Path(sku): Path<String>,
) -> Result<Json<StockLevels>, ApiError> {
    caller.require(Permission::ReadCatalogue)?;
    super::sku_in_path(&sku)?;
    let levels = state.hilo.commerce().stock(&sku).await?;
    let available = levels.iter().map(|l| l.level.available()).sum();
    Ok(Json(StockLevels {
        sku: sku.trim().to_owned(),
        data: levels.into_iter().map(level_view).collect(),
        available,
    }))
}

/// Set a SKU's stock at a location
///
/// Admins and store staff. The change is recorded as a movement with its reason and
/// actor. A count below what is promised to orders is a 409.
#[utoipa::path(put, path = "/api/v1/inventory/{sku}/{location_id}", tag = "commerce",
    params(
        ("sku" = String, Path, description = "The variant's SKU"),
        ("location_id" = String, Path, description = "The location's id"),
    ),
    request_body = StockBody,
    responses(
        (status = 200, body = StockLevel),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn set(
    State(state): State<AppState>,
    caller: Caller,
    Path((sku, location)): Path<(String, String)>,
    json: JsonBody,
) -> Result<Json<StockLevel>, ApiError> {
    caller.require(Permission::ManageInventory)?;
    super::sku_in_path(&sku)?;
    let location = location_in_path(&location)?;
    let body: StockBody = json.parse()?;
    let reason: Reason =
        serde_json::from_value(serde_json::Value::String(body.reason)).map_err(|_| {
            Invalid::new(
                "reason",
                "must be counted, received, returned, damaged, transferred_in or transferred_out",
            )
        })?;
    let level = state
        .hilo
        .commerce()
        .set_stock(
            &sku,
            location,
            StockChange {
                on_hand: body.on_hand,
                reason,
                safety: body.safety,
                note: body.note,
            },
            &caller.0,
        )
        .await?;
    Ok(Json(level_view(level)))
}

/// Move stock between locations
///
/// Admins and store staff: `transferred_out` at one, `transferred_in` at the other, in
/// one transaction.
#[utoipa::path(post, path = "/api/v1/inventory/transfers", tag = "commerce",
    request_body = TransferBody,
    responses(
        (status = 200, body = StockLevels),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn transfer(
    State(state): State<AppState>,
    caller: Caller,
    json: JsonBody,
) -> Result<Json<StockLevels>, ApiError> {
    caller.require(Permission::ManageInventory)?;
    let body: TransferBody = json.parse()?;
    let from = id_field("from_location_id", &body.from_location_id)?;
    let to = id_field("to_location_id", &body.to_location_id)?;
    let levels = state
        .hilo
        .commerce()
        .transfer(&body.sku, from, to, body.quantity, &caller.0)
        .await?;
    let available = levels.iter().map(|l| l.level.available()).sum();
    Ok(Json(StockLevels {
        sku: body.sku.trim().to_owned(),
        data: levels.into_iter().map(level_view).collect(),
        available,
    }))
}

/// A level's movements
///
/// Newest first: every change with its reason and actor, so any level can be explained.
#[utoipa::path(get, path = "/api/v1/inventory/{sku}/{location_id}/movements", tag = "commerce",
    params(
        ("sku" = String, Path, description = "The variant's SKU"),
        ("location_id" = String, Path, description = "The location's id"),
        ("before" = Option<i64>, Query, minimum = 1, description = "`next_before` of the previous page"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "Movements per page; 50 when absent"),
    ),
    responses(
        (status = 200, body = MovementList),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn movements(
    State(state): State<AppState>,
    caller: Caller,
    Path((sku, location)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<MovementList>, ApiError> {
    caller.require(Permission::ReadCatalogue)?;
    super::sku_in_path(&sku)?;
    let location = location_in_path(&location)?;
    let before = params
        .get("before")
        .map(|b| b.parse::<i64>().ok().filter(|b| *b >= 1))
        .map(|b| b.ok_or_else(|| Invalid::new("before", "must be a whole number from 1")))
        .transpose()?;
    // The nearest twenty unless asked: what a "which store near me" list shows.
    let limit = if params.contains_key("limit") {
        super::limit_param(&params)?
    } else {
        20
    };
    let rows = state
        .hilo
        .commerce()
        .movements(&sku, location, before, limit)
        .await?;
    let next_before = (rows.len() == limit as usize)
        .then(|| rows.last().map(|m| m.id))
        .flatten();
    Ok(Json(MovementList {
        data: rows.into_iter().map(movement_view).collect(),
        next_before,
    }))
}

fn coordinate(params: &HashMap<String, String>, name: &str) -> Result<f64, Invalid> {
    params
        .get(name)
        .ok_or_else(|| Invalid::new(name, "is required"))?
        .trim()
        .parse::<f64>()
        .map_err(|_| Invalid::new(name, "must be a number of degrees"))
}

/// Where a SKU can be collected
///
/// The locations offering pickup that can promise it, nearest to `lat`,`lng` first (the
/// nearest `limit`), with the distance, how many, and when an order placed now can be
/// ready: "which store near me has it, ready within the hour?"
#[utoipa::path(get, path = "/api/v1/availability", tag = "commerce",
    params(
        ("sku" = String, Query, pattern = "^\\s*[A-Za-z0-9._-]{1,64}\\s*$", description = "The variant's SKU"),
        ("lat" = f64, Query, minimum = -90, maximum = 90, description = "The customer's latitude"),
        ("lng" = f64, Query, minimum = -180, maximum = 180, description = "The customer's longitude"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "The nearest this many; 20 when absent"),
    ),
    responses(
        (status = 200, body = AvailableList),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn availability(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<AvailableList>, ApiError> {
    caller.require(Permission::ReadCatalogue)?;
    let sku = params
        .get("sku")
        .ok_or_else(|| Invalid::new("sku", "is required"))?;
    let from = Point::new(coordinate(&params, "lat")?, coordinate(&params, "lng")?)?;
    // The nearest twenty unless asked: what a "which store near me" list shows.
    let limit = if params.contains_key("limit") {
        super::limit_param(&params)?
    } else {
        20
    };
    let found = state
        .hilo
        .commerce()
        .availability(sku, from, limit as usize)
        .await?;
    Ok(Json(AvailableList {
        data: found
            .into_iter()
            .map(|a: Availability| Available {
                location_id: a.location_id.to_string(),
                name: a.name,
                distance_km: a.distance_km,
                available: a.available,
                ready_at: a.ready_at.to_rfc3339(),
            })
            .collect(),
    }))
}

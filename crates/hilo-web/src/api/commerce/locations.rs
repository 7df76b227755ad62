//! `/api/v1/locations`: stores and warehouses, where they are, when they open and what
//! they offer.

use std::collections::BTreeMap;

use axum::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use hilo_domain::commerce::location::{LocationInput, Point};
use hilo_domain::{LocationId, Permission};
use hilo_store::commerce::LocationRecord;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::api::IdPath;
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/locations", get(list).post(create))
        .route("/locations/{id}", get(show).put(replace))
        .route("/locations/{id}/staff", get(staff))
        .route(
            "/locations/{id}/staff/{member}",
            put(assign).delete(unassign),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(list, create, show, replace, staff, assign, unassign),
    components(schemas(Location, LocationList, LocationBody, StaffMember, StaffList))
)]
pub struct LocationsApi;

#[derive(Debug, Serialize, ToSchema)]
pub struct Location {
    pub id: String,
    pub name: String,
    /// store or warehouse.
    pub kind: String,
    pub address: String,
    pub lat: f64,
    pub lng: f64,
    /// IANA time zone of its opening hours.
    pub timezone: String,
    /// mon…sun → `[["09:00", "21:00"]]`; a day left out is closed; `{}` is always open.
    #[schema(value_type = Object)]
    pub opening_hours: BTreeMap<String, Vec<[String; 2]>>,
    /// pickup, ship, returns.
    pub offers: Vec<String>,
    pub pickup_prep_minutes: u32,
    /// Chosen first among equally near locations when allocating shipments.
    pub priority: i64,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LocationList {
    pub data: Vec<Location>,
}

/// A location's details, whole.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationBody {
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    #[schema(pattern = "^(store|warehouse)$")]
    pub kind: String,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub address: String,
    #[schema(minimum = -90, maximum = 90)]
    pub lat: f64,
    #[schema(minimum = -180, maximum = 180)]
    pub lng: f64,
    /// An IANA time zone such as Europe/Madrid.
    #[schema(min_length = 1, max_length = 64)]
    pub timezone: String,
    /// mon…sun → up to four `["HH:MM", "HH:MM"]` intervals; a day left out is closed;
    /// `{}` or absent is always open.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub opening_hours: BTreeMap<String, Vec<[String; 2]>>,
    /// What it does for customers: pickup, ship, returns.
    #[serde(default)]
    #[schema(max_items = 3)]
    pub offers: Vec<String>,
    /// Minutes to prepare a pickup, counted within opening hours (0 to 10080).
    #[serde(default, deserialize_with = "crate::json::whole_number")]
    #[schema(maximum = 10080)]
    pub pickup_prep_minutes: u32,
    /// -1000 to 1000; higher is chosen first among equally near locations.
    #[serde(default, deserialize_with = "crate::json::integer")]
    #[schema(minimum = -1000, maximum = 1000)]
    pub priority: i64,
}

impl LocationBody {
    fn input(self) -> Result<LocationInput, ApiError> {
        Ok(LocationInput {
            kind: self.kind.parse()?,
            point: Point::new(self.lat, self.lng)?,
            offers: self
                .offers
                .iter()
                .map(|o| o.parse())
                .collect::<Result<_, _>>()?,
            name: self.name,
            address: self.address,
            timezone: self.timezone,
            opening_hours: self.opening_hours,
            pickup_prep_minutes: self.pickup_prep_minutes,
            priority: self.priority,
        })
    }
}

pub fn view(l: LocationRecord) -> Location {
    Location {
        id: l.id.to_string(),
        name: l.name,
        kind: l.kind.as_str().to_owned(),
        address: l.address,
        lat: l.point.lat,
        lng: l.point.lng,
        timezone: l.timezone,
        opening_hours: l.opening_hours,
        offers: l.offers.iter().map(|o| o.as_str().to_owned()).collect(),
        pickup_prep_minutes: l.pickup_prep_minutes,
        priority: l.priority,
        created_at: l.created_at.to_rfc3339(),
        updated_at: l.updated_at.to_rfc3339(),
    }
}

/// List locations
///
/// Every store and warehouse, by name. Any staff role or key.
#[utoipa::path(get, path = "/api/v1/locations", tag = "commerce",
    responses(
        (status = 200, body = LocationList),
        (status = 401, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<LocationList>, ApiError> {
    caller.require(Permission::ReadCatalogue)?;
    let data = state.hilo.commerce().locations().await?;
    Ok(Json(LocationList {
        data: data.into_iter().map(view).collect(),
    }))
}

/// Create a location
///
/// Admins only.
#[utoipa::path(post, path = "/api/v1/locations", tag = "commerce",
    request_body = LocationBody,
    responses(
        (status = 201, body = Location),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    json: JsonBody,
) -> Result<(StatusCode, Json<Location>), ApiError> {
    caller.require(Permission::ManageCatalogue)?;
    let body: LocationBody = json.parse()?;
    let location = state.hilo.commerce().create_location(body.input()?).await?;
    Ok((StatusCode::CREATED, Json(view(location))))
}

/// Get a location
#[utoipa::path(get, path = "/api/v1/locations/{id}", tag = "commerce",
    params(("id" = String, Path, description = "The location's id")),
    responses(
        (status = 200, body = Location),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<LocationId>,
) -> Result<Json<Location>, ApiError> {
    caller.require(Permission::ReadCatalogue)?;
    Ok(Json(view(state.hilo.commerce().location(id.id()?).await?)))
}

/// Replace a location's details
///
/// Admins only. Its stock and orders stay.
#[utoipa::path(put, path = "/api/v1/locations/{id}", tag = "commerce",
    params(("id" = String, Path, description = "The location's id")),
    request_body = LocationBody,
    responses(
        (status = 200, body = Location),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<LocationId>,
    json: JsonBody,
) -> Result<Json<Location>, ApiError> {
    caller.require(Permission::ManageCatalogue)?;
    let id = id.id()?;
    let body: LocationBody = json.parse()?;
    let location = state
        .hilo
        .commerce()
        .update_location(id, body.input()?)
        .await?;
    Ok(Json(view(location)))
}

/// A user or an API key bound to a store's desk.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffMember {
    /// `user:<id>` or `api_key:<id>`.
    pub member: String,
    pub location_id: String,
    pub assigned_by: String,
    pub assigned_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffList {
    pub data: Vec<StaffMember>,
}

fn staff_view(s: hilo_store::commerce::StaffRecord) -> StaffMember {
    StaffMember {
        member: s.member,
        location_id: s.location_id.to_string(),
        assigned_by: s.assigned_by,
        assigned_at: s.assigned_at.to_rfc3339(),
    }
}

/// List a store's staff
///
/// The users and keys bound to this store's desk. Admins only.
#[utoipa::path(get, path = "/api/v1/locations/{id}/staff", tag = "commerce",
    params(("id" = String, Path, description = "The location's id")),
    responses(
        (status = 200, body = StaffList),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn staff(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<LocationId>,
) -> Result<Json<StaffList>, ApiError> {
    caller.require(Permission::ManageUsers)?;
    let data = state.hilo.commerce().staff_of(id.id()?).await?;
    Ok(Json(StaffList {
        data: data.into_iter().map(staff_view).collect(),
    }))
}

/// Bind a user or a key to a store's desk
///
/// Admins only. A bound member hands over pickups, moves fulfilments, receives returns
/// and sells at the counter only at this store (others answer 403 naming its store);
/// stock lookup and orders for customers stay open everywhere. A member bound to
/// another store moves here. One bound to none works every store's desk.
#[utoipa::path(put, path = "/api/v1/locations/{id}/staff/{member}", tag = "commerce",
    params(
        ("id" = String, Path, description = "The location's id"),
        ("member" = String, Path, description = "`user:<id>` or `api_key:<id>` of an existing user or unrevoked key"),
    ),
    responses(
        (status = 200, body = StaffMember),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, member)): Path<(String, String)>,
) -> Result<Json<StaffMember>, ApiError> {
    caller.require(Permission::ManageUsers)?;
    let id: LocationId = id.parse().map_err(|_| ApiError::not_found())?;
    let record = state
        .hilo
        .commerce()
        .assign_staff(id, &member, &caller.0)
        .await?;
    Ok(Json(staff_view(record)))
}

/// Free a user or a key from a store's desk
///
/// Admins only. It then works every store's desk its role allows.
#[utoipa::path(delete, path = "/api/v1/locations/{id}/staff/{member}", tag = "commerce",
    params(
        ("id" = String, Path, description = "The location's id"),
        ("member" = String, Path, description = "`user:<id>` or `api_key:<id>`"),
    ),
    responses(
        (status = 204),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn unassign(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, member)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageUsers)?;
    let id: LocationId = id.parse().map_err(|_| ApiError::not_found())?;
    state.hilo.commerce().unassign_staff(id, &member).await?;
    Ok(StatusCode::NO_CONTENT)
}

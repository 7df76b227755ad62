//! `GET/PUT /api/v1/sla` (admins): first response and resolution targets, and the
//! business hours they are counted in.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use hilo_domain::Permission;
use hilo_domain::conversations::sla::{BusinessHours, SlaSettings};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{OpenApi, ToSchema};

use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/sla", get(show).put(replace))
}

#[derive(OpenApi)]
#[openapi(paths(show, replace), components(schemas(SlaBody)))]
pub struct SlaApi;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaBody {
    /// Minutes (of business hours, when set) to the first reply; `null`: no target.
    #[schema(minimum = 1, maximum = 100800)]
    #[serde(default, deserialize_with = "crate::json::optional_whole_number")]
    pub first_response_minutes: Option<u32>,
    /// Minutes (of business hours, when set) to resolution; `null`: no target.
    #[schema(minimum = 1, maximum = 100800)]
    #[serde(default, deserialize_with = "crate::json::optional_whole_number")]
    pub resolution_minutes: Option<u32>,
    /// `{"time_zone": "Europe/Madrid", "days": {"mon": [["09:00", "14:00"], ["15:00",
    /// "18:00"]], …}}` (days mon to sun; a day left out is closed); `null`: the clock
    /// always runs.
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    pub business_hours: Option<Value>,
}

fn body(settings: SlaSettings) -> SlaBody {
    SlaBody {
        first_response_minutes: settings.first_response_minutes,
        resolution_minutes: settings.resolution_minutes,
        business_hours: settings
            .business_hours
            .and_then(|h| serde_json::to_value(h).ok()),
    }
}

/// Service level targets
#[utoipa::path(get, path = "/api/v1/sla", tag = "conversations",
    responses(
        (status = 200, body = SlaBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<SlaBody>, ApiError> {
    caller.require(Permission::ManageChannels)?;
    Ok(Json(body(state.hilo.conversations().sla_settings().await?)))
}

/// Set the service level targets
///
/// Admins only. Conversations opened from then on get their due times: the first
/// response within `first_response_minutes`, the resolution within
/// `resolution_minutes`, counted in `business_hours` when given. A conversation shows
/// its `sla` with a breach flag for each, and the inbox lists the breached with
/// `sla_breached=true`.
#[utoipa::path(put, path = "/api/v1/sla", tag = "conversations", request_body = SlaBody,
    responses(
        (status = 200, body = SlaBody),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    json: JsonBody,
) -> Result<Json<SlaBody>, ApiError> {
    caller.require(Permission::ManageChannels)?;
    let given: SlaBody = json.parse()?;
    let business_hours = match given.business_hours {
        None | Some(Value::Null) => None,
        Some(value) => Some(serde_json::from_value::<BusinessHours>(value).map_err(|_| {
            hilo_domain::Invalid::new(
                "business_hours",
                "must be {\"time_zone\": \"Europe/Madrid\", \"days\": {\"mon\": [[\"09:00\", \"18:00\"]]}}",
            )
        })?),
    };
    let settings = state
        .hilo
        .conversations()
        .set_sla_settings(SlaSettings {
            first_response_minutes: given.first_response_minutes,
            resolution_minutes: given.resolution_minutes,
            business_hours,
        })
        .await?;
    Ok(Json(body(settings)))
}

//! `GET/PUT /api/v1/csat` (admins): whether resolved conversations' customers are
//! asked to rate them, and with what question.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use hilo_domain::Permission;
use hilo_domain::conversations::csat::{CsatSettings, DEFAULT_QUESTION};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/csat", get(show).put(replace))
}

#[derive(OpenApi)]
#[openapi(paths(show, replace), components(schemas(CsatBody)))]
pub struct CsatApi;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CsatBody {
    /// Ask the customer to rate each conversation when it is resolved.
    pub enabled: bool,
    /// The question, sent on the channel the customer last wrote on; `null` for the
    /// default (in Spanish and English, asking for 1 to 5).
    #[schema(min_length = 1, max_length = 1000, pattern = "\\S")]
    #[serde(default)]
    pub question: Option<String>,
}

fn body(settings: CsatSettings) -> CsatBody {
    CsatBody {
        enabled: settings.enabled,
        question: Some(settings.question().to_owned()).filter(|q| q != DEFAULT_QUESTION),
    }
}

/// Satisfaction surveys
#[utoipa::path(get, path = "/api/v1/csat", tag = "conversations",
    responses(
        (status = 200, body = CsatBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<CsatBody>, ApiError> {
    caller.require(Permission::ManageChannels)?;
    Ok(Json(body(
        state.hilo.conversations().csat_settings().await?,
    )))
}

/// Turn satisfaction surveys on or off
///
/// Admins only. When on, resolving a conversation sends its customer the question on
/// the channel they last wrote on; an answer that is only a rating (`4`, `4/5`,
/// `5 estrellas`, `⭐⭐⭐`) within three days is the conversation's `csat.rating`, and an
/// item of type `survey` on the customer's timeline.
#[utoipa::path(put, path = "/api/v1/csat", tag = "conversations", request_body = CsatBody,
    responses(
        (status = 200, body = CsatBody),
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
) -> Result<Json<CsatBody>, ApiError> {
    caller.require(Permission::ManageChannels)?;
    let given: CsatBody = json.parse()?;
    let settings = state
        .hilo
        .conversations()
        .set_csat_settings(CsatSettings {
            enabled: given.enabled,
            question: given.question,
        })
        .await?;
    Ok(Json(body(settings)))
}

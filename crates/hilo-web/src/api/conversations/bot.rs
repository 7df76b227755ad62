//! The seam for bots: `GET/PUT /api/v1/bot` (admins) turns bots on for new
//! conversations; `POST /api/v1/conversations/{id}/handoff` hands one to people.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use hilo_domain::conversations::bot::BotSettings;
use hilo_domain::{ConversationId, Permission};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::threads::{ConversationWithMessages, full_view};
use crate::api::IdPath;
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/bot", get(show).put(replace))
        .route("/threading", get(threading).put(set_threading))
        .route("/conversations/{id}/handoff", post(handoff))
}

#[derive(OpenApi)]
#[openapi(
    paths(show, replace, handoff, threading, set_threading),
    components(schemas(BotBody, Handoff, Threading))
)]
pub struct BotApi;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BotBody {
    /// New conversations start with status `bot`: a bot answers first.
    pub enabled: bool,
    /// How long a bot may stay silent after a customer's message before the
    /// conversation goes to people.
    #[schema(minimum = 5, maximum = 3600)]
    #[serde(deserialize_with = "crate::json::whole_number")]
    pub timeout_seconds: u32,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Handoff {
    /// Why people take over; kept in the audit trail.
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f\u{85}][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub reason: String,
}

/// How a customer's messages are threaded.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Threading {
    /// `per_customer` (the default): one open conversation, whatever the channel, so a
    /// message on another channel joins it. `per_channel`: one per channel.
    #[schema(pattern = "^(per_customer|per_channel)$")]
    pub mode: String,
}

fn threading_body(per_channel: bool) -> Threading {
    Threading {
        mode: if per_channel {
            "per_channel"
        } else {
            "per_customer"
        }
        .to_owned(),
    }
}

/// How conversations are threaded
#[utoipa::path(get, path = "/api/v1/threading", tag = "conversations",
    responses(
        (status = 200, body = Threading),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn threading(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Threading>, ApiError> {
    caller.require(Permission::ManageChannels)?;
    Ok(Json(threading_body(
        state.hilo.conversations().threads_per_channel().await?,
    )))
}

/// Choose how conversations are threaded
///
/// Admins only. Applies to messages from now on; conversations already open stay as
/// they are.
#[utoipa::path(put, path = "/api/v1/threading", tag = "conversations", request_body = Threading,
    responses(
        (status = 200, body = Threading),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn set_threading(
    State(state): State<AppState>,
    caller: Caller,
    json: JsonBody,
) -> Result<Json<Threading>, ApiError> {
    caller.require(Permission::ManageChannels)?;
    let given: Threading = json.parse()?;
    let per_channel = match given.mode.as_str() {
        "per_customer" => false,
        "per_channel" => true,
        _ => {
            return Err(
                hilo_domain::Invalid::new("mode", "must be per_customer or per_channel").into(),
            );
        }
    };
    let per_channel = state
        .hilo
        .conversations()
        .set_threads_per_channel(per_channel)
        .await?;
    Ok(Json(threading_body(per_channel)))
}

fn body(settings: BotSettings) -> BotBody {
    BotBody {
        enabled: settings.enabled,
        timeout_seconds: settings.timeout_seconds,
    }
}

/// The bot settings
#[utoipa::path(get, path = "/api/v1/bot", tag = "conversations",
    responses(
        (status = 200, body = BotBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<BotBody>, ApiError> {
    caller.require(Permission::ManageChannels)?;
    Ok(Json(body(state.hilo.conversations().bot_settings().await?)))
}

/// Replace the bot settings
///
/// Admins only. They apply to conversations that begin from now on.
#[utoipa::path(put, path = "/api/v1/bot", tag = "conversations", request_body = BotBody,
    responses(
        (status = 200, body = BotBody),
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
) -> Result<Json<BotBody>, ApiError> {
    caller.require(Permission::ManageChannels)?;
    let given: BotBody = json.parse()?;
    let settings = state
        .hilo
        .conversations()
        .set_bot_settings(BotSettings {
            enabled: given.enabled,
            timeout_seconds: given.timeout_seconds,
        })
        .await?;
    Ok(Json(body(settings)))
}

/// Hand a conversation from its bot to people
///
/// Admins and agents (a bot's key has the agent role). The conversation becomes
/// `open`, with the reason in its audit trail. 409 when no bot has it.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/handoff", tag = "conversations",
    params(("id" = String, Path, description = "Conversation id")),
    request_body = Handoff,
    responses(
        (status = 200, body = ConversationWithMessages),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn handoff(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<ConversationId>,
    json: JsonBody,
) -> Result<Json<ConversationWithMessages>, ApiError> {
    let principal = caller.require(Permission::WorkConversations)?;
    let given: Handoff = json.parse()?;
    let id = id.id()?;
    let view = state
        .hilo
        .conversations()
        .handoff(id, &given.reason, &principal.actor())
        .await?;
    Ok(Json(full_view(view)))
}

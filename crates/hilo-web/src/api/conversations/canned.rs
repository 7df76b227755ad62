//! Canned replies: `/api/v1/canned-replies` — admins keep them; agents list them by the
//! shortcut they are typing, filled for a conversation's customer.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, patch};
use axum::{Json, Router};
use hilo_app::conversations::canned::CannedView;
use hilo_domain::{ConversationId, Permission};
use hilo_store::conversations::CannedReply;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/canned-replies", get(list).post(create))
        .route("/canned-replies/{id}", patch(change).delete(delete))
}

#[derive(OpenApi)]
#[openapi(
    paths(list, create, change, delete),
    components(schemas(Canned, CannedList, NewCanned, CannedChange))
)]
pub struct CannedApi;

#[derive(Debug, Serialize, ToSchema)]
pub struct Canned {
    pub id: String,
    /// What an agent types after `/`.
    pub shortcut: String,
    /// The text with its placeholders.
    pub content: String,
    /// With `conversation_id`: the text filled for its customer and for the caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rendered: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CannedList {
    pub data: Vec<Canned>,
}

/// A new canned reply.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCanned {
    #[schema(
        min_length = 1,
        max_length = 41,
        pattern = "^/?[\\p{L}\\p{N}_-]{1,40}$"
    )]
    pub shortcut: String,
    /// Up to 4,096 characters; placeholders `{{customer.first_name}}`,
    /// `{{customer.name}}`, `{{customer.email}}`, `{{customer.phone}}`,
    /// `{{customer.traits.KEY}}`, `{{agent.name}}`, each with an optional default after
    /// a bar (`{{customer.first_name|cliente}}`).
    #[schema(min_length = 1, max_length = 4096)]
    pub content: String,
}

/// A change: a field left out stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CannedChange {
    #[schema(
        min_length = 1,
        max_length = 41,
        pattern = "^/?[\\p{L}\\p{N}_-]{1,40}$"
    )]
    pub shortcut: Option<String>,
    #[schema(min_length = 1, max_length = 4096)]
    pub content: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(
    dead_code,
    reason = "the handler reads the query itself; this states it"
)]
pub struct CannedQuery {
    /// Only shortcuts that start with this (what the agent has typed after `/`).
    #[param(required = false, max_length = 41)]
    q: Option<String>,
    /// Fill each for this conversation's customer.
    #[param(required = false, value_type = String, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    conversation_id: Option<String>,
}

fn view(reply: CannedReply, rendered: Option<String>) -> Canned {
    Canned {
        id: reply.id,
        shortcut: reply.shortcut,
        content: reply.content,
        rendered,
        created_at: reply.created_at.to_rfc3339(),
        updated_at: reply.updated_at.to_rfc3339(),
    }
}

/// List canned replies
///
/// Admins and agents. By shortcut; `q` narrows to shortcuts starting with it, and
/// `conversation_id` fills each for that conversation's customer (404 if there is no
/// such conversation).
#[utoipa::path(get, path = "/api/v1/canned-replies", tag = "conversations",
    params(CannedQuery),
    responses(
        (status = 200, body = CannedList),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<CannedList>, ApiError> {
    let principal = caller.require(Permission::ReadConversations)?;
    let prefix = params.get("q").map_or("", String::as_str);
    if prefix.chars().count() > 41 {
        return Err(hilo_domain::Invalid::new("q", "must be at most 41 characters").into());
    }
    let conversation = params
        .get("conversation_id")
        .map(|id| super::id_field::<ConversationId>("conversation_id", id))
        .transpose()?;
    let replies = state
        .hilo
        .conversations()
        .canned_replies(prefix, conversation, principal)
        .await?;
    Ok(Json(CannedList {
        data: replies
            .into_iter()
            .map(|CannedView { reply, rendered }| view(reply, rendered))
            .collect(),
    }))
}

/// Create a canned reply
///
/// Admins only. 409 when another has the shortcut; 400 for a placeholder that is not
/// one.
#[utoipa::path(post, path = "/api/v1/canned-replies", tag = "conversations", request_body = NewCanned,
    responses(
        (status = 201, body = Canned),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    json: JsonBody,
) -> Result<(StatusCode, Json<Canned>), ApiError> {
    caller.require(Permission::ManageChannels)?;
    let given: NewCanned = json.parse()?;
    let reply = state
        .hilo
        .conversations()
        .create_canned_reply(&given.shortcut, &given.content)
        .await?;
    Ok((StatusCode::CREATED, Json(view(reply, None))))
}

/// Change a canned reply
#[utoipa::path(patch, path = "/api/v1/canned-replies/{id}", tag = "conversations",
    params(("id" = String, Path, description = "Canned reply id")),
    request_body = CannedChange,
    responses(
        (status = 200, body = Canned),
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
    Path(id): Path<String>,
    json: JsonBody,
) -> Result<Json<Canned>, ApiError> {
    caller.require(Permission::ManageChannels)?;
    let given: CannedChange = json.parse()?;
    let reply = state
        .hilo
        .conversations()
        .change_canned_reply(&id, given.shortcut.as_deref(), given.content.as_deref())
        .await?;
    Ok(Json(view(reply, None)))
}

/// Delete a canned reply
#[utoipa::path(delete, path = "/api/v1/canned-replies/{id}", tag = "conversations",
    params(("id" = String, Path, description = "Canned reply id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageChannels)?;
    state.hilo.conversations().delete_canned_reply(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

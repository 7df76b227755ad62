//! Corrections: `POST /api/v1/conversations/{id}/merge`, `…/move`, and
//! `POST /api/v1/conversation-moves/{id}/undo`.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use hilo_app::conversations::moves::Corrected;
use hilo_domain::{ConversationId, CustomerId, MessageId, Permission};
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
        .route("/conversations/{id}/merge", post(merge))
        .route("/conversations/{id}/move", post(move_to))
        .route("/messages/{id}/move", post(move_message))
        .route("/conversation-moves/{id}/undo", post(undo))
}

#[derive(OpenApi)]
#[openapi(
    paths(merge, move_to, move_message, undo),
    components(schemas(MergeBody, MoveBody, CorrectedBody))
)]
pub struct MovesApi;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The conversation to merge into this one: its messages move here and it is
    /// resolved.
    #[schema(
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub conversation_id: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    /// The customer the conversation belongs to.
    #[schema(
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub customer_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CorrectedBody {
    /// Give it to `POST /api/v1/conversation-moves/{id}/undo` to undo this.
    pub move_id: String,
    pub conversation: ConversationWithMessages,
}

fn body(corrected: Corrected) -> CorrectedBody {
    CorrectedBody {
        move_id: corrected.move_id,
        conversation: full_view(corrected.conversation),
    }
}

/// Merge another conversation into this one
///
/// Admins and agents. Both must be the same customer's (move one first otherwise:
/// 409). The other conversation's messages move here and it is resolved; undo with the
/// `move_id`.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/merge", tag = "conversations",
    params(("id" = String, Path, description = "The conversation kept")),
    request_body = MergeBody,
    responses(
        (status = 200, body = CorrectedBody),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn merge(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<ConversationId>,
    json: JsonBody,
) -> Result<Json<CorrectedBody>, ApiError> {
    let principal = caller.require(Permission::WorkConversations)?;
    let given: MergeBody = json.parse()?;
    let id = id.id()?;
    let other = super::id_field::<ConversationId>("conversation_id", &given.conversation_id)?;
    let corrected = state
        .hilo
        .conversations()
        .merge(id, other, principal)
        .await?;
    Ok(Json(body(corrected)))
}

/// Move a conversation to another customer
///
/// Admins and agents, when a message was linked to the wrong person: the conversation,
/// its messages and their timeline items go to `customer_id`. Undo with the `move_id`.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/move", tag = "conversations",
    params(("id" = String, Path, description = "Conversation id")),
    request_body = MoveBody,
    responses(
        (status = 200, body = CorrectedBody),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn move_to(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<ConversationId>,
    json: JsonBody,
) -> Result<Json<CorrectedBody>, ApiError> {
    let principal = caller.require(Permission::WorkConversations)?;
    let given: MoveBody = json.parse()?;
    let id = id.id()?;
    let customer = super::id_field::<CustomerId>("customer_id", &given.customer_id)?;
    let corrected = state
        .hilo
        .conversations()
        .move_to(id, customer, principal)
        .await?;
    Ok(Json(body(corrected)))
}

/// Undo a merge or a move
///
/// Admins and agents. The messages go back where they were (a merged conversation
/// gets its status back). 409 when undone already.
#[utoipa::path(post, path = "/api/v1/conversation-moves/{id}/undo", tag = "conversations",
    params(("id" = String, Path, description = "The `move_id` of a merge or a move")),
    responses(
        (status = 200, body = ConversationWithMessages),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn undo(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<hilo_domain::MessageId>,
) -> Result<Json<ConversationWithMessages>, ApiError> {
    let principal = caller.require(Permission::WorkConversations)?;
    let id = id.id()?;
    let view = state
        .hilo
        .conversations()
        .undo(&id.to_string(), principal)
        .await?;
    Ok(Json(full_view(view)))
}

/// Move one message to another customer
///
/// Admins and agents, when one message was linked to the wrong person: it goes, with
/// its timeline item, into that customer's open conversation (or a new one); the
/// answer is that conversation. A note stays with its conversation (409), as does a
/// message already that customer's (409). Undo with the `move_id`.
#[utoipa::path(post, path = "/api/v1/messages/{id}/move", tag = "conversations",
    params(("id" = String, Path, description = "Message id")),
    request_body = MoveBody,
    responses(
        (status = 200, body = CorrectedBody),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn move_message(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<MessageId>,
    json: JsonBody,
) -> Result<Json<CorrectedBody>, ApiError> {
    let principal = caller.require(Permission::WorkConversations)?;
    let given: MoveBody = json.parse()?;
    let id = id.id()?;
    let customer = super::id_field::<CustomerId>("customer_id", &given.customer_id)?;
    let corrected = state
        .hilo
        .conversations()
        .move_message(id, customer, principal)
        .await?;
    Ok(Json(body(corrected)))
}

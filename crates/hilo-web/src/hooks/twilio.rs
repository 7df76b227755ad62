//! `POST /webhooks/twilio/{channel_id}`: Twilio's messages, status callbacks and voice
//! webhooks, signed with `X-Twilio-Signature`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hilo_domain::ChannelId;

use crate::api::IdPath;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/twilio/{id}", post(receive))
}

/// Twilio posts form fields; the answer is TwiML (empty: no automatic reply). A bad or
/// missing signature is a 401 and stores nothing.
async fn receive(
    State(state): State<AppState>,
    id: IdPath<ChannelId>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let id = id.id()?;
    let body = body.map_err(|_| super::too_large())?;
    let request = super::hook_request(&state, &uri, &headers, &body);
    let answer = state
        .hilo
        .conversations()
        .receive_hook("twilio", id, &request)
        .await?;
    Ok(([(header::CONTENT_TYPE, answer.content_type)], answer.body).into_response())
}

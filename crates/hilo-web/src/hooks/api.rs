//! `POST /webhooks/api/{channel_id}`: any other system's messages, signed as Standard
//! Webhooks sign with the channel's `signing_secret`.

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
    Router::new().route("/api/{id}", post(receive))
}

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
        .receive_hook("api", id, &request)
        .await?;
    Ok(([(header::CONTENT_TYPE, answer.content_type)], answer.body).into_response())
}

//! `/webhooks/meta/{channel_id}`: WhatsApp Cloud API, Messenger and Instagram. `GET`
//! answers Meta's subscription handshake; `POST` takes events signed with
//! `X-Hub-Signature-256` over the raw body.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hilo_domain::ChannelId;

use crate::api::IdPath;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/meta/{id}", get(handshake).post(receive))
}

/// Echoes `hub.challenge` when `hub.mode` is `subscribe` and `hub.verify_token` is the
/// channel's; 403 otherwise.
async fn handshake(
    State(state): State<AppState>,
    id: IdPath<ChannelId>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let id = id.id()?;
    let param = |name: &str| params.get(name).map(String::as_str);
    let challenge = state
        .hilo
        .conversations()
        .meta_handshake(
            id,
            param("hub.mode"),
            param("hub.verify_token"),
            param("hub.challenge"),
        )
        .await?;
    Ok(([(header::CONTENT_TYPE, "text/plain")], challenge).into_response())
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
        .receive_hook("meta", id, &request)
        .await?;
    Ok(([(header::CONTENT_TYPE, answer.content_type)], answer.body).into_response())
}

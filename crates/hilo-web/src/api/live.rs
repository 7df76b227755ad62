//! `GET /api/v1/live`: the live events of every node, as server-sent events, for the
//! people who answer customers (new messages, delivery, conversation changes, calls).

use std::convert::Infallible;

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::Stream;
use hilo_domain::Permission;
use tokio::sync::broadcast::error::RecvError;
use utoipa::OpenApi;

use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/live", get(live))
}

#[derive(OpenApi)]
#[openapi(paths(live))]
pub struct LiveApi;

/// Live events
///
/// Admins and agents. A `text/event-stream` that stays open: each event's name is its
/// type (`message.created`, `message.updated`, `conversation.updated`, `call.started`,
/// `call.ended`) and its data a JSON object. `lagged` says events were missed (the
/// reader fell behind): read the API again. A comment every 15 s keeps proxies from
/// closing it.
#[utoipa::path(get, path = "/api/v1/live", tag = "conversations",
    responses(
        (status = 200, description = "Server-sent events", content_type = "text/event-stream", body = String),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn live(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    caller.require(Permission::ReadConversations)?;
    let receiver = state.hilo.subscribe_live();
    let events = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let event = match receiver.recv().await {
            Ok(event) => Event::default()
                .event(event.kind.clone())
                .data(event.data.to_string()),
            Err(RecvError::Lagged(missed)) => Event::default()
                .event("lagged")
                .data(format!("{{\"missed\":{missed}}}")),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), receiver))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15))))
}

//! The web chat widget: `GET /widget.js`, the script a site embeds with one tag, and
//! `GET /widget/{channel_id}/socket`, the WebSocket it talks over. Who a visitor is
//! and what they may read is decided by the conversations part
//! (`hilo_app::conversations::web_chat`); this is the transport.

mod socket;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::{ApiError, AppState};

/// The widget, plain JavaScript written for Hilo (no build step).
const WIDGET_JS: &str = include_str!("widget.js");

/// Largest frame a visitor may send: a message of the longest length, escaped.
const MAX_FRAME: usize = 64 * 1024;
/// Each socket's read buffer; longer frames are read in several pieces.
const SOCKET_BUFFER: usize = 4 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/widget.js", get(script))
        .route("/widget/{channel_id}/socket", get(connect))
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            // Sites load it from their own pages.
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        WIDGET_JS,
    )
        .into_response()
}

/// Opens a visitor's socket: 404 unless the channel is a web chat, 403 from a page
/// whose origin the channel does not list. Who the visitor is comes in the first
/// frame, never in the URL.
async fn connect(
    State(state): State<AppState>,
    Path(channel_id): Path<String>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok());
    let channel = state
        .hilo
        .conversations()
        .chat_channel(&channel_id, origin)
        .await?;
    // Small buffers: a visitor's frames are short, and a busy site holds thousands of
    // sockets (the 128 KiB default read buffer alone was most of a socket's memory).
    Ok(upgrade
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(0)
        .max_message_size(MAX_FRAME)
        .max_frame_size(MAX_FRAME)
        .on_upgrade(move |socket| socket::serve(socket, state, channel)))
}

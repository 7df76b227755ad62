//! What any request must respect before a handler sees it: a path and query of at most
//! 8 KiB (414), at most 100 headers and 64 KiB of them (431), and a body that keeps
//! arriving (408 after a pause of `body_timeout`). Each answer is the API's JSON error.
//! The listener (`hilo::listener`) bounds connections and the time to send headers.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use crate::error::ErrorCode;
use crate::{ApiError, AppState};

/// Longest path and query taken.
pub const MAX_URI: usize = 8 * 1024;
/// Most headers taken.
pub const MAX_HEADERS: usize = 100;
/// Most bytes of header names and values taken.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

pub async fn enforce(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let uri = request
        .uri()
        .path_and_query()
        .map_or(0, |path| path.as_str().len());
    if uri > MAX_URI {
        return ApiError::new(
            ErrorCode::UriTooLong,
            format!("the path and query are longer than {MAX_URI} bytes"),
        )
        .into_response();
    }
    let headers = request.headers();
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers.len() > MAX_HEADERS || header_bytes > MAX_HEADER_BYTES {
        return ApiError::new(
            ErrorCode::HeadersTooLarge,
            format!("send at most {MAX_HEADERS} headers and {MAX_HEADER_BYTES} bytes of them"),
        )
        .into_response();
    }
    if !has_body(&request) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    match read_in_time(body, state.config.body_limit, state.config.body_timeout).await {
        Ok(body) => next.run(Request::from_parts(parts, body)).await,
        Err(answer) => answer,
    }
}

/// How much of an oversized body is read and dropped before the 413.
const DRAIN: usize = 8 * 1024 * 1024;

/// Reads and drops up to `most` bytes more of `body`, while it keeps coming.
async fn drain(body: &mut Body, most: usize, pause: std::time::Duration) {
    let mut dropped = 0;
    while dropped < most {
        match tokio::time::timeout(pause, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                dropped += frame.data_ref().map_or(0, Bytes::len);
            }
            _ => return,
        }
    }
}

fn has_body(request: &Request) -> bool {
    let headers = request.headers();
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|length| length.to_str().ok())
            .is_some_and(|length| length.trim() != "0")
}

/// Reads the body while it keeps coming, up to `limit` bytes (routes may take less).
async fn read_in_time(
    mut body: Body,
    limit: usize,
    pause: std::time::Duration,
) -> Result<Body, Response> {
    let mut read: Vec<Bytes> = Vec::new();
    let mut length = 0;
    loop {
        let frame = match tokio::time::timeout(pause, body.frame()).await {
            Err(_) => {
                let mut answer = ApiError::new(
                    ErrorCode::RequestTimeout,
                    format!(
                        "the request body stopped arriving for {} s; send it whole",
                        pause.as_secs()
                    ),
                )
                .into_response();
                answer
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
                return Err(answer);
            }
            Ok(None) => break,
            Ok(Some(Err(_))) => {
                return Err(ApiError::invalid("body", "could not be read").into_response());
            }
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            length += data.len();
            read.push(data);
            if length > limit {
                // Read on (and drop) a fair amount more, so a client still sending its
                // body reads this answer instead of a broken connection.
                drain(&mut body, DRAIN, pause).await;
                let mut answer = ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    "the request body is larger than this server accepts",
                )
                .into_response();
                // What is left unread leaves the connection unfit for another request.
                answer
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
                return Err(answer);
            }
        }
    }
    Ok(match read.len() {
        0 => Body::empty(),
        1 => Body::from(read.remove(0)),
        _ => Body::from(read.concat()),
    })
}

//! `/webhooks/…`: what providers post to Hilo, in their own wire formats. Each route
//! hands the raw request to the conversations part, which verifies it with the
//! channel's secret before reading anything.

mod api;
mod meta;
mod twilio;

use axum::Router;
use axum::http::{HeaderMap, Uri};
use hilo_app::conversations::providers::HookRequest;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(api::routes())
        .merge(meta::routes())
        .merge(twilio::routes())
}

/// The request as the provider made it: the URL it was given (under the public URL,
/// which is what it signs), its headers and its body.
fn hook_request(state: &AppState, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> HookRequest {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    HookRequest {
        url: format!("{}{path}", state.config.public_url),
        headers: headers
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect(),
        body: body.to_vec(),
    }
}

/// A body over the server's limit.
fn too_large() -> crate::ApiError {
    crate::ApiError::new(
        crate::error::ErrorCode::PayloadTooLarge,
        "the body is larger than this server accepts",
    )
}

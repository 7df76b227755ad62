//! `GET /api/v1/attachments/{id}`: an email's attachment, for the people who answer.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hilo_domain::Permission;
use utoipa::OpenApi;

use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/attachments/{id}", get(download))
}

#[derive(OpenApi)]
#[openapi(paths(download))]
pub struct AttachmentsApi;

/// Types a browser may show as they are; anything else is offered as bytes to save.
const SHOWN_AS_IS: [&str; 6] = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
];

/// Download an attachment
///
/// Admins and agents. An email's attachment as it arrived, offered as a file to save
/// (`Content-Disposition: attachment`) and sandboxed, so nothing in it runs as Hilo's
/// page. Attachments larger than 10 MiB (or past 25 MiB for one email) are listed on
/// the message without an id and not kept.
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "conversations",
    params(("id" = String, Path, description = "Attachment id")),
    responses(
        (status = 200, description = "The attachment's bytes", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ReadConversations)?;
    let attachment = state.hilo.conversations().attachment(&id).await?;
    let content_type = if SHOWN_AS_IS.contains(&attachment.content_type.as_str()) {
        attachment.content_type.clone()
    } else {
        "application/octet-stream".to_owned()
    };
    let filename: String = attachment
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox".to_owned(),
            ),
        ],
        attachment.data,
    )
        .into_response())
}

//! `/api/v1/sources`: where events come from, each with a write key.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hilo_domain::{Permission, SourceChannel, SourceId};
use hilo_store::access::sources::SourceRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{IdPath, List, Paging};
use crate::auth::Caller;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

#[derive(Debug, Serialize, ToSchema)]
pub struct Source {
    pub id: String,
    pub name: String,
    /// web, app, pos, kiosk, call_center, voice_assistant or server.
    pub channel: String,
    /// The first characters of the write key, to tell keys apart.
    pub write_key_prefix: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedSource {
    #[serde(flatten)]
    pub source: Source,
    /// The write key, shown only in this response. Send it as the HTTP Basic user of
    /// the collection API.
    pub write_key: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSource {
    #[schema(
        max_length = 100,
        pattern = "^[^\\x00-\\x1F\\x7F-\\x9F]*[^\\s\\x00-\\x1F\\x7F-\\x9F][^\\x00-\\x1F\\x7F-\\x9F]*$"
    )]
    pub name: String,
    /// web, app, pos, kiosk, call_center, voice_assistant or server.
    #[schema(pattern = "^(web|app|pos|kiosk|call_center|voice_assistant|server)$")]
    pub channel: String,
}

fn view(record: SourceRecord) -> Source {
    Source {
        id: record.id.to_string(),
        name: record.name,
        channel: record.channel.to_string(),
        write_key_prefix: record.write_key_prefix,
        created_at: record.created_at.to_rfc3339(),
    }
}

/// Create a source
///
/// Admins only. The response holds the write key; it is never shown again.
#[utoipa::path(post, path = "/api/v1/sources", tag = "sources", request_body = NewSource,
    responses(
        (status = 201, body = CreatedSource),
        (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody,
) -> Result<(StatusCode, Json<CreatedSource>), ApiError> {
    caller.require(Permission::ManageSources)?;
    let body: NewSource = body.parse()?;
    let channel: SourceChannel = body.channel.parse()?;
    let (record, write_key) = state
        .hilo
        .access()
        .create_source(&body.name, channel)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedSource {
            source: view(record),
            write_key: write_key.expose().to_owned(),
        }),
    ))
}

/// List sources
#[utoipa::path(get, path = "/api/v1/sources", tag = "sources", params(Paging),
    responses(
        (status = 200, body = List<Source>),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    paging: Paging,
) -> Result<Json<List<Source>>, ApiError> {
    caller.require(Permission::ReadSources)?;
    let page = state.hilo.access().list_sources(&paging.request).await?;
    Ok(Json(List::from_page(page, view)))
}

/// Get a source
#[utoipa::path(get, path = "/api/v1/sources/{id}", tag = "sources",
    params(("id" = String, Path, description = "Source id")),
    responses(
        (status = 200, body = Source),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<SourceId>,
) -> Result<Json<Source>, ApiError> {
    caller.require(Permission::ReadSources)?;
    let id = id.id()?;
    Ok(Json(view(state.hilo.access().source(id).await?)))
}

/// Delete a source
///
/// Admins only. Its write key stops working at once.
#[utoipa::path(delete, path = "/api/v1/sources/{id}", tag = "sources",
    params(("id" = String, Path, description = "Source id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<SourceId>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageSources)?;
    let id = id.id()?;
    state.hilo.access().delete_source(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

//! `/api/v1/keys`: secret API keys, for admins.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hilo_domain::{ApiKeyId, Permission, Role};
use hilo_store::access::api_keys::ApiKeyRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{IdPath, List, Paging};
use crate::auth::Caller;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    /// admin, agent, marketer, store, read_only or storefront (the shop's backend).
    pub role: String,
    /// The first characters of the key, to tell keys apart.
    pub prefix: String,
    pub created_by: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub api_key: ApiKey,
    /// The secret key, shown only in this response. Send it as
    /// `Authorization: Bearer <key>`.
    pub key: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// Something a person recognises in a list.
    #[schema(
        max_length = 100,
        pattern = "^[^\\x00-\\x1F\\x7F-\\x9F]*[^\\s\\x00-\\x1F\\x7F-\\x9F][^\\x00-\\x1F\\x7F-\\x9F]*$"
    )]
    pub name: String,
    /// admin, agent, marketer, store, read_only or storefront (the shop's backend).
    #[schema(pattern = "^(admin|agent|marketer|store|read_only|storefront)$")]
    pub role: String,
}

pub fn view(record: ApiKeyRecord) -> ApiKey {
    ApiKey {
        id: record.id.to_string(),
        name: record.name,
        role: record.role.to_string(),
        prefix: record.prefix,
        created_by: record.created_by,
        created_at: record.created_at.to_rfc3339(),
        last_used_at: record.last_used_at.map(|t| t.to_rfc3339()),
        revoked_at: record.revoked_at.map(|t| t.to_rfc3339()),
    }
}

/// Create an API key
///
/// Admins only. The response holds the secret key; it is never shown again.
#[utoipa::path(post, path = "/api/v1/keys", tag = "access", request_body = NewApiKey,
    responses(
        (status = 201, body = CreatedApiKey),
        (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    let principal = caller.require(Permission::ManageApiKeys)?;
    let body: NewApiKey = body.parse()?;
    let role: Role = body.role.parse()?;
    let (record, secret) = state
        .hilo
        .access()
        .create_key(&body.name, role, Some(principal.actor()))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedApiKey {
            api_key: view(record),
            key: secret.expose().to_owned(),
        }),
    ))
}

/// List API keys
///
/// Admins only. Revoked keys are listed with `revoked_at` set.
#[utoipa::path(get, path = "/api/v1/keys", tag = "access", params(Paging),
    responses(
        (status = 200, body = List<ApiKey>),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    paging: Paging,
) -> Result<Json<List<ApiKey>>, ApiError> {
    caller.require(Permission::ManageApiKeys)?;
    let page = state.hilo.access().list_keys(&paging.request).await?;
    Ok(Json(List::from_page(page, view)))
}

/// Get an API key
#[utoipa::path(get, path = "/api/v1/keys/{id}", tag = "access",
    params(("id" = String, Path, description = "Key id")),
    responses(
        (status = 200, body = ApiKey),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<ApiKeyId>,
) -> Result<Json<ApiKey>, ApiError> {
    caller.require(Permission::ManageApiKeys)?;
    let id = id.id()?;
    Ok(Json(view(state.hilo.access().key(id).await?)))
}

/// Revoke an API key
///
/// Admins only. The key stops working at once; revoking it again changes nothing.
#[utoipa::path(delete, path = "/api/v1/keys/{id}", tag = "access",
    params(("id" = String, Path, description = "Key id")),
    responses(
        (status = 200, body = ApiKey),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<ApiKeyId>,
) -> Result<Json<ApiKey>, ApiError> {
    caller.require(Permission::ManageApiKeys)?;
    let id = id.id()?;
    Ok(Json(view(state.hilo.access().revoke_key(id).await?)))
}

//! `GET /api/v1/me`: who the credentials belong to.

use axum::Json;
use hilo_domain::{Permission, Principal};
use serde::Serialize;
use utoipa::ToSchema;

use crate::ApiError;
use crate::auth::Caller;

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// `api_key` or `user`.
    pub kind: String,
    pub id: String,
    pub role: String,
    /// The console user's email; absent for API keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Who am I
///
/// The identity and role of the credentials sent. Write keys may not call it.
#[utoipa::path(get, path = "/api/v1/me", tag = "access",
    responses(
        (status = 200, body = Me),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn me(caller: Caller) -> Result<Json<Me>, ApiError> {
    let me = match caller.require(Permission::ReadOwnIdentity)? {
        Principal::ApiKey { id, role } => Me {
            kind: "api_key".into(),
            id: id.to_string(),
            role: role.to_string(),
            email: None,
        },
        Principal::User { id, email, role } => Me {
            kind: "user".into(),
            id: id.to_string(),
            role: role.to_string(),
            email: Some(email.to_string()),
        },
        Principal::WriteKey { .. } => return Err(ApiError::forbidden()),
    };
    Ok(Json(me))
}

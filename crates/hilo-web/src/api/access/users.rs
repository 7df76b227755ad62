//! `/api/v1/users`: console users, for admins.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hilo_domain::{Permission, Role, Secret};
use hilo_store::access::users::UserRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{List, Paging};
use crate::auth::Caller;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

#[derive(Debug, Serialize, ToSchema)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    /// admin, agent, marketer, store or read_only.
    pub role: String,
    pub created_at: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schema(
        max_length = 254,
        pattern = "^\\s*[^@\\s\\x00-\\x1f\\x7f-\\x9f]+@[^@\\s\\x00-\\x1f\\x7f-\\x9f.][^@\\s\\x00-\\x1f\\x7f-\\x9f]*[.][^@\\s\\x00-\\x1f\\x7f-\\x9f]*[^@\\s\\x00-\\x1f\\x7f-\\x9f.]\\s*$"
    )]
    pub email: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub name: String,
    /// admin, agent, marketer, store or read_only.
    #[schema(pattern = "^(admin|agent|marketer|store|read_only)$")]
    pub role: String,
    /// 10 to 256 characters.
    #[schema(min_length = 10, max_length = 256)]
    pub password: String,
}

fn view(record: UserRecord) -> User {
    User {
        id: record.id.to_string(),
        email: record.email.to_string(),
        name: record.name,
        role: record.role.to_string(),
        created_at: record.created_at.to_rfc3339(),
    }
}

/// Create a console user
///
/// Admins only.
#[utoipa::path(post, path = "/api/v1/users", tag = "access", request_body = NewUser,
    responses(
        (status = 201, body = User),
        (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody,
) -> Result<(StatusCode, Json<User>), ApiError> {
    caller.require(Permission::ManageUsers)?;
    let body: NewUser = body.parse()?;
    let role: Role = body.role.parse()?;
    let password = Secret::new(body.password);
    let user = state
        .hilo
        .access()
        .create_user(&body.email, &body.name, role, &password)
        .await?;
    Ok((StatusCode::CREATED, Json(view(user))))
}

/// List console users
///
/// Admins only.
#[utoipa::path(get, path = "/api/v1/users", tag = "access", params(Paging),
    responses(
        (status = 200, body = List<User>),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    paging: Paging,
) -> Result<Json<List<User>>, ApiError> {
    caller.require(Permission::ManageUsers)?;
    let page = state.hilo.access().list_users(&paging.request).await?;
    Ok(Json(List::from_page(page, view)))
}

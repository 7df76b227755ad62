//! Access: who am I, sources and their write keys, API keys, console users.

pub mod keys;
pub mod me;
pub mod sources;
pub mod users;

use axum::Router;
use axum::routing::get;
use utoipa::OpenApi;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/me", get(me::me))
        .route("/sources", get(sources::list).post(sources::create))
        .route("/sources/{id}", get(sources::get).delete(sources::delete))
        .route("/keys", get(keys::list).post(keys::create))
        .route("/keys/{id}", get(keys::get).delete(keys::revoke))
        .route("/users", get(users::list).post(users::create))
}

#[derive(OpenApi)]
#[openapi(paths(
    me::me,
    sources::create,
    sources::list,
    sources::get,
    sources::delete,
    keys::create,
    keys::list,
    keys::get,
    keys::revoke,
    users::create,
    users::list,
))]
pub struct AccessApi;

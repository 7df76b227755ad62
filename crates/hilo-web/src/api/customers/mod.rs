//! Customers: profiles, lookup and search, the timeline, edits, consent, unmerge,
//! export and erasure, and the identity rules.

pub mod identity;
pub mod profiles;

use axum::Router;
use axum::routing::{get, post};
use utoipa::OpenApi;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers", get(profiles::search).post(profiles::create))
        .route("/customers/lookup", get(profiles::lookup))
        .route("/customers/{id}", get(profiles::get).patch(profiles::patch))
        .route("/customers/{id}/timeline", get(profiles::timeline))
        .route("/customers/{id}/unmerge", post(profiles::unmerge))
        .route("/customers/{id}/consent", post(profiles::consent))
        .route("/customers/{id}/export", get(profiles::export))
        .route("/customers/{id}/erase", post(profiles::erase))
        .route(
            "/identity/rules",
            get(identity::get_rules).put(identity::put_rules),
        )
        .route("/identity/conflicts", get(identity::conflicts))
}

#[derive(OpenApi)]
#[openapi(paths(
    profiles::get,
    profiles::create,
    profiles::lookup,
    profiles::search,
    profiles::timeline,
    profiles::patch,
    profiles::unmerge,
    profiles::consent,
    profiles::export,
    profiles::erase,
    identity::get_rules,
    identity::put_rules,
    identity::conflicts,
))]
pub struct CustomersApi;

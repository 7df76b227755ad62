//! Operations endpoints: liveness, readiness, metrics.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use crate::error::ErrorCode;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// Liveness
///
/// The process is up and answering. No credentials needed.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Alive", body = Object, example = json!({"status": "ok"}))))]
pub async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"status": "ok"}))
}

/// Readiness
///
/// The process can serve: its database answers. No credentials needed.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Object, example = json!({"status": "ready"})),
        (status = 503, description = "The database is unreachable", body = crate::error::ErrorBody),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    match state.hilo.store().ping().await {
        Ok(()) => Ok(axum::Json(json!({"status": "ready"}))),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            Err(ApiError::new(
                ErrorCode::Unavailable,
                "the database is not reachable",
            ))
        }
    }
}

/// Metrics
///
/// Prometheus text exposition: requests by route and status, latency histograms, database
/// pool usage, the job queue (depth per kind and status, the oldest due job's wait, failures).
/// Labels take only known methods and routes (anything else is `other`), so no caller
/// can grow it. Open unless the server has a metrics token (`HILO_METRICS_TOKEN`): then
/// only `Authorization: Bearer <token>` reads it.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
        (status = 401, description = "A metrics token is set and the request does not bear it", body = crate::error::ErrorBody)))]
pub async fn metrics(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    if let Some(token) = &state.config.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or("");
        if !hilo_domain::secret::constant_time_eq(given.trim(), token.expose()) {
            return Err(ApiError::new(
                ErrorCode::Unauthorized,
                "these metrics need the metrics token: Authorization: Bearer <token>",
            ));
        }
    }
    let mut body = state.metrics.render(state.hilo.store().pool_usage());
    crate::metrics::render_jobs(&mut body, &state.hilo).await;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    ))
}

//! Hilo's HTTP surface: the JSON API under `/api/v1`, the console under `/console`,
//! operations endpoints (`/healthz`, `/readyz`, `/metrics`) and the OpenAPI document.
//!
//! [`router`] builds everything from an [`AppState`]; the binary only binds a listener.

pub mod api;
mod auth;
pub mod client_ip;
pub mod collect;
mod console;
mod error;
mod hooks;
mod json;
pub mod limits;
mod metrics;
pub mod openapi;
mod ops;
mod request_id;
mod widget;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use hilo_app::Hilo;
use hilo_app::collect::ingest::Ingestor;

pub use error::ApiError;
pub use metrics::Metrics;

/// Settings the HTTP layer needs.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The base URL the outside world uses, without a trailing slash.
    pub public_url: String,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// How long a request's body may pause between two pieces.
    pub body_timeout: std::time::Duration,
    /// When set, `/metrics` asks for `Authorization: Bearer <token>`.
    pub metrics_token: Option<hilo_domain::Secret>,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: client_ip::TrustedProxies,
}

impl WebConfig {
    /// Cookies carry `Secure` when people reach Hilo over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// Everything a request handler may use.
#[derive(Clone)]
pub struct AppState {
    pub hilo: Hilo,
    pub ingestor: Ingestor,
    pub config: Arc<WebConfig>,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    /// The state of a running server; starts the ingestion writer.
    pub fn new(hilo: Hilo, config: WebConfig) -> Self {
        Self {
            ingestor: Ingestor::start(hilo.clone()),
            hilo,
            config: Arc::new(config),
            metrics: Arc::new(Metrics::default()),
        }
    }
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.body_limit;
    Router::new()
        .merge(ops::routes())
        .nest("/api/v1", api::routes())
        .nest("/v1", collect::routes())
        .nest("/webhooks", hooks::routes())
        .nest("/console", console::routes())
        .merge(widget::routes())
        .route("/", axum::routing::get(console::to_console))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .route_layer(middleware::from_fn(metrics::remember_route))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            limits::enforce,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::record,
        ))
        .layer(middleware::from_fn(request_id::tag_and_log))
        .with_state(state)
}

//! Prometheus metrics: requests by route and status, a latency histogram, and the
//! database pool, rendered in the text exposition format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The route template a request matched (`/api/v1/sources/{id}`), passed from the
/// router to the outer layers through the response.
#[derive(Debug, Clone)]
pub struct RouteName(pub String);

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
}

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut requests) = self.requests.lock() {
            *requests
                .entry((method.to_owned(), route.to_owned(), status))
                .or_default() += 1;
        }
        if let Ok(mut latency) = self.latency.lock() {
            let histogram = latency
                .entry((method.to_owned(), route.to_owned()))
                .or_default();
            for (bound, count) in BUCKETS.iter().zip(histogram.counts.iter_mut()) {
                if seconds <= *bound {
                    *count += 1;
                }
            }
            histogram.count += 1;
            histogram.sum += seconds;
        }
    }

    /// The text exposition of every metric.
    pub fn render(&self, pool: hilo_store::PoolUsage) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# HELP hilo_build_info Version of the running server.");
        let _ = writeln!(out, "# TYPE hilo_build_info gauge");
        let _ = writeln!(
            out,
            "hilo_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        let _ = writeln!(
            out,
            "# HELP hilo_http_requests_total HTTP requests answered."
        );
        let _ = writeln!(out, "# TYPE hilo_http_requests_total counter");
        if let Ok(requests) = self.requests.lock() {
            for ((method, route, status), count) in requests.iter() {
                let _ = writeln!(
                    out,
                    "hilo_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
                    escape(route)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP hilo_http_request_duration_seconds Time to answer HTTP requests."
        );
        let _ = writeln!(out, "# TYPE hilo_http_request_duration_seconds histogram");
        if let Ok(latency) = self.latency.lock() {
            for ((method, route), histogram) in latency.iter() {
                let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
                for (bound, count) in BUCKETS.iter().zip(histogram.counts.iter()) {
                    let _ = writeln!(
                        out,
                        "hilo_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                    );
                }
                let _ = writeln!(
                    out,
                    "hilo_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                    histogram.count
                );
                let _ = writeln!(
                    out,
                    "hilo_http_request_duration_seconds_sum{{{labels}}} {}",
                    histogram.sum
                );
                let _ = writeln!(
                    out,
                    "hilo_http_request_duration_seconds_count{{{labels}}} {}",
                    histogram.count
                );
            }
        }
        for (name, help, value) in [
            (
                "hilo_db_pool_connections",
                "Open database connections.",
                pool.connections,
            ),
            (
                "hilo_db_pool_idle_connections",
                "Idle database connections.",
                pool.idle,
            ),
            (
                "hilo_db_pool_max_connections",
                "Largest pool size allowed.",
                pool.max,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            let _ = writeln!(out, "{name} {value}");
        }
        out
    }
}

/// The job queue: depth per kind and status, how long the oldest due job has waited,
/// and this node's failed attempts and dead jobs. A database that cannot answer leaves
/// the queue out rather than failing the scrape.
pub async fn render_jobs(out: &mut String, hilo: &hilo_app::Hilo) {
    let report = match hilo.queue_report().await {
        Ok(report) => report,
        Err(error) => {
            tracing::warn!(%error, "metrics: cannot read the job queue");
            return;
        }
    };
    let _ = writeln!(out, "# HELP hilo_jobs Jobs kept, by kind and status.");
    let _ = writeln!(out, "# TYPE hilo_jobs gauge");
    for (kind, depth) in &report.depth {
        for (status, count) in [
            ("pending", depth.pending),
            ("running", depth.running),
            ("dead", depth.dead),
        ] {
            let _ = writeln!(
                out,
                "hilo_jobs{{kind=\"{kind}\",status=\"{status}\"}} {count}"
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP hilo_jobs_oldest_due_seconds How long the longest-waiting due job has waited."
    );
    let _ = writeln!(out, "# TYPE hilo_jobs_oldest_due_seconds gauge");
    let age = report.oldest_due_age_millis.unwrap_or(0) as f64 / 1000.0;
    let _ = writeln!(out, "hilo_jobs_oldest_due_seconds {age}");
    let counters = hilo.job_counters();
    for (name, help, count) in [
        (
            "hilo_job_failures_total",
            "Failed job attempts on this node.",
            &(|kind| counters.failed(kind)) as &dyn Fn(hilo_domain::jobs::JobKind) -> u64,
        ),
        (
            "hilo_jobs_dead_total",
            "Jobs that failed their last attempt on this node.",
            &|kind| counters.dead(kind),
        ),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} counter");
        for (kind, _) in &report.depth {
            let _ = writeln!(out, "{name}{{kind=\"{kind}\"}} {}", count(*kind));
        }
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The label of anything a caller could make up.
const OTHER: &str = "other";

/// Standard methods by name; any other (a caller may send any token) is `other`.
fn method_label(method: &axum::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => OTHER,
    }
}

/// Inner layer: passes the matched route template outwards.
pub async fn remember_route(path: Option<MatchedPath>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if let Some(path) = path {
        response
            .extensions_mut()
            .insert(RouteName(path.as_str().to_owned()));
    }
    response
}

/// Outer layer: counts and times every request.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    // Route templates are the router's own; a path that matched none is `other`.
    let route = response
        .extensions()
        .get::<RouteName>()
        .map_or(OTHER, |r| r.0.as_str());
    state.metrics.observe(
        method,
        route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

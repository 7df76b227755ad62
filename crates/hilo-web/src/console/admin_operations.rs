//! Administration of what runs behind the scenes: outbound webhooks with their delivery
//! log, and the job queue with a retry for dead jobs.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hilo_domain::jobs::JobStatus;
use hilo_domain::{JobId, PageRequest, Permission};
use serde::Deserialize;

use super::conversations::short_time;
use super::shell::{Area, Shell, Staff, failure, render};
use super::texts::Texts;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/webhooks", get(webhooks))
        .route("/admin/jobs", get(jobs))
        .route("/admin/jobs/{id}/retry", post(retry))
}

/// Attempts shown under each endpoint.
const ATTEMPTS_SHOWN: u32 = 20;

#[derive(Template)]
#[template(path = "admin/webhooks.html")]
struct WebhooksPage {
    t: &'static Texts,
    shell: Shell,
    endpoints: Vec<EndpointLine>,
}

struct EndpointLine {
    url: String,
    description: String,
    events: String,
    state: String,
    attempts: Vec<AttemptLine>,
}

struct AttemptLine {
    at: String,
    event: &'static str,
    status: String,
    duration_ms: i64,
    succeeded: bool,
    response: String,
}

async fn webhooks(State(state): State<AppState>, staff: Staff) -> Response {
    if let Some(refused) = staff.refused_unless(Permission::ManageWebhooks) {
        return refused;
    }
    let t = staff.t;
    let page = PageRequest {
        limit: PageRequest::MAX_LIMIT,
        after: None,
    };
    let hooks = state.hilo.webhooks();
    let found = match hooks.list(&page).await {
        Ok(found) => found,
        Err(error) => return failure(error, t),
    };
    let mut endpoints = Vec::with_capacity(found.items.len());
    for endpoint in found.items {
        let recent = PageRequest {
            limit: ATTEMPTS_SHOWN,
            after: None,
        };
        let attempts = match hooks.attempts(endpoint.id, &recent).await {
            Ok(attempts) => attempts.items,
            Err(error) => return failure(error, t),
        };
        let state = match (&endpoint.disabled_at, &endpoint.failing_since) {
            (Some(at), _) => format!(
                "{} {} ({})",
                t.admin.disabled,
                short_time(*at),
                endpoint.disabled_reason.clone().unwrap_or_default()
            ),
            (None, Some(since)) => format!("{} {}", t.admin.failing_since, short_time(*since)),
            (None, None) => t.admin.healthy.to_owned(),
        };
        endpoints.push(EndpointLine {
            url: endpoint.url,
            description: endpoint.description,
            events: endpoint
                .events
                .iter()
                .map(|e| e.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            state,
            attempts: attempts
                .into_iter()
                .map(|a| AttemptLine {
                    at: short_time(a.at),
                    event: a.event_type.as_str(),
                    status: a
                        .status_code
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "—".into()),
                    duration_ms: a.duration_ms,
                    succeeded: a.succeeded,
                    response: a.response.chars().take(200).collect(),
                })
                .collect(),
        });
    }
    let page = WebhooksPage {
        t,
        shell: staff.shell(Area::Admin),
        endpoints,
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
struct JobsQuery {
    /// dead (the default), pending, running, done, or `all`.
    status: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/jobs.html")]
struct JobsPage {
    t: &'static Texts,
    shell: Shell,
    status: String,
    statuses: Vec<&'static str>,
    jobs: Vec<JobLine>,
}

struct JobLine {
    id: String,
    kind: &'static str,
    status: &'static str,
    attempts: String,
    error: String,
    at: String,
    retryable: bool,
}

async fn jobs(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<JobsQuery>,
) -> Response {
    if let Some(refused) = staff.refused_unless(Permission::ManageJobs) {
        return refused;
    }
    let t = staff.t;
    let status_text = query.status.unwrap_or_else(|| "dead".to_owned());
    let status = match status_text.as_str() {
        "all" => None,
        text => match text.parse::<JobStatus>() {
            Ok(status) => Some(status),
            Err(error) => return failure(error.into(), t),
        },
    };
    let page = PageRequest {
        limit: PageRequest::MAX_LIMIT,
        after: None,
    };
    let found = match state.hilo.list_jobs(status, &page).await {
        Ok(found) => found,
        Err(error) => return failure(error, t),
    };
    let jobs = found
        .items
        .into_iter()
        .map(|job| JobLine {
            id: job.id.to_string(),
            kind: job.kind.as_str(),
            status: job.status.as_str(),
            attempts: format!("{}/{}", job.attempts, job.max_attempts),
            error: job
                .last_error
                .unwrap_or_default()
                .chars()
                .take(300)
                .collect(),
            at: short_time(job.updated_at),
            retryable: matches!(job.status, JobStatus::Dead | JobStatus::Pending),
        })
        .collect();
    let page = JobsPage {
        t,
        shell: staff.shell(Area::Admin),
        status: status_text,
        statuses: vec!["dead", "pending", "running", "done", "all"],
        jobs,
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
struct RetryForm {
    #[serde(default)]
    csrf: String,
}

async fn retry(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<RetryForm>,
) -> Response {
    let job: JobId = match staff.form_target(Permission::ManageJobs, &form.csrf, &id) {
        Ok(job) => job,
        Err(refused) => return *refused,
    };
    match state.hilo.retry_job(job).await {
        Ok(_) => Redirect::to("/console/admin/jobs").into_response(),
        Err(error) => failure(error, staff.t),
    }
}

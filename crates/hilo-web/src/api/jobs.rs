//! `/api/v1/jobs`: the durable job queue, for admins.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use hilo_domain::jobs::JobStatus;
use hilo_domain::{JobId, Permission};
use hilo_store::jobs::JobRecord;
use serde::Serialize;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{IdPath, List, Paging};
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/jobs", get(list))
        .route("/jobs/{id}/retry", post(retry))
}

#[derive(OpenApi)]
#[openapi(paths(list, retry), components(schemas(Job)))]
pub struct JobsApi;

#[derive(Debug, Serialize, ToSchema)]
pub struct Job {
    pub id: String,
    /// What the job does, e.g. `webhook.delivery`.
    pub kind: String,
    /// pending, running, done or dead.
    pub status: String,
    /// What the job works on.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// When it runs next (pending), or ran last.
    pub run_at: String,
    /// Attempts made, the running one included.
    pub attempts: u32,
    pub max_attempts: u32,
    /// Why the latest attempt failed.
    pub last_error: Option<String>,
    /// While running: when its worker's lease ends and another worker may take it.
    pub locked_until: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

fn view(job: JobRecord) -> Job {
    Job {
        id: job.id.to_string(),
        kind: job.kind.to_string(),
        status: job.status.to_string(),
        payload: job.payload,
        run_at: job.run_at.to_rfc3339(),
        attempts: job.attempts,
        max_attempts: job.max_attempts,
        last_error: job.last_error,
        locked_until: job.locked_until.map(|t| t.to_rfc3339()),
        created_at: job.created_at.to_rfc3339(),
        updated_at: job.updated_at.to_rfc3339(),
    }
}

/// `status` of the jobs list.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusFilter {
    /// Only jobs in this state; all when absent.
    #[param(required = false, value_type = String, pattern = "^(pending|running|done|dead)$")]
    pub status: Option<String>,
}

/// List jobs
///
/// Admins only. Oldest first.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "operations", params(StatusFilter, Paging),
    responses(
        (status = 200, body = List<Job>),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
    paging: Paging,
) -> Result<Json<List<Job>>, ApiError> {
    caller.require(Permission::ManageJobs)?;
    let status = params
        .get("status")
        .map(|s| s.parse::<JobStatus>())
        .transpose()?;
    let page = state.hilo.list_jobs(status, &paging.request).await?;
    Ok(Json(List::from_page(page, view)))
}

/// Retry a job
///
/// Admins only. A dead (or waiting) job runs now, with one more attempt. A running or
/// done job answers 409.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/retry", tag = "operations",
    params(("id" = String, Path, description = "Job id")),
    responses(
        (status = 200, body = Job),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<JobId>,
) -> Result<Json<Job>, ApiError> {
    caller.require(Permission::ManageJobs)?;
    let id = id.id()?;
    Ok(Json(view(state.hilo.retry_job(id).await?)))
}

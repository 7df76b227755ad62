//! Durable jobs (migration 0011): written in the transaction of what causes them,
//! claimed by any node's workers under a lease, retried, and kept when dead.

use hilo_domain::jobs::{AfterFailure, JobKind, JobStatus, LEASE_MILLIS};
use hilo_domain::{JobId, PageRequest, Timestamp};
use serde_json::Value;

use crate::tx::{Tx, on_tx};
use crate::{Store, StoreResult, corrupt, on_pool};

/// A job to write.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub kind: JobKind,
    pub payload: &'a Value,
    pub run_at: Timestamp,
    /// A second job with the same key is not written while the first is kept.
    pub idempotency_key: Option<&'a str>,
}

/// A stored job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub id: JobId,
    pub kind: JobKind,
    pub payload: Value,
    pub status: JobStatus,
    pub run_at: Timestamp,
    /// Attempts made (claims), the running one included.
    pub attempts: u32,
    pub max_attempts: u32,
    pub last_error: Option<String>,
    pub locked_until: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A job a worker holds: only the holder of `claim` may finish it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedJob {
    pub job: JobRecord,
    pub claim: String,
}

/// What an admin's retry did.
#[derive(Debug, Clone, PartialEq)]
pub enum JobRetry {
    Retried(JobRecord),
    /// Running or done: nothing to retry.
    NotRetryable(JobStatus),
    NotFound,
}

/// The queue as metrics show it, per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueDepth {
    pub pending: i64,
    pub running: i64,
    pub dead: i64,
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: String,
    kind: String,
    payload: String,
    status: String,
    run_at: i64,
    attempts: i32,
    max_attempts: i32,
    last_error: Option<String>,
    locked_until: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<JobRow> for JobRecord {
    type Error = crate::StoreError;

    fn try_from(row: JobRow) -> Result<Self, Self::Error> {
        Ok(Self {
            id: row.id.parse().map_err(|e| corrupt("job id", e))?,
            kind: row.kind.parse().map_err(|e| corrupt("job kind", e))?,
            payload: serde_json::from_str(&row.payload).map_err(|e| corrupt("job payload", e))?,
            status: row.status.parse().map_err(|e| corrupt("job status", e))?,
            run_at: Timestamp::from_millis(row.run_at),
            attempts: u32::try_from(row.attempts).unwrap_or_default(),
            max_attempts: u32::try_from(row.max_attempts).unwrap_or_default(),
            last_error: row.last_error,
            locked_until: row.locked_until.map(Timestamp::from_millis),
            created_at: Timestamp::from_millis(row.created_at),
            updated_at: Timestamp::from_millis(row.updated_at),
        })
    }
}

macro_rules! select_jobs {
    ($rest:literal) => {
        concat!(
            "SELECT id, kind, payload, status, run_at, attempts, max_attempts, last_error, \
             locked_until, created_at, updated_at FROM jobs ",
            $rest
        )
    };
}

macro_rules! returning {
    ($($sql:expr),+) => {
        concat!(
            $($sql),+,
            " RETURNING id, kind, payload, status, run_at, attempts, max_attempts, \
             last_error, locked_until, created_at, updated_at"
        )
    };
}

/// Due: pending and its time has come, or running and its lease has run out (its
/// worker died).
macro_rules! due {
    () => {
        "((status = 'pending' AND run_at <= $1) OR (status = 'running' AND locked_until <= $1))"
    };
}

impl Tx {
    /// Writes a job in this transaction, so it exists exactly when its cause commits.
    /// `None` when a job with the same idempotency key is already kept.
    pub async fn enqueue_job(
        &mut self,
        job: &NewJob<'_>,
        now: Timestamp,
    ) -> StoreResult<Option<JobId>> {
        const SQL: &str = "INSERT INTO jobs (id, kind, payload, status, run_at, attempts, \
            max_attempts, idempotency_key, created_at, updated_at) \
            VALUES ($1, $2, $3, 'pending', $4, 0, $5, $6, $7, $7) \
            ON CONFLICT (idempotency_key) DO NOTHING";
        let id = JobId::generate();
        let max_attempts = i32::try_from(job.kind.retries().attempts()).unwrap_or(i32::MAX);
        let written = on_tx!(self, |conn| sqlx::query(SQL)
            .bind(id.to_string())
            .bind(job.kind.as_str())
            .bind(job.payload.to_string())
            .bind(job.run_at.millis())
            .bind(max_attempts)
            .bind(job.idempotency_key)
            .bind(now.millis())
            .execute(conn)
            .await?
            .rows_affected());
        Ok((written == 1).then_some(id))
    }
}

impl Store {
    /// Claims up to `limit` due jobs for the worker that calls itself `claim`: each is
    /// running, one attempt more, leased for [`LEASE_MILLIS`]. On PostgreSQL, workers
    /// of several nodes skip each other's rows instead of waiting; SQLite has one
    /// writer, so the statement itself is the only claimer.
    pub async fn claim_due_jobs(
        &self,
        now: Timestamp,
        limit: u32,
        claim: &str,
    ) -> StoreResult<Vec<ClaimedJob>> {
        const SQLITE: &str = returning!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $2, \
             claim = $3, updated_at = $1 WHERE id IN (SELECT id FROM jobs WHERE ",
            due!(),
            " ORDER BY run_at LIMIT $4)"
        );
        const POSTGRES: &str = returning!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $2, \
             claim = $3, updated_at = $1 WHERE id IN (SELECT id FROM jobs WHERE ",
            due!(),
            " ORDER BY run_at LIMIT $4 FOR UPDATE SKIP LOCKED)"
        );
        let lease_end = now.plus_millis(LEASE_MILLIS).millis();
        let rows = match self {
            Self::Sqlite(pool) => {
                sqlx::query_as::<_, JobRow>(SQLITE)
                    .bind(now.millis())
                    .bind(lease_end)
                    .bind(claim)
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await?
            }
            Self::Postgres(pool) => {
                sqlx::query_as::<_, JobRow>(POSTGRES)
                    .bind(now.millis())
                    .bind(lease_end)
                    .bind(claim)
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await?
            }
        };
        let mut claimed = rows
            .into_iter()
            .map(|row| {
                Ok(ClaimedJob {
                    job: JobRecord::try_from(row)?,
                    claim: claim.to_owned(),
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        claimed.sort_by_key(|c| (c.job.run_at, c.job.id));
        Ok(claimed)
    }

    /// Marks a claimed job done; `false` when the claim was lost (its lease ran out and
    /// another worker took it).
    pub async fn complete_job(&self, job: &ClaimedJob, now: Timestamp) -> StoreResult<bool> {
        const SQL: &str = "UPDATE jobs SET status = 'done', locked_until = NULL, claim = NULL, \
            updated_at = $1 WHERE id = $2 AND claim = $3 AND status = 'running'";
        let changed = on_pool!(self, |pool| sqlx::query(SQL)
            .bind(now.millis())
            .bind(job.job.id.to_string())
            .bind(&job.claim)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(changed == 1)
    }

    /// Records a failed attempt and what follows it; `false` when the claim was lost.
    pub async fn fail_job(
        &self,
        job: &ClaimedJob,
        after: AfterFailure,
        error: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        const SQL: &str = "UPDATE jobs SET status = $1, run_at = $2, last_error = $3, \
            locked_until = NULL, claim = NULL, updated_at = $4 \
            WHERE id = $5 AND claim = $6 AND status = 'running'";
        let (status, run_at) = match after {
            AfterFailure::RetryAt(at) => (JobStatus::Pending, at),
            AfterFailure::Dead => (JobStatus::Dead, job.job.run_at),
        };
        let changed = on_pool!(self, |pool| sqlx::query(SQL)
            .bind(status.as_str())
            .bind(run_at.millis())
            .bind(error)
            .bind(now.millis())
            .bind(job.job.id.to_string())
            .bind(&job.claim)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(changed == 1)
    }

    /// Jobs in id (creation) order, of one status or all.
    pub async fn list_jobs(
        &self,
        status: Option<JobStatus>,
        page: &PageRequest,
    ) -> StoreResult<Vec<JobRecord>> {
        const SQL: &str =
            select_jobs!("WHERE ($1 = '' OR status = $1) AND id > $2 ORDER BY id LIMIT $3");
        let after = page.after.as_ref().map_or("", |c| c.as_str()).to_owned();
        let status = status.map_or("", JobStatus::as_str);
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, JobRow>(SQL)
            .bind(status)
            .bind(&after)
            .bind(i64::from(page.limit) + 1)
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(JobRecord::try_from).collect()
    }

    pub async fn job(&self, id: JobId) -> StoreResult<Option<JobRecord>> {
        const SQL: &str = select_jobs!("WHERE id = $1");
        let row = on_pool!(self, |pool| sqlx::query_as::<_, JobRow>(SQL)
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?);
        row.map(JobRecord::try_from).transpose()
    }

    /// An admin's retry: a dead or pending job runs now, with one attempt more than it
    /// has made.
    pub async fn retry_job(&self, id: JobId, now: Timestamp) -> StoreResult<JobRetry> {
        const SQL: &str = returning!(
            "UPDATE jobs SET status = 'pending', run_at = $1, max_attempts = attempts + 1, \
             locked_until = NULL, claim = NULL, updated_at = $1 \
             WHERE id = $2 AND status IN ('dead', 'pending')"
        );
        let row = on_pool!(self, |pool| sqlx::query_as::<_, JobRow>(SQL)
            .bind(now.millis())
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?);
        match row {
            Some(row) => Ok(JobRetry::Retried(row.try_into()?)),
            None => Ok(match self.job(id).await? {
                Some(job) => JobRetry::NotRetryable(job.status),
                None => JobRetry::NotFound,
            }),
        }
    }

    /// Jobs waiting, running and dead, per kind.
    pub async fn queue_depth(&self) -> StoreResult<Vec<(JobKind, QueueDepth)>> {
        const SQL: &str = "SELECT kind, status, COUNT(*) FROM jobs \
            WHERE status IN ('pending', 'running', 'dead') GROUP BY kind, status";
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, (String, String, i64)>(SQL)
            .fetch_all(pool)
            .await?);
        let mut depths: Vec<(JobKind, QueueDepth)> = JobKind::ALL
            .into_iter()
            .map(|kind| (kind, QueueDepth::default()))
            .collect();
        for (kind, status, count) in rows {
            let kind: JobKind = kind.parse().map_err(|e| corrupt("job kind", e))?;
            let status: JobStatus = status.parse().map_err(|e| corrupt("job status", e))?;
            if let Some((_, depth)) = depths.iter_mut().find(|(k, _)| *k == kind) {
                match status {
                    JobStatus::Pending => depth.pending = count,
                    JobStatus::Running => depth.running = count,
                    JobStatus::Dead => depth.dead = count,
                    JobStatus::Done => {}
                }
            }
        }
        Ok(depths)
    }

    /// When the job that has waited longest for a worker became due.
    pub async fn oldest_due_job(&self, now: Timestamp) -> StoreResult<Option<Timestamp>> {
        const SQL: &str = concat!("SELECT MIN(run_at) FROM jobs WHERE ", due!());
        let oldest = on_pool!(self, |pool| sqlx::query_scalar::<_, Option<i64>>(SQL)
            .bind(now.millis())
            .fetch_one(pool)
            .await?);
        Ok(oldest.map(Timestamp::from_millis))
    }

    /// When the next job is due (or a lease runs out), for a worker deciding how long
    /// to sleep.
    pub async fn next_job_due(&self) -> StoreResult<Option<Timestamp>> {
        const SQL: &str = "SELECT MIN(at) FROM (\
            SELECT MIN(run_at) AS at FROM jobs WHERE status = 'pending' UNION ALL \
            SELECT MIN(locked_until) FROM jobs WHERE status = 'running') AS due";
        let next = on_pool!(self, |pool| sqlx::query_scalar::<_, Option<i64>>(SQL)
            .fetch_one(pool)
            .await?);
        Ok(next.map(Timestamp::from_millis))
    }

    /// Forgets jobs done before `before`; their idempotency keys with them.
    pub async fn purge_done_jobs(&self, before: Timestamp) -> StoreResult<u64> {
        const SQL: &str = "DELETE FROM jobs WHERE status = 'done' AND updated_at < $1";
        Ok(on_pool!(self, |pool| sqlx::query(SQL)
            .bind(before.millis())
            .execute(pool)
            .await?
            .rows_affected()))
    }
}

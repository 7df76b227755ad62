//! The job runner: claims due jobs, hands each to the part that owns its kind, and
//! records success, a retry or death.
//!
//! Every node runs workers ([`spawn_workers`]); tests run none and step the runner with
//! [`Hilo::run_due_jobs`] after moving the manual clock, so retries are tested without
//! sleeping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hilo_domain::jobs::{AfterFailure, JobKind, JobStatus, after_failure};
use hilo_domain::{JobId, Page, PageRequest, Timestamp};
use hilo_store::jobs::{ClaimedJob, JobRecord, JobRetry, QueueDepth};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::{AppError, AppResult, Hilo};

/// Jobs claimed at once by one worker; they run concurrently.
const CLAIM_BATCH: u32 = 16;
/// How often an idle worker looks for jobs other nodes wrote (its own node wakes it).
const POLL: Duration = Duration::from_secs(1);
/// Done jobs are kept this long (their idempotency keys with them), then purged.
const KEEP_DONE_MILLIS: i64 = 7 * 24 * 3_600_000;

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobFailure {
    /// Worth trying again later.
    Transient(String),
    /// No retry can succeed (the job's subject is gone, its payload is unreadable).
    Permanent(String),
}

/// Counters since this node started, for metrics.
#[derive(Debug, Default)]
pub struct JobCounters {
    failed: [AtomicU64; JobKind::ALL.len()],
    dead: [AtomicU64; JobKind::ALL.len()],
}

impl JobCounters {
    fn slot(kind: JobKind) -> usize {
        JobKind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
    }

    /// Failed attempts of `kind` on this node.
    pub fn failed(&self, kind: JobKind) -> u64 {
        self.failed[Self::slot(kind)].load(Ordering::Relaxed)
    }

    /// Jobs of `kind` that died on this node.
    pub fn dead(&self, kind: JobKind) -> u64 {
        self.dead[Self::slot(kind)].load(Ordering::Relaxed)
    }
}

/// The queue as an operator watches it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueReport {
    pub depth: Vec<(JobKind, QueueDepth)>,
    /// How long the longest-waiting due job has waited, in milliseconds.
    pub oldest_due_age_millis: Option<i64>,
}

impl Hilo {
    /// Runs every job due now, in batches, until none is left due; returns how many
    /// attempts were made. A job that fails is retried later, not in this call.
    pub async fn run_due_jobs(&self) -> AppResult<usize> {
        let mut attempts = 0;
        loop {
            let claim = format!("{}:{}", self.node, uuid::Uuid::new_v4());
            let claimed = self
                .store
                .claim_due_jobs(self.now(), CLAIM_BATCH, &claim)
                .await?;
            if claimed.is_empty() {
                return Ok(attempts);
            }
            attempts += claimed.len();
            let mut running = JoinSet::new();
            for job in claimed {
                let hilo = self.clone();
                running.spawn(async move { hilo.attempt(job).await });
            }
            while let Some(finished) = running.join_next().await {
                match finished {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => tracing::error!(%error, "job bookkeeping failed"),
                    Err(error) => tracing::error!(%error, "job task failed"),
                }
            }
        }
    }

    /// One attempt of a claimed job, and its outcome recorded.
    async fn attempt(&self, job: ClaimedJob) -> AppResult<()> {
        let kind = job.job.kind;
        let outcome = if job.job.attempts > job.job.max_attempts {
            // The lease of its last attempt ran out: that worker died mid-job.
            Err(JobFailure::Permanent(
                "the worker running the last attempt stopped before it finished".into(),
            ))
        } else {
            self.run_job(&job.job).await
        };
        let now = self.now();
        let kept = match outcome {
            Ok(()) => self.store.complete_job(&job, now).await?,
            Err(failure) => {
                let (permanent, error) = match failure {
                    JobFailure::Transient(error) => (false, error),
                    JobFailure::Permanent(error) => (true, error),
                };
                let after =
                    after_failure(kind.retries(), job.job.attempts, permanent, now, jitter());
                self.job_counters.failed[JobCounters::slot(kind)].fetch_add(1, Ordering::Relaxed);
                if after == AfterFailure::Dead {
                    self.job_counters.dead[JobCounters::slot(kind)].fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(job = %job.job.id, %kind, %error, "job is dead");
                } else {
                    tracing::info!(job = %job.job.id, %kind, %error, "job failed; will retry");
                }
                let recorded = self.store.fail_job(&job, after, &error, now).await?;
                if recorded && after == AfterFailure::Dead {
                    self.job_died(&job.job).await?;
                }
                recorded
            }
        };
        if !kept {
            tracing::warn!(job = %job.job.id, %kind, "job's lease ran out before it finished");
        }
        Ok(())
    }

    /// Hands a job to the part that owns its kind: one line per kind.
    async fn run_job(&self, job: &JobRecord) -> Result<(), JobFailure> {
        match job.kind {
            JobKind::WebhookDelivery => self.webhooks().deliver(job).await,
            JobKind::ConversationSend => self.conversations().send(job).await,
            JobKind::ConversationWake => self.conversations().wake(job).await,
            JobKind::ConversationBotTimeout => self.conversations().bot_timeout(job).await,
            JobKind::ConversationAssign => self.conversations().assign_job().await,
            JobKind::ConversationCsat => self.conversations().survey_job(job).await,
            JobKind::CommercePickupExpiry => self.commerce().expire_pickup(job).await,
            JobKind::CommerceReadyNotice => self.commerce().notify_ready(job).await,
        }
    }

    /// Tells the part that owns a job that it will not run again by itself.
    async fn job_died(&self, job: &JobRecord) -> AppResult<()> {
        match job.kind {
            JobKind::WebhookDelivery => self.webhooks().delivery_died(job).await,
            JobKind::ConversationSend => self.conversations().send_died(job).await,
            JobKind::ConversationWake
            | JobKind::ConversationBotTimeout
            | JobKind::ConversationAssign
            | JobKind::ConversationCsat
            | JobKind::CommercePickupExpiry
            | JobKind::CommerceReadyNotice => Ok(()),
        }
    }

    /// Wakes this node's workers: call after committing a transaction that wrote jobs.
    pub fn jobs_written(&self) {
        self.jobs_signal.notify_one();
    }

    /// Jobs of one status (or all), oldest first.
    pub async fn list_jobs(
        &self,
        status: Option<JobStatus>,
        page: &PageRequest,
    ) -> AppResult<Page<JobRecord>> {
        let rows = self.store.list_jobs(status, page).await?;
        Ok(Page::from_rows(rows, page.limit, |job| job.id.to_string()))
    }

    /// An admin's retry of a dead (or waiting) job: it runs now, once more.
    pub async fn retry_job(&self, id: JobId) -> AppResult<JobRecord> {
        match self.store.retry_job(id, self.now()).await? {
            JobRetry::Retried(job) => {
                self.jobs_written();
                Ok(job)
            }
            JobRetry::NotRetryable(status) => Err(AppError::Conflict(format!(
                "a {status} job cannot be retried; only dead and pending jobs can"
            ))),
            JobRetry::NotFound => Err(AppError::NotFound),
        }
    }

    pub async fn queue_report(&self) -> AppResult<QueueReport> {
        let now = self.now();
        Ok(QueueReport {
            depth: self.store.queue_depth().await?,
            oldest_due_age_millis: self
                .store
                .oldest_due_job(now)
                .await?
                .map(|due| (now.millis() - due.millis()).max(0)),
        })
    }

    pub fn job_counters(&self) -> &JobCounters {
        &self.job_counters
    }
}

/// Milliseconds from `now` to `next`, at most [`POLL`].
fn wait_until(next: Option<Timestamp>, now: Timestamp) -> Duration {
    next.map_or(POLL, |next| {
        let millis = u64::try_from(next.millis() - now.millis()).unwrap_or(0);
        Duration::from_millis(millis).min(POLL)
    })
}

/// A random number in `[0, 1)` for retry jitter.
fn jitter() -> f64 {
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    let word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    f64::from(word) / (f64::from(u32::MAX) + 1.0)
}

/// Starts this node's background work until `stop` turns true: the job runner, and the
/// change feed's consumers.
pub fn spawn_workers(hilo: Hilo, stop: watch::Receiver<bool>) -> Workers {
    Workers {
        tasks: vec![
            tokio::spawn(run_jobs(hilo.clone(), stop.clone())),
            tokio::spawn(run_consumers(hilo.clone(), stop.clone())),
            tokio::spawn(read_mailboxes(hilo, stop)),
        ],
    }
}

/// Reads email channels' IMAP mailboxes, pass after pass: a pass waits on IDLE for
/// new mail where the server offers it; between passes at least [`MAILBOX_EVERY`].
async fn read_mailboxes(hilo: Hilo, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        let started = tokio::time::Instant::now();
        let idle = Some(crate::conversations::mailboxes::IDLE_AT_MOST);
        let conversations = hilo.conversations();
        tokio::select! {
            result = conversations.read_mailboxes(idle) => {
                if let Err(error) = result {
                    tracing::warn!(%error, "mailboxes not read");
                }
            }
            _ = stop.wait_for(|stop| *stop) => return,
        }
        tokio::select! {
            () = tokio::time::sleep_until(started + MAILBOX_EVERY) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
    }
}

/// The shortest time between two passes over the mailboxes (a server without IDLE
/// is polled this often).
const MAILBOX_EVERY: Duration = Duration::from_secs(30);

/// A node's running workers.
pub struct Workers {
    tasks: Vec<JoinHandle<()>>,
}

impl Workers {
    /// After the stop signal: waits up to `grace` for the workers to finish what they
    /// are doing, then cuts them off, so none is left running against a closed pool.
    /// Cut off, a consumer's batch rolls back and is read again on the next start, and
    /// a job keeps its lease until another node (or the next start) takes it.
    pub async fn finish(self, grace: Duration) {
        let deadline = tokio::time::Instant::now() + grace;
        for mut task in self.tasks {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
                let _ = task.await;
            }
        }
    }
}

/// Runs due jobs; between them, sleeps until the next is due (at most [`POLL`]) or this
/// node writes one. Only looks, without claiming, when nothing is due, so an idle
/// worker takes no write lock.
async fn run_jobs(hilo: Hilo, mut stop: watch::Receiver<bool>) {
    let mut purged_at: Option<Timestamp> = None;
    while !*stop.borrow() {
        let woken = hilo.jobs_signal.notified();
        let now = hilo.now();
        let next = match hilo.store.next_job_due().await {
            Ok(next) => next,
            Err(error) => {
                tracing::error!(%error, "job runner cannot read the queue");
                None
            }
        };
        if next.is_some_and(|due| due <= now) {
            match hilo.run_due_jobs().await {
                Ok(_) => continue,
                Err(error) => tracing::error!(%error, "job runner failed"),
            }
        }
        if purged_at.is_none_or(|at| now.millis() - at.millis() > 3_600_000) {
            purged_at = Some(now);
            if let Err(error) = hilo
                .store
                .purge_done_jobs(now.plus_millis(-KEEP_DONE_MILLIS))
                .await
            {
                tracing::warn!(%error, "could not purge done jobs");
            }
        }
        tokio::select! {
            () = woken => {}
            () = tokio::time::sleep(wait_until(next, now)) => {}
            _ = stop.changed() => {}
        }
    }
}

/// After a feed signal, consumers wait this long before reading, so a burst of commits
/// (thousands of ingestion groups a second) is read in one batch rather than one
/// transaction each: measured, consuming on every signal took the SQLite writer's lock
/// often enough to cost ingestion a quarter of its throughput.
const COALESCE: Duration = Duration::from_millis(100);

/// Runs the change feed's consumers when the feed signals (coalesced) and on every poll.
async fn run_consumers(hilo: Hilo, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        let signal = hilo.feed_signal.clone();
        let woken = signal.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        if let Err(error) = hilo.run_feed_consumers().await {
            tracing::error!(%error, "change feed consumers failed");
        }
        tokio::select! {
            () = woken => tokio::time::sleep(COALESCE).await,
            () = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_worker_sleeps_until_the_next_job_or_a_poll() {
        let now = Timestamp::from_millis(10_000);
        assert_eq!(wait_until(None, now), POLL);
        assert_eq!(
            wait_until(Some(Timestamp::from_millis(10_250)), now),
            Duration::from_millis(250)
        );
        assert_eq!(
            wait_until(Some(Timestamp::from_millis(9_000)), now),
            Duration::ZERO
        );
        assert_eq!(wait_until(Some(Timestamp::from_millis(99_000)), now), POLL);
    }

    #[test]
    fn jitter_stays_in_the_unit_interval() {
        for _ in 0..1000 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }
}

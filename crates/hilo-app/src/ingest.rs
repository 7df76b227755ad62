//! Ingestion: each message is resolved to one customer, in real time, and stored with
//! everything it changed in one transaction.
//!
//! Requests hand their messages to one writer task, which commits many requests'
//! messages together (group commit) and only then answers each request: every
//! acknowledgement follows a durable commit, and one commit serves many requests.

use std::time::Duration;

use hilo_domain::consent;
use hilo_domain::identity::{Identifier, IdentityRules};
use hilo_domain::segment::{Message, MessageType};
use hilo_domain::{CustomerId, Timestamp};
use hilo_store::Tx;
use hilo_store::customers::NewTimelineItem;
use hilo_store::privacy::NewConsent;
use hilo_store::sources::SourceRecord;
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot};
use tracing::{error, warn};

use crate::linking::{LinkOrigin, alias_target, link};
use crate::{AppError, AppResult, Hilo};

/// Messages one commit takes at most.
const GROUP_LIMIT: usize = 5_000;
/// Requests waiting for the writer before new ones are turned away with 503.
const QUEUE_DEPTH: usize = 1_024;

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Stored {
        customer: CustomerId,
    },
    /// The source sent this message id before; nothing changed.
    Duplicate,
    /// It names an erased customer: dropped, so the person is not recreated.
    Suppressed,
}

/// Why a submission was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Too much is waiting to be written: retry later.
    #[error("overloaded")]
    Overloaded,
    #[error(transparent)]
    Failed(#[from] AppError),
}

struct Job {
    source: SourceRecord,
    messages: Vec<Message>,
    reply: oneshot::Sender<AppResult<Vec<Outcome>>>,
}

/// The handle requests submit messages through.
#[derive(Clone)]
pub struct Ingestor {
    queue: mpsc::Sender<Job>,
}

impl Ingestor {
    /// Starts the writer task. It ends when every handle is dropped.
    pub fn start(hilo: Hilo) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(write_loop(hilo, jobs));
        Self { queue }
    }

    /// Stores the messages durably and says what happened to each. Returns only after
    /// the commit.
    pub async fn submit(
        &self,
        source: SourceRecord,
        messages: Vec<Message>,
    ) -> Result<Vec<Outcome>, IngestError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .try_send(Job {
                source,
                messages,
                reply,
            })
            .map_err(|_| IngestError::Overloaded)?;
        answer
            .await
            .map_err(|_| AppError::Internal("the writer stopped".into()))?
            .map_err(IngestError::Failed)
    }
}

async fn write_loop(hilo: Hilo, mut jobs: mpsc::Receiver<Job>) {
    while let Some(first) = jobs.recv().await {
        let mut group = vec![first];
        let mut count = group[0].messages.len();
        while count < GROUP_LIMIT {
            match jobs.try_recv() {
                Ok(job) => {
                    count += job.messages.len();
                    group.push(job);
                }
                Err(_) => break,
            }
        }
        match hilo.store_group(&group).await {
            Ok(outcomes) => {
                for (job, outcome) in group.into_iter().zip(outcomes) {
                    let _ = job.reply.send(Ok(outcome));
                }
            }
            Err(error) => {
                // One bad job must not fail the others: retry each on its own.
                warn!(%error, jobs = group.len(), "group commit failed; retrying jobs one by one");
                for job in group {
                    let result = hilo.store_group(std::slice::from_ref(&job)).await;
                    let result = result.map(|mut o| o.pop().unwrap_or_default());
                    if let Err(error) = &result {
                        error!(%error, "ingestion failed");
                    }
                    let _ = job.reply.send(result);
                }
            }
        }
    }
}

impl Hilo {
    /// Stores every job's messages in one transaction.
    async fn store_group(&self, group: &[Job]) -> AppResult<Vec<Vec<Outcome>>> {
        let rules = self.identity_rules().await?;
        let mut attempt = 0;
        loop {
            let result = self.try_store_group(group, &rules).await;
            match result {
                Err(AppError::Store(error)) if attempt < 3 && is_transient(&error) => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(20 * attempt)).await;
                }
                other => return other,
            }
        }
    }

    async fn try_store_group(
        &self,
        group: &[Job],
        rules: &IdentityRules,
    ) -> AppResult<Vec<Vec<Outcome>>> {
        let mut tx = self.store.begin().await?;
        // Erasures are rare: when none ever happened, no message needs checking.
        let suppressions = tx.any_suppression_exists().await?;
        let mut outcomes = Vec::with_capacity(group.len());
        for job in group {
            let mut job_outcomes = Vec::with_capacity(job.messages.len());
            for message in &job.messages {
                job_outcomes.push(
                    self.store_message(&mut tx, rules, suppressions, &job.source, message)
                        .await?,
                );
            }
            outcomes.push(job_outcomes);
        }
        tx.commit().await?;
        self.feed_signal.notify_waiters();
        Ok(outcomes)
    }

    /// Resolves one message to a customer and stores it with what it changed.
    async fn store_message(
        &self,
        tx: &mut Tx,
        rules: &IdentityRules,
        suppressions: bool,
        source: &SourceRecord,
        message: &Message,
    ) -> AppResult<Outcome> {
        if tx.timeline_has(source.id, &message.message_id).await? {
            return Ok(Outcome::Duplicate);
        }
        let now = self.now();
        let (mut identifiers, rejected) = message.identifiers(&self.settings.default_region);
        if let Some(previous) = message
            .previous_id
            .as_ref()
            .filter(|_| message.kind == MessageType::Alias)
        {
            identifiers.push(alias_target(tx, previous).await?);
        }
        if suppressions && self.is_suppressed(tx, &identifiers).await? {
            return Ok(Outcome::Suppressed);
        }
        let target = link(
            tx,
            rules,
            &identifiers,
            &rejected,
            message.timestamp,
            now,
            &LinkOrigin {
                message_id: Some(&message.message_id),
                source_id: Some(source.id),
                created_by: None,
            },
        )
        .await?
        .customer;

        for change in consent::from_segment_context(&message.context) {
            tx.record_consent(
                &uuid::Uuid::now_v7().to_string(),
                &NewConsent {
                    profile_id: target,
                    channel: change.channel.as_str(),
                    purpose: change.purpose.as_str(),
                    granted: change.granted,
                    at: message.timestamp,
                    via: source.channel.as_str(),
                    source_id: Some(source.id),
                    actor: None,
                },
            )
            .await?;
        }
        self.update_traits(tx, target, source, message, now).await?;
        let body = Value::Object(message.body.clone()).to_string();
        tx.append_timeline(&NewTimelineItem {
            profile_id: target,
            item_type: "event",
            kind: message.kind.as_str(),
            name: message.event.as_deref().or(message.name.as_deref()),
            channel: source.channel.as_str(),
            source_id: Some(source.id),
            message_id: Some(&message.message_id),
            at: message.timestamp,
            received_at: message.received_at,
            body: &body,
        })
        .await?;
        Ok(Outcome::Stored { customer: target })
    }

    /// Applies an identify message's traits to the customer's own fragment: the newest
    /// timestamp wins per trait. Other messages leave the profile row alone (activity is
    /// read from the timeline).
    async fn update_traits(
        &self,
        tx: &mut Tx,
        target: CustomerId,
        source: &SourceRecord,
        message: &Message,
        now: Timestamp,
    ) -> AppResult<()> {
        if message.kind != MessageType::Identify {
            return Ok(());
        }
        // RudderStack's SDKs send identify traits in context.traits only.
        let context_traits: Vec<(&String, &Value)> = match message.context.get("traits") {
            Some(Value::Object(map)) => map
                .iter()
                .filter(|(k, _)| !message.traits.contains_key(*k))
                .collect(),
            _ => Vec::new(),
        };
        if message.traits.is_empty() && context_traits.is_empty() {
            return Ok(());
        }
        let Some(mut row) = tx.profile(target).await? else {
            return Err(AppError::Internal(format!("profile {target} vanished")));
        };
        let at = message.timestamp.millis();
        let by = format!("source:{}", source.id);
        let mut traits: Map<String, Value> = serde_json::from_str(&row.traits).unwrap_or_default();
        let mut changed = Vec::new();
        for (key, value) in message.traits.iter().chain(context_traits) {
            if apply_trait(&mut traits, key, value, at, &by) {
                changed.push(key.clone());
            }
        }
        if changed.is_empty() {
            return Ok(());
        }
        row.traits = Value::Object(traits).to_string();
        row.updated_at = now.millis();
        tx.save_profile(&row).await?;
        let data = json!({"traits": changed});
        tx.record_change("profile.traits", target, &data.to_string(), now)
            .await?;
        Ok(())
    }
}

impl Hilo {
    /// Whether a message names an erased customer.
    async fn is_suppressed(&self, tx: &mut Tx, identifiers: &[Identifier]) -> AppResult<bool> {
        let key = self.suppression_key().await?;
        let digests: Vec<String> = identifiers
            .iter()
            .map(|i| crate::privacy::suppression_digest(&key, i))
            .collect();
        Ok(tx.any_suppressed(&digests).await?)
    }
}

/// Sets a trait unless a newer value is already stored. Returns whether it changed.
pub fn apply_trait(
    traits: &mut Map<String, Value>,
    key: &str,
    value: &Value,
    at: i64,
    by: &str,
) -> bool {
    let newer_stored = traits
        .get(key)
        .and_then(|t| t.get("t"))
        .and_then(Value::as_i64)
        .is_some_and(|stored| stored > at);
    if newer_stored {
        return false;
    }
    let same = traits.get(key).and_then(|t| t.get("v")) == Some(value);
    traits.insert(key.to_owned(), json!({"v": value, "t": at, "by": by}));
    !same
}

fn is_transient(error: &hilo_store::StoreError) -> bool {
    let text = error.to_string();
    text.contains("database is locked")
        || text.contains("deadlock")
        || text.contains("could not serialize")
}

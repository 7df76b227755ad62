//! Ingestion: each message is resolved to one customer, in real time, and stored with
//! everything it changed in one transaction.
//!
//! Requests hand their messages to one writer task, which commits many requests'
//! messages together (group commit) and only then answers each request: every
//! acknowledgement follows a durable commit, and one commit serves many requests.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use hilo_domain::identity::{self, Claim, Holdings, Identifier, IdentifierType, IdentityRules};
use hilo_domain::segment::{Message, MessageType};
use hilo_domain::{CustomerId, Timestamp};
use hilo_store::Tx;
use hilo_store::customers::{NewConflict, NewTimelineItem, add_to_json_set, parse_customer_id};
use hilo_store::sources::SourceRecord;
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot};
use tracing::{error, warn};

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
        let mut outcomes = Vec::with_capacity(group.len());
        for job in group {
            let mut job_outcomes = Vec::with_capacity(job.messages.len());
            for message in &job.messages {
                job_outcomes.push(
                    self.store_message(&mut tx, rules, &job.source, message)
                        .await?,
                );
            }
            outcomes.push(job_outcomes);
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    /// Resolves one message to a customer and stores it with what it changed.
    async fn store_message(
        &self,
        tx: &mut Tx,
        rules: &IdentityRules,
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
        lock_identifiers(tx, &identifiers).await?;

        let resolution = resolve(tx, rules, &identifiers, message.timestamp).await?;
        let plan = resolution.plan;
        let target = match plan.target {
            Some(target) => target,
            None => {
                let id = CustomerId::generate();
                tx.insert_profile(id, now, None).await?;
                tx.record_change("profile.created", id, "{}", now).await?;
                id
            }
        };
        for (absorbed, cause) in &plan.merges {
            tx.merge_profiles(
                &uuid::Uuid::now_v7().to_string(),
                target,
                *absorbed,
                cause,
                Some(&message.message_id),
                Some(source.id),
                now,
            )
            .await?;
            let data = json!({"absorbed": absorbed.to_string(), "identifier": cause.to_string()});
            tx.record_change("profile.merged", target, &data.to_string(), now)
                .await?;
        }
        let source_json = format!("[\"{}\"]", source.id);
        for identifier in &plan.attach {
            tx.attach_identity(identifier, target, message.timestamp, &source_json)
                .await?;
        }
        let dropped: BTreeSet<&Identifier> = plan.dropped.iter().map(|d| &d.identifier).collect();
        for (identifier, row_sources) in &resolution.existing {
            if dropped.contains(identifier) {
                continue;
            }
            let sources = add_to_json_set(row_sources, &source.id.to_string())
                .unwrap_or_else(|| row_sources.clone());
            tx.touch_identity(identifier, message.timestamp, &sources)
                .await?;
        }
        for dropped in &plan.dropped {
            let detail = dropped.reason.describe();
            tx.record_conflict(
                &uuid::Uuid::now_v7().to_string(),
                &NewConflict {
                    reason: dropped.reason.code(),
                    detail: &detail,
                    identifier: &dropped.identifier,
                    profile_id: Some(target),
                    other_profile_id: dropped.owner,
                    message_id: Some(&message.message_id),
                    source_id: Some(source.id),
                    at: now,
                },
            )
            .await?;
        }
        for bad in &rejected {
            let identifier = Identifier {
                kind: bad
                    .kind
                    .parse()
                    .unwrap_or_else(|_| IdentifierType::user_id()),
                value: bad.raw.chars().take(255).collect(),
            };
            let detail = format!("not linked: {}", bad.reason);
            tx.record_conflict(
                &uuid::Uuid::now_v7().to_string(),
                &NewConflict {
                    reason: "unparseable",
                    detail: &detail,
                    identifier: &identifier,
                    profile_id: Some(target),
                    other_profile_id: None,
                    message_id: Some(&message.message_id),
                    source_id: Some(source.id),
                    at: now,
                },
            )
            .await?;
        }

        self.update_profile(tx, target, source, message, now)
            .await?;
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

    /// Applies the message's traits (newest wins per trait) and activity to the
    /// profile's own fragment.
    async fn update_profile(
        &self,
        tx: &mut Tx,
        target: CustomerId,
        source: &SourceRecord,
        message: &Message,
        now: Timestamp,
    ) -> AppResult<()> {
        let Some(mut row) = tx.profile(target).await? else {
            return Err(AppError::Internal(format!("profile {target} vanished")));
        };
        let at = message.timestamp.millis();
        let mut changed_traits = Vec::new();
        if message.kind == MessageType::Identify {
            let mut traits: Map<String, Value> =
                serde_json::from_str(&row.traits).unwrap_or_default();
            // RudderStack's SDKs send identify traits in context.traits only.
            let context_traits = match message.context.get("traits") {
                Some(Value::Object(map)) => map
                    .iter()
                    .filter(|(k, _)| !message.traits.contains_key(*k))
                    .collect(),
                _ => Vec::new(),
            };
            for (key, value) in message.traits.iter().chain(context_traits) {
                if apply_trait(
                    &mut traits,
                    key,
                    value,
                    at,
                    &format!("source:{}", source.id),
                ) {
                    changed_traits.push(key.clone());
                }
            }
            if !changed_traits.is_empty() {
                row.traits = Value::Object(traits).to_string();
            }
        }
        row.first_seen = Some(row.first_seen.map_or(at, |f| f.min(at)));
        row.last_seen = Some(row.last_seen.map_or(at, |l| l.max(at)));
        row.event_count += 1;
        if let Some(channels) = add_to_json_set(&row.channels, source.channel.as_str()) {
            row.channels = channels;
        }
        row.updated_at = now.millis();
        tx.save_profile(&row).await?;
        if !changed_traits.is_empty() {
            let data = json!({"traits": changed_traits});
            tx.record_change("profile.traits", target, &data.to_string(), now)
                .await?;
        }
        Ok(())
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

/// The claims a message makes and what their owners hold.
struct Resolution {
    plan: identity::Plan,
    /// Identifiers already held by some profile, with their stored sources.
    existing: Vec<(Identifier, String)>,
}

async fn resolve(
    tx: &mut Tx,
    rules: &IdentityRules,
    identifiers: &[Identifier],
    at: Timestamp,
) -> AppResult<Resolution> {
    let mut claims = Vec::with_capacity(identifiers.len());
    let mut existing = Vec::new();
    for identifier in identifiers {
        let owner = match tx.identity(identifier).await? {
            Some(row) => {
                existing.push((identifier.clone(), row.sources.clone()));
                Some(tx.root_of(parse_customer_id(&row.profile_id)?).await?)
            }
            None => None,
        };
        claims.push(Claim {
            identifier: identifier.clone(),
            owner,
        });
    }
    let owners: BTreeSet<CustomerId> = claims.iter().filter_map(|c| c.owner).collect();
    let mut holdings = BTreeMap::new();
    let mut separated = BTreeSet::new();
    for owner in &owners {
        let mut held = Holdings::new();
        for (kind, first_seen) in tx.holdings(*owner).await? {
            if let Ok(kind) = kind.parse::<IdentifierType>() {
                held.entry(kind)
                    .or_default()
                    .push(Timestamp::from_millis(first_seen));
            }
        }
        holdings.insert(*owner, held);
        if owners.len() > 1 {
            for (a, b) in tx.separations(*owner).await? {
                let a = tx.root_of(parse_customer_id(&a)?).await?;
                let b = tx.root_of(parse_customer_id(&b)?).await?;
                if a != b && owners.contains(&a) && owners.contains(&b) {
                    separated.insert((a, b));
                }
            }
        }
    }
    let plan = identity::plan(rules, &claims, &holdings, &separated, at);
    Ok(Resolution { plan, existing })
}

/// An alias's `previousId` is a user id if some profile holds it as one, otherwise the
/// anonymous id of a device.
async fn alias_target(tx: &mut Tx, previous: &str) -> AppResult<Identifier> {
    let as_user = Identifier {
        kind: IdentifierType::user_id(),
        value: previous.trim().to_owned(),
    };
    if tx.identity(&as_user).await?.is_some() {
        return Ok(as_user);
    }
    Ok(Identifier {
        kind: IdentifierType::anonymous_id(),
        value: previous.trim().to_owned(),
    })
}

/// Takes, in a fixed order, a lock per identifier, so nodes resolving overlapping
/// identifiers at the same time take turns instead of splitting a customer.
async fn lock_identifiers(tx: &mut Tx, identifiers: &[Identifier]) -> AppResult<()> {
    let mut keys: Vec<i64> = identifiers.iter().map(Identifier::lock_key).collect();
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        tx.lock_key(key).await?;
    }
    Ok(())
}

fn is_transient(error: &hilo_store::StoreError) -> bool {
    let text = error.to_string();
    text.contains("database is locked")
        || text.contains("deadlock")
        || text.contains("could not serialize")
}

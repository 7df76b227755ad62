//! Ingestion: each message is resolved to one customer, in real time, and stored with
//! everything it changed in one transaction.
//!
//! Requests prepare their messages (identifiers, consent, stored body) and hand them to
//! one writer, on a thread of its own, which commits many requests' messages together
//! (group commit) and only then answers each request: every acknowledgement follows a
//! durable commit, and one commit serves many requests.

use std::sync::Arc;
use std::time::Duration;

use hilo_domain::SourceId;
use hilo_domain::collect::segment::RejectedIdentifier;
use hilo_domain::collect::segment::{Message, MessageType};
use hilo_domain::customers::changes::ChangeKind;
use hilo_domain::customers::consent;
use hilo_domain::customers::identity::{Identifier, IdentifierType, IdentityRules};
use hilo_domain::customers::timeline::ItemType;
use hilo_domain::{CustomerId, Timestamp};
use hilo_store::access::sources::SourceRecord;
use hilo_store::collect::{GroupTx, IngestGroup, IngestTx, IngestWriter};
use hilo_store::customers::NewTimelineItem;
use hilo_store::customers::privacy::NewConsent;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};
use tokio::sync::{Notify, mpsc, oneshot};
use tracing::{error, warn};

use crate::customers::linking::{LinkOrigin, link};
use crate::{AppError, AppResult, Hilo};

/// Messages one commit takes at most.
const GROUP_LIMIT: usize = 5_000;
/// Requests waiting for the writer before new ones are turned away with 503.
const QUEUE_DEPTH: usize = 1_024;
/// How long the writer waits for messages before it spends the time on indexing.
const IDLE: Duration = Duration::from_millis(20);

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
    messages: Vec<Prepared>,
    reply: oneshot::Sender<AppResult<Vec<Outcome>>>,
}

/// A message with everything worked out that needs no database. The request that
/// brought it does this work, in parallel with other requests, so the one writer only
/// resolves and stores.
struct Prepared {
    message: Message,
    identifiers: Vec<Identifier>,
    rejected: Vec<RejectedIdentifier>,
    consents: Vec<consent::ConsentChange>,
    /// The message as stored on the timeline.
    body: String,
}

impl Prepared {
    fn new(message: Message, region: &str) -> Self {
        let (identifiers, rejected) = message.identifiers(region);
        Self {
            identifiers,
            rejected,
            consents: consent::from_segment_context(message.context()),
            body: serde_json::to_string(&message.body).unwrap_or_else(|_| "{}".to_owned()),
            message,
        }
    }
}

/// The handle requests submit messages through.
#[derive(Clone)]
pub struct Ingestor {
    queue: mpsc::Sender<Job>,
    region: std::sync::Arc<str>,
}

/// A reply to send once what it reports is durable, with the messages it answers: they
/// are freed by whoever sends the reply — the flusher, on SQLite, so freeing thousands of
/// parsed messages does not take the writer's time.
struct Ack {
    reply: oneshot::Sender<AppResult<Vec<Outcome>>>,
    result: AppResult<Vec<Outcome>>,
    messages: Vec<Prepared>,
}

impl Ack {
    fn new(job: Job, result: AppResult<Vec<Outcome>>) -> Self {
        Self {
            reply: job.reply,
            result,
            messages: job.messages,
        }
    }
}

/// Answers the requests once their commit is durable, and wakes the feed's consumers
/// then: not before, or they could act on what a power cut takes back.
fn acknowledge(writer: &IngestWriter, acks: Vec<Ack>, feed_signal: &Arc<Notify>) {
    let feed_signal = feed_signal.clone();
    writer.when_durable(Box::new(move |durable| {
        if durable {
            send_all(acks);
            feed_signal.notify_waiters();
        } else {
            for ack in acks {
                let _ = ack.reply.send(Err(AppError::Internal(
                    "could not make the messages durable".into(),
                )));
            }
        }
    }));
}

/// Answers every request first; the messages are freed after the last answer.
fn send_all(acks: Vec<Ack>) {
    let mut answered = Vec::with_capacity(acks.len());
    for ack in acks {
        let _ = ack.reply.send(ack.result);
        answered.push(ack.messages);
    }
    drop(answered);
}

impl Ingestor {
    /// Starts the writer. It ends when every handle is dropped.
    ///
    /// On SQLite the writer gets a thread and a connection of its own: its statements
    /// then cost microseconds instead of a hand-off each, and its waits on the disk never
    /// hold up the threads serving requests.
    pub fn start(hilo: Hilo) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE_DEPTH);
        let region = hilo.settings.default_region.as_str().into();
        let spawned = std::thread::Builder::new()
            .name("hilo-writer".into())
            .spawn(move || run_on_own_thread(hilo, jobs));
        if let Err(error) = spawned {
            error!(%error, "could not start the ingestion writer thread");
        }
        Self { queue, region }
    }

    /// Stores the messages durably and says what happened to each. Returns only after
    /// the commit.
    pub async fn submit(
        &self,
        source: SourceRecord,
        messages: Vec<Message>,
    ) -> Result<Vec<Outcome>, IngestError> {
        let messages = messages
            .into_iter()
            .map(|m| Prepared::new(m, &self.region))
            .collect();
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

/// The writer has a thread and a runtime of its own: requests never delay its
/// statements, and its waits on the database never hold up requests.
fn run_on_own_thread(hilo: Hilo, jobs: mpsc::Receiver<Job>) {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(async move {
            let (writer, store) = IngestWriter::open(&hilo.store, hilo.unflushed.clone()).await;
            write_loop(hilo.with_store(store), jobs, writer).await;
        }),
        Err(error) => error!(%error, "could not start the ingestion writer's runtime"),
    }
}

async fn write_loop(hilo: Hilo, mut jobs: mpsc::Receiver<Job>, mut writer: IngestWriter) {
    loop {
        let first = if writer.indexing_pending() {
            match tokio::time::timeout(IDLE, jobs.recv()).await {
                Ok(Some(job)) => job,
                Ok(None) => break,
                Err(_) => {
                    // Orders being placed: the tail waits until it is large (or they
                    // pause). Each step's commit makes the order writer's connection
                    // drop its page cache and read its working set again.
                    let idle = !hilo.placing_orders();
                    if writer.indexing_due(idle) {
                        let _turn = hilo.write_turn().await;
                        writer.index_step(idle);
                    }
                    continue;
                }
            }
        } else {
            match jobs.recv().await {
                Some(job) => job,
                None => break,
            }
        };
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
        let turn = if writer.own_connection() {
            hilo.write_turn().await
        } else {
            None
        };
        let acks: Vec<Ack> = match hilo.store_group(&mut writer, &group).await {
            Ok(outcomes) => group
                .into_iter()
                .zip(outcomes)
                .map(|(job, outcome)| Ack::new(job, Ok(outcome)))
                .collect(),
            Err(error) => {
                // One bad job must not fail the others: retry each on its own.
                warn!(%error, jobs = group.len(), "group commit failed; retrying jobs one by one");
                let mut acks = Vec::with_capacity(group.len());
                for job in group {
                    let result = hilo
                        .store_group(&mut writer, std::slice::from_ref(&job))
                        .await;
                    let result = result.map(|mut o| o.pop().unwrap_or_default());
                    if let Err(error) = &result {
                        error!(%error, "ingestion failed");
                    }
                    acks.push(Ack::new(job, result));
                }
                acks
            }
        };
        acknowledge(&writer, acks, &hilo.feed_signal);
        writer.index_step(false);
        drop(turn);
        hilo.ingest_committed();
    }
}

impl Hilo {
    /// Stores every job's messages in one transaction.
    async fn store_group(
        &self,
        writer: &mut IngestWriter,
        group: &[Job],
    ) -> AppResult<Vec<Vec<Outcome>>> {
        let rules = self.customers().identity_rules().await?;
        let mut attempt = 0;
        loop {
            let result = match writer.begin().await {
                Ok(tx) => self.try_store_group(tx, group, &rules).await,
                Err(error) => Err(error.into()),
            };
            match result {
                Err(AppError::Store(error)) if attempt < 3 && is_transient(&error) => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(20 * attempt)).await;
                }
                other => return other,
            }
        }
    }

    /// Resolves and stores a group's messages in one transaction. What earlier groups
    /// learned of the graph is kept by the writer while nobody else changed it; on
    /// PostgreSQL that is checked against the graph version once the group's identifiers
    /// are locked (below).
    async fn try_store_group(
        &self,
        mut tx: IngestGroup<'_>,
        group: &[Job],
        rules: &IdentityRules,
    ) -> AppResult<Vec<Vec<Outcome>>> {
        let started = std::time::Instant::now();
        let now = self.now();
        let aliased: Vec<Identifier> = group
            .iter()
            .flat_map(|job| &job.messages)
            .filter_map(|prepared| alias_previous(&prepared.message))
            .flat_map(alias_candidates)
            .collect();
        let mut wanted: Vec<&Identifier> = group
            .iter()
            .flat_map(|job| &job.messages)
            .flat_map(|prepared| &prepared.identifiers)
            .chain(&aliased)
            .collect();
        wanted.sort_unstable();
        wanted.dedup();

        if tx.locks_identifiers() {
            let keys: Vec<i64> = wanted.iter().map(|i| i.lock_key()).collect();
            // Locking also checks the kept memory against the graph version.
            tx.lock_keys(&keys).await?;
        }
        // Erasures are rare: when none ever happened, no message needs checking.
        let suppressions = tx.any_suppression_exists().await?;
        tx.remember_owners(&wanted).await?;
        prefetch(&mut *tx, group).await?;
        // Message ids stored already or met earlier in the group.
        let mut seen: HashSet<(SourceId, &str)> = HashSet::new();
        let mut by_source: HashMap<SourceId, Vec<&str>> = HashMap::new();
        for job in group {
            by_source
                .entry(job.source.id)
                .or_default()
                .extend(job.messages.iter().map(|p| p.message.message_id.as_str()));
        }
        for (source, ids) in by_source {
            let known = tx.known_message_ids(source, &ids).await?;
            if !known.is_empty() {
                seen.extend(
                    ids.into_iter()
                        .filter(|id| known.contains(*id))
                        .map(|id| (source, id)),
                );
            }
        }

        let prepared = started.elapsed();
        let mut slow = 0usize;
        let mut outcomes = Vec::with_capacity(group.len());
        let mut items: Vec<PendingItem> = Vec::new();
        for job in group {
            let mut job_outcomes = Vec::with_capacity(job.messages.len());
            let source_text = job.source.id.to_string();
            for prepared in &job.messages {
                let message = &prepared.message;
                let rejected = &prepared.rejected;
                if !seen.insert((job.source.id, message.message_id.as_str())) {
                    job_outcomes.push(Outcome::Duplicate);
                    continue;
                }
                // Copied only for an alias, which adds the identifier it names.
                let with_alias;
                let identifiers: &[Identifier] = match alias_previous(message) {
                    Some(previous) => {
                        let mut all = prepared.identifiers.clone();
                        all.push(alias_target(&mut *tx, previous).await?);
                        with_alias = all;
                        &with_alias
                    }
                    None => &prepared.identifiers,
                };
                if suppressions && self.is_suppressed(&mut *tx, identifiers).await? {
                    job_outcomes.push(Outcome::Suppressed);
                    continue;
                }
                let target = match single_root(&mut *tx, identifiers, rejected).await? {
                    Some(target) => {
                        record_sighting(&mut *tx, identifiers, message.timestamp, &source_text)
                            .await?;
                        target
                    }
                    None => {
                        slow += 1;
                        let linked = link(
                            &mut *tx,
                            rules,
                            identifiers,
                            rejected,
                            message.timestamp,
                            now,
                            &LinkOrigin {
                                message_id: Some(&message.message_id),
                                source_id: Some(job.source.id),
                                created_by: None,
                            },
                        )
                        .await?;
                        linked.customer
                    }
                };
                self.record_message_consent(&mut *tx, target, &job.source, prepared)
                    .await?;
                self.update_traits(&mut *tx, target, &job.source, message, now)
                    .await?;
                items.push(PendingItem {
                    profile_id: target,
                    source: &job.source,
                    prepared,
                });
                job_outcomes.push(Outcome::Stored { customer: target });
            }
            outcomes.push(job_outcomes);
        }
        let resolved = started.elapsed();
        let rows: Vec<NewTimelineItem<'_>> = items.iter().map(PendingItem::as_new).collect();
        tx.append_timeline_many(&rows).await?;
        let appended = started.elapsed();
        tx.commit().await?;
        tracing::debug!(
            messages = rows.len(),
            slow_path = slow,
            prepare_ms = prepared.as_millis() as u64,
            resolve_ms = (resolved - prepared).as_millis() as u64,
            append_ms = (appended - resolved).as_millis() as u64,
            commit_ms = (started.elapsed() - appended).as_millis() as u64,
            "group stored"
        );
        Ok(outcomes)
    }

    /// Consent decisions carried in the message's context.
    async fn record_message_consent<T: IngestTx>(
        &self,
        tx: &mut T,
        target: CustomerId,
        source: &SourceRecord,
        prepared: &Prepared,
    ) -> AppResult<()> {
        let message = &prepared.message;
        for change in &prepared.consents {
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
        Ok(())
    }

    /// Applies an identify message's traits to the customer's own fragment: the newest
    /// timestamp wins per trait. Other messages leave the profile row alone (activity is
    /// read from the timeline).
    async fn update_traits<T: IngestTx>(
        &self,
        tx: &mut T,
        target: CustomerId,
        source: &SourceRecord,
        message: &Message,
        now: Timestamp,
    ) -> AppResult<()> {
        if message.kind != MessageType::Identify {
            return Ok(());
        }
        // RudderStack's SDKs send identify traits in context.traits only.
        let context_traits: Vec<(&String, &Value)> = match message.context().get("traits") {
            Some(Value::Object(map)) => map
                .iter()
                .filter(|(k, _)| !message.traits().contains_key(*k))
                .collect(),
            _ => Vec::new(),
        };
        if message.traits().is_empty() && context_traits.is_empty() {
            return Ok(());
        }
        let Some(mut row) = tx.profile(target).await? else {
            return Err(AppError::Internal(format!("profile {target} vanished")));
        };
        let at = message.timestamp.millis();
        let by = format!("source:{}", source.id);
        let mut traits = row.trait_entries();
        let mut changed = Vec::new();
        for (key, value) in message.traits().iter().chain(context_traits) {
            if apply_trait(&mut traits, key, value, at, &by) {
                changed.push(key.clone());
            }
        }
        if changed.is_empty() {
            return Ok(());
        }
        row.set_trait_entries(traits);
        row.updated_at = now.millis();
        tx.save_profile(&row).await?;
        let data = json!({"traits": changed});
        tx.record_change(ChangeKind::ProfileTraits, target, &data.to_string(), now)
            .await?;
        Ok(())
    }
}

impl Hilo {
    /// Whether a message names an erased customer.
    async fn is_suppressed<T: IngestTx>(
        &self,
        tx: &mut T,
        identifiers: &[Identifier],
    ) -> AppResult<bool> {
        let key = self.customers().suppression_key().await?;
        let digests: Vec<String> = identifiers
            .iter()
            .map(|i| crate::customers::privacy::suppression_digest(&key, i))
            .collect();
        Ok(tx.any_suppressed(&digests).await?)
    }
}

/// Reads in one go what linking and trait updates will ask about: the holdings of
/// customers that may gain identifiers or merge, and the rows of identified customers.
async fn prefetch<T: IngestTx>(tx: &mut GroupTx<T>, group: &[Job]) -> AppResult<()> {
    let mut holdings = Vec::new();
    let mut profiles = Vec::new();
    for prepared in group.iter().flat_map(|job| &job.messages) {
        let mut roots = Vec::with_capacity(prepared.identifiers.len());
        let mut unknown = false;
        for identifier in &prepared.identifiers {
            match tx.holder_root(identifier).await? {
                Some(root) => roots.push(root),
                None => unknown = true,
            }
        }
        roots.sort_unstable();
        roots.dedup();
        if unknown || roots.len() > 1 || !prepared.rejected.is_empty() {
            holdings.extend_from_slice(&roots);
        }
        if prepared.message.kind == MessageType::Identify {
            profiles.extend_from_slice(&roots);
        }
    }
    tx.prefetch_holdings(&holdings).await?;
    tx.prefetch_profiles(&profiles).await?;
    Ok(())
}

/// A timeline row waiting for the group's one insert.
struct PendingItem<'a> {
    profile_id: CustomerId,
    source: &'a SourceRecord,
    prepared: &'a Prepared,
}

impl PendingItem<'_> {
    fn as_new(&self) -> NewTimelineItem<'_> {
        let message = &self.prepared.message;
        NewTimelineItem {
            profile_id: self.profile_id,
            item_type: ItemType::Event,
            kind: message.kind.as_str(),
            name: message.event.as_deref().or(message.name.as_deref()),
            channel: self.source.channel.as_str(),
            source_id: Some(self.source.id),
            message_id: Some(&message.message_id),
            at: message.timestamp,
            received_at: message.received_at,
            body: &self.prepared.body,
        }
    }
}

fn alias_previous(message: &Message) -> Option<&str> {
    message
        .previous_id
        .as_deref()
        .filter(|_| message.kind == MessageType::Alias)
}

/// What an alias's `previousId` may be: a user id or a device's anonymous id.
fn alias_candidates(previous: &str) -> [Identifier; 2] {
    let value = previous.trim().to_owned();
    [
        Identifier {
            kind: IdentifierType::user_id(),
            value: value.clone(),
        },
        Identifier {
            kind: IdentifierType::anonymous_id(),
            value,
        },
    ]
}

/// The one customer holding every identifier, when that is so and nothing is left to
/// link: the message then needs no identity work at all.
async fn single_root<T: IngestTx>(
    tx: &mut GroupTx<T>,
    identifiers: &[Identifier],
    rejected: &[RejectedIdentifier],
) -> AppResult<Option<CustomerId>> {
    if !rejected.is_empty() || identifiers.is_empty() {
        return Ok(None);
    }
    let mut found = None;
    for identifier in identifiers {
        match (tx.holder_root(identifier).await?, found) {
            (None, _) => return Ok(None),
            (Some(root), None) => found = Some(root),
            (Some(root), Some(seen)) if root != seen => return Ok(None),
            _ => {}
        }
    }
    Ok(found)
}

/// Records a sighting of held identifiers: last use to the minute, and new sources.
async fn record_sighting<T: IngestTx>(
    tx: &mut GroupTx<T>,
    identifiers: &[Identifier],
    at: Timestamp,
    source: &str,
) -> AppResult<()> {
    for identifier in identifiers {
        let Some(row) = tx.held_row(identifier) else {
            continue;
        };
        let new_sources = row.sources_with(source);
        let stale = at.millis() > row.last_seen + 60_000 || at.millis() < row.first_seen;
        if new_sources.is_none() && !stale {
            continue;
        }
        let sources = new_sources.unwrap_or_else(|| row.sources.clone());
        tx.touch_identity(identifier, at, &sources).await?;
    }
    Ok(())
}

/// An alias's `previousId`: a user id if a customer holds it as one, else a device.
async fn alias_target<T: IngestTx>(tx: &mut GroupTx<T>, previous: &str) -> AppResult<Identifier> {
    let [as_user, as_device] = alias_candidates(previous);
    if tx.holder_root(&as_user).await?.is_some() {
        Ok(as_user)
    } else {
        Ok(as_device)
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

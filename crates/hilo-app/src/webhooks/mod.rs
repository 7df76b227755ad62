//! Signed outbound webhooks: endpoints admins register, messages made from the change
//! feed, and their delivery by durable jobs.
//!
//! ```text
//! change feed ──(consume_changes: one transaction)──▶ message + delivery job, position
//! job runner ──(deliver)──▶ POST with webhook-id / webhook-timestamp / webhook-signature
//!            ──▶ attempt recorded; 2xx done, otherwise retried on the reference schedule
//! ```

pub mod delivery;

use hilo_domain::jobs::JobKind;
use hilo_domain::webhooks::{
    AddressPolicy, Destination, EventType, SigningSecret, event_of_change, sign,
};
use hilo_domain::{Invalid, Page, PageRequest, Timestamp, WebhookId};
use hilo_store::jobs::{JobRecord, NewJob};
use hilo_store::webhooks::{
    AttemptRecord, EndpointChange, EndpointRecord, MessageStatus, NewMessage,
};
use std::sync::atomic::Ordering;

use serde_json::{Value, json};
use tracing::{info, warn};

use crate::jobs::JobFailure;
use crate::{AppError, AppResult, Hilo};

/// The feed consumer's name, under which its position is saved.
const CONSUMER: &str = "webhooks";
/// Changes read per transaction.
const BATCH: u32 = 200;
/// An endpoint whose every attempt failed for this long is disabled.
const DISABLE_AFTER_MILLIS: i64 = 5 * 24 * 3_600_000;
/// With no endpoint, how often the consumer moves its position ahead.
const SKIP_EVERY_MILLIS: i64 = 5_000;
/// Longest description.
const MAX_DESCRIPTION: usize = 500;

/// What an admin registers.
#[derive(Debug, Clone)]
pub struct NewEndpoint<'a> {
    pub url: &'a str,
    pub events: &'a [String],
    pub description: Option<&'a str>,
}

/// What an admin changes; `None` keeps the field.
#[derive(Debug, Clone, Default)]
pub struct EndpointEdit<'a> {
    pub url: Option<&'a str>,
    pub events: Option<&'a [String]>,
    pub description: Option<&'a str>,
    pub enabled: Option<bool>,
}

/// The webhooks part's use cases.
pub struct Webhooks<'a> {
    hilo: &'a Hilo,
}

impl Hilo {
    pub fn webhooks(&self) -> Webhooks<'_> {
        Webhooks { hilo: self }
    }
}

impl Webhooks<'_> {
    fn policy(&self) -> AddressPolicy {
        self.hilo.webhook_sender.policy()
    }

    /// A URL an endpoint may have. Names are not resolved here: what they resolve to
    /// is checked by every delivery, on the connection it makes.
    fn destination(&self, url: &str) -> AppResult<Destination> {
        Ok(Destination::parse(url, self.policy())?)
    }

    /// Registers an endpoint; its signing secret is in the record, shown once.
    pub async fn create(&self, new: &NewEndpoint<'_>) -> AppResult<EndpointRecord> {
        let events = parse_events(new.events)?;
        let description = parse_description(new.description.unwrap_or(""))?;
        let destination = self.destination(new.url)?;
        let now = self.hilo.now();
        let endpoint = EndpointRecord {
            id: WebhookId::generate(),
            url: destination.as_str().to_owned(),
            description,
            events,
            secret: SigningSecret::generate()?,
            failing_since: None,
            disabled_at: None,
            disabled_reason: None,
            enabled_since: now,
            created_at: now,
            updated_at: now,
        };
        self.hilo.store.insert_webhook(&endpoint).await?;
        info!(webhook = %endpoint.id, "webhook endpoint created");
        Ok(endpoint)
    }

    pub async fn list(&self, page: &PageRequest) -> AppResult<Page<EndpointRecord>> {
        let rows = self.hilo.store.list_webhooks(page).await?;
        Ok(Page::from_rows(rows, page.limit, |e| e.id.to_string()))
    }

    pub async fn get(&self, id: WebhookId) -> AppResult<EndpointRecord> {
        self.hilo.store.webhook(id).await?.ok_or(AppError::NotFound)
    }

    pub async fn update(
        &self,
        id: WebhookId,
        edit: &EndpointEdit<'_>,
    ) -> AppResult<EndpointRecord> {
        let events = edit.events.map(parse_events).transpose()?;
        let description = edit.description.map(parse_description).transpose()?;
        let destination = match edit.url {
            Some(url) => Some(self.destination(url)?),
            None => None,
        };
        let change = EndpointChange {
            url: destination.as_ref().map(Destination::as_str),
            description: description.as_deref(),
            events: events.as_deref(),
            secret: None,
            enabled: edit.enabled,
        };
        if !self
            .hilo
            .store
            .update_webhook(id, &change, self.hilo.now())
            .await?
        {
            return Err(AppError::NotFound);
        }
        self.get(id).await
    }

    /// A new signing secret; the old one stops signing at once.
    pub async fn rotate_secret(&self, id: WebhookId) -> AppResult<EndpointRecord> {
        let secret = SigningSecret::generate()?;
        let change = EndpointChange {
            secret: Some(&secret),
            ..EndpointChange::default()
        };
        if !self
            .hilo
            .store
            .update_webhook(id, &change, self.hilo.now())
            .await?
        {
            return Err(AppError::NotFound);
        }
        info!(webhook = %id, "webhook signing secret rotated");
        self.get(id).await
    }

    pub async fn delete(&self, id: WebhookId) -> AppResult<()> {
        if self.hilo.store.delete_webhook(id).await? {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    /// An endpoint's attempts, newest first.
    pub async fn attempts(
        &self,
        id: WebhookId,
        page: &PageRequest,
    ) -> AppResult<Page<AttemptRecord>> {
        self.get(id).await?;
        let rows = self.hilo.store.webhook_attempts(id, page).await?;
        Ok(Page::from_rows(rows, page.limit, |a| a.id.clone()))
    }

    /// Queues a `webhook.test` message for this endpoint alone; returns its id.
    pub async fn send_test(&self, id: WebhookId) -> AppResult<String> {
        let endpoint = self.get(id).await?;
        let now = self.hilo.now();
        let data = json!({"webhook_id": endpoint.id.to_string(), "message": "a test from Hilo"});
        let mut tx = self.hilo.store.begin().await?;
        let message_id = queue(
            &mut tx,
            &endpoint,
            EventType::WebhookTest,
            None,
            now,
            &data,
            now,
        )
        .await?;
        tx.commit().await?;
        self.hilo.jobs_written();
        Ok(message_id)
    }

    /// Turns new profile changes into messages and delivery jobs for every endpoint
    /// subscribed, in the transaction that saves the consumer's position. Returns
    /// whether changes were held back behind a transaction still running.
    pub(crate) async fn consume_changes(&self) -> AppResult<bool> {
        if !self.hilo.store.changes_waiting(CONSUMER).await? {
            return Ok(false);
        }
        if !self.hilo.store.any_enabled_webhook().await? {
            // Nobody to tell: skip ahead in one short transaction instead of reading
            // every change (ingestion makes thousands a second), and only every few
            // seconds: on SQLite every commit beside the ingestion writer makes it
            // forget what it knows of the graph (measured: consuming ten times a
            // second cost ingestion a quarter of its throughput).
            let now = self.hilo.now().millis();
            let last = self.hilo.feed_skipped_at.load(Ordering::Relaxed);
            if last != 0 && now - last < SKIP_EVERY_MILLIS && now >= last {
                return Ok(false);
            }
            self.hilo
                .feed_skipped_at
                .store(now.max(1), Ordering::Relaxed);
            let claim = self.hilo.claim_changes(CONSUMER, 1).await?;
            claim
                .skip_all(|| self.hilo.unflushed_changes_floor())
                .await?;
            return Ok(false);
        }
        loop {
            let mut claim = self.hilo.claim_changes(CONSUMER, BATCH).await?;
            if claim.changes().is_empty() {
                return Ok(claim.held_back());
            }
            let now = self.hilo.now();
            let (tx, changes) = claim.parts();
            let endpoints = tx.enabled_webhooks().await?;
            for change in changes {
                let Some((event, data)) = change
                    .kind
                    .and_then(|kind| event_of_change(kind, change.customer, &change.data))
                else {
                    continue;
                };
                // An endpoint hears of what happens while it is enabled, however far
                // behind the consumer reads.
                for endpoint in endpoints
                    .iter()
                    .filter(|e| e.events.contains(&event) && change.at >= e.enabled_since)
                {
                    queue(
                        tx,
                        endpoint,
                        event,
                        Some(change.customer),
                        change.at,
                        &data,
                        now,
                    )
                    .await?;
                }
            }
            claim.commit().await?;
            self.hilo.jobs_written();
        }
    }

    /// One delivery attempt of the message a job names.
    pub(crate) async fn deliver(&self, job: &JobRecord) -> Result<(), JobFailure> {
        let transient = |e: AppError| JobFailure::Transient(e.to_string());
        let message_id = job
            .payload
            .get("message_id")
            .and_then(Value::as_str)
            .ok_or_else(|| JobFailure::Permanent("the job names no message".into()))?;
        let store = &self.hilo.store;
        let Some(message) = store
            .webhook_message(message_id)
            .await
            .map_err(|e| transient(e.into()))?
        else {
            return Err(JobFailure::Permanent(
                "the message or its endpoint was deleted".into(),
            ));
        };
        if message.status == MessageStatus::Delivered {
            return Ok(());
        }
        let endpoint = store
            .webhook(message.endpoint_id)
            .await
            .map_err(|e| transient(e.into()))?
            .ok_or_else(|| JobFailure::Permanent("the endpoint was deleted".into()))?;
        if endpoint.disabled_at.is_some() {
            return Err(JobFailure::Permanent("the endpoint is disabled".into()));
        }
        let destination = Destination::parse(&endpoint.url, AddressPolicy::AllowPrivate)
            .map_err(|e| JobFailure::Permanent(e.to_string()))?;
        let body = serde_json::to_vec(&Body {
            kind: message.event_type.as_str(),
            timestamp: &message.occurred_at,
            data: &message.data,
        })
        .map_err(|e| JobFailure::Permanent(format!("cannot write the body: {e}")))?;
        let now = self.hilo.now();
        let timestamp = now.millis().div_euclid(1000);
        let signature = sign(&endpoint.secret, &message.id, timestamp, &body);
        let answer = self
            .hilo
            .webhook_sender
            .post(
                &destination,
                [
                    ("webhook-id", message.id.clone()),
                    ("webhook-timestamp", timestamp.to_string()),
                    ("webhook-signature", signature),
                ],
                body,
            )
            .await;
        let attempt = AttemptRecord {
            id: uuid::Uuid::now_v7().to_string(),
            message_id: message.id.clone(),
            event_type: message.event_type,
            at: now,
            status_code: answer.status,
            duration_ms: answer.duration_ms,
            response: answer.excerpt.clone(),
            succeeded: answer.succeeded(),
        };
        let disabled = store
            .record_webhook_attempt(
                endpoint.id,
                &attempt,
                now.plus_millis(-DISABLE_AFTER_MILLIS),
            )
            .await
            .map_err(|e| transient(e.into()))?;
        if disabled {
            warn!(webhook = %endpoint.id, "webhook endpoint disabled: every delivery failed for five days");
        }
        if answer.succeeded() {
            return Ok(());
        }
        let why = match answer.status {
            Some(status) => format!("HTTP {status}"),
            None => answer.excerpt,
        };
        if disabled {
            Err(JobFailure::Permanent(format!(
                "{why}; the endpoint is now disabled"
            )))
        } else {
            Err(JobFailure::Transient(why))
        }
    }

    /// A message whose last attempt failed: marked failed (the endpoint was marked
    /// failing by the attempt itself).
    pub(crate) async fn delivery_died(&self, job: &JobRecord) -> AppResult<()> {
        if let Some(message_id) = job.payload.get("message_id").and_then(Value::as_str) {
            self.hilo.store.fail_webhook_message(message_id).await?;
        }
        Ok(())
    }
}

/// A delivery's body, in the specification's order.
#[derive(serde::Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    timestamp: &'a str,
    data: &'a Value,
}

/// Writes a message and the job that delivers it, in `tx`.
async fn queue(
    tx: &mut hilo_store::Tx,
    endpoint: &EndpointRecord,
    event: EventType,
    customer: Option<hilo_domain::CustomerId>,
    occurred: Timestamp,
    data: &Value,
    now: Timestamp,
) -> AppResult<String> {
    let message_id = format!("msg_{}", uuid::Uuid::now_v7().simple());
    tx.insert_webhook_message(&NewMessage {
        id: &message_id,
        endpoint_id: endpoint.id,
        event_type: event,
        customer,
        occurred_at: &occurred.to_rfc3339(),
        data,
        now,
    })
    .await?;
    let payload = json!({"message_id": message_id});
    tx.enqueue_job(
        &NewJob {
            kind: JobKind::WebhookDelivery,
            payload: &payload,
            run_at: now,
            idempotency_key: None,
        },
        now,
    )
    .await?;
    Ok(message_id)
}

fn parse_events(names: &[String]) -> AppResult<Vec<EventType>> {
    if names.is_empty() {
        return Err(Invalid::new("events", "must name at least one event").into());
    }
    let mut events = Vec::with_capacity(names.len());
    for name in names {
        let event: EventType = name.parse()?;
        if !events.contains(&event) {
            events.push(event);
        }
    }
    events.sort();
    Ok(events)
}

fn parse_description(text: &str) -> AppResult<String> {
    if text.chars().count() > MAX_DESCRIPTION {
        return Err(Invalid::new("description", "must be at most 500 characters").into());
    }
    if text.chars().any(char::is_control) {
        return Err(Invalid::new("description", "must not contain control characters").into());
    }
    Ok(text.to_owned())
}

//! Webhook endpoints, their messages and every delivery attempt (migration 0012).

use hilo_domain::webhooks::{EventType, SigningSecret};
use hilo_domain::{CustomerId, PageRequest, Timestamp, WebhookId};
use serde_json::Value;

use crate::tx::{Tx, on_tx};
use crate::{Store, StoreResult, corrupt, on_pool};

/// An endpoint that receives webhooks.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointRecord {
    pub id: WebhookId,
    pub url: String,
    pub description: String,
    pub events: Vec<EventType>,
    pub secret: SigningSecret,
    pub failing_since: Option<Timestamp>,
    pub disabled_at: Option<Timestamp>,
    pub disabled_reason: Option<String>,
    /// Since when it receives events: its creation, or its last re-enabling.
    pub enabled_since: Timestamp,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What an admin changes of an endpoint; `None` keeps the field.
#[derive(Debug, Clone, Default)]
pub struct EndpointChange<'a> {
    pub url: Option<&'a str>,
    pub description: Option<&'a str>,
    pub events: Option<&'a [EventType]>,
    pub secret: Option<&'a SigningSecret>,
    /// `Some(true)` enables (and forgets past failures), `Some(false)` disables.
    pub enabled: Option<bool>,
}

/// One event for one endpoint; its id is the `webhook-id` of every attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRecord {
    pub id: String,
    pub endpoint_id: WebhookId,
    pub event_type: EventType,
    pub customer: Option<CustomerId>,
    /// The body's `timestamp`, RFC 3339.
    pub occurred_at: String,
    pub data: Value,
    pub status: MessageStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageStatus {
    Pending,
    Delivered,
    Failed,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// One try at delivering a message.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    pub id: String,
    pub message_id: String,
    pub event_type: EventType,
    pub at: Timestamp,
    pub status_code: Option<u16>,
    pub duration_ms: i64,
    pub response: String,
    pub succeeded: bool,
}

#[derive(sqlx::FromRow)]
struct EndpointRow {
    id: String,
    url: String,
    description: String,
    events: String,
    secret: String,
    failing_since: Option<i64>,
    disabled_at: Option<i64>,
    disabled_reason: Option<String>,
    enabled_since: i64,
    created_at: i64,
    updated_at: i64,
}

fn events_json(events: &[EventType]) -> String {
    Value::from(events.iter().map(|e| e.as_str()).collect::<Vec<_>>()).to_string()
}

impl TryFrom<EndpointRow> for EndpointRecord {
    type Error = crate::StoreError;

    fn try_from(row: EndpointRow) -> Result<Self, Self::Error> {
        let names: Vec<String> =
            serde_json::from_str(&row.events).map_err(|e| corrupt("webhook events", e))?;
        Ok(Self {
            id: row.id.parse().map_err(|e| corrupt("webhook id", e))?,
            url: row.url,
            description: row.description,
            events: names
                .iter()
                .map(|name| name.parse().map_err(|e| corrupt("webhook event", e)))
                .collect::<StoreResult<_>>()?,
            secret: SigningSecret::parse(&row.secret).map_err(|e| corrupt("webhook secret", e))?,
            failing_since: row.failing_since.map(Timestamp::from_millis),
            disabled_at: row.disabled_at.map(Timestamp::from_millis),
            disabled_reason: row.disabled_reason,
            enabled_since: Timestamp::from_millis(row.enabled_since),
            created_at: Timestamp::from_millis(row.created_at),
            updated_at: Timestamp::from_millis(row.updated_at),
        })
    }
}

macro_rules! select_endpoints {
    ($rest:literal) => {
        concat!(
            "SELECT id, url, description, events, secret, failing_since, disabled_at, \
             disabled_reason, enabled_since, created_at, updated_at FROM webhook_endpoints ",
            $rest
        )
    };
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: String,
    endpoint_id: String,
    event_type: String,
    profile_id: Option<String>,
    occurred_at: String,
    data: String,
    status: String,
}

impl TryFrom<MessageRow> for MessageRecord {
    type Error = crate::StoreError;

    fn try_from(row: MessageRow) -> Result<Self, Self::Error> {
        Ok(Self {
            id: row.id,
            endpoint_id: row
                .endpoint_id
                .parse()
                .map_err(|e| corrupt("webhook id", e))?,
            event_type: event_type(&row.event_type)?,
            customer: row
                .profile_id
                .map(|p| p.parse().map_err(|e| corrupt("customer id", e)))
                .transpose()?,
            occurred_at: row.occurred_at,
            data: serde_json::from_str(&row.data).map_err(|e| corrupt("webhook data", e))?,
            status: MessageStatus::parse(&row.status)
                .ok_or_else(|| corrupt("webhook message status", &row.status))?,
        })
    }
}

/// Stored event names include the test event, which no one subscribes to.
fn event_type(name: &str) -> StoreResult<EventType> {
    EventType::ALL
        .into_iter()
        .find(|e| e.as_str() == name)
        .ok_or_else(|| corrupt("webhook event", name))
}

#[derive(sqlx::FromRow)]
struct AttemptRow {
    id: String,
    message_id: String,
    event_type: String,
    at: i64,
    status_code: Option<i32>,
    duration_ms: i64,
    response: String,
    succeeded: i32,
}

impl TryFrom<AttemptRow> for AttemptRecord {
    type Error = crate::StoreError;

    fn try_from(row: AttemptRow) -> Result<Self, Self::Error> {
        Ok(Self {
            id: row.id,
            message_id: row.message_id,
            event_type: event_type(&row.event_type)?,
            at: Timestamp::from_millis(row.at),
            status_code: row.status_code.and_then(|c| u16::try_from(c).ok()),
            duration_ms: row.duration_ms,
            response: row.response,
            succeeded: row.succeeded != 0,
        })
    }
}

/// A message to write, for one endpoint.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub id: &'a str,
    pub endpoint_id: WebhookId,
    pub event_type: EventType,
    pub customer: Option<CustomerId>,
    pub occurred_at: &'a str,
    pub data: &'a Value,
    pub now: Timestamp,
}

impl Store {
    pub async fn insert_webhook(&self, endpoint: &EndpointRecord) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO webhook_endpoints (id, url, description, events, secret, \
            enabled_since, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6, $6)";
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(endpoint.id.to_string())
            .bind(&endpoint.url)
            .bind(&endpoint.description)
            .bind(events_json(&endpoint.events))
            .bind(endpoint.secret.expose())
            .bind(endpoint.created_at.millis())
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    pub async fn list_webhooks(&self, page: &PageRequest) -> StoreResult<Vec<EndpointRecord>> {
        const SQL: &str = select_endpoints!("WHERE id > $1 ORDER BY id LIMIT $2");
        let after = page.after.as_ref().map_or("", |c| c.as_str()).to_owned();
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, EndpointRow>(SQL)
            .bind(&after)
            .bind(i64::from(page.limit) + 1)
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(EndpointRecord::try_from).collect()
    }

    /// Whether any endpoint receives messages now.
    pub async fn any_enabled_webhook(&self) -> StoreResult<bool> {
        const SQL: &str =
            "SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE disabled_at IS NULL)";
        Ok(on_pool!(self, |pool| sqlx::query_scalar::<_, bool>(SQL)
            .fetch_one(pool)
            .await?))
    }

    pub async fn webhook(&self, id: WebhookId) -> StoreResult<Option<EndpointRecord>> {
        const SQL: &str = select_endpoints!("WHERE id = $1");
        let row = on_pool!(self, |pool| sqlx::query_as::<_, EndpointRow>(SQL)
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?);
        row.map(EndpointRecord::try_from).transpose()
    }

    /// Applies an admin's change; `false` when there is no such endpoint.
    pub async fn update_webhook(
        &self,
        id: WebhookId,
        change: &EndpointChange<'_>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        const SQL: &str = "UPDATE webhook_endpoints SET \
            url = COALESCE($1, url), description = COALESCE($2, description), \
            events = COALESCE($3, events), secret = COALESCE($4, secret), \
            disabled_at = CASE WHEN $5 = 1 THEN NULL WHEN $5 = 0 THEN COALESCE(disabled_at, $6) \
                ELSE disabled_at END, \
            disabled_reason = CASE WHEN $5 = 1 THEN NULL WHEN $5 = 0 \
                THEN COALESCE(disabled_reason, 'disabled by an admin') ELSE disabled_reason END, \
            failing_since = CASE WHEN $5 = 1 THEN NULL ELSE failing_since END, \
            enabled_since = CASE WHEN $5 = 1 AND disabled_at IS NOT NULL THEN $6 \
                ELSE enabled_since END, \
            updated_at = $6 WHERE id = $7";
        let enabled: i64 = match change.enabled {
            Some(true) => 1,
            Some(false) => 0,
            None => -1,
        };
        let changed = on_pool!(self, |pool| sqlx::query(SQL)
            .bind(change.url)
            .bind(change.description)
            .bind(change.events.map(events_json))
            .bind(change.secret.map(SigningSecret::expose))
            .bind(enabled)
            .bind(now.millis())
            .bind(id.to_string())
            .execute(pool)
            .await?
            .rows_affected());
        Ok(changed == 1)
    }

    /// Deletes an endpoint; its messages and their attempts go with it (the foreign
    /// keys cascade), and its pending deliveries then find nothing to send.
    pub async fn delete_webhook(&self, id: WebhookId) -> StoreResult<bool> {
        const SQL: &str = "DELETE FROM webhook_endpoints WHERE id = $1";
        let deleted = on_pool!(self, |pool| sqlx::query(SQL)
            .bind(id.to_string())
            .execute(pool)
            .await?
            .rows_affected());
        Ok(deleted == 1)
    }

    pub async fn webhook_message(&self, id: &str) -> StoreResult<Option<MessageRecord>> {
        const SQL: &str = "SELECT id, endpoint_id, event_type, profile_id, occurred_at, data, \
            status FROM webhook_messages WHERE id = $1";
        let row = on_pool!(self, |pool| sqlx::query_as::<_, MessageRow>(SQL)
            .bind(id)
            .fetch_optional(pool)
            .await?);
        row.map(MessageRecord::try_from).transpose()
    }

    /// Records an attempt, and the endpoint's health with it: a success forgets past
    /// failures; a failure starts (or continues) the failing streak, and an endpoint
    /// failing since `disable_before` or earlier is disabled. Returns whether this
    /// attempt disabled it.
    pub async fn record_webhook_attempt(
        &self,
        endpoint: WebhookId,
        attempt: &AttemptRecord,
        disable_before: Timestamp,
    ) -> StoreResult<bool> {
        const ATTEMPT: &str = "INSERT INTO webhook_attempts (id, message_id, endpoint_id, at, \
            status_code, duration_ms, response, succeeded) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
        const MESSAGE: &str = "UPDATE webhook_messages SET status = $1 WHERE id = $2 \
            AND status <> 'delivered'";
        const HEALTHY: &str = "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1";
        const FAILING: &str = "UPDATE webhook_endpoints SET \
            failing_since = COALESCE(failing_since, $1) WHERE id = $2";
        const DISABLE: &str = "UPDATE webhook_endpoints SET disabled_at = $1, \
            disabled_reason = 'every delivery failed for five days', updated_at = $1 \
            WHERE id = $2 AND disabled_at IS NULL AND failing_since <= $3";
        let id = endpoint.to_string();
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |conn| sqlx::query(ATTEMPT)
            .bind(&attempt.id)
            .bind(&attempt.message_id)
            .bind(&id)
            .bind(attempt.at.millis())
            .bind(attempt.status_code.map(i32::from))
            .bind(attempt.duration_ms)
            .bind(&attempt.response)
            .bind(i32::from(attempt.succeeded))
            .execute(conn)
            .await?
            .rows_affected());
        if attempt.succeeded {
            on_tx!(&mut tx, |conn| sqlx::query(MESSAGE)
                .bind(MessageStatus::Delivered.as_str())
                .bind(&attempt.message_id)
                .execute(conn)
                .await?
                .rows_affected());
            on_tx!(&mut tx, |conn| sqlx::query(HEALTHY)
                .bind(&id)
                .execute(conn)
                .await?
                .rows_affected());
            tx.commit().await?;
            return Ok(false);
        }
        on_tx!(&mut tx, |conn| sqlx::query(FAILING)
            .bind(attempt.at.millis())
            .bind(&id)
            .execute(conn)
            .await?
            .rows_affected());
        let disabled = on_tx!(&mut tx, |conn| sqlx::query(DISABLE)
            .bind(attempt.at.millis())
            .bind(&id)
            .bind(disable_before.millis())
            .execute(conn)
            .await?
            .rows_affected());
        tx.commit().await?;
        Ok(disabled == 1)
    }

    /// Marks a message that will not be tried again by itself.
    pub async fn fail_webhook_message(&self, id: &str) -> StoreResult<()> {
        const SQL: &str = "UPDATE webhook_messages SET status = 'failed' WHERE id = $1 \
            AND status = 'pending'";
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// An endpoint's attempts, newest first.
    pub async fn webhook_attempts(
        &self,
        endpoint: WebhookId,
        page: &PageRequest,
    ) -> StoreResult<Vec<AttemptRecord>> {
        const SQL: &str = "SELECT a.id, a.message_id, m.event_type, a.at, a.status_code, \
            a.duration_ms, a.response, a.succeeded FROM webhook_attempts a \
            JOIN webhook_messages m ON m.id = a.message_id \
            WHERE a.endpoint_id = $1 AND ($2 = '' OR a.id < $2) ORDER BY a.id DESC LIMIT $3";
        let before = page.after.as_ref().map_or("", |c| c.as_str()).to_owned();
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, AttemptRow>(SQL)
            .bind(endpoint.to_string())
            .bind(&before)
            .bind(i64::from(page.limit) + 1)
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(AttemptRecord::try_from).collect()
    }
}

impl Tx {
    /// Endpoints that receive messages now.
    pub async fn enabled_webhooks(&mut self) -> StoreResult<Vec<EndpointRecord>> {
        const SQL: &str = select_endpoints!("WHERE disabled_at IS NULL ORDER BY id");
        let rows = on_tx!(self, |conn| sqlx::query_as::<_, EndpointRow>(SQL)
            .fetch_all(conn)
            .await?);
        rows.into_iter().map(EndpointRecord::try_from).collect()
    }

    pub async fn insert_webhook_message(&mut self, message: &NewMessage<'_>) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO webhook_messages (id, endpoint_id, event_type, \
            profile_id, occurred_at, data, status, created_at) \
            VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)";
        on_tx!(self, |conn| sqlx::query(SQL)
            .bind(message.id)
            .bind(message.endpoint_id.to_string())
            .bind(message.event_type.as_str())
            .bind(message.customer.map(|c| c.to_string()))
            .bind(message.occurred_at)
            .bind(message.data.to_string())
            .bind(message.now.millis())
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Part of an erasure: messages about these fragments keep only the customer's id,
    /// and what receivers answered to them (which may quote the payload) is dropped.
    pub(crate) async fn scrub_webhook_messages(
        &mut self,
        fragments: &[String],
    ) -> StoreResult<u64> {
        const DATA: &str = "UPDATE webhook_messages SET \
            data = '{\"customer_id\":\"' || profile_id || '\",\"erased\":true}' \
            WHERE profile_id = $1";
        const ANSWERS: &str = "UPDATE webhook_attempts SET response = '' WHERE message_id IN \
            (SELECT id FROM webhook_messages WHERE profile_id = $1)";
        let mut scrubbed = 0;
        for fragment in fragments {
            on_tx!(self, |conn| sqlx::query(ANSWERS)
                .bind(fragment)
                .execute(conn)
                .await?
                .rows_affected());
            scrubbed += on_tx!(self, |conn| sqlx::query(DATA)
                .bind(fragment)
                .execute(conn)
                .await?
                .rows_affected());
        }
        Ok(scrubbed)
    }
}

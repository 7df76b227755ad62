//! Messages: written once per provider message, then advanced by delivery reports.

use hilo_domain::conversations::{ChannelType, Direction, MessageStatus};
use hilo_domain::customers::changes::ChangeKind;
use hilo_domain::{ChannelId, ConversationId, CustomerId, MessageId, Timestamp};
use serde_json::Value;

use super::parse_id;
use crate::tx::{Tx, on_tx};
use crate::{Store, StoreResult, corrupt, on_pool};

#[derive(Debug, Clone, PartialEq)]
pub struct MessageRecord {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub profile_id: CustomerId,
    pub channel_id: Option<ChannelId>,
    pub channel_type: Option<ChannelType>,
    pub direction: Direction,
    pub content: String,
    /// Attachments: `[{"url", "content_type"}]`.
    pub media: Value,
    pub status: MessageStatus,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub provider_message_id: Option<String>,
    pub customer_address: Option<String>,
    pub author: String,
    /// Sent as this approved template (WhatsApp outside its window).
    pub template: Option<hilo_domain::conversations::template::Template>,
    /// An email's subject, threading headers, addresses, HTML and attachments.
    pub email: Option<hilo_domain::conversations::email::EmailDetails>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A message to write.
pub type NewMessage = MessageRecord;

/// What a provider reported about a message it carries.
#[derive(Debug, Clone)]
pub struct StatusReport<'a> {
    pub status: MessageStatus,
    pub error_code: Option<&'a str>,
    pub error_message: Option<&'a str>,
    pub provider_message_id: Option<&'a str>,
}

#[derive(sqlx::FromRow)]
pub(super) struct MessageRow {
    id: String,
    conversation_id: String,
    profile_id: String,
    channel_id: Option<String>,
    channel_type: Option<String>,
    direction: String,
    content: String,
    media: String,
    status: String,
    error_code: Option<String>,
    error_message: Option<String>,
    provider_message_id: Option<String>,
    customer_address: Option<String>,
    author: String,
    template: Option<String>,
    email: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<MessageRow> for MessageRecord {
    type Error = crate::StoreError;

    fn try_from(row: MessageRow) -> StoreResult<Self> {
        Ok(Self {
            id: parse_id("message id", &row.id)?,
            conversation_id: parse_id("conversation id", &row.conversation_id)?,
            profile_id: parse_id("customer id", &row.profile_id)?,
            channel_id: row
                .channel_id
                .map(|c| parse_id("channel id", &c))
                .transpose()?,
            channel_type: row
                .channel_type
                .map(|c| parse_id("channel type", &c))
                .transpose()?,
            direction: parse_id("message direction", &row.direction)?,
            content: row.content,
            media: serde_json::from_str(&row.media).map_err(|e| corrupt("message media", e))?,
            status: parse_id("message status", &row.status)?,
            error_code: row.error_code,
            error_message: row.error_message,
            provider_message_id: row.provider_message_id,
            customer_address: row.customer_address,
            author: row.author,
            template: row
                .template
                .map(|t| serde_json::from_str(&t).map_err(|e| corrupt("message template", e)))
                .transpose()?,
            email: row
                .email
                .map(|e| serde_json::from_str(&e).map_err(|e| corrupt("message email", e)))
                .transpose()?,
            created_at: Timestamp::from_millis(row.created_at),
            updated_at: Timestamp::from_millis(row.updated_at),
        })
    }
}

macro_rules! select_messages {
    ($rest:literal) => {
        concat!(
            "SELECT id, conversation_id, profile_id, channel_id, channel_type, direction, \
             content, media, status, error_code, error_message, provider_message_id, \
             customer_address, author, template, email, created_at, updated_at FROM messages ",
            $rest
        )
    };
}
pub(crate) use select_messages;

impl Tx {
    /// Writes a message; `false` when the provider's message was stored before.
    pub async fn insert_message(&mut self, m: &NewMessage) -> StoreResult<bool> {
        const SQL: &str = "INSERT INTO messages (id, conversation_id, profile_id, channel_id, \
            channel_type, direction, content, media, status, error_code, error_message, \
            provider_message_id, customer_address, author, template, created_at, updated_at, \
            email) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
            $18) \
            ON CONFLICT (channel_id, provider_message_id) DO NOTHING";
        let written = on_tx!(self, |conn| sqlx::query(SQL)
            .bind(m.id.to_string())
            .bind(m.conversation_id.to_string())
            .bind(m.profile_id.to_string())
            .bind(m.channel_id.map(|c| c.to_string()))
            .bind(m.channel_type.map(ChannelType::as_str))
            .bind(m.direction.as_str())
            .bind(&m.content)
            .bind(m.media.to_string())
            .bind(m.status.as_str())
            .bind(m.error_code.as_deref())
            .bind(m.error_message.as_deref())
            .bind(m.provider_message_id.as_deref())
            .bind(m.customer_address.as_deref())
            .bind(&m.author)
            .bind(
                m.template
                    .as_ref()
                    .and_then(|t| serde_json::to_string(t).ok()),
            )
            .bind(m.created_at.millis())
            .bind(m.updated_at.millis())
            .bind(m.email.as_ref().and_then(|e| serde_json::to_string(e).ok()))
            .execute(conn)
            .await?
            .rows_affected());
        Ok(written == 1)
    }

    /// Whether the channel's provider message is stored already.
    pub async fn provider_message_seen(
        &mut self,
        channel: ChannelId,
        provider_message_id: &str,
    ) -> StoreResult<bool> {
        const SQL: &str = "SELECT EXISTS (SELECT 1 FROM messages WHERE channel_id = $1 \
            AND provider_message_id = $2)";
        Ok(on_tx!(self, |conn| sqlx::query_scalar::<_, bool>(SQL)
            .bind(channel.to_string())
            .bind(provider_message_id)
            .fetch_one(conn)
            .await?))
    }
}

impl Tx {
    /// The message a provider knows by its own id, in this transaction.
    pub async fn message_by_provider_id(
        &mut self,
        channel: ChannelId,
        provider_message_id: &str,
    ) -> StoreResult<Option<MessageRecord>> {
        const SQL: &str = select_messages!("WHERE channel_id = $1 AND provider_message_id = $2");
        let row = on_tx!(self, |conn| sqlx::query_as::<_, MessageRow>(SQL)
            .bind(channel.to_string())
            .bind(provider_message_id)
            .fetch_optional(conn)
            .await?);
        row.map(MessageRecord::try_from).transpose()
    }
}

impl Store {
    pub async fn message(&self, id: MessageId) -> StoreResult<Option<MessageRecord>> {
        const SQL: &str = select_messages!("WHERE id = $1");
        let row = on_pool!(self, |pool| sqlx::query_as::<_, MessageRow>(SQL)
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?);
        row.map(MessageRecord::try_from).transpose()
    }

    /// A conversation's messages, oldest first, after `after` (a message id).
    pub async fn messages_of(
        &self,
        conversation: ConversationId,
        after: Option<MessageId>,
        limit: u32,
    ) -> StoreResult<Vec<MessageRecord>> {
        const SQL: &str =
            select_messages!("WHERE conversation_id = $1 AND id > $2 ORDER BY id LIMIT $3");
        let after = after.map(|m| m.to_string()).unwrap_or_default();
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, MessageRow>(SQL)
            .bind(conversation.to_string())
            .bind(&after)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(MessageRecord::try_from).collect()
    }

    /// The message a provider knows by its own id.
    pub async fn message_by_provider_id(
        &self,
        channel: ChannelId,
        provider_message_id: &str,
    ) -> StoreResult<Option<MessageRecord>> {
        const SQL: &str = select_messages!("WHERE channel_id = $1 AND provider_message_id = $2");
        let row = on_pool!(self, |pool| sqlx::query_as::<_, MessageRow>(SQL)
            .bind(channel.to_string())
            .bind(provider_message_id)
            .fetch_optional(pool)
            .await?);
        row.map(MessageRecord::try_from).transpose()
    }

    /// When the customer last wrote on `channel` in any of their conversations.
    pub async fn last_inbound_on(
        &self,
        root: CustomerId,
        channel: ChannelId,
    ) -> StoreResult<Option<Timestamp>> {
        const SQL: &str = crate::sql::tree!(
            "SELECT MAX(m.created_at) FROM messages m WHERE m.profile_id IN (SELECT id FROM tree) \
             AND m.channel_id = $2 AND m.direction = 'inbound'"
        );
        let at = on_pool!(self, |pool| sqlx::query_scalar::<_, Option<i64>>(SQL)
            .bind(root.to_string())
            .bind(channel.to_string())
            .fetch_one(pool)
            .await?);
        Ok(at.map(Timestamp::from_millis))
    }

    /// Applies a delivery report to `message`: the new status (the caller decided it
    /// may advance), the provider's reason, and its id for the message when it first
    /// learns it; with the change feed's `message.updated` in the same transaction.
    pub async fn report_message_status(
        &self,
        message: &MessageRecord,
        report: &StatusReport<'_>,
        now: Timestamp,
    ) -> StoreResult<()> {
        const SQL: &str = "UPDATE messages SET status = $1, \
            error_code = CASE WHEN $1 = 'failed' THEN $2 ELSE NULL END, \
            error_message = CASE WHEN $1 = 'failed' THEN $3 ELSE NULL END, \
            provider_message_id = COALESCE(provider_message_id, $4), updated_at = $5 \
            WHERE id = $6";
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |conn| sqlx::query(SQL)
            .bind(report.status.as_str())
            .bind(report.error_code)
            .bind(report.error_message)
            .bind(report.provider_message_id)
            .bind(now.millis())
            .bind(message.id.to_string())
            .execute(conn)
            .await?
            .rows_affected());
        let customer = tx.root_of(message.profile_id).await?;
        let data = serde_json::json!({
            "conversation_id": message.conversation_id.to_string(),
            "message_id": message.id.to_string(),
            "channel_id": message.channel_id.map(|c| c.to_string()),
            "channel_type": message.channel_type.map(ChannelType::as_str),
            "direction": message.direction.as_str(),
            "status": report.status.as_str(),
        });
        tx.record_change(ChangeKind::MessageUpdated, customer, &data.to_string(), now)
            .await?;
        tx.commit().await
    }
}

impl Store {
    /// For each conversation, how many of the customer's messages came after the last
    /// reply sent to them: what an agent has not answered yet (notes do not answer).
    /// Conversations with none are left out.
    pub async fn unanswered_counts(
        &self,
        conversations: &[ConversationId],
    ) -> StoreResult<std::collections::HashMap<ConversationId, i64>> {
        // Each count walks the conversation's messages by the index on
        // (conversation_id, id), from the last reply on.
        macro_rules! unanswered {
            ($ids:literal) => {
                concat!(
                    "SELECT c.id, (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id ",
                    "AND m.direction = 'inbound' AND m.id > COALESCE((SELECT max(o.id) FROM messages o ",
                    "WHERE o.conversation_id = c.id AND o.direction = 'outbound'), '')) FROM ",
                    $ids
                )
            };
        }
        if conversations.is_empty() {
            return Ok(std::collections::HashMap::new());
        }
        let ids: Vec<String> = conversations.iter().map(ToString::to_string).collect();
        let rows: Vec<(String, i64)> = match self {
            Self::Sqlite(pool) => {
                sqlx::query_as(unanswered!("(SELECT value AS id FROM json_each($1)) c"))
                    .bind(serde_json::to_string(&ids).map_err(|e| corrupt("conversation ids", e))?)
                    .fetch_all(pool)
                    .await?
            }
            Self::Postgres(pool) => {
                sqlx::query_as(unanswered!("unnest($1::text[]) AS c(id)"))
                    .bind(&ids)
                    .fetch_all(pool)
                    .await?
            }
        };
        rows.into_iter()
            .filter(|(_, count)| *count > 0)
            .map(|(id, count)| Ok((parse_id("conversation id", &id)?, count)))
            .collect()
    }
}

//! Email's storage (migration 0022): the mailbox a recipient address belongs to, the
//! conversation a reply threads into, and attachments.

use hilo_domain::conversations::ChannelType;
use hilo_domain::{ConversationId, CustomerId, MessageId, Timestamp};

use super::channels::{ChannelRecord, ChannelRow};
use super::parse_id;
use crate::tx::{Tx, on_tx};
use crate::{Store, StoreResult, on_pool};

/// An attachment to write with its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    pub id: String,
    pub filename: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// An attachment read for download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRecord {
    pub id: String,
    pub message_id: MessageId,
    pub filename: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

impl Store {
    /// The email channel (not deleted) that receives for `mailbox` (lower case).
    pub async fn email_channel(&self, mailbox: &str) -> StoreResult<Option<ChannelRecord>> {
        const SQL: &str = "SELECT id, channel_type, name, settings, secrets, address, \
            created_at, updated_at FROM channels WHERE deleted_at IS NULL \
            AND channel_type = $1 AND lower(address) = $2 ORDER BY id LIMIT 1";
        let row = on_pool!(self, |pool| sqlx::query_as::<_, ChannelRow>(SQL)
            .bind(ChannelType::Email.as_str())
            .bind(mailbox)
            .fetch_optional(pool)
            .await?);
        row.map(ChannelRecord::try_from).transpose()
    }

    /// The newest email of a conversation on a channel, in either direction: what a
    /// reply there threads under.
    pub async fn last_email_of(
        &self,
        conversation: ConversationId,
        channel: hilo_domain::ChannelId,
    ) -> StoreResult<Option<super::MessageRecord>> {
        const SQL: &str = crate::conversations::messages::select_messages!(
            "WHERE conversation_id = $1 AND channel_id = $2 AND email IS NOT NULL \
             ORDER BY id DESC LIMIT 1"
        );
        let row = on_pool!(self, |pool| {
            sqlx::query_as::<_, super::messages::MessageRow>(SQL)
                .bind(conversation.to_string())
                .bind(channel.to_string())
                .fetch_optional(pool)
                .await?
        });
        row.map(super::MessageRecord::try_from).transpose()
    }

    /// An attachment with its bytes.
    pub async fn attachment(&self, id: &str) -> StoreResult<Option<AttachmentRecord>> {
        const SQL: &str = "SELECT id, message_id, filename, content_type, data \
            FROM attachments WHERE id = $1";
        let row = on_pool!(self, |pool| sqlx::query_as::<
            _,
            (String, String, String, String, Vec<u8>),
        >(SQL)
        .bind(id)
        .fetch_optional(pool)
        .await?);
        row.map(|(id, message, filename, content_type, data)| {
            Ok(AttachmentRecord {
                id,
                message_id: parse_id("message id", &message)?,
                filename,
                content_type,
                data,
            })
        })
        .transpose()
    }
}

impl Tx {
    /// The conversation of the customer's (`customer`: the live profile) that an email replies to: the one its reply
    /// address names, or the newest holding a message it references. Only the
    /// customer's own, and only while not resolved (a reply to a closed one opens a
    /// new conversation, as any message does).
    pub async fn email_thread(
        &mut self,
        channel: hilo_domain::ChannelId,
        references: &[String],
        named: Option<ConversationId>,
        customer: CustomerId,
    ) -> StoreResult<Option<ConversationId>> {
        let references: Vec<&String> = references
            .iter()
            .take(hilo_domain::conversations::email::MAX_REFERENCES)
            .collect();
        let listed = (0..references.len())
            .map(|n| format!("${}", n + 4))
            .collect::<Vec<_>>()
            .join(", ");
        let by_reference = if references.is_empty() {
            String::new()
        } else {
            format!(
                " OR c.id IN (SELECT m.conversation_id FROM messages m WHERE m.channel_id = $2 \
                 AND m.provider_message_id IN ({listed}))"
            )
        };
        let sql = format!(
            "WITH tree (id) AS (SELECT id FROM profiles WHERE root_id = $1) \
             SELECT c.id FROM conversations c WHERE c.profile_id IN (SELECT id FROM tree) \
             AND c.status <> 'resolved' AND (c.id = $3{by_reference}) \
             ORDER BY c.last_message_at DESC LIMIT 1"
        );
        let named = named.map(|c| c.to_string()).unwrap_or_default();
        let id = on_tx!(self, |conn| {
            let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(customer.to_string())
                .bind(channel.to_string())
                .bind(&named);
            for reference in &references {
                query = query.bind(*reference);
            }
            query.fetch_optional(conn).await?
        });
        id.map(|id| parse_id("conversation id", &id)).transpose()
    }

    /// Writes a message's attachments.
    pub async fn insert_attachments(
        &mut self,
        message: MessageId,
        attachments: &[NewAttachment],
        now: Timestamp,
    ) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO attachments (id, message_id, filename, content_type, \
            size, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
        for attachment in attachments {
            let size = i64::try_from(attachment.data.len()).unwrap_or(i64::MAX);
            on_tx!(self, |conn| sqlx::query(SQL)
                .bind(&attachment.id)
                .bind(message.to_string())
                .bind(&attachment.filename)
                .bind(&attachment.content_type)
                .bind(size)
                .bind(&attachment.data)
                .bind(now.millis())
                .execute(conn)
                .await?
                .rows_affected());
        }
        Ok(())
    }
}

//! Merging conversations and moving them between customers, kept for undoing
//! (migration 0020). A moved message takes its timeline item along.

use hilo_domain::customers::timeline::ItemType;
use hilo_domain::{ConversationId, CustomerId, MessageId, Timestamp};

use super::parse_id;
use crate::customers::NewTimelineItem;
use crate::tx::{Tx, on_tx};
use crate::{StoreResult, corrupt};

/// A correction, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct MoveRecord {
    pub id: String,
    /// `merge` or `move`.
    pub kind: String,
    pub conversation_id: ConversationId,
    pub other_id: Option<ConversationId>,
    pub previous_status: Option<String>,
    pub from_profile: Option<CustomerId>,
    pub to_profile: Option<CustomerId>,
    pub message_ids: Vec<MessageId>,
    pub at: Timestamp,
    pub actor: String,
    pub undone_at: Option<Timestamp>,
}

#[derive(sqlx::FromRow)]
struct MoveRow {
    id: String,
    kind: String,
    conversation_id: String,
    other_id: Option<String>,
    previous_status: Option<String>,
    from_profile: Option<String>,
    to_profile: Option<String>,
    message_ids: String,
    at: i64,
    actor: String,
    undone_at: Option<i64>,
}

impl TryFrom<MoveRow> for MoveRecord {
    type Error = crate::StoreError;

    fn try_from(row: MoveRow) -> StoreResult<Self> {
        let ids: Vec<String> =
            serde_json::from_str(&row.message_ids).map_err(|e| corrupt("moved messages", e))?;
        let optional = |what, text: Option<String>| -> StoreResult<Option<CustomerId>> {
            text.map(|t| parse_id(what, &t)).transpose()
        };
        Ok(Self {
            id: row.id,
            kind: row.kind,
            conversation_id: parse_id("conversation id", &row.conversation_id)?,
            other_id: row
                .other_id
                .map(|t| parse_id("conversation id", &t))
                .transpose()?,
            previous_status: row.previous_status,
            from_profile: optional("customer id", row.from_profile)?,
            to_profile: optional("customer id", row.to_profile)?,
            message_ids: ids
                .iter()
                .map(|id| parse_id("message id", id))
                .collect::<StoreResult<_>>()?,
            at: Timestamp::from_millis(row.at),
            actor: row.actor,
            undone_at: row.undone_at.map(Timestamp::from_millis),
        })
    }
}

/// A message's timeline item: the conversations part writes it with no source and the
/// message's id as its key.
const ITEM_OF: &str = "SELECT kind, name, channel, at, received_at, body FROM timeline \
    WHERE item_type = 'message' AND source_id IS NULL AND message_id = $1";
const DROP_ITEM: &str = "DELETE FROM timeline \
    WHERE item_type = 'message' AND source_id IS NULL AND message_id = $1";

impl Tx {
    /// Every message id of a conversation, oldest first.
    pub async fn message_ids_of(&mut self, id: ConversationId) -> StoreResult<Vec<MessageId>> {
        const SQL: &str = "SELECT id FROM messages WHERE conversation_id = $1 ORDER BY id";
        let ids: Vec<String> = on_tx!(self, |conn| sqlx::query_scalar(SQL)
            .bind(id.to_string())
            .fetch_all(conn)
            .await?);
        ids.iter().map(|id| parse_id("message id", id)).collect()
    }

    /// Puts messages in another conversation, and (a move between customers) with
    /// another customer, their timeline items with them.
    pub async fn move_messages(
        &mut self,
        ids: &[MessageId],
        to: ConversationId,
        customer: Option<CustomerId>,
    ) -> StoreResult<()> {
        const SQL: &str = "UPDATE messages SET conversation_id = $1, \
            profile_id = COALESCE($2, profile_id) WHERE id = $3";
        for id in ids {
            on_tx!(self, |conn| sqlx::query(SQL)
                .bind(to.to_string())
                .bind(customer.map(|c| c.to_string()))
                .bind(id.to_string())
                .execute(conn)
                .await?
                .rows_affected());
            if let Some(customer) = customer {
                self.move_message_item(*id, customer).await?;
            }
        }
        Ok(())
    }

    /// Writes a message's timeline item again on `customer` (deleting a timeline row
    /// takes its index entries with it, and appending keeps the index's tail).
    async fn move_message_item(&mut self, id: MessageId, customer: CustomerId) -> StoreResult<()> {
        let key = id.to_string();
        let item: Option<(String, Option<String>, String, i64, i64, String)> =
            on_tx!(self, |conn| sqlx::query_as(ITEM_OF)
                .bind(&key)
                .fetch_optional(conn)
                .await?);
        let Some((kind, name, channel, at, received_at, body)) = item else {
            return Ok(());
        };
        on_tx!(self, |conn| sqlx::query(DROP_ITEM)
            .bind(&key)
            .execute(conn)
            .await?
            .rows_affected());
        self.append_timeline(&NewTimelineItem {
            profile_id: customer,
            item_type: ItemType::Message,
            kind: &kind,
            name: name.as_deref(),
            channel: &channel,
            source_id: None,
            message_id: Some(&key),
            at: Timestamp::from_millis(at),
            received_at: Timestamp::from_millis(received_at),
            body: &body,
        })
        .await?;
        Ok(())
    }

    /// Gives a conversation to another customer.
    pub async fn set_conversation_customer(
        &mut self,
        id: ConversationId,
        customer: CustomerId,
        now: Timestamp,
    ) -> StoreResult<()> {
        const SQL: &str = "UPDATE conversations SET profile_id = $1, updated_at = $2 WHERE id = $3";
        on_tx!(self, |conn| sqlx::query(SQL)
            .bind(customer.to_string())
            .bind(now.millis())
            .bind(id.to_string())
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }

    pub async fn insert_move(&mut self, record: &MoveRecord) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO conversation_moves (id, kind, conversation_id, other_id, \
            previous_status, from_profile, to_profile, message_ids, at, actor) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
        let ids: Vec<String> = record.message_ids.iter().map(ToString::to_string).collect();
        let ids = serde_json::to_string(&ids).map_err(|e| corrupt("moved messages", e))?;
        on_tx!(self, |conn| sqlx::query(SQL)
            .bind(&record.id)
            .bind(&record.kind)
            .bind(record.conversation_id.to_string())
            .bind(record.other_id.map(|c| c.to_string()))
            .bind(record.previous_status.as_deref())
            .bind(record.from_profile.map(|c| c.to_string()))
            .bind(record.to_profile.map(|c| c.to_string()))
            .bind(&ids)
            .bind(record.at.millis())
            .bind(&record.actor)
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }

    /// A correction, held for this transaction's undo.
    pub async fn conversation_move(&mut self, id: &str) -> StoreResult<Option<MoveRecord>> {
        const SQL: &str = "SELECT id, kind, conversation_id, other_id, previous_status, \
            from_profile, to_profile, message_ids, at, actor, undone_at \
            FROM conversation_moves WHERE id = $1";
        let row = on_tx!(self, |conn| sqlx::query_as::<_, MoveRow>(SQL)
            .bind(id)
            .fetch_optional(conn)
            .await?);
        row.map(MoveRecord::try_from).transpose()
    }

    /// Marks a correction undone; `false` when it was undone already.
    pub async fn undo_move(&mut self, id: &str, now: Timestamp) -> StoreResult<bool> {
        const SQL: &str =
            "UPDATE conversation_moves SET undone_at = $1 WHERE id = $2 AND undone_at IS NULL";
        let changed = on_tx!(self, |conn| sqlx::query(SQL)
            .bind(now.millis())
            .bind(id)
            .execute(conn)
            .await?
            .rows_affected());
        Ok(changed == 1)
    }
}

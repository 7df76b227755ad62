//! Canned replies and the mentions in notes (migration 0025).

use hilo_domain::{MessageId, Timestamp, UserId};

use super::parse_id;
use crate::tx::{Tx, on_tx};
use crate::{Store, StoreResult, on_pool};

/// A stored canned reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CannedReply {
    pub id: String,
    pub shortcut: String,
    pub content: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

type CannedRow = (String, String, String, i64, i64);

fn canned((id, shortcut, content, created_at, updated_at): CannedRow) -> CannedReply {
    CannedReply {
        id,
        shortcut,
        content,
        created_at: Timestamp::from_millis(created_at),
        updated_at: Timestamp::from_millis(updated_at),
    }
}

impl Store {
    /// Canned replies whose shortcut starts with `prefix`, by shortcut.
    pub async fn canned_replies(&self, prefix: &str) -> StoreResult<Vec<CannedReply>> {
        const SQL: &str = "SELECT id, shortcut, content, created_at, updated_at \
            FROM canned_replies WHERE substr(shortcut, 1, length($1)) = $1 \
            ORDER BY shortcut LIMIT 500";
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, CannedRow>(SQL)
            .bind(prefix)
            .fetch_all(pool)
            .await?);
        Ok(rows.into_iter().map(canned).collect())
    }

    pub async fn canned_reply(&self, id: &str) -> StoreResult<Option<CannedReply>> {
        const SQL: &str = "SELECT id, shortcut, content, created_at, updated_at \
            FROM canned_replies WHERE id = $1";
        let row = on_pool!(self, |pool| sqlx::query_as::<_, CannedRow>(SQL)
            .bind(id)
            .fetch_optional(pool)
            .await?);
        Ok(row.map(canned))
    }

    /// Writes a canned reply, new or changed; a shortcut another one has is a
    /// conflict.
    pub async fn put_canned_reply(&self, reply: &CannedReply) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO canned_replies (id, shortcut, content, created_at, \
            updated_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET \
            shortcut = excluded.shortcut, content = excluded.content, \
            updated_at = excluded.updated_at";
        // A unique violation (the shortcut is another's) arrives as a conflict.
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(&reply.id)
            .bind(&reply.shortcut)
            .bind(&reply.content)
            .bind(reply.created_at.millis())
            .bind(reply.updated_at.millis())
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// `false` when there was none.
    pub async fn delete_canned_reply(&self, id: &str) -> StoreResult<bool> {
        let deleted = on_pool!(self, |pool| sqlx::query(
            "DELETE FROM canned_replies WHERE id = $1"
        )
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(deleted == 1)
    }

    /// Who the notes of a conversation mention: (note, user) pairs.
    pub async fn mentions_in(
        &self,
        conversation: hilo_domain::ConversationId,
    ) -> StoreResult<Vec<(MessageId, UserId)>> {
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, (String, String)>(
            "SELECT n.message_id, n.user_id FROM message_mentions n JOIN messages m \
             ON m.id = n.message_id WHERE m.conversation_id = $1 ORDER BY n.message_id, n.user_id"
        )
        .bind(conversation.to_string())
        .fetch_all(pool)
        .await?);
        rows.iter()
            .map(|(m, u)| Ok((parse_id("message id", m)?, parse_id("user id", u)?)))
            .collect()
    }

    /// The users a note mentions.
    pub async fn mentions_of(&self, message: MessageId) -> StoreResult<Vec<UserId>> {
        let ids = on_pool!(self, |pool| sqlx::query_scalar::<_, String>(
            "SELECT user_id FROM message_mentions WHERE message_id = $1 ORDER BY user_id"
        )
        .bind(message.to_string())
        .fetch_all(pool)
        .await?);
        ids.iter().map(|id| parse_id("user id", id)).collect()
    }
}

impl Tx {
    /// Records who a note mentions.
    pub async fn insert_mentions(
        &mut self,
        message: MessageId,
        users: &[UserId],
    ) -> StoreResult<()> {
        for user in users {
            on_tx!(self, |conn| sqlx::query(
                "INSERT INTO message_mentions (message_id, user_id) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING"
            )
            .bind(message.to_string())
            .bind(user.to_string())
            .execute(conn)
            .await?
            .rows_affected());
        }
        Ok(())
    }
}

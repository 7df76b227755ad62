//! Web chat visitors (migration 0021): who a widget's connection is, and the messages
//! it may see — those whose `customer_address` on the channel is the visitor's id.

use hilo_domain::{ChannelId, CustomerId, MessageId, Timestamp, VisitorId};

use super::messages::{MessageRecord, MessageRow};
use super::parse_id;
use crate::tx::{Tx, on_tx};
use crate::{Store, StoreResult, on_pool};

/// A stored visitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitorRecord {
    pub id: VisitorId,
    pub channel_id: ChannelId,
    /// `user_id:…` or `email:…` once the site proved who they are.
    pub verified_key: Option<String>,
    pub anonymous_id: String,
}

/// A visitor to write with their first message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVisitor {
    pub id: VisitorId,
    pub channel_id: ChannelId,
    /// The digest of an anonymous visitor's token.
    pub token_digest: Option<String>,
    pub verified_key: Option<String>,
    pub anonymous_id: String,
}

#[derive(sqlx::FromRow)]
struct VisitorRow {
    id: String,
    channel_id: String,
    verified_key: Option<String>,
    anonymous_id: String,
}

impl TryFrom<VisitorRow> for VisitorRecord {
    type Error = crate::StoreError;

    fn try_from(row: VisitorRow) -> StoreResult<Self> {
        Ok(Self {
            id: parse_id("visitor id", &row.id)?,
            channel_id: parse_id("channel id", &row.channel_id)?,
            verified_key: row.verified_key,
            anonymous_id: row.anonymous_id,
        })
    }
}

macro_rules! select_visitors {
    ($rest:literal) => {
        concat!(
            "SELECT id, channel_id, verified_key, anonymous_id FROM chat_visitors ",
            $rest
        )
    };
}

impl Store {
    /// The anonymous visitor of `channel` holding the token with this digest.
    pub async fn visitor_by_token(
        &self,
        channel: ChannelId,
        token_digest: &str,
    ) -> StoreResult<Option<VisitorRecord>> {
        const SQL: &str = select_visitors!(
            "WHERE channel_id = $1 AND token_digest = $2 AND verified_key IS NULL"
        );
        let row = on_pool!(self, |pool| sqlx::query_as::<_, VisitorRow>(SQL)
            .bind(channel.to_string())
            .bind(token_digest)
            .fetch_optional(pool)
            .await?);
        row.map(VisitorRecord::try_from).transpose()
    }

    /// The verified visitor of `channel` with this key, if they ever wrote.
    pub async fn verified_visitor(
        &self,
        channel: ChannelId,
        verified_key: &str,
    ) -> StoreResult<Option<VisitorRecord>> {
        const SQL: &str = select_visitors!("WHERE channel_id = $1 AND verified_key = $2");
        let row = on_pool!(self, |pool| sqlx::query_as::<_, VisitorRow>(SQL)
            .bind(channel.to_string())
            .bind(verified_key)
            .fetch_optional(pool)
            .await?);
        row.map(VisitorRecord::try_from).transpose()
    }

    /// An anonymous visitor who has now proved who they are: their messages become the
    /// verified visitor's (`into`, when that one exists) or they become verified
    /// themselves. Returns the visitor they are now.
    pub async fn verify_visitor(
        &self,
        anonymous: &VisitorRecord,
        into: Option<&VisitorRecord>,
        verified_key: &str,
    ) -> StoreResult<VisitorId> {
        let mut tx = self.begin().await?;
        let kept = match into {
            Some(into) => {
                on_tx!(&mut tx, |conn| sqlx::query(
                    "UPDATE messages SET customer_address = $1 WHERE channel_id = $2 \
                     AND customer_address = $3"
                )
                .bind(into.id.to_string())
                .bind(anonymous.channel_id.to_string())
                .bind(anonymous.id.to_string())
                .execute(conn)
                .await?
                .rows_affected());
                on_tx!(&mut tx, |conn| sqlx::query(
                    "DELETE FROM chat_visitors WHERE id = $1"
                )
                .bind(anonymous.id.to_string())
                .execute(conn)
                .await?
                .rows_affected());
                into.id
            }
            None => {
                on_tx!(&mut tx, |conn| sqlx::query(
                    "UPDATE chat_visitors SET verified_key = $1, token_digest = NULL WHERE id = $2"
                )
                .bind(verified_key)
                .bind(anonymous.id.to_string())
                .execute(conn)
                .await?
                .rows_affected());
                anonymous.id
            }
        };
        tx.commit().await?;
        Ok(kept)
    }

    /// A visitor's messages on their channel (never notes), the newest `limit`, oldest
    /// first.
    pub async fn visitor_messages(
        &self,
        visitor: &VisitorRecord,
        limit: u32,
    ) -> StoreResult<Vec<MessageRecord>> {
        const SQL: &str = concat!(
            "SELECT * FROM (",
            crate::conversations::messages::select_messages!(
                "WHERE channel_id = $1 AND customer_address = $2 \
                 AND direction IN ('inbound', 'outbound') ORDER BY id DESC LIMIT $3"
            ),
            ") newest ORDER BY id"
        );
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, MessageRow>(SQL)
            .bind(visitor.channel_id.to_string())
            .bind(visitor.id.to_string())
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(MessageRecord::try_from).collect()
    }

    /// A visitor's message, if it is theirs.
    pub async fn visitor_message(
        &self,
        visitor: &VisitorRecord,
        id: MessageId,
    ) -> StoreResult<Option<MessageRecord>> {
        Ok(self.message(id).await?.filter(|m| {
            m.channel_id == Some(visitor.channel_id)
                && m.customer_address.as_deref() == Some(&visitor.id.to_string())
        }))
    }

    /// Where the customer last wrote from on `channel` (a web chat visitor), if ever.
    pub async fn last_address_on(
        &self,
        root: CustomerId,
        channel: ChannelId,
    ) -> StoreResult<Option<String>> {
        const SQL: &str = crate::sql::tree!(
            "SELECT m.customer_address FROM messages m WHERE m.profile_id IN \
             (SELECT id FROM tree) AND m.channel_id = $2 AND m.direction = 'inbound' \
             ORDER BY m.id DESC LIMIT 1"
        );
        let address = on_pool!(self, |pool| sqlx::query_scalar::<_, Option<String>>(SQL)
            .bind(root.to_string())
            .bind(channel.to_string())
            .fetch_optional(pool)
            .await?);
        Ok(address.flatten())
    }
}

impl Tx {
    /// Writes the visitor with their message, or notes the customer their message went
    /// to; a verified visitor another connection wrote first is that one. Returns the
    /// visitor's id as stored.
    pub async fn save_visitor(
        &mut self,
        visitor: &NewVisitor,
        customer: CustomerId,
        now: Timestamp,
    ) -> StoreResult<VisitorId> {
        const SQL: &str = "INSERT INTO chat_visitors (id, channel_id, token_digest, \
            verified_key, anonymous_id, profile_id, created_at, last_seen_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
            ON CONFLICT (id) DO UPDATE SET anonymous_id = excluded.anonymous_id, \
            profile_id = excluded.profile_id, last_seen_at = excluded.last_seen_at";
        const BY_KEY: &str = "INSERT INTO chat_visitors (id, channel_id, token_digest, \
            verified_key, anonymous_id, profile_id, created_at, last_seen_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
            ON CONFLICT (channel_id, verified_key) DO UPDATE SET \
            anonymous_id = excluded.anonymous_id, profile_id = excluded.profile_id, \
            last_seen_at = excluded.last_seen_at RETURNING id";
        if visitor.verified_key.is_none() {
            on_tx!(self, |conn| sqlx::query(SQL)
                .bind(visitor.id.to_string())
                .bind(visitor.channel_id.to_string())
                .bind(visitor.token_digest.as_deref())
                .bind(visitor.verified_key.as_deref())
                .bind(&visitor.anonymous_id)
                .bind(customer.to_string())
                .bind(now.millis())
                .execute(conn)
                .await?
                .rows_affected());
            return Ok(visitor.id);
        }
        let id = on_tx!(self, |conn| sqlx::query_scalar::<_, String>(BY_KEY)
            .bind(visitor.id.to_string())
            .bind(visitor.channel_id.to_string())
            .bind(visitor.token_digest.as_deref())
            .bind(visitor.verified_key.as_deref())
            .bind(&visitor.anonymous_id)
            .bind(customer.to_string())
            .bind(now.millis())
            .fetch_one(conn)
            .await?);
        parse_id("visitor id", &id)
    }

    /// Deletes the web chat visitors whose messages went to a fragment being erased.
    pub async fn erase_visitors(&mut self, fragment: CustomerId) -> StoreResult<u64> {
        const SQL: &str = "DELETE FROM chat_visitors WHERE profile_id = $1 OR id IN \
            (SELECT customer_address FROM messages WHERE profile_id = $1 \
             AND channel_type = 'web_chat')";
        Ok(on_tx!(self, |conn| sqlx::query(SQL)
            .bind(fragment.to_string())
            .execute(conn)
            .await?
            .rows_affected()))
    }
}

//! A conversation's satisfaction survey: when it was asked, and the answer
//! (migration 0026).

use hilo_domain::{ConversationId, CustomerId, Timestamp};

use super::parse_id;
use crate::tx::{Tx, on_tx};
use crate::{Store, StoreResult, on_pool};

/// Where a conversation's survey stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CsatRecord {
    pub requested_at: Option<Timestamp>,
    pub rating: Option<u8>,
    pub rated_at: Option<Timestamp>,
}

impl Store {
    pub async fn csat_of(&self, conversation: ConversationId) -> StoreResult<CsatRecord> {
        const SQL: &str = "SELECT csat_requested_at, csat_rating, csat_rated_at \
            FROM conversations WHERE id = $1";
        let row = on_pool!(self, |pool| sqlx::query_as::<
            _,
            (Option<i64>, Option<i64>, Option<i64>),
        >(SQL)
        .bind(conversation.to_string())
        .fetch_optional(pool)
        .await?);
        Ok(
            row.map_or_else(CsatRecord::default, |(requested, rating, rated)| {
                CsatRecord {
                    requested_at: requested.map(Timestamp::from_millis),
                    rating: rating.and_then(|r| u8::try_from(r).ok()),
                    rated_at: rated.map(Timestamp::from_millis),
                }
            }),
        )
    }
}

impl Tx {
    /// Notes that the survey was sent, unless it was before; `true` when it was not.
    pub async fn csat_requested(
        &mut self,
        conversation: ConversationId,
        at: Timestamp,
    ) -> StoreResult<bool> {
        const SQL: &str = "UPDATE conversations SET csat_requested_at = $1 \
            WHERE id = $2 AND csat_requested_at IS NULL";
        let changed = on_tx!(self, |conn| sqlx::query(SQL)
            .bind(at.millis())
            .bind(conversation.to_string())
            .execute(conn)
            .await?
            .rows_affected());
        Ok(changed == 1)
    }

    /// The customer's resolved conversation whose survey, sent since `since`, is not
    /// answered yet: where a rating goes.
    pub async fn csat_awaiting(
        &mut self,
        customer: CustomerId,
        since: Timestamp,
    ) -> StoreResult<Option<ConversationId>> {
        const SQL: &str = crate::sql::tree!(
            "SELECT c.id FROM conversations c WHERE c.profile_id IN (SELECT id FROM tree) \
             AND c.status = 'resolved' AND c.csat_requested_at >= $2 \
             AND c.csat_rating IS NULL ORDER BY c.csat_requested_at DESC LIMIT 1"
        );
        let id = on_tx!(self, |conn| sqlx::query_scalar::<_, String>(SQL)
            .bind(customer.to_string())
            .bind(since.millis())
            .fetch_optional(conn)
            .await?);
        id.map(|id| parse_id("conversation id", &id)).transpose()
    }

    pub async fn rate_conversation(
        &mut self,
        conversation: ConversationId,
        rating: u8,
        at: Timestamp,
    ) -> StoreResult<()> {
        const SQL: &str = "UPDATE conversations SET csat_rating = $1, csat_rated_at = $2 \
            WHERE id = $3";
        on_tx!(self, |conn| sqlx::query(SQL)
            .bind(i64::from(rating))
            .bind(at.millis())
            .bind(conversation.to_string())
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }
}

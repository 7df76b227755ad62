//! A conversation's service levels: when its first response and resolution are due,
//! and when they happened (migration 0027).

use hilo_domain::{ConversationId, Timestamp};

use crate::tx::{Tx, on_tx};
use crate::{Store, StoreResult, on_pool};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SlaRecord {
    pub first_response_due_at: Option<Timestamp>,
    pub first_replied_at: Option<Timestamp>,
    pub resolution_due_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
}

impl Store {
    pub async fn sla_of(&self, conversation: ConversationId) -> StoreResult<SlaRecord> {
        const SQL: &str = "SELECT first_response_due_at, first_replied_at, resolution_due_at, \
            resolved_at FROM conversations WHERE id = $1";
        let row = on_pool!(self, |pool| sqlx::query_as::<
            _,
            (Option<i64>, Option<i64>, Option<i64>, Option<i64>),
        >(SQL)
        .bind(conversation.to_string())
        .fetch_optional(pool)
        .await?);
        let at = |t: Option<i64>| t.map(Timestamp::from_millis);
        Ok(row.map_or_else(
            SlaRecord::default,
            |(first_due, replied, resolution_due, resolved)| SlaRecord {
                first_response_due_at: at(first_due),
                first_replied_at: at(replied),
                resolution_due_at: at(resolution_due),
                resolved_at: at(resolved),
            },
        ))
    }
}

impl Tx {
    /// Sets when a new conversation's first response and resolution are due.
    pub async fn set_sla_due(
        &mut self,
        conversation: ConversationId,
        first_response: Option<Timestamp>,
        resolution: Option<Timestamp>,
    ) -> StoreResult<()> {
        const SQL: &str = "UPDATE conversations SET first_response_due_at = $1, \
            resolution_due_at = $2 WHERE id = $3";
        on_tx!(self, |conn| sqlx::query(SQL)
            .bind(first_response.map(Timestamp::millis))
            .bind(resolution.map(Timestamp::millis))
            .bind(conversation.to_string())
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Notes the first reply to the customer, if this is it.
    pub async fn first_reply(
        &mut self,
        conversation: ConversationId,
        at: Timestamp,
    ) -> StoreResult<()> {
        const SQL: &str = "UPDATE conversations SET first_replied_at = $1 \
            WHERE id = $2 AND first_replied_at IS NULL";
        on_tx!(self, |conn| sqlx::query(SQL)
            .bind(at.millis())
            .bind(conversation.to_string())
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Notes when it was resolved (`None`: opened again).
    pub async fn set_resolved_at(
        &mut self,
        conversation: ConversationId,
        at: Option<Timestamp>,
    ) -> StoreResult<()> {
        const SQL: &str = "UPDATE conversations SET resolved_at = $1 WHERE id = $2";
        on_tx!(self, |conn| sqlx::query(SQL)
            .bind(at.map(Timestamp::millis))
            .bind(conversation.to_string())
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }
}

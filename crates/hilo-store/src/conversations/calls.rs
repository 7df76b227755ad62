//! Calls: the part of a voice message that only a call has (migration 0018).

use hilo_domain::conversations::call::CallStatus;
use hilo_domain::{ConversationId, MessageId, Timestamp, UserId};

use super::parse_id;
use crate::tx::{Tx, on_tx};
use crate::{Store, StoreResult, on_pool};

#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    pub message_id: MessageId,
    pub status: CallStatus,
    pub from_number: Option<String>,
    pub to_number: Option<String>,
    pub agent: Option<UserId>,
    pub started_at: Timestamp,
    pub answered_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    pub duration_seconds: Option<i64>,
    pub recording_url: Option<String>,
    pub notes: Option<String>,
}

#[derive(sqlx::FromRow)]
struct CallRow {
    message_id: String,
    status: String,
    from_number: Option<String>,
    to_number: Option<String>,
    agent_id: Option<String>,
    started_at: i64,
    answered_at: Option<i64>,
    ended_at: Option<i64>,
    duration_seconds: Option<i64>,
    recording_url: Option<String>,
    notes: Option<String>,
}

impl TryFrom<CallRow> for CallRecord {
    type Error = crate::StoreError;

    fn try_from(row: CallRow) -> StoreResult<Self> {
        Ok(Self {
            message_id: parse_id("message id", &row.message_id)?,
            status: parse_id("call status", &row.status)?,
            from_number: row.from_number,
            to_number: row.to_number,
            agent: row.agent_id.map(|a| parse_id("user id", &a)).transpose()?,
            started_at: Timestamp::from_millis(row.started_at),
            answered_at: row.answered_at.map(Timestamp::from_millis),
            ended_at: row.ended_at.map(Timestamp::from_millis),
            duration_seconds: row.duration_seconds,
            recording_url: row.recording_url,
            notes: row.notes,
        })
    }
}

macro_rules! select_calls {
    ($rest:literal) => {
        concat!(
            "SELECT message_id, status, from_number, to_number, agent_id, started_at, \
             answered_at, ended_at, duration_seconds, recording_url, notes FROM calls ",
            $rest
        )
    };
}

impl Tx {
    /// Writes the call, new or changed.
    pub async fn put_call(&mut self, call: &CallRecord) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO calls (message_id, status, from_number, to_number, \
            agent_id, started_at, answered_at, ended_at, duration_seconds, recording_url, notes) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
            ON CONFLICT (message_id) DO UPDATE SET status = excluded.status, \
            agent_id = excluded.agent_id, answered_at = excluded.answered_at, \
            ended_at = excluded.ended_at, duration_seconds = excluded.duration_seconds, \
            recording_url = excluded.recording_url, notes = excluded.notes";
        on_tx!(self, |conn| sqlx::query(SQL)
            .bind(call.message_id.to_string())
            .bind(call.status.as_str())
            .bind(call.from_number.as_deref())
            .bind(call.to_number.as_deref())
            .bind(call.agent.map(|a| a.to_string()))
            .bind(call.started_at.millis())
            .bind(call.answered_at.map(Timestamp::millis))
            .bind(call.ended_at.map(Timestamp::millis))
            .bind(call.duration_seconds)
            .bind(call.recording_url.as_deref())
            .bind(call.notes.as_deref())
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }

    /// The call of a message, held for this transaction's change.
    pub async fn call(&mut self, message: MessageId) -> StoreResult<Option<CallRecord>> {
        const SQL: &str = select_calls!("WHERE message_id = $1");
        let row = on_tx!(self, |conn| sqlx::query_as::<_, CallRow>(SQL)
            .bind(message.to_string())
            .fetch_optional(conn)
            .await?);
        row.map(CallRecord::try_from).transpose()
    }
}

impl Store {
    /// The calls among a conversation's messages.
    pub async fn calls_of(&self, conversation: ConversationId) -> StoreResult<Vec<CallRecord>> {
        const SQL: &str = select_calls!(
            "WHERE message_id IN (SELECT id FROM messages WHERE conversation_id = $1)"
        );
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, CallRow>(SQL)
            .bind(conversation.to_string())
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(CallRecord::try_from).collect()
    }

    pub async fn call(&self, message: MessageId) -> StoreResult<Option<CallRecord>> {
        const SQL: &str = select_calls!("WHERE message_id = $1");
        let row = on_pool!(self, |pool| sqlx::query_as::<_, CallRow>(SQL)
            .bind(message.to_string())
            .fetch_optional(pool)
            .await?);
        row.map(CallRecord::try_from).transpose()
    }
}

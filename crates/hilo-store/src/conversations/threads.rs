//! Conversations: one thread per customer (or per customer and channel), found by the
//! customer's fragments so merges and unmerges carry them along.

use hilo_domain::conversations::ConversationStatus;
use hilo_domain::{ChannelId, ConversationId, CustomerId, PageRequest, Timestamp, UserId};

use super::parse_id;
use crate::tx::{Tx, on_tx};
use crate::{Store, StoreResult, on_pool};

#[derive(Debug, Clone, PartialEq)]
pub struct ConversationRecord {
    pub id: ConversationId,
    /// The profile it began on; its live customer is that profile's root.
    pub profile_id: CustomerId,
    pub status: ConversationStatus,
    /// Set when threads are kept per channel.
    pub thread_channel: Option<ChannelId>,
    /// Where the customer wrote last.
    pub last_channel: Option<ChannelId>,
    pub assignee: Option<UserId>,
    pub team: Option<String>,
    pub subject: Option<String>,
    pub snoozed_until: Option<Timestamp>,
    pub last_message_at: Timestamp,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Which conversations a list shows. Every field narrows it.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    pub status: Option<ConversationStatus>,
    pub assignee: Option<UserId>,
    pub unassigned: bool,
    pub team: Option<String>,
    pub channel: Option<ChannelId>,
    /// The live customer: every conversation of its fragments.
    pub customer: Option<CustomerId>,
    pub label: Option<String>,
    /// Only those whose first response or resolution target was missed by this time.
    pub breached_at: Option<Timestamp>,
    /// Only those with a message holding every one of these words (each as a prefix;
    /// `hilo_domain::conversations::search::words` makes them).
    pub words: Option<Vec<String>>,
}

/// One entry of a conversation's audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationEvent {
    pub id: String,
    pub at: Timestamp,
    pub actor: String,
    pub kind: String,
    pub data: serde_json::Value,
}

#[derive(sqlx::FromRow)]
pub(super) struct ConversationRow {
    id: String,
    profile_id: String,
    status: String,
    thread_channel_id: Option<String>,
    last_channel_id: Option<String>,
    assignee_id: Option<String>,
    team_id: Option<String>,
    subject: Option<String>,
    snoozed_until: Option<i64>,
    last_message_at: i64,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<ConversationRow> for ConversationRecord {
    type Error = crate::StoreError;

    fn try_from(row: ConversationRow) -> StoreResult<Self> {
        Ok(Self {
            id: parse_id("conversation id", &row.id)?,
            profile_id: parse_id("customer id", &row.profile_id)?,
            status: parse_id("conversation status", &row.status)?,
            thread_channel: optional("channel id", row.thread_channel_id)?,
            last_channel: optional("channel id", row.last_channel_id)?,
            assignee: optional("user id", row.assignee_id)?,
            team: row.team_id,
            subject: row.subject,
            snoozed_until: row.snoozed_until.map(Timestamp::from_millis),
            last_message_at: Timestamp::from_millis(row.last_message_at),
            created_at: Timestamp::from_millis(row.created_at),
            updated_at: Timestamp::from_millis(row.updated_at),
        })
    }
}

fn optional<T: std::str::FromStr>(
    what: &'static str,
    text: Option<String>,
) -> StoreResult<Option<T>>
where
    T::Err: std::fmt::Display,
{
    text.map(|t| parse_id(what, &t)).transpose()
}

macro_rules! columns {
    () => {
        "c.id, c.profile_id, c.status, c.thread_channel_id, c.last_channel_id, c.assignee_id, \
         c.team_id, c.subject, c.snoozed_until, c.last_message_at, c.created_at, c.updated_at"
    };
}
pub(super) use columns;

/// A page of the inbox's cursor: the last row's activity time and id.
pub(super) fn split_cursor(page: &PageRequest) -> (i64, String) {
    page.after
        .as_ref()
        .and_then(|c| {
            let (at, id) = c.as_str().split_once('_')?;
            Some((at.parse().ok()?, id.to_owned()))
        })
        .unwrap_or((i64::MAX, String::new()))
}

/// The cursor after `conversation` in a list newest first.
pub fn cursor_of(conversation: &ConversationRecord) -> String {
    format!(
        "{}_{}",
        conversation.last_message_at.millis(),
        conversation.id
    )
}

impl Tx {
    /// The customer's conversation a new message joins: the most recent one not
    /// resolved, for this channel when threads are kept per channel.
    pub async fn active_conversation(
        &mut self,
        root: CustomerId,
        per_channel: Option<ChannelId>,
    ) -> StoreResult<Option<ConversationRecord>> {
        const SQL: &str = concat!(
            "WITH tree (id) AS (SELECT id FROM profiles WHERE root_id = $1) SELECT ",
            columns!(),
            " FROM conversations c WHERE c.profile_id IN (SELECT id FROM tree) \
             AND c.status <> 'resolved' \
             AND (($2 = '' AND c.thread_channel_id IS NULL) OR c.thread_channel_id = $2) \
             ORDER BY c.last_message_at DESC, c.id DESC LIMIT 1"
        );
        let channel = per_channel.map(|c| c.to_string()).unwrap_or_default();
        let row = on_tx!(self, |conn| sqlx::query_as::<_, ConversationRow>(SQL)
            .bind(root.to_string())
            .bind(&channel)
            .fetch_optional(conn)
            .await?);
        row.map(ConversationRecord::try_from).transpose()
    }

    pub async fn insert_conversation(&mut self, c: &ConversationRecord) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO conversations (id, profile_id, status, thread_channel_id, \
            last_channel_id, assignee_id, team_id, subject, snoozed_until, last_message_at, \
            created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
        on_tx!(self, |conn| sqlx::query(SQL)
            .bind(c.id.to_string())
            .bind(c.profile_id.to_string())
            .bind(c.status.as_str())
            .bind(c.thread_channel.map(|x| x.to_string()))
            .bind(c.last_channel.map(|x| x.to_string()))
            .bind(c.assignee.map(|x| x.to_string()))
            .bind(c.team.as_deref())
            .bind(c.subject.as_deref())
            .bind(c.snoozed_until.map(Timestamp::millis))
            .bind(c.last_message_at.millis())
            .bind(c.created_at.millis())
            .bind(c.updated_at.millis())
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Records a message at `at` in the conversation: its activity time and, when the
    /// customer wrote on a channel replies can go on, that channel. A snoozed or pending
    /// conversation the customer writes (or calls) to is open again.
    pub async fn touch_conversation(
        &mut self,
        id: ConversationId,
        at: Timestamp,
        from_customer: bool,
        reply_channel: Option<ChannelId>,
    ) -> StoreResult<()> {
        const SQL: &str = "UPDATE conversations SET \
            last_message_at = CASE WHEN last_message_at > $1 THEN last_message_at ELSE $1 END, \
            status = CASE WHEN $2 = 1 AND status IN ('snoozed', 'pending') THEN 'open' \
                ELSE status END, \
            snoozed_until = CASE WHEN $2 = 1 THEN NULL ELSE snoozed_until END, \
            last_channel_id = COALESCE($3, last_channel_id), \
            updated_at = $1 WHERE id = $4";
        on_tx!(self, |conn| sqlx::query(SQL)
            .bind(at.millis())
            .bind(i64::from(from_customer))
            .bind(reply_channel.map(|c| c.to_string()))
            .bind(id.to_string())
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }
}

impl Tx {
    /// The conversation, held against other writers until this transaction ends (on
    /// SQLite the transaction holds the write lock already).
    pub async fn conversation_for_update(
        &mut self,
        id: ConversationId,
    ) -> StoreResult<Option<ConversationRecord>> {
        const SQLITE: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM conversations c WHERE c.id = $1"
        );
        const POSTGRES: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM conversations c WHERE c.id = $1 FOR UPDATE"
        );
        let row = match self {
            Tx::Sqlite(conn, _) => {
                sqlx::query_as::<_, ConversationRow>(SQLITE)
                    .bind(id.to_string())
                    .fetch_optional(&mut **conn)
                    .await?
            }
            Tx::Postgres(conn) => {
                sqlx::query_as::<_, ConversationRow>(POSTGRES)
                    .bind(id.to_string())
                    .fetch_optional(&mut **conn)
                    .await?
            }
        };
        row.map(ConversationRecord::try_from).transpose()
    }

    /// Writes what agents change: status, snooze, assignee, team.
    pub async fn update_work(&mut self, c: &ConversationRecord, now: Timestamp) -> StoreResult<()> {
        const SQL: &str = "UPDATE conversations SET status = $1, snoozed_until = $2, \
            assignee_id = $3, team_id = $4, updated_at = $5 WHERE id = $6";
        on_tx!(self, |conn| sqlx::query(SQL)
            .bind(c.status.as_str())
            .bind(c.snoozed_until.map(Timestamp::millis))
            .bind(c.assignee.map(|u| u.to_string()))
            .bind(c.team.as_deref())
            .bind(now.millis())
            .bind(c.id.to_string())
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }

    /// A conversation's labels, alphabetically.
    pub async fn labels_of(&mut self, id: ConversationId) -> StoreResult<Vec<String>> {
        Ok(on_tx!(self, |conn| sqlx::query_scalar::<_, String>(
            LABELS_OF
        )
        .bind(id.to_string())
        .fetch_all(conn)
        .await?))
    }

    /// Replaces the conversation's labels.
    pub async fn set_labels(&mut self, id: ConversationId, labels: &[String]) -> StoreResult<()> {
        const DELETE: &str = "DELETE FROM conversation_labels WHERE conversation_id = $1";
        const INSERT: &str =
            "INSERT INTO conversation_labels (conversation_id, label) VALUES ($1, $2)";
        on_tx!(self, |conn| sqlx::query(DELETE)
            .bind(id.to_string())
            .execute(&mut *conn)
            .await?
            .rows_affected());
        for label in labels {
            on_tx!(self, |conn| sqlx::query(INSERT)
                .bind(id.to_string())
                .bind(label)
                .execute(conn)
                .await?
                .rows_affected());
        }
        Ok(())
    }

    /// Adds a line to the conversation's audit trail.
    pub async fn record_conversation_event(
        &mut self,
        id: ConversationId,
        at: Timestamp,
        actor: &str,
        kind: &str,
        data: &serde_json::Value,
    ) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO conversation_events (id, conversation_id, at, actor, kind, \
            data) VALUES ($1, $2, $3, $4, $5, $6)";
        on_tx!(self, |conn| sqlx::query(SQL)
            .bind(uuid_v7())
            .bind(id.to_string())
            .bind(at.millis())
            .bind(actor)
            .bind(kind)
            .bind(data.to_string())
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }
}

const LABELS_OF: &str =
    "SELECT label FROM conversation_labels WHERE conversation_id = $1 ORDER BY label";

/// A new event id, ordered by time like every id here.
fn uuid_v7() -> String {
    hilo_domain::MessageId::generate().to_string()
}

impl Store {
    /// A conversation's labels, alphabetically.
    pub async fn labels_of(&self, id: ConversationId) -> StoreResult<Vec<String>> {
        Ok(on_pool!(self, |pool| sqlx::query_scalar::<_, String>(
            LABELS_OF
        )
        .bind(id.to_string())
        .fetch_all(pool)
        .await?))
    }

    /// For a page of conversations, in two statements: the live customer of each
    /// conversation's profile, and each conversation's labels (in order).
    pub async fn page_extras(
        &self,
        page: &[ConversationRecord],
    ) -> StoreResult<(
        std::collections::HashMap<CustomerId, CustomerId>,
        std::collections::HashMap<ConversationId, Vec<String>>,
    )> {
        use std::collections::HashMap;
        let mut roots = HashMap::new();
        let mut labels: HashMap<ConversationId, Vec<String>> = HashMap::new();
        if page.is_empty() {
            return Ok((roots, labels));
        }
        let list = |n: usize| {
            (1..=n)
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let profiles: Vec<String> = page.iter().map(|c| c.profile_id.to_string()).collect();
        let ids: Vec<String> = page.iter().map(|c| c.id.to_string()).collect();
        let roots_sql = format!(
            "SELECT id, root_id FROM profiles WHERE id IN ({})",
            list(profiles.len())
        );
        let labels_sql = format!(
            "SELECT conversation_id, label FROM conversation_labels \
             WHERE conversation_id IN ({}) ORDER BY conversation_id, label",
            list(ids.len())
        );
        let found: Vec<(String, Option<String>)> = on_pool!(self, |pool| {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(roots_sql.clone()));
            for id in &profiles {
                query = query.bind(id);
            }
            query.fetch_all(pool).await?
        });
        for (id, root) in found {
            let id: CustomerId = parse_id("customer id", &id)?;
            let root = match root {
                Some(root) => parse_id("customer id", &root)?,
                None => id,
            };
            roots.insert(id, root);
        }
        let found: Vec<(String, String)> = on_pool!(self, |pool| {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(labels_sql.clone()));
            for id in &ids {
                query = query.bind(id);
            }
            query.fetch_all(pool).await?
        });
        for (id, label) in found {
            labels
                .entry(parse_id("conversation id", &id)?)
                .or_default()
                .push(label);
        }
        Ok((roots, labels))
    }

    /// The audit trail, oldest first, after the event id `after`.
    pub async fn conversation_events(
        &self,
        id: ConversationId,
        page: &PageRequest,
    ) -> StoreResult<Vec<ConversationEvent>> {
        const SQL: &str = "SELECT id, at, actor, kind, data FROM conversation_events \
            WHERE conversation_id = $1 AND id > $2 ORDER BY id LIMIT $3";
        let after = page.after.as_ref().map_or("", |c| c.as_str()).to_owned();
        let rows = on_pool!(self, |pool| sqlx::query_as::<
            _,
            (String, i64, String, String, String),
        >(SQL)
        .bind(id.to_string())
        .bind(&after)
        .bind(i64::from(page.limit) + 1)
        .fetch_all(pool)
        .await?);
        rows.into_iter()
            .map(|(id, at, actor, kind, data)| {
                Ok(ConversationEvent {
                    id,
                    at: Timestamp::from_millis(at),
                    actor,
                    kind,
                    data: serde_json::from_str(&data)
                        .map_err(|e| crate::corrupt("conversation event", e))?,
                })
            })
            .collect()
    }

    /// Whether a console user with this id exists.
    pub async fn user_exists(&self, id: UserId) -> StoreResult<bool> {
        const SQL: &str = "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)";
        Ok(on_pool!(self, |pool| sqlx::query_scalar::<_, bool>(SQL)
            .bind(id.to_string())
            .fetch_one(pool)
            .await?))
    }

    pub async fn conversation(
        &self,
        id: ConversationId,
    ) -> StoreResult<Option<ConversationRecord>> {
        const SQL: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM conversations c WHERE c.id = $1"
        );
        let row = on_pool!(self, |pool| sqlx::query_as::<_, ConversationRow>(SQL)
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?);
        row.map(ConversationRecord::try_from).transpose()
    }
}

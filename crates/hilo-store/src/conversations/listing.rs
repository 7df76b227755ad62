//! The inbox's list: conversations a filter lets through, most recent activity first,
//! and the same searched by the words of their messages.
//!
//! A search must be quick both for a word in every message ("pedido") and for one in a
//! handful (an order number), and one plan does not serve both: walking the newest
//! conversations and checking each finds a common word at once and a rare one only
//! after reading the whole inbox; the full-text index finds a rare word at once and a
//! common one only after collecting millions of matches. So the newest conversations
//! the other filters let through are checked first (at most `PROBE` of them: on
//! PostgreSQL by the statement, on SQLite here, since FTS5 answers each prefix by
//! merging every match of it), and only when they hold less than a page is the index
//! asked, for the newest `HITS` messages holding the words, whose conversations are
//! then read by id (PostgreSQL) or by the index's rowids (SQLite). A word in more than
//! `HITS` messages that also misses the newest conversations finds the conversations
//! of its newest `HITS` messages.

use hilo_domain::PageRequest;
use hilo_domain::conversations::search;

use super::threads::{
    ConversationFilter, ConversationRecord, ConversationRow, columns, split_cursor,
};
use crate::{Store, StoreResult};

/// Newest conversations checked one by one before the index is asked.
const PROBE: i64 = 1_000;
/// Newest matching messages the index gives.
const HITS: i64 = 10_000;

enum Value {
    Text(String),
    Int(i64),
}

/// A statement's conditions and their parameters, numbered as they are added.
#[derive(Default)]
struct Conditions {
    sql: Vec<String>,
    values: Vec<Value>,
}

impl Conditions {
    fn param(&mut self, value: Value) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }

    fn clause(&self) -> String {
        if self.sql.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.sql.join(" AND "))
        }
    }

    /// Everything but the words: only the filters given are in the statement, so the
    /// planner picks the index that serves them (a condition that holds "when its
    /// parameter is empty" hid the index: an agent's open conversations read the whole
    /// table).
    fn of(filter: &ConversationFilter, page: &PageRequest) -> Self {
        let mut c = Self::default();
        if let Some(status) = filter.status {
            let p = c.param(Value::Text(status.as_str().to_owned()));
            c.sql.push(format!("c.status = {p}"));
        }
        if let Some(assignee) = filter.assignee {
            let p = c.param(Value::Text(assignee.to_string()));
            c.sql.push(format!("c.assignee_id = {p}"));
        }
        if filter.unassigned {
            c.sql.push("c.assignee_id IS NULL".to_owned());
        }
        if let Some(team) = &filter.team {
            let p = c.param(Value::Text(team.clone()));
            c.sql.push(format!("c.team_id = {p}"));
        }
        if let Some(channel) = filter.channel {
            let p = c.param(Value::Text(channel.to_string()));
            c.sql.push(format!(
                "(c.last_channel_id = {p} OR c.thread_channel_id = {p})"
            ));
        }
        if let Some(customer) = filter.customer {
            let p = c.param(Value::Text(customer.to_string()));
            c.sql.push(format!(
                "c.profile_id IN (SELECT id FROM profiles WHERE root_id = {p})"
            ));
        }
        if let Some(label) = &filter.label {
            let p = c.param(Value::Text(label.clone()));
            c.sql.push(format!(
                "EXISTS (SELECT 1 FROM conversation_labels l WHERE l.conversation_id = c.id \
                 AND l.label = {p})"
            ));
        }
        if let Some(at) = filter.breached_at {
            let p = c.param(Value::Int(at.millis()));
            c.sql.push(format!(
                "(c.first_response_due_at < COALESCE(c.first_replied_at, {p}) \
                 OR c.resolution_due_at < COALESCE(c.resolved_at, {p}))"
            ));
        }
        if page.after.is_some() {
            let (before_at, before_id) = split_cursor(page);
            let at = c.param(Value::Int(before_at));
            let id = c.param(Value::Text(before_id));
            c.sql.push(format!(
                "(c.last_message_at < {at} OR (c.last_message_at = {at} AND c.id < {id}))"
            ));
        }
        c
    }
}

const NEWEST: &str = "ORDER BY c.last_message_at DESC, c.id DESC";

/// Whether message `m` holds the words of the `tsquery` parameter `param`, as the index
/// of migration 0033 reads them.
fn postgres_match(param: &str) -> String {
    format!(
        "to_tsvector('simple', hilo_fold(left(m.content, 100000))) @@ to_tsquery('simple', {param})"
    )
}

/// A transaction for reading without parallel workers, whose start costs more than
/// these reads of a few thousand rows.
async fn serial_read(
    pool: &sqlx::PgPool,
) -> StoreResult<sqlx::Transaction<'static, sqlx::Postgres>> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET LOCAL max_parallel_workers_per_gather = 0")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

impl Store {
    /// Conversations the filter lets through, most recent activity first; one more
    /// than the page holds, so the caller knows whether another follows.
    pub async fn list_conversations(
        &self,
        filter: &ConversationFilter,
        page: &PageRequest,
    ) -> StoreResult<Vec<ConversationRecord>> {
        let Some(words) = &filter.words else {
            let mut c = Conditions::of(filter, page);
            let limit = c.param(Value::Int(i64::from(page.limit) + 1));
            let sql = format!(
                "SELECT {} FROM conversations c {} {NEWEST} LIMIT {limit}",
                columns!(),
                c.clause()
            );
            return self.conversations_of(&sql, &c.values, false).await;
        };
        match self {
            Store::Sqlite(_) => self.search_sqlite(filter, words, page).await,
            Store::Postgres(_) => self.search_postgres(filter, words, page).await,
        }
    }

    async fn search_sqlite(
        &self,
        filter: &ConversationFilter,
        words: &[String],
        page: &PageRequest,
    ) -> StoreResult<Vec<ConversationRecord>> {
        let Store::Sqlite(pool) = self else {
            return Ok(Vec::new());
        };
        let wanted = usize::try_from(page.limit)
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        // The newest conversations, their messages read and checked here: FTS5 answers a
        // prefix by merging every match of it, which for a word in every message is the
        // whole index.
        let mut c = Conditions::of(filter, page);
        let candidates = format!(
            "SELECT {} FROM conversations c {} {NEWEST} LIMIT {PROBE}",
            columns!(),
            c.clause()
        );
        let candidates = self.conversations_of(&candidates, &c.values, false).await?;
        let ids: Vec<String> = candidates.iter().map(|c| c.id.to_string()).collect();
        let texts: Vec<(String, String)> = sqlx::query_as(
            "SELECT conversation_id, content FROM messages WHERE conversation_id IN \
             (SELECT value FROM json_each($1))",
        )
        .bind(serde_json::Value::from(ids).to_string())
        .fetch_all(pool)
        .await?;
        let holding: std::collections::HashSet<&str> = texts
            .iter()
            .filter(|(_, content)| search::holds(words, content))
            .map(|(id, _)| id.as_str())
            .collect();
        let exhausted = (candidates.len() as i64) < PROBE;
        let found: Vec<ConversationRecord> = candidates
            .into_iter()
            .filter(|c| holding.contains(c.id.to_string().as_str()))
            .take(wanted)
            .collect();
        if found.len() == wanted || exhausted {
            return Ok(found);
        }
        // Rarer words: the index's newest matches.
        let query = c.param(Value::Text(search::fts5_query(words)));
        c.sql.push(format!(
            "c.id IN (SELECT m.conversation_id FROM messages m WHERE m.rowid IN \
             (SELECT rowid FROM message_search WHERE message_search MATCH {query} \
             ORDER BY rowid DESC LIMIT {HITS}))"
        ));
        let limit = c.param(Value::Int(i64::from(page.limit) + 1));
        let sql = format!(
            "SELECT {} FROM conversations c {} {NEWEST} LIMIT {limit}",
            columns!(),
            c.clause()
        );
        self.conversations_of(&sql, &c.values, false).await
    }

    async fn search_postgres(
        &self,
        filter: &ConversationFilter,
        words: &[String],
        page: &PageRequest,
    ) -> StoreResult<Vec<ConversationRecord>> {
        let Store::Postgres(pool) = self else {
            return Ok(Vec::new());
        };
        let mut c = Conditions::of(filter, page);
        let wanted = i64::from(page.limit) + 1;
        let filters = c.values.len();
        let query = c.param(Value::Text(search::tsquery(words)));
        let limit = c.param(Value::Int(wanted));
        // The newest conversations, each checked.
        let probe = format!(
            "SELECT {cols} FROM (SELECT c.* FROM conversations c {clause} {NEWEST} \
             LIMIT {PROBE}) c WHERE EXISTS (SELECT 1 FROM messages m WHERE \
             m.conversation_id = c.id AND {matches}) {NEWEST} LIMIT {limit}",
            cols = columns!(),
            clause = c.clause(),
            matches = postgres_match(&query),
        );
        let found = self.conversations_of(&probe, &c.values, true).await?;
        if found.len() as i64 == wanted {
            return Ok(found);
        }
        // Fewer candidates than were checked: every one was, and `found` is all there is.
        let candidates = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM conversations c {} LIMIT {PROBE}) candidates",
            c.clause()
        );
        let mut count = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(candidates));
        for value in &c.values[..filters] {
            count = match value {
                Value::Text(text) => count.bind(text.clone()),
                Value::Int(number) => count.bind(*number),
            };
        }
        if count.fetch_one(pool).await? < PROBE {
            return Ok(found);
        }
        // The index, for the newest matching messages (`OFFSET 0` keeps the planner from
        // walking every message newest first instead); then their conversations by id,
        // so the filters are not checked over the whole inbox for a handful of matches.
        let hits = format!(
            "SELECT conversation_id FROM (SELECT m.id, m.conversation_id FROM messages m \
             WHERE {} OFFSET 0) hits ORDER BY id DESC LIMIT {HITS}",
            postgres_match("$1")
        );
        let mut tx = serial_read(pool).await?;
        let mut ids = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(hits))
            .bind(search::tsquery(words))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(found);
        }
        let mut c = Conditions::of(filter, page);
        let ids = c.param(Value::Text(serde_json::Value::from(ids).to_string()));
        c.sql.push(format!(
            "c.id IN (SELECT jsonb_array_elements_text({ids}::jsonb))"
        ));
        let limit = c.param(Value::Int(wanted));
        let sql = format!(
            "SELECT {} FROM conversations c {} {NEWEST} LIMIT {limit}",
            columns!(),
            c.clause()
        );
        self.conversations_of(&sql, &c.values, true).await
    }

    /// Runs a list's statement. `serial`: on PostgreSQL, without parallel workers,
    /// whose start costs more than these reads of a few thousand rows.
    async fn conversations_of(
        &self,
        sql: &str,
        values: &[Value],
        serial: bool,
    ) -> StoreResult<Vec<ConversationRecord>> {
        macro_rules! bound {
            ($query:expr) => {{
                let mut query = $query;
                for value in values {
                    query = match value {
                        Value::Text(text) => query.bind(text.clone()),
                        Value::Int(number) => query.bind(*number),
                    };
                }
                query
            }};
        }
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        let rows = match self {
            Store::Sqlite(pool) => {
                bound!(sqlx::query_as::<_, ConversationRow>(sql))
                    .fetch_all(pool)
                    .await?
            }
            Store::Postgres(pool) if serial => {
                let mut tx = serial_read(pool).await?;
                let rows = bound!(sqlx::query_as::<_, ConversationRow>(sql))
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                rows
            }
            Store::Postgres(pool) => {
                bound!(sqlx::query_as::<_, ConversationRow>(sql))
                    .fetch_all(pool)
                    .await?
            }
        };
        rows.into_iter().map(ConversationRecord::try_from).collect()
    }
}

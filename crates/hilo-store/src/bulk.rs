//! Set-at-a-time reads and writes for ingestion: one statement for many messages, so a
//! group commit of thousands of messages costs a handful of round trips to the engine
//! rather than several per message.

use std::collections::HashSet;

use hilo_domain::SourceId;
use hilo_domain::identity::Identifier;

use crate::StoreResult;
use crate::customers::{IdentityRow, NewTimelineItem};
use crate::tx::{Tx, on_tx};

/// Rows per statement: well under both engines' limits on bound parameters.
const CHUNK: usize = 300;

#[derive(sqlx::FromRow)]
struct OwnerRow {
    #[sqlx(flatten)]
    identity: IdentityRow,
    merged_into: Option<String>,
}

impl Tx {
    /// Which of these message ids the source sent before.
    pub async fn known_message_ids(
        &mut self,
        source: SourceId,
        message_ids: &[&str],
    ) -> StoreResult<HashSet<String>> {
        let mut known = HashSet::new();
        for chunk in message_ids.chunks(CHUNK) {
            let placeholders: Vec<String> =
                (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT message_id FROM timeline WHERE source_id = $1 AND message_id IN ({})",
                placeholders.join(", ")
            );
            let found = on_tx!(self, |conn| {
                let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(source.to_string());
                for id in chunk {
                    query = query.bind(*id);
                }
                query.fetch_all(conn).await?
            });
            known.extend(found);
        }
        Ok(known)
    }

    /// The stored rows of these identifiers, with whether each holder is itself live
    /// (`None`) or merged into another profile.
    pub async fn identity_owners_many(
        &mut self,
        identifiers: &[&Identifier],
    ) -> StoreResult<Vec<(IdentityRow, Option<String>)>> {
        let mut rows = Vec::new();
        for chunk in identifiers.chunks(CHUNK) {
            let pairs: Vec<String> = (0..chunk.len())
                .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
                .collect();
            let sql = format!(
                "SELECT i.kind, i.value, i.profile_id, i.first_seen, i.last_seen, i.sources, \
                 p.merged_into FROM identities i JOIN profiles p ON p.id = i.profile_id \
                 WHERE (i.kind, i.value) IN ({})",
                pairs.join(", ")
            );
            let found = on_tx!(self, |conn| {
                let mut query = sqlx::query_as::<_, OwnerRow>(sqlx::AssertSqlSafe(sql.as_str()));
                for identifier in chunk {
                    query = query.bind(identifier.kind.as_str()).bind(&identifier.value);
                }
                query.fetch_all(conn).await?
            });
            rows.extend(found.into_iter().map(|r| (r.identity, r.merged_into)));
        }
        Ok(rows)
    }

    /// Appends many timeline items; those whose source already sent the message id are
    /// skipped. Returns how many were added.
    pub async fn append_timeline_many(
        &mut self,
        items: &[NewTimelineItem<'_>],
    ) -> StoreResult<u64> {
        let mut added = 0;
        for chunk in items.chunks(CHUNK / 3) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let base = i * 10;
                    let params: Vec<String> = (1..=10).map(|p| format!("${}", base + p)).collect();
                    format!("({})", params.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO timeline (profile_id, item_type, kind, name, channel, source_id, \
                 message_id, at, received_at, body) VALUES {} \
                 ON CONFLICT (source_id, message_id) DO NOTHING",
                rows.join(", ")
            );
            added += on_tx!(self, |conn| {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
                for item in chunk {
                    query = query
                        .bind(item.profile_id.to_string())
                        .bind(item.item_type)
                        .bind(item.kind)
                        .bind(item.name)
                        .bind(item.channel)
                        .bind(item.source_id.map(|s| s.to_string()))
                        .bind(item.message_id)
                        .bind(item.at.millis())
                        .bind(item.received_at.millis())
                        .bind(item.body);
                }
                query.execute(conn).await?.rows_affected()
            });
        }
        Ok(added)
    }

    /// On PostgreSQL, takes every key's transaction lock in one statement, in key order
    /// (so two nodes never wait on each other in a cycle). SQLite has one writer anyway.
    pub async fn lock_keys(&mut self, keys: &[i64]) -> StoreResult<()> {
        if let Self::Postgres(tx) = self {
            let mut sorted = keys.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            sqlx::query(
                "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k ORDER BY k",
            )
            .bind(&sorted)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}

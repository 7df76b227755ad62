//! Instance-wide facts that must be decided once, even with several nodes starting at
//! the same time (first-start bootstrap, demo data).

use crate::{Store, StoreResult, on_pool};

impl Store {
    /// Records `key = value` unless the key is already set. Returns whether this call set
    /// it: exactly one of several racing callers gets `true`.
    pub async fn claim_setting(&self, key: &str, value: &str) -> StoreResult<bool> {
        const SQL: &str = "INSERT INTO instance_settings (key, value) VALUES ($1, $2) \
                           ON CONFLICT (key) DO NOTHING";
        let result = on_pool!(self, |pool| sqlx::query(SQL)
            .bind(key)
            .bind(value)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(result == 1)
    }

    pub async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        const SQL: &str = "SELECT value FROM instance_settings WHERE key = $1";
        Ok(on_pool!(self, |pool| sqlx::query_scalar::<_, String>(SQL)
            .bind(key)
            .fetch_optional(pool)
            .await?))
    }

    /// The settings among `keys` that are set, in one read.
    pub async fn settings(&self, keys: &[&str]) -> StoreResult<Vec<(String, String)>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (1..=keys.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT key, value FROM instance_settings WHERE key IN ({})",
            marks.join(", ")
        );
        Ok(on_pool!(self, |pool| {
            // Only numbered marks are formatted in; the keys are bound.
            let mut query = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql.clone()));
            for key in keys {
                query = query.bind(*key);
            }
            query.fetch_all(pool).await?
        }))
    }

    /// Sets `key = value`, replacing what was there.
    pub async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO instance_settings (key, value) VALUES ($1, $2) \
                           ON CONFLICT (key) DO UPDATE SET value = excluded.value";
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(key)
            .bind(value)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }
}

impl Store {
    /// Where a feed consumer has read up to: (changes seq, timeline seq).
    pub async fn feed_cursor(&self, consumer: &str) -> StoreResult<(i64, i64)> {
        const SQL: &str = "SELECT changes_seq, timeline_seq FROM feed_cursors WHERE consumer = $1";
        let row = on_pool!(self, |pool| sqlx::query_as::<_, (i64, i64)>(SQL)
            .bind(consumer)
            .fetch_optional(pool)
            .await?);
        Ok(row.unwrap_or((0, 0)))
    }

    /// Records how far a feed consumer has read; never moves a cursor backwards.
    pub async fn save_feed_cursor(
        &self,
        consumer: &str,
        changes_seq: i64,
        timeline_seq: i64,
        at: hilo_domain::Timestamp,
    ) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO feed_cursors (consumer, changes_seq, timeline_seq, updated_at) \
            VALUES ($1, $2, $3, $4) ON CONFLICT (consumer) DO UPDATE SET \
            changes_seq = CASE WHEN feed_cursors.changes_seq > excluded.changes_seq \
                THEN feed_cursors.changes_seq ELSE excluded.changes_seq END, \
            timeline_seq = CASE WHEN feed_cursors.timeline_seq > excluded.timeline_seq \
                THEN feed_cursors.timeline_seq ELSE excluded.timeline_seq END, \
            updated_at = excluded.updated_at";
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(consumer)
            .bind(changes_seq)
            .bind(timeline_seq)
            .bind(at.millis())
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }
}

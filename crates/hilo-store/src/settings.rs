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

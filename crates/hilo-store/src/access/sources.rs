//! Sources: each website, app, store or call center that sends events, with its write key.

use hilo_domain::{PageRequest, SourceChannel, SourceId, Timestamp};

use crate::{Store, StoreResult, corrupt, on_pool};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord {
    pub id: SourceId,
    pub name: String,
    pub channel: SourceChannel,
    pub write_key_prefix: String,
    pub created_at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct SourceRow {
    id: String,
    name: String,
    channel: String,
    write_key_prefix: String,
    created_at: i64,
}

impl TryFrom<SourceRow> for SourceRecord {
    type Error = crate::StoreError;

    fn try_from(row: SourceRow) -> Result<Self, Self::Error> {
        Ok(Self {
            id: row.id.parse().map_err(|e| corrupt("source id", e))?,
            name: row.name,
            channel: row
                .channel
                .parse()
                .map_err(|e| corrupt("source channel", e))?,
            write_key_prefix: row.write_key_prefix,
            created_at: Timestamp::from_millis(row.created_at),
        })
    }
}

/// `SELECT` of every listed column, followed by the rest of the statement.
macro_rules! select_sources {
    ($rest:literal) => {
        concat!(
            "SELECT id, name, channel, write_key_prefix, created_at FROM sources ",
            $rest
        )
    };
}

impl Store {
    pub async fn insert_source(
        &self,
        source: &SourceRecord,
        write_key_hash: &str,
    ) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO sources \
            (id, name, channel, write_key_hash, write_key_prefix, created_at) \
            VALUES ($1, $2, $3, $4, $5, $6)";
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(source.id.to_string())
            .bind(&source.name)
            .bind(source.channel.as_str())
            .bind(write_key_hash)
            .bind(&source.write_key_prefix)
            .bind(source.created_at.millis())
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Live sources in creation order.
    pub async fn list_sources(&self, page: &PageRequest) -> StoreResult<Vec<SourceRecord>> {
        const SQL: &str =
            select_sources!("WHERE deleted_at IS NULL AND id > $1 ORDER BY id LIMIT $2");
        let after = page.after.as_ref().map_or("", |c| c.as_str()).to_owned();
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, SourceRow>(SQL)
            .bind(&after)
            .bind(i64::from(page.limit) + 1)
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(SourceRecord::try_from).collect()
    }

    pub async fn source(&self, id: SourceId) -> StoreResult<Option<SourceRecord>> {
        const SQL: &str = select_sources!("WHERE id = $1 AND deleted_at IS NULL");
        let row = on_pool!(self, |pool| sqlx::query_as::<_, SourceRow>(SQL)
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?);
        row.map(SourceRecord::try_from).transpose()
    }

    /// The oldest live source with this name.
    pub async fn source_by_name(&self, name: &str) -> StoreResult<Option<SourceRecord>> {
        const SQL: &str =
            select_sources!("WHERE name = $1 AND deleted_at IS NULL ORDER BY id LIMIT 1");
        let row = on_pool!(self, |pool| sqlx::query_as::<_, SourceRow>(SQL)
            .bind(name)
            .fetch_optional(pool)
            .await?);
        row.map(SourceRecord::try_from).transpose()
    }

    /// The live source whose write key has this digest.
    pub async fn source_by_write_key_hash(&self, hash: &str) -> StoreResult<Option<SourceRecord>> {
        const SQL: &str = select_sources!("WHERE write_key_hash = $1 AND deleted_at IS NULL");
        let row = on_pool!(self, |pool| sqlx::query_as::<_, SourceRow>(SQL)
            .bind(hash)
            .fetch_optional(pool)
            .await?);
        row.map(SourceRecord::try_from).transpose()
    }

    /// Deletes a source: its write key stops working at once. The row stays (marked
    /// deleted) so events it sent keep naming where they came from.
    pub async fn delete_source(&self, id: SourceId, at: Timestamp) -> StoreResult<bool> {
        const SQL: &str = "UPDATE sources SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL";
        let changed = on_pool!(self, |pool| sqlx::query(SQL)
            .bind(at.millis())
            .bind(id.to_string())
            .execute(pool)
            .await?
            .rows_affected());
        Ok(changed == 1)
    }
}

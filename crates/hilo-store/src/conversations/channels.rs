//! Channels as admins configure them; credentials arrive here already sealed.

use hilo_domain::conversations::ChannelType;
use hilo_domain::{ChannelId, PageRequest, Timestamp};
use serde_json::{Map, Value};

use super::parse_id;
use crate::{Store, StoreResult, corrupt, on_pool};

/// A stored channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelRecord {
    pub id: ChannelId,
    pub kind: ChannelType,
    pub name: String,
    /// The settings that may be shown.
    pub settings: Map<String, Value>,
    /// The credentials, sealed.
    pub sealed_secrets: String,
    pub address: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A channel's new name, settings and credentials.
#[derive(Debug, Clone)]
pub struct ChannelChange<'a> {
    pub name: &'a str,
    pub settings: &'a Map<String, Value>,
    pub sealed_secrets: &'a str,
    pub address: Option<&'a str>,
}

#[derive(sqlx::FromRow)]
pub(super) struct ChannelRow {
    id: String,
    channel_type: String,
    name: String,
    settings: String,
    secrets: String,
    address: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<ChannelRow> for ChannelRecord {
    type Error = crate::StoreError;

    fn try_from(row: ChannelRow) -> StoreResult<Self> {
        Ok(Self {
            id: parse_id("channel id", &row.id)?,
            kind: parse_id("channel type", &row.channel_type)?,
            name: row.name,
            settings: serde_json::from_str(&row.settings)
                .map_err(|e| corrupt("channel settings", e))?,
            sealed_secrets: row.secrets,
            address: row.address,
            created_at: Timestamp::from_millis(row.created_at),
            updated_at: Timestamp::from_millis(row.updated_at),
        })
    }
}

macro_rules! select_channels {
    ($rest:literal) => {
        concat!(
            "SELECT id, channel_type, name, settings, secrets, address, created_at, updated_at \
             FROM channels WHERE deleted_at IS NULL ",
            $rest
        )
    };
}

impl Store {
    pub async fn insert_channel(&self, channel: &ChannelRecord) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO channels (id, channel_type, name, settings, secrets, \
            address, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)";
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(channel.id.to_string())
            .bind(channel.kind.as_str())
            .bind(&channel.name)
            .bind(Value::Object(channel.settings.clone()).to_string())
            .bind(&channel.sealed_secrets)
            .bind(channel.address.as_deref())
            .bind(channel.created_at.millis())
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    pub async fn list_channels(&self, page: &PageRequest) -> StoreResult<Vec<ChannelRecord>> {
        const SQL: &str = select_channels!("AND id > $1 ORDER BY id LIMIT $2");
        let after = page.after.as_ref().map_or("", |c| c.as_str()).to_owned();
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, ChannelRow>(SQL)
            .bind(&after)
            .bind(i64::from(page.limit) + 1)
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(ChannelRecord::try_from).collect()
    }

    /// A channel that is not deleted.
    pub async fn channel(&self, id: ChannelId) -> StoreResult<Option<ChannelRecord>> {
        const SQL: &str = select_channels!("AND id = $1");
        let row = on_pool!(self, |pool| sqlx::query_as::<_, ChannelRow>(SQL)
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?);
        row.map(ChannelRecord::try_from).transpose()
    }

    /// A channel, deleted or not: what a stored message names.
    pub async fn any_channel(&self, id: ChannelId) -> StoreResult<Option<ChannelRecord>> {
        const SQL: &str = "SELECT id, channel_type, name, settings, secrets, address, \
            created_at, updated_at FROM channels WHERE id = $1";
        let row = on_pool!(self, |pool| sqlx::query_as::<_, ChannelRow>(SQL)
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?);
        row.map(ChannelRecord::try_from).transpose()
    }

    /// `false` when there is no such channel.
    pub async fn update_channel(
        &self,
        id: ChannelId,
        change: &ChannelChange<'_>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        const SQL: &str = "UPDATE channels SET name = $1, settings = $2, secrets = $3, \
            address = $4, updated_at = $5 WHERE id = $6 AND deleted_at IS NULL";
        let changed = on_pool!(self, |pool| sqlx::query(SQL)
            .bind(change.name)
            .bind(Value::Object(change.settings.clone()).to_string())
            .bind(change.sealed_secrets)
            .bind(change.address)
            .bind(now.millis())
            .bind(id.to_string())
            .execute(pool)
            .await?
            .rows_affected());
        Ok(changed == 1)
    }

    /// Marks a channel deleted and forgets its credentials; `false` when there is none.
    pub async fn delete_channel(&self, id: ChannelId, now: Timestamp) -> StoreResult<bool> {
        const SQL: &str = "UPDATE channels SET deleted_at = $1, secrets = '', updated_at = $1 \
            WHERE id = $2 AND deleted_at IS NULL";
        let changed = on_pool!(self, |pool| sqlx::query(SQL)
            .bind(now.millis())
            .bind(id.to_string())
            .execute(pool)
            .await?
            .rows_affected());
        Ok(changed == 1)
    }
}

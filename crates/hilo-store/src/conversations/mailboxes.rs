//! How far each IMAP mailbox has been read, and which node reads it (migration 0023).

use hilo_domain::conversations::ChannelType;
use hilo_domain::{ChannelId, Timestamp};

use super::channels::{ChannelRecord, ChannelRow};
use crate::{Store, StoreResult, on_pool};

/// Where a mailbox's reading stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MailboxState {
    /// The mailbox's UIDVALIDITY when it was last read: UIDs count only under it.
    pub uid_validity: Option<u32>,
    /// The UID of the last message stored.
    pub last_uid: u32,
}

impl Store {
    /// Every email channel (not deleted).
    pub async fn email_channels(&self) -> StoreResult<Vec<ChannelRecord>> {
        const SQL: &str = "SELECT id, channel_type, name, settings, secrets, address, \
            created_at, updated_at FROM channels WHERE deleted_at IS NULL \
            AND channel_type = $1 ORDER BY id";
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, ChannelRow>(SQL)
            .bind(ChannelType::Email.as_str())
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(ChannelRecord::try_from).collect()
    }

    /// When the channel's mailbox was last read, and why it could not be then, if it
    /// could not; `None` before the first attempt.
    pub async fn mailbox_status(
        &self,
        channel: ChannelId,
    ) -> StoreResult<Option<(Option<Timestamp>, Option<String>)>> {
        const SQL: &str = "SELECT checked_at, last_error FROM mailboxes WHERE channel_id = $1";
        let row = on_pool!(self, |pool| sqlx::query_as::<
            _,
            (Option<i64>, Option<String>),
        >(SQL)
        .bind(channel.to_string())
        .fetch_optional(pool)
        .await?);
        Ok(row.map(|(at, error)| (at.map(Timestamp::from_millis), error)))
    }

    /// Takes (or keeps) the right to read a channel's mailbox until `until`; `None`
    /// when another node holds it. Returns where the reading stands.
    pub async fn lease_mailbox(
        &self,
        channel: ChannelId,
        node: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> StoreResult<Option<MailboxState>> {
        const SQL: &str = "INSERT INTO mailboxes (channel_id, leased_by, lease_until) \
            VALUES ($1, $2, $4) ON CONFLICT (channel_id) DO UPDATE SET leased_by = $2, \
            lease_until = $4 WHERE mailboxes.lease_until < $3 OR mailboxes.leased_by = $2 \
            RETURNING uid_validity, last_uid";
        let row = on_pool!(self, |pool| sqlx::query_as::<_, (Option<i64>, i64)>(SQL)
            .bind(channel.to_string())
            .bind(node)
            .bind(now.millis())
            .bind(until.millis())
            .fetch_optional(pool)
            .await?);
        Ok(row.map(|(validity, last)| MailboxState {
            uid_validity: validity.and_then(|v| u32::try_from(v).ok()),
            last_uid: u32::try_from(last).unwrap_or(0),
        }))
    }

    /// Records how far the mailbox is read, once a message is stored.
    pub async fn mailbox_read(
        &self,
        channel: ChannelId,
        state: MailboxState,
        now: Timestamp,
    ) -> StoreResult<()> {
        const SQL: &str = "UPDATE mailboxes SET uid_validity = $1, last_uid = $2, \
            last_error = NULL, checked_at = $3 WHERE channel_id = $4";
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(state.uid_validity.map(i64::from))
            .bind(i64::from(state.last_uid))
            .bind(now.millis())
            .bind(channel.to_string())
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Records why the mailbox could not be read, and lets the lease go.
    pub async fn mailbox_failed(
        &self,
        channel: ChannelId,
        error: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        const SQL: &str = "UPDATE mailboxes SET last_error = $1, checked_at = $2, \
            lease_until = 0 WHERE channel_id = $3";
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(error)
            .bind(now.millis())
            .bind(channel.to_string())
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }
}

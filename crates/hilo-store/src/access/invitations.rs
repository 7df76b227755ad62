//! Invitations: the one-time link an admin gives a new console user to set their own
//! password. Only the token's digest is stored.

use hilo_domain::{Timestamp, UserId};

use super::users::UserRecord;
use crate::{Store, StoreResult, on_pool};

impl Store {
    pub async fn insert_invitation(
        &self,
        token_hash: &str,
        user: UserId,
        invited_by: &str,
        at: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO invitations (token_hash, user_id, invited_by, created_at, \
            expires_at) VALUES ($1, $2, $3, $4, $5)";
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(token_hash)
            .bind(user.to_string())
            .bind(invited_by)
            .bind(at.millis())
            .bind(expires_at.millis())
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// The user an unused, unexpired invitation is for.
    pub async fn invited_user(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<UserRecord>> {
        const SQL: &str = "SELECT user_id FROM invitations WHERE token_hash = $1 \
            AND used_at IS NULL AND expires_at > $2";
        let user: Option<String> = on_pool!(self, |pool| sqlx::query_scalar(SQL)
            .bind(token_hash)
            .bind(now.millis())
            .fetch_optional(pool)
            .await?);
        match user.map(|id| id.parse::<UserId>()) {
            Some(Ok(id)) => self.user(id).await,
            Some(Err(error)) => Err(crate::corrupt("invitation user id", error)),
            None => Ok(None),
        }
    }

    /// Uses an invitation: sets the user's password and ends their sessions, in one
    /// transaction. `None` when the invitation was used, expired or never existed;
    /// of two uses at once, one wins.
    pub async fn accept_invitation(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<UserId>> {
        const USE: &str = "UPDATE invitations SET used_at = $1 WHERE token_hash = $2 \
            AND used_at IS NULL AND expires_at > $1 RETURNING user_id";
        const PASSWORD: &str =
            "UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3";
        const END_SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1";
        let mut tx = self.begin().await?;
        let user: Option<String> = crate::tx::on_tx!(&mut tx, |conn| sqlx::query_scalar(USE)
            .bind(now.millis())
            .bind(token_hash)
            .fetch_optional(conn)
            .await?);
        let Some(user) = user else {
            return Ok(None);
        };
        crate::tx::on_tx!(&mut tx, |conn| {
            sqlx::query(PASSWORD)
                .bind(password_hash)
                .bind(now.millis())
                .bind(&user)
                .execute(&mut *conn)
                .await?;
            sqlx::query(END_SESSIONS)
                .bind(&user)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        tx.commit().await?;
        user.parse()
            .map(Some)
            .map_err(|e| crate::corrupt("invitation user id", e))
    }
}

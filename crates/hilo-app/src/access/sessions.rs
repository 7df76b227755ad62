//! Console sign-in: password check, rate limit, sessions with their CSRF token.

use hilo_domain::access::throttle::{self, Decision};
use hilo_domain::secret::constant_time_eq;
use hilo_domain::{EmailAddress, Secret, SecretKind};
use hilo_store::access::users::SessionRecord;
use tracing::{info, instrument, warn};

use super::passwords;
use crate::access::Access;
use crate::{AppError, AppResult};

/// How long a console session lasts.
pub const SESSION_TTL_MS: i64 = 12 * 60 * 60 * 1000;

/// A session just opened: the token goes in the cookie, the CSRF token in forms.
#[derive(Debug)]
pub struct NewSession {
    pub token: Secret,
    pub csrf_token: String,
}

impl Access<'_> {
    /// Checks an email and password and opens a session. Every failure looks the same
    /// to the caller, whether the account exists or not.
    #[instrument(skip_all)]
    pub async fn login(&self, email: &str, password: &Secret, ip: &str) -> AppResult<NewSession> {
        let now = self.hilo.now();
        let key = email.trim().to_lowercase();
        let since = now.plus_millis(-throttle::WINDOW_MS);
        let failures = self
            .hilo
            .store
            .login_failures_since(&key, ip, since)
            .await?;
        match throttle::decide(
            failures.pair,
            failures.account,
            failures.address,
            now.millis(),
        ) {
            Decision::Wait { retry_after_secs } => {
                warn!(
                    retry_after_secs,
                    "console login refused: too many failures for this account"
                );
                return Err(AppError::RateLimited { retry_after_secs });
            }
            Decision::Check { delay_ms } if delay_ms > 0 => {
                // A noisy address is slowed, never shut out: someone behind it may be
                // about to sign in rightfully.
                tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
            }
            Decision::Check { .. } => {}
        }
        let user = match key.parse::<EmailAddress>() {
            Ok(address) => self.hilo.store.user_with_password(&address).await?,
            Err(_) => None,
        };
        let (user, stored) = match user {
            Some((user, hash)) => (Some(user), Some(hash)),
            None => (None, None),
        };
        let matches = passwords::verify(password, stored).await?;
        let Some(user) = user.filter(|_| matches) else {
            self.hilo
                .store
                .record_login_failure(&key, ip, now, now.plus_millis(-24 * 60 * 60 * 1000))
                .await?;
            warn!("console login failed");
            return Err(AppError::Unauthenticated);
        };
        self.hilo.store.clear_login_failures(&key).await?;
        let token = SecretKind::Session.generate()?;
        let csrf_token = SecretKind::Session.generate()?.expose().to_owned();
        self.hilo
            .store
            .insert_session(
                &token.digest(),
                user.id,
                &csrf_token,
                now,
                now.plus_millis(SESSION_TTL_MS),
            )
            .await?;
        info!(user_id = %user.id, "console login");
        Ok(NewSession { token, csrf_token })
    }

    /// The live session behind a cookie's token.
    pub async fn session(&self, token: &str) -> AppResult<Option<SessionRecord>> {
        Ok(self
            .hilo
            .store
            .session(&Secret::new(token).digest(), self.hilo.now())
            .await?)
    }

    pub async fn logout(&self, token: &str) -> AppResult<()> {
        self.hilo
            .store
            .delete_session(&Secret::new(token).digest())
            .await?;
        Ok(())
    }
}

/// Whether a submitted CSRF token is the session's.
pub fn csrf_matches(session: &SessionRecord, submitted: &str) -> bool {
    constant_time_eq(&session.csrf_token, submitted)
}

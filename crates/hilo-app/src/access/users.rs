//! Console users.

use hilo_domain::{EmailAddress, Invalid, Page, PageRequest, Role, Secret, UserId};
use hilo_store::access::users::UserRecord;
use tracing::{info, instrument};

use super::passwords;
use crate::access::Access;
use crate::{AppError, AppResult};

pub use passwords::{MAX_LENGTH as MAX_PASSWORD_LENGTH, MIN_LENGTH as MIN_PASSWORD_LENGTH};

/// The console's languages.
pub const LANGUAGES: [&str; 2] = ["en", "es"];

/// How long an invitation link works.
pub const INVITATION_TTL_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// Console users are people; the storefront role is for the shop's backend's API keys.
fn people_role(role: Role) -> Result<(), Invalid> {
    if role == Role::Storefront {
        return Err(Invalid::new(
            "role",
            "storefront is for API keys: a console user is admin, agent, marketer, store or read_only",
        ));
    }
    Ok(())
}

impl Access<'_> {
    #[instrument(skip_all, fields(role = %role))]
    pub async fn create_user(
        &self,
        email: &str,
        name: &str,
        role: Role,
        password: &Secret,
    ) -> AppResult<UserRecord> {
        let email: EmailAddress = email.parse()?;
        people_role(role)?;
        let name = name.trim();
        if name.chars().count() > 200 {
            return Err(Invalid::new("name", "must have at most 200 characters").into());
        }
        passwords::check_policy(password)?;
        let user = UserRecord {
            id: UserId::generate(),
            email,
            name: name.to_owned(),
            role,
            created_at: self.hilo.now(),
            language: None,
        };
        let hash = passwords::hash(password).await?;
        match self.hilo.store.insert_user(&user, &hash).await {
            Err(hilo_store::StoreError::Conflict) => Err(AppError::Conflict(format!(
                "a user with email {} already exists",
                user.email
            ))),
            other => other.map_err(AppError::from),
        }?;
        info!(user_id = %user.id, "console user created");
        Ok(user)
    }

    /// Sets a new password and signs the user out everywhere.
    #[instrument(skip_all)]
    pub async fn reset_password(&self, email: &str, password: &Secret) -> AppResult<()> {
        let email: EmailAddress = email.parse()?;
        passwords::check_policy(password)?;
        let hash = passwords::hash(password).await?;
        if self
            .hilo
            .store
            .set_password(&email, &hash, self.hilo.now())
            .await?
        {
            info!("console password reset");
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    /// Changes one's own password: the current one must be right. Every session of the
    /// user ends, the caller's too (they sign in again with the new one).
    #[instrument(skip_all, fields(user_id = %user))]
    pub async fn change_password(
        &self,
        user: UserId,
        current: &Secret,
        new: &Secret,
    ) -> AppResult<()> {
        let record = self
            .hilo
            .store
            .user(user)
            .await?
            .ok_or(AppError::NotFound)?;
        let stored = self
            .hilo
            .store
            .user_with_password(&record.email)
            .await?
            .map(|(_, hash)| hash);
        if !passwords::verify(current, stored).await? {
            return Err(Invalid::new("current_password", "is not this user's password").into());
        }
        passwords::check_policy(new).map_err(|e| Invalid::new("new_password", e.reason))?;
        let hash = passwords::hash(new).await?;
        self.hilo
            .store
            .set_password(&record.email, &hash, self.hilo.now())
            .await?;
        info!("console password changed by its user");
        Ok(())
    }

    /// Sets the console's language for a user: `en`, `es`, or `None` for the browser's.
    pub async fn set_language(&self, user: UserId, language: Option<&str>) -> AppResult<()> {
        if let Some(code) = language
            && !LANGUAGES.contains(&code)
        {
            return Err(Invalid::new("language", "must be en or es").into());
        }
        self.hilo.store.set_user_language(user, language).await?;
        Ok(())
    }

    /// Gives a user another role. The last admin cannot stop being one (409).
    #[instrument(skip_all, fields(user_id = %user, role = %role))]
    pub async fn change_role(&self, user: UserId, role: Role) -> AppResult<UserRecord> {
        people_role(role)?;
        if self.hilo.store.user(user).await?.is_none() {
            return Err(AppError::NotFound);
        }
        if !self.hilo.store.set_user_role(user, role).await? {
            return Err(AppError::Conflict(
                "the last admin cannot be given another role".into(),
            ));
        }
        info!("console user's role changed");
        self.hilo.store.user(user).await?.ok_or(AppError::NotFound)
    }

    /// Invites a new console user: their account, with no password anyone knows, and a
    /// link that lets them set one, once, within a week. The token is shown to the
    /// admin once; only its digest is kept.
    #[instrument(skip_all, fields(role = %role))]
    pub async fn invite_user(
        &self,
        email: &str,
        name: &str,
        role: Role,
        by: &hilo_domain::Principal,
    ) -> AppResult<(UserRecord, Secret)> {
        let unknown = hilo_domain::SecretKind::Session.generate()?;
        let user = self.create_user(email, name, role, &unknown).await?;
        let token = hilo_domain::SecretKind::Session.generate()?;
        let now = self.hilo.now();
        self.hilo
            .store
            .insert_invitation(
                &token.digest(),
                user.id,
                &by.actor(),
                now,
                now.plus_millis(INVITATION_TTL_MS),
            )
            .await?;
        info!(user_id = %user.id, "console user invited");
        Ok((user, token))
    }

    /// Who an invitation link is for, while it can still be used.
    pub async fn invitation(&self, token: &str) -> AppResult<Option<UserRecord>> {
        Ok(self
            .hilo
            .store
            .invited_user(&Secret::new(token).digest(), self.hilo.now())
            .await?)
    }

    /// Sets the password an invitation asks for; the link is spent.
    #[instrument(skip_all)]
    pub async fn accept_invitation(&self, token: &str, password: &Secret) -> AppResult<UserRecord> {
        passwords::check_policy(password)?;
        let hash = passwords::hash(password).await?;
        let user = self
            .hilo
            .store
            .accept_invitation(&Secret::new(token).digest(), &hash, self.hilo.now())
            .await?
            .ok_or(AppError::NotFound)?;
        info!(user_id = %user, "console invitation accepted");
        self.hilo.store.user(user).await?.ok_or(AppError::NotFound)
    }

    pub async fn list_users(&self, page: &PageRequest) -> AppResult<Page<UserRecord>> {
        let rows = self.hilo.store.list_users(page).await?;
        Ok(Page::from_rows(rows, page.limit, |u| u.id.to_string()))
    }
}

//! Console users.

use hilo_domain::{EmailAddress, Invalid, Page, PageRequest, Role, Secret, UserId};
use hilo_store::access::users::UserRecord;
use tracing::{info, instrument};

use super::passwords;
use crate::access::Access;
use crate::{AppError, AppResult};

pub use passwords::{MAX_LENGTH as MAX_PASSWORD_LENGTH, MIN_LENGTH as MIN_PASSWORD_LENGTH};

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

    pub async fn list_users(&self, page: &PageRequest) -> AppResult<Page<UserRecord>> {
        let rows = self.hilo.store.list_users(page).await?;
        Ok(Page::from_rows(rows, page.limit, |u| u.id.to_string()))
    }
}

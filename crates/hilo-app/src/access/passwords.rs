//! Console passwords: argon2id hashes, computed off the async executor because each
//! takes tens of milliseconds of CPU.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use hilo_domain::{Invalid, Secret};

use crate::{AppError, AppResult};

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 256;

/// Checks a new password against the policy: long enough to resist guessing, short
/// enough that hashing it is bounded.
pub fn check_policy(password: &Secret) -> Result<(), Invalid> {
    let length = password.expose().chars().count();
    if length < MIN_LENGTH {
        return Err(Invalid::new(
            "password",
            format!("must have at least {MIN_LENGTH} characters"),
        ));
    }
    if length > MAX_LENGTH {
        return Err(Invalid::new(
            "password",
            format!("must have at most {MAX_LENGTH} characters"),
        ));
    }
    Ok(())
}

pub async fn hash(password: &Secret) -> AppResult<String> {
    let password = password.clone();
    run_blocking(move || {
        let salt = argon2::password_hash::generate_salt();
        Argon2::default()
            .hash_password_with_salt(password.expose().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
    })
    .await
}

/// Whether `password` matches `stored`. With no stored hash it still does the work of
/// one check, so response times do not tell which accounts exist.
pub async fn verify(password: &Secret, stored: Option<String>) -> AppResult<bool> {
    let password = password.clone();
    run_blocking(move || {
        let argon2 = Argon2::default();
        match stored {
            Some(hash) => Ok(argon2
                .verify_password(password.expose().as_bytes(), hash.as_str())
                .is_ok()),
            None => {
                let salt = [0u8; 16];
                let _ = argon2.hash_password_with_salt(password.expose().as_bytes(), &salt);
                Ok(false)
            }
        }
    })
    .await
}

async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::Internal(format!("password worker failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_bounds_length_in_characters() {
        assert!(check_policy(&Secret::new("ñ".repeat(MIN_LENGTH))).is_ok());
        assert_eq!(
            check_policy(&Secret::new("short")).unwrap_err().field,
            "password"
        );
        assert!(check_policy(&Secret::new("x".repeat(MAX_LENGTH + 1))).is_err());
    }

    #[tokio::test]
    async fn hashes_verify_only_their_password() {
        let password = Secret::new("correct horse battery");
        let hash = hash(&password).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify(&password, Some(hash.clone())).await.unwrap());
        assert!(
            !verify(&Secret::new("wrong horse"), Some(hash))
                .await
                .unwrap()
        );
        assert!(!verify(&password, None).await.unwrap());
    }
}

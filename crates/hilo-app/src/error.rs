//! The application's errors: what went wrong in terms a caller can act on.

use hilo_domain::Invalid;
use hilo_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input broke a rule; names the field and the reason.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("not found")]
    NotFound,
    /// The thing already exists (a user with this email, say).
    #[error("{0}")]
    Conflict(String),
    /// Wrong or missing credentials.
    #[error("invalid credentials")]
    Unauthenticated,
    /// The caller is known but may not do this (a provider's handshake with the wrong
    /// token, say).
    #[error("forbidden")]
    Forbidden,
    /// Too many failed attempts; try again after this many seconds.
    #[error("too many attempts")]
    RateLimited { retry_after_secs: u64 },
    #[error(transparent)]
    Store(StoreError),
    /// Something outside the caller's control (the random source, a worker thread).
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict => Self::Conflict("already exists".into()),
            other => Self::Store(other),
        }
    }
}

impl From<getrandom::Error> for AppError {
    fn from(error: getrandom::Error) -> Self {
        Self::Internal(format!("random source failed: {error}"))
    }
}

pub type AppResult<T> = Result<T, AppError>;

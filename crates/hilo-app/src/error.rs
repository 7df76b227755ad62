//! The application's errors: what went wrong in terms a caller can act on.

use hilo_domain::Invalid;
use hilo_domain::conversations::ChannelType;
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
    /// A reply the channel cannot carry now; a conflict to the API, and said in the
    /// agent's language by the console.
    #[error(transparent)]
    ReplyRefused(#[from] ReplyRefusal),
    /// A code the pickup desk cannot take; a conflict to the API, and said in the
    /// staff's language by the console.
    #[error(transparent)]
    PickupRefused(#[from] PickupRefusal),
    /// An order line asks for more than can be promised: `line` is its index in the
    /// request, `available` how many units could be.
    #[error("lines[{line}]: only {available} available")]
    OutOfStock { line: usize, available: i64 },
    /// Wrong or missing credentials.
    #[error("invalid credentials")]
    Unauthenticated,
    /// The caller is known but may not do this (a provider's handshake with the wrong
    /// token, say).
    #[error("forbidden")]
    Forbidden,
    /// A store's staff member asked for another store's desk; names their own store.
    #[error("location_id: these credentials work the desk of {0}")]
    OtherDesk(String),
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

/// Why a reply cannot go out on the channel asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyRefusal {
    #[error("the conversation has no channel to reply on: name one")]
    NoChannel,
    #[error("replies on {0} channels are not sent by Hilo")]
    NotSentByHilo(ChannelType),
    #[error("the customer has no address on this {0} channel")]
    NoAddress(ChannelType),
    #[error(
        "outside WhatsApp's 24-hour customer service window: the customer has not written \
         on this channel in the last 24 hours, so only an approved template may be sent"
    )]
    OutsideWhatsappWindow,
}

/// Why the pickup desk refuses a code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PickupRefusal {
    #[error("code: no pickup waits for this code")]
    UnknownCode,
    #[error("code: this order is collected at another store ({0})")]
    OtherStore(String),
    #[error("code: this pickup is {0}, not waiting at the desk")]
    NotWaiting(String),
    #[error("code: this pickup code has expired")]
    Expired,
}

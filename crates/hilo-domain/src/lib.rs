//! Hilo's domain: the values and rules every other crate builds on.
//!
//! Nothing here performs I/O. Values are constructed by parsing, so an unvalidated
//! string never reaches a rule.

pub mod access;
pub mod channel;
pub mod consent;
pub mod email;
pub mod identity;
pub mod ids;
pub mod invalid;
pub mod jobs;
pub mod page;
pub mod secret;
pub mod segment;
pub mod time;
pub mod webhooks;

pub use access::{Permission, Principal, Role};
pub use channel::SourceChannel;
pub use email::EmailAddress;
pub use ids::{ApiKeyId, CustomerId, JobId, SourceId, UserId, WebhookId};
pub use invalid::Invalid;
pub use page::{Cursor, Page, PageRequest};
pub use secret::{Secret, SecretKind};
pub use time::Timestamp;

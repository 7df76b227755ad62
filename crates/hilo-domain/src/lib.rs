//! Hilo's domain: the values and rules every other crate builds on.
//!
//! Nothing here performs I/O. Values are constructed by parsing, so an unvalidated
//! string never reaches a rule.
//!
//! One folder per part (`access`, `collect`, `customers`, `webhooks`, with
//! `conversations`, `commerce`, `engagement` and `continuity` next), beside the values
//! every part shares (ids, time, pages, secrets, emails, jobs).

// The parts, one line each.
pub mod access;
pub mod collect;
pub mod commerce;
pub mod conversations;
pub mod customers;
pub mod webhooks;

// What every part shares.
pub mod email;
pub mod hours;
pub mod ids;
pub mod invalid;
pub mod jobs;
pub mod page;
pub mod sealing;
pub mod secret;
pub mod time;

pub use access::{Permission, Principal, Role};
pub use collect::channel::SourceChannel;
pub use email::EmailAddress;
pub use ids::{
    ApiKeyId, ChannelId, ConversationId, CustomerId, FulfillmentId, JobId, LocationId, MessageId,
    OrderId, ProductId, SourceId, UserId, VisitorId, WebhookId,
};
pub use invalid::Invalid;
pub use page::{Cursor, Page, PageRequest};
pub use secret::{Secret, SecretKind};
pub use time::Timestamp;

//! Outbound webhooks: which events there are, how a message is signed (the Standard
//! Webhooks specification), and which destinations may receive one.

pub mod destination;
pub mod events;
pub mod signature;

pub use destination::{AddressPolicy, Destination};
pub use events::{EventType, event_of_change};
pub use signature::{SigningSecret, sign};

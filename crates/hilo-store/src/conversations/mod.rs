//! Conversations' storage (migration 0016): channels, threads and messages.

mod agents;
mod calls;
mod canned;
mod channels;
mod csat;
mod email;
mod listing;
mod mailboxes;
pub(crate) mod messages;
mod moves;
mod privacy;
mod sample;
mod sla;
mod teams;
mod threads;
mod visitors;

pub use agents::AgentRecord;
pub use calls::CallRecord;
pub use canned::CannedReply;
pub use channels::{ChannelChange, ChannelRecord};
pub use csat::CsatRecord;
pub use email::{AttachmentRecord, NewAttachment};
pub use mailboxes::MailboxState;
pub use messages::{MessageRecord, NewMessage, StatusReport};
pub use moves::MoveRecord;
pub use privacy::ErasedConversations;
pub use sample::SampleInbox;
pub use sla::SlaRecord;
pub use teams::TeamRecord;
pub use threads::{ConversationEvent, ConversationFilter, ConversationRecord, cursor_of};
pub use visitors::{NewVisitor, VisitorRecord};

fn parse_id<T: std::str::FromStr>(what: &'static str, text: &str) -> crate::StoreResult<T>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|e| crate::corrupt(what, e))
}

//! Conversations: channels, messages in both directions, and the rules of each
//! provider that need no I/O (signatures, addresses, delivery states).

pub mod assignment;
pub mod bot;
pub mod call;
pub mod canned;
pub mod channel;
pub mod csat;
pub mod email;
pub mod mentions;
pub mod message;
pub mod meta;
pub mod search;
pub mod sla;
pub mod team;
pub mod template;
pub mod twilio;
pub mod web_chat;
pub mod work;

pub use channel::{ChannelSettings, ChannelType};
pub use message::{ConversationStatus, Direction, MessageStatus};

/// The identifier type of a WhatsApp user id (`wa_id`): its own type, linked to the
/// phone when one is known, so a message without a phone still finds the customer.
pub const WHATSAPP: &str = "whatsapp";
/// A Messenger page-scoped id.
pub const MESSENGER: &str = "messenger_psid";
/// An Instagram-scoped id.
pub const INSTAGRAM: &str = "instagram_id";
/// A contact of the API channel, named by the system that posts for it.
pub const API_CONTACT: &str = "api_contact";

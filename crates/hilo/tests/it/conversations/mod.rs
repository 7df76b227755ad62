//! Conversations: channels configured over the API, provider webhooks in their real
//! wire formats, one thread per customer, replies sent to provider peers.

mod api_channel;
mod assignment;
mod bot;
mod canned;
mod channels;
mod csat;
mod email;
mod events;
mod imap;
mod inbox;
mod meta;
mod moves;
mod privacy;
mod sla;
mod teams;
mod twilio;
mod voice;
mod web_chat;

//! Access: API keys, console users and their sessions, and sources with their write keys.

pub mod api_keys;
pub mod invitations;
pub mod sources;
pub mod users;

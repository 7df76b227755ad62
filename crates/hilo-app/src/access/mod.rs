//! Access: API keys, console users, sign-in and sessions, sources and their write keys.

pub mod keys;
mod passwords;
pub mod sessions;
pub mod sources;
pub mod users;

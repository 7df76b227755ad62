//! Access: roles and permissions, API keys, sources.

mod keys;
mod roles;
mod sources;

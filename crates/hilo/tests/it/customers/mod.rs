//! Customers: profiles and identity, privacy, the change feed.

mod feed;
pub(crate) mod privacy;
mod profiles;
mod search;

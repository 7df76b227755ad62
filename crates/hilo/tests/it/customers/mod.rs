//! Customers: profiles and identity, privacy, the change feed.

mod feed;
mod privacy;
mod profiles;
mod search;

//! Customers: identity resolution (rules and the merge planner) and consent.

pub mod consent;
pub mod identity;

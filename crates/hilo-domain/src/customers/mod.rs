//! Customers: identity resolution (rules and the merge planner), consent, what the
//! timeline holds and what the change feed records.

pub mod changes;
pub mod consent;
pub mod identity;
pub mod timeline;

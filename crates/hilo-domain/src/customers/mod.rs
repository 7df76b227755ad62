//! Customers: identity resolution (rules and the merge planner), consent, what the
//! timeline holds, what the change feed records, redacting an erased person, and the
//! words a profile is found by.

pub mod changes;
pub mod consent;
pub mod identity;
pub mod redaction;
pub mod search;
pub mod timeline;

//! Customers: identity resolution (rules and the merge planner), consent, what the
//! timeline holds, what the change feed records, and redacting an erased person.

pub mod changes;
pub mod consent;
pub mod identity;
pub mod redaction;
pub mod timeline;

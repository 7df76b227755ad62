//! Collection: messages in from every channel, resolved and stored by one
//! group-committing writer per process.

pub mod ingest;

//! The ingestion writer. See `docs/INGESTION.md` for its design.
//!
//! Only [`IngestWriter`] (with its group transaction) and [`IngestTx`] leave this
//! folder; the rest is how each engine stores messages fast.

pub(crate) mod bare;
pub(crate) mod bulk;
pub(crate) mod checkpoint;
pub(crate) mod embedded;
pub(crate) mod group_tx;
pub(crate) mod ingest_tx;
pub(crate) mod ingest_writer;
pub(crate) mod seen;
pub(crate) mod timeline_index;
pub(crate) mod unflushed;

pub use group_tx::GroupTx;
pub use ingest_tx::IngestTx;
pub use ingest_writer::{IngestGroup, IngestWriter, WhenDurable, WriterTx};
pub use unflushed::Unflushed;

//! The ingestion writer. See `docs/INGESTION.md` for its design.

pub(crate) mod bare;
pub(crate) mod bulk;
pub mod checkpoint;
pub mod embedded;
pub mod group_tx;
pub mod ingest_tx;
pub mod seen;
pub(crate) mod timeline_index;
pub mod unflushed;

pub use checkpoint::Checkpointer;
pub use embedded::{EmbeddedTx, EmbeddedWriter, WalFlusher};
pub use group_tx::{GraphMemory, GroupTx};
pub use ingest_tx::IngestTx;

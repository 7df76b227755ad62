//! Collection's ingestion writer: the machinery that stores messages fast on each
//! engine. The application's ingestion pipeline drives it through [`IngestTx`],
//! [`GroupTx`] and the embedded writer; no other part needs any of it — a part writes
//! through a plain [`crate::Tx`] and the timeline API in `customers`.

pub(crate) mod writer;

pub use writer::{
    Checkpointer, EmbeddedTx, EmbeddedWriter, GraphMemory, GroupTx, IngestTx, WalFlusher,
};
pub use writer::{checkpoint, embedded, group_tx, ingest_tx, seen, unflushed};

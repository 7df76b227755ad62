//! Collection's ingestion writer: the machinery that stores messages fast on each
//! engine, private to `writer/`. The application's ingestion pipeline drives it
//! through [`IngestWriter`] (a group's transaction, and when its commit is durable) and
//! the [`IngestTx`] operations identity linking shares with a plain transaction. No
//! other part needs any of it: a part writes through a plain [`crate::Tx`] and the
//! timeline API in `customers`.

pub(crate) mod writer;

pub use writer::{GroupTx, IngestGroup, IngestTx, IngestWriter, Unflushed, WhenDurable, WriterTx};

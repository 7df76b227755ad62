//! The ingestion writer as collection's use cases see it: where a group's transaction
//! comes from, and when its commit is on disk. Everything behind it — the embedded
//! writer's own connection, its log flusher and checkpointer threads, the deduplication
//! window, the per-customer timeline index, the graph memory kept between groups — stays
//! in this folder (see `docs/INGESTION.md`).

use std::collections::HashSet;
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;

use hilo_domain::customers::changes::ChangeKind;
use hilo_domain::customers::identity::Identifier;
use hilo_domain::{CustomerId, SourceId, Timestamp};
use tracing::{error, warn};

use crate::collect::writer::checkpoint::Checkpointer;
use crate::collect::writer::embedded::{EmbeddedTx, EmbeddedWriter, WalFlusher};
use crate::collect::writer::group_tx::{GraphMemory, GroupTx};
use crate::collect::writer::ingest_tx::IngestTx;
use crate::collect::writer::unflushed::Unflushed;
use crate::customers::privacy::NewConsent;
use crate::customers::{
    IdentityRow, NewChange, NewConflict, NewProfile, NewTimelineItem, ProfileRow,
};
use crate::tx::{Tx, VersionedCommit};
use crate::{Store, StoreResult};

/// What to do once a commit is on disk: called with `true`, or with `false` when it
/// could not be made durable (the log could not be flushed).
pub type WhenDurable = Box<dyn FnOnce(bool) + Send>;

/// The one writer of ingested messages. Made on the thread that will use it.
pub struct IngestWriter {
    engine: Engine,
    /// What the last group learned of the identity graph, for the next one.
    memory: Option<GraphMemory>,
}

enum Engine {
    /// A pool of the writer's own (PostgreSQL, or SQLite when the embedded writer could
    /// not open): a commit is durable when it returns.
    Pool(Store),
    /// The embedded engine's own connection. Its commits become durable when the
    /// flusher thread next flushes the log.
    Embedded {
        writer: Box<EmbeddedWriter>,
        flusher: WalFlusher,
        after_flush: mpsc::Sender<Vec<WhenDurable>>,
        /// Tells the checkpointer's thread that the writer committed; dropped with the
        /// writer, which ends that thread.
        committed: Option<mpsc::Sender<()>>,
    },
}

impl IngestWriter {
    /// On SQLite, the embedded writer with its flusher and checkpointer threads; on
    /// PostgreSQL, a pool of the writer's own, made on the caller's runtime so its round
    /// trips never queue behind requests. Also returns the store the writer's use cases
    /// should read through: that pool, on PostgreSQL.
    pub async fn open(store: &Store, unflushed: Arc<Unflushed>) -> (Self, Store) {
        if let Some(path) = store.sqlite_path() {
            match EmbeddedWriter::open(&path, unflushed) {
                Ok(writer) => {
                    let flusher = writer.flusher();
                    let after_flush = start_flusher(&flusher, "hilo-flusher");
                    let engine = Engine::Embedded {
                        writer: Box::new(writer),
                        flusher,
                        after_flush,
                        committed: start_checkpointer(&path),
                    };
                    return (Self::with(engine), store.clone());
                }
                Err(error) => {
                    warn!(%error, "could not open the embedded writer; writing through the pool");
                }
            }
        }
        let own = match store.dedicated(2).await {
            Ok(own) => own,
            Err(error) => {
                warn!(%error, "could not open the writer's own pool; sharing the main one");
                store.clone()
            }
        };
        (Self::with(Engine::Pool(own.clone())), own)
    }

    fn with(engine: Engine) -> Self {
        Self {
            engine,
            memory: None,
        }
    }

    /// Begins a group's transaction, knowing what earlier groups learned of the graph
    /// when nobody else changed it since (or when that can be told later, by version).
    pub async fn begin(&mut self) -> StoreResult<IngestGroup<'_>> {
        let Self { engine, memory } = self;
        let tx = match engine {
            Engine::Pool(store) => WriterTx::Pool(store.begin().await?),
            Engine::Embedded { writer, .. } => WriterTx::Embedded(writer.begin()?),
        };
        let kept = memory
            .take()
            .filter(|kept| tx.graph_unchanged_by_others() || kept.versioned())
            .unwrap_or_default();
        Ok(IngestGroup {
            tx: GroupTx::with_memory(tx, kept),
            memory,
        })
    }

    /// Calls `then` once what this writer committed so far is on disk: at once on
    /// PostgreSQL, after the flusher's next flush on SQLite.
    pub fn when_durable(&self, then: WhenDurable) {
        match &self.engine {
            Engine::Pool(_) => then(true),
            Engine::Embedded {
                flusher,
                after_flush,
                committed,
                ..
            } => {
                // The log is copied while the flusher syncs it and the next group forms.
                if let Some(committed) = committed {
                    let _ = committed.send(());
                }
                if let Err(returned) = after_flush.send(vec![then]) {
                    // The flusher thread is gone: flush here.
                    flush_then_call(flusher, returned.0);
                }
            }
        }
    }

    /// Whether it writes on a connection of its own (SQLite), which must queue for the
    /// process's turn at the write lock (`Store::write_turn`); through the pool, its
    /// transactions take their turn themselves.
    pub fn own_connection(&self) -> bool {
        matches!(self.engine, Engine::Embedded { .. })
    }

    /// Whether timeline rows wait to be moved into the per-customer index (SQLite).
    pub fn indexing_pending(&self) -> bool {
        match &self.engine {
            Engine::Pool(_) => false,
            Engine::Embedded { writer, .. } => writer.index_pending(),
        }
    }

    /// Whether [`IngestWriter::index_step`] would move rows now (SQLite). A failure to
    /// tell counts as due: the step reports it.
    pub fn indexing_due(&mut self, idle: bool) -> bool {
        match &mut self.engine {
            Engine::Pool(_) => false,
            Engine::Embedded { writer, .. } => writer.index_due(idle).unwrap_or(true),
        }
    }

    /// Moves timeline rows into the per-customer index between groups (SQLite); when
    /// `idle`, whatever waits is due. A failure only delays it.
    pub fn index_step(&mut self, idle: bool) {
        if let Engine::Embedded { writer, .. } = &mut self.engine
            && let Err(error) = writer.index_step(idle)
        {
            warn!(%error, "could not index timeline rows by customer; will retry");
        }
    }
}

/// One group's transaction: everything [`GroupTx`] offers, and a commit that hands what
/// the group learned of the graph to the next one. Dropping it rolls back and forgets.
pub struct IngestGroup<'w> {
    tx: GroupTx<WriterTx<'w>>,
    memory: &'w mut Option<GraphMemory>,
}

impl<'w> Deref for IngestGroup<'w> {
    type Target = GroupTx<WriterTx<'w>>;

    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl DerefMut for IngestGroup<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

impl IngestGroup<'_> {
    pub async fn commit(self) -> StoreResult<()> {
        *self.memory = Some(self.tx.commit_remembering().await?);
        Ok(())
    }
}

/// Starts a thread that flushes the log for the waiters sent to it. When the thread
/// cannot start, sending fails and gives the waiters back, for the caller to flush.
pub(crate) fn start_flusher(flusher: &WalFlusher, name: &str) -> mpsc::Sender<Vec<WhenDurable>> {
    let (after_flush, pending) = mpsc::channel();
    let thread_flusher = flusher.clone();
    if let Err(error) = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || flush_loop(&thread_flusher, &pending))
    {
        warn!(%error, "could not start the log flusher thread");
    }
    after_flush
}

/// Flushes the log once for every batch of waiters that arrived since the last flush.
fn flush_loop(flusher: &WalFlusher, pending: &mpsc::Receiver<Vec<WhenDurable>>) {
    while let Ok(mut waiting) = pending.recv() {
        while let Ok(more) = pending.try_recv() {
            waiting.extend(more);
        }
        flush_then_call(flusher, waiting);
    }
}

pub(crate) fn flush_then_call(flusher: &WalFlusher, waiting: Vec<WhenDurable>) {
    let durable = match flusher.flush() {
        Ok(()) => true,
        Err(error) => {
            error!(%error, "could not flush the write-ahead log");
            false
        }
    };
    for then in waiting {
        then(durable);
    }
}

/// Starts the thread that copies the log into the database beside the writer, and
/// returns how to tell it the writer committed. Without it the writer's own, rarer
/// checkpoints do the copying.
fn start_checkpointer(path: &Path) -> Option<mpsc::Sender<()>> {
    let checkpointer = match Checkpointer::open(path) {
        Ok(checkpointer) => checkpointer,
        Err(error) => {
            warn!(%error, "could not open the checkpointing connection");
            return None;
        }
    };
    let (committed, commits) = mpsc::channel();
    match std::thread::Builder::new()
        .name("hilo-checkpoint".into())
        .spawn(move || checkpointer.run(&commits))
    {
        Ok(_) => Some(committed),
        Err(error) => {
            warn!(%error, "could not start the checkpointer thread");
            None
        }
    }
}

/// A group's underlying transaction: the pool's or the embedded writer's.
pub enum WriterTx<'w> {
    Pool(Tx),
    Embedded(EmbeddedTx<'w>),
}

impl IngestTx for WriterTx<'_> {
    fn graph_unchanged_by_others(&self) -> bool {
        match self {
            Self::Pool(tx) => tx.graph_unchanged_by_others(),
            Self::Embedded(tx) => tx.graph_unchanged_by_others(),
        }
    }

    fn locks_identifiers(&self) -> bool {
        match self {
            Self::Pool(tx) => tx.locks_identifiers(),
            Self::Embedded(tx) => tx.locks_identifiers(),
        }
    }

    async fn lock_keys(&mut self, keys: &[i64]) -> StoreResult<()> {
        match self {
            Self::Pool(tx) => IngestTx::lock_keys(tx, keys).await,
            Self::Embedded(tx) => IngestTx::lock_keys(tx, keys).await,
        }
    }
    async fn known_message_ids(
        &mut self,
        source: SourceId,
        message_ids: &[&str],
    ) -> StoreResult<HashSet<String>> {
        match self {
            Self::Pool(tx) => IngestTx::known_message_ids(tx, source, message_ids).await,
            Self::Embedded(tx) => IngestTx::known_message_ids(tx, source, message_ids).await,
        }
    }
    async fn identity_owners_many(
        &mut self,
        identifiers: &[&Identifier],
    ) -> StoreResult<Vec<(IdentityRow, Option<String>)>> {
        match self {
            Self::Pool(tx) => IngestTx::identity_owners_many(tx, identifiers).await,
            Self::Embedded(tx) => IngestTx::identity_owners_many(tx, identifiers).await,
        }
    }
    async fn identity_owner(
        &mut self,
        identifier: &Identifier,
    ) -> StoreResult<Option<(IdentityRow, Option<String>)>> {
        match self {
            Self::Pool(tx) => IngestTx::identity_owner(tx, identifier).await,
            Self::Embedded(tx) => IngestTx::identity_owner(tx, identifier).await,
        }
    }
    async fn root_of(&mut self, fragment: CustomerId) -> StoreResult<CustomerId> {
        match self {
            Self::Pool(tx) => IngestTx::root_of(tx, fragment).await,
            Self::Embedded(tx) => IngestTx::root_of(tx, fragment).await,
        }
    }
    async fn holdings(&mut self, root: CustomerId) -> StoreResult<Vec<(String, i64)>> {
        match self {
            Self::Pool(tx) => IngestTx::holdings(tx, root).await,
            Self::Embedded(tx) => IngestTx::holdings(tx, root).await,
        }
    }
    async fn separations(
        &mut self,
        root: CustomerId,
    ) -> StoreResult<Vec<(CustomerId, CustomerId)>> {
        match self {
            Self::Pool(tx) => IngestTx::separations(tx, root).await,
            Self::Embedded(tx) => IngestTx::separations(tx, root).await,
        }
    }
    async fn insert_profile(
        &mut self,
        id: CustomerId,
        at: Timestamp,
        created_by: Option<&str>,
    ) -> StoreResult<()> {
        match self {
            Self::Pool(tx) => IngestTx::insert_profile(tx, id, at, created_by).await,
            Self::Embedded(tx) => IngestTx::insert_profile(tx, id, at, created_by).await,
        }
    }
    async fn merge_profiles(
        &mut self,
        merge_id: &str,
        survivor: CustomerId,
        absorbed: CustomerId,
        cause: &Identifier,
        message_id: Option<&str>,
        source: Option<SourceId>,
        at: Timestamp,
    ) -> StoreResult<()> {
        match self {
            Self::Pool(tx) => {
                IngestTx::merge_profiles(
                    tx, merge_id, survivor, absorbed, cause, message_id, source, at,
                )
                .await
            }
            Self::Embedded(tx) => {
                IngestTx::merge_profiles(
                    tx, merge_id, survivor, absorbed, cause, message_id, source, at,
                )
                .await
            }
        }
    }
    async fn attach_identity(
        &mut self,
        identifier: &Identifier,
        profile: CustomerId,
        at: Timestamp,
        sources: &str,
    ) -> StoreResult<()> {
        match self {
            Self::Pool(tx) => IngestTx::attach_identity(tx, identifier, profile, at, sources).await,
            Self::Embedded(tx) => {
                IngestTx::attach_identity(tx, identifier, profile, at, sources).await
            }
        }
    }
    async fn touch_identity(
        &mut self,
        identifier: &Identifier,
        at: Timestamp,
        sources: &str,
    ) -> StoreResult<()> {
        match self {
            Self::Pool(tx) => IngestTx::touch_identity(tx, identifier, at, sources).await,
            Self::Embedded(tx) => IngestTx::touch_identity(tx, identifier, at, sources).await,
        }
    }
    async fn record_conflict(&mut self, id: &str, conflict: &NewConflict<'_>) -> StoreResult<()> {
        match self {
            Self::Pool(tx) => IngestTx::record_conflict(tx, id, conflict).await,
            Self::Embedded(tx) => IngestTx::record_conflict(tx, id, conflict).await,
        }
    }
    async fn profile(&mut self, id: CustomerId) -> StoreResult<Option<ProfileRow>> {
        match self {
            Self::Pool(tx) => IngestTx::profile(tx, id).await,
            Self::Embedded(tx) => IngestTx::profile(tx, id).await,
        }
    }
    async fn save_profile(&mut self, row: &ProfileRow) -> StoreResult<()> {
        match self {
            Self::Pool(tx) => IngestTx::save_profile(tx, row).await,
            Self::Embedded(tx) => IngestTx::save_profile(tx, row).await,
        }
    }
    async fn record_change(
        &mut self,
        kind: ChangeKind,
        profile: CustomerId,
        data: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        match self {
            Self::Pool(tx) => IngestTx::record_change(tx, kind, profile, data, at).await,
            Self::Embedded(tx) => IngestTx::record_change(tx, kind, profile, data, at).await,
        }
    }
    async fn record_consent(&mut self, id: &str, consent: &NewConsent<'_>) -> StoreResult<()> {
        match self {
            Self::Pool(tx) => IngestTx::record_consent(tx, id, consent).await,
            Self::Embedded(tx) => IngestTx::record_consent(tx, id, consent).await,
        }
    }
    async fn any_suppression_exists(&mut self) -> StoreResult<bool> {
        match self {
            Self::Pool(tx) => IngestTx::any_suppression_exists(tx).await,
            Self::Embedded(tx) => IngestTx::any_suppression_exists(tx).await,
        }
    }
    async fn any_suppressed(&mut self, digests: &[String]) -> StoreResult<bool> {
        match self {
            Self::Pool(tx) => IngestTx::any_suppressed(tx, digests).await,
            Self::Embedded(tx) => IngestTx::any_suppressed(tx, digests).await,
        }
    }
    async fn append_timeline_many(&mut self, items: &[NewTimelineItem<'_>]) -> StoreResult<u64> {
        match self {
            Self::Pool(tx) => IngestTx::append_timeline_many(tx, items).await,
            Self::Embedded(tx) => IngestTx::append_timeline_many(tx, items).await,
        }
    }
    async fn insert_profiles(&mut self, rows: &[NewProfile]) -> StoreResult<()> {
        match self {
            Self::Pool(tx) => IngestTx::insert_profiles(tx, rows).await,
            Self::Embedded(tx) => IngestTx::insert_profiles(tx, rows).await,
        }
    }
    async fn insert_identities(&mut self, rows: &[IdentityRow]) -> StoreResult<()> {
        match self {
            Self::Pool(tx) => IngestTx::insert_identities(tx, rows).await,
            Self::Embedded(tx) => IngestTx::insert_identities(tx, rows).await,
        }
    }
    async fn update_identities(&mut self, rows: &[IdentityRow]) -> StoreResult<()> {
        match self {
            Self::Pool(tx) => IngestTx::update_identities(tx, rows).await,
            Self::Embedded(tx) => IngestTx::update_identities(tx, rows).await,
        }
    }
    async fn save_profiles(&mut self, rows: &[ProfileRow]) -> StoreResult<()> {
        match self {
            Self::Pool(tx) => IngestTx::save_profiles(tx, rows).await,
            Self::Embedded(tx) => IngestTx::save_profiles(tx, rows).await,
        }
    }
    async fn record_changes(&mut self, rows: &[NewChange]) -> StoreResult<()> {
        match self {
            Self::Pool(tx) => IngestTx::record_changes(tx, rows).await,
            Self::Embedded(tx) => IngestTx::record_changes(tx, rows).await,
        }
    }
    async fn holdings_many(
        &mut self,
        roots: &[CustomerId],
    ) -> StoreResult<Vec<(CustomerId, String, i64)>> {
        match self {
            Self::Pool(tx) => IngestTx::holdings_many(tx, roots).await,
            Self::Embedded(tx) => IngestTx::holdings_many(tx, roots).await,
        }
    }
    async fn profiles_many(&mut self, ids: &[CustomerId]) -> StoreResult<Vec<ProfileRow>> {
        match self {
            Self::Pool(tx) => IngestTx::profiles_many(tx, ids).await,
            Self::Embedded(tx) => IngestTx::profiles_many(tx, ids).await,
        }
    }
    async fn graph_version(&mut self) -> StoreResult<Option<i64>> {
        match self {
            Self::Pool(tx) => IngestTx::graph_version(tx).await,
            Self::Embedded(tx) => IngestTx::graph_version(tx).await,
        }
    }
    async fn commit(self) -> StoreResult<Option<VersionedCommit>> {
        match self {
            Self::Pool(tx) => IngestTx::commit(tx).await,
            Self::Embedded(tx) => IngestTx::commit(tx).await,
        }
    }
}

//! The embedded engine's ingestion writer: one SQLite connection of its own, driven
//! synchronously with cached prepared statements.
//!
//! Through the pool, every statement is handed to a driver thread and awaited, which
//! costs tens of microseconds however small the statement; ingestion runs a few per
//! message. Here a statement costs what SQLite itself costs. The writer runs on a thread
//! of its own (see the ingestion writer), so its blocking calls never hold up requests.
//! Same file and the same SQLite library as the pool, so both see one database; SQLite's
//! write lock orders this writer with staff writes through the pool.
//!
//! Its commits do not wait for the disk (`synchronous=NORMAL`): the writer goes on with
//! the next group at once, and [`WalFlusher::flush`], run on another thread, makes every
//! commit made before it durable with one flush of the write-ahead log. Acknowledgements
//! wait for that flush, so durability is kept while one flush serves many commits.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hilo_domain::customers::changes::ChangeKind;
use hilo_domain::customers::identity::Identifier;
use hilo_domain::customers::timeline::ItemType;
use hilo_domain::{CustomerId, SourceId, Timestamp};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OptionalExtension, params};

use crate::collect::writer::ingest_tx::IngestTx;
use crate::collect::writer::seen::{self, MessageDigest, SeenMessages};
use crate::collect::writer::timeline_index::TimelineIndexer;
use crate::collect::writer::unflushed::{FeedSeqs, Unflushed};
use crate::customers::privacy::NewConsent;
use crate::customers::{
    IdentityRow, NewChange, NewConflict, NewProfile, NewTimelineItem, ProfileRow, parse_customer_id,
};
use crate::sql;
use crate::{StoreError, StoreResult};

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        match error.sqlite_error_code() {
            Some(rusqlite::ErrorCode::ConstraintViolation)
                if error.to_string().contains("UNIQUE") =>
            {
                Self::Conflict
            }
            _ => Self::Embedded(error),
        }
    }
}

/// The writer's connection.
pub struct EmbeddedWriter {
    conn: Connection,
    wal: PathBuf,
    /// Events stored recently, for deduplication (see [`crate::collect::writer::seen`]).
    seen: SeenMessages,
    /// The highest timeline `seq` whose event is in `seen`.
    covered_seq: i64,
    /// SQLite's count of commits by other connections, as of this writer's last look.
    data_version: Option<i64>,
    /// The graph version (migration 0013) as this writer's last commit left it.
    graph_version: Option<i64>,
    /// When keys older than the window were last deleted from `message_keys`.
    pruned_at: std::time::Instant,
    /// Moves the timeline tail into the per-customer index between groups.
    index: TimelineIndexer,
    /// Commits not on disk yet, shared with the flusher and the feed's readers.
    unflushed: Arc<Unflushed>,
}

/// The writer's page cache, in KiB. Half the pool's: a transaction that splits b-tree
/// pages ends by scanning the whole cache for pages past the end of the file (SQLite
/// parks pages there while rebalancing), so a larger cache costs every commit more than
/// its hits save. At 1M messages, two pairs against 64 MiB: writer CPU -2 to -4%,
/// resident memory -25 MB; 16 MiB was slower.
const WRITER_CACHE_KIB: u32 = 32_768;

impl EmbeddedWriter {
    /// Opens the database file the pool uses, with the pool's durability settings; its
    /// commits are registered in `unflushed` until its flusher has synced them.
    pub fn open(path: &Path, unflushed: Arc<Unflushed>) -> StoreResult<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // The pool's settings (see `connect`) but NORMAL: commits reach the log in the
        // operating system's cache, and the flusher puts them on disk before any
        // acknowledgement. Checkpoints still flush the log first and the database after.
        // The checkpointer's thread copies the log as it grows (see `checkpoint`); the
        // writer's own checkpoints only bound the log.
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
             PRAGMA temp_store = MEMORY; PRAGMA cache_size = -{WRITER_CACHE_KIB}; \
             PRAGMA wal_autocheckpoint = {};",
            crate::collect::writer::checkpoint::WRITER_CHECKPOINT_PAGES
        ))?;
        // No triggers on this connection: the graph version's (migration 0013) would fire
        // for each identity the writer touches; it raises the version once per commit
        // instead. The only other trigger, on deleting timeline rows, never concerns the
        // writer, which only appends them.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false)?;
        conn.set_prepared_statement_cache_capacity(64);
        let mut seen = SeenMessages::default();
        let covered_seq = load_window(&conn, &mut seen)?;
        tracing::debug!(events = seen.len(), "recent message ids loaded");
        let index = TimelineIndexer::open(&conn)?;
        Ok(Self {
            conn,
            wal: wal_of(path),
            seen,
            covered_seq,
            data_version: None,
            graph_version: None,
            pruned_at: std::time::Instant::now(),
            index,
            unflushed,
        })
    }

    /// Whether timeline rows wait to be moved into the per-customer index.
    pub fn index_pending(&self) -> bool {
        self.index.pending()
    }

    /// Whether [`EmbeddedWriter::index_step`] would do anything now (see
    /// [`TimelineIndexer::due`]).
    pub fn index_due(&mut self, idle: bool) -> StoreResult<bool> {
        self.index.due(&self.conn, idle)
    }

    /// One transaction of moving timeline rows into the per-customer index, if due (see
    /// [`crate::collect::writer::timeline_index`]); when `idle`, whatever waits is due.
    pub fn index_step(&mut self, idle: bool) -> StoreResult<()> {
        self.index.step(&self.conn, idle)
    }

    /// What makes this writer's commits durable.
    pub fn flusher(&self) -> WalFlusher {
        WalFlusher {
            wal: self.wal.clone(),
            unflushed: self.unflushed.clone(),
        }
    }

    /// Begins a transaction holding the write lock from the start.
    /// With the lock held, first learns whether another connection committed since this
    /// writer last looked (staff edits, jobs, another process importing) and, if so, the
    /// events it stored and whether it changed the identity graph.
    pub fn begin(&mut self) -> StoreResult<EmbeddedTx<'_>> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let version: i64 = self
            .conn
            .query_row("PRAGMA data_version", [], |row| row.get(0))?;
        let unchanged = self.data_version == Some(version);
        self.data_version = Some(version);
        // Only another connection's commit can have raised it.
        let graph_version = match self.graph_version.filter(|_| unchanged) {
            Some(known) => known,
            None => self
                .conn
                .prepare_cached(GRAPH_VERSION)?
                .query_row([], |row| row.get(0))?,
        };
        let graph_unchanged = self.graph_version == Some(graph_version);
        if !graph_unchanged {
            // Until a commit of this writer's reads the graph afresh: a transaction that
            // rolls back must not leave the next one believing nothing changed.
            self.graph_version = None;
        }
        if self.pruned_at.elapsed() > PRUNE_EVERY {
            self.pruned_at = std::time::Instant::now();
            prune_keys(&self.conn, &self.seen)?;
        }
        let covered_before = self.covered_seq;
        let feed_from = feed_from(&self.conn)?;
        let tx = EmbeddedTx {
            conn: &mut self.conn,
            seen: &mut self.seen,
            covered_seq: &mut self.covered_seq,
            index: &mut self.index,
            appended: 0,
            stored: Vec::new(),
            last_seq: None,
            covered_before,
            graph_unchanged_by_others: graph_unchanged,
            graph_changed: false,
            graph_version_at_begin: graph_version,
            graph_version: &mut self.graph_version,
            feed_from,
            unflushed: &self.unflushed,
            open: true,
        };
        if !unchanged {
            catch_up(tx.conn, tx.seen, tx.covered_seq)?;
            tx.index.others_committed();
        }
        Ok(tx)
    }
}

const GRAPH_VERSION: &str = "SELECT version FROM graph_version WHERE id = 1";
const RAISE_GRAPH_VERSION: &str =
    "UPDATE graph_version SET version = version + 1 WHERE id = 1 RETURNING version";

/// The first `seq` of each feed table a transaction holding the write lock may write.
pub(crate) fn feed_from(conn: &Connection) -> StoreResult<FeedSeqs> {
    Ok(FeedSeqs {
        timeline: next_seq(conn, "timeline")?,
        changes: next_seq(conn, "changes")?,
    })
}

/// A `seq` above every row `table` holds now: one step down its key.
fn next_seq(conn: &Connection, table: &str) -> StoreResult<i64> {
    let last: Option<i64> = conn
        .prepare_cached(&format!(
            "SELECT seq FROM {table} ORDER BY seq DESC LIMIT 1"
        ))?
        .query_row([], |row| row.get(0))
        .optional()?;
    Ok(last.unwrap_or(0) + 1)
}

/// A bare prepared-insert loop on a connection of its own, each transaction waiting for
/// the disk: the write limit benchmarks compare with.
pub fn bare_insert_loop(
    path: &Path,
    rows: usize,
    body: &str,
    per_transaction: usize,
) -> StoreResult<Duration> {
    let per = per_transaction.max(1);
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
    let table = format!("bench_bare_{}", std::process::id());
    conn.execute_batch(&format!(
        "DROP TABLE IF EXISTS {table}; \
         CREATE TABLE {table} (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"
    ))?;
    let started = std::time::Instant::now();
    let mut id: i64 = 0;
    for chunk in 0..rows.div_ceil(per) {
        let tx = conn.transaction()?;
        {
            let mut insert =
                tx.prepare_cached(&format!("INSERT INTO {table} (id, body) VALUES (?1, ?2)"))?;
            for _ in chunk * per..((chunk + 1) * per).min(rows) {
                id += 1;
                insert.execute(params![id, body])?;
            }
        }
        tx.commit()?;
    }
    let elapsed = started.elapsed();
    conn.execute_batch(&format!("DROP TABLE {table}"))?;
    Ok(elapsed)
}

/// Flushes the write-ahead log to disk.
#[derive(Debug, Clone)]
pub struct WalFlusher {
    wal: PathBuf,
    unflushed: Arc<Unflushed>,
}

impl WalFlusher {
    /// The flusher of the log of the database at `path`, telling `unflushed`.
    pub fn of_database(path: &Path, unflushed: Arc<Unflushed>) -> Self {
        Self {
            wal: wal_of(path),
            unflushed,
        }
    }

    /// Returns once every commit that returned before the call is on disk, and tells
    /// `unflushed` so. The log is opened afresh each time, so the flush always reaches
    /// the file SQLite writes now.
    pub fn flush(&self) -> StoreResult<()> {
        let covered = self.unflushed.sync_starts();
        std::fs::File::open(&self.wal)?.sync_data()?;
        self.unflushed.flushed(&covered);
        Ok(())
    }
}

/// SQLite's write-ahead log of the database at `path`.
fn wal_of(path: &Path) -> PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

/// How often keys older than the window are deleted from `message_keys`.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// The `seq` after which `table` (`timeline` or `message_keys`, both keyed by timeline
/// seq) holds what was received within the deduplication window: the newest receipt
/// minus the window and an hour, as receipt times are only nearly in order. Found by
/// bisecting `seq`, along which receipt times grow.
fn window_start(conn: &Connection, table: WindowTable) -> StoreResult<i64> {
    let table = table.name();
    let newest: Option<(i64, i64)> = conn
        .query_row(
            &format!("SELECT seq, received_at FROM {table} ORDER BY seq DESC LIMIT 1"),
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some((newest_seq, newest_at)) = newest else {
        return Ok(0);
    };
    let cutoff = newest_at - seen::WINDOW_MS - 3_600_000;
    let mut first_at = conn.prepare(&format!(
        "SELECT seq, received_at FROM {table} WHERE seq >= ?1 ORDER BY seq LIMIT 1"
    ))?;
    // Everything up to `old` was received before the cutoff; `recent` was not.
    let (mut old, mut recent) = (0i64, newest_seq);
    while old + 1 < recent {
        let middle = old + (recent - old) / 2;
        let found: Option<(i64, i64)> = first_at
            .query_row(params![middle], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        match found {
            Some((seq, at)) if at < cutoff => old = seq.max(middle),
            _ => recent = middle,
        }
    }
    Ok(old)
}

#[derive(Debug, Clone, Copy)]
enum WindowTable {
    Timeline,
    MessageKeys,
}

impl WindowTable {
    fn name(self) -> &'static str {
        match self {
            Self::Timeline => "timeline",
            Self::MessageKeys => "message_keys",
        }
    }
}

/// Fills `seen` from `message_keys` and returns the timeline `seq` it covers. With no
/// keys yet (a database from before they were kept), nothing is loaded and the window
/// starts where the timeline's does: the first transaction reads those events from the
/// timeline and writes their keys.
fn load_window(conn: &Connection, seen: &mut SeenMessages) -> StoreResult<i64> {
    let keyed: Option<i64> =
        conn.query_row("SELECT MAX(seq) FROM message_keys", [], |row| row.get(0))?;
    let Some(keyed) = keyed else {
        return window_start(conn, WindowTable::Timeline);
    };
    let start = window_start(conn, WindowTable::MessageKeys)?;
    let mut statement =
        conn.prepare("SELECT digest, received_at FROM message_keys WHERE seq > ?1 ORDER BY seq")?;
    let mut rows = statement.query(params![start])?;
    while let Some(row) = rows.next()? {
        let bytes = row.get_ref(0)?.as_blob().ok().unwrap_or_default();
        if let Ok(digest) = <[u8; 16]>::try_from(bytes) {
            seen.insert(u128::from_le_bytes(digest), row.get(1)?);
        }
    }
    seen.evict();
    Ok(keyed)
}

fn record_message_key(
    conn: &Connection,
    seq: i64,
    digest: MessageDigest,
    received_at: i64,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO message_keys (seq, digest, received_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (seq) DO NOTHING",
    )?
    .execute(params![seq, digest.to_le_bytes().as_slice(), received_at])?;
    Ok(())
}

/// Adds the events stored after `covered_seq` by other connections to `seen`, and their
/// keys to `message_keys`. Runs inside the writer's transaction.
fn catch_up(conn: &Connection, seen: &mut SeenMessages, covered_seq: &mut i64) -> StoreResult<()> {
    let mut statement = conn.prepare_cached(
        "SELECT seq, item_type, source_id, message_id, received_at FROM timeline \
         WHERE seq > ?1 ORDER BY seq",
    )?;
    let mut rows = statement.query(params![*covered_seq])?;
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        *covered_seq = seq;
        let event = row.get_ref(1)?.as_str().is_ok_and(|t| t == "event");
        let source = row.get_ref(2)?.as_str_or_null().ok().flatten();
        let message = row.get_ref(3)?.as_str_or_null().ok().flatten();
        if let (true, Some(source), Some(message)) = (event, source, message) {
            let digest = seen::digest(source, message);
            let received_at: i64 = row.get(4)?;
            seen.insert(digest, received_at);
            record_message_key(conn, seq, digest, received_at)?;
        }
    }
    seen.evict();
    Ok(())
}

/// Deletes keys received before the window (in `seq` order, so the old rows come first).
fn prune_keys(conn: &Connection, seen: &SeenMessages) -> StoreResult<()> {
    let cutoff = seen.newest().saturating_sub(seen::WINDOW_MS + 3_600_000);
    conn.prepare_cached(
        "DELETE FROM message_keys WHERE seq < (SELECT seq FROM message_keys \
         WHERE received_at >= ?1 ORDER BY seq LIMIT 1)",
    )?
    .execute(params![cutoff])?;
    Ok(())
}

/// An open transaction on the writer's connection; dropping it rolls back.
pub struct EmbeddedTx<'c> {
    conn: &'c mut Connection,
    seen: &'c mut SeenMessages,
    covered_seq: &'c mut i64,
    index: &'c mut TimelineIndexer,
    /// Timeline rows appended in this transaction.
    appended: usize,
    /// Events appended in this transaction: remembered once it commits.
    stored: Vec<(MessageDigest, i64)>,
    last_seq: Option<i64>,
    /// `covered_seq` before this transaction caught up: restored if it rolls back, as the
    /// keys it wrote for others' events roll back with it.
    covered_before: i64,
    /// No other connection changed the identity graph since this writer's previous
    /// transaction.
    graph_unchanged_by_others: bool,
    /// This transaction wrote identities or profiles: its commit raises the version.
    graph_changed: bool,
    graph_version_at_begin: i64,
    /// The writer's: where this transaction's commit leaves the version.
    graph_version: &'c mut Option<i64>,
    /// The first `seq` of each feed table this transaction can write.
    feed_from: FeedSeqs,
    unflushed: &'c Unflushed,
    open: bool,
}

impl Drop for EmbeddedTx<'_> {
    fn drop(&mut self) {
        if self.open {
            // Nothing to report to: the caller already has the error that stopped it.
            let _ = self.conn.execute_batch("ROLLBACK");
            *self.covered_seq = self.covered_before;
        }
    }
}

fn identity_owner_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(IdentityRow, Option<String>)> {
    Ok((
        IdentityRow {
            kind: row.get(0)?,
            value: row.get(1)?,
            profile_id: row.get(2)?,
            first_seen: row.get(3)?,
            last_seen: row.get(4)?,
            sources: row.get(5)?,
        },
        row.get(6)?,
    ))
}

impl EmbeddedTx<'_> {
    fn owner(&self, identifier: &Identifier) -> StoreResult<Option<(IdentityRow, Option<String>)>> {
        Ok(self
            .conn
            .prepare_cached(sql::IDENTITY_OWNER)?
            .query_row(
                params![identifier.kind.as_str(), identifier.value],
                identity_owner_row,
            )
            .optional()?)
    }

    fn strings_of_tree<T>(
        &self,
        query: &str,
        root: CustomerId,
        map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> StoreResult<Vec<T>> {
        let mut statement = self.conn.prepare_cached(query)?;
        let rows = statement.query_map(params![root.to_string()], map)?;
        Ok(rows.collect::<Result<Vec<T>, _>>()?)
    }
}

impl IngestTx for EmbeddedTx<'_> {
    fn graph_unchanged_by_others(&self) -> bool {
        self.graph_unchanged_by_others
    }

    fn locks_identifiers(&self) -> bool {
        false
    }

    async fn lock_keys(&mut self, _keys: &[i64]) -> StoreResult<()> {
        // One writer holds SQLite's write lock for the whole transaction already.
        Ok(())
    }

    async fn known_message_ids(
        &mut self,
        source: SourceId,
        message_ids: &[&str],
    ) -> StoreResult<HashSet<String>> {
        let source = source.to_string();
        Ok(message_ids
            .iter()
            .filter(|id| self.seen.contains(seen::digest(&source, id)))
            .map(|id| (*id).to_owned())
            .collect())
    }

    async fn identity_owners_many(
        &mut self,
        identifiers: &[&Identifier],
    ) -> StoreResult<Vec<(IdentityRow, Option<String>)>> {
        let mut rows = Vec::new();
        for identifier in identifiers {
            rows.extend(self.owner(identifier)?);
        }
        Ok(rows)
    }

    async fn identity_owner(
        &mut self,
        identifier: &Identifier,
    ) -> StoreResult<Option<(IdentityRow, Option<String>)>> {
        self.owner(identifier)
    }

    async fn root_of(&mut self, fragment: CustomerId) -> StoreResult<CustomerId> {
        let root: Option<Option<String>> = self
            .conn
            .prepare_cached(sql::ROOT_OF)?
            .query_row(params![fragment.to_string()], |row| row.get(0))
            .optional()?;
        match root.flatten() {
            Some(root) => parse_customer_id(&root),
            None => Ok(fragment),
        }
    }

    async fn holdings(&mut self, root: CustomerId) -> StoreResult<Vec<(String, i64)>> {
        self.strings_of_tree(sql::HOLDINGS, root, |row| Ok((row.get(0)?, row.get(1)?)))
    }

    async fn separations(
        &mut self,
        root: CustomerId,
    ) -> StoreResult<Vec<(CustomerId, CustomerId)>> {
        let pairs: Vec<(String, String)> =
            self.strings_of_tree(sql::SEPARATIONS, root, |row| Ok((row.get(0)?, row.get(1)?)))?;
        pairs
            .iter()
            .map(|(a, b)| Ok((parse_customer_id(a)?, parse_customer_id(b)?)))
            .collect()
    }

    async fn insert_profile(
        &mut self,
        id: CustomerId,
        at: Timestamp,
        created_by: Option<&str>,
    ) -> StoreResult<()> {
        self.graph_changed = true;
        self.conn
            .prepare_cached(sql::INSERT_PROFILE)?
            .execute(params![id.to_string(), at.millis(), created_by])?;
        Ok(())
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
        self.graph_changed = true;
        self.conn
            .prepare_cached(sql::MERGE_POINT)?
            .execute(params![
                survivor.to_string(),
                at.millis(),
                absorbed.to_string()
            ])?;
        self.conn
            .prepare_cached(sql::MERGE_REROOT)?
            .execute(params![survivor.to_string(), absorbed.to_string()])?;
        self.conn
            .prepare_cached(sql::MERGE_RECORD)?
            .execute(params![
                merge_id,
                survivor.to_string(),
                absorbed.to_string(),
                cause.kind.as_str(),
                cause.value,
                message_id,
                source.map(|s| s.to_string()),
                at.millis()
            ])?;
        Ok(())
    }

    async fn attach_identity(
        &mut self,
        identifier: &Identifier,
        profile: CustomerId,
        at: Timestamp,
        sources: &str,
    ) -> StoreResult<()> {
        self.graph_changed = true;
        self.conn
            .prepare_cached(sql::ATTACH_IDENTITY)?
            .execute(params![
                identifier.kind.as_str(),
                identifier.value,
                profile.to_string(),
                at.millis(),
                sources
            ])?;
        Ok(())
    }

    async fn touch_identity(
        &mut self,
        identifier: &Identifier,
        at: Timestamp,
        sources: &str,
    ) -> StoreResult<()> {
        self.graph_changed = true;
        self.conn
            .prepare_cached(sql::TOUCH_IDENTITY)?
            .execute(params![
                at.millis(),
                sources,
                identifier.kind.as_str(),
                identifier.value
            ])?;
        Ok(())
    }

    async fn record_conflict(&mut self, id: &str, conflict: &NewConflict<'_>) -> StoreResult<()> {
        self.conn
            .prepare_cached(sql::RECORD_CONFLICT)?
            .execute(params![
                id,
                conflict.at.millis(),
                conflict.reason,
                conflict.detail,
                conflict.identifier.kind.as_str(),
                conflict.identifier.value,
                conflict.profile_id.map(|p| p.to_string()),
                conflict.other_profile_id.map(|p| p.to_string()),
                conflict.message_id,
                conflict.source_id.map(|s| s.to_string())
            ])?;
        Ok(())
    }

    async fn profile(&mut self, id: CustomerId) -> StoreResult<Option<ProfileRow>> {
        Ok(self
            .conn
            .prepare_cached(sql::PROFILE)?
            .query_row(params![id.to_string()], |row| {
                Ok(ProfileRow {
                    id: row.get(0)?,
                    merged_into: row.get(1)?,
                    created_at: row.get(2)?,
                    updated_at: row.get(3)?,
                    traits: row.get(4)?,
                    first_seen: row.get(5)?,
                    last_seen: row.get(6)?,
                    event_count: row.get(7)?,
                    channels: row.get(8)?,
                })
            })
            .optional()?)
    }

    async fn save_profile(&mut self, row: &ProfileRow) -> StoreResult<()> {
        self.conn
            .prepare_cached(sql::SAVE_PROFILE)?
            .execute(params![
                row.updated_at,
                row.traits,
                row.first_seen,
                row.last_seen,
                row.event_count,
                row.channels,
                row.id
            ])?;
        Ok(())
    }

    async fn record_change(
        &mut self,
        kind: ChangeKind,
        profile: CustomerId,
        data: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        self.conn
            .prepare_cached(sql::RECORD_CHANGE)?
            .execute(params![
                at.millis(),
                kind.as_str(),
                profile.to_string(),
                data
            ])?;
        Ok(())
    }

    async fn record_consent(&mut self, id: &str, consent: &NewConsent<'_>) -> StoreResult<()> {
        self.conn
            .prepare_cached(sql::RECORD_CONSENT)?
            .execute(params![
                id,
                consent.profile_id.to_string(),
                consent.channel,
                consent.purpose,
                i64::from(consent.granted),
                consent.at.millis(),
                consent.via,
                consent.source_id.map(|s| s.to_string()),
                consent.actor
            ])?;
        Ok(())
    }

    async fn any_suppression_exists(&mut self) -> StoreResult<bool> {
        Ok(self.conn.prepare_cached(sql::ANY_SUPPRESSION)?.exists([])?)
    }

    async fn any_suppressed(&mut self, digests: &[String]) -> StoreResult<bool> {
        let mut statement = self.conn.prepare_cached(sql::SUPPRESSED)?;
        for digest in digests {
            if statement.exists(params![digest])? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn append_timeline_many(&mut self, items: &[NewTimelineItem<'_>]) -> StoreResult<u64> {
        let mut statement = self.conn.prepare_cached(sql::APPEND_TIMELINE)?;
        // The per-customer index's tail (see crate::collect::writer::timeline_index).
        let mut tail = self.conn.prepare_cached(
            "INSERT INTO timeline_tail (seq, profile_id, at) VALUES (?1, ?2, ?3)",
        )?;
        let mut added = 0;
        for item in items {
            let source = item.source_id.map(|s| s.to_string());
            let profile = item.profile_id.to_string();
            let at = item.at.millis();
            let inserted = statement.execute(params![
                &profile,
                item.item_type.as_str(),
                item.kind,
                item.name,
                item.channel,
                source,
                item.message_id,
                at,
                item.received_at.millis(),
                item.body
            ])?;
            if inserted == 0 {
                continue;
            }
            added += 1;
            self.appended += 1;
            let seq = self.conn.last_insert_rowid();
            tail.execute(params![seq, profile, at])?;
            self.last_seq = Some(seq);
            if let (true, Some(source), Some(message)) =
                (item.item_type == ItemType::Event, &source, item.message_id)
            {
                let digest = seen::digest(source, message);
                record_message_key(self.conn, seq, digest, item.received_at.millis())?;
                self.stored.push((digest, item.received_at.millis()));
            }
        }
        Ok(added)
    }

    async fn insert_profiles(&mut self, rows: &[NewProfile]) -> StoreResult<()> {
        self.graph_changed |= !rows.is_empty();
        let mut statement = self.conn.prepare_cached(sql::INSERT_PROFILE)?;
        for row in rows {
            statement.execute(params![row.id.to_string(), row.at.millis(), row.created_by])?;
        }
        Ok(())
    }

    async fn insert_identities(&mut self, rows: &[IdentityRow]) -> StoreResult<()> {
        self.graph_changed |= !rows.is_empty();
        let mut statement = self.conn.prepare_cached(sql::INSERT_IDENTITY)?;
        for r in rows {
            statement.execute(params![
                r.kind,
                r.value,
                r.profile_id,
                r.first_seen,
                r.last_seen,
                r.sources
            ])?;
        }
        Ok(())
    }

    async fn update_identities(&mut self, rows: &[IdentityRow]) -> StoreResult<()> {
        self.graph_changed |= !rows.is_empty();
        let mut statement = self.conn.prepare_cached(sql::UPDATE_IDENTITY)?;
        for r in rows {
            statement.execute(params![
                r.first_seen,
                r.last_seen,
                r.sources,
                r.kind,
                r.value
            ])?;
        }
        Ok(())
    }

    async fn save_profiles(&mut self, rows: &[ProfileRow]) -> StoreResult<()> {
        for row in rows {
            self.save_profile(row).await?;
        }
        Ok(())
    }

    async fn record_changes(&mut self, rows: &[NewChange]) -> StoreResult<()> {
        let mut statement = self.conn.prepare_cached(sql::RECORD_CHANGE)?;
        for row in rows {
            statement.execute(params![
                row.at.millis(),
                row.kind.as_str(),
                row.profile.to_string(),
                row.data
            ])?;
        }
        Ok(())
    }

    async fn holdings_many(
        &mut self,
        roots: &[CustomerId],
    ) -> StoreResult<Vec<(CustomerId, String, i64)>> {
        let mut found = Vec::new();
        for root in roots {
            for (kind, first_seen) in self.holdings(*root).await? {
                found.push((*root, kind, first_seen));
            }
        }
        Ok(found)
    }

    async fn profiles_many(&mut self, ids: &[CustomerId]) -> StoreResult<Vec<ProfileRow>> {
        let mut rows = Vec::new();
        for id in ids {
            rows.extend(self.profile(*id).await?);
        }
        Ok(rows)
    }

    async fn graph_version(&mut self) -> StoreResult<Option<i64>> {
        Ok(None)
    }

    async fn commit(mut self) -> StoreResult<Option<crate::tx::VersionedCommit>> {
        let graph_version = if self.graph_changed {
            self.conn
                .prepare_cached(RAISE_GRAPH_VERSION)?
                .query_row([], |row| row.get(0))?
        } else {
            self.graph_version_at_begin
        };
        // Registered first: a reader that sees these rows finds them held back.
        let ticket = self.unflushed.commit_starts(self.feed_from);
        if let Err(error) = self.conn.execute_batch("COMMIT") {
            self.unflushed.commit_failed(ticket);
            return Err(error.into());
        }
        self.unflushed.committed(ticket);
        self.open = false;
        // Holding the write lock all along, this is the version as this commit left it.
        *self.graph_version = Some(graph_version);
        self.index.appended(self.appended);
        for (digest, received_at) in self.stored.drain(..) {
            self.seen.insert(digest, received_at);
        }
        if let Some(seq) = self.last_seq {
            *self.covered_seq = (*self.covered_seq).max(seq);
        }
        self.seen.evict();
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_commit_is_held_back_from_the_feed_until_the_flusher_syncs_it() {
        use crate::{ConnectOptions, DatabaseUrl, Store};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hilo.db");
        let store = Store::connect(&ConnectOptions::new(DatabaseUrl::Sqlite(path.clone()), 2))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let unflushed = Arc::new(Unflushed::default());
        let mut writer = EmbeddedWriter::open(&path, unflushed.clone()).unwrap();
        let flusher = writer.flusher();

        let mut tx = writer.begin().unwrap();
        tx.record_changes(&[NewChange {
            kind: ChangeKind::ProfileCreated,
            profile: CustomerId::generate(),
            data: "{}".into(),
            at: Timestamp::from_millis(1),
        }])
        .await
        .unwrap();
        tx.commit().await.unwrap();

        // Committed, so the pool reads it, but not on disk yet: held back.
        let rows = store.changes_since(0, 10).await.unwrap();
        assert_eq!(rows.len(), 1);
        let floor = unflushed.floor().expect("held back until flushed");
        assert!(floor.changes <= rows[0].seq, "{floor:?} {}", rows[0].seq);

        flusher.flush().unwrap();
        assert_eq!(unflushed.floor(), None, "on disk");

        // A transaction that rolls back holds nothing.
        drop(writer.begin().unwrap());
        assert_eq!(unflushed.floor(), None);
    }

    #[tokio::test]
    async fn the_writer_hears_of_graph_changes_only_and_of_every_one() {
        use crate::{ConnectOptions, DatabaseUrl, Store};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hilo.db");
        let store = Store::connect(&ConnectOptions::new(DatabaseUrl::Sqlite(path.clone()), 2))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let Store::Sqlite(pool) = &store else {
            unreachable!()
        };
        let mut writer = EmbeddedWriter::open(&path, Arc::new(Unflushed::default())).unwrap();
        let unchanged = |writer: &mut EmbeddedWriter| {
            let tx = writer.begin().unwrap();
            let unchanged = tx.graph_unchanged_by_others();
            drop(tx);
            unchanged
        };
        let version = || async {
            sqlx::query_scalar::<_, i64>("SELECT version FROM graph_version")
                .fetch_one(pool)
                .await
                .unwrap()
        };
        let pool_writes = |statement: &'static str| async move {
            sqlx::query(statement).execute(pool).await.unwrap();
        };

        assert!(!unchanged(&mut writer), "a new writer knows nothing yet");
        let profile = CustomerId::generate();
        let mut tx = writer.begin().unwrap();
        tx.insert_profile(profile, Timestamp::from_millis(1), None)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(version().await, 1, "the writer's commit raised it once");
        assert!(unchanged(&mut writer), "its own change is no one else's");

        // Commits of other parts beside the writer leave what it knows true.
        pool_writes("UPDATE profiles SET traits = '{\"plan\":\"pro\"}'").await;
        pool_writes("INSERT INTO changes (at, kind, profile_id, data) SELECT 2, 'profile.traits', id, '{}' FROM profiles").await;
        assert!(unchanged(&mut writer));
        let mut tx = writer.begin().unwrap();
        tx.record_changes(&[]).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(version().await, 1, "a commit that leaves the graph alone");

        // Every change to the graph by another connection is heard of.
        for change in [
            "INSERT INTO identities (kind, value, profile_id, first_seen, last_seen) \
             SELECT 'email', 'a@example.com', id, 1, 1 FROM profiles",
            "UPDATE identities SET sources = '[\"s\"]'",
            "DELETE FROM identities",
            "UPDATE profiles SET root_id = id",
        ] {
            pool_writes(change).await;
            assert!(!unchanged(&mut writer), "{change}");
            let tx = writer.begin().unwrap();
            tx.commit().await.unwrap();
            assert!(unchanged(&mut writer), "{change}: known again once seen");
        }
        assert_eq!(version().await, 5);
    }

    #[test]
    fn pruning_keeps_every_key_inside_the_window() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE message_keys (seq INTEGER PRIMARY KEY, digest BLOB NOT NULL, \
             received_at INTEGER NOT NULL)",
        )
        .unwrap();
        let now = 100 * seen::WINDOW_MS;
        let old = now - seen::WINDOW_MS - 3_600_000 - 1;
        let mut seen = SeenMessages::default();
        for (seq, at) in [(1, old - 5), (2, old), (3, now - 10), (4, old), (5, now)] {
            let digest = seen::digest("s", &seq.to_string());
            record_message_key(&conn, seq, digest, at).unwrap();
            seen.insert(digest, at);
        }
        prune_keys(&conn, &seen).unwrap();
        let left: Vec<i64> = conn
            .prepare("SELECT seq FROM message_keys ORDER BY seq")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        // Old keys before the first recent one go; from it on, all stay (receipt times
        // are only nearly in order).
        assert_eq!(left, [3, 4, 5]);

        let mut reloaded = SeenMessages::default();
        let covered = load_window(&conn, &mut reloaded).unwrap_or_default();
        assert_eq!(covered, 5);
        assert!(reloaded.contains(seen::digest("s", "5")));
        assert!(reloaded.contains(seen::digest("s", "3")));
    }
}

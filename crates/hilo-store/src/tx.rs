//! Transactions on either engine, for use cases that make several changes at once.

use sqlx::{Postgres, Sqlite, Transaction};

use crate::write_turn::{self, WriteTurn};
use crate::{Store, StoreResult};

/// An open transaction. Dropping it without [`Tx::commit`] rolls everything back.
pub enum Tx {
    /// With this process's turn at the write lock; none for a read-only transaction.
    Sqlite(Transaction<'static, Sqlite>, Option<WriteTurn>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs the same expression against the transaction's connection, compiled per engine.
macro_rules! on_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            $crate::tx::Tx::Sqlite(transaction, _) => {
                let $conn: &mut sqlx::SqliteConnection = &mut *transaction;
                $body
            }
            $crate::tx::Tx::Postgres(transaction) => {
                let $conn: &mut sqlx::PgConnection = &mut *transaction;
                $body
            }
        }
    };
}
pub(crate) use on_tx;

impl Store {
    pub async fn begin(&self) -> StoreResult<Tx> {
        Ok(match self {
            // IMMEDIATE: take the write lock up front, so a transaction that reads and then
            // writes never fails to upgrade when another writer got in between.
            // The turn comes first, so no connection is held while waiting for it.
            Self::Sqlite(pool) => {
                let turn = write_turn::take(pool).await?;
                Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?, Some(turn))
            }
            Self::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// A transaction whose statements take arrays of parameters (an order's lines, its
    /// levels): on PostgreSQL each is planned once per connection, as its generic plan.
    /// Left to choose, PostgreSQL plans such statements anew on every run, because a
    /// plan made for the array at hand always looks cheaper than the generic one (which
    /// assumes longer arrays); planning them cost about a fifth of an order's time.
    pub async fn begin_planned_once(&self) -> StoreResult<Tx> {
        match self {
            Self::Sqlite(_) => self.begin().await,
            // One round trip: BEGIN is sent as a simple query, which may hold two.
            Self::Postgres(pool) => Ok(Tx::Postgres(
                pool.begin_with("BEGIN; SET LOCAL plan_cache_mode = force_generic_plan")
                    .await?,
            )),
        }
    }

    /// On SQLite, this process's next turn at the write lock, for a writer outside the
    /// pool; transactions from [`Store::begin`] take theirs themselves.
    pub async fn write_turn(&self) -> Option<WriteTurn> {
        match self {
            Self::Sqlite(pool) => Some(write_turn::wait(pool).await),
            Self::Postgres(_) => None,
        }
    }
}

/// What a commit on PostgreSQL did to the graph version (migrations 0009 and 0010).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionedCommit {
    /// The version just before this commit. When it is the one a writer read as it
    /// started, no one else changed the graph in between.
    pub previous: i64,
    /// The version once this commit is in: one more than `previous` when this
    /// transaction changed the graph, `previous` otherwise.
    pub current: i64,
}

/// Raises the graph version when the transaction changed the graph (migration 0010's
/// triggers set the mark), so other writes never wait on a counter's row. The version
/// is the sum of the counters (migration 0030); each connection raises its own, so
/// commits that changed the graph on different connections do not take turns. The plain
/// read sees the counters as they were before this statement.
const COMMIT_GRAPH_VERSION: &str = "WITH raised AS (UPDATE graph_version \
    SET version = version + 1 WHERE id = pg_backend_pid() % 16 + 1 \
    AND current_setting('hilo.graph_changed', true) = 'on' RETURNING version) \
    SELECT EXISTS (SELECT 1 FROM raised), \
    (SELECT sum(version)::bigint FROM graph_version)";

/// The graph version as last committed: the sum of its counters.
const GRAPH_VERSION: &str = "SELECT sum(version)::bigint FROM graph_version";

impl Tx {
    pub async fn commit(self) -> StoreResult<()> {
        self.commit_versioned().await.map(|_| ())
    }

    /// Commits a transaction that never writes the identity graph (identities, or the
    /// merges of profiles), such as an order's: on PostgreSQL it skips the statement
    /// that raises the graph version, a round trip every such commit would pay for
    /// nothing. Debug builds check the claim.
    pub async fn commit_outside_graph(self) -> StoreResult<()> {
        match self {
            Self::Sqlite(..) => self.commit().await,
            #[cfg(debug_assertions)]
            Self::Postgres(mut tx) => {
                let marked: Option<String> =
                    sqlx::query_scalar("SELECT current_setting('hilo.graph_changed', true)")
                        .fetch_one(&mut *tx)
                        .await?;
                debug_assert_ne!(marked.as_deref(), Some("on"), "the graph changed");
                Ok(tx.commit().await?)
            }
            #[cfg(not(debug_assertions))]
            Self::Postgres(tx) => Ok(tx.commit().await?),
        }
    }

    /// Commits; on PostgreSQL, raising the graph version if this transaction changed
    /// the identity graph, and saying what the version was and is.
    pub async fn commit_versioned(self) -> StoreResult<Option<VersionedCommit>> {
        match self {
            // The turn is given back once the commit is on disk.
            Self::Sqlite(tx, _turn) => {
                tx.commit().await?;
                Ok(None)
            }
            Self::Postgres(mut tx) => {
                let (raised, before): (bool, i64) = sqlx::query_as(COMMIT_GRAPH_VERSION)
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                // A change committed by another writer after this statement began is
                // not in `before`; the next read of the version counts it, so whoever
                // kept `current` sees the difference then.
                Ok(Some(VersionedCommit {
                    previous: before,
                    current: before + i64::from(raised),
                }))
            }
        }
    }

    /// On PostgreSQL, the graph version as last committed.
    pub async fn graph_version(&mut self) -> StoreResult<Option<i64>> {
        match self {
            Self::Sqlite(..) => Ok(None),
            Self::Postgres(tx) => Ok(Some(
                sqlx::query_scalar(GRAPH_VERSION)
                    .fetch_one(&mut **tx)
                    .await?,
            )),
        }
    }
}

//! Reading the change feed as a consumer that acts in the same transaction as it saves
//! its position (migration 0012), so a crash neither loses nor repeats a change.

use hilo_domain::customers::changes::ChangeKind;
use hilo_domain::{CustomerId, Timestamp};
use serde_json::Value;

use crate::customers::parse_customer_id;
use crate::tx::{Tx, on_tx};
use crate::{StoreResult, corrupt, on_pool};

/// Where a consumer stands: the last change it acted on. On PostgreSQL changes are read
/// in the order of their transactions (`xid`) and then `seq`; on SQLite, where commits
/// follow `seq`, `xid` stays 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangesPosition {
    pub xid: i64,
    pub seq: i64,
}

/// A profile change, as the feed holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRecord {
    pub seq: i64,
    pub xid: i64,
    pub at: Timestamp,
    /// `None` for a kind this version does not know (a newer node wrote it): consumers
    /// pass over it.
    pub kind: Option<ChangeKind>,
    pub customer: CustomerId,
    pub data: Value,
}

#[derive(sqlx::FromRow)]
struct ChangeRow {
    seq: i64,
    xid: i64,
    at: i64,
    kind: String,
    profile_id: String,
    data: String,
}

impl TryFrom<ChangeRow> for ChangeRecord {
    type Error = crate::StoreError;

    fn try_from(row: ChangeRow) -> Result<Self, Self::Error> {
        Ok(Self {
            seq: row.seq,
            xid: row.xid,
            at: Timestamp::from_millis(row.at),
            kind: row.kind.parse().ok(),
            customer: parse_customer_id(&row.profile_id)?,
            data: serde_json::from_str(&row.data).map_err(|e| corrupt("change data", e))?,
        })
    }
}

impl crate::Store {
    /// Changes after `seq`, in `seq` order (`xid` left 0): for readers that keep their
    /// own position and read only what is on disk.
    pub async fn changes_since(&self, seq: i64, limit: u32) -> StoreResult<Vec<ChangeRecord>> {
        const SQL: &str = "SELECT seq, CAST(0 AS BIGINT) AS xid, at, kind, profile_id, data FROM changes \
            WHERE seq > $1 ORDER BY seq LIMIT $2";
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, ChangeRow>(SQL)
            .bind(seq)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(ChangeRecord::try_from).collect()
    }

    /// Whether `consumer` has changes to read, asked without any lock: consumers look
    /// before they take the write lock (SQLite) or the position's row (PostgreSQL).
    /// A consumer never seen yet has.
    pub async fn changes_waiting(&self, consumer: &str) -> StoreResult<bool> {
        const SQLITE: &str = "SELECT COALESCE((SELECT EXISTS (SELECT 1 FROM changes c \
            WHERE c.seq > f.changes_seq) FROM feed_cursors f WHERE f.consumer = $1), 1)";
        // The first change after the position, by the index's order: as an EXISTS the
        // planner guessed a third of the table matches and scanned it from the start,
        // two seconds at two million changes for a consumer that is up to date.
        const POSTGRES: &str = "SELECT COALESCE((SELECT (SELECT c.seq FROM changes c \
            WHERE (c.xid, c.seq) > (CAST(CAST(f.changes_xid AS TEXT) AS xid8), f.changes_seq) \
            ORDER BY c.xid, c.seq LIMIT 1) IS NOT NULL \
            FROM feed_cursors f WHERE f.consumer = $1), true)";
        Ok(match self {
            Self::Sqlite(pool) => {
                sqlx::query_scalar::<_, bool>(SQLITE)
                    .bind(consumer)
                    .fetch_one(pool)
                    .await?
            }
            Self::Postgres(pool) => {
                sqlx::query_scalar::<_, bool>(POSTGRES)
                    .bind(consumer)
                    .fetch_one(pool)
                    .await?
            }
        })
    }
}

/// A consumer's read of the feed after its position (SQLite, PostgreSQL): `$1`, `$2`
/// the position (SQLite: the seq alone), then the limit. Public for the tests that
/// check each engine reads it in index order, without sorting.
///
/// The order names the table's columns: a bare `xid` would be the output's text cast,
/// which no index holds, and the whole feed after the position was sorted on every
/// read (0.4 s a batch with a million changes behind).
pub const CHANGES_AFTER: (&str, &str) = (
    "SELECT seq, 0 AS xid, at, kind, profile_id, data FROM changes \
     WHERE seq > $1 ORDER BY seq LIMIT $2",
    "SELECT seq, CAST(CAST(xid AS TEXT) AS BIGINT) AS xid, at, \
     kind, profile_id, data FROM changes \
     WHERE (xid, seq) > (CAST(CAST($1 AS BIGINT) AS TEXT)::xid8, $2) \
     AND xid < pg_snapshot_xmin(pg_current_snapshot()) \
     ORDER BY changes.xid, changes.seq LIMIT $3",
);

impl Tx {
    /// A consumer's position, locked until this transaction ends, so consumers of the
    /// same name on several nodes take turns instead of acting twice. (SQLite: the
    /// transaction's write lock does the same.)
    pub async fn lock_changes_cursor(
        &mut self,
        consumer: &str,
        now: Timestamp,
    ) -> StoreResult<ChangesPosition> {
        const MAKE: &str = "INSERT INTO feed_cursors (consumer, changes_seq, timeline_seq, \
            changes_xid, updated_at) VALUES ($1, 0, 0, 0, $2) ON CONFLICT (consumer) DO NOTHING";
        const SQLITE: &str =
            "SELECT changes_xid, changes_seq FROM feed_cursors WHERE consumer = $1";
        const POSTGRES: &str =
            "SELECT changes_xid, changes_seq FROM feed_cursors WHERE consumer = $1 FOR UPDATE";
        on_tx!(self, |conn| sqlx::query(MAKE)
            .bind(consumer)
            .bind(now.millis())
            .execute(conn)
            .await?
            .rows_affected());
        let (xid, seq) = match self {
            Self::Sqlite(tx, _) => {
                sqlx::query_as::<_, (i64, i64)>(SQLITE)
                    .bind(consumer)
                    .fetch_one(&mut **tx)
                    .await?
            }
            Self::Postgres(tx) => {
                sqlx::query_as::<_, (i64, i64)>(POSTGRES)
                    .bind(consumer)
                    .fetch_one(&mut **tx)
                    .await?
            }
        };
        Ok(ChangesPosition { xid, seq })
    }

    /// Up to `limit` changes after `after`. On PostgreSQL only changes of transactions
    /// older than every transaction still running are returned: any change that could
    /// still commit is ordered after them.
    pub async fn changes_after(
        &mut self,
        after: ChangesPosition,
        limit: u32,
    ) -> StoreResult<Vec<ChangeRecord>> {
        let (sqlite, postgres) = CHANGES_AFTER;
        let rows = match self {
            Self::Sqlite(tx, _) => {
                sqlx::query_as::<_, ChangeRow>(sqlite)
                    .bind(after.seq)
                    .bind(i64::from(limit))
                    .fetch_all(&mut **tx)
                    .await?
            }
            Self::Postgres(tx) => {
                sqlx::query_as::<_, ChangeRow>(postgres)
                    .bind(after.xid)
                    .bind(after.seq)
                    .bind(i64::from(limit))
                    .fetch_all(&mut **tx)
                    .await?
            }
        };
        rows.into_iter().map(ChangeRecord::try_from).collect()
    }

    /// Whether any change lies after `after`. Asked after a read that returned fewer
    /// than it could, it means changes are held back: behind a transaction still
    /// running (PostgreSQL) or not yet on disk (SQLite's ingestion writer). Asked by
    /// itself rather than together with the read, a change freed in between counts as
    /// held back too, and is read next time.
    pub async fn changes_after_exist(&mut self, after: ChangesPosition) -> StoreResult<bool> {
        const SQLITE: &str = "SELECT EXISTS (SELECT 1 FROM changes WHERE seq > $1)";
        const POSTGRES: &str = "SELECT (SELECT seq FROM changes \
            WHERE (xid, seq) > (CAST(CAST($1 AS BIGINT) AS TEXT)::xid8, $2) \
            ORDER BY xid, seq LIMIT 1) IS NOT NULL";
        match self {
            Self::Sqlite(tx, _) => Ok(sqlx::query_scalar::<_, bool>(SQLITE)
                .bind(after.seq)
                .fetch_one(&mut **tx)
                .await?),
            Self::Postgres(tx) => Ok(sqlx::query_scalar::<_, bool>(POSTGRES)
                .bind(after.xid)
                .bind(after.seq)
                .fetch_one(&mut **tx)
                .await?),
        }
    }

    /// The position of the last change a consumer could read now (PostgreSQL: of a
    /// transaction older than every one running), for a consumer with nothing to do
    /// that skips ahead.
    pub async fn last_change_position(&mut self) -> StoreResult<Option<ChangesPosition>> {
        const SQLITE: &str = "SELECT 0, MAX(seq) FROM changes";
        const POSTGRES: &str = "SELECT CAST(CAST(xid AS TEXT) AS BIGINT), seq FROM changes \
            WHERE xid < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY xid DESC, seq DESC LIMIT 1";
        let row: Option<(i64, Option<i64>)> = match self {
            Self::Sqlite(tx, _) => sqlx::query_as(SQLITE).fetch_optional(&mut **tx).await?,
            Self::Postgres(tx) => sqlx::query_as::<_, (i64, i64)>(POSTGRES)
                .fetch_optional(&mut **tx)
                .await?
                .map(|(xid, seq)| (xid, Some(seq))),
        };
        Ok(row.and_then(|(xid, seq)| Some(ChangesPosition { xid, seq: seq? })))
    }

    /// Saves a consumer's position; commit with what it did.
    pub async fn save_changes_cursor(
        &mut self,
        consumer: &str,
        position: ChangesPosition,
        now: Timestamp,
    ) -> StoreResult<()> {
        const SQL: &str = "UPDATE feed_cursors SET changes_xid = $1, changes_seq = $2, \
            updated_at = $3 WHERE consumer = $4";
        on_tx!(self, |conn| sqlx::query(SQL)
            .bind(position.xid)
            .bind(position.seq)
            .bind(now.millis())
            .bind(consumer)
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }
}

//! The per-customer timeline index on SQLite, built behind the ingestion writer.
//!
//! Every timeline row is appended to `timeline_tail` by a trigger (migration 0008): an
//! append in `seq` order, which costs a page per many rows. Indexing each row by customer
//! as it arrives would cost a random page per row instead, since customers arrive in no
//! order. The writer moves the tail into `timeline_by_customer` in rounds: a round reads
//! the tail as it is, sorts it by customer and moves a slice of it per transaction, so
//! each leaf of the index is written about once per round however many of the round's
//! rows it receives; then it deletes what it moved from the tail. Each step is small
//! (reading, moving or deleting a few thousand rows), taken between ingestion groups, so
//! none holds the writer for long.
//!
//! Readers use the union of both tables, so a row is found from the moment it commits;
//! a row in both while its round runs counts once. A crash mid-round loses nothing: the
//! tail still holds every row the index may lack, and moving is idempotent.

use rusqlite::{Connection, params};

use crate::StoreResult;

/// Tail rows that start a round while ingestion is busy. Larger rounds write each leaf
/// for more rows; the tail is scanned by readers, so it must stay small.
const ROUND_ROWS: usize = 65_536;
/// Tail rows one step of a round moves into the index: bounds how long it holds the
/// writer.
const STEP_ROWS: usize = 2_048;
/// Tail rows one step of a round reads, or deletes once moved: both are cheap, in `seq`
/// order.
const SCAN_ROWS: usize = 16_384;

/// One tail row: `(profile_id, at, seq)`, the index's key.
type TailRow = (String, i64, i64);

/// What a round is doing.
#[derive(Debug)]
enum Phase {
    /// Reading the tail in `seq` order, after this `seq`.
    Reading { after: i64 },
    /// Moving rows into the index in its order; this many are moved.
    Moving { moved: usize },
    /// Deleting moved rows from the tail, up to one bound per step; this many bounds are
    /// done, and the tail gave up this many rows.
    Deleting { bounds_done: usize, deleted: usize },
}

impl Phase {
    fn name(&self) -> &'static str {
        match self {
            Self::Reading { .. } => "reading",
            Self::Moving { .. } => "moving",
            Self::Deleting { .. } => "deleting",
        }
    }
}

/// A round in progress: the tail up to `through`, sorted by customer, moved into the
/// index one small step at a time, so no step holds the writer for long.
#[derive(Debug)]
struct Round {
    through: i64,
    rows: Vec<TailRow>,
    /// `seq` bounds for deleting the tail after moving it, every [`SCAN_ROWS`] rows.
    delete_bounds: Vec<i64>,
    phase: Phase,
}

/// The writer's state of the index: what is waiting and the round under way.
#[derive(Debug, Default)]
pub(crate) struct TimelineIndexer {
    /// Rows in the tail, as far as this writer knows: counted when it opened, plus what it
    /// appended since. Others' rows are found by the next round.
    tail_rows: usize,
    round: Option<Round>,
}

impl TimelineIndexer {
    pub(crate) fn open(conn: &Connection) -> StoreResult<Self> {
        let rows: i64 =
            conn.query_row("SELECT COUNT(*) FROM timeline_tail", [], |row| row.get(0))?;
        Ok(Self {
            tail_rows: usize::try_from(rows).unwrap_or_default(),
            round: None,
        })
    }

    pub(crate) fn appended(&mut self, rows: usize) {
        self.tail_rows += rows;
    }

    /// Another connection committed, perhaps timeline rows (staff entries, an import):
    /// the next idle moment looks at the tail.
    pub(crate) fn others_committed(&mut self) {
        self.tail_rows = self.tail_rows.max(1);
    }

    /// Whether anything waits to be moved.
    pub(crate) fn pending(&self) -> bool {
        self.round.is_some() || self.tail_rows > 0
    }

    /// Whether [`TimelineIndexer::step`] would do anything now. When not `idle`, others
    /// are appending meanwhile (orders): the tail is measured first by its `seq` span,
    /// an upper bound read in two lookups of its key.
    pub(crate) fn due(&mut self, conn: &Connection, idle: bool) -> StoreResult<bool> {
        if self.round.is_some() {
            return Ok(true);
        }
        if idle {
            return Ok(self.tail_rows > 0);
        }
        let span: Option<i64> = conn
            .prepare_cached(
                "SELECT (SELECT MAX(seq) FROM timeline_tail) - (SELECT MIN(seq) FROM timeline_tail) + 1",
            )?
            .query_row([], |row| row.get(0))?;
        self.tail_rows = usize::try_from(span.unwrap_or(0)).unwrap_or_default();
        Ok(self.tail_rows >= ROUND_ROWS)
    }

    /// Takes the next step of the round if one is under way or due: due when the tail is
    /// large, or, when `idle`, as soon as it holds anything. Each step is one
    /// transaction at most.
    pub(crate) fn step(&mut self, conn: &Connection, idle: bool) -> StoreResult<()> {
        if self.round.is_none() {
            if !(self.tail_rows >= ROUND_ROWS || idle && self.tail_rows > 0) {
                return Ok(());
            }
            let through: Option<i64> =
                conn.query_row("SELECT MAX(seq) FROM timeline_tail", [], |row| row.get(0))?;
            let Some(through) = through else {
                self.tail_rows = 0;
                return Ok(());
            };
            self.round = Some(Round {
                through,
                rows: Vec::new(),
                delete_bounds: Vec::new(),
                phase: Phase::Reading { after: 0 },
            });
        }
        let Some(round) = self.round.as_mut() else {
            return Ok(());
        };
        let started = std::time::Instant::now();
        let phase = round.phase.name();
        match round.step(conn) {
            Ok(Some(deleted)) => {
                self.tail_rows = self.tail_rows.saturating_sub(deleted);
                self.round = None;
            }
            Ok(None) => {}
            Err(error) => {
                // Start over with a fresh round at the next idle moment (the writer
                // waits a moment before it, so a lasting failure is not retried without
                // pause): moving is idempotent. Forgetting the tail instead left it
                // unindexed, and scanned by every read, until more rows arrived.
                self.round = None;
                self.tail_rows = self.tail_rows.max(1);
                return Err(error);
            }
        }
        tracing::debug!(
            phase,
            elapsed_us = started.elapsed().as_micros() as u64,
            "timeline index step"
        );
        Ok(())
    }
}

impl Round {
    /// One step; when the round is over, how many rows it took from the tail.
    fn step(&mut self, conn: &Connection) -> StoreResult<Option<usize>> {
        match self.phase {
            Phase::Reading { after } => {
                let before = self.rows.len();
                let mut read = conn.prepare_cached(
                    "SELECT profile_id, at, seq FROM timeline_tail WHERE seq > ?1 AND seq <= ?2 \
                     ORDER BY seq LIMIT ?3",
                )?;
                let rows = read
                    .query_map(params![after, self.through, SCAN_ROWS as i64], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                    })?;
                for row in rows {
                    self.rows.push(row?);
                }
                let Some(last) = self.rows.last().map(|row| row.2) else {
                    return Ok(Some(0));
                };
                if self.rows.len() - before == SCAN_ROWS && last < self.through {
                    self.delete_bounds.push(last);
                    self.phase = Phase::Reading { after: last };
                } else {
                    self.delete_bounds.push(self.through);
                    self.rows.sort_unstable();
                    self.phase = Phase::Moving { moved: 0 };
                }
                Ok(None)
            }
            Phase::Moving { moved } => {
                let end = (moved + STEP_ROWS).min(self.rows.len());
                in_transaction(conn, |conn| move_rows(conn, &self.rows[moved..end]))?;
                self.phase = if end == self.rows.len() {
                    Phase::Deleting {
                        bounds_done: 0,
                        deleted: 0,
                    }
                } else {
                    Phase::Moving { moved: end }
                };
                Ok(None)
            }
            Phase::Deleting {
                bounds_done,
                deleted,
            } => {
                let bound = self.delete_bounds[bounds_done];
                let last = bounds_done + 1 == self.delete_bounds.len();
                let rows = &self.rows;
                let deleted = in_transaction(conn, |conn| {
                    let deleted = deleted
                        + conn.execute("DELETE FROM timeline_tail WHERE seq <= ?1", [bound])?;
                    if last && deleted < rows.len() {
                        forget_erased(conn, rows)?;
                    }
                    Ok(deleted)
                })?;
                if last {
                    return Ok(Some(deleted));
                }
                self.phase = Phase::Deleting {
                    bounds_done: bounds_done + 1,
                    deleted,
                };
                Ok(None)
            }
        }
    }
}

fn in_transaction<T>(
    conn: &Connection,
    work: impl FnOnce(&Connection) -> StoreResult<T>,
) -> StoreResult<T> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    match work(conn).and_then(|done| Ok((done, conn.execute_batch("COMMIT")?))) {
        Ok((done, ())) => Ok(done),
        Err(error) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(error)
        }
    }
}

/// Rows erased while the round ran lost their tail rows with them, and the round may
/// have indexed them again: takes those entries out.
fn forget_erased(conn: &Connection, rows: &[TailRow]) -> StoreResult<()> {
    let mut forget = conn.prepare_cached(
        "DELETE FROM timeline_by_customer WHERE profile_id = ?1 AND at = ?2 AND seq = ?3 \
         AND NOT EXISTS (SELECT 1 FROM timeline WHERE seq = ?3)",
    )?;
    for (profile, at, seq) in rows {
        forget.execute(params![profile, at, seq])?;
    }
    Ok(())
}

fn move_rows(conn: &Connection, rows: &[TailRow]) -> StoreResult<()> {
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO timeline_by_customer (profile_id, at, seq) VALUES (?1, ?2, ?3)",
    )?;
    for (profile, at, seq) in rows {
        insert.execute(params![profile, at, seq])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql;

    /// An in-memory database with every SQLite migration applied.
    fn database() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        for migration in [
            include_str!("../../../migrations/sqlite/20261123000001_foundation.sql"),
            include_str!("../../../migrations/sqlite/20261123000002_customers.sql"),
            include_str!("../../../migrations/sqlite/20261123000003_privacy.sql"),
            include_str!("../../../migrations/sqlite/20261123000004_feed.sql"),
            include_str!("../../../migrations/sqlite/20261123000005_profile_roots.sql"),
            include_str!("../../../migrations/sqlite/20261123000006_event_dedup.sql"),
            include_str!("../../../migrations/sqlite/20261123000007_message_keys.sql"),
            include_str!("../../../migrations/sqlite/20261123000008_timeline_by_customer.sql"),
        ] {
            conn.execute_batch(migration).unwrap();
        }
        // Customer "a" has two fragments, "b" one.
        for (id, root) in [("a", "a"), ("a2", "a"), ("b", "b")] {
            conn.execute(
                "INSERT INTO profiles (id, root_id, created_at, updated_at) VALUES (?1, ?2, 0, 0)",
                [id, root],
            )
            .unwrap();
        }
        conn
    }

    fn append(conn: &Connection, indexer: &mut TimelineIndexer, rows: usize) {
        let mut insert = conn
            .prepare(
                "INSERT INTO timeline (profile_id, item_type, kind, channel, at, received_at, body) \
                 VALUES (?1, 'event', 'track', ?2, ?3, 0, '{}')",
            )
            .unwrap();
        let end: i64 = conn
            .query_row(sql::TIMELINE_END, [], |row| row.get(0))
            .unwrap();
        for i in 0..rows {
            let profile = ["a", "a2", "b"][i % 3];
            let channel = ["web", "app", "pos", "kiosk"][i % 4];
            // Times out of order, with ties, as clients send them.
            let at = ((i * 7919) % 1000) as i64;
            insert.execute(params![profile, channel, at]).unwrap();
        }
        conn.execute(sql::SQLITE_APPEND_TAIL, [end]).unwrap();
        indexer.appended(rows);
    }

    /// What the readers' queries give for a customer: its items newest first, paged two
    /// hundred at a time, and its event count.
    fn read(conn: &Connection, root: &str) -> (Vec<i64>, i64) {
        let mut page = conn.prepare(sql::SQLITE_TIMELINE_PAGE).unwrap();
        let (mut at, mut seq) = (i64::MAX, i64::MAX);
        let mut seqs = Vec::new();
        loop {
            let rows: Vec<(i64, i64)> = page
                .query_map(params![root, at, seq, 200], |row| {
                    Ok((row.get(8)?, row.get(0)?))
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let Some(&(last_at, last_seq)) = rows.last() else {
                break;
            };
            seqs.extend(rows.iter().map(|row| row.1));
            (at, seq) = (last_at, last_seq);
        }
        let count: i64 = conn
            .query_row(sql::SQLITE_ACTIVITY, [root], |row| row.get(0))
            .unwrap();
        (seqs, count)
    }

    /// The same, straight from the timeline table.
    fn truth(conn: &Connection, root: &str) -> (Vec<i64>, i64) {
        let seqs: Vec<i64> = conn
            .prepare(
                "SELECT seq FROM timeline WHERE profile_id IN \
                 (SELECT id FROM profiles WHERE root_id = ?1) ORDER BY at DESC, seq DESC",
            )
            .unwrap()
            .query_map([root], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let count = seqs.len() as i64;
        (seqs, count)
    }

    fn assert_reads_right(conn: &Connection) {
        for root in ["a", "b"] {
            assert_eq!(read(conn, root), truth(conn, root), "customer {root}");
        }
    }

    fn count(conn: &Connection, table: &str) -> i64 {
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
            row.get(0)
        })
        .unwrap()
    }

    /// Runs rounds until the tail is empty, then checks every row is indexed once.
    fn index_everything(conn: &Connection, indexer: &mut TimelineIndexer) {
        while indexer.pending() {
            indexer.step(conn, true).unwrap();
        }
        assert_reads_right(conn);
        assert_eq!(count(conn, "timeline_tail"), 0);
        assert_eq!(count(conn, "timeline_by_customer"), count(conn, "timeline"));
    }

    #[test]
    fn rows_others_append_wait_while_they_are_busy_until_the_tail_is_large() {
        let conn = database();
        let mut indexer = TimelineIndexer::open(&conn).unwrap();
        // Another connection (the order writer) appends: this writer does not count it.
        let mut elsewhere = TimelineIndexer::default();
        append(&conn, &mut elsewhere, 100);
        assert!(!indexer.due(&conn, false).unwrap(), "a small tail waits");
        append(&conn, &mut elsewhere, ROUND_ROWS);
        assert!(indexer.due(&conn, false).unwrap(), "a large one does not");
        indexer.step(&conn, false).unwrap();
        assert!(indexer.due(&conn, false).unwrap(), "the round goes on");
        index_everything(&conn, &mut indexer);
        assert!(!indexer.due(&conn, false).unwrap() && !indexer.due(&conn, true).unwrap());
    }

    #[test]
    fn readers_see_every_row_before_during_and_after_a_round() {
        let conn = database();
        let mut indexer = TimelineIndexer::open(&conn).unwrap();
        append(&conn, &mut indexer, 3 * STEP_ROWS + 17);
        assert_reads_right(&conn);
        // Busy and the tail still small: nothing moves yet.
        indexer.step(&conn, false).unwrap();
        assert_eq!(count(&conn, "timeline_by_customer"), 0);

        let mut steps = 0;
        indexer.step(&conn, true).unwrap();
        while indexer.round.is_some() {
            steps += 1;
            assert_reads_right(&conn);
            // Rows arriving mid-round wait for the next one.
            append(&conn, &mut indexer, 5);
            indexer.step(&conn, false).unwrap();
        }
        // Read at once (fewer than SCAN_ROWS), moved STEP_ROWS at a time, deleted at once.
        assert_eq!(steps, 4 + 1, "the steps after the first read");
        assert_reads_right(&conn);
        assert_eq!(
            count(&conn, "timeline_tail"),
            5 * steps,
            "only the rows that came mid-round"
        );
        assert!(indexer.pending());

        index_everything(&conn, &mut indexer);
    }

    #[test]
    fn rows_erased_mid_round_leave_no_entry_behind() {
        let conn = database();
        let mut indexer = TimelineIndexer::open(&conn).unwrap();
        append(&conn, &mut indexer, 2 * STEP_ROWS + 1);
        indexer.step(&conn, true).unwrap();
        assert!(indexer.round.is_some());
        // Erase customer "b": some of its rows are already moved, others not yet.
        conn.execute(
            "DELETE FROM timeline WHERE seq IN (SELECT seq FROM timeline_by_customer \
             WHERE profile_id = 'b' UNION SELECT seq FROM timeline_tail WHERE profile_id = 'b')",
            [],
        )
        .unwrap();
        index_everything(&conn, &mut indexer);
        assert_eq!(read(&conn, "b"), (vec![], 0));
        let left: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM timeline_by_customer WHERE profile_id = 'b'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(left, 0);
    }

    #[test]
    fn a_round_cut_short_is_finished_by_the_next_writer() {
        let conn = database();
        let mut indexer = TimelineIndexer::open(&conn).unwrap();
        // Large enough to be read and deleted in several steps.
        append(&conn, &mut indexer, 2 * SCAN_ROWS + 5);
        indexer.step(&conn, true).unwrap();
        let mut deleting = false;
        while !deleting {
            indexer.step(&conn, false).unwrap();
            let round = indexer.round.as_ref().unwrap();
            deleting = matches!(round.phase, Phase::Deleting { bounds_done: 1, .. });
        }
        assert_eq!(indexer.round.as_ref().unwrap().delete_bounds.len(), 3);
        assert!(count(&conn, "timeline_tail") < (2 * SCAN_ROWS) as i64);
        drop(indexer);
        // A new writer, as after a crash: it finds the tail, moves it again, once.
        let mut indexer = TimelineIndexer::open(&conn).unwrap();
        assert!(indexer.pending());
        assert_reads_right(&conn);
        index_everything(&conn, &mut indexer);
    }
}

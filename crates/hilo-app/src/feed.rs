//! The change feed: the seam through which the parts that react to customers
//! (conversations, segments, journeys) learn what changed.
//!
//! Every profile change (created, merged, unmerged, traits, consent) is a row in
//! `changes`, and every event a row in the timeline, each written in the same transaction
//! as what it describes: a crash can lose neither the change nor its feed entry, and a
//! rolled-back change never appears. Consumers read in order after their saved position
//! and save it once they have acted, so after a restart they resume where they stopped.
//! [`Hilo::feed_signal`] wakes waiting consumers after each commit.
//!
//! On SQLite the ingestion writer's commits reach the disk a moment after they are
//! visible (see `hilo_store::collect::Unflushed`); the feed returns rows only once they are on
//! disk, and wakes consumers then, so nothing a consumer acts on can be taken back by a
//! power cut.

use hilo_domain::{CustomerId, Timestamp};
use hilo_store::Tx;
use hilo_store::customers::feed::{ChangeRecord, ChangesPosition};
use serde_json::Value;

use crate::{AppResult, Hilo};

/// A position in the feed: the last change and the last timeline item read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedPosition {
    pub changes_seq: i64,
    pub timeline_seq: i64,
}

/// One thing that happened.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedItem {
    /// A change to a profile: `profile.created`, `profile.merged`, `profile.unmerged`,
    /// `profile.traits`, `profile.consent`.
    Change {
        seq: i64,
        at: Timestamp,
        kind: String,
        customer: CustomerId,
        data: Value,
    },
    /// An item added to a customer's timeline (an event from any channel).
    Timeline {
        seq: i64,
        customer: CustomerId,
        item_type: String,
        kind: String,
        name: Option<String>,
        channel: String,
        at: Timestamp,
    },
}

/// What a read returned and where the next read starts.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedBatch {
    pub items: Vec<FeedItem>,
    pub next: FeedPosition,
}

impl Hilo {
    /// Where a named consumer saved its position (the start, if never).
    pub async fn feed_position(&self, consumer: &str) -> AppResult<FeedPosition> {
        let (changes_seq, timeline_seq) = self.store.feed_cursor(consumer).await?;
        Ok(FeedPosition {
            changes_seq,
            timeline_seq,
        })
    }

    /// Up to `limit` changes and `limit` timeline items after `after`, each in order, all
    /// on disk.
    pub async fn read_feed(&self, after: FeedPosition, limit: u32) -> AppResult<FeedBatch> {
        let changes = self.store.changes_since(after.changes_seq, limit).await?;
        let timeline = self.store.timeline_since(after.timeline_seq, limit).await?;
        // Asked after reading: a commit whose rows were read was registered before it
        // ran, and stays registered until it is on disk.
        let floor = self.unflushed.floor();
        let mut next = after;
        let mut items = Vec::new();
        for change in on_disk(changes, |change| change.seq, floor.map(|f| f.changes)) {
            next.changes_seq = change.seq;
            // A kind this version does not know (a newer node wrote it) is passed over.
            let Some(kind) = change.kind else {
                continue;
            };
            items.push(FeedItem::Change {
                seq: change.seq,
                at: change.at,
                kind: kind.as_str().to_owned(),
                customer: change.customer,
                data: change.data,
            });
        }
        for row in on_disk(timeline, |row| row.seq, floor.map(|f| f.timeline)) {
            next.timeline_seq = row.seq;
            items.push(FeedItem::Timeline {
                seq: row.seq,
                customer: row.customer()?,
                item_type: row.item_type,
                kind: row.kind,
                name: row.name,
                channel: row.channel,
                at: Timestamp::from_millis(row.at),
            });
        }
        Ok(FeedBatch { items, next })
    }

    /// Saves how far a consumer has acted on the feed.
    pub async fn save_feed_position(
        &self,
        consumer: &str,
        position: FeedPosition,
    ) -> AppResult<()> {
        self.store
            .save_feed_cursor(
                consumer,
                position.changes_seq,
                position.timeline_seq,
                self.now(),
            )
            .await?;
        Ok(())
    }

    /// Notified once a commit that added to the feed is on disk. It wakes only tasks
    /// already waiting: a consumer makes its `notified()` future and `enable()`s it
    /// before reading, so a signal between its read and its wait is not lost.
    pub fn feed_signal(&self) -> &tokio::sync::Notify {
        &self.feed_signal
    }
}

/// A batch of profile changes a named consumer holds, with the transaction it acts in.
///
/// The consumer writes what the changes cause (jobs, rows of its own) through
/// [`ChangesClaim::parts`], then [`ChangesClaim::commit`] saves its position in the
/// same transaction: a crash before the commit leaves both undone, so the batch is
/// read again; after it, never. The claim holds the consumer's position locked, so
/// consumers of one name on several nodes take turns. Dropping it gives the batch back.
pub struct ChangesClaim {
    tx: Tx,
    consumer: &'static str,
    changes: Vec<ChangeRecord>,
    next: ChangesPosition,
    held_back: bool,
    now: Timestamp,
}

impl ChangesClaim {
    pub fn changes(&self) -> &[ChangeRecord] {
        &self.changes
    }

    /// Whether changes after this batch wait for an older transaction to end: read
    /// again soon.
    pub fn held_back(&self) -> bool {
        self.held_back
    }

    /// The transaction to act in, and the changes to act on.
    pub fn parts(&mut self) -> (&mut Tx, &[ChangeRecord]) {
        (&mut self.tx, &self.changes)
    }

    /// Moves the position past every change readable now, acting on none: for a
    /// consumer with nobody to act for (no webhook endpoint, say). Commits.
    /// `floor` is asked after the read, as in `read_feed`.
    pub async fn skip_all(mut self, floor: impl FnOnce() -> Option<i64>) -> AppResult<()> {
        if let Some(mut last) = self.tx.last_change_position().await? {
            if let Some(floor) = floor() {
                last.seq = last.seq.min(floor - 1);
            }
            if (last.xid, last.seq) > (self.next.xid, self.next.seq) {
                self.next = last;
            }
        }
        self.commit().await
    }

    /// Saves the consumer's position after this batch and commits what it did.
    pub async fn commit(mut self) -> AppResult<()> {
        self.tx
            .save_changes_cursor(self.consumer, self.next, self.now)
            .await?;
        self.tx.commit().await?;
        Ok(())
    }
}

impl Hilo {
    /// Up to `limit` profile changes that `consumer` has not acted on, each once, in
    /// order, only once on disk. On PostgreSQL with several nodes writing, a change
    /// whose transaction is still running holds back every later one, so none is
    /// skipped when commits finish out of `seq` order.
    pub async fn claim_changes(
        &self,
        consumer: &'static str,
        limit: u32,
    ) -> AppResult<ChangesClaim> {
        let now = self.now();
        // On SQLite the transaction holds the process's turn at the write lock, which
        // the ingestion writer waits for too (`Hilo::write_turn`).
        let mut tx = self.store.begin().await?;
        let position = tx.lock_changes_cursor(consumer, now).await?;
        let mut changes = tx.changes_after(position, limit).await?;
        // Asked after reading, as in `read_feed`.
        if let Some(floor) = self.unflushed.floor() {
            changes.retain(|change| change.seq < floor.changes);
        }
        let next = changes.last().map_or(position, |last| ChangesPosition {
            xid: last.xid,
            seq: last.seq,
        });
        let full = changes.len() >= usize::try_from(limit).unwrap_or(usize::MAX);
        let held_back = !full && tx.changes_after_exist(next).await?;
        Ok(ChangesClaim {
            tx,
            consumer,
            changes,
            next,
            held_back,
            now,
        })
    }

    /// The first change `seq` that may not be on disk yet (SQLite's ingestion writer).
    pub(crate) fn unflushed_changes_floor(&self) -> Option<i64> {
        self.unflushed.floor().map(|floor| floor.changes)
    }

    /// Lets every consumer of the change feed act on what is new: one line per
    /// consumer. Workers call it when the feed signals and on every poll. Returns
    /// whether some change is left to read soon: behind an older transaction still
    /// running (PostgreSQL), or left by a consumer yielding to ingestion.
    pub async fn run_feed_consumers(&self) -> AppResult<bool> {
        let webhooks = self.webhooks().consume_changes().await?;
        let search = self.customers().index_changes().await?;
        Ok(webhooks || search)
    }
}

/// The rows, in `seq` order, before `floor`: from there on they may not be on disk yet.
fn on_disk<T>(
    rows: Vec<T>,
    seq: impl Fn(&T) -> i64,
    floor: Option<i64>,
) -> impl Iterator<Item = T> {
    rows.into_iter()
        .take_while(move |row| floor.is_none_or(|floor| seq(row) < floor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_from_the_floor_on_wait() {
        let seqs = |floor| on_disk(vec![3, 4, 7, 9], |seq| *seq, floor).collect::<Vec<_>>();
        assert_eq!(seqs(None), [3, 4, 7, 9]);
        assert_eq!(seqs(Some(7)), [3, 4]);
        assert_eq!(seqs(Some(8)), [3, 4, 7]);
        assert_eq!(seqs(Some(1)), Vec::<i64>::new());
    }
}

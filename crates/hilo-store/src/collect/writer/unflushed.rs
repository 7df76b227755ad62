//! Commits of the embedded writer that are not on disk yet.
//!
//! The writer commits with `synchronous=NORMAL` and its flusher syncs the log afterwards
//! (see `embedded`): between the two, other connections already read the commit, but a
//! power cut could still take it away. Requests are answered only after the sync; the
//! change feed must wait as well, or a consumer could act on an event (send a message,
//! move a journey) that then never happened, and act again when the client retries it.
//! Readers of the feed keep only rows below [`Unflushed::floor`].
//!
//! A commit is registered before it runs, with the first `seq` it may write in each feed
//! table, so a reader that saw its rows always finds it here; it leaves once a sync that
//! started after it committed has returned.

use std::collections::VecDeque;
use std::sync::Mutex;

/// The first `seq` of each feed table that a commit may have written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedSeqs {
    pub timeline: i64,
    pub changes: i64,
}

impl FeedSeqs {
    fn min(self, other: Self) -> Self {
        Self {
            timeline: self.timeline.min(other.timeline),
            changes: self.changes.min(other.changes),
        }
    }
}

/// A registered commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(u64);

#[derive(Debug)]
struct Pending {
    ticket: Ticket,
    from: FeedSeqs,
    committed: bool,
}

/// The writer's commits not known to be on disk, oldest first.
#[derive(Debug, Default)]
pub struct Unflushed {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    next: u64,
    pending: VecDeque<Pending>,
}

impl Unflushed {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state stays consistent whatever panicked while holding it: every change is
        // a single push, flag or removal.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Before a commit that may write feed rows from `from` on.
    pub fn commit_starts(&self, from: FeedSeqs) -> Ticket {
        let mut state = self.state();
        let ticket = Ticket(state.next);
        state.next += 1;
        state.pending.push_back(Pending {
            ticket,
            from,
            committed: false,
        });
        ticket
    }

    /// The commit returned: the next sync to start covers it.
    pub fn committed(&self, ticket: Ticket) {
        if let Some(pending) = self.state().pending.iter_mut().find(|p| p.ticket == ticket) {
            pending.committed = true;
        }
    }

    /// The commit failed: it wrote nothing.
    pub fn commit_failed(&self, ticket: Ticket) {
        self.state().pending.retain(|p| p.ticket != ticket);
    }

    /// Before a sync: the commits it will cover, to pass to [`Unflushed::flushed`].
    pub fn sync_starts(&self) -> Vec<Ticket> {
        self.state()
            .pending
            .iter()
            .filter(|p| p.committed)
            .map(|p| p.ticket)
            .collect()
    }

    /// The sync that started with `covered` returned.
    pub fn flushed(&self, covered: &[Ticket]) {
        self.state()
            .pending
            .retain(|p| !covered.contains(&p.ticket));
    }

    /// The lowest `seq` of each feed table that may not be on disk, if any may not be:
    /// rows from there on are held back.
    pub fn floor(&self) -> Option<FeedSeqs> {
        self.state()
            .pending
            .iter()
            .map(|p| p.from)
            .reduce(FeedSeqs::min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seqs(timeline: i64, changes: i64) -> FeedSeqs {
        FeedSeqs { timeline, changes }
    }

    #[test]
    fn a_commit_holds_the_floor_until_a_sync_that_started_after_it() {
        let unflushed = Unflushed::default();
        assert_eq!(unflushed.floor(), None);

        let first = unflushed.commit_starts(seqs(10, 4));
        assert_eq!(
            unflushed.floor(),
            Some(seqs(10, 4)),
            "held while it commits"
        );
        // A sync that starts before the commit returns does not cover it.
        let early = unflushed.sync_starts();
        unflushed.committed(first);
        unflushed.flushed(&early);
        assert_eq!(unflushed.floor(), Some(seqs(10, 4)));

        let second = unflushed.commit_starts(seqs(25, 4));
        let sync = unflushed.sync_starts();
        unflushed.committed(second);
        unflushed.flushed(&sync);
        assert_eq!(
            unflushed.floor(),
            Some(seqs(25, 4)),
            "the first is on disk; the second committed after the sync started"
        );

        let sync = unflushed.sync_starts();
        unflushed.flushed(&sync);
        assert_eq!(unflushed.floor(), None);
    }

    #[test]
    fn a_failed_commit_holds_nothing_back() {
        let unflushed = Unflushed::default();
        let kept = unflushed.commit_starts(seqs(3, 9));
        unflushed.committed(kept);
        let failed = unflushed.commit_starts(seqs(1, 2));
        assert_eq!(unflushed.floor(), Some(seqs(1, 2)));
        unflushed.commit_failed(failed);
        assert_eq!(unflushed.floor(), Some(seqs(3, 9)));
    }
}

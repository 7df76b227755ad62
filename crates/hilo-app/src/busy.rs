//! When this node's embedded writers last committed. Work that can wait (feed
//! consumers, moving the timeline tail into its index) takes fewer turns at SQLite's one
//! write lock while they run; each of its commits also makes the writers' connections
//! drop their page caches, since SQLite discards a connection's cache whenever another
//! connection has written.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long after its last commit a writer counts as busy.
const BUSY_FOR: Duration = Duration::from_millis(500);

/// The writers' last commits, in milliseconds after `started` (0: never).
#[derive(Debug)]
pub(crate) struct WritersBusy {
    started: Instant,
    ingestion: AtomicU64,
    orders: AtomicU64,
}

impl Default for WritersBusy {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            ingestion: AtomicU64::new(0),
            orders: AtomicU64::new(0),
        }
    }
}

impl WritersBusy {
    fn now(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    fn within(&self, last: &AtomicU64) -> bool {
        let last = last.load(Ordering::Relaxed);
        last != 0 && self.now().saturating_sub(last) < BUSY_FOR.as_millis() as u64
    }

    pub(crate) fn ingestion_committed(&self) {
        self.ingestion.store(self.now(), Ordering::Relaxed);
    }

    pub(crate) fn orders_committed(&self) {
        self.orders.store(self.now(), Ordering::Relaxed);
    }

    /// Whether either writer committed lately.
    pub(crate) fn any(&self) -> bool {
        self.within(&self.ingestion) || self.within(&self.orders)
    }

    /// Whether the order writer committed lately.
    pub(crate) fn orders(&self) -> bool {
        self.within(&self.orders)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writer_is_busy_for_a_while_after_it_commits() {
        let busy = WritersBusy::default();
        assert!(!busy.any() && !busy.orders(), "nothing committed yet");
        busy.ingestion_committed();
        assert!(busy.any());
        assert!(!busy.orders(), "ingestion is not the order writer");
        busy.orders_committed();
        assert!(busy.orders());
        let long_ago = WritersBusy {
            started: Instant::now() - BUSY_FOR * 4,
            ingestion: AtomicU64::new(1),
            orders: AtomicU64::new(1),
        };
        assert!(!long_ago.any() && !long_ago.orders(), "quiet since");
    }
}

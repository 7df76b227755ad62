//! The events the embedded writer stored recently, as digests of (source, message id),
//! so a retried message is recognised without a unique index over random message ids
//! (which rewrote an index page for almost every event stored).
//!
//! The window is measured in the messages' own receipt times, not the wall clock: the
//! newest receipt seen minus [`WINDOW_MS`]. Segment and RudderStack deduplicate within a
//! window too; seven days covers every retry policy of their SDKs and a day-late replay.

use std::collections::{HashSet, VecDeque};

use sha2::{Digest, Sha256};

/// How far back a retried message is still recognised.
pub const WINDOW_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// A message's identity: 128 bits of SHA-256, so neither chance nor a sender choosing
/// its ids makes two messages collide.
pub type MessageDigest = u128;

pub fn digest(source_id: &str, message_id: &str) -> MessageDigest {
    let mut hasher = Sha256::new();
    hasher.update(source_id.as_bytes());
    hasher.update([0u8]);
    hasher.update(message_id.as_bytes());
    let full = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&full[..16]);
    u128::from_le_bytes(bytes)
}

#[derive(Debug, Default)]
pub struct SeenMessages {
    digests: HashSet<MessageDigest>,
    /// `(received_at, digest)` in the order stored, for eviction.
    by_age: VecDeque<(i64, MessageDigest)>,
    newest: i64,
}

impl SeenMessages {
    pub fn contains(&self, digest: MessageDigest) -> bool {
        self.digests.contains(&digest)
    }

    pub fn insert(&mut self, digest: MessageDigest, received_at: i64) {
        if self.digests.insert(digest) {
            self.by_age.push_back((received_at, digest));
            self.newest = self.newest.max(received_at);
        }
    }

    /// Forgets what was received more than the window before the newest receipt.
    /// Receipt times are nearly in order, so eviction stops at the first recent one.
    pub fn evict(&mut self) {
        let cutoff = self.newest.saturating_sub(WINDOW_MS);
        while let Some(&(received_at, digest)) = self.by_age.front() {
            if received_at >= cutoff {
                break;
            }
            self.by_age.pop_front();
            self.digests.remove(&digest);
        }
    }

    /// The newest receipt time seen.
    pub fn newest(&self) -> i64 {
        self.newest
    }

    pub fn len(&self) -> usize {
        self.digests.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_per_source_and_forgets_after_the_window() {
        let mut seen = SeenMessages::default();
        let a = digest("source-a", "m1");
        assert_ne!(
            a,
            digest("source-b", "m1"),
            "the source is part of the identity"
        );
        assert_ne!(
            digest("ab", "c"),
            digest("a", "bc"),
            "fields cannot run together"
        );
        seen.insert(a, 1_000);
        assert!(seen.contains(a));
        assert!(!seen.contains(digest("source-a", "m2")));

        let b = digest("source-a", "m2");
        seen.insert(b, 1_000 + WINDOW_MS - 1);
        seen.evict();
        assert!(seen.contains(a), "still inside the window");
        let c = digest("source-a", "m3");
        seen.insert(c, 1_000 + WINDOW_MS + 1);
        seen.evict();
        assert!(!seen.contains(a), "older than the window");
        assert!(seen.contains(b) && seen.contains(c));
        assert_eq!(seen.len(), 2);
    }
}

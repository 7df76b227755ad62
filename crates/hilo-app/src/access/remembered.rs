//! Credentials recently checked, by their secret's digest: most requests carry the same
//! few keys, and each would otherwise read the same row to learn who is calling.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries remembered at most; beyond, the older half is forgotten.
const LIMIT: usize = 10_000;

/// What a digest stood for when last read, trusted for `ttl`. A change made on this
/// node clears it at once; one made on another node sharing the database (or by an
/// admin command) is seen within `ttl`.
#[derive(Debug)]
pub(crate) struct Remembered<V> {
    ttl: Duration,
    entries: Mutex<HashMap<String, (V, Instant)>>,
}

impl<V: Clone> Remembered<V> {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn get(&self, digest: &str) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        let (value, at) = entries.get(digest)?;
        (at.elapsed() < self.ttl).then(|| value.clone())
    }

    pub(crate) fn put(&self, digest: String, value: V) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= LIMIT {
                let half = self.ttl / 2;
                entries.retain(|_, (_, at)| at.elapsed() < half);
            }
            entries.insert(digest, (value, Instant::now()));
        }
    }

    pub(crate) fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_trusted_for_its_time_and_forgotten_when_cleared() {
        let remembered = Remembered::new(Duration::from_millis(50));
        remembered.put("a".into(), 1);
        assert_eq!(remembered.get("a"), Some(1));
        assert_eq!(remembered.get("b"), None);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(remembered.get("a"), None, "stale");
        remembered.put("a".into(), 2);
        remembered.clear();
        assert_eq!(remembered.get("a"), None, "cleared");
    }
}

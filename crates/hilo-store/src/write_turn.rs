//! Turns at SQLite's one write lock, handed out in order inside the process.
//!
//! SQLite lets one writer in at a time; a connection that finds the lock taken sleeps
//! in its busy handler (1, 2, 5, … 100 ms) and tries again, so under load writers wake
//! late, in no order, and the lock stands idle between them. Pool transactions wait
//! here instead, first come first served, and reach `BEGIN IMMEDIATE` when the lock is
//! theirs. The ingestion writer, on its own connection, queues here too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use sqlx::SqlitePool;
use tokio::sync::{Mutex as TurnLock, OwnedMutexGuard};

/// The right to write to one database file until dropped.
pub type WriteTurn = OwnedMutexGuard<()>;

/// As long as SQLite's busy timeout: a turn not given by then is the same failure.
const WAIT: Duration = Duration::from_secs(10);

/// One lock per database file, so stores opened twice on one file share it.
fn lock_for(pool: &SqlitePool) -> Arc<TurnLock<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<String, Weak<TurnLock<()>>>>> = OnceLock::new();
    let file = pool
        .connect_options()
        .get_filename()
        .to_string_lossy()
        .into_owned();
    let mut locks = LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(lock) = locks.get(&file).and_then(Weak::upgrade) {
        return lock;
    }
    locks.retain(|_, lock| lock.strong_count() > 0);
    let lock = Arc::new(TurnLock::new(()));
    locks.insert(file, Arc::downgrade(&lock));
    lock
}

/// Waits for this process's turn to write to `pool`'s database, however long.
pub(crate) async fn wait(pool: &SqlitePool) -> WriteTurn {
    lock_for(pool).lock_owned().await
}

/// Waits for this process's turn to write to `pool`'s database, as long as SQLite
/// would wait for its lock.
pub(crate) async fn take(pool: &SqlitePool) -> Result<WriteTurn, sqlx::Error> {
    tokio::time::timeout(WAIT, lock_for(pool).lock_owned())
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)
}

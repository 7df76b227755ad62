//! Inbound messages stored in groups: one transaction, one commit, for the messages that
//! arrived while the last group was being written.
//!
//! Each inbound message is a transaction of a dozen statements and a commit that waits
//! for the disk; SQLite takes one writer at a time, and on PostgreSQL every message from
//! a new customer raises the graph version at commit. Written one by one, a single node
//! stored about 500 webhooks a second. Here a request hands its message to a queue and
//! waits for its answer; a drainer task, started when the queue fills from empty and
//! gone when it empties, stores what waits in one transaction and answers each request
//! after the commit, so nothing is acknowledged before it is on disk. A quiet server
//! stores each message alone, as before, with no added wait.
//!
//! The drainer is spawned, so a provider hanging up mid-request cannot cut a group
//! short.

use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::sync::oneshot;

use super::providers::{Channel, InboundMessage};
use crate::{AppError, AppResult, Hilo};

/// Most messages stored in one transaction: enough to take a burst in a few commits,
/// few enough that the first waits little for the last.
const GROUP_LIMIT: usize = 64;

/// An inbound message waiting to be stored, and whom to tell how it went.
pub(crate) struct Arrival {
    pub channel: Channel,
    pub message: InboundMessage,
    pub answer: oneshot::Sender<AppResult<Option<super::inbound::Received>>>,
}

/// The arrivals of one shard, and whether a drainer is storing them.
#[derive(Default)]
struct Waiting {
    arrivals: VecDeque<Arrival>,
    draining: bool,
}

/// Most shards, each drained by at most one task at a time.
const SHARDS: usize = 8;

/// The queues of arrivals, one per shard. A sender's messages always go to the same
/// shard, so two groups written at once never wait on each other's locks for the
/// same customer, and one sender's messages are stored in the order they came.
#[derive(Default)]
pub(crate) struct Arrivals {
    shards: [Mutex<Waiting>; SHARDS],
}

impl Arrivals {
    fn lock(&self, shard: usize) -> std::sync::MutexGuard<'_, Waiting> {
        self.shards[shard]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues an arrival; true when the caller must start the shard's drainer.
    fn push(&self, shard: usize, arrival: Arrival) -> bool {
        let mut waiting = self.lock(shard);
        waiting.arrivals.push_back(arrival);
        !std::mem::replace(&mut waiting.draining, true)
    }

    /// The shard's next group to store; empty when its drainer must stop (it is
    /// counted out in the same lock, so an arrival pushed after it starts another).
    fn next_group(&self, shard: usize) -> Vec<Arrival> {
        let mut waiting = self.lock(shard);
        if waiting.arrivals.is_empty() {
            waiting.draining = false;
            return Vec::new();
        }
        let take = waiting.arrivals.len().min(GROUP_LIMIT);
        waiting.arrivals.drain(..take).collect()
    }
}

/// Counts a drainer out if it panics, so the next arrival starts another.
struct DrainerOut<'a>(&'a Arrivals, usize);

impl Drop for DrainerOut<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock(self.1).draining = false;
        }
    }
}

impl Hilo {
    /// Stores an inbound message with whatever else arrived meanwhile, and returns once
    /// its transaction committed: what was stored, or `None` for a message stored
    /// before.
    pub(crate) async fn store_arrival(
        &self,
        channel: &Channel,
        message: InboundMessage,
    ) -> AppResult<Option<super::inbound::Received>> {
        let (answer, answered) = oneshot::channel();
        let arrival = Arrival {
            channel: channel.clone(),
            message,
            answer,
        };
        let shard = self.shard_of(&arrival.message);
        if self.arrivals.push(shard, arrival) {
            let hilo = self.clone();
            tokio::spawn(async move {
                let _counted = DrainerOut(&hilo.arrivals, shard);
                loop {
                    let group = hilo.arrivals.next_group(shard);
                    if group.is_empty() {
                        break;
                    }
                    hilo.conversations().store_group(group).await;
                }
            });
        }
        answered
            .await
            .map_err(|_| AppError::Internal("the inbound message's group was lost".into()))?
    }

    /// The shard for a message's sender. SQLite writes one transaction at a time, so
    /// one shard; on PostgreSQL several groups are written at once, each mostly
    /// waiting on the network for its statements, as many as half the pool's
    /// connections (up to eight), so requests and workers keep the other half.
    fn shard_of(&self, message: &InboundMessage) -> usize {
        use std::hash::{Hash, Hasher};
        match self.store {
            hilo_store::Store::Sqlite(_) => 0,
            hilo_store::Store::Postgres(_) => {
                let connections = usize::try_from(self.store.pool_usage().max).unwrap_or(1);
                let shards = (connections / 2).clamp(1, SHARDS);
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                message.customer_address.hash(&mut hasher);
                usize::try_from(hasher.finish() % shards as u64).unwrap_or(0)
            }
        }
    }
}

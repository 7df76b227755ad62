//! Live events for open pages and agents' tools: new messages, status changes,
//! assignments, incoming calls. Each node keeps a broadcast of its subscribers; with
//! several nodes on one PostgreSQL, events travel through `NOTIFY`, so a subscriber on
//! any node hears what happened on every node.
//!
//! Live events are a courtesy to screens that are open: one published after a commit
//! and lost in a crash is found by reading the API again (as a page does when its
//! connection comes back). Inbound messages' events go out with the commit itself on
//! PostgreSQL (`notify_live_in`), as notifications of that transaction.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::Hilo;

/// Events a slow subscriber may fall behind by before it misses some (and is told so).
const BACKLOG: usize = 1_024;

/// One live event: its type (`message.created`, `call.started`, …) and its data.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct LiveEvent {
    #[serde(rename = "type")]
    pub kind: String,
    pub data: Value,
}

/// A node's subscribers.
pub struct LiveBus {
    sender: broadcast::Sender<Arc<LiveEvent>>,
}

impl Default for LiveBus {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(BACKLOG).0,
        }
    }
}

impl Hilo {
    /// Every live event from now on, on this node and (PostgreSQL) every other.
    pub fn subscribe_live(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.live.sender.subscribe()
    }

    /// Sends `event` to every subscriber of every node. Call after the commit that
    /// made it true.
    pub(crate) async fn publish_live(&self, kind: &str, data: Value) {
        let mut batch = self.live_batch(vec![(kind, data)]);
        if !batch.across.is_empty() {
            match self.store.notify_live(&batch.payloads()).await {
                Ok(true) => batch.carried(),
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(%error, kind, "live event not sent to other nodes");
                }
            }
        }
        self.deliver_live(batch);
    }

    /// Events serialised for sending; those too large for a notification stay on this
    /// node.
    pub(crate) fn live_batch(&self, events: Vec<(&str, Value)>) -> LiveBatch {
        let mut batch = LiveBatch::default();
        for (kind, data) in events {
            let event = LiveEvent {
                kind: kind.to_owned(),
                data,
            };
            match serde_json::to_string(&event) {
                Ok(payload) if payload.len() <= hilo_store::live::MAX_PAYLOAD => {
                    batch.across.push((payload, event));
                }
                Ok(_) => {
                    if self.store.engine() == hilo_store::Engine::Postgres {
                        tracing::warn!(
                            kind,
                            "live event too large for other nodes; this node's only"
                        );
                    }
                    batch.here.push(event);
                }
                Err(error) => tracing::warn!(%error, "live event not written"),
            }
        }
        batch
    }

    /// On PostgreSQL, sends the batch's notifications with `tx`: they reach every node
    /// when it commits, and never if it rolls back.
    pub(crate) async fn notify_live_in(
        &self,
        tx: &mut hilo_store::Tx,
        batch: &mut LiveBatch,
    ) -> crate::AppResult<()> {
        if !batch.across.is_empty() && tx.notify_live(&batch.payloads()).await? {
            batch.carried();
        }
        Ok(())
    }

    /// Hands this node's subscribers what no notification carries: everything on
    /// SQLite. Call after the commit.
    pub(crate) fn deliver_live(&self, batch: LiveBatch) {
        for event in batch.across.into_iter().map(|(_, e)| e).chain(batch.here) {
            let _ = self.live.sender.send(Arc::new(event));
        }
    }
}

/// Live events ready to send: with their notification payload, or for this node only.
#[derive(Default)]
pub(crate) struct LiveBatch {
    across: Vec<(String, LiveEvent)>,
    here: Vec<LiveEvent>,
}

impl LiveBatch {
    fn payloads(&self) -> Vec<&str> {
        self.across
            .iter()
            .map(|(payload, _)| payload.as_str())
            .collect()
    }

    /// The notifications carry these to every node, this one too: nothing to deliver
    /// here.
    fn carried(&mut self) {
        self.across.clear();
    }
}

/// On PostgreSQL, hears every node's events and hands them to this node's subscribers.
/// Listens before it returns, so nothing published after start is missed; nothing to
/// do on SQLite.
pub async fn spawn_listener(
    hilo: Hilo,
    mut stop: watch::Receiver<bool>,
) -> crate::AppResult<Option<JoinHandle<()>>> {
    let Some(mut listener) = hilo.store.listen_live().await? else {
        return Ok(None);
    };
    Ok(Some(tokio::spawn(async move {
        loop {
            let payload = tokio::select! {
                received = listener.recv() => received,
                _ = stop.wait_for(|stopped| *stopped) => return,
            };
            match payload {
                Ok(payload) => match serde_json::from_str::<LiveEvent>(&payload) {
                    Ok(event) => {
                        let _ = hilo.live.sender.send(Arc::new(event));
                    }
                    Err(error) => tracing::warn!(%error, "unreadable live event"),
                },
                Err(error) => {
                    tracing::warn!(%error, "live events: connection lost, listening again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    })))
}

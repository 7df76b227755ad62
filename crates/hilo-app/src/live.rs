//! Live events for open pages and agents' tools: new messages, status changes,
//! assignments, incoming calls. Each node keeps a broadcast of its subscribers and hands
//! them an event as soon as it is true; with several nodes on one PostgreSQL, the event
//! also travels through `NOTIFY`, marked with the node it came from, so a subscriber on
//! any node hears what happened on every node, once.
//!
//! Live events are a courtesy to screens that are open: one published after a commit
//! and lost in a crash is found by reading the API again (as a page does when its
//! connection comes back). So notifications are not sent inside the transactions that
//! make events true: PostgreSQL serialises every commit that notifies (a lock held
//! until the commit is on disk), and busy writers would take turns at it. One task per
//! node sends what waits, in order, in one statement each time.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::Hilo;

/// Events a slow subscriber may fall behind by before it misses some (and is told so).
const BACKLOG: usize = 1_024;

/// Most notifications sent in one statement.
const NOTIFY_LIMIT: usize = 256;

/// One live event: its type (`message.created`, `call.started`, …) and its data.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct LiveEvent {
    #[serde(rename = "type")]
    pub kind: String,
    pub data: Value,
}

/// A live event as it travels between nodes: with the node that published it, which
/// has delivered it to its own subscribers already.
#[derive(Serialize, serde::Deserialize)]
struct Notice<'a, E> {
    #[serde(default)]
    node: Option<std::borrow::Cow<'a, str>>,
    #[serde(flatten)]
    event: E,
}

/// A node's subscribers, and the notifications waiting to go to other nodes.
pub struct LiveBus {
    sender: broadcast::Sender<Arc<LiveEvent>>,
    /// This node, in its notifications (a random id, new at every start).
    node: String,
    outbox: Mutex<Outbox>,
}

/// Notifications not sent yet, and whether a task is sending them.
#[derive(Default)]
struct Outbox {
    payloads: VecDeque<String>,
    sending: bool,
}

impl Default for LiveBus {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(BACKLOG).0,
            node: uuid::Uuid::new_v4().simple().to_string(),
            outbox: Mutex::default(),
        }
    }
}

impl LiveBus {
    fn outbox(&self) -> std::sync::MutexGuard<'_, Outbox> {
        self.outbox
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The next notifications to send; empty when the sender must stop (counted out in
    /// the same lock, so a payload queued after it starts another).
    fn next_notices(&self) -> Vec<String> {
        let mut outbox = self.outbox();
        if outbox.payloads.is_empty() {
            outbox.sending = false;
            return Vec::new();
        }
        let take = outbox.payloads.len().min(NOTIFY_LIMIT);
        outbox.payloads.drain(..take).collect()
    }
}

impl Hilo {
    /// Every live event from now on, on this node and (PostgreSQL) every other.
    pub fn subscribe_live(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.live.sender.subscribe()
    }

    /// Sends an event to every subscriber of every node. Call after the commit that
    /// made it true.
    pub(crate) fn publish_live(&self, kind: &str, data: Value) {
        self.publish_live_many(vec![(kind, data)]);
    }

    /// Sends events, in order, to every subscriber of every node: this node's at once,
    /// other nodes' (PostgreSQL) through the node's sender task. An event too large for
    /// a notification stays on this node.
    pub(crate) fn publish_live_many(&self, events: Vec<(&str, Value)>) {
        let across = self.store.engine() == hilo_store::Engine::Postgres;
        let mut payloads = Vec::new();
        for (kind, data) in events {
            let event = LiveEvent {
                kind: kind.to_owned(),
                data,
            };
            if across {
                let notice = Notice {
                    node: Some(self.live.node.as_str().into()),
                    event: &event,
                };
                match serde_json::to_string(&notice) {
                    Ok(payload) if payload.len() <= hilo_store::live::MAX_PAYLOAD => {
                        payloads.push(payload);
                    }
                    Ok(_) => tracing::warn!(
                        kind,
                        "live event too large for other nodes; this node's only"
                    ),
                    Err(error) => tracing::warn!(%error, "live event not written"),
                }
            }
            let _ = self.live.sender.send(Arc::new(event));
        }
        if !payloads.is_empty() {
            self.queue_notices(payloads);
        }
    }

    /// Queues notifications for other nodes, starting the sender if none is running.
    fn queue_notices(&self, payloads: Vec<String>) {
        let start = {
            let mut outbox = self.live.outbox();
            outbox.payloads.extend(payloads);
            !std::mem::replace(&mut outbox.sending, true)
        };
        if start {
            let hilo = self.clone();
            tokio::spawn(async move {
                let _counted = SenderOut(&hilo.live);
                loop {
                    let notices = hilo.live.next_notices();
                    if notices.is_empty() {
                        break;
                    }
                    let payloads: Vec<&str> = notices.iter().map(String::as_str).collect();
                    if let Err(error) = hilo.store.notify_live(&payloads).await {
                        tracing::warn!(%error, events = payloads.len(), "live events not sent to other nodes");
                    }
                }
            });
        }
    }
}

/// Counts the sender out if it panics, so the next event starts another.
struct SenderOut<'a>(&'a LiveBus);

impl Drop for SenderOut<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.outbox().sending = false;
        }
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
                Ok(payload) => match serde_json::from_str::<Notice<'_, LiveEvent>>(&payload) {
                    // This node's own: its subscribers have it already.
                    Ok(notice) if notice.node.as_deref() == Some(hilo.live.node.as_str()) => {}
                    Ok(notice) => {
                        let _ = hilo.live.sender.send(Arc::new(notice.event));
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

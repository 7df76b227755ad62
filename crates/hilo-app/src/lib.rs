//! Hilo's use cases: what the API, the console and the command line ask for, with the
//! rules applied and the storage calls made. Nothing here knows about HTTP.

// The parts, one line each.
pub mod access;
mod busy;
pub mod collect;
pub mod commerce;
pub mod conversations;
pub mod customers;
pub mod webhooks;

// What every part shares: time, errors, jobs, the change feed, the demo.
pub mod clock;
pub mod demo;
mod error;
pub mod feed;
pub mod jobs;
pub mod live;

use std::sync::Arc;

use hilo_store::Store;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{AppError, AppResult, PickupRefusal, ReplyRefusal};

/// Settings the use cases read.
#[derive(Debug, Clone)]
pub struct AppSettings {
    /// Region (ISO 3166 alpha-2) for phone numbers written without a country code.
    pub default_region: String,
    /// Which addresses webhook deliveries and provider API calls may reach.
    pub webhook_policy: hilo_domain::webhooks::AddressPolicy,
    /// Base URL the outside world uses, without a trailing slash: providers are given
    /// webhook URLs under it, and Twilio signs the URL it was given.
    pub public_url: String,
    /// Seals channel credentials at rest.
    pub sealing_key: hilo_domain::sealing::SealingKey,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            default_region: "ES".into(),
            webhook_policy: hilo_domain::webhooks::AddressPolicy::PublicOnly,
            public_url: "http://127.0.0.1:7878".into(),
            // A key of this process alone: what it seals opens only while it runs.
            sealing_key: process_key(),
        }
    }
}

/// A key of this process alone: what it seals opens only while it runs.
fn process_key() -> hilo_domain::sealing::SealingKey {
    let text = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    hilo_domain::sealing::SealingKey::from_text(&text)
        .unwrap_or_else(|_| unreachable!("64 characters are long enough"))
}

/// The application: storage, settings, and the clock every rule reads time from.
#[derive(Clone)]
pub struct Hilo {
    store: Store,
    clock: Arc<dyn Clock>,
    settings: Arc<AppSettings>,
    feed_signal: Arc<tokio::sync::Notify>,
    /// The embedded writer's commits not on disk yet: the feed holds their rows back.
    unflushed: Arc<hilo_store::collect::Unflushed>,
    write_keys: Arc<access::remembered::Remembered<hilo_store::access::sources::SourceRecord>>,
    api_keys: Arc<access::remembered::Remembered<hilo_store::access::api_keys::ApiKeyRecord>>,
    rules: Arc<customers::identity_rules::RulesCache>,
    /// Inbound messages waiting to be stored together.
    arrivals: Arc<conversations::arrivals::Arrivals>,
    /// This process among the nodes, in job claims.
    node: Arc<str>,
    /// Wakes this node's job workers when it wrote jobs.
    jobs_signal: Arc<tokio::sync::Notify>,
    job_counters: Arc<jobs::JobCounters>,
    live: Arc<live::LiveBus>,
    webhook_sender: Arc<webhooks::delivery::Sender>,
    /// When the webhooks consumer last skipped ahead with no endpoint (clock millis).
    feed_skipped_at: Arc<std::sync::atomic::AtomicI64>,
    /// When the embedded writers last committed: work that can wait yields to them.
    busy: Arc<busy::WritersBusy>,
    /// On SQLite, the writer orders are placed through, started with the first order.
    order_writer: Arc<std::sync::OnceLock<Option<hilo_store::commerce::OrderWriter>>>,
    /// Every location as this node last read it (commerce).
    locations: Arc<commerce::LocationCache>,
}

impl Hilo {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self::with_settings(store, clock, AppSettings::default())
    }

    pub fn with_settings(store: Store, clock: Arc<dyn Clock>, settings: AppSettings) -> Self {
        Self {
            node: format!("node-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]).into(),
            jobs_signal: Arc::default(),
            job_counters: Arc::default(),
            live: Arc::default(),
            webhook_sender: Arc::new(webhooks::delivery::Sender::new(settings.webhook_policy)),
            feed_skipped_at: Arc::default(),
            busy: Arc::default(),
            store,
            clock,
            settings: Arc::new(settings),
            feed_signal: Arc::new(tokio::sync::Notify::new()),
            unflushed: Arc::default(),
            write_keys: Arc::new(access::remembered::Remembered::new(
                access::sources::WRITE_KEY_TTL,
            )),
            api_keys: Arc::new(access::remembered::Remembered::new(
                access::keys::API_KEY_TTL,
            )),
            rules: Arc::default(),
            arrivals: Arc::default(),
            order_writer: Arc::default(),
            locations: Arc::default(),
        }
    }

    pub fn settings(&self) -> &AppSettings {
        &self.settings
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The next turn at writing on SQLite, for the ingestion writer's own connection.
    /// SQLite takes one writer at a time and its busy handler polls: a feed consumer
    /// that commits and begins again at once could keep that writer waiting for
    /// seconds. It queues with the pool's transactions instead (a fair queue), so each
    /// waits its turn. None is needed on PostgreSQL.
    pub(crate) async fn write_turn(&self) -> Option<hilo_store::WriteTurn> {
        self.store.write_turn().await
    }

    /// Notes that the ingestion writer committed a group: feed consumers that can wait
    /// take fewer turns at the lock.
    pub(crate) fn ingest_committed(&self) {
        self.busy.ingestion_committed();
    }

    /// Notes that the order writer committed a batch: as [`Hilo::ingest_committed`],
    /// and the timeline tail is left to grow until it pauses (see `collect::ingest`).
    pub(crate) fn orders_committed(&self) {
        self.busy.orders_committed();
    }

    /// Whether the ingestion or the order writer committed in the last half second.
    pub(crate) fn ingesting(&self) -> bool {
        self.busy.any()
    }

    /// Whether the order writer committed in the last half second.
    pub(crate) fn placing_orders(&self) -> bool {
        self.busy.orders()
    }

    /// The same application on another pool to the same database.
    pub(crate) fn with_store(&self, store: Store) -> Self {
        Self {
            store,
            ..self.clone()
        }
    }

    pub fn now(&self) -> hilo_domain::Timestamp {
        self.clock.now()
    }
}

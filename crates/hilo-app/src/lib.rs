//! Hilo's use cases: what the API, the console and the command line ask for, with the
//! rules applied and the storage calls made. Nothing here knows about HTTP.

pub mod clock;
pub mod demo;
mod error;
pub mod keys;
mod passwords;
pub mod sessions;
pub mod sources;
pub mod users;

use std::sync::Arc;

use hilo_store::Store;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{AppError, AppResult};

/// The application: storage plus the clock every rule reads time from.
#[derive(Clone)]
pub struct Hilo {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl Hilo {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn now(&self) -> hilo_domain::Timestamp {
        self.clock.now()
    }
}

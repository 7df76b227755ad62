//! Stores and warehouses: where they are, when they open, what they offer.

use hilo_domain::LocationId;
use hilo_domain::commerce::location::LocationInput;
use hilo_domain::hours::Schedule;
use hilo_store::commerce::LocationRecord;
use jiff::tz::TimeZone;
use tracing::info;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Commerce;
use crate::{AppError, AppResult};

/// How long this node trusts the locations it read: orders and availability read them
/// on every request, and they change a few times a year. A change made on this node is
/// seen at once; one made on another node sharing the database, within this.
const LOCATIONS_FRESH_FOR: Duration = Duration::from_secs(5);

/// A location with its opening hours read.
#[derive(Debug, Clone)]
pub(crate) struct KnownLocation {
    pub record: LocationRecord,
    pub schedule: Option<Schedule>,
}

/// Every location as this node last read it.
#[derive(Debug, Default)]
pub(crate) struct LocationCache {
    read: Mutex<Option<(Instant, Arc<Vec<KnownLocation>>)>>,
}

impl LocationCache {
    fn fresh(&self) -> Option<Arc<Vec<KnownLocation>>> {
        let read = self.read.lock().unwrap_or_else(|p| p.into_inner());
        read.as_ref()
            .filter(|(at, _)| at.elapsed() < LOCATIONS_FRESH_FOR)
            .map(|(_, all)| all.clone())
    }

    fn keep(&self, all: Arc<Vec<KnownLocation>>) {
        *self.read.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), all));
    }

    fn forget(&self) {
        *self.read.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// Finds a time zone by its IANA name in the bundled database.
pub(crate) fn zone(name: &str) -> Option<TimeZone> {
    TimeZone::get(name).ok()
}

/// A location's opening hours read (`None`: always open, or unreadable, which the
/// checks on the way in prevent).
pub(crate) fn schedule_of(location: &LocationRecord) -> Option<Schedule> {
    if location.opening_hours.is_empty() {
        return None;
    }
    Schedule::read(
        ("timezone", &location.timezone),
        ("opening_hours", &location.opening_hours),
        zone,
    )
    .ok()
}

impl Commerce<'_> {
    pub async fn create_location(&self, input: LocationInput) -> AppResult<LocationRecord> {
        let (input, _) = input.check(zone)?;
        let now = self.hilo.now();
        let record = record_of(LocationId::generate(), input, now, now);
        self.hilo.store.insert_location(&record).await?;
        self.hilo.locations.forget();
        info!(location = %record.id, kind = record.kind.as_str(), "location created");
        Ok(record)
    }

    /// Replaces a location's details; its stock and orders stay.
    pub async fn update_location(
        &self,
        id: LocationId,
        input: LocationInput,
    ) -> AppResult<LocationRecord> {
        let existing = self.location(id).await?;
        let (input, _) = input.check(zone)?;
        let record = record_of(id, input, existing.created_at, self.hilo.now());
        if !self.hilo.store.update_location(&record).await? {
            return Err(AppError::NotFound);
        }
        self.hilo.locations.forget();
        Ok(record)
    }

    pub async fn locations(&self) -> AppResult<Vec<LocationRecord>> {
        Ok(self.hilo.store.locations().await?)
    }

    /// Every location with its hours read, as this node read them in the last few
    /// seconds (see [`LOCATIONS_FRESH_FOR`]).
    pub(crate) async fn known_locations(&self) -> AppResult<Arc<Vec<KnownLocation>>> {
        if let Some(all) = self.hilo.locations.fresh() {
            return Ok(all);
        }
        let all: Arc<Vec<KnownLocation>> = Arc::new(
            self.hilo
                .store
                .locations()
                .await?
                .into_iter()
                .map(|record| KnownLocation {
                    schedule: schedule_of(&record),
                    record,
                })
                .collect(),
        );
        self.hilo.locations.keep(all.clone());
        Ok(all)
    }

    /// One location, from those this node knows, else from the database (one made on
    /// another node a moment ago).
    pub(crate) async fn known_location(&self, id: LocationId) -> AppResult<LocationRecord> {
        let all = self.known_locations().await?;
        match all.iter().find(|l| l.record.id == id) {
            Some(found) => Ok(found.record.clone()),
            None => self.location(id).await,
        }
    }

    pub async fn location(&self, id: LocationId) -> AppResult<LocationRecord> {
        self.hilo
            .store
            .location(id)
            .await?
            .ok_or(AppError::NotFound)
    }
}

fn record_of(
    id: LocationId,
    input: LocationInput,
    created_at: hilo_domain::Timestamp,
    updated_at: hilo_domain::Timestamp,
) -> LocationRecord {
    LocationRecord {
        id,
        name: input.name,
        kind: input.kind,
        address: input.address,
        point: input.point,
        timezone: input.timezone,
        opening_hours: input.opening_hours,
        offers: input.offers,
        pickup_prep_minutes: input.pickup_prep_minutes,
        priority: input.priority,
        created_at,
        updated_at,
    }
}

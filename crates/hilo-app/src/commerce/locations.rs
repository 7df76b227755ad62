//! Stores and warehouses: where they are, when they open, what they offer.

use hilo_domain::LocationId;
use hilo_domain::commerce::location::LocationInput;
use hilo_domain::hours::Schedule;
use hilo_store::commerce::LocationRecord;
use jiff::tz::TimeZone;
use tracing::info;

use super::Commerce;
use crate::{AppError, AppResult};

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
        Ok(record)
    }

    pub async fn locations(&self) -> AppResult<Vec<LocationRecord>> {
        Ok(self.hilo.store.locations().await?)
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

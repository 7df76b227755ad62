//! Stores and warehouses.

use std::collections::BTreeMap;

use hilo_domain::commerce::location::{LocationKind, Offer, Point};
use hilo_domain::{LocationId, Timestamp};

use super::{json, parse};
use crate::{Store, StoreResult, on_pool};

/// A stored location.
#[derive(Debug, Clone, PartialEq)]
pub struct LocationRecord {
    pub id: LocationId,
    pub name: String,
    pub kind: LocationKind,
    pub address: String,
    pub point: Point,
    pub timezone: String,
    /// `{"mon": [["09:00", "21:00"]], …}`; empty: always open.
    pub opening_hours: BTreeMap<String, Vec<[String; 2]>>,
    pub offers: Vec<Offer>,
    pub pickup_prep_minutes: u32,
    pub priority: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl LocationRecord {
    pub fn offers(&self, offer: Offer) -> bool {
        self.offers.contains(&offer)
    }
}

type LocationRow = (
    String,
    String,
    String,
    String,
    f64,
    f64,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
);

macro_rules! locations {
    ($rest:literal) => {
        concat!(
            "SELECT id, name, kind, address, lat, lng, timezone, opening_hours, \
    offers, pickup_prep_minutes, priority, created_at, updated_at FROM locations",
            " ",
            $rest
        )
    };
}

fn record(row: LocationRow) -> StoreResult<LocationRecord> {
    let (
        id,
        name,
        kind,
        address,
        lat,
        lng,
        timezone,
        hours,
        offers,
        prep,
        priority,
        created,
        updated,
    ) = row;
    let kind = match kind.as_str() {
        "store" => LocationKind::Store,
        "warehouse" => LocationKind::Warehouse,
        other => return Err(crate::corrupt("location kind", other)),
    };
    let offers: Vec<String> = json("location offers", &offers)?;
    Ok(LocationRecord {
        id: parse("location id", &id)?,
        name,
        kind,
        address,
        point: Point { lat, lng },
        timezone,
        opening_hours: json("opening hours", &hours)?,
        offers: offers
            .iter()
            .map(|o| parse::<Offer>("location offer", o))
            .collect::<StoreResult<_>>()?,
        pickup_prep_minutes: u32::try_from(prep).unwrap_or(0),
        priority,
        created_at: Timestamp::from_millis(created),
        updated_at: Timestamp::from_millis(updated),
    })
}

fn hours_text(record: &LocationRecord) -> String {
    serde_json::to_string(&record.opening_hours).unwrap_or_else(|_| "{}".into())
}

fn offers_text(record: &LocationRecord) -> String {
    let names: Vec<&str> = record.offers.iter().map(|o| o.as_str()).collect();
    serde_json::to_string(&names).unwrap_or_else(|_| "[]".into())
}

impl Store {
    pub async fn insert_location(&self, location: &LocationRecord) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO locations (id, name, kind, address, lat, lng, timezone, \
            opening_hours, offers, pickup_prep_minutes, priority, created_at, updated_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(location.id.to_string())
            .bind(&location.name)
            .bind(location.kind.as_str())
            .bind(&location.address)
            .bind(location.point.lat)
            .bind(location.point.lng)
            .bind(&location.timezone)
            .bind(hours_text(location))
            .bind(offers_text(location))
            .bind(i64::from(location.pickup_prep_minutes))
            .bind(location.priority)
            .bind(location.created_at.millis())
            .bind(location.updated_at.millis())
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Replaces a location's fields (not its id or creation time); `false` when none.
    pub async fn update_location(&self, location: &LocationRecord) -> StoreResult<bool> {
        const SQL: &str = "UPDATE locations SET name = $2, kind = $3, address = $4, lat = $5, \
            lng = $6, timezone = $7, opening_hours = $8, offers = $9, pickup_prep_minutes = $10, \
            priority = $11, updated_at = $12 WHERE id = $1";
        let changed = on_pool!(self, |pool| sqlx::query(SQL)
            .bind(location.id.to_string())
            .bind(&location.name)
            .bind(location.kind.as_str())
            .bind(&location.address)
            .bind(location.point.lat)
            .bind(location.point.lng)
            .bind(&location.timezone)
            .bind(hours_text(location))
            .bind(offers_text(location))
            .bind(i64::from(location.pickup_prep_minutes))
            .bind(location.priority)
            .bind(location.updated_at.millis())
            .execute(pool)
            .await?
            .rows_affected());
        Ok(changed == 1)
    }

    /// Every location, by name (a business has hundreds, not millions).
    pub async fn locations(&self) -> StoreResult<Vec<LocationRecord>> {
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, LocationRow>(locations!(
            "ORDER BY name, id"
        ))
        .fetch_all(pool)
        .await?);
        rows.into_iter().map(record).collect()
    }

    pub async fn location(&self, id: LocationId) -> StoreResult<Option<LocationRecord>> {
        let row = on_pool!(self, |pool| sqlx::query_as::<_, LocationRow>(locations!(
            "WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(pool)
        .await?);
        row.map(record).transpose()
    }
}

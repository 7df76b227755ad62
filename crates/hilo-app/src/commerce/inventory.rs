//! One inventory across every location: levels set by staff as movements with
//! reasons, transfers, and where a SKU can be collected soonest.

use std::collections::HashMap;

use hilo_domain::commerce::catalogue::check_sku;
use hilo_domain::commerce::inventory::{self, Level, Reason, Refused};
use hilo_domain::commerce::location::{Offer, Point};
use hilo_domain::hours::due_at;
use hilo_domain::{Invalid, LocationId, Principal, Timestamp};
use hilo_store::commerce::{LevelRecord, NewMovement};
use tracing::info;

use super::Commerce;
use super::locations::KnownLocation;
use crate::{AppError, AppResult};

/// Most units one level holds.
pub const MAX_ON_HAND: i64 = 10_000_000;

/// A change of one level as staff ask for it: on hand becomes `on_hand`, for `reason`;
/// safety stock becomes `safety` when given.
#[derive(Debug, Clone)]
pub struct StockChange {
    pub on_hand: Option<i64>,
    pub reason: Reason,
    pub safety: Option<i64>,
    pub note: String,
}

/// A location that has a SKU for pickup, and when it can be ready.
#[derive(Debug, Clone, PartialEq)]
pub struct Availability {
    pub location_id: LocationId,
    pub name: String,
    pub distance_km: f64,
    pub available: i64,
    pub ready_at: Timestamp,
}

/// What a refused movement says to the caller.
fn refused(field: &str, refusal: Refused) -> AppError {
    match refusal {
        Refused::Quantity => Invalid::new(field, refusal.to_string()).into(),
        other => AppError::Conflict(format!("{field}: {other}")),
    }
}

impl Commerce<'_> {
    /// Sets one SKU's level at one location, recording the movement that explains it.
    pub async fn set_stock(
        &self,
        sku: &str,
        location: LocationId,
        change: StockChange,
        by: &Principal,
    ) -> AppResult<LevelRecord> {
        let sku = check_sku("sku", sku)?;
        self.location(location).await?;
        if self
            .hilo
            .store
            .variants(std::slice::from_ref(&sku))
            .await?
            .is_empty()
        {
            return Err(AppError::NotFound);
        }
        if change
            .on_hand
            .is_some_and(|n| !(0..=MAX_ON_HAND).contains(&n))
        {
            return Err(Invalid::new("on_hand", format!("must be from 0 to {MAX_ON_HAND}")).into());
        }
        if change
            .safety
            .is_some_and(|n| !(0..=MAX_ON_HAND).contains(&n))
        {
            return Err(Invalid::new("safety", format!("must be from 0 to {MAX_ON_HAND}")).into());
        }
        let note = hilo_domain::commerce::catalogue::check_text("note", &change.note, 500, false)?;
        if change.on_hand.is_none() && change.safety.is_none() {
            // Nothing asked: the level as it is.
            return self.level(&sku, location).await;
        }
        let now = self.hilo.now();
        let actor = by.actor();
        let mut tx = self.hilo.store.begin().await?;
        let level = tx.lock_level(&sku, location).await?;
        if let Some(on_hand) = change.on_hand {
            let movement = movement_to(&level, change.reason, on_hand)?;
            tx.apply_movement(&NewMovement {
                sku: &sku,
                location_id: location,
                movement,
                actor: &actor,
                order_id: None,
                note: &note,
                at: now,
            })
            .await?;
        }
        if let Some(safety) = change.safety {
            tx.set_safety(&sku, location, safety, now).await?;
        }
        tx.commit().await?;
        info!(%sku, %location, reason = change.reason.as_str(), "stock set");
        self.level(&sku, location).await
    }

    /// Moves units from one location to another: two movements in one transaction.
    pub async fn transfer(
        &self,
        sku: &str,
        from: LocationId,
        to: LocationId,
        quantity: i64,
        by: &Principal,
    ) -> AppResult<Vec<LevelRecord>> {
        let sku = check_sku("sku", sku)?;
        if from == to {
            return Err(Invalid::new("to_location_id", "must differ from from_location_id").into());
        }
        if !(1..=MAX_ON_HAND).contains(&quantity) {
            return Err(
                Invalid::new("quantity", format!("must be from 1 to {MAX_ON_HAND}")).into(),
            );
        }
        self.location(from).await?;
        self.location(to).await?;
        let now = self.hilo.now();
        let actor = by.actor();
        let mut tx = self.hilo.store.begin().await?;
        // Locked in one order, so two opposite transfers cannot wait on each other.
        let (first, second) = if from < to { (from, to) } else { (to, from) };
        let mut levels = [
            (first, tx.lock_level(&sku, first).await?),
            (second, tx.lock_level(&sku, second).await?),
        ];
        levels.sort_by_key(|(id, _)| *id != from);
        let out = inventory::plan(&levels[0].1, Reason::TransferredOut, quantity)
            .map_err(|r| refused("quantity", r))?;
        let into = inventory::plan(&levels[1].1, Reason::TransferredIn, quantity)
            .map_err(|r| refused("quantity", r))?;
        for (location, movement) in [(from, out), (to, into)] {
            tx.apply_movement(&NewMovement {
                sku: &sku,
                location_id: location,
                movement,
                actor: &actor,
                order_id: None,
                note: "",
                at: now,
            })
            .await?;
        }
        tx.commit().await?;
        info!(%sku, %from, %to, quantity, "stock transferred");
        Ok(vec![
            self.level(&sku, from).await?,
            self.level(&sku, to).await?,
        ])
    }

    async fn level(&self, sku: &str, location: LocationId) -> AppResult<LevelRecord> {
        Ok(self
            .hilo
            .store
            .levels_of_sku(sku)
            .await?
            .into_iter()
            .find(|l| l.location_id == location)
            .unwrap_or(LevelRecord {
                sku: sku.to_owned(),
                location_id: location,
                level: Level::default(),
                updated_at: self.hilo.now(),
            }))
    }

    /// One level's movements, newest first, before movement `before` when given.
    pub async fn movements(
        &self,
        sku: &str,
        location: LocationId,
        before: Option<i64>,
        limit: u32,
    ) -> AppResult<Vec<hilo_store::commerce::MovementRecord>> {
        let sku = check_sku("sku", sku)?;
        Ok(self
            .hilo
            .store
            .movements(&sku, location, before, limit)
            .await?)
    }

    /// Every location's level of a SKU.
    pub async fn stock(&self, sku: &str) -> AppResult<Vec<LevelRecord>> {
        let sku = check_sku("sku", sku)?;
        let levels = self.hilo.store.levels_of_sku(&sku).await?;
        self.known_sku(&sku, !levels.is_empty()).await?;
        Ok(levels)
    }

    /// Not found unless `sku` is in the catalogue: a SKU with stock (`stocked`) is,
    /// so only one without needs looking up.
    async fn known_sku(&self, sku: &str, stocked: bool) -> AppResult<()> {
        if !stocked
            && self
                .hilo
                .store
                .variants(&[sku.to_owned()])
                .await?
                .is_empty()
        {
            return Err(AppError::NotFound);
        }
        Ok(())
    }

    /// The locations offering pickup that can promise `sku`, nearest to `from` first,
    /// each with the time it can be ready: its preparation time counted within its
    /// opening hours from now.
    pub async fn availability(
        &self,
        sku: &str,
        from: Point,
        limit: usize,
    ) -> AppResult<Vec<Availability>> {
        let sku = check_sku("sku", sku)?;
        let promisable = self.hilo.store.promisable_of_sku(&sku).await?;
        self.known_sku(&sku, !promisable.is_empty()).await?;
        let locations = self.known_locations().await?;
        let by_id: HashMap<LocationId, &KnownLocation> =
            locations.iter().map(|l| (l.record.id, l)).collect();
        // The nearest first, then the ready time worked out only for those shown.
        let mut near: Vec<(f64, &KnownLocation, i64)> = promisable
            .iter()
            .filter_map(|(location, available)| {
                let location = by_id.get(location)?;
                location.record.offers(Offer::Pickup).then(|| {
                    let km = from.distance_km(&location.record.point);
                    ((km * 100.0).round() / 100.0, *location, *available)
                })
            })
            .collect();
        near.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Locations as near as the last one shown stay in, so equally near ones are
        // ordered by when they can have it ready.
        let cut = near
            .get(limit.saturating_sub(1))
            .map_or(near.len(), |last| {
                near.iter().take_while(|n| n.0 <= last.0).count()
            });
        near.truncate(cut);
        let now = self.hilo.now();
        let mut found: Vec<Availability> = near
            .into_iter()
            .map(|(km, location, available)| Availability {
                location_id: location.record.id,
                name: location.record.name.clone(),
                distance_km: km,
                available,
                ready_at: due_at(
                    now,
                    location.record.pickup_prep_minutes,
                    location.schedule.as_ref(),
                ),
            })
            .collect();
        found.sort_by(|a, b| {
            a.distance_km
                .total_cmp(&b.distance_km)
                .then(a.ready_at.cmp(&b.ready_at))
        });
        found.truncate(limit);
        Ok(found)
    }
}

/// The movement that takes `level`'s on hand to `on_hand` for `reason`: a count sets
/// it whatever it was; arrivals only raise it, losses only lower it.
fn movement_to(level: &Level, reason: Reason, on_hand: i64) -> AppResult<inventory::Movement> {
    let delta = on_hand - level.on_hand;
    let quantity = match reason {
        Reason::Counted => on_hand,
        Reason::Received | Reason::Returned | Reason::TransferredIn if delta > 0 => delta,
        Reason::Damaged | Reason::TransferredOut if delta < 0 => -delta,
        // Well formed, but the level it meets does not allow it.
        Reason::Received | Reason::Returned | Reason::TransferredIn => {
            return Err(AppError::Conflict(format!(
                "on_hand: {} raises on hand, and it is {} now",
                reason.as_str(),
                level.on_hand
            )));
        }
        Reason::Damaged | Reason::TransferredOut => {
            return Err(AppError::Conflict(format!(
                "on_hand: {} lowers on hand, and it is {} now",
                reason.as_str(),
                level.on_hand
            )));
        }
        _ => {
            return Err(Invalid::new(
                "reason",
                "must be counted, received, returned, damaged, transferred_in or transferred_out",
            )
            .into());
        }
    };
    inventory::plan(level, reason, quantity).map_err(|r| refused("on_hand", r))
}

//! Taking an order's stock in its transaction: the levels as the transaction sees them,
//! the pure allocation plan, one fulfilment per location it draws from, and one
//! conditional update per level (or, at a till, a sale), levels touched in one order.

use std::collections::BTreeMap;

use hilo_domain::commerce::allocation::{self, Candidate};
use hilo_domain::commerce::inventory::{self, Reason};
use hilo_domain::commerce::order::{FulfillmentKind, FulfillmentStatus};
use hilo_domain::commerce::reservation::ReservationState;
use hilo_domain::{FulfillmentId, LocationId, OrderId, Timestamp};
use hilo_store::commerce::{FulfillmentRecord, NewMovement, OrderTx, ReservationRecord, StockTake};

use crate::{AppError, AppResult};

/// Where an order's stock may come from, decided before its transaction.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    pub kind: FulfillmentKind,
    /// (location, preferred, distance, priority).
    pub candidates: Vec<(LocationId, bool, Option<f64>, i64)>,
    /// Whether the plan may split lines across locations.
    pub split: bool,
    /// A shipment's address, as stored.
    pub ship_address: Option<String>,
}

/// What taking an order's stock wrote.
pub(crate) struct Reserved {
    /// Each location's fulfilment.
    pub by_location: BTreeMap<String, FulfillmentId>,
    pub fulfillments: Vec<FulfillmentRecord>,
    pub reservations: Vec<ReservationRecord>,
}

/// Plans and takes the stock of `wanted` (lines numbered from `first_line`), creating
/// the fulfilments; an [`AppError::OutOfStock`] names the line (by its index in
/// `wanted`) that cannot be served.
pub(crate) async fn reserve<T: OrderTx>(
    tx: &mut T,
    order_id: OrderId,
    wanted: &[(String, i64)],
    route: &Route,
    first_line: i64,
    actor: &str,
    now: Timestamp,
) -> AppResult<Reserved> {
    let counter = route.kind == FulfillmentKind::Counter;
    let skus: Vec<String> = wanted.iter().map(|(sku, _)| sku.clone()).collect();
    // One location to draw from: only its levels matter.
    let (levels, levels_locked) = match route.candidates.as_slice() {
        [(only, ..)] => (tx.levels_at(&skus, *only).await?, true),
        _ => (tx.levels_of(&skus).await?, false),
    };
    let mut ranked: Vec<Candidate> = route
        .candidates
        .iter()
        .map(|(location, preferred, distance, priority)| Candidate {
            location: location.to_string(),
            preferred: *preferred,
            distance_km: *distance,
            priority: *priority,
            available: levels
                .iter()
                .filter(|l| l.location_id == *location)
                .map(|l| {
                    let can = if counter {
                        // At the counter the customer holds the goods: all that is on
                        // the shelf unpromised, safety stock included.
                        l.level.on_hand - l.level.reserved
                    } else {
                        l.level.available()
                    };
                    (l.sku.clone(), can)
                })
                .collect(),
        })
        .collect();
    allocation::rank(&mut ranked);
    let plan =
        allocation::plan(wanted, &ranked, route.split).map_err(|s| AppError::OutOfStock {
            line: s.line,
            available: s.available,
        })?;
    // One fulfilment per location the plan draws from.
    let mut fulfilments: BTreeMap<String, FulfillmentId> = BTreeMap::new();
    for a in &plan {
        fulfilments
            .entry(a.location.clone())
            .or_insert_with(FulfillmentId::generate);
    }
    let status = if counter {
        FulfillmentStatus::Collected
    } else {
        FulfillmentStatus::Allocated
    };
    let mut records: Vec<FulfillmentRecord> = fulfilments
        .iter()
        .map(|(location, id)| {
            Ok(FulfillmentRecord {
                id: *id,
                order_id,
                kind: route.kind.as_str().to_owned(),
                location_id: Some(location_id(location)?),
                ship_address: route.ship_address.clone(),
                status: status.as_str().to_owned(),
                created_at: now,
                updated_at: now,
                code_seed: None,
                code_expires_at: None,
                collected_by: None,
            })
        })
        .collect::<AppResult<_>>()?;
    // Levels are touched in (SKU, location) order, the same in every transaction, so
    // two orders never wait on each other's rows in opposite orders.
    let mut takes: Vec<&allocation::Allocation> = plan.iter().collect();
    takes.sort_by(|a, b| (&wanted[a.line].0, &a.location).cmp(&(&wanted[b.line].0, &b.location)));
    let state = if counter {
        ReservationState::Sold
    } else {
        ReservationState::Held
    };
    let mut reservations = takes
        .iter()
        .map(|take| {
            Ok(ReservationRecord {
                order_id,
                line_no: first_line + take.line as i64,
                fulfillment_id: fulfilments[&take.location],
                sku: wanted[take.line].0.clone(),
                location_id: location_id(&take.location)?,
                quantity: take.quantity,
                state: state.as_str().to_owned(),
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    if counter {
        sell_at_counter(tx, &records, &reservations, &takes, actor, now).await?;
    } else {
        let taken = tx
            .take_stock(&StockTake {
                order_id,
                actor,
                at: now,
                fulfillments: &records,
                reservations: &reservations,
                levels_locked,
            })
            .await?;
        if let Some(index) = taken {
            // Another checkout took it since the levels were read.
            let r = &reservations[index];
            let level = tx.lock_level(&r.sku, r.location_id).await?;
            return Err(AppError::OutOfStock {
                line: takes[index].line,
                available: level.available(),
            });
        }
    }
    // As a read of the order lists them.
    records.sort_by_key(|f| f.id.to_string());
    reservations.sort_by(|a, b| {
        (a.line_no, a.location_id.to_string()).cmp(&(b.line_no, b.location_id.to_string()))
    });
    Ok(Reserved {
        by_location: fulfilments,
        fulfillments: records,
        reservations,
    })
}

/// A sale at the till: each level's units leave the shelf at once (the customer holds
/// the goods), refused when the shelf has fewer unpromised.
async fn sell_at_counter<T: OrderTx>(
    tx: &mut T,
    fulfilments: &[FulfillmentRecord],
    sales: &[ReservationRecord],
    takes: &[&allocation::Allocation],
    actor: &str,
    now: Timestamp,
) -> AppResult<()> {
    for f in fulfilments {
        tx.insert_fulfillment(f).await?;
    }
    for (sale, take) in sales.iter().zip(takes) {
        let level = tx.lock_level(&sale.sku, sale.location_id).await?;
        let sold = inventory::plan(&level, Reason::SoldAtCounter, sale.quantity).map_err(|_| {
            AppError::OutOfStock {
                line: take.line,
                available: (level.on_hand - level.reserved).max(0),
            }
        })?;
        tx.apply_movement(&NewMovement {
            sku: &sale.sku,
            location_id: sale.location_id,
            movement: sold,
            actor,
            order_id: Some(sale.order_id),
            note: "",
            at: now,
        })
        .await?;
        tx.insert_reservation(sale).await?;
    }
    Ok(())
}

fn location_id(text: &str) -> AppResult<LocationId> {
    text.parse()
        .map_err(|_| AppError::Internal("a candidate's id is a location id".into()))
}

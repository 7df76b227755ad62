//! A fulfilment on its way: picked, ready at the desk with a pickup code, handed over
//! (to the customer or a named person), shipped and delivered; an uncollected pickup
//! expires, cancelled and restocked by a job.

use hilo_domain::commerce::codes;
use hilo_domain::commerce::inventory::{self, Reason};
use hilo_domain::commerce::order::{FulfillmentKind, FulfillmentStatus};
use hilo_domain::commerce::policy::CommerceSettings;
use hilo_domain::commerce::reservation::ReservationState;
use hilo_domain::jobs::JobKind;
use hilo_domain::{FulfillmentId, Invalid, LocationId, OrderId, Principal, Timestamp};
use hilo_store::commerce::{FulfillmentRecord, NewMovement};
use hilo_store::jobs::{JobRecord, NewJob};
use serde_json::{Value, json};
use tracing::info;

use super::Commerce;
use super::orders::{OrderView, PENDING, release, settle_order};
use crate::jobs::JobFailure;
use crate::{AppError, AppResult, PickupRefusal};

/// Where settings are kept.
const SETTINGS: &str = "commerce.settings";
/// The purpose a pickup code is derived and digested for.
const PICKUP: &str = "hilo pickup code";
/// A QR code at the desk carries this before the code.
pub const QR_PREFIX: &str = "HILO-PICKUP:";
/// Wrong codes a desk may type within [`WRONG_WINDOW_MILLIS`] before it must wait.
const WRONG_CODES: i64 = 10;
const WRONG_WINDOW_MILLIS: i64 = 15 * 60_000;

/// A step a fulfilment takes, as staff or the warehouse report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Picking,
    Ready,
    Shipped,
    Delivered,
}

impl Step {
    fn target(self) -> FulfillmentStatus {
        match self {
            Self::Picking => FulfillmentStatus::Picking,
            Self::Ready => FulfillmentStatus::ReadyForPickup,
            Self::Shipped => FulfillmentStatus::Shipped,
            Self::Delivered => FulfillmentStatus::Delivered,
        }
    }
}

/// A ready pickup's code as the shop shows it to its customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickupCode {
    /// `ABCDE-FGHJK`.
    pub code: String,
    /// What a QR code at the desk carries.
    pub qr_payload: String,
    pub expires_at: Timestamp,
}

impl Commerce<'_> {
    pub async fn settings(&self) -> AppResult<CommerceSettings> {
        match self.hilo.store.setting(SETTINGS).await? {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| AppError::Internal(format!("stored {SETTINGS} unreadable: {e}"))),
            None => Ok(CommerceSettings::default()),
        }
    }

    pub async fn set_settings(&self, settings: CommerceSettings) -> AppResult<CommerceSettings> {
        let settings = settings.check()?;
        let text = serde_json::to_string(&settings)
            .map_err(|e| AppError::Internal(format!("cannot write {SETTINGS}: {e}")))?;
        self.hilo.store.put_setting(SETTINGS, &text).await?;
        Ok(settings)
    }

    /// The code of a ready pickup, derived again from its seed: for the shop's own
    /// backend and admins, never for store staff.
    pub fn pickup_code(&self, fulfilment: &FulfillmentRecord) -> Option<PickupCode> {
        if fulfilment.status != FulfillmentStatus::ReadyForPickup.as_str() {
            return None;
        }
        let seed = fulfilment.code_seed.as_deref()?;
        let code = codes::derive(&self.hilo.settings.sealing_key, PICKUP, seed);
        Some(PickupCode {
            qr_payload: format!("{QR_PREFIX}{code}"),
            code: codes::display(&code),
            expires_at: fulfilment.code_expires_at?,
        })
    }

    /// Moves a fulfilment one step on. Ready issues the pickup code and schedules its
    /// expiry; shipped hands the reserved stock over.
    pub async fn advance(
        &self,
        order_id: OrderId,
        fulfilment_id: FulfillmentId,
        step: Step,
        channel: &str,
        by: &Principal,
    ) -> AppResult<OrderView> {
        let channel = super::orders::channel_or_server(channel)?;
        let settings = self.settings().await?;
        let actor = by.actor();
        let now = self.hilo.now();
        let mut tx = self.hilo.store.begin().await?;
        let order = tx.order(order_id).await?.ok_or(AppError::NotFound)?;
        let fulfilment = order
            .fulfillments
            .iter()
            .find(|f| f.id == fulfilment_id)
            .ok_or(AppError::NotFound)?
            .clone();
        if let Some(location) = fulfilment.location_id {
            self.check_desk(by, location).await?;
        }
        let kind: FulfillmentKind = fulfilment
            .kind
            .parse()
            .map_err(|_| AppError::Internal("a stored fulfilment kind".into()))?;
        let from: FulfillmentStatus = fulfilment
            .status
            .parse()
            .map_err(|_| AppError::Internal("a stored fulfilment status".into()))?;
        let to = step.target();
        if !from.may_become(to, kind) {
            return Err(AppError::Conflict(format!(
                "a {} fulfilment that is {} cannot become {}",
                kind.as_str(),
                from.as_str(),
                to.as_str()
            )));
        }
        if !tx
            .move_fulfillment(fulfilment_id, &[from.as_str()], to.as_str(), now)
            .await?
        {
            return Err(AppError::Conflict(
                "the fulfilment changed meanwhile; read the order again".into(),
            ));
        }
        let mut detail = json!({});
        match step {
            Step::Ready => {
                let seed = codes::seed().map_err(|e| AppError::Internal(e.to_string()))?;
                let key = &self.hilo.settings.sealing_key;
                let code = codes::derive(key, PICKUP, &seed);
                let expires_at = now.plus_millis(settings.pickup_expiry_millis());
                tx.issue_code(
                    fulfilment_id,
                    &codes::digest(key, PICKUP, &code),
                    &seed,
                    expires_at,
                )
                .await?;
                let payload = json!({"order_id": order_id.to_string(),
                    "fulfillment_id": fulfilment_id.to_string()});
                let job_key = format!("pickup-expiry:{fulfilment_id}");
                tx.enqueue_job(
                    &NewJob {
                        kind: JobKind::CommercePickupExpiry,
                        payload: &payload,
                        run_at: expires_at,
                        idempotency_key: Some(&job_key),
                    },
                    now,
                )
                .await?;
                // The customer hears of it (and gets the code) once this commits.
                let notice_key = format!("ready-notice:{fulfilment_id}");
                tx.enqueue_job(
                    &NewJob {
                        kind: JobKind::CommerceReadyNotice,
                        payload: &payload,
                        run_at: now,
                        idempotency_key: Some(&notice_key),
                    },
                    now,
                )
                .await?;
                detail = json!({"expires_at": expires_at.to_rfc3339()});
            }
            Step::Shipped => hand_over(&mut tx, &fulfilment, &actor, order_id, now).await?,
            Step::Picking | Step::Delivered => {}
        }
        tx.record_order_history(
            order_id,
            Some(fulfilment_id),
            to.as_str(),
            &actor,
            channel,
            &detail.to_string(),
            now,
        )
        .await?;
        settle_order(
            &mut tx,
            &order,
            channel,
            json!({"fulfillment_id": fulfilment_id.to_string(), "fulfillment_status": to.as_str()}),
            now,
        )
        .await?;
        tx.commit().await?;
        self.hilo.feed_signal.notify_waiters();
        info!(order = %order_id, fulfilment = %fulfilment_id, status = to.as_str(), "fulfilment moved");
        self.order(order_id).await
    }

    /// Hands a ready pickup over at `location`'s desk for the code the customer shows
    /// (typed, or scanned from its QR code). A code for another store, an expired or
    /// used one, and a desk typing too many wrong codes are refused, each saying why.
    pub async fn collect(
        &self,
        location: LocationId,
        typed: &str,
        collected_by: Option<&str>,
        by: &Principal,
    ) -> AppResult<OrderView> {
        self.at_the_desk(location, typed, collected_by, by, true)
            .await
    }

    /// Checks a code at `location`'s desk as [`Commerce::collect`] does (a wrong one
    /// counts against the desk alike), and shows the order it is for without handing it
    /// over: what the desk's page shows before staff fetch the parcel.
    pub async fn check_pickup(
        &self,
        location: LocationId,
        typed: &str,
        by: &Principal,
    ) -> AppResult<OrderView> {
        self.at_the_desk(location, typed, None, by, false).await
    }

    /// The orders waiting at a location's desk, longest waiting first (at most 100).
    pub async fn waiting_pickups(&self, location: LocationId) -> AppResult<Vec<OrderView>> {
        let mut waiting = Vec::new();
        for id in self.hilo.store.waiting_pickups(location).await? {
            waiting.push(self.order(id).await?);
        }
        Ok(waiting)
    }

    async fn at_the_desk(
        &self,
        location: LocationId,
        typed: &str,
        collected_by: Option<&str>,
        by: &Principal,
        handing_over: bool,
    ) -> AppResult<OrderView> {
        let collected_by = collected_by
            .map(|c| hilo_domain::commerce::catalogue::check_text("collected_by", c, 200, false))
            .transpose()?
            .filter(|c| !c.is_empty());
        self.location(location).await?;
        self.check_desk(by, location).await?;
        let now = self.hilo.now();
        let since = now.plus_millis(-WRONG_WINDOW_MILLIS);
        let actor = by.actor();
        let typed = typed.trim();
        let code = codes::normalize(typed.strip_prefix(QR_PREFIX).unwrap_or(typed));
        let mut tx = self.hilo.store.begin().await?;
        if tx.wrong_codes_since(location, since).await? >= WRONG_CODES {
            return Err(AppError::RateLimited {
                retry_after_secs: u64::try_from(WRONG_WINDOW_MILLIS / 1000).unwrap_or(900),
            });
        }
        let key = &self.hilo.settings.sealing_key;
        let found = match &code {
            Some(code) => {
                tx.fulfillment_by_code(&codes::digest(key, PICKUP, code))
                    .await?
            }
            None => None,
        };
        let Some(fulfilment) = found else {
            // Counted, and kept: the refusal must not roll the count back.
            tx.wrong_code(location, now, since).await?;
            tx.commit().await?;
            return Err(match code {
                None => {
                    Invalid::new("code", "is ten letters and digits, such as ABCDE-FGHJK").into()
                }
                Some(_) => PickupRefusal::UnknownCode.into(),
            });
        };
        if fulfilment.location_id != Some(location) {
            let there = match fulfilment.location_id {
                Some(id) => self.hilo.store.location(id).await?.map(|l| l.name),
                None => None,
            };
            return Err(PickupRefusal::OtherStore(there.unwrap_or_default()).into());
        }
        if fulfilment.status != FulfillmentStatus::ReadyForPickup.as_str() {
            return Err(PickupRefusal::NotWaiting(fulfilment.status.clone()).into());
        }
        if fulfilment.code_expires_at.is_some_and(|at| at <= now) {
            return Err(PickupRefusal::Expired.into());
        }
        let order = tx
            .order(fulfilment.order_id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !handing_over {
            drop(tx);
            return self.order(order.id).await;
        }
        if !tx
            .move_fulfillment(fulfilment.id, &["ready_for_pickup"], "collected", now)
            .await?
        {
            return Err(PickupRefusal::NotWaiting("collected".into()).into());
        }
        hand_over(&mut tx, &fulfilment, &actor, order.id, now).await?;
        if let Some(person) = &collected_by {
            tx.set_collected_by(fulfilment.id, person).await?;
        }
        let detail = json!({"collected_by": collected_by});
        tx.record_order_history(
            order.id,
            Some(fulfilment.id),
            "collected",
            &actor,
            "pos",
            &detail.to_string(),
            now,
        )
        .await?;
        settle_order(
            &mut tx,
            &order,
            "pos",
            json!({"fulfillment_id": fulfilment.id.to_string(), "fulfillment_status": "collected"}),
            now,
        )
        .await?;
        tx.commit().await?;
        self.hilo.feed_signal.notify_waiters();
        info!(order = %order.id, fulfilment = %fulfilment.id, "pickup collected");
        self.order(order.id).await
    }

    /// The expiry job: a pickup still waiting when its code expires is cancelled and
    /// its stock goes back on sale.
    pub(crate) async fn expire_pickup(&self, job: &JobRecord) -> Result<(), JobFailure> {
        let transient = |e: AppError| JobFailure::Transient(e.to_string());
        let id = |name: &str| {
            job.payload
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let (Some(order_id), Some(fulfilment_id)) = (
            id("order_id").and_then(|t| t.parse::<OrderId>().ok()),
            id("fulfillment_id").and_then(|t| t.parse::<FulfillmentId>().ok()),
        ) else {
            return Err(JobFailure::Permanent("the job names no fulfilment".into()));
        };
        let now = self.hilo.now();
        let mut tx = self
            .hilo
            .store
            .begin()
            .await
            .map_err(|e| transient(e.into()))?;
        let Some(order) = tx.order(order_id).await.map_err(|e| transient(e.into()))? else {
            return Ok(());
        };
        let due = order
            .fulfillments
            .iter()
            .any(|f| f.id == fulfilment_id && f.code_expires_at.is_some_and(|at| at <= now));
        if !due
            || !tx
                .move_fulfillment(fulfilment_id, &PENDING[3..], "cancelled", now)
                .await
                .map_err(|e| transient(e.into()))?
        {
            return Ok(());
        }
        let work = async {
            release(&mut tx, fulfilment_id, "system", order_id, now).await?;
            tx.record_order_history(
                order_id,
                Some(fulfilment_id),
                "expired",
                "system",
                "server",
                "{}",
                now,
            )
            .await?;
            settle_order(&mut tx, &order, "server", json!({"fulfillment_id": fulfilment_id.to_string(), "fulfillment_status": "cancelled", "reason": "not collected in time"}), now).await?;
            tx.commit().await?;
            AppResult::Ok(())
        };
        work.await.map_err(transient)?;
        self.hilo.feed_signal.notify_waiters();
        info!(order = %order_id, fulfilment = %fulfilment_id, "uncollected pickup expired");
        Ok(())
    }
}

/// The reserved units leave with the customer (or the carrier): sold, once.
async fn hand_over(
    tx: &mut hilo_store::Tx,
    fulfilment: &FulfillmentRecord,
    actor: &str,
    order: OrderId,
    now: Timestamp,
) -> AppResult<()> {
    for held in tx
        .settle_reservations(fulfilment.id, ReservationState::Sold.as_str())
        .await?
    {
        let level = tx.lock_level(&held.sku, held.location_id).await?;
        let movement = inventory::plan(&level, Reason::Sold, held.quantity)
            .map_err(|r| AppError::Internal(format!("a held reservation: {r}")))?;
        tx.apply_movement(&NewMovement {
            sku: &held.sku,
            location_id: held.location_id,
            movement,
            actor,
            order_id: Some(order),
            note: "",
            at: now,
        })
        .await?;
    }
    Ok(())
}

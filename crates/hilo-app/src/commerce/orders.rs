//! Orders from any channel: stock reserved in the same transaction as the order, from
//! the location its fulfilment names or the ones the allocation plan chooses; cancelled
//! from any channel with every reservation given back exactly once.

use std::collections::BTreeSet;

use hilo_domain::commerce::catalogue::check_sku;
use hilo_domain::commerce::inventory::{self, Reason};
use hilo_domain::commerce::location::{Offer, Point};
use hilo_domain::commerce::money::{Currency, Money};
use hilo_domain::commerce::order::{
    FulfillmentKind, FulfillmentStatus, MAX_LINES, MAX_QUANTITY, OrderChannel, OrderStatus,
    order_status,
};
use hilo_domain::commerce::promotion::Line;
use hilo_domain::commerce::reservation::ReservationState;
use hilo_domain::customers::changes::ChangeKind;
use hilo_domain::customers::timeline::ItemType;
use hilo_domain::{CustomerId, FulfillmentId, Invalid, LocationId, OrderId, Principal, Timestamp};
use hilo_store::StoreError;
use hilo_store::commerce::{
    HistoryRecord, JobDone, LocationRecord, NewMovement, NewOrder, OrderCustomer, OrderJob,
    OrderLineRecord, OrderRecord, OrderTx, OrderWriter, PlacedTrail, VariantRecord, complete,
};
use hilo_store::customers::NewTimelineItem;
use serde::Serialize;
use serde_json::{Value, json};
use tracing::info;

use super::promotions::redeem;
use super::reserve::{self, Route};
use super::{Commerce, CustomerRef, ListKind};
use crate::{AppError, AppResult};

/// A line as asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRequest {
    pub sku: String,
    pub quantity: i64,
}

/// Where a shipment goes, as given (checked by the API's schema and here).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ShipAddress {
    pub name: String,
    pub line1: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub line2: String,
    pub city: String,
    pub postal_code: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub region: String,
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lng: Option<f64>,
}

/// How the order reaches the customer.
#[derive(Debug, Clone, PartialEq)]
pub enum FulfillmentRequest {
    /// Collected at this store.
    Pickup(LocationId),
    /// Kept at this store, paid there.
    Reserve(LocationId),
    /// Taken at this store's counter now (a point-of-sale sale).
    Counter(LocationId),
    /// Sent to an address, from this location or the ones allocation chooses.
    Ship {
        address: Box<ShipAddress>,
        from: Option<LocationId>,
    },
}

/// An order as asked for.
#[derive(Debug, Clone)]
pub struct OrderRequest {
    pub customer: CustomerRef,
    pub channel: OrderChannel,
    /// `None`: the customer's cart, which the order empties.
    pub lines: Option<Vec<LineRequest>>,
    pub fulfillment: FulfillmentRequest,
    pub currency: Option<Currency>,
    /// An external payment reference, or `{"type": "pay_at_pickup"}`, as given.
    pub payment: Option<Value>,
    /// The staff member who placed it for the customer, when one did.
    pub staff: Option<String>,
    /// A promotion's shared code or a coupon, redeemed with the order.
    pub coupon_code: Option<String>,
    pub idempotency_key: Option<String>,
    /// A digest of the request, to tell a retry from another request with the same key.
    pub request_digest: String,
}

/// An order with the live customer it belongs to now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderView {
    pub record: OrderRecord,
    pub customer_id: CustomerId,
}

/// An order placed, or the one a retry with the same idempotency key placed before.
#[derive(Debug, Clone)]
pub struct Placed {
    pub order: OrderView,
    pub replayed: bool,
}

/// Everything placing an order writes, decided before its transaction: what is left
/// to decide inside it (where the stock comes from, the code's limits, the number) is
/// decided by [`apply_order`] against the rows as the transaction sees them.
#[derive(Clone)]
struct OrderDraft {
    order_id: OrderId,
    /// Who it is for: found inside the transaction (a registered customer's id once the
    /// identifier turned out to be nobody's).
    customer: CustomerRef,
    channel: String,
    actor: String,
    staff: Option<String>,
    status: OrderStatus,
    /// The currency asked for; the first line's main price's otherwise.
    currency: Option<Currency>,
    payment: Option<String>,
    scoped_key: Option<String>,
    request_digest: String,
    lines: Vec<LineRequest>,
    route: Route,
    coupon_code: Option<String>,
    from_cart: bool,
    now: Timestamp,
}

/// What writing an order came to.
enum Written {
    /// Placed: the order as a read of it would find it.
    Placed(Box<OrderRecord>),
    /// Its idempotency key placed another order first: nothing was written.
    KeyTaken,
    /// Its customer is an identifier nobody holds yet: nothing was written.
    NoCustomer,
}

pub(super) const PENDING: [&str; 4] = ["placed", "allocated", "picking", "ready_for_pickup"];

impl Commerce<'_> {
    pub async fn order(&self, id: OrderId) -> AppResult<OrderView> {
        let record = self.hilo.store.order(id).await?.ok_or(AppError::NotFound)?;
        self.view_of(record).await
    }

    async fn view_of(&self, record: OrderRecord) -> AppResult<OrderView> {
        let customer_id = self
            .hilo
            .store
            .customer_root(record.profile_id)
            .await?
            .unwrap_or(record.profile_id);
        Ok(OrderView {
            record,
            customer_id,
        })
    }

    /// A customer's orders on every channel, newest first.
    pub async fn orders_of(
        &self,
        who: &CustomerRef,
        before: Option<OrderId>,
        limit: u32,
    ) -> AppResult<Vec<OrderView>> {
        let Some(root) = self.find_customer(who).await? else {
            return Ok(Vec::new());
        };
        let records = self.hilo.store.orders_of(root, before, limit).await?;
        Ok(records
            .into_iter()
            .map(|record| OrderView {
                record,
                customer_id: root,
            })
            .collect())
    }

    /// Places an order: its lines priced, its stock reserved (or, at a counter, sold) in
    /// the same transaction, its fulfilments allocated, the customer's timeline and the
    /// change feed told. A retry with the same idempotency key returns the first order.
    pub async fn place_order(&self, request: OrderRequest, by: &Principal) -> AppResult<Placed> {
        let scoped_key = request
            .idempotency_key
            .as_ref()
            .map(|key| format!("{}\n{key}", by.actor()));
        if let Some(key) = &scoped_key
            && let Some(placed) = self.replay(key, &request.request_digest).await?
        {
            return Ok(placed);
        }
        // A sale at a counter is its own store's: a member bound to another may not.
        if let FulfillmentRequest::Counter(location) = &request.fulfillment {
            self.check_desk(by, *location).await?;
        }
        let channel = request.channel.as_str();
        let from_cart = request.lines.is_none();
        let (customer, lines) = match &request.lines {
            Some(lines) => (request.customer.clone(), lines.clone()),
            // The cart is the customer's: found (or registered) first.
            None => {
                let root = self
                    .customer_for_writing(&request.customer, channel, by)
                    .await?;
                let cart = self
                    .hilo
                    .store
                    .cart_lines(root, ListKind::Cart.as_str())
                    .await?;
                let lines = cart
                    .into_iter()
                    .map(|l| LineRequest {
                        sku: l.sku,
                        quantity: l.quantity,
                    })
                    .collect();
                (CustomerRef::Id(root), lines)
            }
        };
        let field = if from_cart { "from_cart" } else { "lines" };
        check_lines(field, &lines)?;
        let (kind, candidates, split, ship_address) = self.candidates(&request.fulfillment).await?;
        let order_id = OrderId::generate();
        let mut draft = OrderDraft {
            order_id,
            customer,
            channel: channel.to_owned(),
            actor: by.actor(),
            staff: request.staff.clone(),
            status: if kind == FulfillmentKind::Counter {
                OrderStatus::Completed
            } else {
                OrderStatus::Open
            },
            currency: request.currency,
            payment: request.payment.as_ref().map(Value::to_string),
            scoped_key: scoped_key.clone(),
            request_digest: request.request_digest.clone(),
            lines,
            route: Route {
                kind,
                candidates,
                split,
                ship_address,
            },
            coupon_code: request.coupon_code.clone(),
            from_cart,
            now: self.hilo.now(),
        };
        let record = loop {
            match self.write_order(draft.clone()).await? {
                Written::Placed(record) => break record,
                // Nobody holds the identifier yet: registered, as staff registration
                // would, and the order written for them.
                Written::NoCustomer => {
                    let root = self
                        .customer_for_writing(&draft.customer, channel, by)
                        .await?;
                    draft.customer = CustomerRef::Id(root);
                }
                // The same key's first request committed while this one was on its way.
                Written::KeyTaken => {
                    let key = scoped_key.as_deref().unwrap_or_default();
                    return self
                        .replay(key, &request.request_digest)
                        .await?
                        .ok_or_else(|| AppError::Conflict("the order is being placed".into()));
                }
            }
        };
        self.hilo.feed_signal.notify_waiters();
        info!(order = %order_id, number = record.number, channel, lines = record.lines.len(), "order placed");
        Ok(Placed {
            order: OrderView {
                customer_id: record.profile_id,
                record: *record,
            },
            replayed: false,
        })
    }

    async fn replay(&self, key: &str, digest: &str) -> AppResult<Option<Placed>> {
        let Some(record) = self.hilo.store.order_by_idempotency_key(key).await? else {
            return Ok(None);
        };
        if record.request_digest.as_deref() != Some(digest) {
            return Err(AppError::Conflict(
                "Idempotency-Key: this key placed an order with another request".into(),
            ));
        }
        Ok(Some(Placed {
            order: self.view_of(record).await?,
            replayed: true,
        }))
    }

    /// Writes an order: on SQLite through the order writer, which applies the orders
    /// waiting in one transaction; through a transaction of the pool otherwise (and on
    /// SQLite when the writer is gone or its queue is full). Answers once the order is
    /// on disk, or refused and undone.
    async fn write_order(&self, draft: OrderDraft) -> AppResult<Written> {
        let draft = std::sync::Arc::new(draft);
        let writer = self
            .hilo
            .order_writer
            .get_or_init(|| OrderWriter::start(&self.hilo.store, self.hilo.unflushed.clone()));
        if let Some(writer) = writer {
            let (reply, answer) = tokio::sync::oneshot::channel();
            if writer.submit(order_job(draft.clone(), reply)).is_ok() {
                let written = answer
                    .await
                    .map_err(|_| AppError::Internal("the order writer dropped an order".into()))?;
                // A writer is busy: work that can wait takes fewer turns.
                self.hilo.orders_committed();
                return written;
            }
        }
        let mut tx = self.hilo.store.begin_planned_once().await?;
        let written = apply_order(&mut tx, &draft).await?;
        if matches!(written, Written::Placed(_)) {
            tx.commit_outside_graph().await?;
        }
        Ok(written)
    }

    /// The locations that may serve a fulfilment, as (id, preferred, distance,
    /// priority); whether the plan may split; the shipping address as stored.
    #[allow(clippy::type_complexity)]
    pub(super) async fn candidates(
        &self,
        request: &FulfillmentRequest,
    ) -> AppResult<(
        FulfillmentKind,
        Vec<(LocationId, bool, Option<f64>, i64)>,
        bool,
        Option<String>,
    )> {
        let field = "fulfillment.location_id";
        let at_store = |location: LocationId, kind: FulfillmentKind| async move {
            let found = match self.known_location(location).await {
                Ok(found) => found,
                Err(AppError::NotFound) => {
                    return Err(AppError::from(Invalid::new(field, "no such location")));
                }
                Err(other) => return Err(other),
            };
            if kind != FulfillmentKind::Counter && !found.offers(Offer::Pickup) {
                return Err(Invalid::new(field, "this location does not offer pickup").into());
            }
            Ok((
                kind,
                vec![(location, true, None, found.priority)],
                false,
                None,
            ))
        };
        match request {
            FulfillmentRequest::Pickup(location) => {
                at_store(*location, FulfillmentKind::Pickup).await
            }
            FulfillmentRequest::Reserve(location) => {
                at_store(*location, FulfillmentKind::Reserve).await
            }
            FulfillmentRequest::Counter(location) => {
                at_store(*location, FulfillmentKind::Counter).await
            }
            FulfillmentRequest::Ship { address, from } => {
                let address = check_address(address)?;
                let to = match (address.lat, address.lng) {
                    (Some(lat), Some(lng)) => Some(Point::new(lat, lng).map_err(|e| {
                        let f = format!("fulfillment.address.{}", e.field);
                        e.in_field(f)
                    })?),
                    (None, None) => None,
                    (Some(_), None) | (None, Some(_)) => {
                        return Err(Invalid::new(
                            "fulfillment.address",
                            "give lat and lng together, or neither",
                        )
                        .into());
                    }
                };
                let known = self.known_locations().await?;
                let locations: Vec<&LocationRecord> = known.iter().map(|l| &l.record).collect();
                let mut candidates = Vec::new();
                for location in locations.iter().filter(|l| l.offers(Offer::Ship)) {
                    if from.is_some_and(|f| f != location.id) {
                        continue;
                    }
                    let distance = to.map(|p| p.distance_km(&location.point));
                    candidates.push((location.id, false, distance, location.priority));
                }
                if let Some(from) = from
                    && candidates.is_empty()
                {
                    let known = locations.iter().any(|l| l.id == *from);
                    return Err(Invalid::new(
                        "fulfillment.from_location_id",
                        if known {
                            "this location does not ship"
                        } else {
                            "no such location"
                        },
                    )
                    .into());
                }
                let stored = serde_json::to_string(&address).ok();
                Ok((FulfillmentKind::Ship, candidates, true, stored))
            }
        }
    }

    /// Cancels what is left of an order: every fulfilment not yet handed over, its
    /// reservations given back exactly once however many cancellations race.
    pub async fn cancel_order(
        &self,
        id: OrderId,
        channel: &str,
        reason: &str,
        by: &Principal,
    ) -> AppResult<OrderView> {
        let channel = channel_name(channel)?;
        let reason = hilo_domain::commerce::catalogue::check_text("reason", reason, 500, false)?;
        let actor = by.actor();
        let now = self.hilo.now();
        let mut tx = self.hilo.store.begin().await?;
        let order = tx.order(id).await?.ok_or(AppError::NotFound)?;
        let mut cancelled = Vec::new();
        for fulfilment in &order.fulfillments {
            if tx
                .move_fulfillment(fulfilment.id, &PENDING, "cancelled", now)
                .await?
            {
                cancelled.push(fulfilment.id);
                release(&mut tx, fulfilment.id, &actor, id, now).await?;
                tx.record_order_history(
                    id,
                    Some(fulfilment.id),
                    "cancelled",
                    &actor,
                    channel,
                    &json!({"reason": reason}).to_string(),
                    now,
                )
                .await?;
            }
        }
        if cancelled.is_empty() {
            return Err(AppError::Conflict(format!(
                "order {} has nothing left to cancel: it is {}",
                order.number, order.status
            )));
        }
        let detail = json!({"reason": reason,
            "fulfillments": cancelled.iter().map(ToString::to_string).collect::<Vec<_>>()});
        settle_order(&mut tx, &order, channel, detail, now).await?;
        tx.commit().await?;
        self.hilo.feed_signal.notify_waiters();
        info!(order = %id, fulfilments = cancelled.len(), "order cancelled");
        self.order(id).await
    }
}

/// After a fulfilment moved: the order's status from its fulfilments', a timeline item
/// (`Order Cancelled` when the whole order is, `Order Updated` otherwise) and the change
/// webhooks carry. `order` is the order as it was before.
pub(super) async fn settle_order(
    tx: &mut hilo_store::Tx,
    order: &OrderRecord,
    channel: &str,
    detail: Value,
    now: hilo_domain::Timestamp,
) -> AppResult<OrderStatus> {
    let after = tx.order(order.id).await?.ok_or(AppError::NotFound)?;
    let statuses: Vec<FulfillmentStatus> = after
        .fulfillments
        .iter()
        .filter_map(|f| f.status.parse().ok())
        .collect();
    let status = order_status(&statuses);
    tx.set_order_status(order.id, status.as_str(), now).await?;
    if status == OrderStatus::Cancelled {
        // Its coupon may be used again, its promotion counts one fewer: once.
        tx.revert_redemptions(order.id, now).await?;
    }
    let root = tx.root_of(order.profile_id).await?;
    let (kind, name) = if status == OrderStatus::Cancelled {
        (ChangeKind::OrderCancelled, "Order Cancelled")
    } else {
        (ChangeKind::OrderUpdated, "Order Updated")
    };
    let mut body = json!({"order_id": order.id.to_string(), "number": order.number.to_string(),
        "status": status.as_str()});
    if let (Some(body), Value::Object(detail)) = (body.as_object_mut(), detail) {
        body.extend(detail);
    }
    tx.append_timeline(&NewTimelineItem {
        profile_id: root,
        item_type: ItemType::Commerce,
        kind: "order",
        name: Some(name),
        channel,
        source_id: None,
        message_id: None,
        at: now,
        received_at: now,
        body: &body.to_string(),
    })
    .await?;
    let change = json!({"order_id": order.id.to_string(), "number": order.number.to_string(),
        "status": status.as_str(), "channel": channel, "total": after.total,
        "currency": after.currency, "changed": ["fulfillments"]});
    tx.record_change(kind, root, &change.to_string(), now)
        .await?;
    Ok(status)
}

/// Gives back a fulfilment's reservations still held: each leaves `held` once, so a
/// second cancellation finds nothing to give back.
pub(super) async fn release(
    tx: &mut hilo_store::Tx,
    fulfilment: FulfillmentId,
    actor: &str,
    order: OrderId,
    now: hilo_domain::Timestamp,
) -> AppResult<()> {
    for held in tx
        .settle_reservations(fulfilment, ReservationState::Released.as_str())
        .await?
    {
        let level = tx.lock_level(&held.sku, held.location_id).await?;
        let movement = inventory::plan(&level, Reason::Released, held.quantity)
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

/// A channel a change was made on: an order channel, or `server` for another system.
pub(super) fn channel_or_server(channel: &str) -> Result<&str, Invalid> {
    if channel == "server" {
        return Ok(channel);
    }
    channel_name(channel).map_err(|_| {
        Invalid::new(
            "channel",
            "must be web, app, pos, kiosk, call_center, voice_assistant, live_event, store_tablet or server",
        )
    })
}

pub(super) fn channel_name(channel: &str) -> Result<&str, Invalid> {
    channel.parse::<OrderChannel>().map(OrderChannel::as_str)
}

pub(super) fn check_lines(field: &str, lines: &[LineRequest]) -> Result<(), Invalid> {
    if lines.is_empty() {
        return Err(Invalid::new(
            field,
            if field == "from_cart" {
                "the cart is empty"
            } else {
                "name at least one line"
            },
        ));
    }
    if lines.len() > MAX_LINES {
        return Err(Invalid::new(field, format!("at most {MAX_LINES} lines")));
    }
    let mut seen = BTreeSet::new();
    for (i, line) in lines.iter().enumerate() {
        check_sku(&format!("lines[{i}].sku"), &line.sku)?;
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            return Err(Invalid::new(
                format!("lines[{i}].quantity"),
                format!("must be from 1 to {MAX_QUANTITY}"),
            ));
        }
        if !seen.insert(line.sku.as_str()) {
            return Err(Invalid::new(
                format!("lines[{i}].sku"),
                "appears on another line: one line per SKU",
            ));
        }
    }
    Ok(())
}

pub(super) struct Priced<'a> {
    pub lines: Vec<(&'a LineRequest, String, Money)>,
    pub total: Money,
}

impl Priced<'_> {
    /// The lines as a promotion's rules read them: each line's total and categories.
    pub(super) fn promotion_lines(&self, variants: &[VariantRecord]) -> Vec<Line> {
        self.lines
            .iter()
            .map(|(line, _, price)| Line {
                sku: line.sku.clone(),
                categories: variants
                    .iter()
                    .find(|v| v.sku == line.sku)
                    .map(|v| v.categories.clone())
                    .unwrap_or_default(),
                total: price
                    .times(u32::try_from(line.quantity).unwrap_or(0))
                    .unwrap_or(*price),
            })
            .collect()
    }
}

/// Each line's name and unit price in the order's currency (given, or the first
/// line's main one), and the total.
pub(super) fn price_lines<'a>(
    lines: &'a [LineRequest],
    variants: &[VariantRecord],
    currency: Option<Currency>,
) -> Result<Priced<'a>, Invalid> {
    let mut priced = Vec::with_capacity(lines.len());
    let mut currency = currency;
    let mut total: Option<Money> = None;
    for (i, line) in lines.iter().enumerate() {
        let field = format!("lines[{i}].sku");
        let Some(variant) = variants.iter().find(|v| v.sku == line.sku) else {
            return Err(Invalid::new(field, "no product has this SKU"));
        };
        let wanted = match currency {
            Some(c) => c,
            None => {
                let main = variant
                    .prices
                    .first()
                    .ok_or_else(|| Invalid::new(field.clone(), "has no price"))?
                    .currency;
                currency = Some(main);
                main
            }
        };
        let price = variant
            .price_in(wanted)
            .ok_or_else(|| Invalid::new(field.clone(), format!("has no price in {wanted}")))?;
        let quantity = u32::try_from(line.quantity).unwrap_or(0);
        let amount = price
            .times(quantity)
            .and_then(|a| total.map_or(Ok(a), |t| t.plus(a)))
            .map_err(|e| Invalid::new("lines", e.to_string()))?;
        total = Some(amount);
        priced.push((line, variant.name_es.clone(), price));
    }
    let total = total.ok_or_else(|| Invalid::new("lines", "name at least one line"))?;
    Ok(Priced {
        lines: priced,
        total,
    })
}

fn check_address(address: &ShipAddress) -> Result<ShipAddress, Invalid> {
    use hilo_domain::commerce::catalogue::check_text;
    let f = |name: &str| format!("fulfillment.address.{name}");
    Ok(ShipAddress {
        name: check_text(&f("name"), &address.name, 200, true)?,
        line1: check_text(&f("line1"), &address.line1, 200, true)?,
        line2: check_text(&f("line2"), &address.line2, 200, false)?,
        city: check_text(&f("city"), &address.city, 100, true)?,
        postal_code: check_text(&f("postal_code"), &address.postal_code, 20, true)?,
        region: check_text(&f("region"), &address.region, 100, false)?,
        country: {
            let country = address.country.trim().to_ascii_uppercase();
            if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(Invalid::new(
                    f("country"),
                    "is an ISO 3166 alpha-2 code (ES)",
                ));
            }
            country
        },
        lat: address.lat,
        lng: address.lng,
    })
}

/// The writer's job for one order: applies it in the writer's transaction and answers
/// through `reply` once that transaction has committed (or the order was refused).
fn order_job(
    draft: std::sync::Arc<OrderDraft>,
    reply: tokio::sync::oneshot::Sender<AppResult<Written>>,
) -> OrderJob {
    Box::new(move |tx| {
        let result = match tx {
            Some(tx) => complete(apply_order(tx, &draft)).unwrap_or_else(|| {
                Err(AppError::Internal(
                    "an order's write waited outside its transaction".into(),
                ))
            }),
            None => Err(AppError::Internal(
                "the order writer could not begin".into(),
            )),
        };
        let keep = matches!(result, Ok(Written::Placed(_)));
        JobDone {
            keep,
            after_commit: Box::new(move |committed| {
                let answer = match (result, committed) {
                    (Ok(Written::Placed(_)), Err(failure)) => Err(AppError::Internal(format!(
                        "the order's transaction did not commit: {failure}"
                    ))),
                    (result, _) => result,
                };
                let _ = reply.send(answer);
            }),
        }
    })
}

/// Places an order inside its transaction, on either engine: the header with its
/// number, the lines, the stock taken (the allocation plan over the levels as the
/// transaction sees them), the code redeemed after the stock (every transaction takes
/// level rows before a promotion's, a cancellation too, so none waits on another
/// crosswise), the history, the cart emptied, the timeline and the change feed told.
async fn apply_order<T: OrderTx>(tx: &mut T, d: &OrderDraft) -> AppResult<Written> {
    let skus: Vec<String> = d.lines.iter().map(|l| l.sku.clone()).collect();
    let customer = match &d.customer {
        CustomerRef::Id(id) => OrderCustomer::Id(*id),
        CustomerRef::Identifier(identifier) => OrderCustomer::Identifier(identifier),
    };
    let (root, variants) = tx.customer_and_variants(customer, &skus).await?;
    let root = match (root, &d.customer) {
        (Some(root), _) => root,
        (None, CustomerRef::Id(_)) => return Err(AppError::NotFound),
        (None, CustomerRef::Identifier(_)) => return Ok(Written::NoCustomer),
    };
    let priced = price_lines(&d.lines, &variants, d.currency)?;
    let promotion_lines = priced.promotion_lines(&variants);
    let subtotal = priced.total;
    let wanted: Vec<(String, i64)> = d
        .lines
        .iter()
        .map(|l| (l.sku.clone(), l.quantity))
        .collect();
    let currency = subtotal.currency.to_string();
    let lines: Vec<OrderLineRecord> = priced
        .lines
        .iter()
        .enumerate()
        .map(|(index, (line, name, price))| OrderLineRecord {
            line_no: index as i64,
            sku: line.sku.clone(),
            name: name.clone(),
            quantity: line.quantity,
            unit_price: price.amount,
        })
        .collect();
    let inserted = tx
        .insert_order_with_lines(
            &NewOrder {
                id: d.order_id,
                profile_id: root,
                channel: &d.channel,
                actor: &d.actor,
                staff: d.staff.as_deref(),
                status: d.status.as_str(),
                currency: &currency,
                subtotal: subtotal.amount,
                discount: 0,
                total: subtotal.amount,
                coupon_code: None,
                payment: d.payment.as_deref(),
                idempotency_key: d.scoped_key.as_deref(),
                request_digest: Some(&d.request_digest),
                at: d.now,
            },
            &lines,
        )
        .await;
    let number = match inserted {
        Ok(number) => number,
        Err(StoreError::Conflict) if d.scoped_key.is_some() => return Ok(Written::KeyTaken),
        Err(other) => return Err(other.into()),
    };
    let reserved = reserve::reserve(tx, d.order_id, &wanted, &d.route, 0, &d.actor, d.now).await?;
    let mut total = subtotal;
    let mut coupon_code = None;
    if let Some(typed) = d.coupon_code.as_deref() {
        let redeemed = redeem(
            tx,
            typed,
            root,
            &promotion_lines,
            subtotal.currency,
            d.order_id,
            d.now,
        )
        .await?;
        total = Money::new(
            subtotal.amount - redeemed.discount.amount,
            subtotal.currency,
        );
        tx.set_order_totals(
            d.order_id,
            redeemed.discount.amount,
            total.amount,
            &redeemed.code,
        )
        .await?;
        tx.insert_redemption(
            d.order_id,
            &redeemed.promotion,
            redeemed.coupon.as_deref(),
            root,
            redeemed.discount.amount,
            d.now,
        )
        .await?;
        coupon_code = Some(redeemed.code);
    }
    let detail = json!({"fulfillments": reserved.by_location.values().map(ToString::to_string).collect::<Vec<_>>()})
        .to_string();
    if d.from_cart {
        tx.clear_cart(root, ListKind::Cart.as_str()).await?;
    }
    let products: Vec<Value> = priced
        .lines
        .iter()
        .map(|(line, name, price)| {
            json!({"sku": line.sku, "name": name, "quantity": line.quantity, "price": price.amount})
        })
        .collect();
    let body = json!({"order_id": d.order_id.to_string(), "number": number.to_string(),
        "total": total.amount, "discount": subtotal.amount - total.amount,
        "coupon": d.coupon_code, "currency": currency, "products": products})
    .to_string();
    let change = json!({"order_id": d.order_id.to_string(), "number": number.to_string(),
        "status": d.status.as_str(), "channel": d.channel, "total": total.amount,
        "currency": currency})
    .to_string();
    tx.record_placed(&PlacedTrail {
        order_id: d.order_id,
        event: "placed",
        actor: &d.actor,
        channel: &d.channel,
        detail: &detail,
        at: d.now,
        timeline: NewTimelineItem {
            profile_id: root,
            item_type: ItemType::Commerce,
            kind: "order",
            name: Some("Order Completed"),
            channel: &d.channel,
            source_id: None,
            message_id: None,
            at: d.now,
            received_at: d.now,
            body: &body,
        },
        change_kind: ChangeKind::OrderCompleted,
        change: &change,
    })
    .await?;
    Ok(Written::Placed(Box::new(OrderRecord {
        id: d.order_id,
        number,
        profile_id: root,
        channel: d.channel.clone(),
        actor: d.actor.clone(),
        staff: d.staff.clone(),
        status: d.status.as_str().to_owned(),
        currency,
        subtotal: subtotal.amount,
        discount: subtotal.amount - total.amount,
        total: total.amount,
        coupon_code,
        payment: d.payment.clone(),
        request_digest: Some(d.request_digest.clone()),
        created_at: d.now,
        updated_at: d.now,
        lines,
        fulfillments: reserved.fulfillments,
        reservations: reserved.reservations,
        history: vec![HistoryRecord {
            fulfillment_id: None,
            event: "placed".into(),
            actor: d.actor.clone(),
            channel: d.channel.clone(),
            detail,
            at: d.now,
        }],
    })))
}

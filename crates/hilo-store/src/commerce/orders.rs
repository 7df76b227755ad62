//! Orders, their lines, fulfilments, reservations and history.

use hilo_domain::{CustomerId, FulfillmentId, LocationId, OrderId, Timestamp};

use super::parse;
use crate::sql::tree;
use crate::tx::{Tx, on_tx};
use crate::{Store, StoreResult};

/// An order to store (its lines, fulfilments and reservations follow).
#[derive(Debug, Clone)]
pub struct NewOrder<'a> {
    pub id: OrderId,
    pub profile_id: CustomerId,
    pub channel: &'a str,
    pub actor: &'a str,
    pub staff: Option<&'a str>,
    pub status: &'a str,
    pub currency: &'a str,
    pub subtotal: i64,
    pub discount: i64,
    pub total: i64,
    pub coupon_code: Option<&'a str>,
    pub payment: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
    pub request_digest: Option<&'a str>,
    pub at: Timestamp,
}

/// A stored order with everything about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRecord {
    pub id: OrderId,
    pub number: i64,
    pub profile_id: CustomerId,
    pub channel: String,
    pub actor: String,
    pub staff: Option<String>,
    pub status: String,
    pub currency: String,
    pub subtotal: i64,
    pub discount: i64,
    pub total: i64,
    pub coupon_code: Option<String>,
    pub payment: Option<String>,
    pub request_digest: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub lines: Vec<OrderLineRecord>,
    pub fulfillments: Vec<FulfillmentRecord>,
    pub reservations: Vec<ReservationRecord>,
    pub history: Vec<HistoryRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLineRecord {
    pub line_no: i64,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FulfillmentRecord {
    pub id: FulfillmentId,
    pub order_id: OrderId,
    pub kind: String,
    pub location_id: Option<LocationId>,
    /// JSON of the address a shipment goes to.
    pub ship_address: Option<String>,
    pub status: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The seed a ready pickup's code is derived from (never the code).
    pub code_seed: Option<String>,
    pub code_expires_at: Option<Timestamp>,
    /// Who collected it, when someone other than the customer did.
    pub collected_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservationRecord {
    pub order_id: OrderId,
    pub line_no: i64,
    pub fulfillment_id: FulfillmentId,
    pub sku: String,
    pub location_id: LocationId,
    pub quantity: i64,
    /// `held`, then once `released` or `sold`.
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRecord {
    pub fulfillment_id: Option<String>,
    pub event: String,
    pub actor: String,
    pub channel: String,
    pub detail: String,
    pub at: Timestamp,
}

type OrderRow = (
    String,
    i64,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    i64,
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    i64,
);
type FulfillmentRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    i64,
    Option<String>,
    Option<i64>,
    Option<String>,
);

macro_rules! fulfillments {
    ($rest:literal) => {
        concat!(
            "SELECT id, order_id, kind, location_id, ship_address, status, created_at, \
             updated_at, code_seed, code_expires_at, collected_by FROM fulfillments ",
            $rest
        )
    };
}

fn fulfillment(row: FulfillmentRow) -> StoreResult<FulfillmentRecord> {
    let (id, order, kind, location, address, status, created, updated, seed, expires, by) = row;
    Ok(FulfillmentRecord {
        id: parse("fulfillment id", &id)?,
        order_id: parse("order id", &order)?,
        kind,
        location_id: location.map(|l| parse("location id", &l)).transpose()?,
        ship_address: address,
        status,
        created_at: Timestamp::from_millis(created),
        updated_at: Timestamp::from_millis(updated),
        code_seed: seed,
        code_expires_at: expires.map(Timestamp::from_millis),
        collected_by: by,
    })
}
type ReservationRow = (String, i64, String, String, String, i64, String);

macro_rules! orders {
    ($rest:literal) => {
        concat!(
            "SELECT id, number, profile_id, channel, actor, staff, status, currency, \
    subtotal, discount, total, coupon_code, payment, request_digest, created_at, updated_at \
    FROM orders",
            " ",
            $rest
        )
    };
}
macro_rules! reservations {
    ($rest:literal) => {
        concat!(
            "SELECT order_id, line_no, fulfillment_id, sku, location_id, \
    quantity, state FROM reservations",
            " ",
            $rest
        )
    };
}

fn order(row: OrderRow) -> StoreResult<OrderRecord> {
    let (
        id,
        number,
        profile,
        channel,
        actor,
        staff,
        status,
        currency,
        subtotal,
        discount,
        total,
        coupon,
        payment,
        digest,
        created,
        updated,
    ) = row;
    Ok(OrderRecord {
        id: parse("order id", &id)?,
        number,
        profile_id: parse("customer id", &profile)?,
        channel,
        actor,
        staff,
        status,
        currency,
        subtotal,
        discount,
        total,
        coupon_code: coupon,
        payment,
        request_digest: digest,
        created_at: Timestamp::from_millis(created),
        updated_at: Timestamp::from_millis(updated),
        lines: Vec::new(),
        fulfillments: Vec::new(),
        reservations: Vec::new(),
        history: Vec::new(),
    })
}

fn reservation(row: ReservationRow) -> StoreResult<ReservationRecord> {
    let (order, line_no, fulfillment, sku, location, quantity, state) = row;
    Ok(ReservationRecord {
        order_id: parse("order id", &order)?,
        line_no,
        fulfillment_id: parse("fulfillment id", &fulfillment)?,
        sku,
        location_id: parse("location id", &location)?,
        quantity,
        state,
    })
}

/// On SQLite, the next order number (the writer holds the whole database).
pub(super) const SQLITE_NEXT_NUMBER: &str = "SELECT COALESCE(MAX(number), 100000) + 1 FROM orders";
pub(super) const INSERT_ORDER: &str = "INSERT INTO orders (id, number, profile_id, channel, \
    actor, staff, status, currency, subtotal, discount, total, coupon_code, payment, \
    idempotency_key, request_digest, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)";
pub(super) const INSERT_ORDER_LINE: &str = "INSERT INTO order_lines (order_id, line_no, sku, \
    name, quantity, unit_price) VALUES ($1, $2, $3, $4, $5, $6)";
pub(super) const INSERT_FULFILLMENT: &str = "INSERT INTO fulfillments (id, order_id, kind, \
    location_id, ship_address, status, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
pub(super) const INSERT_RESERVATION: &str = "INSERT INTO reservations (order_id, line_no, \
    fulfillment_id, sku, location_id, quantity, state) VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub(super) const SET_ORDER_TOTALS: &str =
    "UPDATE orders SET discount = $2, total = $3, coupon_code = $4 WHERE id = $1";
pub(super) const RECORD_HISTORY: &str = "INSERT INTO order_history (order_id, fulfillment_id, \
    event, actor, channel, detail, at) VALUES ($1, $2, $3, $4, $5, $6, $7)";

impl Store {
    pub async fn order(&self, id: OrderId) -> StoreResult<Option<OrderRecord>> {
        self.begin_read().await?.order(id).await
    }

    pub async fn order_by_number(&self, number: i64) -> StoreResult<Option<OrderRecord>> {
        let mut tx = self.begin_read().await?;
        let id = on_tx!(&mut tx, |conn| sqlx::query_scalar::<_, String>(
            "SELECT id FROM orders WHERE number = $1"
        )
        .bind(number)
        .fetch_optional(conn)
        .await?);
        match id {
            Some(id) => tx.order(parse("order id", &id)?).await,
            None => Ok(None),
        }
    }

    /// The order a fulfilment belongs to.
    pub async fn order_of_fulfillment(
        &self,
        id: FulfillmentId,
    ) -> StoreResult<Option<OrderRecord>> {
        let mut tx = self.begin_read().await?;
        let order = on_tx!(&mut tx, |conn| sqlx::query_scalar::<_, String>(
            "SELECT order_id FROM fulfillments WHERE id = $1"
        )
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?);
        match order {
            Some(order) => tx.order(parse("order id", &order)?).await,
            None => Ok(None),
        }
    }

    /// The orders with a pickup waiting at `location`'s desk, longest waiting first.
    pub async fn waiting_pickups(&self, location: LocationId) -> StoreResult<Vec<OrderId>> {
        let mut tx = self.begin_read().await?;
        let ids = on_tx!(&mut tx, |conn| sqlx::query_scalar::<_, String>(
            "SELECT order_id FROM fulfillments WHERE location_id = $1 \
             AND status = 'ready_for_pickup' ORDER BY updated_at, id LIMIT 100"
        )
        .bind(location.to_string())
        .fetch_all(conn)
        .await?);
        ids.iter().map(|id| parse("order id", id)).collect()
    }

    /// The order placed with this idempotency key (the caller's key and theirs).
    pub async fn order_by_idempotency_key(&self, key: &str) -> StoreResult<Option<OrderRecord>> {
        let mut tx = self.begin_read().await?;
        let id = on_tx!(&mut tx, |conn| sqlx::query_scalar::<_, String>(
            "SELECT id FROM orders WHERE idempotency_key = $1"
        )
        .bind(key)
        .fetch_optional(conn)
        .await?);
        match id {
            Some(id) => tx.order(parse("order id", &id)?).await,
            None => Ok(None),
        }
    }

    /// The live customer `root`'s orders, newest first, older than `before` (an order
    /// id) when given.
    pub async fn orders_of(
        &self,
        root: CustomerId,
        before: Option<OrderId>,
        limit: u32,
    ) -> StoreResult<Vec<OrderRecord>> {
        const SQL: &str = tree!(
            "SELECT id FROM orders WHERE profile_id IN (SELECT id FROM tree) \
             AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
        );
        let mut tx = self.begin_read().await?;
        let ids = on_tx!(&mut tx, |conn| sqlx::query_scalar::<_, String>(SQL)
            .bind(root.to_string())
            .bind(before.map(|b| b.to_string()))
            .bind(i64::from(limit))
            .fetch_all(conn)
            .await?);
        let mut orders = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(order) = tx.order(parse("order id", &id)?).await? {
                orders.push(order);
            }
        }
        Ok(orders)
    }
}

impl Tx {
    /// An order with its lines, fulfilments, reservations and history.
    pub async fn order(&mut self, id: OrderId) -> StoreResult<Option<OrderRecord>> {
        let key = id.to_string();
        let row = on_tx!(self, |conn| sqlx::query_as::<_, OrderRow>(orders!(
            "WHERE id = $1"
        ))
        .bind(&key)
        .fetch_optional(conn)
        .await?);
        let Some(row) = row else { return Ok(None) };
        let mut order = order(row)?;
        let lines = on_tx!(self, |conn| sqlx::query_as::<
            _,
            (i64, String, String, i64, i64),
        >(
            "SELECT line_no, sku, name, quantity, unit_price FROM order_lines \
             WHERE order_id = $1 ORDER BY line_no"
        )
        .bind(&key)
        .fetch_all(conn)
        .await?);
        order.lines = lines
            .into_iter()
            .map(
                |(line_no, sku, name, quantity, unit_price)| OrderLineRecord {
                    line_no,
                    sku,
                    name,
                    quantity,
                    unit_price,
                },
            )
            .collect();
        let fulfillments = on_tx!(self, |conn| sqlx::query_as::<_, FulfillmentRow>(
            fulfillments!("WHERE order_id = $1 ORDER BY id")
        )
        .bind(&key)
        .fetch_all(conn)
        .await?);
        order.fulfillments = fulfillments
            .into_iter()
            .map(fulfillment)
            .collect::<StoreResult<_>>()?;
        let reservations = on_tx!(self, |conn| sqlx::query_as::<_, ReservationRow>(
            reservations!("WHERE order_id = $1 ORDER BY line_no, location_id")
        )
        .bind(&key)
        .fetch_all(conn)
        .await?);
        order.reservations = reservations
            .into_iter()
            .map(reservation)
            .collect::<StoreResult<_>>()?;
        let history = on_tx!(self, |conn| sqlx::query_as::<
            _,
            (Option<String>, String, String, String, String, i64),
        >(
            "SELECT fulfillment_id, event, actor, channel, detail, at FROM order_history \
             WHERE order_id = $1 ORDER BY id"
        )
        .bind(&key)
        .fetch_all(conn)
        .await?);
        order.history = history
            .into_iter()
            .map(
                |(fulfillment_id, event, actor, channel, detail, at)| HistoryRecord {
                    fulfillment_id,
                    event,
                    actor,
                    channel,
                    detail,
                    at: Timestamp::from_millis(at),
                },
            )
            .collect();
        Ok(Some(order))
    }

    /// Stores an order's header with the next order number, which it returns.
    pub async fn insert_order(&mut self, o: &NewOrder<'_>) -> StoreResult<i64> {
        let next = match self {
            Tx::Sqlite(..) => SQLITE_NEXT_NUMBER,
            Tx::Postgres(_) => "SELECT nextval('order_numbers')",
        };
        let number = on_tx!(self, |conn| sqlx::query_scalar::<_, i64>(next)
            .fetch_one(conn)
            .await?);
        on_tx!(self, |conn| sqlx::query(INSERT_ORDER)
            .bind(o.id.to_string())
            .bind(number)
            .bind(o.profile_id.to_string())
            .bind(o.channel)
            .bind(o.actor)
            .bind(o.staff)
            .bind(o.status)
            .bind(o.currency)
            .bind(o.subtotal)
            .bind(o.discount)
            .bind(o.total)
            .bind(o.coupon_code)
            .bind(o.payment)
            .bind(o.idempotency_key)
            .bind(o.request_digest)
            .bind(o.at.millis())
            .execute(conn)
            .await?
            .rows_affected());
        Ok(number)
    }

    pub async fn insert_order_line(
        &mut self,
        order: OrderId,
        line: &OrderLineRecord,
    ) -> StoreResult<()> {
        on_tx!(self, |conn| sqlx::query(INSERT_ORDER_LINE)
            .bind(order.to_string())
            .bind(line.line_no)
            .bind(&line.sku)
            .bind(&line.name)
            .bind(line.quantity)
            .bind(line.unit_price)
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }

    pub async fn insert_fulfillment(&mut self, f: &FulfillmentRecord) -> StoreResult<()> {
        on_tx!(self, |conn| sqlx::query(INSERT_FULFILLMENT)
            .bind(f.id.to_string())
            .bind(f.order_id.to_string())
            .bind(&f.kind)
            .bind(f.location_id.map(|l| l.to_string()))
            .bind(&f.ship_address)
            .bind(&f.status)
            .bind(f.created_at.millis())
            .bind(f.updated_at.millis())
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }

    pub async fn insert_reservation(&mut self, r: &ReservationRecord) -> StoreResult<()> {
        on_tx!(self, |conn| sqlx::query(INSERT_RESERVATION)
            .bind(r.order_id.to_string())
            .bind(r.line_no)
            .bind(r.fulfillment_id.to_string())
            .bind(&r.sku)
            .bind(r.location_id.to_string())
            .bind(r.quantity)
            .bind(&r.state)
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Moves a fulfilment's reservations still `held` to `state` (`released` or `sold`)
    /// and returns them: a reservation leaves `held` once, however many callers race
    /// (`hilo_domain::commerce::reservation::ReservationState::settle` states the rule).
    pub async fn settle_reservations(
        &mut self,
        fulfillment: FulfillmentId,
        state: &str,
    ) -> StoreResult<Vec<ReservationRecord>> {
        const SQL: &str = "UPDATE reservations SET state = $2 WHERE fulfillment_id = $1 \
            AND state = 'held' RETURNING order_id, line_no, fulfillment_id, sku, location_id, \
            quantity, state";
        let rows = on_tx!(self, |conn| sqlx::query_as::<_, ReservationRow>(SQL)
            .bind(fulfillment.to_string())
            .bind(state)
            .fetch_all(conn)
            .await?);
        let mut settled: Vec<ReservationRecord> = rows
            .into_iter()
            .map(reservation)
            .collect::<StoreResult<_>>()?;
        // The same order every time, so two transactions touch levels in one order.
        settled.sort_by(|a, b| (&a.sku, a.location_id).cmp(&(&b.sku, b.location_id)));
        Ok(settled)
    }

    /// Moves a fulfilment to `to` if it is in one of `from`; `false` when it was not.
    pub async fn move_fulfillment(
        &mut self,
        id: FulfillmentId,
        from: &[&str],
        to: &str,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let mut moved = 0;
        for status in from {
            moved += on_tx!(self, |conn| sqlx::query(
                "UPDATE fulfillments SET status = $3, updated_at = $4 \
                 WHERE id = $1 AND status = $2"
            )
            .bind(id.to_string())
            .bind(*status)
            .bind(to)
            .bind(at.millis())
            .execute(conn)
            .await?
            .rows_affected());
            if moved > 0 {
                break;
            }
        }
        Ok(moved == 1)
    }

    /// Keeps a ready pickup's code (its digest and seed) and when it expires.
    pub async fn issue_code(
        &mut self,
        id: FulfillmentId,
        digest: &str,
        seed: &str,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        on_tx!(self, |conn| sqlx::query(
            "UPDATE fulfillments SET code_digest = $2, code_seed = $3, code_expires_at = $4 \
             WHERE id = $1"
        )
        .bind(id.to_string())
        .bind(digest)
        .bind(seed)
        .bind(expires_at.millis())
        .execute(conn)
        .await?
        .rows_affected());
        Ok(())
    }

    /// The fulfilment a code's digest finds, locked on PostgreSQL until the transaction
    /// ends (so two desks cannot hand one order over twice).
    pub async fn fulfillment_by_code(
        &mut self,
        digest: &str,
    ) -> StoreResult<Option<FulfillmentRecord>> {
        let sql = match self {
            Tx::Sqlite(..) => fulfillments!("WHERE code_digest = $1"),
            Tx::Postgres(_) => fulfillments!("WHERE code_digest = $1 FOR UPDATE"),
        };
        let row = on_tx!(self, |conn| sqlx::query_as::<_, FulfillmentRow>(sql)
            .bind(digest)
            .fetch_optional(conn)
            .await?);
        row.map(fulfillment).transpose()
    }

    /// Records who collected a fulfilment for the customer.
    pub async fn set_collected_by(&mut self, id: FulfillmentId, by: &str) -> StoreResult<()> {
        on_tx!(self, |conn| sqlx::query(
            "UPDATE fulfillments SET collected_by = $2 WHERE id = $1"
        )
        .bind(id.to_string())
        .bind(by)
        .execute(conn)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Records a wrong code typed at a location's desk, and says how many were typed
    /// there since `since` (this one included).
    pub async fn wrong_code(
        &mut self,
        location: LocationId,
        at: Timestamp,
        since: Timestamp,
    ) -> StoreResult<i64> {
        on_tx!(self, |conn| sqlx::query(
            "INSERT INTO pickup_attempts (location_id, at) VALUES ($1, $2)"
        )
        .bind(location.to_string())
        .bind(at.millis())
        .execute(conn)
        .await?
        .rows_affected());
        self.wrong_codes_since(location, since).await
    }

    /// Wrong codes typed at a location's desk since `since`.
    pub async fn wrong_codes_since(
        &mut self,
        location: LocationId,
        since: Timestamp,
    ) -> StoreResult<i64> {
        Ok(on_tx!(self, |conn| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM pickup_attempts WHERE location_id = $1 AND at >= $2"
        )
        .bind(location.to_string())
        .bind(since.millis())
        .fetch_one(conn)
        .await?))
    }

    /// Replaces an order's lines' amounts after a change.
    pub async fn set_order_amounts(
        &mut self,
        id: OrderId,
        subtotal: i64,
        discount: i64,
        total: i64,
    ) -> StoreResult<()> {
        on_tx!(self, |conn| sqlx::query(
            "UPDATE orders SET subtotal = $2, discount = $3, total = $4 WHERE id = $1"
        )
        .bind(id.to_string())
        .bind(subtotal)
        .bind(discount)
        .bind(total)
        .execute(conn)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Removes an order's lines (a change writes the new ones).
    pub async fn delete_order_lines(&mut self, id: OrderId) -> StoreResult<()> {
        on_tx!(self, |conn| sqlx::query(
            "DELETE FROM order_lines WHERE order_id = $1"
        )
        .bind(id.to_string())
        .execute(conn)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Sets an order's discount and total once its code is redeemed.
    pub async fn set_order_totals(
        &mut self,
        id: OrderId,
        discount: i64,
        total: i64,
        coupon_code: &str,
    ) -> StoreResult<()> {
        on_tx!(self, |conn| sqlx::query(SET_ORDER_TOTALS)
            .bind(id.to_string())
            .bind(discount)
            .bind(total)
            .bind(coupon_code)
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }

    pub async fn set_order_status(
        &mut self,
        id: OrderId,
        status: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        on_tx!(self, |conn| sqlx::query(
            "UPDATE orders SET status = $2, updated_at = $3 WHERE id = $1"
        )
        .bind(id.to_string())
        .bind(status)
        .bind(at.millis())
        .execute(conn)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Adds a line to the order's history.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_order_history(
        &mut self,
        order: OrderId,
        fulfillment: Option<FulfillmentId>,
        event: &str,
        actor: &str,
        channel: &str,
        detail: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        on_tx!(self, |conn| sqlx::query(RECORD_HISTORY)
            .bind(order.to_string())
            .bind(fulfillment.map(|f| f.to_string()))
            .bind(event)
            .bind(actor)
            .bind(channel)
            .bind(detail)
            .bind(at.millis())
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }
}

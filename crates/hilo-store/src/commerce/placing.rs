//! An order's writes in few statements. On PostgreSQL every statement is a round trip
//! that both sides pay for in CPU, and an order of three lines was about twenty-four of
//! them: here its header and lines are one statement, the stock it takes (fulfilments,
//! levels, movements, reservations) one, and what it leaves for the customer's history
//! (the order's first history entry, the timeline item, the change) one. On SQLite,
//! whose statements cost no round trip, the same steps run row by row.

use hilo_domain::commerce::inventory::{Movement, Reason};
use hilo_domain::customers::changes::ChangeKind;
use hilo_domain::customers::identity::Identifier;
use hilo_domain::{CustomerId, OrderId, Timestamp};

use super::catalogue::{VariantRecord, variant, variant_columns};
use super::inventory::NewMovement;
use super::orders::{FulfillmentRecord, NewOrder, OrderLineRecord, ReservationRecord};
use crate::StoreResult;
use crate::customers::{NewTimelineItem, parse_customer_id};
use crate::tx::Tx;

/// The stock an order's plan takes, in one step.
#[derive(Debug, Clone, Copy)]
pub struct StockTake<'a> {
    pub order_id: OrderId,
    pub actor: &'a str,
    pub at: Timestamp,
    pub fulfillments: &'a [FulfillmentRecord],
    /// Each a promise of `quantity` units of a level (`state` `held`), in the order
    /// levels are touched (SKU, then location), at most one per level.
    pub reservations: &'a [ReservationRecord],
    /// Whether this transaction holds the levels already (it read them with
    /// `levels_at`); when not, PostgreSQL locks them first, in that order.
    pub levels_locked: bool,
}

impl StockTake<'_> {
    /// The movement a reservation records.
    pub fn movement<'m>(&'m self, r: &'m ReservationRecord) -> NewMovement<'m> {
        NewMovement {
            sku: &r.sku,
            location_id: r.location_id,
            movement: Movement {
                reason: Reason::Reserved,
                on_hand: 0,
                reserved: r.quantity,
            },
            actor: self.actor,
            order_id: Some(self.order_id),
            note: "",
            at: self.at,
        }
    }
}

/// What placing an order leaves besides its own rows.
#[derive(Debug, Clone)]
pub struct PlacedTrail<'a> {
    pub order_id: OrderId,
    pub event: &'a str,
    pub actor: &'a str,
    pub channel: &'a str,
    /// The history entry's detail (JSON).
    pub detail: &'a str,
    pub at: Timestamp,
    pub timeline: NewTimelineItem<'a>,
    pub change_kind: ChangeKind,
    /// The change's data (JSON).
    pub change: &'a str,
}

/// Who an order is for, as its request names them.
#[derive(Debug, Clone, Copy)]
pub enum OrderCustomer<'a> {
    Id(CustomerId),
    Identifier(&'a Identifier),
}

/// The live profile of a customer id and the variants of SKUs `$2`, one row a variant.
const PG_ROOT_BY_ID_AND_VARIANTS: &str = concat!(
    "WITH c AS (SELECT COALESCE(root_id, id) AS root FROM profiles WHERE id = $1) \
     SELECT (SELECT root FROM c), ",
    variant_columns!(),
    " WHERE v.sku = ANY($2)"
);
/// The live profile holding identifier `$1`:`$2` and the variants of SKUs `$3`.
const PG_ROOT_BY_IDENTIFIER_AND_VARIANTS: &str = concat!(
    "WITH c AS (SELECT COALESCE(p.root_id, p.id) AS root FROM identities i \
     JOIN profiles p ON p.id = i.profile_id WHERE i.kind = $1 AND i.value = $2) \
     SELECT (SELECT root FROM c), ",
    variant_columns!(),
    " WHERE v.sku = ANY($3)"
);

type RootAndVariantRow = (
    Option<String>,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

/// An order's header, numbered from the sequence, and its lines.
const PG_INSERT_ORDER_WITH_LINES: &str = "WITH o AS (INSERT INTO orders (id, number, \
    profile_id, channel, actor, staff, status, currency, subtotal, discount, total, \
    coupon_code, payment, idempotency_key, request_digest, created_at, updated_at) \
    VALUES ($1, nextval('order_numbers'), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
    $13, $14, $15, $15) RETURNING number), \
    l AS (INSERT INTO order_lines (order_id, line_no, sku, name, quantity, unit_price) \
    SELECT $1, * FROM unnest($16::bigint[], $17::text[], $18::text[], $19::bigint[], \
    $20::bigint[])) \
    SELECT number FROM o";

/// Locks levels in the order every transaction takes them (bytewise, as Rust sorts).
const PG_LOCK_LEVELS: &str = "SELECT 1 FROM inventory_levels \
    WHERE (sku, location_id) IN (SELECT * FROM unnest($1::text[], $2::text[])) \
    ORDER BY sku COLLATE \"C\", location_id COLLATE \"C\" FOR UPDATE";

/// Fulfilments, the conditional promise of every level (none below what may still be
/// promised), a movement for each promise kept, and the reservations; answers the
/// levels promised, so the caller learns which could not be.
const PG_TAKE_STOCK: &str = "WITH f AS (INSERT INTO fulfillments (id, order_id, kind, \
    location_id, ship_address, status, created_at, updated_at) \
    SELECT id, $1, kind, location_id, ship_address, status, $3, $3 \
    FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) \
    AS f(id, kind, location_id, ship_address, status)), \
    w AS (SELECT * FROM unnest($9::text[], $10::text[], $11::bigint[], $12::bigint[], \
    $13::text[]) AS w(sku, location_id, quantity, line_no, fulfillment_id)), \
    u AS (UPDATE inventory_levels l SET reserved = l.reserved + w.quantity, updated_at = $3 \
    FROM w WHERE l.sku = w.sku AND l.location_id = w.location_id \
    AND l.on_hand - l.reserved - l.safety >= w.quantity RETURNING l.sku, l.location_id), \
    m AS (INSERT INTO inventory_movements (sku, location_id, reason, on_hand_change, \
    reserved_change, actor, order_id, note, at) \
    SELECT w.sku, w.location_id, 'reserved', 0, w.quantity, $2, $1, '', $3 \
    FROM w JOIN u ON u.sku = w.sku AND u.location_id = w.location_id), \
    r AS (INSERT INTO reservations (order_id, line_no, fulfillment_id, sku, location_id, \
    quantity, state) SELECT $1, line_no, fulfillment_id, sku, location_id, quantity, 'held' \
    FROM w) \
    SELECT sku, location_id FROM u";

/// The order's history entry, its timeline item and its change.
const PG_RECORD_PLACED: &str = "WITH h AS (INSERT INTO order_history (order_id, \
    fulfillment_id, event, actor, channel, detail, at) \
    VALUES ($1, NULL, $2, $3, $4, $5, $6)), \
    t AS (INSERT INTO timeline (profile_id, item_type, kind, name, channel, source_id, \
    message_id, at, received_at, body) VALUES ($7, $8, $9, $10, $11, $12, $13, $14, $15, \
    $16) ON CONFLICT (source_id, message_id) WHERE item_type <> 'event' DO NOTHING) \
    INSERT INTO changes (at, kind, profile_id, data) VALUES ($6, $17, $7, $18)";

impl Tx {
    /// The live profile an order is for (`None`: nobody) and the variants of its SKUs
    /// that exist: on PostgreSQL one statement, unless no SKU exists.
    pub async fn customer_and_variants(
        &mut self,
        customer: OrderCustomer<'_>,
        skus: &[String],
    ) -> StoreResult<(Option<CustomerId>, Vec<VariantRecord>)> {
        let Tx::Postgres(tx) = self else {
            let root = self.customer_root(customer).await?;
            return Ok((root, self.variants(skus).await?));
        };
        let rows: Vec<RootAndVariantRow> = match customer {
            OrderCustomer::Id(id) => {
                sqlx::query_as(PG_ROOT_BY_ID_AND_VARIANTS)
                    .bind(id.to_string())
                    .bind(skus)
                    .fetch_all(&mut **tx)
                    .await?
            }
            OrderCustomer::Identifier(identifier) => {
                sqlx::query_as(PG_ROOT_BY_IDENTIFIER_AND_VARIANTS)
                    .bind(identifier.kind.as_str())
                    .bind(&identifier.value)
                    .bind(skus)
                    .fetch_all(&mut **tx)
                    .await?
            }
        };
        let Some(first) = rows.first() else {
            // No SKU exists: the order will be refused for it, once its customer is
            // known to exist.
            let root = self.customer_root(customer).await?;
            return Ok((root, Vec::new()));
        };
        let root = first.0.as_deref().map(parse_customer_id).transpose()?;
        let variants = rows
            .into_iter()
            .map(|(_, a, b, c, d, e, f, g, h)| variant((a, b, c, d, e, f, g, h)))
            .collect::<StoreResult<_>>()?;
        Ok((root, variants))
    }

    async fn customer_root(
        &mut self,
        customer: OrderCustomer<'_>,
    ) -> StoreResult<Option<CustomerId>> {
        match customer {
            OrderCustomer::Id(id) => self.live_root(id).await,
            OrderCustomer::Identifier(identifier) => self.root_by_identifier(identifier).await,
        }
    }

    /// Stores an order's header with the next order number, which it returns, and its
    /// lines.
    pub async fn insert_order_with_lines(
        &mut self,
        o: &NewOrder<'_>,
        lines: &[OrderLineRecord],
    ) -> StoreResult<i64> {
        let Tx::Postgres(tx) = self else {
            let number = self.insert_order(o).await?;
            for line in lines {
                self.insert_order_line(o.id, line).await?;
            }
            return Ok(number);
        };
        let line_nos: Vec<i64> = lines.iter().map(|l| l.line_no).collect();
        let skus: Vec<&str> = lines.iter().map(|l| l.sku.as_str()).collect();
        let names: Vec<&str> = lines.iter().map(|l| l.name.as_str()).collect();
        let quantities: Vec<i64> = lines.iter().map(|l| l.quantity).collect();
        let prices: Vec<i64> = lines.iter().map(|l| l.unit_price).collect();
        Ok(sqlx::query_scalar(PG_INSERT_ORDER_WITH_LINES)
            .bind(o.id.to_string())
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
            .bind(&line_nos)
            .bind(&skus)
            .bind(&names)
            .bind(&quantities)
            .bind(&prices)
            .fetch_one(&mut **tx)
            .await?)
    }

    /// Takes the stock of an order's plan; `Some(i)` names the first reservation whose
    /// level could not promise its units, and then nothing written is to be kept (the
    /// caller ends the transaction unkept).
    pub async fn take_stock(&mut self, take: &StockTake<'_>) -> StoreResult<Option<usize>> {
        let Tx::Postgres(tx) = self else {
            for f in take.fulfillments {
                self.insert_fulfillment(f).await?;
            }
            for (index, r) in take.reservations.iter().enumerate() {
                if !self.reserve(&take.movement(r)).await? {
                    return Ok(Some(index));
                }
                self.insert_reservation(r).await?;
            }
            return Ok(None);
        };
        let skus: Vec<&str> = take.reservations.iter().map(|r| r.sku.as_str()).collect();
        let locations: Vec<String> = take
            .reservations
            .iter()
            .map(|r| r.location_id.to_string())
            .collect();
        if !take.levels_locked && take.reservations.len() > 1 {
            sqlx::query(PG_LOCK_LEVELS)
                .bind(&skus)
                .bind(&locations)
                .execute(&mut **tx)
                .await?;
        }
        let f = take.fulfillments;
        let f_ids: Vec<String> = f.iter().map(|f| f.id.to_string()).collect();
        let f_kinds: Vec<&str> = f.iter().map(|f| f.kind.as_str()).collect();
        let f_locations: Vec<Option<String>> = f
            .iter()
            .map(|f| f.location_id.map(|l| l.to_string()))
            .collect();
        let f_addresses: Vec<Option<&str>> = f.iter().map(|f| f.ship_address.as_deref()).collect();
        let f_statuses: Vec<&str> = f.iter().map(|f| f.status.as_str()).collect();
        let quantities: Vec<i64> = take.reservations.iter().map(|r| r.quantity).collect();
        let line_nos: Vec<i64> = take.reservations.iter().map(|r| r.line_no).collect();
        let r_fulfillments: Vec<String> = take
            .reservations
            .iter()
            .map(|r| r.fulfillment_id.to_string())
            .collect();
        let promised: Vec<(String, String)> = sqlx::query_as(PG_TAKE_STOCK)
            .bind(take.order_id.to_string())
            .bind(take.actor)
            .bind(take.at.millis())
            .bind(&f_ids)
            .bind(&f_kinds)
            .bind(&f_locations)
            .bind(&f_addresses)
            .bind(&f_statuses)
            .bind(&skus)
            .bind(&locations)
            .bind(&quantities)
            .bind(&line_nos)
            .bind(&r_fulfillments)
            .fetch_all(&mut **tx)
            .await?;
        Ok(take.reservations.iter().position(|r| {
            !promised
                .iter()
                .any(|(sku, location)| *sku == r.sku && *location == r.location_id.to_string())
        }))
    }

    /// Records what placing an order leaves: its history's entry, the customer's
    /// timeline item and the change feed's row.
    pub async fn record_placed(&mut self, p: &PlacedTrail<'_>) -> StoreResult<()> {
        let Tx::Postgres(tx) = self else {
            self.record_order_history(
                p.order_id, None, p.event, p.actor, p.channel, p.detail, p.at,
            )
            .await?;
            self.append_timeline(&p.timeline).await?;
            return self
                .record_change(p.change_kind, p.timeline.profile_id, p.change, p.at)
                .await;
        };
        let item = &p.timeline;
        sqlx::query(PG_RECORD_PLACED)
            .bind(p.order_id.to_string())
            .bind(p.event)
            .bind(p.actor)
            .bind(p.channel)
            .bind(p.detail)
            .bind(p.at.millis())
            .bind(item.profile_id.to_string())
            .bind(item.item_type.as_str())
            .bind(item.kind)
            .bind(item.name)
            .bind(item.channel)
            .bind(item.source_id.map(|s| s.to_string()))
            .bind(item.message_id)
            .bind(item.at.millis())
            .bind(item.received_at.millis())
            .bind(item.body)
            .bind(p.change_kind.as_str())
            .bind(p.change)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statements_number_their_parameters_without_gaps() {
        for (statement, count) in [
            (PG_ROOT_BY_ID_AND_VARIANTS, 2),
            (PG_ROOT_BY_IDENTIFIER_AND_VARIANTS, 3),
            (PG_INSERT_ORDER_WITH_LINES, 20),
            (PG_LOCK_LEVELS, 2),
            (PG_TAKE_STOCK, 13),
            (PG_RECORD_PLACED, 18),
        ] {
            for n in 1..=count {
                assert!(statement.contains(&format!("${n}")), "${n} in {statement}");
            }
            assert!(!statement.contains(&format!("${}", count + 1)));
        }
    }
}

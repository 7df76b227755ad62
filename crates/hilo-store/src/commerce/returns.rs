//! Returns and their lines.

use hilo_domain::{LocationId, OrderId, Timestamp};

use super::parse;
use crate::tx::{Tx, on_tx};
use crate::{Store, StoreResult};

/// A stored return with its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnRecord {
    pub id: String,
    pub order_id: OrderId,
    /// requested or received.
    pub status: String,
    pub reason: String,
    pub channel: String,
    pub actor: String,
    /// The seed its return code is derived from, when it was started online.
    pub code_seed: Option<String>,
    pub courier_pickup: Option<String>,
    pub location_id: Option<LocationId>,
    pub refund: Option<String>,
    pub exchange_order_id: Option<String>,
    pub created_at: Timestamp,
    pub received_at: Option<Timestamp>,
    pub updated_at: Timestamp,
    pub lines: Vec<ReturnLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnLine {
    pub line_no: i64,
    pub sku: String,
    pub quantity: i64,
    pub disposition: Option<String>,
}

type ReturnRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    Option<i64>,
    i64,
);

macro_rules! returns {
    ($rest:literal) => {
        concat!(
            "SELECT id, order_id, status, reason, channel, actor, code_seed, courier_pickup, \
             location_id, refund, exchange_order_id, created_at, received_at, updated_at \
             FROM returns ",
            $rest
        )
    };
}

fn record(row: ReturnRow) -> StoreResult<ReturnRecord> {
    let (
        id,
        order,
        status,
        reason,
        channel,
        actor,
        seed,
        courier,
        location,
        refund,
        exchange,
        created,
        received,
        updated,
    ) = row;
    Ok(ReturnRecord {
        id,
        order_id: parse("order id", &order)?,
        status,
        reason,
        channel,
        actor,
        code_seed: seed,
        courier_pickup: courier,
        location_id: location.map(|l| parse("location id", &l)).transpose()?,
        refund,
        exchange_order_id: exchange,
        created_at: Timestamp::from_millis(created),
        received_at: received.map(Timestamp::from_millis),
        updated_at: Timestamp::from_millis(updated),
        lines: Vec::new(),
    })
}

impl Store {
    /// The return a code's digest finds.
    pub async fn return_by_code(&self, digest: &str) -> StoreResult<Option<ReturnRecord>> {
        let mut tx = self.begin_read().await?;
        tx.return_by_code(digest).await
    }

    pub async fn return_record(&self, id: &str) -> StoreResult<Option<ReturnRecord>> {
        let mut tx = self.begin_read().await?;
        tx.return_record(id).await
    }
}

impl Tx {
    /// Locks an order's row until the transaction ends (PostgreSQL; SQLite's writer holds
    /// everything), so two returns of one order take turns.
    pub async fn lock_order(&mut self, id: OrderId) -> StoreResult<bool> {
        let sql = match self {
            Tx::Sqlite(..) => "SELECT id FROM orders WHERE id = $1",
            Tx::Postgres(_) => "SELECT id FROM orders WHERE id = $1 FOR UPDATE",
        };
        let found = on_tx!(self, |conn| sqlx::query_scalar::<_, String>(sql)
            .bind(id.to_string())
            .fetch_optional(conn)
            .await?);
        Ok(found.is_some())
    }

    pub async fn insert_return(
        &mut self,
        r: &ReturnRecord,
        code_digest: Option<&str>,
    ) -> StoreResult<()> {
        on_tx!(self, |conn| sqlx::query(
            "INSERT INTO returns (id, order_id, status, reason, channel, actor, code_digest, \
             code_seed, courier_pickup, location_id, refund, exchange_order_id, created_at, \
             received_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        )
        .bind(&r.id)
        .bind(r.order_id.to_string())
        .bind(&r.status)
        .bind(&r.reason)
        .bind(&r.channel)
        .bind(&r.actor)
        .bind(code_digest)
        .bind(&r.code_seed)
        .bind(&r.courier_pickup)
        .bind(r.location_id.map(|l| l.to_string()))
        .bind(&r.refund)
        .bind(&r.exchange_order_id)
        .bind(r.created_at.millis())
        .bind(r.received_at.map(Timestamp::millis))
        .bind(r.updated_at.millis())
        .execute(conn)
        .await?
        .rows_affected());
        for line in &r.lines {
            on_tx!(self, |conn| sqlx::query(
                "INSERT INTO return_lines (return_id, line_no, sku, quantity, disposition) \
                 VALUES ($1, $2, $3, $4, $5)"
            )
            .bind(&r.id)
            .bind(line.line_no)
            .bind(&line.sku)
            .bind(line.quantity)
            .bind(&line.disposition)
            .execute(conn)
            .await?
            .rows_affected());
        }
        Ok(())
    }

    pub async fn return_record(&mut self, id: &str) -> StoreResult<Option<ReturnRecord>> {
        let row = on_tx!(self, |conn| sqlx::query_as::<_, ReturnRow>(returns!(
            "WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(conn)
        .await?);
        let Some(row) = row else { return Ok(None) };
        let mut found = record(row)?;
        found.lines = self.return_lines(id).await?;
        Ok(Some(found))
    }

    /// The return a code's digest finds.
    pub async fn return_by_code(&mut self, digest: &str) -> StoreResult<Option<ReturnRecord>> {
        let id = on_tx!(self, |conn| sqlx::query_scalar::<_, String>(
            "SELECT id FROM returns WHERE code_digest = $1"
        )
        .bind(digest)
        .fetch_optional(conn)
        .await?);
        match id {
            Some(id) => self.return_record(&id).await,
            None => Ok(None),
        }
    }

    /// Every return of an order, oldest first.
    pub async fn returns_of_order(&mut self, order: OrderId) -> StoreResult<Vec<ReturnRecord>> {
        let rows = on_tx!(self, |conn| sqlx::query_as::<_, ReturnRow>(returns!(
            "WHERE order_id = $1 ORDER BY created_at, id"
        ))
        .bind(order.to_string())
        .fetch_all(conn)
        .await?);
        let mut all = Vec::with_capacity(rows.len());
        for row in rows {
            let mut found = record(row)?;
            found.lines = self.return_lines(&found.id).await?;
            all.push(found);
        }
        Ok(all)
    }

    async fn return_lines(&mut self, id: &str) -> StoreResult<Vec<ReturnLine>> {
        let rows = on_tx!(self, |conn| sqlx::query_as::<
            _,
            (i64, String, i64, Option<String>),
        >(
            "SELECT line_no, sku, quantity, disposition FROM return_lines \
             WHERE return_id = $1 ORDER BY line_no"
        )
        .bind(id)
        .fetch_all(conn)
        .await?);
        Ok(rows
            .into_iter()
            .map(|(line_no, sku, quantity, disposition)| ReturnLine {
                line_no,
                sku,
                quantity,
                disposition,
            })
            .collect())
    }

    /// Marks a requested return received at `location`, with each line's disposition;
    /// `false` when it was received already.
    pub async fn receive_return(
        &mut self,
        id: &str,
        location: LocationId,
        refund: Option<&str>,
        dispositions: &[(i64, &str)],
        at: Timestamp,
    ) -> StoreResult<bool> {
        let done = on_tx!(self, |conn| sqlx::query(
            "UPDATE returns SET status = 'received', location_id = $2, refund = $3, \
             received_at = $4, updated_at = $4 WHERE id = $1 AND status = 'requested'"
        )
        .bind(id)
        .bind(location.to_string())
        .bind(refund)
        .bind(at.millis())
        .execute(conn)
        .await?
        .rows_affected());
        if done == 0 {
            return Ok(false);
        }
        for (line_no, disposition) in dispositions {
            on_tx!(self, |conn| sqlx::query(
                "UPDATE return_lines SET disposition = $3 WHERE return_id = $1 AND line_no = $2"
            )
            .bind(id)
            .bind(line_no)
            .bind(*disposition)
            .execute(conn)
            .await?
            .rows_affected());
        }
        Ok(true)
    }

    /// Links the order that replaced a return's items.
    pub async fn set_exchange(&mut self, id: &str, order: OrderId) -> StoreResult<()> {
        on_tx!(self, |conn| sqlx::query(
            "UPDATE returns SET exchange_order_id = $2 WHERE id = $1"
        )
        .bind(id)
        .bind(order.to_string())
        .execute(conn)
        .await?
        .rows_affected());
        Ok(())
    }
}

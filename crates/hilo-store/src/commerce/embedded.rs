//! The embedded engine's order writer: one SQLite connection of its own on a thread of
//! its own, taking the orders waiting and applying them in one transaction, each in a
//! savepoint of its own so one refused (out of stock, a coupon used up) never undoes
//! another, with one commit for them all.
//!
//! Its commits do not wait for the disk (`synchronous=NORMAL`), as the ingestion
//! writer's do not: the write lock is let go and the next batch applied while a flusher
//! thread syncs the log, and orders are answered only after that sync. Until then the
//! commit is registered in [`Unflushed`], so the change feed holds its rows back.
//!
//! Through the pool every statement is handed to a driver thread and awaited, tens of
//! microseconds however small the statement, and an order runs about twenty of them
//! while it holds SQLite's one write lock. Here a statement costs what SQLite itself
//! costs. The statements are the pool's (the same constants), so both paths write the
//! same rows; the use case is written once against [`OrderTx`].

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::pin::pin;
use std::sync::{Arc, mpsc};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use hilo_domain::commerce::inventory::{Level, Reason};
use hilo_domain::customers::changes::ChangeKind;
use hilo_domain::customers::identity::Identifier;
use hilo_domain::{CustomerId, FulfillmentId, LocationId, OrderId, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};
use tracing::{error, warn};

use super::carts::CLEAR_CART;
use super::catalogue::{SQLITE_VARIANTS_IN, VariantRow, sku_list, variant};
use super::inventory::{
    LEVEL, LEVELS_OF_SKU, LevelRow, MOVE_LEVEL, NEW_LEVEL, RECORD_MOVEMENT, RESERVE, level,
};
use super::order_tx::OrderTx;
use super::orders::{
    INSERT_FULFILLMENT, INSERT_ORDER, INSERT_ORDER_LINE, INSERT_RESERVATION, RECORD_HISTORY,
    SET_ORDER_TOTALS, SQLITE_NEXT_NUMBER,
};
use super::placing::{OrderCustomer, PlacedTrail, StockTake};
use super::promotions::{
    COUPON_BY_CODE, CUSTOMER_REDEMPTIONS, CouponRow, INSERT_REDEMPTION, ORDERS_BEFORE,
    PROMOTION_BY_CODE, PROMOTION_BY_ID, PromotionRow, SQLITE_ORDER_EVENTS, TAKE_REDEMPTION,
    USE_COUPON, coupon, promotion,
};
use super::{
    CouponRecord, FulfillmentRecord, LevelRecord, NewMovement, NewOrder, OrderLineRecord,
    PromotionRecord, ReservationRecord, VariantRecord,
};
use crate::collect::Unflushed;
use crate::collect::writer::embedded::{WalFlusher, feed_from};
use crate::collect::writer::ingest_writer::{WhenDurable, flush_then_call, start_flusher};
use crate::collect::writer::unflushed::FeedSeqs;
use crate::customers::{NewTimelineItem, parse_customer_id};
use crate::{Store, StoreResult, sql};

/// Orders applied in one transaction at most: a batch waits for its commit, so a
/// bounded one bounds how long any order waits behind the others.
const BATCH: usize = 64;
/// Orders waiting for the writer at most; beyond, callers write through the pool.
const QUEUE: usize = 4_096;

/// What the writer does with an order: runs it in its savepoint (or, given `None`,
/// learns that the transaction could not begin) and says whether to keep it.
pub type OrderJob = Box<dyn FnOnce(Option<&mut EmbeddedOrderTx<'_>>) -> JobDone + Send>;

/// What to do once a batch's transaction ends: `Ok` when it committed, durably; the
/// failure otherwise.
pub type AfterCommit = Box<dyn FnOnce(Result<(), String>) + Send>;

/// A job's answer: whether its savepoint is kept, and what to do once the transaction
/// ends.
pub struct JobDone {
    pub keep: bool,
    pub after_commit: AfterCommit,
}

/// The handle requests queue their orders on.
#[derive(Clone)]
pub struct OrderWriter {
    jobs: mpsc::SyncSender<OrderJob>,
}

impl std::fmt::Debug for OrderWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OrderWriter")
    }
}

impl OrderWriter {
    /// On SQLite, starts the writer's thread on a connection of its own, its commits
    /// registered in `unflushed` until they are on disk; `None` on PostgreSQL (every
    /// node's pool writes there) or when it cannot start.
    pub fn start(store: &Store, unflushed: Arc<Unflushed>) -> Option<Self> {
        let path = store.sqlite_path()?;
        let connection = match open(&path) {
            Ok(connection) => connection,
            Err(error) => {
                warn!(%error, "could not open the order writer; orders go through the pool");
                return None;
            }
        };
        let (jobs, queue) = mpsc::sync_channel(QUEUE);
        let store = store.clone();
        let flusher = WalFlusher::of_database(&path, unflushed.clone());
        let durable = Durable {
            after_flush: start_flusher(&flusher, "hilo-order-flush"),
            flusher,
            unflushed,
        };
        let started = std::thread::Builder::new()
            .name("hilo-orders".into())
            .spawn(move || write_loop(connection, &store, &queue, &durable));
        match started {
            Ok(_) => Some(Self { jobs }),
            Err(error) => {
                warn!(%error, "could not start the order writer; orders go through the pool");
                None
            }
        }
    }

    /// Queues an order; gives it back when the writer is gone or its queue is full, for
    /// the caller to write through the pool.
    pub fn submit(&self, job: OrderJob) -> Result<(), OrderJob> {
        self.jobs.try_send(job).map_err(|e| match e {
            mpsc::TrySendError::Full(job) | mpsc::TrySendError::Disconnected(job) => job,
        })
    }
}

/// Runs a use case's future against the embedded transaction. Its every step completes
/// at once (the statements run synchronously), so one poll finishes it; a future that
/// waits on anything else is a mistake, reported rather than blocked on.
pub fn complete<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

fn open(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    // The pool's settings (see `connect`) but NORMAL: the flusher puts a commit on disk
    // before any order in it is acknowledged. Its own checkpoints as rare as the
    // ingestion writer's (the checkpointer's thread copies the log meanwhile).
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536; \
         PRAGMA wal_autocheckpoint = {};",
        crate::collect::writer::checkpoint::WRITER_CHECKPOINT_PAGES
    ))?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// What makes the writer's commits durable: the flusher, and its thread.
struct Durable {
    flusher: WalFlusher,
    after_flush: mpsc::Sender<Vec<WhenDurable>>,
    unflushed: Arc<Unflushed>,
}

impl Durable {
    /// Commits the open transaction; registered first, so a reader that sees its rows
    /// finds them held back until the flush.
    fn commit(&self, conn: &Connection, from: Option<FeedSeqs>) -> Result<(), String> {
        let ticket = from.map(|from| self.unflushed.commit_starts(from));
        let committed = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
        if let Some(ticket) = ticket {
            match committed {
                Ok(()) => self.unflushed.committed(ticket),
                Err(_) => self.unflushed.commit_failed(ticket),
            }
        }
        committed
    }

    /// Answers a committed batch once the log is on disk.
    fn after_flush(&self, after: Vec<AfterCommit>) {
        let waiting: Vec<WhenDurable> = after
            .into_iter()
            .map(|then| -> WhenDurable {
                Box::new(move |durable| {
                    then(if durable {
                        Ok(())
                    } else {
                        Err("the write-ahead log could not be flushed".into())
                    });
                })
            })
            .collect();
        if let Err(returned) = self.after_flush.send(waiting) {
            // The flusher thread is gone: flush here.
            flush_then_call(&self.flusher, returned.0);
        }
    }
}

fn write_loop(
    mut conn: Connection,
    store: &Store,
    queue: &mpsc::Receiver<OrderJob>,
    durable: &Durable,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            error!(%error, "could not start the order writer's runtime");
            return;
        }
    };
    let mut numbered = Numbered::default();
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // This process's turn at the write lock, as the pool's writers take theirs.
        let turn = runtime.block_on(store.write_turn());
        let (after, from) = apply(&mut conn, &mut numbered, batch);
        let committed = durable.commit(&conn, from);
        if let Err(error) = &committed {
            error!(%error, "an order batch could not commit");
            let _ = conn.execute_batch("ROLLBACK");
        }
        drop(turn);
        match committed {
            Ok(()) => durable.after_flush(after),
            Err(error) => {
                for then in after {
                    then(Err(error.clone()));
                }
            }
        }
    }
}

/// Runs a batch's jobs in one open transaction, each in its savepoint; also says where
/// the feed tables' rows it may write begin (`None` when it could not begin).
fn apply(
    conn: &mut Connection,
    numbered: &mut Numbered,
    batch: Vec<OrderJob>,
) -> (Vec<AfterCommit>, Option<FeedSeqs>) {
    let mut after = Vec::with_capacity(batch.len());
    let begun = conn
        .execute_batch("BEGIN IMMEDIATE")
        .map_err(crate::StoreError::from)
        .and_then(|()| feed_from(conn));
    let from = match begun {
        Ok(from) => from,
        Err(error) => {
            error!(%error, "an order batch could not begin");
            for job in batch {
                after.push(job(None).after_commit);
            }
            return (after, None);
        }
    };
    for job in batch {
        if conn.execute_batch("SAVEPOINT hilo_order").is_err() {
            after.push(job(None).after_commit);
            continue;
        }
        let ran = catch_unwind(AssertUnwindSafe(|| {
            job(Some(&mut EmbeddedOrderTx {
                conn: &mut *conn,
                numbered: &mut *numbered,
            }))
        }));
        let keep = matches!(&ran, Ok(done) if done.keep);
        let closed = if keep {
            conn.execute_batch("RELEASE hilo_order")
        } else {
            conn.execute_batch("ROLLBACK TO hilo_order; RELEASE hilo_order")
        };
        if let Err(error) = closed {
            error!(%error, "an order's savepoint could not close");
        }
        match ran {
            Ok(done) => after.push(done.after_commit),
            // Its answer went with it: the request sees the writer's reply dropped.
            Err(_) => error!("an order's write panicked; it was undone"),
        }
    }
    (after, Some(from))
}

/// The embedded writer's transaction, as placing an order sees it.
pub struct EmbeddedOrderTx<'c> {
    conn: &'c mut Connection,
    numbered: &'c mut Numbered,
}

/// The pool's statements as this connection binds them (see [`numbered`]), each
/// rewritten once. Keyed by where the constant lives: a `'static` text never moves, and
/// no other text can take its place.
#[derive(Default)]
struct Numbered(std::collections::HashMap<(usize, usize), String>);

impl Numbered {
    fn of(&mut self, sql: &'static str) -> &str {
        self.0
            .entry((sql.as_ptr() as usize, sql.len()))
            .or_insert_with(|| numbered(sql))
    }
}

/// The pool's statement as this connection binds it. The pool's driver reads `$3` as
/// the third parameter wherever it first appears; SQLite itself numbers `$3` by order
/// of appearance (it is a name to it), and `?3` by its number.
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

impl EmbeddedOrderTx<'_> {
    fn prepare(&mut self, sql: &'static str) -> StoreResult<rusqlite::CachedStatement<'_>> {
        Ok(self.conn.prepare_cached(self.numbered.of(sql))?)
    }

    fn execute(&mut self, sql: &'static str, params: impl rusqlite::Params) -> StoreResult<usize> {
        Ok(self.prepare(sql)?.execute(params)?)
    }

    fn count(&mut self, sql: &'static str, params: impl rusqlite::Params) -> StoreResult<i64> {
        Ok(self.prepare(sql)?.query_row(params, |r| r.get(0))?)
    }

    fn record_movement(&mut self, m: &NewMovement<'_>) -> StoreResult<()> {
        self.execute(
            RECORD_MOVEMENT,
            params![
                m.sku,
                m.location_id.to_string(),
                m.movement.reason.as_str(),
                m.movement.on_hand,
                m.movement.reserved,
                m.actor,
                m.order_id.map(|o| o.to_string()),
                m.note,
                m.at.millis()
            ],
        )?;
        Ok(())
    }

    fn promotion_where(
        &mut self,
        sql: &'static str,
        key: &str,
    ) -> StoreResult<Option<PromotionRecord>> {
        let row: Option<PromotionRow> = self
            .prepare(sql)?
            .query_row([key], |r| r.try_into())
            .optional()?;
        row.map(promotion).transpose()
    }
}

fn level_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LevelRow> {
    r.try_into()
}

impl EmbeddedOrderTx<'_> {
    fn live_root(&mut self, id: CustomerId) -> StoreResult<Option<CustomerId>> {
        let root: Option<String> = self
            .prepare(sql::LIVE_ROOT)?
            .query_row([id.to_string()], |r| r.get(0))
            .optional()?;
        root.map(|r| parse_customer_id(&r)).transpose()
    }

    fn root_by_identifier(&mut self, identifier: &Identifier) -> StoreResult<Option<CustomerId>> {
        let root: Option<String> = self
            .prepare(sql::ROOT_BY_IDENTIFIER)?
            .query_row(params![identifier.kind.as_str(), identifier.value], |r| {
                r.get(0)
            })
            .optional()?;
        root.map(|r| parse_customer_id(&r)).transpose()
    }

    fn variants(&mut self, skus: &[String]) -> StoreResult<Vec<VariantRecord>> {
        let mut statement = self.prepare(SQLITE_VARIANTS_IN)?;
        let rows = statement.query_map([sku_list(skus)], |r| -> rusqlite::Result<VariantRow> {
            r.try_into()
        })?;
        let mut found = Vec::new();
        for row in rows {
            found.push(variant(row?)?);
        }
        Ok(found)
    }

    fn insert_order(&mut self, o: &NewOrder<'_>) -> StoreResult<i64> {
        let number = self.count(SQLITE_NEXT_NUMBER, [])?;
        self.execute(
            INSERT_ORDER,
            params![
                o.id.to_string(),
                number,
                o.profile_id.to_string(),
                o.channel,
                o.actor,
                o.staff,
                o.status,
                o.currency,
                o.subtotal,
                o.discount,
                o.total,
                o.coupon_code,
                o.payment,
                o.idempotency_key,
                o.request_digest,
                o.at.millis()
            ],
        )?;
        Ok(number)
    }

    fn insert_order_line(&mut self, order: OrderId, line: &OrderLineRecord) -> StoreResult<()> {
        self.execute(
            INSERT_ORDER_LINE,
            params![
                order.to_string(),
                line.line_no,
                line.sku,
                line.name,
                line.quantity,
                line.unit_price
            ],
        )?;
        Ok(())
    }

    fn reserve(&mut self, m: &NewMovement<'_>) -> StoreResult<bool> {
        debug_assert_eq!(m.movement.reason, Reason::Reserved);
        let done = self.execute(
            RESERVE,
            params![
                m.sku,
                m.location_id.to_string(),
                m.movement.reserved,
                m.at.millis()
            ],
        )?;
        if done == 1 {
            self.record_movement(m)?;
        }
        Ok(done == 1)
    }

    #[allow(clippy::too_many_arguments)]
    fn record_order_history(
        &mut self,
        order: OrderId,
        fulfillment: Option<FulfillmentId>,
        event: &str,
        actor: &str,
        channel: &str,
        detail: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        self.execute(
            RECORD_HISTORY,
            params![
                order.to_string(),
                fulfillment.map(|f| f.to_string()),
                event,
                actor,
                channel,
                detail,
                at.millis()
            ],
        )?;
        Ok(())
    }

    fn append_timeline(&mut self, item: &NewTimelineItem<'_>) -> StoreResult<bool> {
        let end = self.count(sql::TIMELINE_END, [])?;
        let inserted = self.execute(
            sql::APPEND_TIMELINE,
            params![
                item.profile_id.to_string(),
                item.item_type.as_str(),
                item.kind,
                item.name,
                item.channel,
                item.source_id.map(|s| s.to_string()),
                item.message_id,
                item.at.millis(),
                item.received_at.millis(),
                item.body
            ],
        )?;
        self.execute(sql::SQLITE_APPEND_TAIL, [end])?;
        Ok(inserted == 1)
    }

    fn record_change(
        &mut self,
        kind: ChangeKind,
        profile: CustomerId,
        data: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        self.execute(
            sql::RECORD_CHANGE,
            params![at.millis(), kind.as_str(), profile.to_string(), data],
        )?;
        Ok(())
    }
}

impl OrderTx for EmbeddedOrderTx<'_> {
    async fn customer_and_variants(
        &mut self,
        customer: OrderCustomer<'_>,
        skus: &[String],
    ) -> StoreResult<(Option<CustomerId>, Vec<VariantRecord>)> {
        let root = match customer {
            OrderCustomer::Id(id) => self.live_root(id)?,
            OrderCustomer::Identifier(identifier) => self.root_by_identifier(identifier)?,
        };
        Ok((root, self.variants(skus)?))
    }

    async fn insert_order_with_lines(
        &mut self,
        o: &NewOrder<'_>,
        lines: &[OrderLineRecord],
    ) -> StoreResult<i64> {
        let number = self.insert_order(o)?;
        for line in lines {
            self.insert_order_line(o.id, line)?;
        }
        Ok(number)
    }

    async fn take_stock(&mut self, take: &StockTake<'_>) -> StoreResult<Option<usize>> {
        for f in take.fulfillments {
            self.insert_fulfillment(f).await?;
        }
        for (index, r) in take.reservations.iter().enumerate() {
            if !self.reserve(&take.movement(r))? {
                return Ok(Some(index));
            }
            self.insert_reservation(r).await?;
        }
        Ok(None)
    }

    async fn record_placed(&mut self, p: &PlacedTrail<'_>) -> StoreResult<()> {
        self.record_order_history(
            p.order_id, None, p.event, p.actor, p.channel, p.detail, p.at,
        )?;
        self.append_timeline(&p.timeline)?;
        self.record_change(p.change_kind, p.timeline.profile_id, p.change, p.at)
    }

    async fn levels_of(&mut self, skus: &[String]) -> StoreResult<Vec<LevelRecord>> {
        let mut all = Vec::new();
        let mut statement = self.prepare(LEVELS_OF_SKU)?;
        for sku in skus {
            let rows = statement.query_map([sku], level_row)?;
            for row in rows {
                all.push(level(row?)?);
            }
        }
        Ok(all)
    }

    async fn levels_at(
        &mut self,
        skus: &[String],
        location: LocationId,
    ) -> StoreResult<Vec<LevelRecord>> {
        let location = location.to_string();
        let mut all = Vec::new();
        let mut statement = self.prepare(LEVEL)?;
        for sku in skus {
            if let Some(row) = statement
                .query_row(params![sku, location], level_row)
                .optional()?
            {
                all.push(level(row)?);
            }
        }
        Ok(all)
    }

    async fn lock_level(&mut self, sku: &str, location: LocationId) -> StoreResult<Level> {
        let row = self
            .prepare(LEVEL)?
            .query_row(params![sku, location.to_string()], level_row)
            .optional()?;
        Ok(row
            .map(level)
            .transpose()?
            .map(|l| l.level)
            .unwrap_or_default())
    }

    async fn insert_fulfillment(&mut self, f: &FulfillmentRecord) -> StoreResult<()> {
        self.execute(
            INSERT_FULFILLMENT,
            params![
                f.id.to_string(),
                f.order_id.to_string(),
                f.kind,
                f.location_id.map(|l| l.to_string()),
                f.ship_address,
                f.status,
                f.created_at.millis(),
                f.updated_at.millis()
            ],
        )?;
        Ok(())
    }

    async fn apply_movement(&mut self, m: &NewMovement<'_>) -> StoreResult<()> {
        let change = params![
            m.sku,
            m.location_id.to_string(),
            m.movement.on_hand,
            m.movement.reserved,
            m.at.millis()
        ];
        if self.execute(MOVE_LEVEL, change)? == 0 {
            self.execute(NEW_LEVEL, change)?;
        }
        self.record_movement(m)
    }

    async fn insert_reservation(&mut self, r: &ReservationRecord) -> StoreResult<()> {
        self.execute(
            INSERT_RESERVATION,
            params![
                r.order_id.to_string(),
                r.line_no,
                r.fulfillment_id.to_string(),
                r.sku,
                r.location_id.to_string(),
                r.quantity,
                r.state
            ],
        )?;
        Ok(())
    }

    async fn set_order_totals(
        &mut self,
        id: OrderId,
        discount: i64,
        total: i64,
        coupon_code: &str,
    ) -> StoreResult<()> {
        self.execute(
            SET_ORDER_TOTALS,
            params![id.to_string(), discount, total, coupon_code],
        )?;
        Ok(())
    }

    async fn clear_cart(&mut self, root: CustomerId, list: &str) -> StoreResult<()> {
        self.execute(CLEAR_CART, params![root.to_string(), list])?;
        Ok(())
    }

    async fn root_of(&mut self, fragment: CustomerId) -> StoreResult<CustomerId> {
        let root: Option<Option<String>> = self
            .prepare(sql::ROOT_OF)?
            .query_row([fragment.to_string()], |r| r.get(0))
            .optional()?;
        match root.flatten() {
            Some(root) => parse_customer_id(&root),
            None => Ok(fragment),
        }
    }

    async fn promotion_for_code(
        &mut self,
        code: &str,
    ) -> StoreResult<Option<(PromotionRecord, Option<CouponRecord>)>> {
        let found: Option<CouponRow> = self
            .prepare(COUPON_BY_CODE)?
            .query_row([code], |r| r.try_into())
            .optional()?;
        if let Some(row) = found {
            let coupon = coupon(row);
            let promotion = self.promotion_where(PROMOTION_BY_ID, &coupon.promotion_id)?;
            return Ok(promotion.map(|p| (p, Some(coupon))));
        }
        Ok(self
            .promotion_where(PROMOTION_BY_CODE, code)?
            .map(|p| (p, None)))
    }

    async fn has_ordered(&mut self, root: CustomerId, except: OrderId) -> StoreResult<bool> {
        if self.count(ORDERS_BEFORE, params![root.to_string(), except.to_string()])? > 0 {
            return Ok(true);
        }
        Ok(self.count(SQLITE_ORDER_EVENTS, [root.to_string()])? > 0)
    }

    async fn take_redemption(&mut self, promotion: &str, at: Timestamp) -> StoreResult<bool> {
        Ok(self.execute(TAKE_REDEMPTION, params![promotion, at.millis()])? == 1)
    }

    async fn customer_redemptions(
        &mut self,
        promotion: &str,
        root: CustomerId,
    ) -> StoreResult<i64> {
        self.count(CUSTOMER_REDEMPTIONS, params![root.to_string(), promotion])
    }

    async fn use_coupon(&mut self, code: &str, order: OrderId, at: Timestamp) -> StoreResult<bool> {
        Ok(self.execute(USE_COUPON, params![code, order.to_string(), at.millis()])? == 1)
    }

    async fn insert_redemption(
        &mut self,
        order: OrderId,
        promotion: &str,
        coupon: Option<&str>,
        profile: CustomerId,
        amount: i64,
        at: Timestamp,
    ) -> StoreResult<()> {
        self.execute(
            INSERT_REDEMPTION,
            params![
                order.to_string(),
                promotion,
                coupon,
                profile.to_string(),
                amount,
                at.millis()
            ],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_keep_their_numbers() {
        assert_eq!(
            numbered("UPDATE t SET a = a + $3 WHERE k = $1 AND b >= $3 AND c = $12"),
            "UPDATE t SET a = a + ?3 WHERE k = ?1 AND b >= ?3 AND c = ?12"
        );
        assert_eq!(numbered("SELECT '$' || x, $"), "SELECT '$' || x, $");
    }

    #[test]
    fn a_statement_is_rewritten_once() {
        let mut known = Numbered::default();
        const SQL: &str = "SELECT $1";
        assert_eq!(known.of(SQL), "SELECT ?1");
        assert_eq!(known.of(SQL), "SELECT ?1");
        assert_eq!(known.0.len(), 1);
    }

    #[test]
    fn a_batch_is_answered_and_its_feed_rows_shown_only_after_the_log_is_flushed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hilo.db");
        let conn = open(&path).unwrap();
        // The feed tables as far as the writer reads them.
        conn.execute_batch(
            "CREATE TABLE timeline (seq INTEGER PRIMARY KEY); \
             CREATE TABLE changes (seq INTEGER PRIMARY KEY);",
        )
        .unwrap();
        let unflushed = Arc::new(Unflushed::default());
        let flusher = WalFlusher::of_database(&path, unflushed.clone());
        // No flusher thread yet: the test flushes when it chooses.
        let (after_flush, pending) = mpsc::channel();
        let durable = Durable {
            flusher: flusher.clone(),
            after_flush,
            unflushed: unflushed.clone(),
        };
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        let from = feed_from(&conn).unwrap();
        assert_eq!(
            from,
            FeedSeqs {
                timeline: 1,
                changes: 1
            }
        );
        conn.execute_batch("INSERT INTO timeline VALUES (1); INSERT INTO changes VALUES (1);")
            .unwrap();
        durable.commit(&conn, Some(from)).unwrap();
        assert_eq!(unflushed.floor(), Some(from), "committed, not yet on disk");

        let (answered, answer) = mpsc::channel();
        durable.after_flush(vec![Box::new(move |result| {
            answered.send(result).unwrap();
        })]);
        assert!(answer.try_recv().is_err(), "no answer before the flush");
        let waiting: Vec<WhenDurable> = pending.recv().unwrap();
        flush_then_call(&flusher, waiting);
        assert_eq!(answer.recv().unwrap(), Ok(()));
        assert_eq!(unflushed.floor(), None, "on disk: the feed shows it");

        // A commit that fails holds nothing back and answers nothing.
        let failed = durable.commit(&conn, Some(from));
        assert!(failed.is_err(), "no transaction to commit");
        assert_eq!(unflushed.floor(), None);
    }
}

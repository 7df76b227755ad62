//! Stock levels per SKU and location, and the movements that explain them.

use hilo_domain::commerce::inventory::{Level, Movement, Reason};
use hilo_domain::{LocationId, OrderId, Timestamp};

use super::parse;
use crate::tx::{Tx, on_tx};
use crate::{Store, StoreResult, on_pool};

/// One SKU's level at one location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelRecord {
    pub sku: String,
    pub location_id: LocationId,
    pub level: Level,
    pub updated_at: Timestamp,
}

/// A movement to record beside the change it made.
#[derive(Debug, Clone)]
pub struct NewMovement<'a> {
    pub sku: &'a str,
    pub location_id: LocationId,
    pub movement: Movement,
    pub actor: &'a str,
    pub order_id: Option<OrderId>,
    pub note: &'a str,
    pub at: Timestamp,
}

/// A recorded movement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovementRecord {
    pub id: i64,
    pub sku: String,
    pub location_id: LocationId,
    pub reason: String,
    pub on_hand_change: i64,
    pub reserved_change: i64,
    pub actor: String,
    pub order_id: Option<String>,
    pub note: String,
    pub at: Timestamp,
}

macro_rules! levels {
    ($rest:literal) => {
        concat!(
            "SELECT sku, location_id, on_hand, reserved, safety, updated_at FROM inventory_levels",
            " ",
            $rest
        )
    };
}

pub(super) type LevelRow = (String, String, i64, i64, i64, i64);

/// One level (locked on PostgreSQL with `FOR UPDATE`).
pub(super) const LEVEL: &str = levels!("WHERE sku = $1 AND location_id = $2");
/// Every location's level of one SKU.
pub(super) const LEVELS_OF_SKU: &str = levels!("WHERE sku = $1");
/// A movement's change to an existing level.
pub(super) const MOVE_LEVEL: &str = "UPDATE inventory_levels SET on_hand = on_hand + $3, \
    reserved = reserved + $4, updated_at = $5 WHERE sku = $1 AND location_id = $2";
/// A level's first movement.
pub(super) const NEW_LEVEL: &str = "INSERT INTO inventory_levels (sku, location_id, on_hand, \
    reserved, safety, updated_at) VALUES ($1, $2, $3, $4, 0, $5)";
/// Promises `$3` units only if that many can still be promised.
pub(super) const RESERVE: &str = "UPDATE inventory_levels SET reserved = reserved + $3, \
    updated_at = $4 WHERE sku = $1 AND location_id = $2 \
    AND on_hand - reserved - safety >= $3";
pub(super) const RECORD_MOVEMENT: &str = "INSERT INTO inventory_movements (sku, location_id, \
    reason, on_hand_change, reserved_change, actor, order_id, note, at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
type MovementRow = (
    i64,
    String,
    String,
    String,
    i64,
    i64,
    String,
    Option<String>,
    String,
    i64,
);

pub(super) fn level(row: LevelRow) -> StoreResult<LevelRecord> {
    let (sku, location, on_hand, reserved, safety, updated) = row;
    Ok(LevelRecord {
        sku,
        location_id: parse("location id", &location)?,
        level: Level {
            on_hand,
            reserved,
            safety,
        },
        updated_at: Timestamp::from_millis(updated),
    })
}

impl Store {
    /// Every location's level of `sku`.
    pub async fn levels_of_sku(&self, sku: &str) -> StoreResult<Vec<LevelRecord>> {
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, LevelRow>(levels!(
            "WHERE sku = $1 ORDER BY location_id"
        ))
        .bind(sku)
        .fetch_all(pool)
        .await?);
        rows.into_iter().map(level).collect()
    }

    /// The locations that can still promise units of `sku`, with how many, as one row
    /// whatever their number: the embedded driver hands each row over between threads
    /// one by one, and a bestseller is stocked in hundreds of stores.
    pub async fn promisable_of_sku(&self, sku: &str) -> StoreResult<Vec<(LocationId, i64)>> {
        let sql = match self {
            Store::Sqlite(_) => {
                "SELECT json_group_array(json_array(location_id, \
                 on_hand - reserved - safety)) FROM inventory_levels \
                 WHERE sku = $1 AND on_hand - reserved - safety > 0"
            }
            Store::Postgres(_) => {
                "SELECT COALESCE(json_agg(json_build_array(location_id, \
                 on_hand - reserved - safety)), '[]')::text FROM inventory_levels \
                 WHERE sku = $1 AND on_hand - reserved - safety > 0"
            }
        };
        let list: String = on_pool!(self, |pool| sqlx::query_scalar(sql)
            .bind(sku)
            .fetch_one(pool)
            .await?);
        let pairs: Vec<(String, i64)> = super::json("promisable levels", &list)?;
        pairs
            .into_iter()
            .map(|(location, available)| Ok((parse("level location", &location)?, available)))
            .collect()
    }

    /// The movements of one level, newest first, before movement `before` when given.
    pub async fn movements(
        &self,
        sku: &str,
        location: LocationId,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<MovementRecord>> {
        const SQL: &str = "SELECT id, sku, location_id, reason, on_hand_change, \
            reserved_change, actor, order_id, note, at FROM inventory_movements \
            WHERE sku = $1 AND location_id = $2 AND ($3 IS NULL OR id < $3) \
            ORDER BY id DESC LIMIT $4";
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, MovementRow>(SQL)
            .bind(sku)
            .bind(location.to_string())
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?);
        rows.into_iter()
            .map(
                |(id, sku, location, reason, on_hand, reserved, actor, order, note, at)| {
                    Ok(MovementRecord {
                        id,
                        sku,
                        location_id: parse("location id", &location)?,
                        reason,
                        on_hand_change: on_hand,
                        reserved_change: reserved,
                        actor,
                        order_id: order,
                        note,
                        at: Timestamp::from_millis(at),
                    })
                },
            )
            .collect()
    }
}

impl Store {
    /// Stocks levels not stocked before, each with its `counted` movement, hundreds a
    /// statement, ten thousand a transaction (so other writers get their turns): an
    /// opening inventory, or a benchmark's shop. A level that exists already fails its
    /// transaction; those committed before stay.
    pub async fn stock_new_levels(
        &self,
        levels: &[(String, LocationId, i64)],
        actor: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        const ROWS: usize = 250;
        for group in levels.chunks(ROWS * 40) {
            self.stock_group(group, actor, at, ROWS).await?;
        }
        Ok(())
    }

    async fn stock_group(
        &self,
        levels: &[(String, LocationId, i64)],
        actor: &str,
        at: Timestamp,
        rows: usize,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        for chunk in levels.chunks(rows) {
            let values = |width: usize| {
                (0..chunk.len())
                    .map(|i| {
                        let cells: Vec<String> =
                            (1..=width).map(|c| format!("${}", i * width + c)).collect();
                        format!("({})", cells.join(", "))
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let insert_levels = format!(
                "INSERT INTO inventory_levels (sku, location_id, on_hand, reserved, safety, \
                 updated_at) SELECT column1, column2, column3, 0, 0, column4 FROM (VALUES {}) AS v",
                values(4)
            );
            let insert_movements = format!(
                "INSERT INTO inventory_movements (sku, location_id, reason, on_hand_change, \
                 reserved_change, actor, order_id, note, at) \
                 SELECT column1, column2, 'counted', column3, 0, column4, NULL, '', column5 \
                 FROM (VALUES {}) AS v",
                values(5)
            );
            on_tx!(&mut tx, |conn| {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(insert_levels.as_str()));
                for (sku, location, on_hand) in chunk {
                    query = query
                        .bind(sku)
                        .bind(location.to_string())
                        .bind(*on_hand)
                        .bind(at.millis());
                }
                query.execute(&mut *conn).await?.rows_affected();
                let mut query = sqlx::query(sqlx::AssertSqlSafe(insert_movements.as_str()));
                for (sku, location, on_hand) in chunk {
                    query = query
                        .bind(sku)
                        .bind(location.to_string())
                        .bind(*on_hand)
                        .bind(actor)
                        .bind(at.millis());
                }
                query.execute(&mut *conn).await?.rows_affected()
            });
        }
        tx.commit().await?;
        Ok(())
    }
}

impl Tx {
    /// One level, locked until the transaction ends on PostgreSQL (SQLite's writer
    /// holds the whole database); zero when the SKU was never stocked there.
    pub async fn lock_level(&mut self, sku: &str, location: LocationId) -> StoreResult<Level> {
        let sql = match self {
            Tx::Sqlite(..) => LEVEL,
            Tx::Postgres(_) => levels!("WHERE sku = $1 AND location_id = $2 FOR UPDATE"),
        };
        let row = on_tx!(self, |conn| sqlx::query_as::<_, LevelRow>(sql)
            .bind(sku)
            .bind(location.to_string())
            .fetch_optional(conn)
            .await?);
        Ok(row
            .map(level)
            .transpose()?
            .map(|l| l.level)
            .unwrap_or_default())
    }

    /// The levels of these SKUs at every location, as this transaction sees them.
    pub async fn levels_of(&mut self, skus: &[String]) -> StoreResult<Vec<LevelRecord>> {
        let rows = match self {
            Tx::Postgres(tx) => {
                sqlx::query_as::<_, LevelRow>(levels!("WHERE sku = ANY($1)"))
                    .bind(skus)
                    .fetch_all(&mut **tx)
                    .await?
            }
            Tx::Sqlite(tx, _) => {
                let mut rows = Vec::new();
                for sku in skus {
                    rows.extend(
                        sqlx::query_as::<_, LevelRow>(LEVELS_OF_SKU)
                            .bind(sku)
                            .fetch_all(&mut **tx)
                            .await?,
                    );
                }
                rows
            }
        };
        rows.into_iter().map(level).collect()
    }

    /// The levels of these SKUs at one location, as this transaction sees them, locked
    /// until it ends on PostgreSQL (in the order every transaction takes levels;
    /// SQLite's writer holds the whole database).
    pub async fn levels_at(
        &mut self,
        skus: &[String],
        location: LocationId,
    ) -> StoreResult<Vec<LevelRecord>> {
        let location = location.to_string();
        let rows =
            match self {
                Tx::Postgres(tx) => sqlx::query_as::<_, LevelRow>(levels!(
                    "WHERE location_id = $2 AND sku = ANY($1) ORDER BY sku COLLATE \"C\" FOR UPDATE"
                ))
                .bind(skus)
                .bind(&location)
                .fetch_all(&mut **tx)
                .await?,
                Tx::Sqlite(tx, _) => {
                    let mut rows = Vec::new();
                    for sku in skus {
                        rows.extend(
                            sqlx::query_as::<_, LevelRow>(LEVEL)
                                .bind(sku)
                                .bind(&location)
                                .fetch_optional(&mut **tx)
                                .await?,
                        );
                    }
                    rows
                }
            };
        rows.into_iter().map(level).collect()
    }

    /// Applies a planned movement to its level and records it. The level's checks
    /// refuse anything that would make it negative.
    pub async fn apply_movement(&mut self, m: &NewMovement<'_>) -> StoreResult<()> {
        // An update first: an upsert's proposed row would carry a negative change and
        // trip the level's checks before the conflict made it an update.
        let updated = on_tx!(self, |conn| sqlx::query(MOVE_LEVEL)
            .bind(m.sku)
            .bind(m.location_id.to_string())
            .bind(m.movement.on_hand)
            .bind(m.movement.reserved)
            .bind(m.at.millis())
            .execute(conn)
            .await?
            .rows_affected());
        if updated == 0 {
            on_tx!(self, |conn| sqlx::query(NEW_LEVEL)
                .bind(m.sku)
                .bind(m.location_id.to_string())
                .bind(m.movement.on_hand)
                .bind(m.movement.reserved)
                .bind(m.at.millis())
                .execute(conn)
                .await?
                .rows_affected());
        }
        self.record_movement(m).await
    }

    /// Promises `quantity` units if that many can still be promised, in one statement
    /// (so two checkouts racing for the last unit cannot both have it); `false` when not.
    pub async fn reserve(&mut self, m: &NewMovement<'_>) -> StoreResult<bool> {
        debug_assert_eq!(m.movement.reason, Reason::Reserved);
        let done = on_tx!(self, |conn| sqlx::query(RESERVE)
            .bind(m.sku)
            .bind(m.location_id.to_string())
            .bind(m.movement.reserved)
            .bind(m.at.millis())
            .execute(conn)
            .await?
            .rows_affected());
        if done == 1 {
            self.record_movement(m).await?;
        }
        Ok(done == 1)
    }

    /// Sets the units kept back from sale at one level.
    pub async fn set_safety(
        &mut self,
        sku: &str,
        location: LocationId,
        safety: i64,
        at: Timestamp,
    ) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO inventory_levels (sku, location_id, on_hand, reserved, \
            safety, updated_at) VALUES ($1, $2, 0, 0, $3, $4) ON CONFLICT (sku, location_id) \
            DO UPDATE SET safety = excluded.safety, updated_at = excluded.updated_at";
        on_tx!(self, |conn| sqlx::query(SQL)
            .bind(sku)
            .bind(location.to_string())
            .bind(safety)
            .bind(at.millis())
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }

    async fn record_movement(&mut self, m: &NewMovement<'_>) -> StoreResult<()> {
        on_tx!(self, |conn| sqlx::query(RECORD_MOVEMENT)
            .bind(m.sku)
            .bind(m.location_id.to_string())
            .bind(m.movement.reason.as_str())
            .bind(m.movement.on_hand)
            .bind(m.movement.reserved)
            .bind(m.actor)
            .bind(m.order_id.map(|o| o.to_string()))
            .bind(m.note)
            .bind(m.at.millis())
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }
}

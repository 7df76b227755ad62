//! The write limit benchmarks compare with: a bare insert loop on the same engine and
//! durability settings as the store, each transaction durable when it commits.

use std::time::{Duration, Instant};

use crate::{Store, StoreResult};

impl Store {
    /// Appends `rows` rows of `body` to a fresh table with an integer key and no other
    /// index, `per_transaction` rows a transaction (each committed as durably as the
    /// store's), and drops the table. Returns the time the inserts took.
    ///
    /// Each engine is driven the fastest way this program can drive it, so the figure is
    /// the engine's limit rather than the driver's: on SQLite, prepared statements on a
    /// connection of its own (how the ingestion writer writes); on PostgreSQL, where every
    /// statement is a network round trip, one array insert per transaction (how the
    /// ingestion writer writes there).
    pub async fn bare_insert_loop(
        &self,
        rows: usize,
        body: &str,
        per_transaction: usize,
    ) -> StoreResult<Duration> {
        let per = per_transaction.max(1);
        match self {
            Self::Sqlite(_) => match self.sqlite_path() {
                Some(path) => {
                    crate::collect::writer::embedded::bare_insert_loop(&path, rows, body, per)
                }
                None => Err(crate::corrupt("database path", "unknown")),
            },
            Self::Postgres(pool) => {
                let table = format!("bench_bare_{}", std::process::id());
                let drop = format!("DROP TABLE IF EXISTS {table}");
                sqlx::query(sqlx::AssertSqlSafe(drop.clone()))
                    .execute(pool)
                    .await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "CREATE TABLE {table} (id BIGINT PRIMARY KEY, body TEXT NOT NULL)"
                )))
                .execute(pool)
                .await?;
                let insert = format!(
                    "INSERT INTO {table} (id, body) SELECT * FROM unnest($1::bigint[], $2::text[])"
                );
                let started = Instant::now();
                for chunk in 0..rows.div_ceil(per) {
                    let ids: Vec<i64> = (chunk * per..((chunk + 1) * per).min(rows))
                        .map(|i| i64::try_from(i).unwrap_or(i64::MAX))
                        .collect();
                    let bodies = vec![body; ids.len()];
                    let mut tx = pool.begin().await?;
                    sqlx::query(sqlx::AssertSqlSafe(insert.as_str()))
                        .bind(&ids)
                        .bind(&bodies)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                }
                let elapsed = started.elapsed();
                sqlx::query(sqlx::AssertSqlSafe(drop)).execute(pool).await?;
                Ok(elapsed)
            }
        }
    }
}

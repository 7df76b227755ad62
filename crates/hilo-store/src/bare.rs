//! The write limit benchmarks compare with: a bare prepared-insert loop on the same
//! engine and durability settings as the store.

use std::time::{Duration, Instant};

use crate::{Store, StoreResult, on_pool};

impl Store {
    /// Appends `rows` rows of `body` to a fresh table with an integer key and no other
    /// index, 1,000 rows a transaction, and drops the table. Returns the time the inserts
    /// took.
    /// On SQLite the loop runs on a connection of its own driven synchronously, the
    /// fastest way this program can write (and the way the ingestion writer writes).
    pub async fn bare_insert_loop(&self, rows: usize, body: &str) -> StoreResult<Duration> {
        if let Some(path) = self.sqlite_path() {
            return crate::EmbeddedWriter::open(&path)?.bare_insert_loop(rows, body);
        }
        let table = format!("bench_bare_{}", std::process::id());
        let create = format!("CREATE TABLE {table} (id BIGINT PRIMARY KEY, body TEXT NOT NULL)");
        let insert = format!("INSERT INTO {table} (id, body) VALUES ($1, $2)");
        let drop = format!("DROP TABLE IF EXISTS {table}");
        let elapsed = on_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(drop.clone()))
                .execute(pool)
                .await?;
            sqlx::query(sqlx::AssertSqlSafe(create))
                .execute(pool)
                .await?;
            let started = Instant::now();
            let mut id: i64 = 0;
            for chunk in 0..rows.div_ceil(1000) {
                let mut tx = pool.begin().await?;
                for _ in chunk * 1000..((chunk + 1) * 1000).min(rows) {
                    id += 1;
                    sqlx::query(sqlx::AssertSqlSafe(insert.as_str()))
                        .bind(id)
                        .bind(body)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
            let elapsed = started.elapsed();
            sqlx::query(sqlx::AssertSqlSafe(drop)).execute(pool).await?;
            elapsed
        });
        Ok(elapsed)
    }
}

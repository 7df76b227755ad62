//! Transactions on either engine, for use cases that make several changes at once.

use sqlx::{Postgres, Sqlite, Transaction};

use crate::{Store, StoreResult};

/// An open transaction. Dropping it without [`Tx::commit`] rolls everything back.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs the same expression against the transaction's connection, compiled per engine.
macro_rules! on_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            $crate::tx::Tx::Sqlite(transaction) => {
                let $conn: &mut sqlx::SqliteConnection = &mut *transaction;
                $body
            }
            $crate::tx::Tx::Postgres(transaction) => {
                let $conn: &mut sqlx::PgConnection = &mut *transaction;
                $body
            }
        }
    };
}
pub(crate) use on_tx;

impl Store {
    pub async fn begin(&self) -> StoreResult<Tx> {
        Ok(match self {
            // IMMEDIATE: take the write lock up front, so a transaction that reads and then
            // writes never fails to upgrade when another writer got in between.
            Self::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Self::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }
}

impl Tx {
    pub async fn commit(self) -> StoreResult<()> {
        self.commit_versioned().await.map(|_| ())
    }

    /// Commits; on PostgreSQL, raising the graph version (migration 0009) and returning
    /// the version this commit made.
    pub async fn commit_versioned(self) -> StoreResult<Option<i64>> {
        match self {
            Self::Sqlite(tx) => {
                tx.commit().await?;
                Ok(None)
            }
            Self::Postgres(mut tx) => {
                let version: i64 = sqlx::query_scalar(
                    "UPDATE graph_version SET version = version + 1 WHERE id = 1 RETURNING version",
                )
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(Some(version))
            }
        }
    }

    /// On PostgreSQL, the graph version as last committed.
    pub async fn graph_version(&mut self) -> StoreResult<Option<i64>> {
        match self {
            Self::Sqlite(_) => Ok(None),
            Self::Postgres(tx) => Ok(Some(
                sqlx::query_scalar("SELECT version FROM graph_version WHERE id = 1")
                    .fetch_one(&mut **tx)
                    .await?,
            )),
        }
    }
}

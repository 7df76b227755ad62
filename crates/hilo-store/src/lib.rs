//! Hilo's storage: one behaviour on two engines.
//!
//! [`Store`] holds a native sqlx pool for SQLite or PostgreSQL. Each area (keys, sources,
//! users) is a module of methods on it; the SQL is written once with `$n` placeholders,
//! which both engines accept, and [`on_pool!`] compiles it for each engine's own types.
//! Where the dialects differ, a method matches on the engine explicitly.

// The parts, one line each.
pub mod access;
pub mod collect;
pub mod commerce;
pub mod conversations;
pub mod customers;
pub mod webhooks;

// What every part shares: connections, transactions, jobs, instance settings.
mod connect;
pub mod jobs;
pub mod live;
pub mod settings;
mod sql;
pub mod tx;
mod write_turn;

use sqlx::{PgPool, SqlitePool};

pub use connect::{ConnectOptions, DEFAULT_SQLITE_CACHE_MIB, DatabaseUrl, Engine};
pub use tx::{Tx, VersionedCommit};
pub use write_turn::WriteTurn;

/// A connection pool to one of the two supported engines.
#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same expression against whichever pool the store holds. The expression is
/// compiled once per engine, so each sees its own driver types.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match $store {
            $crate::Store::Sqlite($pool) => $body,
            $crate::Store::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write: the thing already exists.
    #[error("already exists")]
    Conflict,
    /// A stored value no longer parses into its domain type.
    #[error("stored {what} is corrupt: {detail}")]
    Corrupt { what: &'static str, detail: String },
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("database error: {0}")]
    Embedded(rusqlite::Error),
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::Conflict,
            _ => Self::Database(error),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// How busy the pool is, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    pub connections: u32,
    pub idle: u32,
    pub max: u32,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    pub fn engine(&self) -> Engine {
        match self {
            Self::Sqlite(_) => Engine::Sqlite,
            Self::Postgres(_) => Engine::Postgres,
        }
    }

    /// Applies every migration not applied yet; running it again changes nothing.
    /// On PostgreSQL the migrator holds an advisory lock, so nodes starting together
    /// take turns.
    pub async fn migrate(&self) -> StoreResult<Vec<i64>> {
        let before = self.applied_migrations().await.unwrap_or_default();
        match self {
            Self::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
            Self::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        let after = self.applied_migrations().await?;
        Ok(after.into_iter().filter(|v| !before.contains(v)).collect())
    }

    /// Versions of the migrations that are recorded as applied, oldest first.
    pub async fn applied_migrations(&self) -> StoreResult<Vec<i64>> {
        const SQL: &str = "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version";
        Ok(on_pool!(self, |pool| sqlx::query_scalar::<_, i64>(SQL)
            .fetch_all(pool)
            .await?))
    }

    /// Versions of the migrations this build carries.
    pub fn known_migrations(&self) -> Vec<i64> {
        let migrator = match self {
            Self::Sqlite(_) => &SQLITE_MIGRATIONS,
            Self::Postgres(_) => &POSTGRES_MIGRATIONS,
        };
        migrator.iter().map(|m| m.version).collect()
    }

    /// Whether PostgreSQL's autovacuum is on; `None` on SQLite, which has none. Without
    /// it tables are never analysed, and the planner's guesses for reads that join
    /// customers' rows grow worse as the tables grow.
    pub async fn autovacuum_on(&self) -> StoreResult<Option<bool>> {
        match self {
            Self::Sqlite(_) => Ok(None),
            Self::Postgres(pool) => {
                let setting: String = sqlx::query_scalar("SELECT current_setting('autovacuum')")
                    .fetch_one(pool)
                    .await?;
                Ok(Some(setting == "on"))
            }
        }
    }

    /// Succeeds when the database answers a trivial query.
    pub async fn ping(&self) -> StoreResult<()> {
        on_pool!(self, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    pub fn pool_usage(&self) -> PoolUsage {
        on_pool!(self, |pool| PoolUsage {
            connections: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            max: pool.options().get_max_connections(),
        })
    }

    /// The database file, when the store is the embedded engine.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        match self {
            Self::Sqlite(pool) => Some(pool.connect_options().get_filename().to_path_buf()),
            Self::Postgres(_) => None,
        }
    }

    /// Refreshes the planner's statistics (`ANALYZE`), as PostgreSQL's autovacuum or
    /// SQLite's `PRAGMA optimize` would in time: after a bulk load the planner otherwise
    /// reads fresh tables as empty and scans them.
    pub async fn refresh_statistics(&self) -> StoreResult<()> {
        match self {
            Self::Sqlite(pool) => {
                sqlx::query("PRAGMA optimize").execute(pool).await?;
            }
            Self::Postgres(pool) => analyse_filled(pool, "ANALYZE").await?,
        }
        Ok(())
    }

    /// `VACUUM (ANALYZE)` on PostgreSQL, as autovacuum would after a bulk load: besides
    /// the statistics, it marks the pages every transaction sees whole, so index-only
    /// scans (the search's pairs, migration 0029) read no table rows. The same as
    /// [`Store::refresh_statistics`] on SQLite.
    pub async fn vacuum(&self) -> StoreResult<()> {
        match self {
            Self::Sqlite(_) => self.refresh_statistics().await,
            Self::Postgres(pool) => analyse_filled(pool, "VACUUM (ANALYZE)").await,
        }
    }

    /// Writes every changed page to the database files now (`CHECKPOINT` on PostgreSQL,
    /// a truncating WAL checkpoint on SQLite), so what follows a bulk load does not
    /// share the disk with the load's own write-back.
    pub async fn checkpoint(&self) -> StoreResult<()> {
        match self {
            Self::Sqlite(pool) => {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(pool)
                    .await?;
            }
            Self::Postgres(pool) => {
                sqlx::query("CHECKPOINT").execute(pool).await?;
            }
        }
        Ok(())
    }

    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await)
    }
}

pub(crate) fn corrupt(what: &'static str, detail: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what,
        detail: detail.to_string(),
    }
}

/// Runs `command` (`ANALYZE` or `VACUUM (ANALYZE)`) on the tables that hold rows. An
/// empty table analysed reads as empty to the planner until it is analysed again, and
/// the plans cached meanwhile (foreign-key checks among them) scan it whole as it
/// grows; a table never analysed is estimated from its size instead.
async fn analyse_filled(pool: &sqlx::PgPool, command: &str) -> StoreResult<()> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT quote_ident(relname) FROM pg_class \
         WHERE relkind = 'r' AND relnamespace = current_schema()::regnamespace",
    )
    .fetch_all(pool)
    .await?;
    let mut filled = Vec::new();
    for table in tables {
        let exists = format!("SELECT EXISTS (SELECT 1 FROM {table})");
        if sqlx::query_scalar::<_, bool>(sqlx::AssertSqlSafe(exists))
            .fetch_one(pool)
            .await?
        {
            filled.push(table);
        }
    }
    if !filled.is_empty() {
        let statement = format!("{command} {}", filled.join(", "));
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(pool)
            .await?;
    }
    Ok(())
}

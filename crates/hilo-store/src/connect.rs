//! Opening a store from a database URL.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::{Store, StoreResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        })
    }
}

/// A parsed database URL. It may hold a password, so `Debug` and `Display` show only
/// the engine and where the data lives.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite://PATH` or `sqlite:PATH`.
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…`, kept whole for the driver.
    Postgres(String),
}

impl DatabaseUrl {
    pub fn sqlite_file(path: impl Into<PathBuf>) -> Self {
        Self::Sqlite(path.into())
    }

    pub fn engine(&self) -> Engine {
        match self {
            Self::Sqlite(_) => Engine::Sqlite,
            Self::Postgres(_) => Engine::Postgres,
        }
    }

    /// Where the data lives, without credentials: a file path or `host:port/database`.
    pub fn location(&self) -> String {
        match self {
            Self::Sqlite(path) => path.display().to_string(),
            Self::Postgres(url) => {
                let rest = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
                let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
                rest.split('?').next().unwrap_or(rest).to_owned()
            }
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({}: {})", self.engine(), self.location())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}", self.engine(), self.location())
    }
}

impl FromStr for DatabaseUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Some(path) = text
            .strip_prefix("sqlite://")
            .or_else(|| text.strip_prefix("sqlite:"))
        {
            let path = path.split('?').next().unwrap_or(path);
            if path.is_empty() || path == ":memory:" {
                return Err(
                    "a SQLite URL needs a file path, as in sqlite://./hilo-data/hilo.db".into(),
                );
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            PgConnectOptions::from_str(text).map_err(|_| {
                "a PostgreSQL URL looks like postgres://USER:PASSWORD@HOST:5432/DATABASE".to_owned()
            })?;
            return Ok(Self::Postgres(text.to_owned()));
        }
        Err("expected sqlite://PATH or postgres://USER:PASSWORD@HOST:5432/DATABASE".into())
    }
}

/// How to open the pool.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub url: DatabaseUrl,
    pub max_connections: u32,
    /// SQLite: the page cache of each pool connection, in MiB. The operating system
    /// caches the file as well, shared by every connection; this cache saves only the
    /// copy out of it, so a small one per connection keeps memory bounded at little cost.
    pub sqlite_cache_mib: u32,
}

/// The default page cache of each SQLite pool connection, in MiB.
pub const DEFAULT_SQLITE_CACHE_MIB: u32 = 8;

impl ConnectOptions {
    pub fn new(url: DatabaseUrl, max_connections: u32) -> Self {
        Self {
            url,
            max_connections,
            sqlite_cache_mib: DEFAULT_SQLITE_CACHE_MIB,
        }
    }
}

impl Store {
    /// Opens a pool (creating the SQLite file and its folder when missing). It does not
    /// migrate: call [`Store::migrate`].
    pub async fn connect(options: &ConnectOptions) -> StoreResult<Self> {
        match &options.url {
            DatabaseUrl::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
                }
                let connect = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // FULL: a commit is on disk before Hilo acknowledges it, even if the
                    // machine loses power, not only if the process dies.
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
                    .pragma("temp_store", "memory")
                    .pragma(
                        "cache_size",
                        format!("-{}", u64::from(options.sqlite_cache_mib.max(1)) * 1024),
                    );
                let pool = SqlitePoolOptions::new()
                    .max_connections(options.max_connections.max(1))
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(connect)
                    .await?;
                Ok(Self::Sqlite(pool))
            }
            DatabaseUrl::Postgres(url) => {
                let connect = PgConnectOptions::from_str(url)?.application_name("hilo");
                let pool = PgPoolOptions::new()
                    .max_connections(options.max_connections.max(1))
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(connect)
                    .await?;
                Ok(Self::Postgres(pool))
            }
        }
    }
}

/// What the ingestion writer's PostgreSQL sessions tell the planner. Every statement the
/// writer runs reads or writes rows by key, a few hundred at a time. Without statistics
/// (autovacuum off, or a table grown since it was last analysed) the planner's default
/// guesses made it scan whole tables with hash joins and parallel workers instead
/// (measured: 677 scans of `identities`, 58M rows read, in a 300k-message run).
const WRITER_PLANNER: [(&str, &str); 4] = [
    ("enable_seqscan", "off"),
    ("enable_hashjoin", "off"),
    ("enable_mergejoin", "off"),
    ("max_parallel_workers_per_gather", "0"),
];

impl Store {
    /// A pool of its own to the same database, for the ingestion writer, which must not
    /// wait behind others for a connection. Its connections belong to the runtime it is
    /// created on, and on PostgreSQL plan for lookups by key (see [`WRITER_PLANNER`]).
    pub async fn dedicated(&self, max_connections: u32) -> StoreResult<Self> {
        Ok(match self {
            Self::Sqlite(pool) => Self::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(max_connections.max(1))
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with((*pool.connect_options()).clone())
                    .await?,
            ),
            Self::Postgres(pool) => Self::Postgres(
                PgPoolOptions::new()
                    .max_connections(max_connections.max(1))
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with((*pool.connect_options()).clone().options(WRITER_PLANNER))
                    .await?,
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_hide_passwords() {
        let url: DatabaseUrl = "postgres://hilo:s3cret@db.internal:5432/hilo?sslmode=require"
            .parse()
            .unwrap();
        assert_eq!(url.engine(), Engine::Postgres);
        let shown = format!("{url} {url:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("db.internal:5432/hilo"), "{shown}");

        let file: DatabaseUrl = "sqlite://./data/hilo.db".parse().unwrap();
        assert_eq!(file, DatabaseUrl::Sqlite(PathBuf::from("./data/hilo.db")));
        assert!("mysql://x".parse::<DatabaseUrl>().is_err());
        assert!("sqlite::memory:".parse::<DatabaseUrl>().is_err());
    }
}

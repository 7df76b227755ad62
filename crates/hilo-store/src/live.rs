//! Live events between nodes: on PostgreSQL a `NOTIFY` on one channel, heard by every
//! node's `LISTEN`; on SQLite there is one node, so there is nothing to carry.

use sqlx::postgres::PgListener;

use crate::{Store, StoreResult};

/// The PostgreSQL channel live events travel on.
const CHANNEL: &str = "hilo_live";
/// PostgreSQL refuses payloads of 8000 bytes or more.
pub const MAX_PAYLOAD: usize = 7_900;

/// A node's subscription to every node's live events (PostgreSQL).
pub struct LiveListener(PgListener);

impl LiveListener {
    /// The next event's payload. After a lost connection the listener connects and
    /// listens again by itself; what was sent meanwhile is not heard.
    pub async fn recv(&mut self) -> StoreResult<String> {
        Ok(self.0.recv().await?.payload().to_owned())
    }
}

impl Store {
    /// Listens to every node's live events; `None` on SQLite.
    pub async fn listen_live(&self) -> StoreResult<Option<LiveListener>> {
        match self {
            Self::Sqlite(_) => Ok(None),
            Self::Postgres(pool) => {
                // A connection of its own, outside the pool: listening holds it for
                // ever, and the pool's connections are for requests (a pool of one
                // would be left with none).
                let own = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(1)
                    .connect_with((*pool.connect_options()).clone())
                    .await?;
                let mut listener = PgListener::connect_with(&own).await?;
                listener.listen(CHANNEL).await?;
                Ok(Some(LiveListener(listener)))
            }
        }
    }

    /// Sends live events to every node (PostgreSQL), in order, in one statement;
    /// `false` on SQLite, where the caller hands them to its own subscribers.
    pub async fn notify_live(&self, payloads: &[&str]) -> StoreResult<bool> {
        match self {
            Self::Sqlite(_) => Ok(false),
            Self::Postgres(pool) => notify(pool, payloads).await,
        }
    }
}

/// Notifications of one statement are delivered in the order sent.
async fn notify<'e>(executor: impl sqlx::PgExecutor<'e>, payloads: &[&str]) -> StoreResult<bool> {
    sqlx::query(
        "SELECT pg_notify($1, payload) FROM unnest($2::text[]) \
         WITH ORDINALITY AS sent(payload, n) ORDER BY n",
    )
    .bind(CHANNEL)
    .bind(payloads)
    .execute(executor)
    .await?;
    Ok(true)
}

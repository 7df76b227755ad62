//! Secret API keys. Only a digest of each secret is stored.

use hilo_domain::{ApiKeyId, PageRequest, Role, Timestamp};

use crate::{Store, StoreResult, corrupt, on_pool};

/// A key as listed: everything but the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: ApiKeyId,
    pub name: String,
    pub role: Role,
    /// The first characters of the secret, so people can tell keys apart.
    pub prefix: String,
    pub created_by: Option<String>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// A key to store; `secret_hash` is the digest of the secret shown once to its owner.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub record: ApiKeyRecord,
    pub secret_hash: String,
}

#[derive(sqlx::FromRow)]
struct ApiKeyRow {
    id: String,
    name: String,
    role: String,
    prefix: String,
    created_by: Option<String>,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl TryFrom<ApiKeyRow> for ApiKeyRecord {
    type Error = crate::StoreError;

    fn try_from(row: ApiKeyRow) -> Result<Self, Self::Error> {
        Ok(Self {
            id: row.id.parse().map_err(|e| corrupt("api key id", e))?,
            name: row.name,
            role: row.role.parse().map_err(|e| corrupt("api key role", e))?,
            prefix: row.prefix,
            created_by: row.created_by,
            created_at: Timestamp::from_millis(row.created_at),
            last_used_at: row.last_used_at.map(Timestamp::from_millis),
            revoked_at: row.revoked_at.map(Timestamp::from_millis),
        })
    }
}

/// `SELECT` of every listed column, followed by the rest of the statement.
macro_rules! select_keys {
    ($rest:literal) => {
        concat!("SELECT id, name, role, prefix, created_by, created_at, last_used_at, revoked_at FROM api_keys ", $rest)
    };
}
const INSERT: &str = "INSERT INTO api_keys \
    (id, name, role, secret_hash, prefix, created_by, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7)";

macro_rules! bind_new_key {
    ($query:expr, $key:expr) => {
        $query
            .bind($key.record.id.to_string())
            .bind(&$key.record.name)
            .bind($key.record.role.as_str())
            .bind(&$key.secret_hash)
            .bind(&$key.record.prefix)
            .bind(&$key.record.created_by)
            .bind($key.record.created_at.millis())
    };
}

impl Store {
    pub async fn insert_api_key(&self, key: &NewApiKey) -> StoreResult<()> {
        on_pool!(self, |pool| bind_new_key!(sqlx::query(INSERT), key)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Stores `key` only if no node has bootstrapped this database before, in one
    /// transaction with the marker, so exactly one first-start key ever exists.
    pub async fn insert_bootstrap_api_key(&self, key: &NewApiKey) -> StoreResult<bool> {
        const CLAIM: &str = "INSERT INTO instance_settings (key, value) \
                             VALUES ('bootstrapped_at', $1) ON CONFLICT (key) DO NOTHING";
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let claimed = sqlx::query(CLAIM)
                .bind(key.record.created_at.millis().to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if claimed {
                bind_new_key!(sqlx::query(INSERT), key)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(claimed)
        })
    }

    /// Keys in creation order, revoked ones included.
    pub async fn list_api_keys(&self, page: &PageRequest) -> StoreResult<Vec<ApiKeyRecord>> {
        const SQL: &str = select_keys!("WHERE id > $1 ORDER BY id LIMIT $2");
        let after = page.after.as_ref().map_or("", |c| c.as_str()).to_owned();
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, ApiKeyRow>(SQL)
            .bind(&after)
            .bind(i64::from(page.limit) + 1)
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(ApiKeyRecord::try_from).collect()
    }

    pub async fn api_key(&self, id: ApiKeyId) -> StoreResult<Option<ApiKeyRecord>> {
        const SQL: &str = select_keys!("WHERE id = $1");
        let row = on_pool!(self, |pool| sqlx::query_as::<_, ApiKeyRow>(SQL)
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?);
        row.map(ApiKeyRecord::try_from).transpose()
    }

    /// The unrevoked key whose secret has this digest.
    pub async fn active_api_key_by_hash(&self, hash: &str) -> StoreResult<Option<ApiKeyRecord>> {
        const SQL: &str = select_keys!("WHERE secret_hash = $1 AND revoked_at IS NULL");
        let row = on_pool!(self, |pool| sqlx::query_as::<_, ApiKeyRow>(SQL)
            .bind(hash)
            .fetch_optional(pool)
            .await?);
        row.map(ApiKeyRecord::try_from).transpose()
    }

    /// Whether any key, revoked or not, has this digest.
    pub async fn api_key_hash_exists(&self, hash: &str) -> StoreResult<bool> {
        const SQL: &str = "SELECT COUNT(*) FROM api_keys WHERE secret_hash = $1";
        let count = on_pool!(self, |pool| sqlx::query_scalar::<_, i64>(SQL)
            .bind(hash)
            .fetch_one(pool)
            .await?);
        Ok(count > 0)
    }

    /// Revokes a key; `false` when there is no such key or it was already revoked.
    pub async fn revoke_api_key(&self, id: ApiKeyId, at: Timestamp) -> StoreResult<bool> {
        const SQL: &str =
            "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";
        let changed = on_pool!(self, |pool| sqlx::query(SQL)
            .bind(at.millis())
            .bind(id.to_string())
            .execute(pool)
            .await?
            .rows_affected());
        Ok(changed == 1)
    }

    /// Records a use of the key, at most once per `resolution_ms`, so busy keys do not
    /// turn every read into a write.
    pub async fn touch_api_key(
        &self,
        id: ApiKeyId,
        at: Timestamp,
        resolution_ms: i64,
    ) -> StoreResult<()> {
        const SQL: &str = "UPDATE api_keys SET last_used_at = $1 \
                           WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)";
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(at.millis())
            .bind(id.to_string())
            .bind(at.millis() - resolution_ms)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }
}

//! Secret API keys and bearer authentication.

use hilo_domain::secret::display_prefix;
use hilo_domain::{ApiKeyId, Invalid, Page, PageRequest, Principal, Role, Secret, SecretKind};
use hilo_store::access::api_keys::{ApiKeyRecord, NewApiKey};
use tracing::{info, instrument};

use crate::access::Access;
use crate::{AppError, AppResult};

/// Uses of a key closer together than this are recorded once.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;
/// How long a key is trusted as last read. Revoked through this node, a key stops
/// working at once; revoked on another node sharing the database, or by `hilo keys
/// revoke`, within this.
pub(crate) const API_KEY_TTL: std::time::Duration = std::time::Duration::from_secs(2);
/// Shortest key an operator may preset with `HILO_ADMIN_KEY`.
pub const MIN_PRESET_KEY_LENGTH: usize = 32;

/// Checks a key name: something a person can recognise in a list.
pub fn parse_name(name: &str) -> Result<String, Invalid> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Invalid::new("name", "must not be empty"));
    }
    if name.chars().count() > 100 {
        return Err(Invalid::new("name", "must have at most 100 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(Invalid::new(
            "name",
            "must not contain control characters (tabs, line breaks, NUL)",
        ));
    }
    Ok(name.to_owned())
}

/// Checks a key an operator chose: long enough and free of spaces or control characters.
pub fn parse_preset_key(key: &str) -> Result<Secret, Invalid> {
    if key.len() < MIN_PRESET_KEY_LENGTH {
        return Err(Invalid::new(
            "admin_key",
            format!("must have at least {MIN_PRESET_KEY_LENGTH} characters"),
        ));
    }
    if !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(Invalid::new(
            "admin_key",
            "must be printable ASCII without spaces",
        ));
    }
    if SecretKind::of(key) == SecretKind::WriteKey {
        return Err(Invalid::new(
            "admin_key",
            "must not start with the write-key prefix hilo_wk_",
        ));
    }
    Ok(Secret::new(key))
}

impl Access<'_> {
    /// Creates a key; the secret is returned here and never again.
    #[instrument(skip_all, fields(role = %role))]
    pub async fn create_key(
        &self,
        name: &str,
        role: Role,
        created_by: Option<String>,
    ) -> AppResult<(ApiKeyRecord, Secret)> {
        let secret = SecretKind::ApiKey.generate()?;
        let key = self.new_key(parse_name(name)?, role, &secret, created_by);
        self.hilo.store.insert_api_key(&key).await?;
        info!(key_id = %key.record.id, "api key created");
        Ok((key.record, secret))
    }

    /// On first start of an empty database, creates the first admin key. Returns its
    /// secret if this call created it, `None` if the database was bootstrapped before
    /// (by this node or another).
    pub async fn bootstrap_admin_key(&self) -> AppResult<Option<Secret>> {
        let secret = SecretKind::ApiKey.generate()?;
        let key = self.new_key("initial admin key".into(), Role::Admin, &secret, None);
        let created = self.hilo.store.insert_bootstrap_api_key(&key).await?;
        Ok(created.then_some(secret))
    }

    /// Makes sure an operator-chosen admin key exists. A key that exists already, even
    /// revoked, is left as it is: a revocation is never undone by a restart.
    pub async fn ensure_preset_admin_key(&self, secret: &Secret) -> AppResult<bool> {
        if self
            .hilo
            .store
            .api_key_hash_exists(&secret.digest())
            .await?
        {
            return Ok(false);
        }
        let key = self.new_key("preset admin key".into(), Role::Admin, secret, None);
        // The preset key is this database's first key too: mark it bootstrapped.
        if !self.hilo.store.insert_bootstrap_api_key(&key).await? {
            self.hilo.store.insert_api_key(&key).await?;
        }
        Ok(true)
    }

    pub async fn list_keys(&self, page: &PageRequest) -> AppResult<Page<ApiKeyRecord>> {
        let rows = self.hilo.store.list_api_keys(page).await?;
        Ok(Page::from_rows(rows, page.limit, |k| k.id.to_string()))
    }

    pub async fn key(&self, id: ApiKeyId) -> AppResult<ApiKeyRecord> {
        self.hilo.store.api_key(id).await?.ok_or(AppError::NotFound)
    }

    /// Revokes a key: at once on this node, within [`API_KEY_TTL`] on others. Revoking
    /// a revoked key succeeds and changes nothing.
    #[instrument(skip_all, fields(key_id = %id))]
    pub async fn revoke_key(&self, id: ApiKeyId) -> AppResult<ApiKeyRecord> {
        self.hilo.store.revoke_api_key(id, self.hilo.now()).await?;
        self.hilo.api_keys.clear();
        let key = self.key(id).await?;
        info!("api key revoked");
        Ok(key)
    }

    /// Who a bearer token belongs to: a secret API key or a source's write key.
    pub async fn authenticate_bearer(&self, token: &str) -> AppResult<Option<Principal>> {
        let secret = Secret::new(token);
        match SecretKind::of(token) {
            SecretKind::WriteKey => Ok(self
                .hilo
                .store
                .source_by_write_key_hash(&secret.digest())
                .await?
                .map(|source| Principal::WriteKey {
                    source_id: source.id,
                })),
            _ => {
                let digest = secret.digest();
                let key = match self.hilo.api_keys.get(&digest) {
                    Some(key) => key,
                    None => {
                        let Some(key) = self.hilo.store.active_api_key_by_hash(&digest).await?
                        else {
                            return Ok(None);
                        };
                        self.hilo.api_keys.put(digest.clone(), key.clone());
                        key
                    }
                };
                // Decided here from the row just read: the conditional UPDATE alone,
                // matching nothing, still took SQLite's write lock on every request
                // and queued concurrent reads behind the ingestion writer.
                let now = self.hilo.now();
                let due = key
                    .last_used_at
                    .is_none_or(|used| now.millis() - used.millis() >= LAST_USED_RESOLUTION_MS);
                if due {
                    self.hilo
                        .store
                        .touch_api_key(key.id, now, LAST_USED_RESOLUTION_MS)
                        .await?;
                    let mut touched = key.clone();
                    touched.last_used_at = Some(now);
                    self.hilo.api_keys.put(digest, touched);
                }
                Ok(Some(Principal::ApiKey {
                    id: key.id,
                    role: key.role,
                }))
            }
        }
    }

    fn new_key(
        &self,
        name: String,
        role: Role,
        secret: &Secret,
        created_by: Option<String>,
    ) -> NewApiKey {
        NewApiKey {
            record: ApiKeyRecord {
                id: ApiKeyId::generate(),
                name,
                role,
                prefix: display_prefix(secret),
                created_by,
                created_at: self.hilo.now(),
                last_used_at: None,
                revoked_at: None,
            },
            secret_hash: secret.digest(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("  CRM  ").unwrap(), "CRM");
        assert_eq!(parse_name(" ").unwrap_err().field, "name");
        assert!(parse_name(&"x".repeat(101)).is_err());
        assert!(parse_name(&"ñ".repeat(100)).is_ok());
        for bad in ["a\u{0}b", "line\nbreak", "tab\there"] {
            assert_eq!(parse_name(bad).unwrap_err().field, "name", "{bad:?}");
        }
    }

    #[test]
    fn preset_keys_must_be_long_printable_and_not_write_keys() {
        assert!(parse_preset_key(&"k".repeat(32)).is_ok());
        assert_eq!(
            parse_preset_key(&"k".repeat(31)).unwrap_err().field,
            "admin_key"
        );
        assert!(parse_preset_key(&format!("{} x", "k".repeat(32))).is_err());
        assert!(parse_preset_key(&format!("hilo_wk_{}", "k".repeat(32))).is_err());
    }
}

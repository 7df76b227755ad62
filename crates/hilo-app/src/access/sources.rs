//! Sources and their write keys.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hilo_domain::secret::display_prefix;
use hilo_domain::{Page, PageRequest, Secret, SecretKind, SourceChannel, SourceId};
use hilo_store::access::sources::SourceRecord;
use tracing::{info, instrument};

use crate::access::Access;
use crate::access::keys::parse_name;
use crate::{AppError, AppResult};

/// How long a write key's source is remembered. A source deleted on another node stops
/// accepting its key within this time; on the node that deleted it, at once.
const WRITE_KEY_TTL: Duration = Duration::from_secs(10);
/// Write keys remembered at most; beyond, the oldest half is forgotten.
const WRITE_KEY_LIMIT: usize = 10_000;

/// Write keys seen recently and their sources. Browser SDKs send one message per request,
/// and each would otherwise read the same row to learn who is sending.
#[derive(Debug, Default)]
pub(crate) struct WriteKeyCache {
    entries: Mutex<HashMap<String, (SourceRecord, Instant)>>,
}

impl WriteKeyCache {
    fn get(&self, digest: &str) -> Option<SourceRecord> {
        let entries = self.entries.lock().ok()?;
        let (source, at) = entries.get(digest)?;
        (at.elapsed() < WRITE_KEY_TTL).then(|| source.clone())
    }

    fn put(&self, digest: String, source: SourceRecord) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= WRITE_KEY_LIMIT {
                entries.retain(|_, (_, at)| at.elapsed() < WRITE_KEY_TTL / 2);
            }
            entries.insert(digest, (source, Instant::now()));
        }
    }

    fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

impl Access<'_> {
    /// The live source a write key belongs to, if any.
    pub async fn source_for_write_key(&self, key: &Secret) -> AppResult<Option<SourceRecord>> {
        let digest = key.digest();
        if let Some(source) = self.hilo.write_keys.get(&digest) {
            return Ok(Some(source));
        }
        let found = self.hilo.store.source_by_write_key_hash(&digest).await?;
        if let Some(source) = &found {
            self.hilo.write_keys.put(digest, source.clone());
        }
        Ok(found)
    }

    /// Creates a source; its write key is returned here and never again.
    #[instrument(skip_all, fields(channel = %channel))]
    pub async fn create_source(
        &self,
        name: &str,
        channel: SourceChannel,
    ) -> AppResult<(SourceRecord, Secret)> {
        let write_key = SecretKind::WriteKey.generate()?;
        let source = SourceRecord {
            id: SourceId::generate(),
            name: parse_name(name)?,
            channel,
            write_key_prefix: display_prefix(&write_key),
            created_at: self.hilo.now(),
        };
        self.hilo
            .store
            .insert_source(&source, &write_key.digest())
            .await?;
        info!(source_id = %source.id, "source created");
        Ok((source, write_key))
    }

    pub async fn list_sources(&self, page: &PageRequest) -> AppResult<Page<SourceRecord>> {
        let rows = self.hilo.store.list_sources(page).await?;
        Ok(Page::from_rows(rows, page.limit, |s| s.id.to_string()))
    }

    pub async fn source(&self, id: SourceId) -> AppResult<SourceRecord> {
        self.hilo.store.source(id).await?.ok_or(AppError::NotFound)
    }

    /// Deletes a source; its write key stops working at once on this node, and within
    /// seconds on others.
    #[instrument(skip_all, fields(source_id = %id))]
    pub async fn delete_source(&self, id: SourceId) -> AppResult<()> {
        if self.hilo.store.delete_source(id, self.hilo.now()).await? {
            self.hilo.write_keys.clear();
            info!("source deleted");
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }
}

//! Sources and their write keys.

use std::time::Duration;

use hilo_domain::secret::display_prefix;
use hilo_domain::{Page, PageRequest, Secret, SecretKind, SourceChannel, SourceId};
use hilo_store::access::sources::SourceRecord;
use tracing::{info, instrument};

use crate::access::Access;
use crate::access::keys::parse_name;
use crate::{AppError, AppResult};

/// How long a write key's source is remembered. A source deleted on another node stops
/// accepting its key within this time; on the node that deleted it, at once.
pub(crate) const WRITE_KEY_TTL: Duration = Duration::from_secs(10);

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

//! Sources and their write keys.

use hilo_domain::secret::display_prefix;
use hilo_domain::{Page, PageRequest, Secret, SecretKind, SourceChannel, SourceId};
use hilo_store::sources::SourceRecord;
use tracing::{info, instrument};

use crate::keys::parse_name;
use crate::{AppError, AppResult, Hilo};

impl Hilo {
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
            created_at: self.now(),
        };
        self.store
            .insert_source(&source, &write_key.digest())
            .await?;
        info!(source_id = %source.id, "source created");
        Ok((source, write_key))
    }

    pub async fn list_sources(&self, page: &PageRequest) -> AppResult<Page<SourceRecord>> {
        let rows = self.store.list_sources(page).await?;
        Ok(Page::from_rows(rows, page.limit, |s| s.id.to_string()))
    }

    pub async fn source(&self, id: SourceId) -> AppResult<SourceRecord> {
        self.store.source(id).await?.ok_or(AppError::NotFound)
    }

    /// Deletes a source; its write key stops working at once.
    #[instrument(skip_all, fields(source_id = %id))]
    pub async fn delete_source(&self, id: SourceId) -> AppResult<()> {
        if self.store.delete_source(id, self.now()).await? {
            info!("source deleted");
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }
}

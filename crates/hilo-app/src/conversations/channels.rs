//! Channels as admins configure them: settings checked under each provider's names,
//! credentials sealed before they are stored and masked whenever they are shown.

use std::collections::BTreeMap;

use hilo_domain::conversations::{ChannelSettings, ChannelType};
use hilo_domain::{ChannelId, Invalid, Page, PageRequest};
use hilo_store::conversations::{ChannelChange, ChannelRecord};
use serde_json::{Map, Value};
use tracing::info;

use super::providers::Channel;
use crate::{AppError, AppResult, Hilo};

/// Longest channel name.
const MAX_NAME: usize = 200;

/// A channel as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelView {
    pub id: ChannelId,
    pub kind: ChannelType,
    pub name: String,
    /// Credentials masked.
    pub settings: Map<String, Value>,
    pub webhook_url: Option<String>,
    /// A web chat's tag for a site's pages.
    pub widget_snippet: Option<String>,
    /// An email channel's IMAP mailbox: when it was last read, and why not, if not.
    pub mailbox: Option<MailboxStatus>,
    pub created_at: hilo_domain::Timestamp,
    pub updated_at: hilo_domain::Timestamp,
}

/// How reading an IMAP mailbox went last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxStatus {
    pub checked_at: Option<hilo_domain::Timestamp>,
    pub error: Option<String>,
}

/// A channel just made, with what Hilo generated for it (shown this once).
#[derive(Debug, Clone, PartialEq)]
pub struct CreatedChannel {
    pub channel: ChannelView,
    pub generated: BTreeMap<String, String>,
}

/// The channels' use cases.
pub struct Channels<'a> {
    hilo: &'a Hilo,
}

impl Hilo {
    pub fn channels(&self) -> Channels<'_> {
        Channels { hilo: self }
    }
}

fn check_name(name: &str) -> Result<String, Invalid> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(Invalid::new(
            "name",
            format!("must be 1 to {MAX_NAME} characters, without control characters"),
        ));
    }
    Ok(name.to_owned())
}

impl Channels<'_> {
    fn webhook_url(&self, kind: ChannelType, id: ChannelId) -> Option<String> {
        kind.webhook_path()
            .map(|path| format!("{}{path}/{id}", self.hilo.settings.public_url))
    }

    /// The tag a site pastes to show a web chat: the widget served by this Hilo.
    fn widget_snippet(&self, kind: ChannelType, id: ChannelId) -> Option<String> {
        (kind == ChannelType::WebChat).then(|| {
            format!(
                "<script src=\"{}/widget.js\" data-channel=\"{id}\" async></script>",
                self.hilo.settings.public_url
            )
        })
    }

    fn seal(&self, settings: &ChannelSettings) -> AppResult<String> {
        let secrets = serde_json::to_string(&settings.secrets)
            .map_err(|e| AppError::Internal(format!("cannot write credentials: {e}")))?;
        self.hilo
            .settings
            .sealing_key
            .seal(&secrets)
            .map_err(|e| AppError::Internal(format!("no randomness to seal with: {e}")))
    }

    /// The channel with its credentials open.
    pub(crate) fn open(&self, record: &ChannelRecord) -> AppResult<Channel> {
        let secrets: BTreeMap<String, String> = if record.sealed_secrets.is_empty() {
            BTreeMap::new()
        } else {
            let text = self
                .hilo
                .settings
                .sealing_key
                .open(&record.sealed_secrets)
                .map_err(|e| AppError::Internal(format!("channel {}: {e}", record.id)))?;
            serde_json::from_str(&text)
                .map_err(|e| AppError::Internal(format!("channel {}: {e}", record.id)))?
        };
        Ok(Channel {
            id: record.id,
            kind: record.kind,
            name: record.name.clone(),
            settings: ChannelSettings {
                public: record.settings.clone(),
                secrets,
            },
            webhook_url: self.webhook_url(record.kind, record.id),
        })
    }

    fn view(&self, record: &ChannelRecord) -> AppResult<ChannelView> {
        let channel = self.open(record)?;
        Ok(ChannelView {
            id: record.id,
            kind: record.kind,
            name: record.name.clone(),
            settings: channel.settings.shown(),
            webhook_url: channel.webhook_url,
            widget_snippet: self.widget_snippet(record.kind, record.id),
            mailbox: None,
            created_at: record.created_at,
            updated_at: record.updated_at,
        })
    }

    pub async fn create(
        &self,
        kind: &str,
        name: &str,
        settings: &Map<String, Value>,
    ) -> AppResult<CreatedChannel> {
        let kind: ChannelType = kind.parse()?;
        let name = check_name(name)?;
        let mut settings = ChannelSettings::check(kind, settings, None)?;
        let mut generated = BTreeMap::new();
        if let Some(secret_name) = kind.generated_secret()
            && settings.secret(secret_name).is_none()
        {
            // An API channel's secret signs as Standard Webhooks do (`whsec_…`), so
            // the other system verifies with any of its libraries.
            let secret = if kind == ChannelType::Api {
                hilo_domain::webhooks::SigningSecret::generate().map(|s| s.expose().to_owned())
            } else {
                hilo_domain::sealing::SealingKey::generate_text()
            }
            .map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
            settings
                .secrets
                .insert(secret_name.to_owned(), secret.clone());
            generated.insert(secret_name.to_owned(), secret);
        }
        let now = self.hilo.now();
        let record = ChannelRecord {
            id: ChannelId::generate(),
            kind,
            name,
            sealed_secrets: self.seal(&settings)?,
            address: settings.address(kind),
            settings: settings.public,
            created_at: now,
            updated_at: now,
        };
        self.hilo.store.insert_channel(&record).await?;
        info!(channel = %record.id, kind = %kind, "channel created");
        Ok(CreatedChannel {
            channel: self.view(&record)?,
            generated,
        })
    }

    pub async fn list(&self, page: &PageRequest) -> AppResult<Page<ChannelView>> {
        let rows = self.hilo.store.list_channels(page).await?;
        let mut views = Vec::with_capacity(rows.len());
        for row in &rows {
            views.push(self.with_mailbox(self.view(row)?).await?);
        }
        Ok(Page::from_rows(views, page.limit, |c| c.id.to_string()))
    }

    /// An email channel that reads a mailbox shows how the last reading went.
    async fn with_mailbox(&self, mut view: ChannelView) -> AppResult<ChannelView> {
        if view.kind == ChannelType::Email && view.settings.contains_key("imap_host") {
            let status = self.hilo.store.mailbox_status(view.id).await?;
            view.mailbox = Some(match status {
                Some((checked_at, error)) => MailboxStatus { checked_at, error },
                None => MailboxStatus {
                    checked_at: None,
                    error: None,
                },
            });
        }
        Ok(view)
    }

    pub(crate) async fn record(&self, id: ChannelId) -> AppResult<ChannelRecord> {
        self.hilo.store.channel(id).await?.ok_or(AppError::NotFound)
    }

    pub async fn get(&self, id: ChannelId) -> AppResult<ChannelView> {
        let view = self.view(&self.record(id).await?)?;
        self.with_mailbox(view).await
    }

    /// Renames a channel or changes its settings: the keys given replace the stored
    /// ones (`null` removes one), the others stay.
    pub async fn update(
        &self,
        id: ChannelId,
        name: Option<&str>,
        settings: Option<&Map<String, Value>>,
    ) -> AppResult<ChannelView> {
        let record = self.record(id).await?;
        let current = self.open(&record)?;
        let name = name
            .map(check_name)
            .transpose()?
            .unwrap_or(record.name.clone());
        let settings = match settings {
            Some(given) => ChannelSettings::check(record.kind, given, Some(&current.settings))?,
            None => current.settings,
        };
        let sealed = self.seal(&settings)?;
        let address = settings.address(record.kind);
        let change = ChannelChange {
            name: &name,
            settings: &settings.public,
            sealed_secrets: &sealed,
            address: address.as_deref(),
        };
        if !self
            .hilo
            .store
            .update_channel(id, &change, self.hilo.now())
            .await?
        {
            return Err(AppError::NotFound);
        }
        info!(channel = %id, "channel changed");
        self.get(id).await
    }

    /// Deletes a channel: its webhooks are refused and its credentials forgotten; its
    /// messages stay in their conversations.
    pub async fn delete(&self, id: ChannelId) -> AppResult<()> {
        if self.hilo.store.delete_channel(id, self.hilo.now()).await? {
            info!(channel = %id, "channel deleted");
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }
}

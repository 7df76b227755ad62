//! Email's use cases: which mailbox a recipient is, storing what arrives for it (from
//! Hilo's SMTP listener or a polled mailbox), and attachments for download. Sending is
//! the email provider's (`providers/email.rs`), as for any channel.

use hilo_domain::MessageId;
use hilo_domain::conversations::ChannelType;
use hilo_domain::conversations::email::mailbox_of;
use hilo_store::conversations::AttachmentRecord;
use tracing::info;

use super::Conversations;
use super::providers::{Channel, email::read_email};
use crate::{AppError, AppResult};

/// Largest email taken, in bytes.
pub const MAX_EMAIL_BYTES: usize = 32 * 1024 * 1024;

impl Conversations<'_> {
    /// The email channel that receives for `recipient` (its plus part aside).
    pub async fn email_recipient(&self, recipient: &str) -> AppResult<Option<Channel>> {
        let (mailbox, _) = mailbox_of(recipient);
        let Some(record) = self.hilo.store.email_channel(&mailbox).await? else {
            return Ok(None);
        };
        Ok(Some(self.hilo.channels().open(&record)?))
    }

    /// Stores an email sent to `recipient` in the sender's conversation (the one it
    /// replies to, when it replies to one of theirs). `None`: no channel receives for
    /// the recipient. The same email delivered again is stored once.
    pub async fn receive_email(
        &self,
        recipient: &str,
        raw: &[u8],
    ) -> AppResult<Option<Option<MessageId>>> {
        let Some(channel) = self.email_recipient(recipient).await? else {
            return Ok(None);
        };
        let (_, named) = mailbox_of(recipient);
        self.store_email(&channel, named, raw).await.map(Some)
    }

    /// Stores an email that reached `channel`; `named` is the conversation its
    /// recipient's plus address names, if the transport knows the recipient (IMAP
    /// does not: then the `To` and `Cc` addresses are looked at). `None` when the
    /// same email was stored before.
    pub(crate) async fn store_email(
        &self,
        channel: &Channel,
        named: Option<hilo_domain::ConversationId>,
        raw: &[u8],
    ) -> AppResult<Option<MessageId>> {
        if channel.kind != ChannelType::Email {
            return Err(AppError::NotFound);
        }
        let mut message = read_email(raw, named)?;
        if let Some(email) = message.email.as_mut()
            && email.named.is_none()
        {
            let mailbox = channel
                .settings
                .text("address")
                .unwrap_or_default()
                .to_ascii_lowercase();
            email.named = email
                .details
                .to
                .iter()
                .chain(&email.details.cc)
                .map(|address| mailbox_of(address))
                .find(|(base, named)| *base == mailbox && named.is_some())
                .and_then(|(_, named)| named);
        }
        let stored = self.receive_message(channel, message).await?;
        if let Some((conversation, id)) = stored {
            info!(channel = %channel.id, %conversation, message = %id, "email received");
        }
        Ok(stored.map(|(_, id)| id))
    }

    /// An email's attachment with its bytes.
    pub async fn attachment(&self, id: &str) -> AppResult<AttachmentRecord> {
        if uuid::Uuid::try_parse(id).is_err() {
            return Err(AppError::NotFound);
        }
        self.hilo
            .store
            .attachment(id)
            .await?
            .ok_or(AppError::NotFound)
    }
}

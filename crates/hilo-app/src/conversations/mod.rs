//! Conversations: one thread per customer across channels. Inbound webhooks are
//! verified and read by the channel's provider, resolved to the one customer, and
//! stored with a timeline item in one transaction; replies are stored, then sent by a
//! job.
//!
//! ```text
//! provider ──webhook──▶ hooks (web) ──▶ receive_hook: verify ─ parse ─▶ receive_message
//!     link identifiers (customers) ─ conversation to join or open ─ message ─ timeline
//! agent ──reply──▶ message (queued) + conversation.send job ──▶ provider API ──▶ sent
//! provider ──status callback──▶ delivered / read / failed with the provider's reason
//! ```

pub(crate) mod arrivals;
pub mod assignment;
mod bot;
pub mod calls;
pub mod canned;
pub mod channels;
mod csat;
mod demo;
pub mod email;
mod inbound;
pub mod mailboxes;
pub mod moves;
mod outbound;
pub mod providers;
pub mod sla;
pub mod teams;
pub mod web_chat;
mod work;

use hilo_domain::conversations::{ChannelType, ConversationStatus};
use hilo_domain::{ConversationId, CustomerId, Page, PageRequest};
use hilo_store::conversations::{ConversationFilter, ConversationRecord, MessageRecord, cursor_of};

pub use inbound::HookAnswer;
pub use outbound::Reply;

use crate::{AppError, AppResult, Hilo};

/// Most messages a conversation's read returns at once.
pub const MESSAGES_PER_READ: u32 = 1_000;

/// A conversation with its live customer and its messages, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationView {
    pub conversation: ConversationRecord,
    /// The live customer it belongs to now.
    pub customer: CustomerId,
    pub labels: Vec<String>,
    pub messages: Vec<MessageRecord>,
    /// The calls among the messages.
    pub calls: Vec<hilo_store::conversations::CallRecord>,
    /// Who each note mentions: (note, agent).
    pub mentions: Vec<(hilo_domain::MessageId, hilo_domain::UserId)>,
    /// The satisfaction survey, once asked.
    pub csat: hilo_store::conversations::CsatRecord,
    /// Its service levels now.
    pub sla: sla::SlaView,
}

/// The conversations' use cases.
pub struct Conversations<'a> {
    hilo: &'a Hilo,
}

impl Hilo {
    pub fn conversations(&self) -> Conversations<'_> {
        Conversations { hilo: self }
    }
}

/// A message as live events carry it: the fields of the API's message.
pub fn message_json(message: &MessageRecord) -> serde_json::Value {
    let error = (message.error_code.is_some() || message.error_message.is_some())
        .then(|| serde_json::json!({"code": message.error_code, "message": message.error_message}));
    serde_json::json!({
        "id": message.id.to_string(),
        "direction": message.direction.as_str(),
        "channel_id": message.channel_id.map(|c| c.to_string()),
        "channel_type": message.channel_type.map(|t| t.as_str()),
        "content": message.content,
        "media": message.media,
        "status": message.status.as_str(),
        "error": error,
        "author": message.author,
        "email": message.email,
        "created_at": message.created_at.to_rfc3339(),
        "updated_at": message.updated_at.to_rfc3339(),
    })
}

/// The web chat visitor a message came from or went to: live events name them, so
/// each widget hears its own visitor's messages only.
pub fn visitor_of(message: &MessageRecord) -> Option<&str> {
    if message.channel_type == Some(ChannelType::WebChat) {
        message.customer_address.as_deref()
    } else {
        None
    }
}

/// A conversation as live events carry it.
pub fn conversation_json(c: &ConversationRecord, customer: CustomerId) -> serde_json::Value {
    serde_json::json!({
        "id": c.id.to_string(),
        "customer_id": customer.to_string(),
        "status": c.status.as_str(),
        "assignee_id": c.assignee.map(|u| u.to_string()),
        "team": c.team,
        "last_channel_id": c.last_channel.map(|x| x.to_string()),
        "last_message_at": c.last_message_at.to_rfc3339(),
    })
}

impl Conversations<'_> {
    /// A setting kept as JSON under `key`, or its default when never set.
    async fn json_setting<T: serde::de::DeserializeOwned + Default>(
        &self,
        key: &str,
    ) -> AppResult<T> {
        parse_setting(key, self.hilo.store.setting(key).await?.as_deref())
    }

    /// Keeps a setting as JSON under `key`.
    async fn put_json_setting<T: serde::Serialize>(&self, key: &str, value: &T) -> AppResult<()> {
        let text = serde_json::to_string(value)
            .map_err(|e| AppError::Internal(format!("cannot write {key}: {e}")))?;
        self.hilo.store.put_setting(key, &text).await?;
        Ok(())
    }
}

/// A setting kept as JSON under `key`, or its default when not set.
fn parse_setting<T: serde::de::DeserializeOwned + Default>(
    key: &str,
    stored: Option<&str>,
) -> AppResult<T> {
    match stored {
        Some(text) => serde_json::from_str(text)
            .map_err(|e| AppError::Internal(format!("stored {key} unreadable: {e}"))),
        None => Ok(T::default()),
    }
}

/// Records what happened in a customer's conversations on the change feed, in the
/// transaction that made it happen: the webhooks part turns it into events.
pub(crate) async fn record_change(
    tx: &mut hilo_store::Tx,
    kind: hilo_domain::customers::changes::ChangeKind,
    customer: CustomerId,
    data: serde_json::Value,
    now: hilo_domain::Timestamp,
) -> AppResult<()> {
    tx.record_change(kind, customer, &data.to_string(), now)
        .await?;
    Ok(())
}

/// The timeline's channel name for a channel type: the medium, whichever provider.
pub fn timeline_channel(kind: ChannelType) -> &'static str {
    match kind {
        ChannelType::TwilioSms => "sms",
        ChannelType::TwilioWhatsapp | ChannelType::WhatsappCloud => "whatsapp",
        other => other.as_str(),
    }
}

impl Conversations<'_> {
    /// Conversations the filter lets through, most recent activity first. A customer
    /// filter may name any of the customer's ids, merged-away ones too.
    pub async fn list(
        &self,
        mut filter: ConversationFilter,
        page: &PageRequest,
    ) -> AppResult<Page<ConversationRecord>> {
        if let Some(customer) = filter.customer {
            filter.customer = Some(match self.hilo.store.customer_root(customer).await? {
                Some(root) => root,
                None => return Ok(Page::from_rows(Vec::new(), page.limit, cursor_of)),
            });
        }
        let rows = self.hilo.store.list_conversations(&filter, page).await?;
        Ok(Page::from_rows(rows, page.limit, cursor_of))
    }

    pub async fn get(&self, id: ConversationId) -> AppResult<ConversationView> {
        let conversation = self
            .hilo
            .store
            .conversation(id)
            .await?
            .ok_or(AppError::NotFound)?;
        let customer = self
            .hilo
            .store
            .customer_root(conversation.profile_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let messages = self
            .hilo
            .store
            .messages_of(id, None, MESSAGES_PER_READ)
            .await?;
        let labels = self.hilo.store.labels_of(id).await?;
        let calls = self.hilo.store.calls_of(id).await?;
        let mentions = self.hilo.store.mentions_in(id).await?;
        let csat = self.hilo.store.csat_of(id).await?;
        let sla = sla::SlaView::of(self.hilo.store.sla_of(id).await?, self.hilo.now());
        Ok(ConversationView {
            conversation,
            customer,
            labels,
            messages,
            calls,
            mentions,
            csat,
            sla,
        })
    }

    /// Every conversation of a customer with all its messages and calls, for the
    /// customer's export.
    pub async fn export_of(&self, root: CustomerId) -> AppResult<Vec<serde_json::Value>> {
        let mut out = Vec::new();
        let mut page = PageRequest {
            limit: 200,
            after: None,
        };
        loop {
            let filter = ConversationFilter {
                customer: Some(root),
                ..ConversationFilter::default()
            };
            let rows = self.hilo.store.list_conversations(&filter, &page).await?;
            let batch = Page::from_rows(rows, page.limit, cursor_of);
            for conversation in &batch.items {
                let mut messages = Vec::new();
                let mut after = None;
                loop {
                    let chunk = self
                        .hilo
                        .store
                        .messages_of(conversation.id, after, MESSAGES_PER_READ)
                        .await?;
                    after = chunk.last().map(|m| m.id);
                    let full = chunk.len() == MESSAGES_PER_READ as usize;
                    messages.extend(chunk.iter().map(message_json));
                    if !full {
                        break;
                    }
                }
                let calls = self.hilo.store.calls_of(conversation.id).await?;
                let mut entry = conversation_json(conversation, root);
                entry["messages"] = serde_json::Value::from(messages);
                entry["calls"] = calls.iter().map(calls::call_json).collect();
                out.push(entry);
            }
            match batch.next {
                Some(next) => page.after = Some(next),
                None => break,
            }
        }
        Ok(out)
    }

    /// Whether a status may be filtered on: every one is.
    pub fn parse_status(text: &str) -> AppResult<ConversationStatus> {
        Ok(text.parse()?)
    }
}

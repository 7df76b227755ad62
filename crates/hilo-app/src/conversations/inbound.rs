//! What arrives from providers: webhooks verified with the channel's secret, read by
//! its provider, and stored once each.

use hilo_domain::conversations::{ConversationStatus, Direction, MessageStatus};
use hilo_domain::customers::changes::ChangeKind;
use hilo_domain::customers::timeline::ItemType;
use hilo_domain::{ChannelId, ConversationId, MessageId};
use hilo_store::conversations::{ConversationRecord, NewMessage, StatusReport};
use hilo_store::customers::NewTimelineItem;
use serde_json::json;
use tracing::{info, warn};

use super::providers::{self, Channel, HookRequest, InboundMessage, Report, StatusUpdate};
use super::{Conversations, timeline_channel};
use crate::customers::linking::{self, LinkOrigin};
use crate::{AppError, AppResult};

/// What the provider gets back: a content type and a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookAnswer {
    pub content_type: &'static str,
    pub body: &'static str,
}

/// Longest message text kept; providers' own limits are lower (WhatsApp 4,096).
const MAX_CONTENT: usize = 65_536;

impl Conversations<'_> {
    /// Handles a provider's webhook for `channel_id`, posted under `family`'s path
    /// (`twilio`, `meta`): a channel of another family is not found. A bad or missing
    /// signature is refused before anything is read or stored.
    pub async fn receive_hook(
        &self,
        family: &str,
        channel_id: ChannelId,
        request: &HookRequest,
    ) -> AppResult<HookAnswer> {
        let record = self.hilo.channels().record(channel_id).await?;
        if record.kind.webhook_path() != Some(&format!("/webhooks/{family}")[..]) {
            return Err(AppError::NotFound);
        }
        let provider = providers::provider_for(record.kind).ok_or(AppError::NotFound)?;
        let channel = self.hilo.channels().open(&record)?;
        if let Err(unverified) = provider.verify(&channel, request, self.hilo.now()) {
            warn!(channel = %channel_id, reason = %unverified, "webhook refused");
            return Err(AppError::Unauthenticated);
        }
        let reports = provider.parse(&channel, request, &self.hilo.settings.default_region)?;
        for report in reports {
            match report {
                Report::Message(message) => {
                    self.receive_message(&channel, message).await?;
                }
                Report::Status(update) => self.apply_status(&channel, &update).await?,
                Report::Call(call) => {
                    self.record_call(&channel, &call).await?;
                }
            }
        }
        let (content_type, body) = provider.acknowledgement();
        Ok(HookAnswer { content_type, body })
    }

    /// Meta's subscription handshake for a channel: the challenge to echo when the
    /// token is the channel's `verify_token`; 403 otherwise.
    pub async fn meta_handshake(
        &self,
        channel_id: ChannelId,
        mode: Option<&str>,
        token: Option<&str>,
        challenge: Option<&str>,
    ) -> AppResult<String> {
        let record = self.hilo.channels().record(channel_id).await?;
        if record.kind.webhook_path() != Some("/webhooks/meta") {
            return Err(AppError::NotFound);
        }
        let channel = self.hilo.channels().open(&record)?;
        let verify_token = channel.settings.secret("verify_token").unwrap_or_default();
        match hilo_domain::conversations::meta::handshake(verify_token, mode, token, challenge) {
            Some(challenge) => {
                info!(channel = %channel_id, "webhook subscription verified");
                Ok(challenge.to_owned())
            }
            None => {
                warn!(channel = %channel_id, "webhook subscription refused: wrong verify_token");
                Err(AppError::Forbidden)
            }
        }
    }

    /// Stores a customer's message in the customer's conversation; `None` when the
    /// provider's message was stored before (providers deliver again when unsure).
    pub(crate) async fn receive_message(
        &self,
        channel: &Channel,
        message: InboundMessage,
    ) -> AppResult<Option<(ConversationId, MessageId)>> {
        let content: String = message.content.chars().take(MAX_CONTENT).collect();
        let rules = self.hilo.customers().identity_rules().await?;
        let bot = self.bot_settings().await?;
        let assigning = self.assignment_settings().await?.enabled;
        let targets = self.sla_targets().await?;
        let thread = self.threads_per_channel().await?.then_some(channel.id);
        let now = self.hilo.now();
        let mut tx = self.hilo.store.begin().await?;
        if tx
            .provider_message_seen(channel.id, &message.provider_message_id)
            .await?
        {
            return Ok(None);
        }
        let linked = linking::link(
            &mut tx,
            &rules,
            &message.identifiers,
            &[],
            now,
            now,
            &LinkOrigin::default(),
        )
        .await?;
        let customer = linked.customer;
        let mut opened = false;
        // A rating answering a survey goes to the conversation it rates, which stays
        // resolved.
        let rating = hilo_domain::conversations::csat::rating_in(&content);
        let rated = match rating {
            Some(_) => {
                let since =
                    now.plus_millis(-hilo_domain::conversations::csat::ANSWER_WITHIN_MILLIS);
                match tx.csat_awaiting(customer, since).await? {
                    Some(id) => tx.conversation_for_update(id).await?,
                    None => None,
                }
            }
            None => None,
        };
        // An email that replies to one of the customer's conversations goes there.
        let threaded = match &message.email {
            Some(email) => match tx
                .email_thread(channel.id, &email.references, email.named, customer)
                .await?
            {
                Some(id) => tx.conversation_for_update(id).await?,
                None => None,
            },
            None => None,
        };
        let rates = rated.as_ref().map(|c| c.id);
        let active = match rated.or(threaded) {
            Some(conversation) => Some(conversation),
            None => tx.active_conversation(customer, thread).await?,
        };
        let waiting_for_agent = active.as_ref().is_none_or(|c| c.assignee.is_none());
        let (conversation, status) = match active {
            Some(conversation) => (conversation.id, conversation.status),
            None => {
                opened = true;
                // With bots enabled, a bot answers first.
                let status = if bot.enabled {
                    ConversationStatus::Bot
                } else {
                    ConversationStatus::Open
                };
                let conversation = ConversationRecord {
                    id: ConversationId::generate(),
                    profile_id: customer,
                    status,
                    thread_channel: thread,
                    last_channel: Some(channel.id),
                    assignee: None,
                    team: None,
                    subject: None,
                    snoozed_until: None,
                    last_message_at: now,
                    created_at: now,
                    updated_at: now,
                };
                tx.insert_conversation(&conversation).await?;
                if targets.any() {
                    let (first_response, resolution) = targets.due(now);
                    tx.set_sla_due(conversation.id, first_response, resolution)
                        .await?;
                }
                (conversation.id, status)
            }
        };
        let mut address = message.customer_address.clone();
        if let Some(visitor) = &message.web_visitor {
            address = tx.save_visitor(visitor, customer, now).await?.to_string();
        }
        let id = MessageId::generate();
        let record = NewMessage {
            id,
            conversation_id: conversation,
            profile_id: customer,
            channel_id: Some(channel.id),
            channel_type: Some(channel.kind),
            direction: Direction::Inbound,
            content: content.clone(),
            media: serde_json::to_value(&message.media).unwrap_or_default(),
            status: MessageStatus::Received,
            error_code: None,
            error_message: None,
            provider_message_id: Some(message.provider_message_id.clone()),
            customer_address: Some(address),
            author: "customer".into(),
            template: None,
            email: message.email.as_ref().map(|e| e.details.clone()),
            created_at: now,
            updated_at: now,
        };
        let stored = tx.insert_message(&record).await?;
        if !stored {
            // The same message, delivered twice at once: the other delivery stored it.
            return Ok(None);
        }
        if let Some(email) = &message.email {
            tx.insert_attachments(id, &email.attachments, now).await?;
        }
        tx.touch_conversation(conversation, now, true, Some(channel.id))
            .await?;
        let body = json!({
            "conversation_id": conversation.to_string(),
            "message_id": id.to_string(),
            "channel_id": channel.id.to_string(),
            "content": excerpt(&content),
        })
        .to_string();
        let message_key = id.to_string();
        tx.append_timeline(&NewTimelineItem {
            profile_id: customer,
            item_type: ItemType::Message,
            kind: Direction::Inbound.as_str(),
            name: None,
            channel: timeline_channel(channel.kind),
            source_id: None,
            message_id: Some(&message_key),
            at: now,
            received_at: now,
            body: &body,
        })
        .await?;
        let ids = json!({
            "conversation_id": conversation.to_string(),
            "message_id": id.to_string(),
            "channel_id": channel.id.to_string(),
            "channel_type": channel.kind.as_str(),
            "direction": Direction::Inbound.as_str(),
        });
        if status == ConversationStatus::Bot {
            super::bot::watch_silence(&mut tx, conversation, id, bot, now).await?;
        }
        if let (Some(rated), Some(rating)) = (rates, rating) {
            tx.rate_conversation(rated, rating, now).await?;
            let body = json!({"conversation_id": rated.to_string(), "rating": rating,
                              "message_id": id.to_string()})
            .to_string();
            tx.append_timeline(&NewTimelineItem {
                profile_id: customer,
                item_type: ItemType::Survey,
                kind: "csat",
                name: None,
                channel: timeline_channel(channel.kind),
                source_id: None,
                message_id: None,
                at: now,
                received_at: now,
                body: &body,
            })
            .await?;
            let data = json!({"conversation_id": rated.to_string(), "status": "resolved",
                              "changed": ["csat"], "csat_rating": rating});
            super::record_change(
                &mut tx,
                ChangeKind::ConversationUpdated,
                customer,
                data,
                now,
            )
            .await?;
        }
        let queued =
            assigning && waiting_for_agent && rates.is_none() && status != ConversationStatus::Bot;
        if queued {
            super::assignment::queue_assignment(&mut tx, now).await?;
        }
        if opened {
            let data = json!({"conversation_id": conversation.to_string(), "channel_id": channel.id.to_string(), "status": status.as_str()});
            super::record_change(
                &mut tx,
                ChangeKind::ConversationCreated,
                customer,
                data,
                now,
            )
            .await?;
        }
        super::record_change(&mut tx, ChangeKind::MessageCreated, customer, ids, now).await?;
        tx.commit().await?;
        self.hilo.feed_signal.notify_waiters();
        if status == ConversationStatus::Bot || queued {
            self.hilo.jobs_written();
        }
        info!(channel = %channel.id, conversation = %conversation, message = %id, "message received");
        let data = json!({
            "conversation_id": conversation.to_string(),
            "customer_id": customer.to_string(),
            "new_conversation": opened,
            "message": super::message_json(&record),
            "visitor_id": super::visitor_of(&record),
        });
        self.hilo.publish_live("message.created", data).await;
        Ok(Some((conversation, id)))
    }

    /// Applies a delivery report to the message it is about. A report about a message
    /// Hilo does not know (sent from elsewhere, or deleted) changes nothing.
    async fn apply_status(&self, channel: &Channel, update: &StatusUpdate) -> AppResult<()> {
        let Some(message) = self
            .hilo
            .store
            .message_by_provider_id(channel.id, &update.provider_message_id)
            .await?
        else {
            return Ok(());
        };
        self.advance_status(
            &message,
            update.status,
            update.error_code.as_deref(),
            update.error_message.as_deref(),
        )
        .await
    }

    /// Moves a message to the status reported, if it may advance there (never back),
    /// and tells live subscribers.
    pub(crate) async fn advance_status(
        &self,
        message: &hilo_store::conversations::MessageRecord,
        reported: MessageStatus,
        error_code: Option<&str>,
        error_message: Option<&str>,
    ) -> AppResult<()> {
        let Some(status) = message.status.advance(reported) else {
            return Ok(());
        };
        self.hilo
            .store
            .report_message_status(
                message,
                &StatusReport {
                    status,
                    error_code,
                    error_message,
                    provider_message_id: None,
                },
                self.hilo.now(),
            )
            .await?;
        self.publish_message_updated(message.id).await;
        Ok(())
    }

    /// Tells live subscribers a message's delivery changed.
    pub(crate) async fn publish_message_updated(&self, id: MessageId) {
        match self.hilo.store.message(id).await {
            Ok(Some(message)) => {
                let data = json!({
                    "conversation_id": message.conversation_id.to_string(),
                    "message": super::message_json(&message),
                    "visitor_id": super::visitor_of(&message),
                });
                self.hilo.publish_live("message.updated", data).await;
            }
            Ok(None) => {}
            Err(error) => warn!(%error, "live event not made"),
        }
    }
}

/// The first characters of a message, for the timeline.
fn excerpt(content: &str) -> String {
    const LENGTH: usize = 280;
    let mut text: String = content.chars().take(LENGTH).collect();
    if content.chars().nth(LENGTH).is_some() {
        text.push('…');
    }
    text
}

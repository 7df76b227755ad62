//! Replies: stored at once, sent by a job through the channel's provider, on the
//! channel the customer last wrote on or any other they can be reached on (S2: an
//! email answered on WhatsApp).

use hilo_domain::conversations::email::{self, EmailDetails};
use hilo_domain::conversations::{ChannelType, Direction, MessageStatus};
use hilo_domain::customers::identity::{Identifier, IdentifierType};
use hilo_domain::customers::timeline::ItemType;
use hilo_domain::jobs::JobKind;
use hilo_domain::{ChannelId, ConversationId, Invalid, MessageId, Principal};
use hilo_store::conversations::{MessageRecord, NewMessage, StatusReport};
use hilo_store::customers::NewTimelineItem;
use hilo_store::jobs::{JobRecord, NewJob};
use serde_json::{Value, json};
use tracing::{info, warn};

use super::providers::{self, Outgoing};
use super::{Conversations, timeline_channel};
use crate::jobs::JobFailure;
use crate::{AppError, AppResult, ReplyRefusal};

/// WhatsApp's customer-service window: free text only this long after the customer's
/// last message on the channel.
pub const WHATSAPP_WINDOW_MILLIS: i64 = 24 * 3_600_000;
/// Longest reply.
const MAX_REPLY: usize = 4_096;

/// A failure report with the provider's code and reason.
fn fail<'a>(code: Option<&'a str>, reason: &'a str) -> StatusReport<'a> {
    StatusReport {
        status: MessageStatus::Failed,
        error_code: code,
        error_message: Some(reason),
        provider_message_id: None,
    }
}

/// What an agent (or a bot, or an automation) sends.
#[derive(Debug, Clone)]
pub struct Reply<'a> {
    pub content: &'a str,
    /// The channel to send on; the one the customer wrote on last when `None`.
    pub channel: Option<ChannelId>,
    /// A note for staff, never sent.
    pub private: bool,
    /// An approved template to send instead of free text (WhatsApp outside its
    /// window); `content` may then be empty.
    pub template: Option<hilo_domain::conversations::template::Template>,
}

impl Conversations<'_> {
    /// Stores a reply (or a note) and, for a reply, the job that sends it.
    pub async fn reply(
        &self,
        id: ConversationId,
        reply: &Reply<'_>,
        by: &Principal,
    ) -> AppResult<MessageRecord> {
        self.reply_as(id, reply, by.actor()).await
    }

    /// A reply written by `author` (`user:…`, `api_key:…`, or `system` for Hilo's own,
    /// such as a satisfaction survey).
    pub(crate) async fn reply_as(
        &self,
        id: ConversationId,
        reply: &Reply<'_>,
        author: String,
    ) -> AppResult<MessageRecord> {
        let summary;
        let mut content = reply.content.trim();
        if content.is_empty()
            && let Some(template) = &reply.template
        {
            summary = template.summary();
            content = &summary;
        }
        if content.is_empty() || content.chars().count() > MAX_REPLY {
            return Err(
                Invalid::new("content", format!("must be 1 to {MAX_REPLY} characters")).into(),
            );
        }
        let view = self.get(id).await?;
        let customer = view.customer;
        let now = self.hilo.now();
        let mut message = NewMessage {
            id: MessageId::generate(),
            conversation_id: id,
            profile_id: customer,
            channel_id: None,
            channel_type: None,
            direction: Direction::Note,
            content: content.to_owned(),
            media: Value::Array(Vec::new()),
            status: MessageStatus::Sent,
            error_code: None,
            error_message: None,
            provider_message_id: None,
            customer_address: None,
            author,
            template: None,
            email: None,
            created_at: now,
            updated_at: now,
        };
        let mut channel_kind = None;
        if !reply.private {
            let channel_id = reply
                .channel
                .or(view.conversation.last_channel)
                .ok_or(ReplyRefusal::NoChannel)?;
            let record = self
                .hilo
                .store
                .channel(channel_id)
                .await?
                .ok_or_else(|| Invalid::new("channel_id", "is not a channel"))?;
            let provider = providers::provider_for(record.kind)
                .filter(|_| record.kind != ChannelType::Voice)
                .ok_or(ReplyRefusal::NotSentByHilo(record.kind))?;
            let channel = self.hilo.channels().open(&record)?;
            let address = if record.kind == ChannelType::WebChat {
                // A visitor is reached where they last wrote from.
                self.hilo
                    .store
                    .last_address_on(customer, channel_id)
                    .await?
            } else {
                let identifiers = self.identifiers_of(customer).await?;
                provider.address_of(&channel, &identifiers)
            };
            let address = address.ok_or(ReplyRefusal::NoAddress(record.kind))?;
            if let Some(template) = &reply.template {
                template.check(record.kind)?;
            } else if matches!(
                record.kind,
                ChannelType::TwilioWhatsapp | ChannelType::WhatsappCloud
            ) {
                let last = self
                    .hilo
                    .store
                    .last_inbound_on(customer, channel_id)
                    .await?;
                if last.is_none_or(|at| now.millis() - at.millis() > WHATSAPP_WINDOW_MILLIS) {
                    return Err(ReplyRefusal::OutsideWhatsappWindow.into());
                }
            }
            if record.kind == ChannelType::Email {
                let details = self
                    .email_reply(&view, &channel, message.id, &address)
                    .await?;
                message.provider_message_id = details.message_id.clone();
                message.email = Some(details);
            }
            message.channel_id = Some(channel_id);
            message.channel_type = Some(record.kind);
            message.direction = Direction::Outbound;
            message.status = MessageStatus::Queued;
            message.customer_address = Some(address);
            message.template = reply.template.clone();
            channel_kind = Some(record.kind);
        }
        // A note tells the agents it mentions.
        let mentioned = if reply.private {
            let agents: Vec<(hilo_domain::UserId, String)> = self
                .hilo
                .store
                .agents()
                .await?
                .into_iter()
                .map(|a| (a.user, a.email))
                .collect();
            hilo_domain::conversations::mentions::mentioned(content, &agents)
        } else {
            Vec::new()
        };
        let mut tx = self.hilo.store.begin().await?;
        tx.insert_message(&message).await?;
        tx.insert_mentions(message.id, &mentioned).await?;
        if channel_kind.is_some() && message.author != "system" {
            tx.first_reply(id, now).await?;
        }
        tx.touch_conversation(id, now, false, None).await?;
        if let Some(kind) = channel_kind {
            let body = json!({
                "conversation_id": id.to_string(),
                "message_id": message.id.to_string(),
                "channel_id": message.channel_id.map(|c| c.to_string()),
                "content": content.chars().take(280).collect::<String>(),
            })
            .to_string();
            let key = message.id.to_string();
            tx.append_timeline(&NewTimelineItem {
                profile_id: customer,
                item_type: ItemType::Message,
                kind: Direction::Outbound.as_str(),
                name: None,
                channel: timeline_channel(kind),
                source_id: None,
                message_id: Some(&key),
                at: now,
                received_at: now,
                body: &body,
            })
            .await?;
            let ids = json!({
                "conversation_id": id.to_string(),
                "message_id": message.id.to_string(),
                "channel_id": message.channel_id.map(|c| c.to_string()),
                "channel_type": kind.as_str(),
                "direction": Direction::Outbound.as_str(),
                "status": MessageStatus::Queued.as_str(),
            });
            super::record_change(
                &mut tx,
                hilo_domain::customers::changes::ChangeKind::MessageCreated,
                customer,
                ids,
                now,
            )
            .await?;
            let payload = json!({ "message_id": message.id.to_string() });
            tx.enqueue_job(
                &NewJob {
                    kind: JobKind::ConversationSend,
                    payload: &payload,
                    run_at: now,
                    idempotency_key: Some(&format!("send:{}", message.id)),
                },
                now,
            )
            .await?;
        }
        tx.commit().await?;
        self.hilo.feed_signal.notify_waiters();
        if channel_kind.is_some() {
            self.hilo.jobs_written();
        }
        info!(conversation = %id, message = %message.id, private = reply.private, "reply stored");
        let data = json!({
            "conversation_id": id.to_string(),
            "customer_id": customer.to_string(),
            "new_conversation": false,
            "message": super::message_json(&message),
            "visitor_id": super::visitor_of(&message),
        });
        self.hilo.publish_live("message.created", data);
        for user in &mentioned {
            let data = json!({
                "user_id": user.to_string(),
                "conversation_id": id.to_string(),
                "message_id": message.id.to_string(),
                "author": message.author,
            });
            self.hilo.publish_live("mention.created", data);
        }
        Ok(message)
    }

    /// An email reply's details: under the thread's subject, in reply to its newest
    /// email, with a Message-ID of its own.
    async fn email_reply(
        &self,
        view: &super::ConversationView,
        channel: &providers::Channel,
        id: MessageId,
        to: &str,
    ) -> AppResult<EmailDetails> {
        let mailbox = channel.settings.text("address").unwrap_or_default();
        let last = self
            .hilo
            .store
            .last_email_of(view.conversation.id, channel.id)
            .await?
            .and_then(|m| m.email);
        let subject = match &last {
            Some(last) => email::reply_subject(last.subject.as_deref()),
            None => view
                .conversation
                .subject
                .clone()
                .unwrap_or_else(|| channel.name.clone()),
        };
        let parent = last.as_ref().and_then(|l| l.message_id.clone());
        let mut references: Vec<String> = last.map(|l| l.references).unwrap_or_default();
        references.extend(parent.clone());
        let skip = references.len().saturating_sub(email::MAX_REFERENCES);
        Ok(EmailDetails {
            subject: Some(subject),
            message_id: Some(email::outgoing_message_id(id, mailbox)),
            in_reply_to: parent,
            references: references.split_off(skip),
            from: Some(mailbox.to_owned()),
            to: vec![to.to_owned()],
            ..EmailDetails::default()
        })
    }

    async fn identifiers_of(
        &self,
        customer: hilo_domain::CustomerId,
    ) -> AppResult<Vec<Identifier>> {
        let view = self.hilo.customers().get(customer).await?;
        Ok(view
            .identities
            .into_iter()
            .filter_map(|i| {
                Some(Identifier {
                    kind: i.kind.parse::<IdentifierType>().ok()?,
                    value: i.value,
                })
            })
            .collect())
    }

    /// The job that sends one message. A message no longer queued was sent already (a
    /// retry after the answer was recorded), so it is not sent again.
    pub(crate) async fn send(&self, job: &JobRecord) -> Result<(), JobFailure> {
        let transient = |e: AppError| JobFailure::Transient(e.to_string());
        let id: MessageId = job
            .payload
            .get("message_id")
            .and_then(Value::as_str)
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| JobFailure::Permanent("the job names no message".into()))?;
        let store = &self.hilo.store;
        let Some(message) = store.message(id).await.map_err(|e| transient(e.into()))? else {
            return Err(JobFailure::Permanent("the message was deleted".into()));
        };
        if message.status != MessageStatus::Queued {
            return Ok(());
        }
        let (Some(channel_id), Some(to)) =
            (message.channel_id, message.customer_address.as_deref())
        else {
            return Err(JobFailure::Permanent("the message has no channel".into()));
        };
        let now = self.hilo.now();
        let Some(record) = store
            .channel(channel_id)
            .await
            .map_err(|e| transient(e.into()))?
        else {
            store
                .report_message_status(&message, &fail(None, "the channel was deleted"), now)
                .await
                .map_err(|e| transient(e.into()))?;
            return Ok(());
        };
        let channel = self.hilo.channels().open(&record).map_err(transient)?;
        let provider = providers::provider_for(record.kind)
            .ok_or_else(|| JobFailure::Permanent("no provider sends on this channel".into()))?;
        let http = self
            .hilo
            .webhook_sender
            .client()
            .map_err(JobFailure::Transient)?;
        // Codes are filled in only as the message leaves: never stored, never shown.
        let content = self.hilo.commerce().fill_codes(&message.content).await;
        let outgoing = Outgoing {
            message_id: message.id,
            conversation_id: message.conversation_id,
            to,
            content: &content,
            template: message.template.as_ref(),
            email: message.email.as_ref(),
        };
        match provider.send(&channel, http, outgoing).await {
            Ok(sent) => {
                let status = MessageStatus::Queued
                    .advance(sent.status)
                    .unwrap_or(MessageStatus::Sent);
                store
                    .report_message_status(
                        &message,
                        &StatusReport {
                            status: if status == MessageStatus::Queued {
                                MessageStatus::Sent
                            } else {
                                status
                            },
                            error_code: None,
                            error_message: None,
                            provider_message_id: Some(&sent.provider_message_id),
                        },
                        self.hilo.now(),
                    )
                    .await
                    .map_err(|e| transient(e.into()))?;
                info!(message = %id, "message sent");
                self.publish_message_updated(id).await;
                Ok(())
            }
            Err(failure) if failure.transient => {
                warn!(message = %id, reason = %failure.message, "send failed; will retry");
                Err(JobFailure::Transient(failure.message))
            }
            Err(failure) => {
                warn!(message = %id, reason = %failure.message, "provider refused the message");
                store
                    .report_message_status(
                        &message,
                        &fail(failure.code.as_deref(), &failure.message),
                        self.hilo.now(),
                    )
                    .await
                    .map_err(|e| transient(e.into()))?;
                self.publish_message_updated(id).await;
                Ok(())
            }
        }
    }

    /// The send job gave up: the message failed, with the last reason.
    pub(crate) async fn send_died(&self, job: &JobRecord) -> AppResult<()> {
        let Some(id) = job
            .payload
            .get("message_id")
            .and_then(Value::as_str)
            .and_then(|text| text.parse::<MessageId>().ok())
        else {
            return Ok(());
        };
        let reason = job
            .last_error
            .clone()
            .unwrap_or_else(|| "the provider could not be reached".into());
        let reason = format!("gave up after {} attempts: {reason}", job.attempts);
        let Some(message) = self.hilo.store.message(id).await? else {
            return Ok(());
        };
        self.hilo
            .store
            .report_message_status(
                &message,
                &StatusReport {
                    status: MessageStatus::Failed,
                    error_code: None,
                    error_message: Some(&reason),
                    provider_message_id: None,
                },
                self.hilo.now(),
            )
            .await?;
        Ok(())
    }
}

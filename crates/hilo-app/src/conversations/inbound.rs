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

use super::arrivals::Arrival;
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

/// What an inbound message was stored as, for its request and its live event.
#[derive(Debug)]
pub(crate) struct Received {
    pub conversation: ConversationId,
    pub message: MessageId,
    pub customer: hilo_domain::CustomerId,
    /// Whether the message opened the conversation.
    pub opened: bool,
    pub status: ConversationStatus,
    /// Whether it waits for an agent and auto-assignment is on.
    pub queued: bool,
    pub at: hilo_domain::Timestamp,
    pub record: NewMessage,
}

/// How one message in a group went.
enum Stored {
    New(Box<Received>),
    /// Stored by an earlier delivery; nothing was written.
    Before,
    /// Stored by a delivery running at the same time; this transaction wrote things
    /// that must be rolled back.
    AtOnce,
}

/// The settings inbound messages follow, read once per group.
struct InboundSettings {
    rules: hilo_domain::customers::identity::IdentityRules,
    bot: hilo_domain::conversations::bot::BotSettings,
    assigning: bool,
    targets: super::sla::Targets,
    threads_per_channel: bool,
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
    /// Messages arriving together are stored in one transaction (`arrivals`).
    pub(crate) async fn receive_message(
        &self,
        channel: &Channel,
        message: InboundMessage,
    ) -> AppResult<Option<(ConversationId, MessageId)>> {
        let received = self.hilo.store_arrival(channel, message).await?;
        Ok(received.map(|r| (r.conversation, r.message)))
    }

    /// Stores a group of arrivals in one transaction and answers each after the
    /// commit. If the group fails as a whole (a message delivered twice at once, a
    /// database error), each is stored alone, so one cannot fail the others.
    pub(crate) async fn store_group(&self, group: Vec<Arrival>) {
        if group.len() > 1 {
            match self.store_together(&group).await {
                Ok(received) => {
                    self.announce(received.iter().flatten());
                    for (arrival, received) in group.into_iter().zip(received) {
                        let _ = arrival.answer.send(Ok(received));
                    }
                    return;
                }
                Err(error) => {
                    warn!(%error, messages = group.len(), "inbound group failed; storing each alone");
                }
            }
        }
        for arrival in group {
            let result = self
                .store_together(std::slice::from_ref(&arrival))
                .await
                .map(|mut received| {
                    let one = received.pop().flatten();
                    self.announce(one.iter());
                    one
                });
            let _ = arrival.answer.send(result);
        }
    }

    /// One transaction for `group`: each arrival stored, or `None` for one stored
    /// before. A lone message delivered twice at once is `None` too; in a
    /// larger group that is an error, so the group is stored again message by message.
    async fn store_together(&self, group: &[Arrival]) -> AppResult<Vec<Option<Received>>> {
        let settings = self.inbound_settings().await?;
        let mut tx = self.hilo.store.begin().await?;
        let mut assignment_queued = false;
        let mut received = Vec::with_capacity(group.len());
        for arrival in group {
            match self
                .store_one(&mut tx, &settings, &arrival.channel, &arrival.message)
                .await?
            {
                Stored::New(one) => {
                    if one.queued && !assignment_queued {
                        super::assignment::queue_assignment(&mut tx, one.at).await?;
                        assignment_queued = true;
                    }
                    received.push(Some(*one));
                }
                Stored::Before => received.push(None),
                Stored::AtOnce if group.len() == 1 => {
                    return Ok(vec![None]);
                }
                Stored::AtOnce => {
                    return Err(AppError::Conflict(
                        "a message of the group was stored at the same time".into(),
                    ));
                }
            }
        }
        tx.commit().await?;
        Ok(received)
    }

    /// The settings a group follows, in one read (the identity rules are cached).
    async fn inbound_settings(&self) -> AppResult<InboundSettings> {
        use super::{assignment, bot, parse_setting, sla};
        let keys = [
            bot::SETTING,
            assignment::SETTING,
            sla::SETTING,
            bot::THREADS,
        ];
        let stored = self.hilo.store.settings(&keys).await?;
        let value = |key: &str| {
            stored
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, value)| value.as_str())
        };
        let assignment: hilo_domain::conversations::assignment::AssignmentSettings =
            parse_setting(assignment::SETTING, value(assignment::SETTING))?;
        Ok(InboundSettings {
            rules: self.hilo.customers().identity_rules().await?,
            bot: parse_setting(bot::SETTING, value(bot::SETTING))?,
            assigning: assignment.enabled,
            targets: sla::Targets::of(parse_setting(sla::SETTING, value(sla::SETTING))?),
            threads_per_channel: bot::per_channel(value(bot::THREADS)),
        })
    }

    /// Tells this node's waiters and every node's live subscribers about committed
    /// messages.
    fn announce<'a>(&self, received: impl Iterator<Item = &'a Received>) {
        self.hilo.feed_signal.notify_waiters();
        let mut jobs = false;
        let mut events = Vec::new();
        for received in received {
            events.push(live_event(received));
            jobs |= received.status == ConversationStatus::Bot || received.queued;
            let channel = received.record.channel_id.map(|c| c.to_string());
            info!(channel = channel.as_deref().unwrap_or(""), conversation = %received.conversation, message = %received.message, "message received");
        }
        if jobs {
            self.hilo.jobs_written();
        }
        self.hilo.publish_live_many(events);
    }

    /// Writes one message, its conversation and its timeline item in `tx`.
    async fn store_one(
        &self,
        tx: &mut hilo_store::Tx,
        settings: &InboundSettings,
        channel: &Channel,
        message: &InboundMessage,
    ) -> AppResult<Stored> {
        let content: String = message.content.chars().take(MAX_CONTENT).collect();
        let rules = &settings.rules;
        let bot = settings.bot;
        let assigning = settings.assigning;
        let targets = &settings.targets;
        let thread = settings.threads_per_channel.then_some(channel.id);
        let now = self.hilo.now();
        if tx
            .provider_message_seen(channel.id, &message.provider_message_id)
            .await?
        {
            return Ok(Stored::Before);
        }
        let linked = linking::link(
            tx,
            rules,
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
            return Ok(Stored::AtOnce);
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
            super::bot::watch_silence(tx, conversation, id, bot, now).await?;
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
            super::record_change(tx, ChangeKind::ConversationUpdated, customer, data, now).await?;
        }
        let queued =
            assigning && waiting_for_agent && rates.is_none() && status != ConversationStatus::Bot;
        if opened {
            let data = json!({"conversation_id": conversation.to_string(), "channel_id": channel.id.to_string(), "status": status.as_str()});
            super::record_change(tx, ChangeKind::ConversationCreated, customer, data, now).await?;
        }
        super::record_change(tx, ChangeKind::MessageCreated, customer, ids, now).await?;
        Ok(Stored::New(Box::new(Received {
            conversation,
            message: id,
            customer,
            opened,
            status,
            queued,
            at: now,
            record,
        })))
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
                self.hilo.publish_live("message.updated", data);
            }
            Ok(None) => {}
            Err(error) => warn!(%error, "live event not made"),
        }
    }
}

/// The live event of a stored message.
fn live_event(received: &Received) -> (&'static str, serde_json::Value) {
    let record = &received.record;
    let data = json!({
        "conversation_id": received.conversation.to_string(),
        "customer_id": received.customer.to_string(),
        "new_conversation": received.opened,
        "message": super::message_json(record),
        "visitor_id": super::visitor_of(record),
    });
    ("message.created", data)
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

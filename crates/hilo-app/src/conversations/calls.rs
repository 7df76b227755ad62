//! Calls, from Twilio's voice webhooks or from any phone system through the API: each
//! is a message of the customer's conversation, so the agent who answers sees the chat
//! from this morning (S1); the live feed announces it as it starts.

use hilo_domain::conversations::call::CallStatus;
use hilo_domain::conversations::{ConversationStatus, Direction, MessageStatus};
use hilo_domain::customers::changes::ChangeKind;
use hilo_domain::customers::timeline::ItemType;
use hilo_domain::{ConversationId, MessageId};
use hilo_store::conversations::{CallRecord, ConversationRecord, NewMessage};
use hilo_store::customers::NewTimelineItem;
use serde_json::{Value, json};
use tracing::info;

use super::providers::{CallReport, Channel};
use super::{Conversations, timeline_channel};
use crate::AppResult;
use crate::customers::linking::{self, LinkOrigin};

/// Longest call note kept.
const MAX_NOTES: usize = 10_000;

/// A call as the API and live events show it.
pub fn call_json(call: &CallRecord) -> Value {
    json!({
        "message_id": call.message_id.to_string(),
        "status": call.status.as_str(),
        "from": call.from_number,
        "to": call.to_number,
        "agent_id": call.agent.map(|a| a.to_string()),
        "started_at": call.started_at.to_rfc3339(),
        "answered_at": call.answered_at.map(|t| t.to_rfc3339()),
        "ended_at": call.ended_at.map(|t| t.to_rfc3339()),
        "duration_seconds": call.duration_seconds,
        "recording_url": call.recording_url,
        "notes": call.notes,
    })
}

/// What recording a report did: the call and whether it began or ended with it.
#[derive(Debug, Clone)]
pub struct RecordedCall {
    pub conversation: ConversationId,
    pub customer: hilo_domain::CustomerId,
    pub call: CallRecord,
    pub started: bool,
    pub ended: bool,
}

impl Conversations<'_> {
    /// A call reported through the API by any phone system, on a voice channel.
    pub async fn report_call(
        &self,
        channel_id: hilo_domain::ChannelId,
        report: &CallReport,
    ) -> AppResult<RecordedCall> {
        let record = self
            .hilo
            .store
            .channel(channel_id)
            .await?
            .filter(|c| c.kind == hilo_domain::conversations::ChannelType::Voice)
            .ok_or_else(|| hilo_domain::Invalid::new("channel_id", "is not a voice channel"))?;
        let channel = self.hilo.channels().open(&record)?;
        self.record_call(&channel, report).await
    }

    /// Records what a phone system reports about a call: the first report makes the
    /// call (a message in the customer's conversation), later ones move it on.
    pub async fn record_call(
        &self,
        channel: &Channel,
        report: &CallReport,
    ) -> AppResult<RecordedCall> {
        let notes = report
            .notes
            .as_deref()
            .map(|n| n.chars().take(MAX_NOTES).collect::<String>());
        let rules = self.hilo.customers().identity_rules().await?;
        let thread = self.threads_per_channel().await?.then_some(channel.id);
        let now = self.hilo.now();
        let mut tx = self.hilo.store.begin().await?;
        let recorded = match tx
            .message_by_provider_id(channel.id, &report.external_id)
            .await?
        {
            Some(message) => {
                let mut call = tx.call(message.id).await?.unwrap_or(CallRecord {
                    message_id: message.id,
                    status: CallStatus::Ringing,
                    from_number: report.from.clone(),
                    to_number: report.to.clone(),
                    agent: None,
                    started_at: message.created_at,
                    answered_at: None,
                    ended_at: None,
                    duration_seconds: None,
                    recording_url: None,
                    notes: None,
                });
                let was_final = call.status.is_final();
                if let Some(status) = report.status.and_then(|s| call.status.advance(s)) {
                    call.status = status;
                    if status == CallStatus::InProgress {
                        call.answered_at = Some(now);
                    }
                    if status.is_final() {
                        call.ended_at = Some(now);
                    }
                }
                call.duration_seconds = report.duration_seconds.or(call.duration_seconds);
                call.recording_url = report.recording_url.clone().or(call.recording_url);
                call.agent = report.agent.or(call.agent);
                call.notes = notes.or(call.notes);
                tx.put_call(&call).await?;
                let customer = tx.root_of(message.profile_id).await?;
                RecordedCall {
                    conversation: message.conversation_id,
                    customer,
                    ended: call.status.is_final() && !was_final,
                    call,
                    started: false,
                }
            }
            None => {
                if report.identifiers.is_empty() {
                    return Err(hilo_domain::Invalid::new(
                        report.number_field,
                        "is required: the customer's number starts the call",
                    )
                    .into());
                }
                let linked = linking::link(
                    &mut tx,
                    &rules,
                    &report.identifiers,
                    &[],
                    now,
                    now,
                    &LinkOrigin::default(),
                )
                .await?;
                let customer = linked.customer;
                let mut opened = false;
                let conversation = match tx.active_conversation(customer, thread).await? {
                    Some(conversation) => conversation.id,
                    None => {
                        opened = true;
                        let conversation = ConversationRecord {
                            id: ConversationId::generate(),
                            profile_id: customer,
                            status: ConversationStatus::Open,
                            thread_channel: thread,
                            last_channel: None,
                            assignee: None,
                            team: None,
                            subject: None,
                            snoozed_until: None,
                            last_message_at: now,
                            created_at: now,
                            updated_at: now,
                        };
                        tx.insert_conversation(&conversation).await?;
                        conversation.id
                    }
                };
                let direction = if report.inbound {
                    Direction::Inbound
                } else {
                    Direction::Outbound
                };
                let id = MessageId::generate();
                tx.insert_message(&NewMessage {
                    id,
                    conversation_id: conversation,
                    profile_id: customer,
                    channel_id: Some(channel.id),
                    channel_type: Some(channel.kind),
                    direction,
                    content: String::new(),
                    media: Value::Array(Vec::new()),
                    status: if report.inbound {
                        MessageStatus::Received
                    } else {
                        MessageStatus::Sent
                    },
                    error_code: None,
                    error_message: None,
                    provider_message_id: Some(report.external_id.clone()),
                    customer_address: Some(report.customer_address.clone()),
                    author: if report.inbound {
                        "customer".into()
                    } else {
                        report
                            .agent
                            .map_or_else(|| "system".to_owned(), |a| format!("user:{a}"))
                    },
                    template: None,
                    email: None,
                    created_at: now,
                    updated_at: now,
                })
                .await?;
                let status = report.status.unwrap_or(CallStatus::Ringing);
                let call = CallRecord {
                    message_id: id,
                    status,
                    from_number: report.from.clone(),
                    to_number: report.to.clone(),
                    agent: report.agent,
                    started_at: now,
                    answered_at: (status == CallStatus::InProgress).then_some(now),
                    ended_at: status.is_final().then_some(now),
                    duration_seconds: report.duration_seconds,
                    recording_url: report.recording_url.clone(),
                    notes,
                };
                tx.put_call(&call).await?;
                // A call is not a channel replies go on: the reply channel stays.
                tx.touch_conversation(conversation, now, report.inbound, None)
                    .await?;
                let body = json!({
                    "conversation_id": conversation.to_string(),
                    "message_id": id.to_string(),
                    "channel_id": channel.id.to_string(),
                    "call": true,
                })
                .to_string();
                let key = id.to_string();
                tx.append_timeline(&NewTimelineItem {
                    profile_id: customer,
                    item_type: ItemType::Message,
                    kind: direction.as_str(),
                    name: Some("call"),
                    channel: timeline_channel(channel.kind),
                    source_id: None,
                    message_id: Some(&key),
                    at: now,
                    received_at: now,
                    body: &body,
                })
                .await?;
                if opened {
                    let data = json!({"conversation_id": conversation.to_string(), "channel_id": channel.id.to_string(), "status": "open"});
                    super::record_change(
                        &mut tx,
                        ChangeKind::ConversationCreated,
                        customer,
                        data,
                        now,
                    )
                    .await?;
                }
                RecordedCall {
                    conversation,
                    customer,
                    ended: status.is_final(),
                    call,
                    started: true,
                }
            }
        };
        let ids = json!({
            "conversation_id": recorded.conversation.to_string(),
            "message_id": recorded.call.message_id.to_string(),
            "channel_id": channel.id.to_string(),
            "channel_type": channel.kind.as_str(),
            "direction": if report.inbound { "inbound" } else { "outbound" },
            "status": recorded.call.status.as_str(),
            "duration_seconds": recorded.call.duration_seconds,
        });
        if recorded.started {
            super::record_change(
                &mut tx,
                ChangeKind::CallStarted,
                recorded.customer,
                ids.clone(),
                now,
            )
            .await?;
        }
        if recorded.ended {
            super::record_change(&mut tx, ChangeKind::CallEnded, recorded.customer, ids, now)
                .await?;
        }
        tx.commit().await?;
        self.hilo.feed_signal.notify_waiters();
        info!(channel = %channel.id, call = %recorded.call.message_id, status = %recorded.call.status, "call recorded");
        self.publish_call(&recorded).await;
        Ok(recorded)
    }

    /// `call.started` carries the caller's customer and the conversation the agent
    /// will see; `call.updated` and `call.ended` follow it.
    async fn publish_call(&self, recorded: &RecordedCall) {
        let mut data = json!({
            "conversation_id": recorded.conversation.to_string(),
            "customer_id": recorded.customer.to_string(),
            "call": call_json(&recorded.call),
        });
        if recorded.started {
            if let Ok(customer) = self.hilo.customers().get(recorded.customer).await {
                data["customer"] = json!({
                    "id": customer.id.to_string(),
                    "name": customer.traits.get("name"),
                    "email": customer.traits.get("email"),
                    "identities": customer.identities.iter().map(|i| json!({"type": i.kind, "value": i.value})).collect::<Vec<_>>(),
                });
            }
            self.hilo.publish_live("call.started", data.clone());
        }
        if recorded.ended {
            self.hilo.publish_live("call.ended", data);
        } else if !recorded.started {
            self.hilo.publish_live("call.updated", data);
        }
    }
}

//! Corrections when a link was wrong: two conversations of one customer merged into
//! one, a conversation or a single message moved to the customer it belongs to; each
//! can be undone.

use hilo_domain::conversations::ConversationStatus;
use hilo_domain::customers::changes::ChangeKind;
use hilo_domain::{ConversationId, CustomerId, Invalid, Principal};
use hilo_store::conversations::{ConversationRecord, MoveRecord};
use serde_json::json;
use tracing::info;

use super::{ConversationView, Conversations};
use crate::{AppError, AppResult};

/// A correction made: its id (to undo it) and the conversation as it is now.
#[derive(Debug, Clone)]
pub struct Corrected {
    pub move_id: String,
    pub conversation: ConversationView,
}

impl Conversations<'_> {
    /// Moves every message of `from` into `into`; `from` is resolved. Both must be the
    /// same customer's (move one to the other customer first).
    pub async fn merge(
        &self,
        into: ConversationId,
        from: ConversationId,
        by: &Principal,
    ) -> AppResult<Corrected> {
        if into == from {
            return Err(Invalid::new("conversation_id", "is the conversation itself").into());
        }
        let now = self.hilo.now();
        let mut tx = self.hilo.store.begin().await?;
        let kept = tx
            .conversation_for_update(into)
            .await?
            .ok_or(AppError::NotFound)?;
        let merged = tx
            .conversation_for_update(from)
            .await?
            .ok_or_else(|| Invalid::new("conversation_id", "is not a conversation"))?;
        let customer = tx.root_of(kept.profile_id).await?;
        if tx.root_of(merged.profile_id).await? != customer {
            return Err(AppError::Conflict(
                "the conversations are two customers': move one to the other customer first".into(),
            ));
        }
        let ids = tx.message_ids_of(from).await?;
        tx.move_messages(&ids, into, None).await?;
        let previous = merged.status;
        tx.update_work(
            &ConversationRecord {
                status: ConversationStatus::Resolved,
                snoozed_until: None,
                ..merged
            },
            now,
        )
        .await?;
        tx.touch_conversation(into, merged.last_message_at, false, None)
            .await?;
        let record = MoveRecord {
            id: hilo_domain::MessageId::generate().to_string(),
            kind: "merge".into(),
            conversation_id: into,
            other_id: Some(from),
            previous_status: Some(previous.as_str().to_owned()),
            from_profile: None,
            to_profile: None,
            message_ids: ids.clone(),
            at: now,
            actor: by.actor(),
            undone_at: None,
        };
        tx.insert_move(&record).await?;
        let actor = by.actor();
        let detail = json!({"move_id": record.id, "from": from.to_string(), "into": into.to_string(), "messages": ids.len()});
        tx.record_conversation_event(into, now, &actor, "merged", &detail)
            .await?;
        tx.record_conversation_event(from, now, &actor, "merged", &detail)
            .await?;
        for id in [into, from] {
            let data = json!({"conversation_id": id.to_string(), "changed": ["messages"]});
            super::record_change(
                &mut tx,
                ChangeKind::ConversationUpdated,
                customer,
                data,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        info!(%into, %from, messages = ids.len(), "conversations merged");
        Ok(Corrected {
            move_id: record.id,
            conversation: self.get(into).await?,
        })
    }

    /// Gives a conversation, with its messages and their timeline items, to another
    /// customer: identity resolution linked the wrong person.
    pub async fn move_to(
        &self,
        id: ConversationId,
        customer: CustomerId,
        by: &Principal,
    ) -> AppResult<Corrected> {
        let target = self
            .hilo
            .store
            .customer_root(customer)
            .await?
            .ok_or_else(|| Invalid::new("customer_id", "is not a customer"))?;
        let now = self.hilo.now();
        let mut tx = self.hilo.store.begin().await?;
        let conversation = tx
            .conversation_for_update(id)
            .await?
            .ok_or(AppError::NotFound)?;
        let source = tx.root_of(conversation.profile_id).await?;
        if source == target {
            return Err(AppError::Conflict(
                "the conversation is that customer's already".into(),
            ));
        }
        let ids = tx.message_ids_of(id).await?;
        tx.move_messages(&ids, id, Some(target)).await?;
        tx.set_conversation_customer(id, target, now).await?;
        let record = MoveRecord {
            id: hilo_domain::MessageId::generate().to_string(),
            kind: "move".into(),
            conversation_id: id,
            other_id: None,
            previous_status: None,
            from_profile: Some(conversation.profile_id),
            to_profile: Some(target),
            message_ids: ids.clone(),
            at: now,
            actor: by.actor(),
            undone_at: None,
        };
        tx.insert_move(&record).await?;
        let detail =
            json!({"move_id": record.id, "from": source.to_string(), "to": target.to_string()});
        tx.record_conversation_event(id, now, &by.actor(), "moved", &detail)
            .await?;
        for customer in [source, target] {
            let data = json!({"conversation_id": id.to_string(), "changed": ["customer"]});
            super::record_change(
                &mut tx,
                ChangeKind::ConversationUpdated,
                customer,
                data,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        info!(conversation = %id, from = %source, to = %target, "conversation moved");
        Ok(Corrected {
            move_id: record.id,
            conversation: self.get(id).await?,
        })
    }

    /// Gives one message, with its timeline item, to another customer: into their open
    /// conversation, or a new one. The conversation it leaves stays its customer's.
    pub async fn move_message(
        &self,
        message: hilo_domain::MessageId,
        customer: CustomerId,
        by: &Principal,
    ) -> AppResult<Corrected> {
        let target = self
            .hilo
            .store
            .customer_root(customer)
            .await?
            .ok_or_else(|| Invalid::new("customer_id", "is not a customer"))?;
        let found = self
            .hilo
            .store
            .message(message)
            .await?
            .ok_or(AppError::NotFound)?;
        if found.direction == hilo_domain::conversations::Direction::Note {
            return Err(AppError::Conflict(
                "a note is staff's, not a customer's: it stays in its conversation".into(),
            ));
        }
        let thread = self
            .threads_per_channel()
            .await?
            .then_some(found.channel_id)
            .flatten();
        let now = self.hilo.now();
        let mut tx = self.hilo.store.begin().await?;
        let source = tx.root_of(found.profile_id).await?;
        if source == target {
            return Err(AppError::Conflict(
                "the message is that customer's already".into(),
            ));
        }
        let into = match tx.active_conversation(target, thread).await? {
            Some(conversation) => conversation.id,
            None => {
                let conversation = ConversationRecord {
                    id: ConversationId::generate(),
                    profile_id: target,
                    status: ConversationStatus::Open,
                    thread_channel: thread,
                    last_channel: found.channel_id,
                    assignee: None,
                    team: None,
                    subject: None,
                    snoozed_until: None,
                    last_message_at: found.created_at,
                    created_at: now,
                    updated_at: now,
                };
                tx.insert_conversation(&conversation).await?;
                conversation.id
            }
        };
        tx.move_messages(&[message], into, Some(target)).await?;
        tx.touch_conversation(into, found.created_at, false, found.channel_id)
            .await?;
        let record = MoveRecord {
            id: hilo_domain::MessageId::generate().to_string(),
            kind: "message".into(),
            conversation_id: found.conversation_id,
            other_id: Some(into),
            previous_status: None,
            from_profile: Some(found.profile_id),
            to_profile: Some(target),
            message_ids: vec![message],
            at: now,
            actor: by.actor(),
            undone_at: None,
        };
        tx.insert_move(&record).await?;
        let detail = json!({"move_id": record.id, "message_id": message.to_string(),
            "from": found.conversation_id.to_string(), "into": into.to_string()});
        for (conversation, customer) in [(found.conversation_id, source), (into, target)] {
            tx.record_conversation_event(conversation, now, &by.actor(), "message_moved", &detail)
                .await?;
            let data =
                json!({"conversation_id": conversation.to_string(), "changed": ["messages"]});
            super::record_change(
                &mut tx,
                ChangeKind::ConversationUpdated,
                customer,
                data,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        info!(%message, from = %source, to = %target, "message moved");
        Ok(Corrected {
            move_id: record.id,
            conversation: self.get(into).await?,
        })
    }

    /// Undoes a merge or a move: the messages go back where they were. 409 when undone
    /// already.
    pub async fn undo(&self, move_id: &str, by: &Principal) -> AppResult<ConversationView> {
        let now = self.hilo.now();
        let mut tx = self.hilo.store.begin().await?;
        let record = tx
            .conversation_move(move_id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !tx.undo_move(move_id, now).await? {
            return Err(AppError::Conflict("undone already".into()));
        }
        let actor = by.actor();
        let detail = json!({"move_id": record.id});
        let shown = match (record.kind.as_str(), record.other_id, record.from_profile) {
            ("merge", Some(other), _) => {
                tx.move_messages(&record.message_ids, other, None).await?;
                let merged = tx
                    .conversation_for_update(other)
                    .await?
                    .ok_or(AppError::NotFound)?;
                let status = record
                    .previous_status
                    .as_deref()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(ConversationStatus::Open);
                tx.update_work(&ConversationRecord { status, ..merged }, now)
                    .await?;
                tx.record_conversation_event(
                    record.conversation_id,
                    now,
                    &actor,
                    "merge_undone",
                    &detail,
                )
                .await?;
                tx.record_conversation_event(other, now, &actor, "merge_undone", &detail)
                    .await?;
                other
            }
            ("move", _, Some(from)) => {
                let back = tx.root_of(from).await?;
                tx.move_messages(&record.message_ids, record.conversation_id, Some(back))
                    .await?;
                tx.set_conversation_customer(record.conversation_id, back, now)
                    .await?;
                tx.record_conversation_event(
                    record.conversation_id,
                    now,
                    &actor,
                    "move_undone",
                    &detail,
                )
                .await?;
                record.conversation_id
            }
            ("message", Some(other), Some(from)) => {
                let back = tx.root_of(from).await?;
                tx.move_messages(&record.message_ids, record.conversation_id, Some(back))
                    .await?;
                for conversation in [record.conversation_id, other] {
                    tx.record_conversation_event(
                        conversation,
                        now,
                        &actor,
                        "message_move_undone",
                        &detail,
                    )
                    .await?;
                }
                record.conversation_id
            }
            _ => {
                return Err(AppError::Internal(format!(
                    "correction {move_id} is unreadable"
                )));
            }
        };
        let customer = {
            let conversation = tx
                .conversation_for_update(shown)
                .await?
                .ok_or(AppError::NotFound)?;
            tx.root_of(conversation.profile_id).await?
        };
        let data = json!({"conversation_id": shown.to_string(), "changed": ["messages"]});
        super::record_change(
            &mut tx,
            ChangeKind::ConversationUpdated,
            customer,
            data,
            now,
        )
        .await?;
        tx.commit().await?;
        info!(%move_id, "correction undone");
        self.get(shown).await
    }
}

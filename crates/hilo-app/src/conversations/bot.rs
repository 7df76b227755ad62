//! The seam for bots (S6): with bots enabled, a new conversation starts with status
//! `bot`; the bot hears of each message through the `message.created` webhook and
//! answers through the API with its own key. The bot or an agent hands off; a bot that
//! stays silent past its timeout after a customer's message hands off anyway (a job
//! written with the message).

use hilo_domain::conversations::bot::{BotSettings, check_reason};
use hilo_domain::conversations::{ConversationStatus, Direction};
use hilo_domain::customers::changes::ChangeKind;
use hilo_domain::jobs::JobKind;
use hilo_domain::{ConversationId, MessageId, Timestamp};
use hilo_store::Tx;
use hilo_store::conversations::ConversationRecord;
use hilo_store::jobs::{JobRecord, NewJob};
use serde_json::{Value, json};
use tracing::info;

use super::{ConversationView, Conversations};
use crate::jobs::JobFailure;
use crate::{AppError, AppResult};

/// Where the bot settings are kept.
pub(super) const SETTING: &str = "conversations.bot";
/// Where the threading choice is kept: `per_customer` (the default) or `per_channel`.
pub(super) const THREADS: &str = "conversations.threads";

/// Whether the stored threading choice keeps one thread per channel.
pub(super) fn per_channel(stored: Option<&str>) -> bool {
    stored == Some("per_channel")
}

impl Conversations<'_> {
    pub async fn bot_settings(&self) -> AppResult<BotSettings> {
        self.json_setting(SETTING).await
    }

    pub async fn set_bot_settings(&self, settings: BotSettings) -> AppResult<BotSettings> {
        let settings = settings.check()?;
        self.put_json_setting(SETTING, &settings).await?;
        info!(
            enabled = settings.enabled,
            timeout = settings.timeout_seconds,
            "bot settings changed"
        );
        Ok(settings)
    }

    /// Whether a customer gets one thread per channel instead of one in all.
    pub async fn threads_per_channel(&self) -> AppResult<bool> {
        Ok(per_channel(
            self.hilo.store.setting(THREADS).await?.as_deref(),
        ))
    }

    pub async fn set_threads_per_channel(&self, per_channel: bool) -> AppResult<bool> {
        let value = if per_channel {
            "per_channel"
        } else {
            "per_customer"
        };
        self.hilo.store.put_setting(THREADS, value).await?;
        info!(threads = value, "threading changed");
        Ok(per_channel)
    }

    /// Hands a conversation from its bot to people: open, with the reason recorded.
    /// 409 when no bot has it.
    pub async fn handoff(
        &self,
        id: ConversationId,
        reason: &str,
        actor: &str,
    ) -> AppResult<ConversationView> {
        let reason = check_reason(reason)?;
        let now = self.hilo.now();
        let mut tx = self.hilo.store.begin().await?;
        let current = tx
            .conversation_for_update(id)
            .await?
            .ok_or(AppError::NotFound)?;
        if current.status != ConversationStatus::Bot {
            return Err(AppError::Conflict(format!(
                "the conversation is {}, not with a bot",
                current.status
            )));
        }
        hand_off(&mut tx, current, &reason, actor, now).await?;
        tx.commit().await?;
        info!(conversation = %id, %reason, "handed off from the bot");
        let view = self.get(id).await?;
        let mut data = super::conversation_json(&view.conversation, view.customer);
        data["handoff_reason"] = json!(reason);
        self.hilo
            .publish_live("conversation.updated", json!({"conversation": data}));
        Ok(view)
    }

    /// The job a customer's message to a bot leaves: if the bot has not answered since,
    /// people take over.
    pub(crate) async fn bot_timeout(&self, job: &JobRecord) -> Result<(), JobFailure> {
        let transient = |e: AppError| JobFailure::Transient(e.to_string());
        let field = |name: &str| job.payload.get(name).and_then(Value::as_str);
        let (Some(id), Some(message)) = (
            field("conversation_id").and_then(|t| t.parse::<ConversationId>().ok()),
            field("message_id").and_then(|t| t.parse::<MessageId>().ok()),
        ) else {
            return Err(JobFailure::Permanent(
                "the job names no conversation".into(),
            ));
        };
        let seconds = job
            .payload
            .get("timeout_seconds")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let answered = self
            .hilo
            .store
            .messages_of(id, Some(message), super::MESSAGES_PER_READ)
            .await
            .map_err(|e| transient(e.into()))?
            .iter()
            .any(|m| m.direction == Direction::Outbound);
        if answered {
            return Ok(());
        }
        match self
            .handoff(
                id,
                &format!("the bot did not answer within {seconds} s"),
                "system",
            )
            .await
        {
            // Someone handed off already, or the conversation is gone.
            Ok(_) | Err(AppError::Conflict(_) | AppError::NotFound) => Ok(()),
            Err(error) => Err(transient(error)),
        }
    }
}

async fn hand_off(
    tx: &mut Tx,
    current: ConversationRecord,
    reason: &str,
    actor: &str,
    now: Timestamp,
) -> AppResult<()> {
    let id = current.id;
    let profile = current.profile_id;
    let opened = ConversationRecord {
        status: ConversationStatus::Open,
        ..current
    };
    tx.update_work(&opened, now).await?;
    tx.record_conversation_event(
        id,
        now,
        actor,
        "handoff",
        &json!({"from": "bot", "to": "open", "reason": reason}),
    )
    .await?;
    let customer = tx.root_of(profile).await?;
    let data = json!({"conversation_id": id.to_string(), "status": "open", "changed": ["status"], "handoff_reason": reason});
    super::record_change(tx, ChangeKind::ConversationUpdated, customer, data, now).await?;
    // People take over: the queue gives it to an agent online.
    super::assignment::queue_assignment(tx, now).await
}

/// Writes the job that hands off if the bot stays silent after `message`.
pub(crate) async fn watch_silence(
    tx: &mut Tx,
    conversation: ConversationId,
    message: MessageId,
    settings: BotSettings,
    now: Timestamp,
) -> AppResult<()> {
    let payload = json!({
        "conversation_id": conversation.to_string(),
        "message_id": message.to_string(),
        "timeout_seconds": settings.timeout_seconds,
    });
    tx.enqueue_job(
        &NewJob {
            kind: JobKind::ConversationBotTimeout,
            payload: &payload,
            run_at: now.plus_millis(settings.timeout_millis()),
            idempotency_key: Some(&format!("bot:{message}")),
        },
        now,
    )
    .await?;
    Ok(())
}

//! Customer satisfaction: a resolved conversation's customer is asked to rate it (a
//! `conversation.csat` job written with the resolution sends the question on the
//! channel they last wrote on); an answer that is only a rating, within three days,
//! rates that conversation and goes on the customer's timeline (`receive_message`).

use hilo_domain::ConversationId;
use hilo_domain::conversations::ConversationStatus;
use hilo_domain::conversations::csat::CsatSettings;
use hilo_domain::jobs::JobKind;
use hilo_store::Tx;
use hilo_store::jobs::{JobRecord, NewJob};
use serde_json::{Value, json};
use tracing::{info, warn};

use super::{Conversations, Reply};
use crate::jobs::JobFailure;
use crate::{AppError, AppResult};

/// Where the CSAT settings are kept.
const SETTING: &str = "conversations.csat";

/// Writes the job that asks for a rating, in the resolution's transaction.
pub(crate) async fn queue_survey(
    tx: &mut Tx,
    conversation: ConversationId,
    now: hilo_domain::Timestamp,
) -> AppResult<()> {
    let payload = json!({"conversation_id": conversation.to_string()});
    tx.enqueue_job(
        &NewJob {
            kind: JobKind::ConversationCsat,
            payload: &payload,
            run_at: now,
            idempotency_key: Some(&format!("csat:{conversation}")),
        },
        now,
    )
    .await?;
    Ok(())
}

impl Conversations<'_> {
    pub async fn csat_settings(&self) -> AppResult<CsatSettings> {
        self.json_setting(SETTING).await
    }

    pub async fn set_csat_settings(&self, settings: CsatSettings) -> AppResult<CsatSettings> {
        let settings = settings.check()?;
        self.put_json_setting(SETTING, &settings).await?;
        info!(enabled = settings.enabled, "CSAT settings changed");
        Ok(settings)
    }

    /// The `conversation.csat` job: asks once, if the conversation is still resolved.
    /// A customer who cannot be reached there (WhatsApp's window closed, say) is not
    /// asked.
    pub(crate) async fn survey_job(&self, job: &JobRecord) -> Result<(), JobFailure> {
        let transient = |e: AppError| JobFailure::Transient(e.to_string());
        let Some(id) = job
            .payload
            .get("conversation_id")
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<ConversationId>().ok())
        else {
            return Err(JobFailure::Permanent(
                "the job names no conversation".into(),
            ));
        };
        let settings = self.csat_settings().await.map_err(transient)?;
        let now = self.hilo.now();
        let mut tx = self
            .hilo
            .store
            .begin()
            .await
            .map_err(|e| transient(e.into()))?;
        let Some(conversation) = tx
            .conversation_for_update(id)
            .await
            .map_err(|e| transient(e.into()))?
        else {
            return Ok(());
        };
        if !settings.enabled || conversation.status != ConversationStatus::Resolved {
            return Ok(());
        }
        if !tx
            .csat_requested(id, now)
            .await
            .map_err(|e| transient(e.into()))?
        {
            return Ok(());
        }
        tx.commit().await.map_err(|e| transient(e.into()))?;
        let question = Reply {
            content: settings.question(),
            channel: None,
            private: false,
            template: None,
        };
        match self.reply_as(id, &question, "system".into()).await {
            Ok(message) => {
                info!(conversation = %id, message = %message.id, "satisfaction survey sent")
            }
            Err(error) => warn!(conversation = %id, %error, "satisfaction survey not sent"),
        }
        Ok(())
    }
}

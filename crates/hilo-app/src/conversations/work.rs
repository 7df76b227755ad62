//! Working a conversation: status, snooze, assignee, team and labels, each change
//! written with its line in the audit trail; a snooze ends by a job at its time.

use hilo_domain::conversations::ConversationStatus;
use hilo_domain::conversations::work::{self, WorkChange, WorkState};
use hilo_domain::customers::changes::ChangeKind;
use hilo_domain::jobs::JobKind;
use hilo_domain::{ConversationId, Invalid, Page, PageRequest, Principal, Timestamp};
use hilo_store::Tx;
use hilo_store::conversations::{ConversationEvent, ConversationRecord};
use hilo_store::jobs::{JobRecord, NewJob};
use serde_json::{Value, json};
use tracing::info;

use super::{ConversationView, Conversations};
use crate::jobs::JobFailure;
use crate::{AppError, AppResult};

impl Conversations<'_> {
    /// Applies an agent's change to a conversation and records who made it.
    pub async fn change(
        &self,
        id: ConversationId,
        change: &WorkChange,
        by: &Principal,
    ) -> AppResult<ConversationView> {
        if self.hilo.store.conversation(id).await?.is_none() {
            return Err(AppError::NotFound);
        }
        if let Some(Some(assignee)) = change.assignee
            && !self.hilo.store.user_exists(assignee).await?
        {
            return Err(Invalid::new("assignee_id", "is not a console user").into());
        }
        // Read before the transaction: it holds a connection, and the pool may have no
        // other to give.
        let surveys = self.csat_settings().await?.enabled;
        let now = self.hilo.now();
        let mut tx = self.hilo.store.begin().await?;
        let current = tx
            .conversation_for_update(id)
            .await?
            .ok_or(AppError::NotFound)?;
        let labels = tx.labels_of(id).await?;
        let state = WorkState {
            status: current.status,
            snoozed_until: current.snoozed_until,
            assignee: current.assignee,
            team: current.team.clone(),
            labels,
        };
        let (next, audit) = work::plan(&state, change, now)?;
        if let Some(team) = &next.team
            && next.team != state.team
            && !tx.team_exists(team).await?
        {
            return Err(
                Invalid::new("team", "is not a team: create it under /api/v1/teams").into(),
            );
        }
        let updated = ConversationRecord {
            status: next.status,
            snoozed_until: next.snoozed_until,
            assignee: next.assignee,
            team: next.team.clone(),
            ..current
        };
        tx.update_work(&updated, now).await?;
        if next.labels != state.labels {
            tx.set_labels(id, &next.labels).await?;
        }
        let actor = by.actor();
        for entry in &audit {
            tx.record_conversation_event(id, now, &actor, entry.kind, &entry.data)
                .await?;
        }
        if !audit.is_empty() {
            let customer = tx.root_of(updated.profile_id).await?;
            let data = json!({
                "conversation_id": id.to_string(),
                "status": next.status.as_str(),
                "changed": audit.iter().map(|a| a.kind).collect::<Vec<_>>(),
            });
            super::record_change(
                &mut tx,
                ChangeKind::ConversationUpdated,
                customer,
                data,
                now,
            )
            .await?;
        }
        let mut woken = match next.snoozed_until {
            Some(until) if next.snoozed_until != state.snoozed_until => {
                enqueue_wake(&mut tx, id, until, now).await?;
                true
            }
            _ => false,
        };
        // An agent freed (a conversation closed or let go) or a conversation waiting
        // again: the queue may move.
        if next.status != state.status || next.assignee != state.assignee {
            super::assignment::queue_assignment(&mut tx, now).await?;
            woken = true;
        }
        if (next.status == ConversationStatus::Resolved)
            != (state.status == ConversationStatus::Resolved)
        {
            let resolved = (next.status == ConversationStatus::Resolved).then_some(now);
            tx.set_resolved_at(id, resolved).await?;
        }
        if next.status == ConversationStatus::Resolved
            && state.status != ConversationStatus::Resolved
            && surveys
        {
            super::csat::queue_survey(&mut tx, id, now).await?;
        }
        tx.commit().await?;
        if woken {
            self.hilo.jobs_written();
        }
        info!(conversation = %id, changes = audit.len(), "conversation changed");
        let view = self.get(id).await?;
        if !audit.is_empty() {
            self.publish_conversation_updated(&view).await;
        }
        Ok(view)
    }

    /// The audit trail, oldest first.
    pub async fn events(
        &self,
        id: ConversationId,
        page: &PageRequest,
    ) -> AppResult<Page<ConversationEvent>> {
        if self.hilo.store.conversation(id).await?.is_none() {
            return Err(AppError::NotFound);
        }
        let rows = self.hilo.store.conversation_events(id, page).await?;
        Ok(Page::from_rows(rows, page.limit, |e| e.id.clone()))
    }

    /// The job that ends a snooze: the conversation opens again, unless someone changed
    /// it since (another snooze has its own job).
    pub(crate) async fn wake(&self, job: &JobRecord) -> Result<(), JobFailure> {
        let transient = |e: AppError| JobFailure::Transient(e.to_string());
        let id: ConversationId = job
            .payload
            .get("conversation_id")
            .and_then(Value::as_str)
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| JobFailure::Permanent("the job names no conversation".into()))?;
        let until = job.payload.get("until").and_then(Value::as_i64);
        let now = self.hilo.now();
        let mut tx = self
            .hilo
            .store
            .begin()
            .await
            .map_err(|e| transient(e.into()))?;
        let Some(current) = tx
            .conversation_for_update(id)
            .await
            .map_err(|e| transient(e.into()))?
        else {
            return Ok(());
        };
        if current.status != ConversationStatus::Snoozed
            || current.snoozed_until.map(Timestamp::millis) != until
        {
            return Ok(());
        }
        let opened = ConversationRecord {
            status: ConversationStatus::Open,
            snoozed_until: None,
            ..current
        };
        tx.update_work(&opened, now)
            .await
            .map_err(|e| transient(e.into()))?;
        tx.record_conversation_event(
            id,
            now,
            "system",
            "status",
            &json!({"from": "snoozed", "to": "open", "snoozed_until": null}),
        )
        .await
        .map_err(|e| transient(e.into()))?;
        let customer = tx
            .root_of(opened.profile_id)
            .await
            .map_err(|e| transient(e.into()))?;
        let data =
            json!({"conversation_id": id.to_string(), "status": "open", "changed": ["status"]});
        super::record_change(
            &mut tx,
            ChangeKind::ConversationUpdated,
            customer,
            data,
            now,
        )
        .await
        .map_err(transient)?;
        tx.commit().await.map_err(|e| transient(e.into()))?;
        info!(conversation = %id, "snooze over: conversation open again");
        if let Ok(view) = self.get(id).await {
            self.publish_conversation_updated(&view).await;
        }
        Ok(())
    }

    async fn publish_conversation_updated(&self, view: &ConversationView) {
        let mut data = super::conversation_json(&view.conversation, view.customer);
        data["labels"] = json!(view.labels);
        self.hilo
            .publish_live("conversation.updated", json!({"conversation": data}));
    }
}

async fn enqueue_wake(
    tx: &mut Tx,
    id: ConversationId,
    until: Timestamp,
    now: Timestamp,
) -> AppResult<()> {
    let payload = json!({"conversation_id": id.to_string(), "until": until.millis()});
    let key = format!("wake:{id}:{}", until.millis());
    tx.enqueue_job(
        &NewJob {
            kind: JobKind::ConversationWake,
            payload: &payload,
            run_at: until,
            idempotency_key: Some(&key),
        },
        now,
    )
    .await?;
    Ok(())
}

//! Auto-assignment: agents say whether they take conversations (online, busy,
//! offline), and waiting conversations — open, nobody's — go to the online agents with
//! room, oldest first, by round robin or least load (the pure `assignment::plan`).
//!
//! Whatever may give a conversation to someone (a new conversation, a bot's hand-off,
//! an agent coming online or leaving, a conversation closed or let go) writes a
//! `conversation.assign` job in its own transaction; the job runs the queue.

use hilo_domain::conversations::assignment::{
    self, AssignmentSettings, Availability, Candidate, Waiting, check_capacity,
};
use hilo_domain::customers::changes::ChangeKind;
use hilo_domain::jobs::JobKind;
use hilo_domain::{Principal, UserId};
use hilo_store::Tx;
use hilo_store::conversations::AgentRecord;
use hilo_store::jobs::NewJob;
use serde_json::json;
use tracing::info;

use super::Conversations;
use crate::jobs::JobFailure;
use crate::{AppError, AppResult};

/// Where the assignment settings are kept.
pub(super) const SETTING: &str = "conversations.assignment";
/// Most conversations given in one run of the queue.
const PER_RUN: u32 = 500;

/// A change to an agent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AgentChange {
    pub availability: Option<Availability>,
    /// `Some(None)`: back to the default capacity.
    pub capacity: Option<Option<u32>>,
}

/// Writes the job that runs the queue, in the cause's transaction.
pub(crate) async fn queue_assignment(tx: &mut Tx, now: hilo_domain::Timestamp) -> AppResult<()> {
    tx.enqueue_job(
        &NewJob {
            kind: JobKind::ConversationAssign,
            payload: &json!({}),
            run_at: now,
            idempotency_key: None,
        },
        now,
    )
    .await?;
    Ok(())
}

/// Records on the change feed that a conversation's assignee changed.
async fn assignee_changed(
    tx: &mut Tx,
    conversation: hilo_domain::ConversationId,
    now: hilo_domain::Timestamp,
) -> AppResult<()> {
    let Some(record) = tx.conversation_for_update(conversation).await? else {
        return Ok(());
    };
    let customer = tx.root_of(record.profile_id).await?;
    let change = json!({"conversation_id": conversation.to_string(),
        "status": record.status.as_str(), "changed": ["assignee"]});
    super::record_change(tx, ChangeKind::ConversationUpdated, customer, change, now).await
}

impl Conversations<'_> {
    pub async fn assignment_settings(&self) -> AppResult<AssignmentSettings> {
        self.json_setting(SETTING).await
    }

    pub async fn set_assignment_settings(
        &self,
        settings: AssignmentSettings,
    ) -> AppResult<AssignmentSettings> {
        let settings = settings.check()?;
        self.put_json_setting(SETTING, &settings).await?;
        let now = self.hilo.now();
        let mut tx = self.hilo.store.begin().await?;
        queue_assignment(&mut tx, now).await?;
        tx.commit().await?;
        self.hilo.jobs_written();
        info!(enabled = settings.enabled, strategy = ?settings.strategy, "assignment settings changed");
        Ok(settings)
    }

    /// The people who answer customers, with their availability and load.
    pub async fn agents(&self) -> AppResult<Vec<AgentRecord>> {
        Ok(self.hilo.store.agents().await?)
    }

    /// Changes an agent's availability or capacity. An agent changes their own
    /// availability; an admin anyone's, and capacities. Going offline gives their open
    /// conversations back to the queue.
    pub async fn change_agent(
        &self,
        user: UserId,
        change: AgentChange,
        by: &Principal,
    ) -> AppResult<AgentRecord> {
        let is_admin = matches!(
            by,
            Principal::User { role, .. } | Principal::ApiKey { role, .. }
                if *role == hilo_domain::Role::Admin
        );
        let is_self = matches!(by, Principal::User { id, .. } if *id == user);
        if !is_admin && (!is_self || change.capacity.is_some()) {
            return Err(AppError::Forbidden);
        }
        if let Some(Some(capacity)) = change.capacity {
            check_capacity("capacity", capacity)?;
        }
        if !self
            .hilo
            .store
            .agents()
            .await?
            .iter()
            .any(|a| a.user == user)
        {
            return Err(AppError::NotFound);
        }
        let now = self.hilo.now();
        let mut tx = self.hilo.store.begin().await?;
        tx.set_agent(user, change.availability, change.capacity, now)
            .await?;
        let mut released = Vec::new();
        if change.availability == Some(Availability::Offline) {
            released = tx.release_conversations(user, now).await?;
            let data = json!({"from": user.to_string(), "to": null, "reason": "went offline"});
            for conversation in &released {
                tx.record_conversation_event(*conversation, now, &by.actor(), "assignee", &data)
                    .await?;
                assignee_changed(&mut tx, *conversation, now).await?;
            }
        }
        queue_assignment(&mut tx, now).await?;
        tx.commit().await?;
        self.hilo.jobs_written();
        info!(agent = %user, availability = ?change.availability, released = released.len(), "agent changed");
        for conversation in released {
            self.publish_updated(conversation).await;
        }
        self.hilo
            .store
            .agents()
            .await?
            .into_iter()
            .find(|a| a.user == user)
            .ok_or(AppError::NotFound)
    }

    /// The `conversation.assign` job: runs the queue.
    pub(crate) async fn assign_job(&self) -> Result<(), JobFailure> {
        self.assign_waiting()
            .await
            .map(|_| ())
            .map_err(|e| JobFailure::Transient(e.to_string()))
    }

    /// Gives waiting conversations to online agents with room, in one transaction
    /// that holds the queue (so concurrent runs never both fill one agent's room);
    /// how many were given.
    pub async fn assign_waiting(&self) -> AppResult<usize> {
        let settings = self.assignment_settings().await?;
        if !settings.enabled {
            return Ok(0);
        }
        let now = self.hilo.now();
        let mut tx = self.hilo.store.begin().await?;
        tx.lock_assignment_queue().await?;
        let waiting = tx.waiting_conversations(PER_RUN).await?;
        if waiting.is_empty() {
            return Ok(0);
        }
        let candidates: Vec<Candidate> = tx
            .agents()
            .await?
            .into_iter()
            .map(|a| Candidate {
                user: a.user,
                availability: a.availability,
                open: a.open,
                capacity: a.capacity.unwrap_or(settings.default_capacity),
                last_assigned_at: a.last_assigned_at,
            })
            .collect();
        let teams = tx.team_members().await?;
        let waiting: Vec<Waiting> = waiting
            .into_iter()
            .map(|(conversation, team)| Waiting {
                conversation,
                team: team
                    .and_then(|name| teams.get(&name).cloned())
                    .filter(|members| !members.is_empty()),
            })
            .collect();
        let given = assignment::plan(&waiting, candidates, settings.strategy, now);
        let mut assigned = Vec::new();
        for (i, (conversation, agent)) in given.into_iter().enumerate() {
            let at = now.plus_millis(i as i64);
            if !tx.assign_waiting(conversation, agent, at).await? {
                continue;
            }
            let data = json!({"from": null, "to": agent.to_string(), "auto": true});
            tx.record_conversation_event(conversation, now, "system", "assignee", &data)
                .await?;
            assignee_changed(&mut tx, conversation, now).await?;
            assigned.push((conversation, agent));
        }
        tx.commit().await?;
        if !assigned.is_empty() {
            self.hilo.feed_signal.notify_waiters();
        }
        for (conversation, agent) in &assigned {
            info!(%conversation, %agent, "conversation assigned");
            self.publish_updated(*conversation).await;
        }
        Ok(assigned.len())
    }

    async fn publish_updated(&self, conversation: hilo_domain::ConversationId) {
        if let Ok(view) = self.get(conversation).await {
            let mut data = super::conversation_json(&view.conversation, view.customer);
            data["labels"] = json!(view.labels);
            self.hilo
                .publish_live("conversation.updated", json!({"conversation": data}));
        }
    }
}

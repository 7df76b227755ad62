//! Teams: admins make them and name their members; agents give conversations to them,
//! and auto-assignment gives a team's conversations to its members.

use hilo_domain::UserId;
use hilo_domain::conversations::team;
use hilo_store::conversations::TeamRecord;
use tracing::info;

use super::Conversations;
use crate::{AppError, AppResult};

impl Conversations<'_> {
    pub async fn teams(&self) -> AppResult<Vec<TeamRecord>> {
        Ok(self.hilo.store.teams().await?)
    }

    pub async fn team(&self, name: &str) -> AppResult<TeamRecord> {
        self.hilo
            .store
            .team(name.trim())
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Creates or replaces a team; `true` when it is new. Members must be users who
    /// answer customers (agents and admins).
    pub async fn put_team(
        &self,
        name: &str,
        description: &str,
        members: &[UserId],
    ) -> AppResult<(TeamRecord, bool)> {
        let name = team::check_name("name", name)?;
        let description = team::check_description(description)?;
        let members = team::check_members(members)?;
        let agents = self.hilo.store.agents().await?;
        if let Some(stranger) = members
            .iter()
            .find(|m| !agents.iter().any(|a| a.user == **m))
        {
            // A well-formed id of someone who does not answer customers: the request is
            // right, the state is not (another role, or gone).
            return Err(AppError::Conflict(format!(
                "members: {stranger} is not an agent or admin"
            )));
        }
        let now = self.hilo.now();
        let mut record = TeamRecord {
            name,
            description,
            members,
            created_at: now,
            updated_at: now,
        };
        let (created_at, created) = self.hilo.store.put_team(&record).await?;
        record.created_at = created_at;
        info!(team = %record.name, members = record.members.len(), created, "team saved");
        Ok((record, created))
    }

    /// Deletes a team; its conversations keep their assignee and lose the team.
    pub async fn delete_team(&self, name: &str) -> AppResult<()> {
        if !self
            .hilo
            .store
            .delete_team(name.trim(), self.hilo.now())
            .await?
        {
            return Err(AppError::NotFound);
        }
        info!(team = %name.trim(), "team deleted");
        Ok(())
    }
}
